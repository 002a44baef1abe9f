/**
 * The one config schema. Defaults live here; `load.ts` merges file < .env < environment < flags
 * into it and parses once at start. JSON Schema (`ngb config schema`) is generated from it.
 */
import * as v from "valibot";

const Port = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535));
const PositiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
const NonNegInt = v.pipe(v.number(), v.integer(), v.minValue(0));
const Url = v.pipe(v.string(), v.url("must be a URL like https://host/path"));
const Secret = v.optional(v.string());

function channel<T extends v.ObjectEntries>(baseUrl: string, entries: T) {
  return v.optional(
    v.strictObject({
      enabled: v.optional(v.boolean(), false),
      apiBaseUrl: v.optional(Url, baseUrl),
      ...entries,
    }),
    // valibot parses the default through the schema, filling in every inner default.
    {} as never,
  );
}

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
  /** Release page `ngb upgrade` reads (GitHub's layout: <url>/latest/download/SHA256SUMS). */
  releaseUrl: v.optional(Url, "https://github.com/nanogridbot/nanogridbot/releases"),
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
      web: v.optional(v.strictObject({ enabled: v.optional(v.boolean(), true) }), {}),
      telegram: channel("https://api.telegram.org", {
        botToken: Secret,
        mode: v.optional(v.picklist(["polling", "webhook"]), "polling"),
        webhookSecret: Secret,
        webhookPath: v.optional(v.string(), "/hooks/telegram"),
        /** Public base URL Telegram can reach (https://bot.example.com); set → ngb registers the webhook. */
        webhookUrl: v.optional(Url),
        pollTimeoutSec: v.optional(NonNegInt, 30),
      }),
      discord: v.optional(
        v.strictObject({
          enabled: v.optional(v.boolean(), false),
          apiBaseUrl: v.optional(Url, "https://discord.com/api/v10"),
          gatewayUrl: v.optional(v.string(), "wss://gateway.discord.gg"),
          botToken: Secret,
        }),
        {},
      ),
      slack: channel("https://slack.com/api", { botToken: Secret, appToken: Secret }),
      whatsapp: v.optional(
        v.strictObject({
          enabled: v.optional(v.boolean(), false),
          /** WebSocket URL of the WhatsApp Web endpoint (tests point it at loopback). */
          waWebSocketUrl: v.optional(v.string()),
          /** Phone number (digits) to pair by code instead of QR. */
          pairingPhone: v.optional(v.string()),
          printQr: v.optional(v.boolean(), true),
        }),
        {},
      ),
      feishu: channel("https://open.feishu.cn/open-apis", {
        appId: v.optional(v.string()),
        appSecret: Secret,
      }),
      dingtalk: channel("https://api.dingtalk.com", {
        clientId: v.optional(v.string()),
        clientSecret: Secret,
      }),
      wecom: channel("https://qyapi.weixin.qq.com/cgi-bin", {
        corpId: v.optional(v.string()),
        corpSecret: Secret,
        agentId: v.optional(v.string()),
      }),
      qq: channel("https://api.sgroup.qq.com", { appId: v.optional(v.string()), secret: Secret }),
    }),
    {},
  ),
});
export type Config = v.InferOutput<typeof Config>;
export type ConfigInput = v.InferInput<typeof Config>;

/** Dotted paths whose values are secrets: redacted by `config show` and never logged. */
export const SECRET_KEYS = new Set([
  "anthropic.apiKey",
  "anthropic.authToken",
  "web.token",
  "channels.telegram.botToken",
  "channels.telegram.webhookSecret",
  "channels.discord.botToken",
  "channels.slack.botToken",
  "channels.slack.appToken",
  "channels.feishu.appSecret",
  "channels.dingtalk.clientSecret",
  "channels.wecom.corpSecret",
  "channels.qq.secret",
]);
