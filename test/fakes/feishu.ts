/**
 * A fake Feishu/Lark Open Platform on 127.0.0.1 speaking the real wire protocols:
 *
 * - REST: `POST /open-apis/auth/v3/tenant_access_token/internal` (tokens `t-<n>` with a
 *   configurable `expire`, wrong secret → code 10014), `GET /open-apis/bot/v3/info`,
 *   `POST /open-apis/im/v1/messages?receive_id_type=…` and `…/messages/{id}/reply` (validated:
 *   receive_id_type, JSON-string `content` per msg_type, body limits → 230025, `uuid` de-duplicated
 *   for an hour), reactions, chat info; expired/unknown tokens → 99991663; an optional 5-per-second
 *   per-chat throttle → 230020; scripted failures.
 * - Long connection: `POST /callback/ws/endpoint` → `ws://127.0.0.1:<port>/ws?device_id&service_id`
 *   and a `ClientConfig`; binary pbbp2 frames; ping → pong carrying the config; events pushed as
 *   data frames (optionally split in `sum` parts); each must be acked (same frame, payload
 *   `{"code":200}`) within `ackTimeoutMs` or it is re-pushed with the same event_id; sockets closed
 *   on command; upgrades refused with `handshake-status` headers on command.
 * - HTTP mode (the platform as a client): posts plaintext or encrypted + signed events and the
 *   URL-verification challenge to the adapter, re-posting when the answer is not 200 in time.
 */
import type { ServerWebSocket } from "bun";
import { encryptEvent, eventSignature } from "../../src/channels/feishu/crypto.ts";
import { decodeFrame, encodeFrame, type Frame } from "../../src/channels/feishu/frame.ts";

export const FAKE_APP_ID = "cli_a1b2c3d4e5f60718";
export const FAKE_APP_SECRET = "fake-app-secret-0123456789";

export interface SentFeishuMessage {
  message_id: string;
  receive_id_type?: string;
  receive_id?: string;
  /** For replies: the message replied to. */
  reply_to?: string;
  reply_in_thread?: boolean;
  msg_type: string;
  content: Record<string, unknown>;
  uuid?: string;
  /** Text as a person would read it (text, or the card's markdown). */
  text: string;
}

export interface ClientConfigJson {
  PingInterval: number;
  ReconnectCount: number;
  ReconnectInterval: number;
  ReconnectNonce: number;
}

export interface MessageEventInput {
  chatId: string;
  text?: string;
  /** Rich text body (`{title, content: [[…]]}`), sent as message_type post. */
  post?: Record<string, unknown>;
  messageType?: string;
  content?: string;
  chatType?: "group" | "p2p";
  senderOpenId?: string;
  senderType?: "user" | "bot" | "app";
  messageId?: string;
  eventId?: string;
  threadId?: string;
  rootId?: string;
  parentId?: string;
  mentions?: { key: string; openId: string; name: string }[];
  createTime?: number;
}

interface Pending {
  eventId: string;
  body: string;
  split: number;
  attempts: number;
  timer?: ReturnType<typeof setTimeout>;
  acked: boolean;
}

interface WsData {
  id: number;
}

export interface FakeFeishuOptions {
  appId?: string;
  appSecret?: string;
  botOpenId?: string;
  botName?: string;
  tokenExpireSec?: number;
  clientConfig?: Partial<ClientConfigJson>;
  /** Re-push an unacked event after this long. Default 3,000 ms (the platform's deadline). */
  ackTimeoutMs?: number;
  /** Re-push at most this many times. Default 3. */
  maxRepush?: number;
  /** Enforce the 5 messages/second per chat limit (230020). Default false. */
  throttle?: boolean;
  verificationToken?: string;
  encryptKey?: string;
}

export class FakeFeishu {
  readonly appId: string;
  readonly appSecret: string;
  readonly botOpenId: string;
  readonly botName: string;
  readonly verificationToken: string;
  readonly encryptKey: string;
  tokenExpireSec: number;
  clientConfig: ClientConfigJson;
  /** Every REST request: method, path (with query) and parsed body. */
  readonly calls: { method: string; path: string; body: unknown; auth?: string }[] = [];
  readonly sent: SentFeishuMessage[] = [];
  readonly reactions: { messageId: string; reactionId: string; emoji: string; deleted: boolean }[] = [];
  /** Acks received: the frame's message_id header, the ack payload's code, and biz_rt. */
  readonly acks: { messageId: string; code: number; bizRt?: string; seqId: bigint }[] = [];
  readonly pings: { service: number; at: number }[] = [];
  /** Event pushes (first push and re-pushes) by event_id. */
  readonly pushes: { eventId: string; messageId: string; attempt: number }[] = [];
  /** Error codes to answer the next sends with (one per send). */
  readonly failSends: { code: number; http?: number; msg?: string }[] = [];
  /** How the token endpoint behaves. */
  tokenMode: "ok" | "error500" | "garbage" = "ok";
  /** Refuse WebSocket upgrades with these handshake headers. */
  refuseHandshake: { status: number; autherrcode?: number; msg?: string } | undefined;
  /** Answer the endpoint bootstrap with this code instead of 0. */
  endpointCode = 0;
  readonly endpointCalls: { AppID: unknown; AppSecret: unknown }[] = [];
  readonly chatNames = new Map<string, string>();

  private server: ReturnType<typeof Bun.serve<WsData, never>>;
  private tokens = new Map<string, number>();
  private tokenSeq = 0;
  private msgSeq = 0;
  private frameSeq = 0n;
  private sockets = new Map<number, ServerWebSocket<WsData>>();
  private socketSeq = 0;
  private pending = new Map<string, Pending>();
  /** Frame message_id → the event it carries (acks name the frame's message_id). */
  private byFrameId = new Map<string, Pending>();
  private uuids = new Map<string, { messageId: string; at: number }>();
  private sendTimes = new Map<string, number[]>();
  private readonly ackTimeoutMs: number;
  private readonly maxRepush: number;
  private readonly throttle: boolean;
  readonly serviceId = 7788;
  connections = 0;
  now: () => number = Date.now;

  constructor(opts: FakeFeishuOptions = {}) {
    this.appId = opts.appId ?? FAKE_APP_ID;
    this.appSecret = opts.appSecret ?? FAKE_APP_SECRET;
    this.botOpenId = opts.botOpenId ?? "ou_fakebot0000000000000000000000001";
    this.botName = opts.botName ?? "NGB Bot";
    this.verificationToken = opts.verificationToken ?? "fake-verification-token";
    this.encryptKey = opts.encryptKey ?? "fake-encrypt-key";
    this.tokenExpireSec = opts.tokenExpireSec ?? 7200;
    this.clientConfig = {
      PingInterval: 120,
      ReconnectCount: -1,
      ReconnectInterval: 1,
      ReconnectNonce: 0,
      ...opts.clientConfig,
    };
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 3_000;
    this.maxRepush = opts.maxRepush ?? 3;
    this.throttle = opts.throttle ?? false;
    this.server = Bun.serve<WsData, never>({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req, srv) => this.route(req, srv),
      websocket: {
        open: (ws) => {
          this.sockets.set(ws.data.id, ws);
          this.connections++;
        },
        message: (ws, msg) => this.onFrame(ws, msg),
        close: (ws) => {
          this.sockets.delete(ws.data.id);
        },
      },
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  get openSockets(): number {
    return this.sockets.size;
  }

  stop() {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    this.byFrameId.clear();
    this.server.stop(true);
  }

  /** Every issued token stops working (as if it expired). */
  expireTokens() {
    this.tokens.clear();
  }

  // ---------------------------------------------------------------- REST

  private json(body: unknown, status = 200): Response {
    return Response.json(body, { status });
  }

  private authed(req: Request): boolean {
    const auth = req.headers.get("authorization") ?? "";
    const token = auth.startsWith("Bearer ") ? auth.slice(7) : "";
    const exp = this.tokens.get(token);
    return exp !== undefined && exp > this.now();
  }

  private async route(req: Request, srv: import("bun").Server<WsData>): Promise<Response | undefined> {
    const url = new URL(req.url);
    const path = url.pathname;
    if (path === "/ws") {
      if (this.refuseHandshake) {
        const h = this.refuseHandshake;
        return new Response("refused", {
          status: 401,
          headers: {
            "handshake-status": String(h.status),
            "handshake-msg": h.msg ?? "refused",
            ...(h.autherrcode ? { "handshake-autherrcode": String(h.autherrcode) } : {}),
          },
        });
      }
      if (srv.upgrade(req, { data: { id: ++this.socketSeq } })) return undefined;
      return new Response("upgrade required", { status: 400 });
    }
    let body: unknown;
    const text = req.method === "GET" || req.method === "DELETE" ? "" : await req.text();
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        return this.json({ code: 9499, msg: "Bad Request" }, 400);
      }
    }
    this.calls.push({
      method: req.method,
      path: path + url.search,
      body,
      ...(req.headers.get("authorization") ? { auth: req.headers.get("authorization")! } : {}),
    });
    const b = (body ?? {}) as Record<string, unknown>;

    if (path === "/callback/ws/endpoint" && req.method === "POST") {
      this.endpointCalls.push({ AppID: b.AppID, AppSecret: b.AppSecret });
      if (this.endpointCode !== 0) return this.json({ code: this.endpointCode, msg: "refused", data: {} });
      if (b.AppID !== this.appId || b.AppSecret !== this.appSecret) {
        return this.json({ code: 514, msg: "auth failed", data: {} });
      }
      const device = `dev-${this.socketSeq + 1}`;
      return this.json({
        code: 0,
        msg: "ok",
        data: {
          URL: `ws://127.0.0.1:${this.server.port}/ws?device_id=${device}&service_id=${this.serviceId}&access_key=k&ticket=t`,
          ClientConfig: this.clientConfig,
        },
      });
    }
    if (path === "/open-apis/auth/v3/tenant_access_token/internal" && req.method === "POST") {
      if (this.tokenMode === "error500") return new Response("upstream error", { status: 500 });
      if (this.tokenMode === "garbage") return new Response("<html>gateway</html>", { status: 200 });
      if (b.app_id !== this.appId || b.app_secret !== this.appSecret) {
        return this.json({ code: 10014, msg: "app secret invalid" }, 400);
      }
      const token = `t-${++this.tokenSeq}`;
      this.tokens.set(token, this.now() + this.tokenExpireSec * 1000);
      return this.json({ code: 0, msg: "ok", tenant_access_token: token, expire: this.tokenExpireSec });
    }
    if (path.startsWith("/open-apis/")) {
      if (!this.authed(req)) {
        return this.json(
          {
            code: 99991663,
            msg: "Invalid access token for authorization. Please make a request with token attached.",
          },
          400,
        );
      }
    }
    if (path === "/open-apis/bot/v3/info" && req.method === "GET") {
      return this.json({
        code: 0,
        msg: "ok",
        bot: {
          activate_status: 2,
          app_name: this.botName,
          avatar_url: "",
          ip_white_list: [],
          open_id: this.botOpenId,
        },
      });
    }
    if (path === "/open-apis/im/v1/messages" && req.method === "POST") {
      const type = url.searchParams.get("receive_id_type") ?? "";
      if (!["open_id", "user_id", "union_id", "email", "chat_id"].includes(type)) {
        return this.json({ code: 99992402, msg: "field validation failed: receive_id_type" }, 400);
      }
      if (typeof b.receive_id !== "string" || !b.receive_id) {
        return this.json({ code: 99992402, msg: "field validation failed: receive_id" }, 400);
      }
      return this.acceptMessage(text, b, { receive_id_type: type, receive_id: b.receive_id }, b.receive_id);
    }
    const reply = /^\/open-apis\/im\/v1\/messages\/([^/]+)\/reply$/.exec(path);
    if (reply && req.method === "POST") {
      const parent = decodeURIComponent(reply[1]!);
      const known = this.sent.some((m) => m.message_id === parent) || parent.startsWith("om_");
      if (!known) return this.json({ code: 230011, msg: "The message was withdrawn." }, 400);
      return this.acceptMessage(
        text,
        b,
        { reply_to: parent, ...(b.reply_in_thread === true ? { reply_in_thread: true } : {}) },
        parent,
      );
    }
    const react = /^\/open-apis\/im\/v1\/messages\/([^/]+)\/reactions(?:\/([^/]+))?$/.exec(path);
    if (react) {
      const messageId = decodeURIComponent(react[1]!);
      if (req.method === "POST") {
        const emoji = (b.reaction_type as { emoji_type?: unknown } | undefined)?.emoji_type;
        if (typeof emoji !== "string")
          return this.json({ code: 231001, msg: "reaction type is invalid" }, 400);
        const reactionId = `r-${this.reactions.length + 1}`;
        this.reactions.push({ messageId, reactionId, emoji, deleted: false });
        return this.json({ code: 0, msg: "success", data: { reaction_id: reactionId } });
      }
      if (req.method === "DELETE") {
        const r = this.reactions.find((x) => x.messageId === messageId && x.reactionId === react[2]);
        if (!r) return this.json({ code: 231003, msg: "reaction not found" }, 400);
        r.deleted = true;
        return this.json({ code: 0, msg: "success", data: {} });
      }
    }
    const chat = /^\/open-apis\/im\/v1\/chats\/([^/]+)$/.exec(path);
    if (chat && req.method === "GET") {
      const name = this.chatNames.get(decodeURIComponent(chat[1]!));
      if (!name) return this.json({ code: 232011, msg: "chat not found" }, 400);
      return this.json({ code: 0, msg: "success", data: { name, chat_mode: "group" } });
    }
    return this.json({ code: 404, msg: "not found" }, 404);
  }

  private acceptMessage(
    raw: string,
    b: Record<string, unknown>,
    target: Partial<SentFeishuMessage>,
    rateKey: string,
  ): Response {
    const msgType = b.msg_type;
    if (typeof msgType !== "string" || typeof b.content !== "string") {
      return this.json(
        { code: 230001, msg: "Your request contains an invalid request parameter: content/msg_type" },
        400,
      );
    }
    let content: Record<string, unknown>;
    try {
      content = JSON.parse(b.content);
    } catch {
      return this.json({ code: 230001, msg: "invalid message content: not JSON" }, 400);
    }
    const bytes = Buffer.byteLength(raw);
    if ((msgType === "text" && bytes > 150 * 1024) || (msgType !== "text" && bytes > 30 * 1024)) {
      return this.json({ code: 230025, msg: "The length of the message content reaches its limit." }, 400);
    }
    let shown: string;
    if (msgType === "text") {
      if (typeof content.text !== "string")
        return this.json({ code: 230001, msg: "text content needs text" }, 400);
      shown = content.text;
    } else if (msgType === "interactive") {
      const elements = content.elements as { tag?: string; content?: string }[] | undefined;
      if (!Array.isArray(elements))
        return this.json({ code: 230099, msg: "Failed to create card content" }, 400);
      shown = elements.map((e) => e.content ?? "").join("\n");
    } else if (msgType === "post") {
      // `{<locale>: {title, content: [[element…]…]}}`; the shown text is the text/md elements.
      const locale = Object.values(content)[0] as { content?: unknown } | undefined;
      if (!locale || !Array.isArray(locale.content) || !locale.content.every((p) => Array.isArray(p))) {
        return this.json({ code: 230001, msg: "invalid post content" }, 400);
      }
      shown = (locale.content as { tag?: string; text?: string }[][])
        .map((para) => para.map((e) => (e.tag === "md" || e.tag === "text" ? (e.text ?? "") : "")).join(""))
        .join("\n");
    } else {
      return this.json({ code: 230001, msg: `unsupported msg_type ${msgType}` }, 400);
    }
    if (b.uuid !== undefined && (typeof b.uuid !== "string" || b.uuid.length > 50)) {
      return this.json({ code: 99992402, msg: "field validation failed: uuid" }, 400);
    }
    const fail = this.failSends.shift();
    if (fail) return this.json({ code: fail.code, msg: fail.msg ?? "scripted failure" }, fail.http ?? 400);
    if (typeof b.uuid === "string") {
      const seen = this.uuids.get(b.uuid);
      if (seen && this.now() - seen.at < 3_600_000) {
        return this.json({
          code: 0,
          msg: "success",
          data: { message_id: seen.messageId, msg_type: msgType },
        });
      }
    }
    if (this.throttle) {
      const t = this.now();
      const times = (this.sendTimes.get(rateKey) ?? []).filter((x) => t - x < 1000);
      if (times.length >= 5) {
        this.sendTimes.set(rateKey, times);
        return this.json({ code: 230020, msg: "This operation triggers the frequency limit." }, 400);
      }
      times.push(t);
      this.sendTimes.set(rateKey, times);
    }
    const messageId = `om_fake${++this.msgSeq}`;
    if (typeof b.uuid === "string") this.uuids.set(b.uuid, { messageId, at: this.now() });
    this.sent.push({
      message_id: messageId,
      ...target,
      msg_type: msgType,
      content,
      ...(typeof b.uuid === "string" ? { uuid: b.uuid } : {}),
      text: shown,
    });
    return this.json({ code: 0, msg: "success", data: { message_id: messageId, msg_type: msgType } });
  }

  // ---------------------------------------------------------------- events

  /** A v2 `im.message.receive_v1` envelope. */
  messageEvent(e: MessageEventInput): Record<string, unknown> {
    const eventId = e.eventId ?? `ev_${crypto.randomUUID().replace(/-/g, "")}`;
    const messageType = e.messageType ?? (e.post ? "post" : "text");
    const content = e.content ?? (e.post ? JSON.stringify(e.post) : JSON.stringify({ text: e.text ?? "" }));
    return {
      schema: "2.0",
      header: {
        event_id: eventId,
        event_type: "im.message.receive_v1",
        create_time: String(e.createTime ?? Date.now()),
        token: this.verificationToken,
        app_id: this.appId,
        tenant_key: "tenant-fake",
      },
      event: {
        sender: {
          sender_id: { open_id: e.senderOpenId ?? "ou_user1", union_id: "on_user1", user_id: null },
          sender_type: e.senderType ?? "user",
          tenant_key: "tenant-fake",
        },
        message: {
          message_id: e.messageId ?? `om_in${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`,
          ...(e.rootId ? { root_id: e.rootId } : {}),
          ...(e.parentId ? { parent_id: e.parentId } : {}),
          create_time: String(e.createTime ?? Date.now()),
          update_time: String(e.createTime ?? Date.now()),
          chat_id: e.chatId,
          ...(e.threadId ? { thread_id: e.threadId } : {}),
          chat_type: e.chatType ?? "group",
          message_type: messageType,
          content,
          ...(e.mentions
            ? {
                mentions: e.mentions.map((m) => ({
                  key: m.key,
                  id: { open_id: m.openId, union_id: "on_x", user_id: null },
                  name: m.name,
                  tenant_key: "tenant-fake",
                })),
              }
            : {}),
          user_agent: "Mozilla/5.0",
        },
      },
    };
  }

  /**
   * Push an event to every open long connection (the platform picks one client; tests have one).
   * `split` > 1 sends the payload in that many parts. Resolves when acked with 200 (or rejects
   * after the last re-push went unacked).
   */
  push(envelope: Record<string, unknown>, opts: { split?: number } = {}): string {
    const eventId = (envelope.header as { event_id: string }).event_id;
    const p: Pending = {
      eventId,
      body: JSON.stringify(envelope),
      split: opts.split ?? 1,
      attempts: 0,
      acked: false,
    };
    this.pending.set(eventId, p);
    this.deliver(p);
    return eventId;
  }

  /** Whether the event was acked with code 200. */
  acked(eventId: string): boolean {
    return this.pending.get(eventId)?.acked ?? false;
  }

  private deliver(p: Pending) {
    p.attempts++;
    const frameMessageId = `msg-${p.eventId}-${p.attempts}`;
    this.byFrameId.set(frameMessageId, p);
    this.pushes.push({ eventId: p.eventId, messageId: frameMessageId, attempt: p.attempts });
    const bytes = new TextEncoder().encode(p.body);
    const size = Math.ceil(bytes.length / p.split);
    const ws = [...this.sockets.values()][0];
    if (ws) {
      for (let i = 0; i < p.split; i++) {
        ws.sendBinary(
          encodeFrame({
            seqId: ++this.frameSeq,
            logId: BigInt(Math.floor(Math.random() * 1e12)),
            service: this.serviceId,
            method: 1,
            headers: [
              { key: "type", value: "event" },
              { key: "message_id", value: frameMessageId },
              { key: "sum", value: String(p.split) },
              { key: "seq", value: String(i) },
              { key: "trace_id", value: `trace-${p.eventId}` },
            ],
            payload: bytes.subarray(i * size, Math.min(bytes.length, (i + 1) * size)),
          }),
        );
      }
    }
    clearTimeout(p.timer);
    p.timer = setTimeout(() => {
      if (p.acked) return;
      if (p.attempts <= this.maxRepush) this.deliver(p);
    }, this.ackTimeoutMs);
  }

  /** Send raw bytes (malformed frames) or a text frame to every open connection. */
  sendRaw(data: Uint8Array | string) {
    for (const ws of this.sockets.values()) {
      if (typeof data === "string") ws.sendText(data);
      else ws.sendBinary(data);
    }
  }

  /** Send a well-formed frame to every open connection. */
  sendFrame(frame: Frame) {
    this.sendRaw(encodeFrame(frame));
  }

  /** Close every open long connection (the client should reconnect). */
  closeAll(code = 1001) {
    for (const ws of this.sockets.values()) ws.close(code, "server closing");
  }

  private onFrame(ws: ServerWebSocket<WsData>, msg: string | Buffer) {
    if (typeof msg === "string") return;
    let frame: Frame;
    try {
      frame = decodeFrame(new Uint8Array(msg));
    } catch {
      ws.close(1003, "bad frame");
      return;
    }
    const type = frame.headers.find((h) => h.key === "type")?.value;
    if (frame.method === 0 && type === "ping") {
      this.pings.push({ service: frame.service, at: Date.now() });
      ws.sendBinary(
        encodeFrame({
          seqId: 0n,
          logId: 0n,
          service: frame.service,
          method: 0,
          headers: [{ key: "type", value: "pong" }],
          payload: new TextEncoder().encode(JSON.stringify(this.clientConfig)),
        }),
      );
      return;
    }
    if (frame.method === 1) {
      const messageId = frame.headers.find((h) => h.key === "message_id")?.value ?? "";
      let code = 0;
      try {
        code = JSON.parse(new TextDecoder().decode(frame.payload ?? new Uint8Array())).code;
      } catch {}
      const bizRt = frame.headers.find((h) => h.key === "biz_rt")?.value;
      this.acks.push({ messageId, code, seqId: frame.seqId, ...(bizRt !== undefined ? { bizRt } : {}) });
      const p = this.byFrameId.get(messageId);
      if (p && code === 200) {
        p.acked = true;
        clearTimeout(p.timer);
      }
    }
  }

  // ---------------------------------------------------------------- HTTP mode

  /**
   * Post an event to the adapter's webhook URL as the platform does: encrypted and signed when
   * `encrypt` (the default), plaintext otherwise. Re-posts (up to `retries`) while the answer is
   * not 200 within `timeoutMs`.
   */
  async postEvent(
    url: string,
    body: Record<string, unknown>,
    opts: {
      encrypt?: boolean;
      sign?: boolean;
      timestamp?: number;
      retries?: number;
      timeoutMs?: number;
      key?: string;
    } = {},
  ): Promise<Response> {
    const encrypt = opts.encrypt ?? true;
    const key = opts.key ?? this.encryptKey;
    const raw = encrypt
      ? JSON.stringify({ encrypt: await encryptEvent(key, JSON.stringify(body)) })
      : JSON.stringify(body);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (encrypt && (opts.sign ?? true)) {
      const timestamp = String(Math.floor((opts.timestamp ?? Date.now()) / 1000));
      const nonce = crypto.randomUUID().replace(/-/g, "").slice(0, 16);
      headers["x-lark-request-timestamp"] = timestamp;
      headers["x-lark-request-nonce"] = nonce;
      headers["x-lark-signature"] = eventSignature(timestamp, nonce, key, raw);
    }
    let last: Response | undefined;
    for (let attempt = 0; attempt <= (opts.retries ?? 0); attempt++) {
      try {
        last = await fetch(url, {
          method: "POST",
          headers,
          body: raw,
          signal: AbortSignal.timeout(opts.timeoutMs ?? 3_000),
        });
        if (last.status === 200) return last;
      } catch {}
    }
    if (!last) throw new Error("webhook never answered");
    return last;
  }

  /** The URL-verification request (encrypted when `encrypt`). */
  urlVerification(url: string, challenge: string, opts: { encrypt?: boolean; token?: string } = {}) {
    return this.postEvent(
      url,
      { challenge, token: opts.token ?? this.verificationToken, type: "url_verification" },
      { encrypt: opts.encrypt ?? true, sign: false },
    );
  }
}

export function createFakeFeishu(opts: FakeFeishuOptions = {}): FakeFeishu {
  return new FakeFeishu(opts);
}
