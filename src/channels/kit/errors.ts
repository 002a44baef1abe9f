/**
 * The one error base for channels. Every adapter throws a `ChannelError` (or a subclass) that
 * says what kind of failure it is and whether trying again can help, so delivery decides
 * retries by `permanent` and the web API maps `kind` to a status — never by class-name strings.
 * Messages and causes never carry a token: pass the secrets and they are scrubbed.
 */

export type ChannelErrorKind =
  /** The platform said no to this request (unknown chat, no permission, bad payload). */
  | "refused"
  /** The credentials are wrong, revoked or expired. */
  | "auth"
  /** No usable answer: connection refused/reset, timeout, garbage, 5xx. */
  | "network"
  /** Too many requests; `retryAfterMs` says when to try again. */
  | "rate_limited"
  /** Our own settings are missing or wrong (no token configured, bad chat id form). */
  | "config";

/** Whether a kind is worth retrying when the adapter does not say otherwise. */
const PERMANENT_BY_DEFAULT: Record<ChannelErrorKind, boolean> = {
  refused: true,
  auth: true,
  config: true,
  network: false,
  rate_limited: false,
};

export interface ChannelErrorOptions {
  /** Override the kind's default (e.g. a refusal the platform says is temporary). */
  permanent?: boolean;
  retryAfterMs?: number;
  cause?: unknown;
  /** Strings (tokens, secrets) removed from the message and the cause. */
  secrets?: readonly (string | undefined)[];
}

/** Replace every occurrence of each (non-empty) secret with `<redacted>`. */
export function scrubSecrets(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join("<redacted>");
  return out;
}

/** The cause itself when it holds no secret, else a copy with the secret scrubbed (name kept). */
function scrubCause(cause: unknown, secrets: readonly (string | undefined)[]): unknown {
  if (!secrets.some((s) => s && s.length >= 4)) return cause;
  if (cause instanceof Error) {
    const message = scrubSecrets(cause.message, secrets);
    const stack = cause.stack ? scrubSecrets(cause.stack, secrets) : undefined;
    if (message === cause.message && stack === cause.stack) return cause;
    const copy = new Error(message);
    copy.name = cause.name;
    if (stack) copy.stack = stack;
    return copy;
  }
  if (typeof cause === "string") return scrubSecrets(cause, secrets);
  return cause;
}

export class ChannelError extends Error {
  override name = "ChannelError";
  readonly permanent: boolean;
  readonly retryAfterMs?: number;

  constructor(
    /** Channel name ("telegram", "feishu"…). */
    readonly channel: string,
    readonly kind: ChannelErrorKind,
    message: string,
    options: ChannelErrorOptions = {},
  ) {
    const secrets = options.secrets ?? [];
    super(
      scrubSecrets(message, secrets),
      options.cause === undefined ? undefined : { cause: scrubCause(options.cause, secrets) },
    );
    this.permanent = options.permanent ?? PERMANENT_BY_DEFAULT[kind];
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** Sending again cannot help (the platform refused, the credentials or the config are wrong). */
export function isPermanentChannelError(err: unknown): boolean {
  return err instanceof ChannelError && err.permanent;
}
