/**
 * A fake Anthropic Messages API on loopback: `POST /v1/messages` (with or without `?beta=true`),
 * streaming SSE exactly as the real API frames it (message_start → content blocks with
 * text_delta / input_json_delta → message_delta → message_stop) or a plain JSON message when
 * `stream` is false. Each request is answered by a script that sees the parsed request and
 * returns the turn. Also answers `/v1/messages/count_tokens`, `/v1/models` and HEAD/GET probes.
 *
 *   const fake = startFakeAnthropic({ script: scripts.sendMessageThenText("hi there", "done") });
 *   // ANTHROPIC_BASE_URL=fake.url
 *   fake.requests  // every parsed /v1/messages request, in order
 *   await fake.stop();
 */

// ---- the request as the script sees it ----

export interface FakeContentBlock {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
  tool_use_id?: string;
  content?: unknown;
  is_error?: boolean;
}

export interface FakeMessage {
  role: "user" | "assistant";
  content: string | FakeContentBlock[];
}

export interface FakeRequest {
  model: string;
  messages: FakeMessage[];
  system?: unknown;
  tools?: { name: string; description?: string; input_schema?: unknown }[];
  stream?: boolean;
  max_tokens?: number;
  [key: string]: unknown;
}

export interface FakeRequestRecord {
  path: string;
  headers: Record<string, string>;
  body: FakeRequest;
  receivedAt: number;
}

// ---- the turn a script returns ----

export interface FakeToolUse {
  name: string;
  input: Record<string, unknown>;
  id?: string;
}

export interface FakeTurn {
  /** Text of the reply (first block). */
  text?: string;
  /** Tool calls after the text. */
  toolUses?: FakeToolUse[];
  /** Defaults: "tool_use" when toolUses are given, else "end_turn". */
  stopReason?: "end_turn" | "tool_use" | "max_tokens" | "stop_sequence";
  usage?: { inputTokens?: number; outputTokens?: number };
  /** Answer with this HTTP error instead of a message (e.g. 529 overloaded). */
  error?: { status: number; type: string; message: string };
  /** Milliseconds to wait before answering. */
  delayMs?: number;
}

export type FakeScript = (req: FakeRequest, index: number) => FakeTurn | Promise<FakeTurn>;

export interface FakeAnthropicOptions {
  script?: FakeScript;
  /** Characters per text_delta event; default 16 (several deltas per reply, like the real API). */
  chunkSize?: number;
  /**
   * Credentials the fake accepts (x-api-key, or `Authorization: Bearer` for OAuth tokens).
   * Unset: any credential. Set: anything else gets the real API's 401 authentication_error.
   */
  acceptKeys?: string[];
}

export interface FakeAnthropic {
  url: string;
  port: number;
  /** Every POST /v1/messages request, in arrival order. */
  requests: FakeRequestRecord[];
  /** Replace the script (e.g. between phases of a test). */
  setScript(script: FakeScript): void;
  /** Resolves once `n` message requests have arrived (or rejects after `timeoutMs`). */
  waitForRequests(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

// ---- helpers to read requests ----

function blocks(content: string | FakeContentBlock[]): FakeContentBlock[] {
  return typeof content === "string" ? [{ type: "text", text: content }] : content;
}

/** The last message if it is from the user. */
function lastUser(req: FakeRequest): FakeMessage | undefined {
  const last = req.messages.at(-1);
  return last?.role === "user" ? last : undefined;
}

/** Tool results carried by the last user message (empty when it is a fresh prompt). */
export function toolResults(req: FakeRequest): FakeContentBlock[] {
  const last = lastUser(req);
  return last ? blocks(last.content).filter((b) => b.type === "tool_result") : [];
}

/** Text of the tool result for a given tool-use id, flattened. */
export function toolResultText(block: FakeContentBlock): string {
  const c = block.content;
  if (typeof c === "string") return c;
  if (Array.isArray(c)) return c.map((x) => (typeof x?.text === "string" ? x.text : "")).join("");
  return "";
}

/**
 * Text of the most recent user prompt (skips tool-result messages and the CLI's
 * `<system-reminder>` blocks), so a script can react to what the user asked.
 */
export function lastUserText(req: FakeRequest): string {
  for (let i = req.messages.length - 1; i >= 0; i--) {
    const m = req.messages[i];
    if (m?.role !== "user") continue;
    const texts = blocks(m.content)
      .filter((b) => b.type === "text" && typeof b.text === "string")
      .map((b) => b.text as string)
      .filter((t) => !t.startsWith("<system-reminder>"));
    if (texts.length > 0) return texts.join("\n");
  }
  return "";
}

/** Names of the tools offered in the request. */
export function toolNames(req: FakeRequest): string[] {
  return (req.tools ?? []).map((t) => t.name);
}

// ---- helpers to script common turns ----

export const turns = {
  text: (text: string): FakeTurn => ({ text }),
  tool: (name: string, input: Record<string, unknown>, text?: string): FakeTurn => ({
    text,
    toolUses: [{ name, input }],
  }),
};

/** Ready-made scripts. A script answering a tool result is how a real model ends its turn. */
export const scripts = {
  /** Always the same text. */
  text:
    (text: string): FakeScript =>
    () => ({ text }),

  /** Replies `prefix + <last user text>`. */
  echo:
    (prefix = "echo: "): FakeScript =>
    (req) => ({ text: `${prefix}${lastUserText(req)}` }),

  /**
   * Calls `mcp__ngb__send_message` with `text` (and `chatJid` when given); after the tool result
   * replies `finalText`.
   */
  sendMessageThenText:
    (text: string, finalText: string, chatJid?: string): FakeScript =>
    (req) =>
      toolResults(req).length > 0
        ? { text: finalText }
        : turns.tool("mcp__ngb__send_message", chatJid ? { text, chatJid } : { text }),

  /** Calls `mcp__ngb__schedule_task` with `input`; after the tool result replies `finalText`. */
  scheduleTaskThenText:
    (input: Record<string, unknown>, finalText: string): FakeScript =>
    (req) =>
      toolResults(req).length > 0 ? { text: finalText } : turns.tool("mcp__ngb__schedule_task", input),

  /** Calls any tool once, then replies `finalText` (which may use the tool's result text). */
  toolThenText:
    (
      name: string,
      input: Record<string, unknown>,
      finalText: string | ((result: string) => string),
    ): FakeScript =>
    (req) => {
      const results = toolResults(req);
      if (results.length === 0) return turns.tool(name, input);
      const first = results[0];
      return {
        text: typeof finalText === "function" ? finalText(first ? toolResultText(first) : "") : finalText,
      };
    },

  /**
   * Routes by the last user prompt: the first rule whose `when` matches answers; else `fallback`
   * (default: echo). Lets one fake serve a whole end-to-end test.
   */
  byPrompt:
    (
      rules: { when: string | RegExp; script: FakeScript }[],
      fallback: FakeScript = scripts.echo(),
    ): FakeScript =>
    (req, index) => {
      const prompt = lastUserText(req);
      for (const rule of rules) {
        const hit = typeof rule.when === "string" ? prompt.includes(rule.when) : rule.when.test(prompt);
        if (hit) return rule.script(req, index);
      }
      return fallback(req, index);
    },

  /** Turns answered in order; the last repeats. */
  sequence:
    (...list: FakeTurn[]): FakeScript =>
    (_req, index) =>
      list[Math.min(index, list.length - 1)] ?? { text: "" },
};

// ---- the wire format ----

let idCounter = 0;
const newId = (prefix: string) =>
  `${prefix}_fake${Date.now().toString(36)}${(idCounter++).toString(36).padStart(4, "0")}`;

function estimateTokens(value: unknown): number {
  return Math.max(1, Math.ceil(JSON.stringify(value ?? "").length / 4));
}

interface BuiltMessage {
  message: Record<string, unknown>;
  content: Record<string, unknown>[];
  stopReason: string;
  usage: {
    input_tokens: number;
    output_tokens: number;
    cache_creation_input_tokens: number;
    cache_read_input_tokens: number;
  };
}

function buildMessage(req: FakeRequest, turn: FakeTurn): BuiltMessage {
  const content: Record<string, unknown>[] = [];
  if (turn.text !== undefined && turn.text !== "") content.push({ type: "text", text: turn.text });
  for (const t of turn.toolUses ?? []) {
    content.push({ type: "tool_use", id: t.id ?? newId("toolu"), name: t.name, input: t.input });
  }
  if (content.length === 0) content.push({ type: "text", text: "" });
  const stopReason = turn.stopReason ?? ((turn.toolUses?.length ?? 0) > 0 ? "tool_use" : "end_turn");
  const usage = {
    input_tokens: turn.usage?.inputTokens ?? estimateTokens(req.messages),
    output_tokens: turn.usage?.outputTokens ?? estimateTokens(content),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
  const message = {
    id: newId("msg"),
    type: "message",
    role: "assistant",
    model: req.model || "claude-fake",
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage,
  };
  return { message, content, stopReason, usage };
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The SSE events of one message, in the real API's order. */
export function sseEvents(built: BuiltMessage, chunkSize = 16): string[] {
  const out: string[] = [];
  out.push(
    sse("message_start", {
      type: "message_start",
      message: {
        ...built.message,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...built.usage, output_tokens: 1 },
      },
    }),
  );
  built.content.forEach((block, index) => {
    if (block.type === "text") {
      out.push(
        sse("content_block_start", {
          type: "content_block_start",
          index,
          content_block: { type: "text", text: "" },
        }),
      );
      if (index === 0) out.push(sse("ping", { type: "ping" }));
      const text = String(block.text ?? "");
      for (let i = 0; i < text.length; i += chunkSize) {
        out.push(
          sse("content_block_delta", {
            type: "content_block_delta",
            index,
            delta: { type: "text_delta", text: text.slice(i, i + chunkSize) },
          }),
        );
      }
    } else {
      out.push(
        sse("content_block_start", {
          type: "content_block_start",
          index,
          content_block: { type: "tool_use", id: block.id, name: block.name, input: {} },
        }),
      );
      const json = JSON.stringify(block.input ?? {});
      out.push(
        sse("content_block_delta", {
          type: "content_block_delta",
          index,
          delta: { type: "input_json_delta", partial_json: "" },
        }),
      );
      for (let i = 0; i < json.length; i += chunkSize) {
        out.push(
          sse("content_block_delta", {
            type: "content_block_delta",
            index,
            delta: { type: "input_json_delta", partial_json: json.slice(i, i + chunkSize) },
          }),
        );
      }
    }
    out.push(sse("content_block_stop", { type: "content_block_stop", index }));
  });
  out.push(
    sse("message_delta", {
      type: "message_delta",
      delta: { stop_reason: built.stopReason, stop_sequence: null },
      usage: { output_tokens: built.usage.output_tokens },
    }),
  );
  out.push(sse("message_stop", { type: "message_stop" }));
  return out;
}

function apiError(status: number, type: string, message: string): Response {
  return Response.json(
    { type: "error", error: { type, message } },
    { status, headers: { "request-id": newId("req") } },
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function startFakeAnthropic(options: FakeAnthropicOptions = {}): FakeAnthropic {
  let script: FakeScript = options.script ?? scripts.echo();
  const chunkSize = options.chunkSize ?? 16;
  const requests: FakeRequestRecord[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];

  const notify = () => {
    for (const w of [...waiters]) {
      if (requests.length >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const path = url.pathname;
      if (options.acceptKeys && path.startsWith("/v1/")) {
        const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
        const key = request.headers.get("x-api-key") ?? bearer;
        if (!key || !options.acceptKeys.includes(key))
          return apiError(401, "authentication_error", "invalid x-api-key");
      }
      if (request.method === "HEAD") return new Response(null, { status: 200 });
      if (request.method === "GET") {
        if (path === "/v1/models") {
          return Response.json({
            data: [
              {
                type: "model",
                id: "claude-fake",
                display_name: "Claude (fake)",
                created_at: "2025-01-01T00:00:00Z",
              },
            ],
            has_more: false,
            first_id: "claude-fake",
            last_id: "claude-fake",
          });
        }
        return Response.json({ ok: true, fake: "anthropic" });
      }
      if (request.method !== "POST")
        return apiError(405, "invalid_request_error", `method ${request.method} not allowed`);

      let body: FakeRequest;
      try {
        body = (await request.json()) as FakeRequest;
      } catch {
        return apiError(400, "invalid_request_error", "body is not JSON");
      }
      if (path === "/v1/messages/count_tokens") {
        return Response.json({ input_tokens: estimateTokens([body.system, body.messages, body.tools]) });
      }
      if (path !== "/v1/messages") return apiError(404, "not_found_error", `no route ${path}`);
      if (!Array.isArray(body.messages))
        return apiError(400, "invalid_request_error", "messages: field required");

      const index = requests.length;
      requests.push({
        path: path + url.search,
        headers: Object.fromEntries(request.headers),
        body,
        receivedAt: Date.now(),
      });
      notify();

      let turn: FakeTurn;
      try {
        turn = await script(body, index);
      } catch (err) {
        return apiError(500, "api_error", `fake script failed: ${(err as Error).message}`);
      }
      if (turn.delayMs) await sleep(turn.delayMs);
      if (turn.error) return apiError(turn.error.status, turn.error.type, turn.error.message);

      const built = buildMessage(body, turn);
      const headers = { "request-id": newId("req"), "anthropic-organization-id": "fake-org" };
      if (!body.stream) return Response.json(built.message, { headers });
      const encoder = new TextEncoder();
      const events = sseEvents(built, chunkSize);
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const e of events) controller.enqueue(encoder.encode(e));
          controller.close();
        },
      });
      return new Response(stream, {
        headers: {
          ...headers,
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache",
        },
      });
    },
  });

  const port = server.port as number;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setScript(next) {
      script = next;
    },
    waitForRequests(n, timeoutMs = 10_000) {
      if (requests.length >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`fake anthropic: ${requests.length}/${n} requests after ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    async stop() {
      await server.stop(true);
    },
  };
}
