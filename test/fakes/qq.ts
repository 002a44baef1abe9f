/**
 * A fake QQ bot platform on 127.0.0.1, following bot-docs (CHANNELS-CN.md §4.9):
 * - `POST /app/getAppAccessToken` (`expires_in` a string; the same token until its last 60 s,
 *   then a new one while the old stays valid 60 s more);
 * - `GET /gateway` and the WebSocket gateway: Hello, Identify (token + intents checked), READY
 *   with a session id, seq numbering, heartbeat ACK, Resume with backlog replay then RESUMED,
 *   op 7 / op 9 / close codes on command, and an "invalid session for every Identify" mode;
 * - the four send endpoints enforcing the passive rules: no msg_id → proactive refused; unknown
 *   msg_id → 304026; past the window (C2C 60 min, others 5 min) → 304027; > 5 replies to one
 *   message, or a repeated msg_id + msg_seq → refused;
 * - the webhook client role: signed `op 0` pushes and `op 13` validation, signed with
 *   node:crypto (an implementation independent of the adapter's Web Crypto one).
 */
import {
  createPrivateKey,
  createPublicKey,
  sign as edSign,
  verify as edVerify,
  type KeyObject,
} from "node:crypto";
import type { ServerWebSocket } from "bun";

type Kind = "group" | "c2c" | "channel" | "dm";

export interface SentMessage {
  kind: Kind;
  target: string;
  body: Record<string, unknown>;
}

export interface FakeQqOptions {
  appId?: string;
  secret?: string;
  now?: () => number;
  tokenTtlSec?: number;
  heartbeatMs?: number;
}

interface Session {
  id: string;
  seq: number;
  backlog: { s: number; frame: string }[];
  ws?: ServerWebSocket<{ n: number }>;
}

export interface FakeQq {
  url: string;
  tokenUrl: string;
  appId: string;
  secret: string;
  sent: SentMessage[];
  refusals: { code: number; message: string }[];
  identifies: number;
  resumes: { sessionId: string; seq: number }[];
  heartbeats: (number | null)[];
  tokensIssued: number;
  /** Dispatch one event to the gateway session (buffered while disconnected; replayed on resume). */
  dispatch(t: string, d: Record<string, unknown>): { id: string; s: number };
  /** A user message event in one of the four kinds; returns its msg_id. */
  userMessage(
    kind: Kind,
    chat: string,
    text: string,
    o?: { id?: string; author?: string },
  ): { t: string; d: Record<string, unknown> };
  /** Close the gateway socket(s) like a network drop. */
  drop(code?: number): void;
  reconnectOp(): void;
  /** Send a raw text frame on the gateway socket(s). */
  raw(text: string): void;
  invalidSessionOnIdentify(on: boolean): void;
  /** Pretend the token endpoint's time moved (for the 60 s overlap rule). */
  expireTokensNow(): void;
  /** POST a signed push to the adapter's webhook. */
  postEvent(
    url: string,
    payload: Record<string, unknown>,
    o?: { forge?: boolean; timestamp?: string; appIdHeader?: string },
  ): Promise<Response>;
  /** op 13 validation; returns the response and whether its signature verifies with our key. */
  validate(
    url: string,
    plainToken: string,
    eventTs: string,
  ): Promise<{ status: number; body: unknown; valid: boolean }>;
  stop(): Promise<void>;
}

const PKCS8 = Buffer.from("302e020100300506032b657004220420", "hex");

export function qqKeys(secret: string): { priv: KeyObject; pub: KeyObject } {
  let seed = secret;
  while (seed.length < 32) seed += seed;
  const priv = createPrivateKey({
    key: Buffer.concat([PKCS8, Buffer.from(seed.slice(0, 32))]),
    format: "der",
    type: "pkcs8",
  });
  return { priv, pub: createPublicKey(priv) };
}

const WINDOW: Record<Kind, number> = {
  c2c: 60 * 60_000,
  group: 5 * 60_000,
  channel: 5 * 60_000,
  dm: 5 * 60_000,
};

export function startFakeQq(options: FakeQqOptions = {}): FakeQq {
  const appId = options.appId ?? "102000001";
  const secret = options.secret ?? "FakeQqSecret0123";
  const now = options.now ?? Date.now;
  const ttl = options.tokenTtlSec ?? 7200;
  const heartbeatMs = options.heartbeatMs ?? 200;
  const keys = qqKeys(secret);
  const tokens = new Map<string, number>();
  let current: { token: string; exp: number } | undefined;
  const inbound = new Map<string, { kind: Kind; chat: string; at: number; replies: Set<number> }>();
  const sessions = new Map<string, Session>();
  let live: Session | undefined;
  let invalidLoop = false;
  let n = 0;
  const sockets = new Set<ServerWebSocket<{ n: number }>>();

  const fake: FakeQq = {
    url: "",
    tokenUrl: "",
    appId,
    secret,
    sent: [],
    refusals: [],
    identifies: 0,
    resumes: [],
    heartbeats: [],
    tokensIssued: 0,
    dispatch(t, d) {
      const s = live ?? [...sessions.values()].at(-1);
      const id = `${t}:${++n}`;
      if (!s) throw new Error("no gateway session");
      s.seq++;
      const frame = JSON.stringify({ op: 0, s: s.seq, t, d, id });
      s.backlog.push({ s: s.seq, frame });
      s.ws?.send(frame);
      return { id, s: s.seq };
    },
    userMessage(kind, chat, text, o = {}) {
      const id = o.id ?? `ROBOT1.0_${(++n).toString(36)}${Math.random().toString(36).slice(2, 10)}`;
      inbound.set(id, { kind, chat, at: now(), replies: new Set() });
      const timestamp = new Date(now()).toISOString();
      const author = o.author ?? "E2AB3C4D5E6F708192A3B4C5D6E7F801";
      switch (kind) {
        case "c2c":
          return {
            t: "C2C_MESSAGE_CREATE",
            d: { id, author: { user_openid: chat }, content: text, timestamp },
          };
        case "group":
          return {
            t: "GROUP_AT_MESSAGE_CREATE",
            d: { id, author: { member_openid: author }, content: ` ${text}`, group_openid: chat, timestamp },
          };
        case "channel":
          return {
            t: "AT_MESSAGE_CREATE",
            d: {
              id,
              channel_id: chat,
              guild_id: "9001",
              content: `<@!1234567> ${text}`,
              author: { id: "555", username: "alice", bot: false },
              timestamp,
            },
          };
        case "dm":
          return {
            t: "DIRECT_MESSAGE_CREATE",
            d: {
              id,
              channel_id: "7001",
              guild_id: chat,
              content: text,
              author: { id: "556", username: "bob", bot: false },
              timestamp,
            },
          };
      }
    },
    drop(code = 1011) {
      for (const ws of sockets) ws.close(code, "dropped");
    },
    reconnectOp() {
      for (const ws of sockets) ws.send(JSON.stringify({ op: 7 }));
    },
    raw(text) {
      for (const ws of sockets) ws.send(text);
    },
    invalidSessionOnIdentify(on) {
      invalidLoop = on;
    },
    expireTokensNow() {
      tokens.clear();
      current = undefined;
    },
    async postEvent(url, payload, o = {}) {
      const body = JSON.stringify(payload);
      const ts = o.timestamp ?? String(Math.floor(now() / 1000));
      const sig = edSign(null, Buffer.from(ts + body), keys.priv).toString("hex");
      return fetch(url, {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "user-agent": "QQBot-Callback",
          "x-bot-appid": o.appIdHeader ?? appId,
          "x-signature-ed25519": o.forge ? sig.replace(/^./, (c) => (c === "0" ? "1" : "0")) : sig,
          "x-signature-timestamp": ts,
          "x-signature-method": "Ed25519",
        },
      });
    },
    async validate(url, plainToken, eventTs) {
      const res = await fetch(url, {
        method: "POST",
        body: JSON.stringify({ op: 13, d: { plain_token: plainToken, event_ts: eventTs } }),
        headers: { "content-type": "application/json", "user-agent": "QQBot-Callback", "x-bot-appid": appId },
      });
      const body = (await res.json().catch(() => null)) as { signature?: string } | null;
      const valid =
        typeof body?.signature === "string" &&
        edVerify(null, Buffer.from(eventTs + plainToken), keys.pub, Buffer.from(body.signature, "hex"));
      return { status: res.status, body, valid };
    },
    async stop() {
      for (const ws of sockets) ws.close();
      server.stop(true);
    },
  };

  function tokenValid(header: string | null): boolean {
    const m = /^QQBot (\S+)$/.exec(header ?? "");
    const exp = m ? tokens.get(m[1]!) : undefined;
    return exp !== undefined && now() < exp;
  }

  const refuse = (status: number, code: number, message: string) => {
    fake.refusals.push({ code, message });
    return Response.json(
      { code, message, err_code: code, trace_id: `t${++n}` },
      { status, headers: { "x-tps-trace-id": `t${n}` } },
    );
  };

  async function send(req: Request, kind: Kind, target: string): Promise<Response> {
    if (!tokenValid(req.headers.get("authorization"))) return refuse(401, 11244, "token not exist or expire");
    const body = (await req.json().catch(() => null)) as Record<string, unknown> | null;
    if (!body) return refuse(400, 40034001, "invalid json");
    const msgId = body.msg_id;
    if (typeof msgId !== "string" || !msgId)
      return refuse(400, 40034117, "proactive messages are no longer supported");
    const src = inbound.get(msgId);
    if (!src || src.kind !== kind || src.chat !== target) return refuse(400, 304026, "reply msg id invalid");
    if (now() - src.at > WINDOW[kind]) return refuse(400, 304027, "reply msg expired");
    if (kind === "group" || kind === "c2c") {
      const seq = typeof body.msg_seq === "number" ? body.msg_seq : 1;
      if (src.replies.has(seq)) return refuse(400, 40054005, "duplicate msg_seq");
      if (src.replies.size >= 5) return refuse(400, 304027, "reply limit exceeded");
      src.replies.add(seq);
      const content = body.msg_type === 2 ? (body.markdown as { content?: string })?.content : body.content;
      if (typeof content !== "string" || !content.trim()) return refuse(400, 50006, "empty content");
    } else if (typeof body.content !== "string" || !body.content.trim())
      return refuse(400, 50006, "empty content");
    fake.sent.push({ kind, target, body });
    return Response.json({ id: `sent${++n}`, timestamp: Math.floor(now() / 1000) });
  }

  function onGateway(ws: ServerWebSocket<{ n: number }>, text: string) {
    let f: { op?: number; d?: Record<string, unknown> | number | null };
    try {
      f = JSON.parse(text);
    } catch {
      ws.close(4001, "invalid opcode");
      return;
    }
    const d = (f.d ?? {}) as Record<string, unknown>;
    switch (f.op) {
      case 1:
        fake.heartbeats.push((f.d as number | null) ?? null);
        ws.send(JSON.stringify({ op: 11 }));
        return;
      case 2: {
        fake.identifies++;
        if (!tokenValid(String(d.token ?? ""))) return ws.close(4004, "invalid token");
        if (typeof d.intents !== "number") return ws.close(4013, "invalid intents");
        if (invalidLoop) return ws.send(JSON.stringify({ op: 9, d: false }));
        const s: Session = { id: `sess-${++n}`, seq: 0, backlog: [], ws };
        sessions.set(s.id, s);
        live = s;
        s.seq++;
        ws.send(
          JSON.stringify({
            op: 0,
            s: s.seq,
            t: "READY",
            d: {
              version: 1,
              session_id: s.id,
              user: { id: "1234567", username: "fakebot", bot: true },
              shard: [0, 1],
            },
          }),
        );
        return;
      }
      case 6: {
        if (!tokenValid(String(d.token ?? ""))) return ws.close(4004, "invalid token");
        const s = sessions.get(String(d.session_id));
        fake.resumes.push({ sessionId: String(d.session_id), seq: Number(d.seq) });
        if (!s || invalidLoop) return ws.send(JSON.stringify({ op: 9, d: false }));
        s.ws = ws;
        live = s;
        for (const b of s.backlog) if (b.s > Number(d.seq)) ws.send(b.frame);
        s.seq++;
        ws.send(JSON.stringify({ op: 0, s: s.seq, t: "RESUMED", d: "" }));
        return;
      }
      default:
        ws.close(4001, "invalid opcode");
    }
  }

  const server: ReturnType<typeof Bun.serve> = Bun.serve<{ n: number }, never>({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req, srv): Promise<Response> {
      const u = new URL(req.url);
      if (u.pathname === "/websocket") {
        if (srv.upgrade(req, { data: { n: ++n } })) return undefined as unknown as Response;
        return new Response("upgrade failed", { status: 400 });
      }
      if (u.pathname === "/app/getAppAccessToken" && req.method === "POST") {
        const b = (await req.json().catch(() => ({}))) as { appId?: string; clientSecret?: string };
        if (b.appId !== appId || b.clientSecret !== secret)
          return Response.json({ code: 100016, message: "invalid appid or secret" });
        const t = now();
        if (!current || current.exp - t <= 60_000) {
          current = { token: `qqtok${++n}${Math.random().toString(36).slice(2)}`, exp: t + ttl * 1000 };
          tokens.set(current.token, current.exp);
          fake.tokensIssued++;
        }
        return Response.json({
          access_token: current.token,
          expires_in: String(Math.round((current.exp - t) / 1000)),
        });
      }
      if (u.pathname === "/gateway") {
        if (!tokenValid(req.headers.get("authorization")))
          return refuse(401, 11244, "token not exist or expire");
        return Response.json({ url: `ws://127.0.0.1:${server.port}/websocket` });
      }
      const m = /^\/(?:v2\/(users|groups)|(channels|dms))\/([^/]+)\/messages$/.exec(u.pathname);
      if (m && req.method === "POST") {
        const kind: Kind =
          m[1] === "users" ? "c2c" : m[1] === "groups" ? "group" : m[2] === "channels" ? "channel" : "dm";
        return send(req, kind, decodeURIComponent(m[3]!));
      }
      return new Response("not found", { status: 404 });
    },
    websocket: {
      open(ws) {
        sockets.add(ws);
        ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: heartbeatMs } }));
      },
      message(ws, msg) {
        onGateway(ws, typeof msg === "string" ? msg : Buffer.from(msg).toString());
      },
      close(ws) {
        sockets.delete(ws);
        for (const s of sessions.values()) if (s.ws === ws) s.ws = undefined;
      },
    },
  });
  fake.url = `http://127.0.0.1:${server.port}`;
  fake.tokenUrl = `${fake.url}/app/getAppAccessToken`;
  return fake;
}
