/**
 * What the credential proxy says when the model API cannot be used at all: no credentials on
 * the host, or the upstream refused them (401/403). Such a run must stop at once, not be
 * retried, and the chat (and `ngb chat` / `ngb run`) gets one sentence naming the fix. The
 * sentences live here so the proxy, the orchestrator and the CLI say exactly the same thing.
 */

export interface AuthFailure {
  /** "missing": nothing configured; "rejected": the upstream answered 401 or 403. */
  reason: "missing" | "rejected";
  /** HTTP status: the upstream's (401/403), or 401 for missing credentials. */
  status: number;
  /** The upstream's error type and message (bounded, anything key-like removed). */
  detail: string;
  /** Which credential was in use. */
  credential: "apiKey" | "authToken" | "none";
  /** One sentence for people: what is wrong and how to fix it. */
  sentence: string;
}

/** Called once per container token that hit an auth failure. */
export type OnAuthFailure = (groupFolder: string, failure: AuthFailure) => void;

export const NO_CREDENTIALS_SENTENCE =
  "No Anthropic API key is configured: run `ngb setup` or set ANTHROPIC_API_KEY (or CLAUDE_CODE_OAUTH_TOKEN for a Claude subscription), then restart ngb serve.";

/** Every sentence starts with one of these, so a client can recognise one in a chat reply. */
export const AUTH_FAILURE_PREFIXES = [
  "No Anthropic API key is configured",
  "The Anthropic API key was rejected",
  "The Claude subscription token was rejected",
] as const;

export function isAuthFailureSentence(text: string): boolean {
  return AUTH_FAILURE_PREFIXES.some((p) => text.startsWith(p));
}

/** Every sentence ends with this, so one can be cut out of a longer error text. */
const SENTENCE_END = "restart ngb serve.";

/** The sentence inside a longer text (an agent's error, a chat reply), or null. */
export function findAuthFailureSentence(text: string): string | null {
  for (const prefix of AUTH_FAILURE_PREFIXES) {
    const start = text.indexOf(prefix);
    if (start < 0) continue;
    const end = text.indexOf(SENTENCE_END, start);
    return end < 0 ? text.slice(start, start + 400) : text.slice(start, end + SENTENCE_END.length);
  }
  return null;
}

/** Removes anything that looks like a credential and bounds the length. */
export function scrubDetail(text: string, max = 200): string {
  const clean = text
    .replace(/sk-ant-[A-Za-z0-9_-]+/g, "sk-ant-…")
    .replace(/Bearer\s+\S+/gi, "Bearer …")
    .replace(/\s+/g, " ")
    .trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/** The upstream's `{ error: { type, message } }` as "type: message" (scrubbed). */
export function upstreamDetail(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { type?: unknown; message?: unknown } };
    const type = typeof parsed.error?.type === "string" ? parsed.error.type : "";
    const message = typeof parsed.error?.message === "string" ? parsed.error.message : "";
    if (type || message) return scrubDetail([type, message].filter(Boolean).join(": "));
  } catch {
    // not JSON: fall through to the raw text
  }
  return scrubDetail(body) || `HTTP ${status}`;
}

export function authFailureSentence(f: Omit<AuthFailure, "sentence">): string {
  if (f.reason === "missing") return NO_CREDENTIALS_SENTENCE;
  const why = `${f.status}${f.detail ? ` ${f.detail}` : ""}`;
  if (f.credential === "authToken")
    return `The Claude subscription token was rejected (${why}): create a new one with \`claude setup-token\`, then run \`ngb setup\` (or set CLAUDE_CODE_OAUTH_TOKEN) and restart ngb serve.`;
  const fix =
    f.status === 403
      ? "check the key's workspace permissions and the organisation's billing in the Anthropic Console"
      : "check it or create a new one in the Anthropic Console (console.anthropic.com)";
  return `The Anthropic API key was rejected (${why}): ${fix}, then run \`ngb setup\` (or fix ANTHROPIC_API_KEY) and restart ngb serve.`;
}

export function authFailure(f: Omit<AuthFailure, "sentence">): AuthFailure {
  return { ...f, sentence: authFailureSentence(f) };
}
