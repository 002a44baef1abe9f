/**
 * A fake Slack: the Web API methods the adapter uses and a Socket Mode WebSocket, on
 * 127.0.0.1:0, speaking Slack's wire shapes (form or JSON bodies, Bearer tokens, HTTP 200 with
 * `ok:false` for refusals, 429 + `Retry-After` for rate limits, Socket Mode envelopes that are
 * retried until acked). Tests script it (push events, drop sockets, rate-limit the next call)
 * and inspect what it recorded.
 *
 * Arguments are read as Slack reads them: query string and form-encoded bodies for every
 * method; a JSON body only for the write methods that accept JSON (chat.postMessage…). A JSON
 * body sent to a read method (users.info, conversations.info, auth.test…) is ignored, as Slack
 * ignores it, so users.info then misses its `user` and answers `invalid_arguments`. Like
 * Slack, the bot's own posts come back as `message` events carrying its user and bot_id.
 */
import type { Server, ServerWebSocket } from "bun";

export interface FakeSlackOptions {
  appToken?: string;
  botToken?: string;
  botUserId?: string;
  botId?: string;
  teamId?: string;
  /** Un-acked envelopes are resent after this long (Slack: a few seconds). Default 1,000 ms. */
  ackTimeoutMs?: number;
  /** Resends per envelope before giving up (Slack: 3). */
  maxRetries?: number;
  /** Echo the bot's own posts back as `message` events, like Slack does. Default true. */
  echoOwnMessages?: boolean;
  /** chat.postMessage refuses longer texts with `msg_too_long` (Slack recommends ≤ 4,000). */
  maxTextLength?: number;
}

/** Slack's write methods that accept a JSON body (docs.slack.dev "methods supporting JSON"). */
const JSON_METHODS = new Set([
  "chat.postMessage",
  "chat.postEphemeral",
  "chat.update",
  "chat.delete",
  "chat.scheduleMessage",
  "chat.meMessage",
  "reactions.add",
  "reactions.remove",
  "views.open",
  "views.publish",
  "views.push",
  "views.update",
]);

export interface PostedMessage {
  channel: string;
  text: string;
  thread_ts?: string;
  ts: string;
}

interface Pending {
  envelopeId: string;
  payload: Record<string, unknown>;
  type: string;
  retryAttempt: number;
  timer?: ReturnType<typeof setTimeout>;
}

interface SocketData {
  id: number;
}

export interface FakeSlack {
  /** Web API base URL (config `channels.slack.apiBaseUrl`). */
  readonly apiBaseUrl: string;
  readonly appToken: string;
  readonly botToken: string;
  readonly botUserId: string;
  readonly botId: string;
  /** Every chat.postMessage that succeeded, in order. */
  readonly posted: PostedMessage[];
  /** Web API calls by method name, including refused ones, with the body's content type. */
  readonly calls: {
    method: string;
    status: number;
    contentType: string;
    ignoredJsonBody: boolean;
    /** The token came in `Authorization: Bearer …` (not as a `token` argument). */
    tokenInHeader: boolean;
  }[];
  /** envelope_ids acked by the client, in order (duplicates included). */
  readonly acks: string[];
  /** Base of the WebSocket URL handed out by apps.connections.open (tests put a proxy in between). */
  linkBaseUrl: string;
  /** Socket Mode connections accepted so far. */
  readonly connectionCount: number;
  /** Currently open sockets. */
  readonly openSockets: number;
  /** Envelopes sent but not yet acked. */
  readonly pendingCount: number;
  /** Push an events_api envelope carrying `event`; returns its envelope_id. */
  pushEvent(event: Record<string, unknown>): string;
  /** Push any envelope type (e.g. "slash_commands") with a payload. */
  pushEnvelope(type: string, payload: Record<string, unknown>): string;
  /** Send a raw text frame to every open socket (bad payload tests). */
  pushRaw(frame: string): void;
  /** A user message event in `channel`. */
  message(opts: {
    channel: string;
    text: string;
    user?: string;
    ts?: string;
    thread_ts?: string;
  }): Record<string, unknown>;
  /** Send `{type:"disconnect", reason}` to every open socket. */
  sendDisconnect(reason: "warning" | "refresh_requested" | "link_disabled" | "too_many_websockets"): void;
  /** Close every open socket abruptly (no disconnect message). */
  dropSockets(): void;
  /** The next `count` Web API calls to `method` answer 429 with `Retry-After: seconds`. */
  rateLimit(method: string, retryAfterSec: number, count?: number): void;
  /** The next call to `method` answers `{ok:false, error}`. */
  failNext(method: string, error: string): void;
  /** Channels where posting answers `not_in_channel`. */
  readonly notInChannel: Set<string>;
  /** users.info directory: user id → display name (U0HUMAN1 is "Alice"). */
  readonly users: Map<string, string>;
  /** Poll `pred` until true or the deadline (ms) passes. */
  waitFor(pred: () => boolean, timeoutMs?: number, what?: string): Promise<void>;
  stop(): Promise<void>;
}

let tsCounter = 0;
/** Slack-style message timestamp: "<epoch seconds>.<6 digits>", unique per process. */
export function slackTs(): string {
  tsCounter++;
  return `${Math.floor(Date.now() / 1000)}.${String(tsCounter % 1_000_000).padStart(6, "0")}`;
}

export function createFakeSlack(options: FakeSlackOptions = {}): FakeSlack {
  const appToken = options.appToken ?? "xapp-1-A0TEST-1-fake";
  const botToken = options.botToken ?? "xoxb-1-fake-bot-token";
  const botUserId = options.botUserId ?? "UBOT0001";
  const botId = options.botId ?? "B0BOT001";
  const teamId = options.teamId ?? "T0TEAM01";
  const ackTimeoutMs = options.ackTimeoutMs ?? 1_000;
  const maxRetries = options.maxRetries ?? 3;
  const echo = options.echoOwnMessages ?? true;
  const maxText = options.maxTextLength ?? 4_000;

  const posted: PostedMessage[] = [];
  const calls: FakeSlack["calls"][number][] = [];
  const acks: string[] = [];
  const notInChannel = new Set<string>();
  const users = new Map<string, string>([["U0HUMAN1", "Alice"]]);
  const tickets = new Set<string>();
  const sockets = new Map<number, ServerWebSocket<SocketData>>();
  const helloed = new Set<number>();
  const pending = new Map<string, Pending>();
  const rateLimits = new Map<string, { retryAfter: number; count: number }>();
  const failures = new Map<string, string>();
  let connectionCount = 0;
  let socketSeq = 0;
  let envelopeSeq = 0;
  let stopped = false;

  const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json; charset=utf-8", ...headers },
    });

  /** Arguments as Slack reads them; `ignoredJsonBody` when a JSON body went to a non-JSON method. */
  async function params(
    method: string,
    req: Request,
  ): Promise<{ p: Record<string, string>; ignoredJsonBody: boolean }> {
    const type = req.headers.get("content-type") ?? "";
    const text = await req.text();
    const p: Record<string, string> = Object.fromEntries(new URL(req.url).searchParams);
    if (type.includes("application/json")) {
      if (!JSON_METHODS.has(method)) return { p, ignoredJsonBody: text.length > 0 };
      try {
        const parsed = JSON.parse(text) as Record<string, unknown>;
        for (const [k, v] of Object.entries(parsed))
          if (v !== undefined && v !== null) p[k] = typeof v === "string" ? v : JSON.stringify(v);
      } catch {
        p.__invalid_json = "1";
      }
      return { p, ignoredJsonBody: false };
    }
    if (type.includes("application/x-www-form-urlencoded") || text.length > 0)
      for (const [k, v] of new URLSearchParams(text)) p[k] = v;
    return { p, ignoredJsonBody: false };
  }

  function tokenOf(req: Request, p: Record<string, string>): string | undefined {
    const auth = req.headers.get("authorization");
    if (auth?.startsWith("Bearer ")) return auth.slice(7);
    return p.token;
  }

  function currentSocket(): ServerWebSocket<SocketData> | undefined {
    // Slack spreads envelopes over the app's open connections; the newest ready one is enough.
    let last: ServerWebSocket<SocketData> | undefined;
    for (const [id, ws] of sockets) if (helloed.has(id)) last = ws;
    return last;
  }

  function deliver(p: Pending) {
    clearTimeout(p.timer);
    const ws = currentSocket();
    if (!ws) return; // delivered when a connection opens
    ws.send(
      JSON.stringify({
        envelope_id: p.envelopeId,
        payload: p.payload,
        type: p.type,
        accepts_response_payload: false,
        retry_attempt: p.retryAttempt,
        retry_reason: p.retryAttempt === 0 ? "" : "timeout",
      }),
    );
    if (p.retryAttempt >= maxRetries) return; // stays pending; redelivered on reconnect only
    p.timer = setTimeout(() => {
      if (!pending.has(p.envelopeId) || stopped) return;
      p.retryAttempt++;
      deliver(p);
    }, ackTimeoutMs);
  }

  function pushEnvelope(type: string, payload: Record<string, unknown>): string {
    envelopeSeq++;
    const envelopeId = `${crypto.randomUUID()}-${envelopeSeq}`;
    const p: Pending = { envelopeId, payload, type, retryAttempt: 0 };
    pending.set(envelopeId, p);
    deliver(p);
    return envelopeId;
  }

  function pushEvent(event: Record<string, unknown>): string {
    return pushEnvelope("events_api", {
      token: "verification-token",
      team_id: teamId,
      api_app_id: "A0TEST",
      event: { event_ts: event.ts ?? slackTs(), ...event },
      type: "event_callback",
      event_id: `Ev${String(envelopeSeq + 1).padStart(8, "0")}`,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [
        {
          enterprise_id: null,
          team_id: teamId,
          user_id: botUserId,
          is_bot: true,
          is_enterprise_install: false,
        },
      ],
      is_ext_shared_channel: false,
    });
  }

  async function webApi(method: string, req: Request): Promise<Response> {
    const contentType = req.headers.get("content-type") ?? "";
    const tokenInHeader = req.headers.get("authorization")?.startsWith("Bearer ") === true;
    const { p, ignoredJsonBody } = await params(method, req);
    const record = (res: Response) => {
      calls.push({ method, status: res.status, contentType, ignoredJsonBody, tokenInHeader });
      return res;
    };
    const limit = rateLimits.get(method);
    if (limit && limit.count > 0) {
      limit.count--;
      return record(
        json({ ok: false, error: "ratelimited" }, 429, { "retry-after": String(limit.retryAfter) }),
      );
    }
    const failure = failures.get(method);
    if (failure) {
      failures.delete(method);
      return record(json({ ok: false, error: failure }));
    }
    const token = tokenOf(req, p);
    if (!token) return record(json({ ok: false, error: "not_authed" }));
    if (p.__invalid_json) return record(json({ ok: false, error: "invalid_json" }));
    switch (method) {
      case "apps.connections.open": {
        if (token.startsWith("xoxb-")) return record(json({ ok: false, error: "not_allowed_token_type" }));
        if (token !== appToken) return record(json({ ok: false, error: "invalid_auth" }));
        const ticket = crypto.randomUUID();
        tickets.add(ticket);
        return record(json({ ok: true, url: `${fakeObj.linkBaseUrl}/link/?ticket=${ticket}&app_id=A0TEST` }));
      }
      case "auth.test": {
        if (token !== botToken) return record(json({ ok: false, error: "invalid_auth" }));
        return record(
          json({
            ok: true,
            url: "https://fake-team.slack.com/",
            team: "Fake Team",
            user: "ngb",
            team_id: teamId,
            user_id: botUserId,
            bot_id: botId,
            is_enterprise_install: false,
          }),
        );
      }
      case "chat.postMessage": {
        if (token !== botToken) return record(json({ ok: false, error: "invalid_auth" }));
        const channel = p.channel;
        if (!channel) return record(json({ ok: false, error: "channel_not_found" }));
        if (notInChannel.has(channel)) return record(json({ ok: false, error: "not_in_channel" }));
        const text = p.text ?? "";
        if (text.length === 0) return record(json({ ok: false, error: "no_text" }));
        if (text.length > maxText) return record(json({ ok: false, error: "msg_too_long" }));
        const ts = slackTs();
        const msg: PostedMessage = { channel, text, ts, ...(p.thread_ts ? { thread_ts: p.thread_ts } : {}) };
        posted.push(msg);
        if (echo) {
          pushEvent({
            type: "message",
            channel,
            user: botUserId,
            bot_id: botId,
            text,
            ts,
            ...(p.thread_ts ? { thread_ts: p.thread_ts } : {}),
            channel_type: "channel",
            team: teamId,
          });
        }
        return record(
          json({
            ok: true,
            channel,
            ts,
            message: { type: "message", user: botUserId, bot_id: botId, text, ts },
          }),
        );
      }
      case "users.info": {
        if (token !== botToken) return record(json({ ok: false, error: "invalid_auth" }));
        if (!p.user)
          return record(
            json({
              ok: false,
              error: "invalid_arguments",
              response_metadata: { messages: ["[ERROR] missing required field: user"] },
            }),
          );
        const id = p.user;
        const name = users.get(id);
        if (!name) return record(json({ ok: false, error: "user_not_found" }));
        return record(
          json({
            ok: true,
            user: {
              id,
              name: name.toLowerCase(),
              real_name: name,
              profile: { display_name: name, real_name: name },
            },
          }),
        );
      }
      default:
        return record(json({ ok: false, error: "unknown_method" }, 404));
    }
  }

  const server: Server<SocketData> = Bun.serve<SocketData>({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req, srv) {
      const url = new URL(req.url);
      if (url.pathname === "/link/") {
        const ticket = url.searchParams.get("ticket") ?? "";
        if (!tickets.delete(ticket)) return new Response("invalid ticket", { status: 401 });
        socketSeq++;
        if (srv.upgrade(req, { data: { id: socketSeq } })) return undefined;
        return new Response("upgrade failed", { status: 400 });
      }
      const m = /^\/api\/([A-Za-z.]+)$/.exec(url.pathname);
      if (m && req.method === "POST") return webApi(m[1]!, req);
      if (m) return json({ ok: false, error: "invalid_request" }, 405);
      return new Response("not found", { status: 404 });
    },
    websocket: {
      open(ws) {
        connectionCount++;
        sockets.set(ws.data.id, ws);
        ws.send(
          JSON.stringify({
            type: "hello",
            num_connections: sockets.size,
            debug_info: { host: "applink-fake", build_number: 1, approximate_connection_time: 18060 },
            connection_info: { app_id: "A0TEST" },
          }),
        );
        helloed.add(ws.data.id);
        // A new connection gets everything not yet acked (Slack redelivers un-acked envelopes).
        for (const p of pending.values()) deliver(p);
      },
      message(_ws, data) {
        try {
          const msg = JSON.parse(String(data)) as { envelope_id?: unknown };
          if (typeof msg.envelope_id === "string") {
            acks.push(msg.envelope_id);
            const p = pending.get(msg.envelope_id);
            if (p) {
              clearTimeout(p.timer);
              pending.delete(msg.envelope_id);
            }
          }
        } catch {
          // Slack ignores garbage from clients too.
        }
      },
      close(ws) {
        sockets.delete(ws.data.id);
        helloed.delete(ws.data.id);
      },
    },
  });

  const fakeObj: FakeSlack = {
    linkBaseUrl: `ws://127.0.0.1:${server.port}`,
    apiBaseUrl: `http://127.0.0.1:${server.port}/api`,
    appToken,
    botToken,
    botUserId,
    botId,
    posted,
    calls,
    acks,
    notInChannel,
    users,
    get connectionCount() {
      return connectionCount;
    },
    get openSockets() {
      return sockets.size;
    },
    get pendingCount() {
      return pending.size;
    },
    pushEvent,
    pushEnvelope,
    pushRaw(frame) {
      for (const ws of sockets.values()) ws.send(frame);
    },
    message({ channel, text, user = "U0HUMAN1", ts = slackTs(), thread_ts }) {
      return {
        type: "message",
        channel,
        user,
        text,
        ts,
        ...(thread_ts ? { thread_ts } : {}),
        channel_type: "channel",
        team: teamId,
        client_msg_id: crypto.randomUUID(),
      };
    },
    sendDisconnect(reason) {
      for (const ws of sockets.values())
        ws.send(JSON.stringify({ type: "disconnect", reason, debug_info: { host: "applink-fake" } }));
    },
    dropSockets() {
      for (const ws of [...sockets.values()]) {
        sockets.delete(ws.data.id);
        helloed.delete(ws.data.id);
        ws.terminate();
      }
    },
    rateLimit(method, retryAfterSec, count = 1) {
      rateLimits.set(method, { retryAfter: retryAfterSec, count });
    },
    failNext(method, error) {
      failures.set(method, error);
    },
    async waitFor(pred, timeoutMs = 5_000, what = "condition") {
      const deadline = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`fake slack: timed out waiting for ${what}`);
        await Bun.sleep(5);
      }
    },
    async stop() {
      stopped = true;
      for (const p of pending.values()) clearTimeout(p.timer);
      for (const ws of sockets.values()) ws.close(1001, "server stopping");
      await server.stop(true);
    },
  };
  return fakeObj;
}
