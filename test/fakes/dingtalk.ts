/**
 * A fake DingTalk on 127.0.0.1:0 speaking the platform's wire shapes: the app token endpoint,
 * the Stream gateway (`connections/open` → endpoint + single-use ticket valid 90 s; JSON frames;
 * acks by messageId; SYSTEM ping that must be echoed; SYSTEM disconnect followed by a close),
 * the robot OpenAPI sends (token header, robotCode, JSON-string msgParam, flow control, the
 * notAllow.sendOTO switch) and per-message session webhooks honouring their expiry.
 * Sources: developerpedia docs/learn/stream/protocol.md, the official Stream SDKs (nodejs,
 * python), CHANNELS-CN.md §2. Tests script it and inspect what it recorded.
 */
import type { Server, ServerWebSocket } from "bun";

export const ROBOT_TOPIC = "/v1.0/im/bot/messages/get";
/** Robot message bodies over this are refused (errcode 460101 as users report it). */
const MAX_BODY_BYTES = 20_000;

export interface FakeDingTalkOptions {
  clientId?: string;
  clientSecret?: string;
  /** Ticket lifetime. Real: 90 s. */
  ticketTtlMs?: number;
  /** Delay between a SYSTEM disconnect and closing the socket. Real: 10 s. */
  disconnectCloseMs?: number;
  /** An un-acked callback is pushed again after this long (0: never). Default 60 s. */
  redeliverAfterMs?: number;
  /** Pushes per callback at most (first + re-pushes). Default 4. */
  maxDeliveries?: number;
  /** A ping not echoed within this closes the socket. Default 5 s. */
  pingTimeoutMs?: number;
  /** Access token lifetime in seconds. Real: 7200. */
  tokenTtlSec?: number;
  /** Session webhook lifetime after the message. Real (documented sample): 90 min. */
  webhookTtlMs?: number;
}

export interface AckRecord {
  messageId: string;
  code: number;
  message: string;
  data: string;
  conn: number;
  /** The ack frame as received. */
  raw: string;
}

export interface SentRecord {
  route: "webhook" | "oto" | "group";
  /** conversationId (webhook, group) or userId (oto). */
  to: string;
  msgtype: "text" | "markdown";
  text: string;
  title?: string;
}

export interface RobotMessageSpec {
  /** "group": conversationType 2; "user": 1:1. */
  chat: "group" | "user";
  text: string;
  conversationId?: string;
  conversationTitle?: string;
  senderStaffId?: string | null;
  senderNick?: string;
  /** Group messages reach the bot only when it is @-ed; default true for groups. */
  isInAtList?: boolean;
  msgId?: string;
  /** Override the session webhook lifetime for this message. */
  webhookTtlMs?: number;
  msgtype?: string;
  content?: unknown;
}

interface Pending {
  messageId: string;
  frame: string;
  deliveries: number;
  timer?: ReturnType<typeof setTimeout>;
}

interface SocketData {
  id: number;
  topics: string[];
  /** After a SYSTEM disconnect nothing more is pushed here. */
  draining: boolean;
}

export interface FakeDingTalk {
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly chatbotUserId: string;
  readonly acks: AckRecord[];
  /** Acks whose shape was wrong (kept raw). */
  readonly badAcks: string[];
  readonly sent: SentRecord[];
  /** Bodies of connections/open requests that got a ticket (subscriptions, ua). */
  readonly opens: { subscriptions: unknown; ua: unknown; accept: string }[];
  /** Every HTTP call: path and status. */
  readonly calls: { path: string; status: number }[];
  /** Ping opaques echoed correctly. */
  readonly pongs: string[];
  readonly connectionCount: number;
  readonly openSockets: number;
  /** Callbacks pushed and not yet acked. */
  readonly pendingCount: number;
  /** Upgrades refused (bad, reused or expired ticket). */
  readonly rejectedUpgrades: number;
  /** Token fetches answered with a token. */
  readonly tokensIssued: number;
  /** Staff ids batchSend accepts; others are listed in invalidStaffIdList. */
  readonly staff: Set<string>;
  /** Staff ids listed as flow-controlled (the send is not delivered). */
  readonly flowControlled: Set<string>;
  /** When true, batchSend answers chatbotId.notAllow.sendOTO. */
  notAllowOto: boolean;
  /** "ok", "fail" (HTTP 500) or "garbage" (200 with a non-JSON body). */
  tokenEndpoint: "ok" | "fail" | "garbage";
  /** Push a robot message; returns the frame's messageId and the message's msgId. */
  pushRobotMessage(spec: RobotMessageSpec): { messageId: string; msgId: string };
  /** Push a raw text frame to every open socket. */
  pushRaw(frame: string): void;
  /** Push a CALLBACK/EVENT frame with any topic and data. */
  pushFrame(type: string, topic: string, data: string): string;
  /** Send SYSTEM ping to every open socket; resolves the opaque. */
  sendPing(): string;
  /** Send SYSTEM disconnect to every open socket, close each after disconnectCloseMs. */
  sendDisconnect(reason?: string): void;
  /** Close every socket abruptly. */
  dropSockets(): void;
  /** Invalidate every issued access token (they expired on the platform). */
  expireTokens(): void;
  /** The next `count` calls to `path` answer 403 Forbidden.AccessDenied.QpsLimitForApi. */
  throttle(path: string, count?: number): void;
  /** Expire every session webhook handed out so far. */
  expireWebhooks(): void;
  /** The session webhook URL handed out with a message's msgId. */
  webhookOf(msgId: string): string | undefined;
  stop(): Promise<void>;
}

let seq = 0;
const uid = (prefix: string) => `${prefix}${Date.now().toString(36)}${(++seq).toString(36)}`;

export function createFakeDingTalk(options: FakeDingTalkOptions = {}): FakeDingTalk {
  const clientId = options.clientId ?? "dingfakeclientid0001";
  const clientSecret = options.clientSecret ?? "fake-client-secret-0123456789";
  const ticketTtl = options.ticketTtlMs ?? 90_000;
  const disconnectCloseMs = options.disconnectCloseMs ?? 10_000;
  const redeliverMs = options.redeliverAfterMs ?? 60_000;
  const maxDeliveries = options.maxDeliveries ?? 4;
  const pingTimeoutMs = options.pingTimeoutMs ?? 5_000;
  const tokenTtlSec = options.tokenTtlSec ?? 7200;
  const webhookTtl = options.webhookTtlMs ?? 90 * 60_000;
  const chatbotUserId = "$:LWCP_v1:$fakeBotUser0001";

  const acks: AckRecord[] = [];
  const badAcks: string[] = [];
  const sent: SentRecord[] = [];
  const calls: { path: string; status: number }[] = [];
  const opens: FakeDingTalk["opens"] = [];
  const pongs: string[] = [];
  const staff = new Set<string>(["staff001", "staff002"]);
  const flowControlled = new Set<string>();
  const tickets = new Map<string, { at: number; used: boolean; topics: string[] }>();
  const tokens = new Map<string, number>();
  const sessions = new Map<string, { conversationId: string; expiresAt: number }>();
  const webhookByMsg = new Map<string, string>();
  const groups = new Set<string>();
  const pending = new Map<string, Pending>();
  const pings = new Map<string, { opaque: string; timer: ReturnType<typeof setTimeout> }>();
  const throttles = new Map<string, number>();
  const sockets = new Map<number, ServerWebSocket<SocketData>>();
  let connectionCount = 0;
  let rejectedUpgrades = 0;
  let tokensIssued = 0;
  let stopped = false;

  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json;charset=utf-8" },
    });
  const refused = (status: number, code: string, message: string) =>
    json({ code, message, requestid: uid("req") }, status);

  function parseObject(raw: string): Record<string, unknown> | null {
    try {
      const parsed = JSON.parse(raw) as unknown;
      return parsed && typeof parsed === "object" && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : null;
    } catch {
      return null;
    }
  }
  const body = async (req: Request) => parseObject(await req.text());

  function tokenOk(req: Request): boolean {
    const t = req.headers.get("x-acs-dingtalk-access-token");
    const exp = t ? tokens.get(t) : undefined;
    return exp !== undefined && exp > Date.now();
  }

  /** Validate msgKey + JSON-string msgParam; returns the record fields or an error message. */
  function robotMessage(b: Record<string, unknown>): Omit<SentRecord, "route" | "to"> | string {
    if (b.robotCode !== clientId) return "robotCode does not match this app";
    if (typeof b.msgParam !== "string") return "msgParam must be a JSON string";
    let p: Record<string, unknown>;
    try {
      p = JSON.parse(b.msgParam) as Record<string, unknown>;
    } catch {
      return "msgParam is not valid JSON";
    }
    if (b.msgKey === "sampleText" && typeof p.content === "string")
      return { msgtype: "text", text: p.content };
    if (b.msgKey === "sampleMarkdown" && typeof p.text === "string" && typeof p.title === "string")
      return { msgtype: "markdown", text: p.text, title: p.title };
    return `msgParam does not fit msgKey ${String(b.msgKey)}`;
  }

  function pick(topic: string): ServerWebSocket<SocketData> | undefined {
    const open = [...sockets.values()].filter((s) => !s.data.draining && s.data.topics.includes(topic));
    return open[Math.floor(Math.random() * open.length)];
  }

  function deliver(p: Pending, topic: string) {
    if (stopped) return;
    const ws = pick(topic);
    clearTimeout(p.timer);
    if (ws) {
      p.deliveries++;
      ws.send(p.frame);
    }
    if (redeliverMs > 0 && p.deliveries < maxDeliveries) {
      p.timer = setTimeout(() => {
        if (pending.has(p.messageId)) deliver(p, topic);
      }, redeliverMs);
    }
  }

  function frameOf(type: string, topic: string, data: string, messageId = uid("msg_")): string {
    return JSON.stringify({
      specVersion: "1.0",
      type,
      headers: {
        appId: "fake-app-id",
        connectionId: "fake-conn",
        contentType: "application/json",
        messageId,
        time: String(Date.now()),
        topic,
      },
      data,
    });
  }

  function push(type: string, topic: string, data: string): string {
    const messageId = uid("msg_");
    const p: Pending = { messageId, frame: frameOf(type, topic, data, messageId), deliveries: 0 };
    pending.set(messageId, p);
    deliver(p, topic);
    return messageId;
  }

  function onAck(ws: ServerWebSocket<SocketData>, raw: string) {
    let a: Record<string, unknown>;
    try {
      a = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      badAcks.push(raw);
      return;
    }
    const headers = a.headers as Record<string, unknown> | undefined;
    const messageId = headers?.messageId;
    if (
      typeof a.code !== "number" ||
      typeof messageId !== "string" ||
      headers?.contentType !== "application/json" ||
      typeof a.message !== "string" ||
      typeof a.data !== "string"
    ) {
      badAcks.push(raw);
      return;
    }
    const ping = pings.get(messageId);
    if (ping) {
      try {
        if ((JSON.parse(a.data) as { opaque?: unknown }).opaque === ping.opaque) {
          clearTimeout(ping.timer);
          pings.delete(messageId);
          pongs.push(ping.opaque);
          return;
        }
      } catch {
        // fall through: a wrong echo is a bad ack
      }
      badAcks.push(raw);
      return;
    }
    acks.push({ messageId, code: a.code, message: a.message, data: a.data, conn: ws.data.id, raw });
    const p = pending.get(messageId);
    if (p && a.code === 200) {
      clearTimeout(p.timer);
      pending.delete(messageId);
    }
  }

  const server: Server<SocketData> = Bun.serve<SocketData>({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req, srv) {
      const url = new URL(req.url);
      const path = url.pathname;
      const answer = async (): Promise<Response | undefined> => {
        if (path === "/connect") {
          const ticket = url.searchParams.get("ticket") ?? "";
          const t = tickets.get(ticket);
          if (!t || t.used || Date.now() - t.at > ticketTtl) {
            rejectedUpgrades++;
            return new Response("invalid ticket", { status: 401 });
          }
          t.used = true;
          const id = ++connectionCount;
          if (srv.upgrade(req, { data: { id, topics: t.topics, draining: false } })) return undefined;
          return new Response("upgrade required", { status: 426 });
        }
        if (req.method !== "POST") return refused(404, "NotFound", "no such API");
        const left = throttles.get(path);
        if (left) {
          throttles.set(path, left - 1);
          return refused(403, "Forbidden.AccessDenied.QpsLimitForApi", "the API's QPS limit was reached");
        }
        if (path === "/v1.0/oauth2/accessToken") {
          if (tokenEndpoint === "fail") return refused(500, "ServiceUnavailable", "try later");
          if (tokenEndpoint === "garbage") return new Response("<html>gateway</html>", { status: 200 });
          const b = await body(req);
          if (b?.appKey !== clientId || b?.appSecret !== clientSecret)
            return refused(400, "InvalidAuthentication", "appkey or appsecret is wrong");
          tokensIssued++;
          // Asking again while a token is valid returns it with its lifetime extended.
          const live = [...tokens].find(([, exp]) => exp > Date.now())?.[0];
          const token = live ?? uid("tok");
          tokens.set(token, Date.now() + tokenTtlSec * 1000);
          return json({ accessToken: token, expireIn: tokenTtlSec });
        }
        if (path === "/v1.0/gateway/connections/open") {
          // The official Node SDK notes the answer is XML without this header.
          if (!(req.headers.get("accept") ?? "").includes("application/json"))
            return new Response("<Error><Code>NotAcceptable</Code></Error>", {
              status: 200,
              headers: { "content-type": "application/xml" },
            });
          const b = await body(req);
          if (b?.clientId !== clientId || b?.clientSecret !== clientSecret)
            return refused(400, "InvalidAuthentication", "clientId or clientSecret is wrong");
          const subs = Array.isArray(b.subscriptions)
            ? (b.subscriptions as { type?: unknown; topic?: unknown }[])
            : [];
          if (
            subs.length === 0 ||
            !subs.every((s) => (s.type === "CALLBACK" || s.type === "EVENT") && typeof s.topic === "string")
          )
            return refused(400, "InvalidParameter", "subscriptions must list {type, topic}");
          if (subs.some((s) => s.type === "EVENT" && s.topic !== "*"))
            return refused(400, "InvalidParameter", "EVENT subscriptions only support topic *");
          opens.push({ subscriptions: b.subscriptions, ua: b.ua, accept: req.headers.get("accept") ?? "" });
          const ticket = crypto.randomUUID();
          tickets.set(ticket, { at: Date.now(), used: false, topics: subs.map((s) => String(s.topic)) });
          return json({ endpoint: `ws://127.0.0.1:${srv.port}/connect`, ticket });
        }
        if (path === "/robot/sendBySession") {
          const s = sessions.get(url.searchParams.get("session") ?? "");
          if (!s || s.expiresAt <= Date.now()) return json({ errcode: 300001, errmsg: "session is expired" });
          const raw = await req.text();
          if (Buffer.byteLength(raw) > MAX_BODY_BYTES)
            return json({ errcode: 460101, errmsg: "message too long, exceed 20000 bytes" });
          const b = parseObject(raw);
          const content =
            b?.msgtype === "text"
              ? (b.text as { content?: unknown } | undefined)?.content
              : b?.msgtype === "markdown"
                ? (b.markdown as { text?: unknown } | undefined)?.text
                : undefined;
          if (typeof content !== "string")
            return json({ errcode: 40035, errmsg: "invalid msgtype or content" });
          const title = b?.msgtype === "markdown" ? (b.markdown as { title?: unknown }).title : undefined;
          sent.push({
            route: "webhook",
            to: s.conversationId,
            msgtype: b!.msgtype as "text" | "markdown",
            text: content,
            ...(typeof title === "string" ? { title } : {}),
          });
          return json({ errcode: 0, errmsg: "ok" });
        }
        if (path === "/v1.0/robot/oToMessages/batchSend" || path === "/v1.0/robot/groupMessages/send") {
          if (!tokenOk(req)) return refused(400, "InvalidAuthentication", "不合法的access_token");
          const raw = await req.text();
          if (Buffer.byteLength(raw) > MAX_BODY_BYTES)
            return refused(400, "InvalidParameter", "request body exceeds 20000 bytes");
          const b = parseObject(raw);
          if (!b) return refused(400, "InvalidParameter", "body is not JSON");
          const msg = robotMessage(b);
          if (typeof msg === "string") return refused(400, "InvalidParameter", msg);
          if (path === "/v1.0/robot/groupMessages/send") {
            const cid = b.openConversationId;
            if (typeof cid !== "string" || !groups.has(cid))
              return refused(400, "resource.not.found", "openConversationId not found for this robot");
            sent.push({ route: "group", to: cid, ...msg });
            return json({ processQueryKey: uid("pqk") });
          }
          if (notAllowOto)
            return refused(403, "chatbotId.notAllow.sendOTO", "robot may not send 1:1 messages");
          const ids = Array.isArray(b.userIds)
            ? b.userIds.filter((x): x is string => typeof x === "string")
            : [];
          if (ids.length === 0 || ids.length > 20)
            return refused(400, "InvalidParameter", "userIds: 1 to 20 ids");
          const invalid = ids.filter((id) => !staff.has(id));
          const flow = ids.filter((id) => staff.has(id) && flowControlled.has(id));
          for (const id of ids)
            if (staff.has(id) && !flowControlled.has(id)) sent.push({ route: "oto", to: id, ...msg });
          return json({
            processQueryKey: uid("pqk"),
            invalidStaffIdList: invalid,
            flowControlledStaffIdList: flow,
          });
        }
        return refused(404, "NotFound", "no such API");
      };
      const res = await answer();
      calls.push({ path, status: res?.status ?? 101 });
      return res;
    },
    websocket: {
      open(ws) {
        sockets.set(ws.data.id, ws);
        // Callbacks nobody acked go to the new connection.
        for (const p of pending.values()) {
          const topic = (JSON.parse(p.frame) as { headers: { topic: string } }).headers.topic;
          if (ws.data.topics.includes(topic)) deliver(p, topic);
        }
      },
      message(ws, raw) {
        onAck(ws, typeof raw === "string" ? raw : new TextDecoder().decode(raw));
      },
      close(ws) {
        sockets.delete(ws.data.id);
      },
    },
  });

  const base = `http://127.0.0.1:${server.port}`;
  let notAllowOto = false;
  let tokenEndpoint: FakeDingTalk["tokenEndpoint"] = "ok";

  return {
    url: base,
    clientId,
    clientSecret,
    chatbotUserId,
    acks,
    badAcks,
    opens,
    sent,
    calls,
    pongs,
    staff,
    flowControlled,
    get notAllowOto() {
      return notAllowOto;
    },
    set notAllowOto(v) {
      notAllowOto = v;
    },
    get tokenEndpoint() {
      return tokenEndpoint;
    },
    set tokenEndpoint(v) {
      tokenEndpoint = v;
    },
    get connectionCount() {
      return connectionCount;
    },
    get openSockets() {
      return sockets.size;
    },
    get pendingCount() {
      return pending.size;
    },
    get rejectedUpgrades() {
      return rejectedUpgrades;
    },
    get tokensIssued() {
      return tokensIssued;
    },
    pushRobotMessage(spec) {
      const isGroup = spec.chat === "group";
      const staffId = spec.senderStaffId === undefined ? "staff001" : spec.senderStaffId;
      const cid = spec.conversationId ?? (isGroup ? "cidGroupFake0001==" : `cidOto${staffId ?? "ext"}==`);
      if (isGroup) groups.add(cid);
      const msgId = spec.msgId ?? uid("msgId");
      const createAt = Date.now();
      const session = uid("sess");
      sessions.set(session, { conversationId: cid, expiresAt: createAt + (spec.webhookTtlMs ?? webhookTtl) });
      const sessionWebhook = `${base}/robot/sendBySession?session=${session}`;
      webhookByMsg.set(msgId, sessionWebhook);
      const mentioned = isGroup ? (spec.isInAtList ?? true) : false;
      const data: Record<string, unknown> = {
        conversationId: cid,
        ...(mentioned ? { atUsers: [{ dingtalkId: chatbotUserId }] } : {}),
        chatbotCorpId: "dingfakecorp",
        chatbotUserId,
        msgId,
        senderNick: spec.senderNick ?? "Alice",
        isAdmin: false,
        ...(staffId ? { senderStaffId: staffId } : {}),
        sessionWebhookExpiredTime: createAt + (spec.webhookTtlMs ?? webhookTtl),
        createAt,
        senderCorpId: "dingfakecorp",
        conversationType: isGroup ? "2" : "1",
        senderId: `$:LWCP_v1:$sender${staffId ?? "external"}`,
        ...(isGroup
          ? { conversationTitle: spec.conversationTitle ?? "Fake Team", isInAtList: mentioned }
          : {}),
        sessionWebhook,
        robotCode: clientId,
        msgtype: spec.msgtype ?? "text",
        ...(spec.msgtype && spec.msgtype !== "text"
          ? { content: spec.content }
          : { text: { content: isGroup && mentioned ? ` ${spec.text}` : spec.text } }),
      };
      return { messageId: push("CALLBACK", ROBOT_TOPIC, JSON.stringify(data)), msgId };
    },
    pushRaw(frame) {
      for (const ws of sockets.values()) ws.send(frame);
    },
    pushFrame(type, topic, data) {
      const messageId = uid("msg_");
      for (const ws of sockets.values()) ws.send(frameOf(type, topic, data, messageId));
      return messageId;
    },
    sendPing() {
      const opaque = crypto.randomUUID();
      for (const ws of sockets.values()) {
        const messageId = uid("ping_");
        pings.set(messageId, {
          opaque,
          timer: setTimeout(() => {
            pings.delete(messageId);
            ws.close(1002, "ping not answered");
          }, pingTimeoutMs),
        });
        ws.send(
          JSON.stringify({
            specVersion: "1.0",
            type: "SYSTEM",
            headers: { contentType: "application/json", messageId, time: String(Date.now()), topic: "ping" },
            data: JSON.stringify({ opaque }),
          }),
        );
      }
      return opaque;
    },
    sendDisconnect(reason = "connection is expired") {
      for (const ws of sockets.values()) {
        ws.data.draining = true;
        ws.send(
          JSON.stringify({
            specVersion: "1.0",
            type: "SYSTEM",
            headers: {
              contentType: "application/json",
              messageId: uid("sys_"),
              time: String(Date.now()),
              topic: "disconnect",
            },
            data: JSON.stringify({ reason }),
          }),
        );
        setTimeout(() => ws.close(1000, "disconnect"), disconnectCloseMs);
      }
    },
    dropSockets() {
      for (const ws of sockets.values()) ws.terminate();
    },
    expireTokens() {
      tokens.clear();
    },
    throttle(path, count = 1) {
      throttles.set(path, count);
    },
    expireWebhooks() {
      for (const s of sessions.values()) s.expiresAt = 0;
    },
    webhookOf: (msgId) => webhookByMsg.get(msgId),
    async stop() {
      stopped = true;
      for (const p of pending.values()) clearTimeout(p.timer);
      for (const p of pings.values()) clearTimeout(p.timer);
      await server.stop(true);
    },
  };
}
