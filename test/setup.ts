// Test preload: keep logs quiet and never let a test talk to the real Anthropic API.
process.env.NGB_LOG_LEVEL ??= "silent";
delete process.env.ANTHROPIC_API_KEY;
