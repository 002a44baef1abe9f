/** Config: one valibot schema, loaded once at start. */
export { allowInsecureConfigEnv, childEnv, configHome, envNameFor } from "./env.ts";
export { ConfigError } from "./errors.ts";
export { defaultTrigger, isValidTimeZone, type LoadedConfig, type LoadOptions, loadConfig } from "./load.ts";
export { redact } from "./redact.ts";
export { Config, type ConfigInput, ContainerConfig, Quotas, SECRET_KEYS } from "./schema.ts";
export { assertTrustedConfigFiles, configFileProblems } from "./trust.ts";
