/**
 * The one config schema. Defaults live here; `load.ts` merges file < .env < environment < flags
 * into it and parses once at start. JSON Schema (`ngb config schema`) is generated from it.
 */
import * as v from "valibot";
import { CHANNEL_DEFINITIONS, channelSections } from "../channels/index.ts";

const Port = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535));
const PositiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
const NonNegInt = v.pipe(v.number(), v.integer(), v.minValue(0));
const Url = v.pipe(v.string(), v.url("must be a URL like https://host/path"));
const Secret = v.optional(v.string());

export const ContainerConfig = v.strictObject({
  /** Container CLI: docker or podman (any docker-compatible binary). */
  runtime: v.optional(v.string(), "docker"),
  image: v.optional(v.string(), "ngb-agent:latest"),
  /** Hard limit for one agent run. */
  timeoutMs: v.optional(PositiveInt, 30 * 60_000),
  /** A warm container with no new input for this long is closed. */
  idleTimeoutMs: v.optional(PositiveInt, 5 * 60_000),
  maxOutputBytes: v.optional(PositiveInt, 10 * 1024 * 1024),
  memory: v.optional(v.string(), "1g"),
  cpus: v.optional(v.string(), "1"),
  pidsLimit: v.optional(PositiveInt, 512),
  /** "none" keeps agents off the network except the credential proxy socket. */
  network: v.optional(v.string(), "none"),
  /** Run as this uid:gid inside the container (default: the image's user). */
  user: v.optional(v.string()),
  /** Host path of the mount allowlist. Default: $XDG_CONFIG_HOME/nanogridbot/mount-allowlist.json */
  mountAllowlistPath: v.optional(v.string()),
});
export type ContainerConfig = v.InferOutput<typeof ContainerConfig>;

export const Config = v.strictObject({
  assistantName: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(64)), "Andy"),
  /** Regex source; default `^@<assistantName>\b` (case-insensitive). */
  triggerPattern: v.optional(v.string()),
  /** IANA time zone for schedules without one. Default: the host's. */
  timezone: v.optional(v.string()),
  dataDir: v.optional(v.string(), "data"),
  groupsDir: v.optional(v.string(), "groups"),
  storeDir: v.optional(v.string(), "store"),
  /** Pattern for the sqlite file name inside storeDir. */
  dbFile: v.optional(v.string(), "ngb.db"),
  maxConcurrentContainers: v.optional(PositiveInt, 4),
  /** Retries for a failed agent run before the error is reported to the chat. */
  maxRetries: v.optional(NonNegInt, 3),
  retryBaseMs: v.optional(PositiveInt, 5_000),
  /** Scheduler poll is timer-driven; this caps the longest sleep (safety net against clock jumps). */
  schedulerMaxSleepMs: v.optional(PositiveInt, 60_000),
  /** How often the IPC watcher re-scans as a fallback to fs events. */
  ipcPollMs: v.optional(PositiveInt, 1_000),
  container: v.optional(ContainerConfig, {}),
  anthropic: v.optional(
    v.strictObject({
      apiKey: Secret,
      /** Alternative to apiKey: an OAuth token for Claude subscriptions. */
      authToken: Secret,
      baseUrl: v.optional(Url, "https://api.anthropic.com"),
      model: v.optional(v.string()),
    }),
    {},
  ),
  web: v.optional(
    v.strictObject({
      enabled: v.optional(v.boolean(), true),
      host: v.optional(v.string(), "127.0.0.1"),
      port: v.optional(Port, 3000),
      token: Secret,
      maxBodyBytes: v.optional(PositiveInt, 1024 * 1024),
    }),
    {},
  ),
  log: v.optional(
    v.strictObject({
      level: v.optional(v.picklist(["silent", "error", "warn", "info", "debug", "trace"]), "info"),
      format: v.optional(v.picklist(["pretty", "json"]), "pretty"),
      file: v.optional(v.string()),
      maxFileBytes: v.optional(PositiveInt, 10 * 1024 * 1024),
      maxFiles: v.optional(PositiveInt, 5),
    }),
    {},
  ),
  plugins: v.optional(
    v.strictObject({
      dir: v.optional(v.string(), "plugins"),
      enabled: v.optional(v.array(v.string()), []),
    }),
    {},
  ),
  channels: v.optional(
    v.strictObject({
      /** The built-in web channel (webchat); not a platform, so not in the registry. */
      web: v.optional(v.strictObject({ enabled: v.optional(v.boolean(), true) }), {}),
      // One section per channel definition (src/channels/registry.ts), each with `enabled`.
      ...channelSections(CHANNEL_DEFINITIONS),
    }),
    {},
  ),
});
export type Config = v.InferOutput<typeof Config>;
export type ConfigInput = v.InferInput<typeof Config>;

/** Dotted paths whose values are secrets: redacted by `config show` and never logged. */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  "anthropic.apiKey",
  "anthropic.authToken",
  "web.token",
  ...CHANNEL_DEFINITIONS.flatMap((d) => d.secretKeys.map((key) => `channels.${d.name}.${key}`)),
]);
