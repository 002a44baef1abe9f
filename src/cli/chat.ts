/**
 * `ngb chat "prompt"`: one message into the running serve's webchat; prints the assistant's
 * messages as they arrive (tool-sent ones included) and exits when the agent's turn is over
 * (typing off) or at --timeout. On a terminal, stderr shows what is happening meanwhile.
 */
import { defineCommand } from "citty";
import { globalArgs, jsonArg, loadContext, UsageError } from "./common.ts";

export default defineCommand({
  meta: { name: "chat", description: "Send one message to the running serve's webchat and print the reply" },
  args: {
    ...globalArgs,
    ...jsonArg,
    prompt: { type: "positional", description: "The message", required: true },
    chat: { type: "string", description: "Web chat id (default: default, i.e. web:default)" },
    timeout: { type: "string", description: "Seconds to wait for the reply (default 300)" },
    url: { type: "string", description: "Base URL of ngb serve (default from web.host / web.port)" },
    name: { type: "string", description: "Sender name shown to the agent (default: User)" },
    quiet: { type: "boolean", description: "No progress on stderr, even on a terminal" },
  },
  async run({ args }) {
    const timeoutSec = args.timeout === undefined ? 300 : Number(args.timeout);
    if (!Number.isFinite(timeoutSec) || timeoutSec <= 0)
      throw new UsageError(
        `ngb chat: --timeout must be a positive number of seconds (got "${args.timeout}")`,
      );
    const chatId = args.chat ?? "default";
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(chatId))
      throw new UsageError(`ngb chat: --chat must be 1-64 letters, digits, - or _ (got "${chatId}")`);
    if (!args.prompt.trim()) throw new UsageError("ngb chat: the prompt is empty");
    const { config } = await loadContext({ ...args, "log-level": args["log-level"] ?? "warn" });
    const { serveTarget } = await import("./serve-client.ts");
    const { chatOnce } = await import("./chat-client.ts");
    const { createProgress } = await import("./progress.ts");
    const target = await serveTarget(config, args.url);
    const { replies } = await chatOnce({
      target,
      chatId,
      prompt: args.prompt,
      senderName: args.name,
      timeoutSec,
      progress: createProgress(args.quiet ? { enabled: false } : {}),
      onReply: (r) =>
        process.stdout.write(
          args.json ? `${JSON.stringify({ text: r.text, seq: r.seq, at: r.at })}\n` : `${r.text}\n`,
        ),
    });
    process.exitCode = replies > 0 ? 0 : 1;
  },
});
