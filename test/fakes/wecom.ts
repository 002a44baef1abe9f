/**
 * A fake WeCom on 127.0.0.1, following the documented wire protocols (CHANNELS-CN.md §3.8):
 * - AI-bot long connection (`ws://…/`): `aibot_subscribe` checked against the configured bots
 *   (bad secret → errcode ≠ 0), `ping` acked, callbacks pushed with fresh req_ids,
 *   `aibot_respond_msg` / `aibot_send_msg` acked by req_id; stream frames assembled by stream.id;
 *   replies to unknown or > 6 min old req_ids, or to a finished stream, refused; a second
 *   connection for a bot gets the first one a `disconnected_event` and closes it.
 * - Self-built app REST: `GET /cgi-bin/gettoken`, `POST /cgi-bin/message/send` (agentid,
 *   2048-byte limit, token expiry → 42001).
 * - Callback client role: GET-verify and POST encrypted XML to an adapter's URL, encrypted with
 *   the official `@wecom/crypto` (not our code), so our decryption is tested against it.
 */
import { decrypt as wxDecrypt, encrypt as wxEncrypt, getSignature } from "@wecom/crypto";
import type { ServerWebSocket } from "bun";

export interface StreamReply {
  reqId: string;
  id: string;
  content: string;
  finished: boolean;
  frames: number;
}

export interface FakeWecomOptions {
  bots?: Record<string, string>;
  corpId?: string;
  corpSecret?: string;
  agentId?: number;
  /** The fake's clock (ms); default Date.now. */
  now?: () => number;
  tokenTtlSec?: number;
}

interface Conn {
  botId?: string;
  ws: ServerWebSocket<{ id: number }>;
}

export interface FakeWecom {
  url: string;
  wsUrl: string;
  /** Push a message callback; returns the msgid and the callback's req_id. */
  pushMessage(m: {
    botId?: string;
    chattype?: "single" | "group";
    chatid?: string;
    userid: string;
    text?: string;
    body?: Record<string, unknown>;
    msgid?: string;
    reqId?: string;
  }): { msgid: string; reqId: string };
  pushEvent(botId: string, event: Record<string, unknown>, extra?: Record<string, unknown>): void;
  /** Send any raw text frame to the bot's connection(s). */
  pushRaw(text: string, botId?: string): void;
  streams: StreamReply[];
  proactive: { chatid: string; content: string; msgtype: string }[];
  appMessages: { touser: string; msgtype: string; content: string }[];
  subscribes: { botId: string; ok: boolean }[];
  pings: number;
  /** Close every connection (a network drop). */
  drop(): void;
  /** Don't answer pings (a dead server). */
  silencePings(on: boolean): void;
  /** Invalidate every issued app token (the next call gets errcode 42001). */
  expireTokens(): void;
  tokensIssued: number;
  openConnections(): number;
  /** Callback client: verify the adapter's URL (GET with an encrypted echostr). */
  verifyUrl(url: string, o: { token: string; aesKey: string; echo?: string }): Promise<Response>;
  /** Callback client: POST an encrypted XML message to the adapter. */
  postCallback(
    url: string,
    fields: Record<string, string>,
    o: { token: string; aesKey: string; receiveId?: string; forgeSignature?: boolean; timestamp?: string },
  ): Promise<Response>;
  stop(): Promise<void>;
}

const STREAM_MAX = 20_480;
const WINDOW_MS = 6 * 60_000;

export function xml(fields: Record<string, string>): string {
  return `<xml>${Object.entries(fields)
    .map(([k, v]) => (/^\d+$/.test(v) ? `<${k}>${v}</${k}>` : `<${k}><![CDATA[${v}]]></${k}>`))
    .join("")}</xml>`;
}

export function startFakeWecom(options: FakeWecomOptions = {}): FakeWecom {
  const bots = options.bots ?? { "bot-1": "bot-secret-1" };
  const now = options.now ?? Date.now;
  const corpId = options.corpId ?? "ww0123456789abcdef";
  const corpSecret = options.corpSecret ?? "corp-secret-xyz";
  const agentId = options.agentId ?? 1000002;
  const ttl = options.tokenTtlSec ?? 7200;
  const conns = new Set<Conn>();
  const callbacks = new Map<string, { at: number; botId: string }>();
  const streamsById = new Map<string, StreamReply>();
  const tokens = new Map<string, number>();
  let seq = 0;
  let silent = false;
  const fake: FakeWecom = {
    url: "",
    wsUrl: "",
    streams: [],
    proactive: [],
    appMessages: [],
    subscribes: [],
    pings: 0,
    tokensIssued: 0,
    pushMessage(m) {
      const botId = m.botId ?? Object.keys(bots)[0]!;
      const msgid = m.msgid ?? `msg${++seq}${Math.random().toString(36).slice(2, 8)}`;
      const reqId = m.reqId ?? `cb_${Date.now()}_${++seq}`;
      callbacks.set(reqId, { at: now(), botId });
      const chattype = m.chattype ?? "single";
      const body = m.body ?? {
        msgid,
        aibotid: botId,
        ...(chattype === "group" ? { chatid: m.chatid ?? "wrgroup1" } : {}),
        chattype,
        from: { userid: m.userid },
        create_time: Math.floor(now() / 1000),
        msgtype: "text",
        text: { content: m.text ?? "" },
      };
      send(botId, { cmd: "aibot_msg_callback", headers: { req_id: reqId }, body });
      return { msgid, reqId };
    },
    pushEvent(botId, event, extra = {}) {
      const reqId = `ev_${++seq}`;
      callbacks.set(reqId, { at: now(), botId });
      send(botId, {
        cmd: "aibot_event_callback",
        headers: { req_id: reqId },
        body: {
          msgid: `ev${seq}`,
          aibotid: botId,
          msgtype: "event",
          create_time: Math.floor(now() / 1000),
          event,
          ...extra,
        },
      });
    },
    pushRaw(text, botId) {
      for (const c of conns) if (!botId || c.botId === botId) c.ws.send(text);
    },
    drop() {
      for (const c of conns) c.ws.close(1011, "dropped");
    },
    silencePings(on) {
      silent = on;
    },
    expireTokens() {
      tokens.clear();
    },
    openConnections: () => [...conns].filter((c) => c.botId).length,
    async verifyUrl(url, o) {
      const ts = String(Math.floor(now() / 1000));
      const nonce = String(Math.floor(Math.random() * 1e9));
      const echostr = wxEncrypt(o.aesKey, o.echo ?? "echo-12345", corpId);
      const sig = getSignature(o.token, ts, nonce, echostr);
      const q = new URLSearchParams({ msg_signature: sig, timestamp: ts, nonce, echostr });
      return fetch(`${url}?${q}`);
    },
    async postCallback(url, fields, o) {
      const ts = o.timestamp ?? String(Math.floor(now() / 1000));
      const nonce = String(Math.floor(Math.random() * 1e9));
      const enc = wxEncrypt(o.aesKey, xml(fields), o.receiveId ?? corpId);
      const sig = o.forgeSignature ? "0".repeat(40) : getSignature(o.token, ts, nonce, enc);
      const q = new URLSearchParams({ msg_signature: sig, timestamp: ts, nonce });
      const body = `<xml><ToUserName><![CDATA[${corpId}]]></ToUserName><AgentID><![CDATA[${agentId}]]></AgentID><Encrypt><![CDATA[${enc}]]></Encrypt></xml>`;
      return fetch(`${url}?${q}`, { method: "POST", body, headers: { "content-type": "text/xml" } });
    },
    async stop() {
      for (const c of conns) c.ws.close();
      server.stop(true);
    },
  };

  function send(botId: string, frame: unknown) {
    for (const c of conns) if (c.botId === botId) c.ws.send(JSON.stringify(frame));
  }
  const ack = (ws: ServerWebSocket<{ id: number }>, reqId: string, errcode = 0, errmsg = "ok") =>
    ws.send(JSON.stringify({ headers: { req_id: reqId }, errcode, errmsg }));

  function onFrame(conn: Conn, text: string) {
    let f: { cmd?: string; headers?: { req_id?: string }; body?: Record<string, unknown> };
    try {
      f = JSON.parse(text);
    } catch {
      return;
    }
    const reqId = f.headers?.req_id ?? "";
    switch (f.cmd) {
      case "aibot_subscribe": {
        const botId = String(f.body?.bot_id ?? "");
        const ok = bots[botId] !== undefined && bots[botId] === f.body?.secret;
        fake.subscribes.push({ botId, ok });
        if (!ok) return ack(conn.ws, reqId, 40058, "invalid bot_id or secret");
        for (const other of conns)
          if (other !== conn && other.botId === botId) {
            other.ws.send(
              JSON.stringify({
                cmd: "aibot_event_callback",
                headers: { req_id: `ev_kick_${++seq}` },
                body: { msgtype: "event", event: { eventtype: "disconnected_event" } },
              }),
            );
            other.botId = undefined;
            other.ws.close(1000, "replaced");
          }
        conn.botId = botId;
        return ack(conn.ws, reqId);
      }
      case "ping":
        fake.pings++;
        if (!silent) ack(conn.ws, reqId);
        return;
      case "aibot_respond_msg": {
        if (!conn.botId) return ack(conn.ws, reqId, 40001, "not subscribed");
        const cb = callbacks.get(reqId);
        if (!cb || cb.botId !== conn.botId) return ack(conn.ws, reqId, 40003, "invalid req_id");
        if (now() - cb.at > WINDOW_MS) return ack(conn.ws, reqId, 40004, "req_id expired");
        const s = f.body?.stream as { id?: unknown; finish?: unknown; content?: unknown } | undefined;
        if (f.body?.msgtype !== "stream" || !s || typeof s.id !== "string" || typeof s.content !== "string")
          return ack(conn.ws, reqId, 40005, "invalid stream body");
        if (Buffer.byteLength(s.content) > STREAM_MAX) return ack(conn.ws, reqId, 40006, "content too long");
        let st = streamsById.get(s.id);
        if (st && st.reqId !== reqId)
          return ack(conn.ws, reqId, 40007, "stream id belongs to another message");
        if (!st) {
          if ([...streamsById.values()].some((x) => x.reqId === reqId))
            return ack(conn.ws, reqId, 40008, "message already answered");
          st = { reqId, id: s.id, content: "", finished: false, frames: 0 };
          streamsById.set(s.id, st);
          fake.streams.push(st);
        }
        if (st.finished) return ack(conn.ws, reqId, 40009, "stream already finished");
        st.content = s.content;
        st.finished = s.finish === true;
        st.frames++;
        return ack(conn.ws, reqId);
      }
      case "aibot_send_msg": {
        if (!conn.botId) return ack(conn.ws, reqId, 40001, "not subscribed");
        const b = f.body ?? {};
        const md = (b.markdown as { content?: unknown } | undefined)?.content;
        if (typeof b.chatid !== "string" || b.msgtype !== "markdown" || typeof md !== "string")
          return ack(conn.ws, reqId, 40005, "invalid body");
        fake.proactive.push({ chatid: b.chatid, content: md, msgtype: "markdown" });
        return ack(conn.ws, reqId);
      }
      default:
        return ack(conn.ws, reqId, 40010, "unknown cmd");
    }
  }

  const byWs = new Map<ServerWebSocket<{ id: number }>, Conn>();
  const server = Bun.serve<{ id: number }, never>({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req, srv) {
      const u = new URL(req.url);
      if (req.headers.get("upgrade") === "websocket") {
        if (srv.upgrade(req, { data: { id: ++seq } })) return undefined as unknown as Response;
        return new Response("upgrade failed", { status: 400 });
      }
      if (u.pathname === "/cgi-bin/gettoken") {
        if (u.searchParams.get("corpid") !== corpId || u.searchParams.get("corpsecret") !== corpSecret)
          return Response.json({ errcode: 40001, errmsg: "invalid credential" });
        const token = `tok${++seq}_${Math.random().toString(36).slice(2)}`;
        tokens.set(token, now() + ttl * 1000);
        fake.tokensIssued++;
        return Response.json({ errcode: 0, errmsg: "ok", access_token: token, expires_in: ttl });
      }
      if (u.pathname === "/cgi-bin/message/send" && req.method === "POST") return appSend(req, u);
      return new Response("not found", { status: 404 });
    },
    websocket: {
      open(ws) {
        const c = { ws };
        conns.add(c);
        byWs.set(ws, c);
      },
      message(ws, msg) {
        const c = byWs.get(ws);
        if (c) onFrame(c, typeof msg === "string" ? msg : Buffer.from(msg).toString());
      },
      close(ws) {
        const c = byWs.get(ws);
        if (c) conns.delete(c);
        byWs.delete(ws);
      },
    },
  });

  async function appSend(req: Request, u: URL): Promise<Response> {
    const token = u.searchParams.get("access_token") ?? "";
    const exp = tokens.get(token);
    if (exp === undefined) return Response.json({ errcode: 42001, errmsg: "access_token expired" });
    if (now() > exp) return Response.json({ errcode: 42001, errmsg: "access_token expired" });
    const b = (await req.json()) as Record<string, unknown>;
    if (b.agentid !== agentId) return Response.json({ errcode: 40056, errmsg: "invalid agentid" });
    const content = ((b[String(b.msgtype)] as { content?: unknown } | undefined)?.content ?? "") as string;
    if (typeof content !== "string" || !content)
      return Response.json({ errcode: 44004, errmsg: "empty content" });
    if (Buffer.byteLength(content) > 2048)
      return Response.json({ errcode: 45002, errmsg: "content size out of limit" });
    fake.appMessages.push({ touser: String(b.touser), msgtype: String(b.msgtype), content });
    return Response.json({ errcode: 0, errmsg: "ok", invaliduser: "", msgid: `m${++seq}` });
  }

  fake.url = `http://127.0.0.1:${server.port}`;
  fake.wsUrl = `ws://127.0.0.1:${server.port}/`;
  return fake;
}

/** The official library's decrypt, for tests that check what an adapter encrypted. */
export const officialDecrypt = wxDecrypt;
