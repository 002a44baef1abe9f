/**
 * A fake Discord gateway + REST API on 127.0.0.1 speaking the real wire protocol (v10, JSON).
 *
 * Gateway (`ws://…/gateway?v=10&encoding=json`): Hello with a heartbeat interval, answers
 * heartbeats with ACKs (or stops, to make a zombie), Identify → READY (+ GUILD_CREATE per
 * guild), Resume → replays every dispatch after the given seq then RESUMED, or Invalid Session
 * when the session is unknown. Every dispatch is logged per session with its seq, so events
 * emitted while the bot is disconnected (or lost when the fake drops the socket mid-stream)
 * are replayed on Resume, exactly as Discord does. Close codes 4004 (bad token) and 4014
 * (MESSAGE_CONTENT not allowed) are scriptable.
 *
 * REST (`http://…/api/v10`): POST /channels/:id/messages (2,000-character check, scripted
 * 429 with JSON retry_after + headers), POST /channels/:id/typing, GET /users/@me.
 * Create Message as Discord documents it: `nonce` (integer or string of at most 25 characters)
 * is echoed on the message; with `enforce_nonce: true` a nonce the same author used in the last
 * few minutes returns the message already created instead of posting again; a
 * `message_reference` to a message the channel does not have fails (50035) unless
 * `fail_if_not_exists: false`. Like Discord, every created message — the bot's own included —
 * is dispatched as MESSAGE_CREATE (`echoOwnPosts`, on by default).
 */
import type { ServerWebSocket } from "bun";
import { GatewayIntentBits } from "discord-api-types/v10";

export interface FakeDiscordOptions {
  token?: string;
  botId?: string;
  botUsername?: string;
  heartbeatIntervalMs?: number;
  guilds?: { id: string; name: string; channels: { id: string; name: string; type: number }[] }[];
}

interface Session {
  id: string;
  seq: number;
  log: { s: number; t: string; d: unknown }[];
  socket?: ServerWebSocket<ConnData>;
}

interface ConnData {
  id: number;
  session?: Session;
  path: string;
}

export interface DiscordSent {
  channelId: string;
  content: string;
  message_reference?: { message_id: string; fail_if_not_exists?: boolean };
  allowed_mentions?: unknown;
  nonce?: string | number;
  enforce_nonce?: boolean;
  id: string;
}

/** How long Discord remembers a nonce for enforce_nonce ("the past few minutes"). */
const NONCE_WINDOW_MS = 5 * 60_000;

let snowflake = 1_100_000_000_000_000_000n;
export function nextSnowflake(): string {
  snowflake += 1n;
  return snowflake.toString();
}

export class FakeDiscord {
  readonly token: string;
  readonly botId: string;
  readonly botUsername: string;
  heartbeatIntervalMs: number;
  /** Stop ACKing heartbeats (zombie connection). */
  ackHeartbeats = true;
  /** Refuse privileged intents (close 4014) when MESSAGE_CONTENT is requested. */
  allowMessageContent = true;
  readonly guilds: NonNullable<FakeDiscordOptions["guilds"]>;
  readonly sent: DiscordSent[] = [];
  readonly typing: string[] = [];
  /** Every gateway payload received from clients (op + d). */
  readonly received: { op: number; d: unknown; conn: number }[] = [];
  readonly restCalls: { method: string; path: string; at: number }[] = [];
  /** URLs clients connected to (to check resume_gateway_url is used). */
  readonly connections: string[] = [];
  identifies = 0;
  /** Refuse this many WebSocket upgrades (HTTP 503), as during a Discord outage. */
  refuseUpgrades = 0;
  resumes = 0;
  private sessions = new Map<string, Session>();
  private current?: Session;
  private server: ReturnType<typeof Bun.serve<ConnData>>;
  private connCount = 0;
  private dropAfterSends = -1;
  private rateLimits = new Map<string, { retryAfter: number; count: number }>();
  /** Dispatch MESSAGE_CREATE for the bot's own posts too, as Discord does. */
  echoOwnPosts = true;
  /** Created message ids per channel (for message_reference). */
  private readonly channelMessages = new Map<string, Set<string>>();
  /** enforce_nonce memory: "author:nonce" → the message created with it. */
  private readonly nonces = new Map<string, { at: number; message: Record<string, unknown> }>();

  constructor(options: FakeDiscordOptions = {}) {
    this.token = options.token ?? "MTEx.fake.discord-token";
    this.botId = options.botId ?? "1000000000000000001";
    this.botUsername = options.botUsername ?? "ngbtest";
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 41_250;
    this.guilds = options.guilds ?? [
      {
        id: "2000000000000000001",
        name: "Test Guild",
        channels: [
          { id: "3000000000000000001", name: "general", type: 0 },
          { id: "3000000000000000002", name: "voice", type: 2 },
        ],
      },
    ];
    this.server = Bun.serve<ConnData>({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req, server) => this.fetch(req, server),
      websocket: {
        open: (ws) => this.onOpen(ws),
        message: (ws, msg) => this.onMessage(ws, String(msg)),
        close: (ws) => {
          const s = ws.data.session;
          if (s?.socket === ws) s.socket = undefined;
        },
      },
    });
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.server.port}/gateway`;
  }

  get apiBaseUrl(): string {
    return `http://127.0.0.1:${this.server.port}/api/v10`;
  }

  /** Is a bot connected and identified/resumed right now? */
  get online(): boolean {
    return this.current?.socket !== undefined && this.current.socket.readyState === 1;
  }

  get sessionId(): string | undefined {
    return this.current?.id;
  }

  stop(): void {
    for (const s of this.sessions.values()) s.socket?.terminate();
    this.server.stop(true);
  }

  /** Emit a dispatch on the current session (buffered for Resume if the bot is offline). */
  dispatch(t: string, d: unknown): number {
    const s = this.current;
    if (!s) throw new Error("no session yet: wait for the bot to identify");
    s.seq++;
    const ev = { s: s.seq, t, d };
    s.log.push(ev);
    this.deliver(s, ev);
    return s.seq;
  }

  /** Emit MESSAGE_CREATE with realistic fields; returns the message id. */
  message(p: {
    channelId?: string;
    guildId?: string | null;
    content: string;
    authorId?: string;
    authorName?: string;
    bot?: boolean;
    mentions?: string[];
    replyTo?: string;
    id?: string;
    type?: number;
  }): string {
    const id = p.id ?? nextSnowflake();
    const guildId = p.guildId === null ? undefined : (p.guildId ?? this.guilds[0]?.id);
    const channelId = p.channelId ?? this.guilds[0]?.channels[0]?.id ?? "3000000000000000001";
    this.remember(channelId, id);
    this.dispatch("MESSAGE_CREATE", {
      id,
      type: p.type ?? (p.replyTo ? 19 : 0),
      channel_id: channelId,
      ...(guildId ? { guild_id: guildId, member: { nick: null, roles: [] } } : {}),
      author: {
        id: p.authorId ?? "4000000000000000001",
        username: p.authorName ?? "alice",
        global_name: p.authorName ? p.authorName : "Alice",
        discriminator: "0",
        avatar: null,
        ...(p.bot ? { bot: true } : {}),
      },
      content: p.content,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: (p.mentions ?? []).map((m) => ({ id: m, username: "x", discriminator: "0", avatar: null })),
      mention_roles: [],
      attachments: [],
      embeds: [],
      pinned: false,
      ...(p.replyTo ? { message_reference: { message_id: p.replyTo, channel_id: p.channelId } } : {}),
    });
    return id;
  }

  private remember(channelId: string, id: string) {
    let set = this.channelMessages.get(channelId);
    if (!set) {
      set = new Set();
      this.channelMessages.set(channelId, set);
    }
    set.add(id);
  }

  /** The guild a channel belongs to (undefined: a DM). */
  private guildOf(channelId: string): string | undefined {
    return this.guilds.find((g) => g.channels.some((c) => c.id === channelId))?.id;
  }

  /** Terminate the bot's socket after `n` more dispatches are sent (the rest stay for Resume). */
  dropAfter(n: number): void {
    this.dropAfterSends = n;
  }

  /** Abruptly terminate the bot's socket now (no close frame). */
  dropSocket(): void {
    this.current?.socket?.terminate();
  }

  /** Close the bot's socket with a close code. */
  closeWith(code: number, reason = ""): void {
    this.current?.socket?.close(code, reason);
  }

  /** Send op 9 Invalid Session; a non-resumable one forgets the session. */
  invalidSession(resumable: boolean): void {
    const s = this.current;
    if (!s?.socket) return;
    if (!resumable) this.sessions.delete(s.id);
    s.socket.send(JSON.stringify({ op: 9, d: resumable, s: null, t: null }));
  }

  /** Send op 7 Reconnect. */
  requestReconnect(): void {
    this.current?.socket?.send(JSON.stringify({ op: 7, d: null, s: null, t: null }));
  }

  /** Ask the client for an immediate heartbeat (op 1). */
  requestHeartbeat(): void {
    this.current?.socket?.send(JSON.stringify({ op: 1, d: null, s: null, t: null }));
  }

  /** The next `count` REST calls whose "METHOD path" starts with `route` answer 429. */
  rateLimit(route: string, retryAfterSec: number, count = 1): void {
    this.rateLimits.set(route, { retryAfter: retryAfterSec, count });
  }

  private deliver(s: Session, ev: { s: number; t: string; d: unknown }) {
    const ws = s.socket;
    if (ws?.readyState !== 1) return;
    ws.send(JSON.stringify({ op: 0, ...ev }));
    if (this.dropAfterSends > 0 && --this.dropAfterSends === 0) {
      this.dropAfterSends = -1;
      s.socket = undefined;
      ws.terminate();
    }
  }

  private fetch(req: Request, server: Bun.Server<ConnData>): Response | Promise<Response> | undefined {
    const url = new URL(req.url);
    if (url.pathname.startsWith("/gateway")) {
      if (url.searchParams.get("v") !== "10" || url.searchParams.get("encoding") !== "json") {
        return new Response("bad gateway query", { status: 400 });
      }
      this.connections.push(req.url);
      if (this.refuseUpgrades > 0) {
        this.refuseUpgrades--;
        return new Response("service unavailable", { status: 503 });
      }
      if (server.upgrade(req, { data: { id: ++this.connCount, path: url.pathname } })) return undefined;
      return new Response("upgrade failed", { status: 400 });
    }
    if (url.pathname.startsWith("/api/v10/")) return this.rest(req, url.pathname.slice("/api/v10".length));
    return new Response("not found", { status: 404 });
  }

  private onOpen(ws: ServerWebSocket<ConnData>) {
    ws.send(
      JSON.stringify({ op: 10, d: { heartbeat_interval: this.heartbeatIntervalMs }, s: null, t: null }),
    );
  }

  private onMessage(ws: ServerWebSocket<ConnData>, raw: string) {
    let p: { op: number; d: unknown };
    try {
      p = JSON.parse(raw);
    } catch {
      ws.close(4002, "Error while decoding payload.");
      return;
    }
    this.received.push({ op: p.op, d: p.d, conn: ws.data.id });
    switch (p.op) {
      case 1:
        if (this.ackHeartbeats) ws.send(JSON.stringify({ op: 11, d: null, s: null, t: null }));
        return;
      case 2:
        return this.identify(ws, p.d as { token?: string; intents?: number });
      case 6:
        return this.resume(ws, p.d as { token?: string; session_id?: string; seq?: number | null });
      default:
        ws.close(4001, "Unknown opcode.");
    }
  }

  private identify(ws: ServerWebSocket<ConnData>, d: { token?: string; intents?: number }) {
    this.identifies++;
    if (d?.token !== this.token) {
      ws.close(4004, "Authentication failed.");
      return;
    }
    const intents = d.intents ?? 0;
    if (intents & GatewayIntentBits.MessageContent && !this.allowMessageContent) {
      ws.close(4014, "Disallowed intent(s).");
      return;
    }
    const session: Session = { id: crypto.randomUUID().replaceAll("-", ""), seq: 0, log: [] };
    this.sessions.set(session.id, session);
    if (this.current?.socket && this.current.socket !== ws) this.current.socket.terminate();
    this.current = session;
    session.socket = ws;
    ws.data.session = session;
    this.dispatch("READY", {
      v: 10,
      user: { id: this.botId, username: this.botUsername, discriminator: "0", bot: true, avatar: null },
      guilds: this.guilds.map((g) => ({ id: g.id, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: `ws://127.0.0.1:${this.server.port}/gateway-resume`,
      application: { id: this.botId, flags: 0 },
    });
    for (const g of this.guilds) {
      this.dispatch("GUILD_CREATE", {
        id: g.id,
        name: g.name,
        unavailable: false,
        channels: g.channels.map((c) => ({ ...c, guild_id: g.id })),
        threads: [],
      });
    }
  }

  private resume(
    ws: ServerWebSocket<ConnData>,
    d: { token?: string; session_id?: string; seq?: number | null },
  ) {
    this.resumes++;
    if (d?.token !== this.token) {
      ws.close(4004, "Authentication failed.");
      return;
    }
    const session = d.session_id ? this.sessions.get(d.session_id) : undefined;
    if (!session) {
      ws.send(JSON.stringify({ op: 9, d: false, s: null, t: null }));
      return;
    }
    if (session.socket && session.socket !== ws) session.socket.terminate();
    session.socket = ws;
    ws.data.session = session;
    this.current = session;
    const after = d.seq ?? 0;
    for (const ev of session.log) {
      if (ev.s > after) this.deliver(session, ev);
      if (session.socket !== ws) return; // dropped mid-replay
    }
    session.seq++;
    const resumed = { s: session.seq, t: "RESUMED", d: {} };
    session.log.push(resumed);
    this.deliver(session, resumed);
  }

  private async rest(req: Request, path: string): Promise<Response> {
    this.restCalls.push({ method: req.method, path, at: Date.now() });
    if (req.headers.get("authorization") !== `Bot ${this.token}`) {
      return Response.json({ message: "401: Unauthorized", code: 0 }, { status: 401 });
    }
    const route = `${req.method} ${path}`;
    for (const [prefix, rl] of this.rateLimits) {
      if (rl.count > 0 && route.startsWith(prefix)) {
        rl.count--;
        return Response.json(
          { message: "You are being rate limited.", retry_after: rl.retryAfter, global: false },
          {
            status: 429,
            headers: {
              "retry-after": String(Math.ceil(rl.retryAfter)),
              "x-ratelimit-limit": "5",
              "x-ratelimit-remaining": "0",
              "x-ratelimit-reset-after": String(rl.retryAfter),
              "x-ratelimit-scope": "user",
            },
          },
        );
      }
    }
    if (req.method === "GET" && path === "/users/@me") {
      return Response.json({
        id: this.botId,
        username: this.botUsername,
        discriminator: "0",
        bot: true,
        avatar: null,
      });
    }
    const typing = /^\/channels\/(\d+)\/typing$/.exec(path);
    if (req.method === "POST" && typing) {
      this.typing.push(typing[1]!);
      return new Response(null, { status: 204 });
    }
    const msg = /^\/channels\/(\d+)\/messages$/.exec(path);
    if (req.method === "POST" && msg) {
      let body: {
        content?: unknown;
        message_reference?: { message_id?: unknown; fail_if_not_exists?: unknown };
        allowed_mentions?: unknown;
        nonce?: unknown;
        enforce_nonce?: unknown;
      };
      try {
        body = await req.json();
      } catch {
        return Response.json({ message: "400: Bad Request", code: 50109 }, { status: 400 });
      }
      const invalid = (field: string, code: string, message: string) =>
        Response.json(
          {
            message: "Invalid Form Body",
            code: 50035,
            errors: { [field]: { _errors: [{ code, message }] } },
          },
          { status: 400 },
        );
      const channelId = msg[1]!;
      const content = typeof body.content === "string" ? body.content : "";
      if (content.length === 0) {
        return Response.json({ message: "Cannot send an empty message", code: 50006 }, { status: 400 });
      }
      if (content.length > 2000)
        return invalid("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.");
      const nonce = body.nonce;
      if (nonce !== undefined) {
        const ok =
          (typeof nonce === "string" && nonce.length <= 25) ||
          (typeof nonce === "number" && Number.isInteger(nonce));
        if (!ok) return invalid("nonce", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.");
      }
      const nonceKey =
        nonce !== undefined && body.enforce_nonce === true ? `${this.botId}:${nonce}` : undefined;
      if (nonceKey) {
        const seen = this.nonces.get(nonceKey);
        if (seen && Date.now() - seen.at < NONCE_WINDOW_MS) return Response.json(seen.message);
      }
      const ref = body.message_reference;
      if (ref !== undefined) {
        const exists =
          typeof ref.message_id === "string" &&
          this.channelMessages.get(channelId)?.has(ref.message_id) === true;
        if (!exists && ref.fail_if_not_exists !== false)
          return invalid("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message");
      }
      const id = nextSnowflake();
      this.remember(channelId, id);
      const sent: DiscordSent = { channelId, content, id };
      if (ref) sent.message_reference = ref as DiscordSent["message_reference"];
      if (body.allowed_mentions) sent.allowed_mentions = body.allowed_mentions;
      if (nonce !== undefined) sent.nonce = nonce as string | number;
      if (body.enforce_nonce === true) sent.enforce_nonce = true;
      this.sent.push(sent);
      const guildId = this.guildOf(channelId);
      const message: Record<string, unknown> = {
        id,
        type: ref ? 19 : 0,
        channel_id: channelId,
        content,
        author: { id: this.botId, username: this.botUsername, discriminator: "0", avatar: null, bot: true },
        timestamp: new Date().toISOString(),
        edited_timestamp: null,
        tts: false,
        mention_everyone: false,
        mentions: [],
        mention_roles: [],
        attachments: [],
        embeds: [],
        pinned: false,
        ...(nonce !== undefined ? { nonce } : {}),
        ...(ref && typeof ref.message_id === "string"
          ? { message_reference: { message_id: ref.message_id, channel_id: channelId } }
          : {}),
      };
      if (nonceKey) this.nonces.set(nonceKey, { at: Date.now(), message });
      // The gateway delivers our own post back, with the member and guild fields of the channel.
      if (this.echoOwnPosts && this.current)
        this.dispatch("MESSAGE_CREATE", {
          ...message,
          ...(guildId ? { guild_id: guildId, member: { nick: null, roles: [] } } : {}),
        });
      return Response.json(message);
    }
    return Response.json({ message: "404: Not Found", code: 0 }, { status: 404 });
  }
}

export function createFakeDiscord(options: FakeDiscordOptions = {}): FakeDiscord {
  return new FakeDiscord(options);
}
