/**
 * The WhatsApp channel over baileys (multi-device WhatsApp Web). Baileys is imported with a
 * dynamic `import()` inside connect(), never at module load, so `ngb serve` without WhatsApp
 * does not pay for it. Auth state lives in `<storeDir>/whatsapp-auth/`; pairing is by QR (shown
 * in the terminal and, through health().qr / status updates, on the dashboard) or by pairing
 * code. Drops reconnect with backoff; a logout clears the auth state and asks to re-pair.
 *
 * Each chunk of a reply is sent with a message id derived from the reply's idempotency key
 * ("3EB0" + 18 hex, the shape baileys generates), so a re-send after a crash carries the same
 * id and WhatsApp delivers it once (`dedupesSends`).
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../log/index.ts";
import type { Channel, ChannelSink, ChannelStatusUpdate, ChatInfo } from "../../orchestrator/channel.ts";
import { type BackoffOptions, createBackoff, sleep } from "../kit/backoff.ts";
import { splitMessage } from "../kit/chunk.ts";
import { ChannelError } from "../kit/errors.ts";
import { createHealth } from "../kit/health.ts";
import { chunkKey, sendChunks } from "../kit/send.ts";
import { baileysLogger, type PinoLike } from "./logger.ts";
import {
  isWhatsAppJid,
  mapGroupsUpsert,
  mapParticipantsUpdate,
  mapWaMessage,
  normalizeJid,
  type WaIdentity,
  type WaMessage,
} from "./map.ts";
import { renderQr } from "./qr.ts";

/** Long WhatsApp messages are allowed, but 4096 keeps each one readable on a phone. */
export const WHATSAPP_TEXT_LIMIT = 4_096;

/** Status codes baileys reports on close (its DisconnectReason, copied to avoid loading it). */
export const WA_CLOSE = {
  loggedOut: 401,
  forbidden: 403,
  connectionClosed: 428,
  connectionLost: 408,
  connectionReplaced: 440,
  badSession: 500,
  restartRequired: 515,
} as const;

/** The subset of a baileys socket this adapter uses. */
export interface WaSocket {
  ev: { on(event: string, listener: (arg: never) => void): void };
  user?: { id: string; lid?: string } | undefined;
  sendMessage(jid: string, content: { text: string }, options?: { messageId?: string }): Promise<unknown>;
  sendPresenceUpdate(type: "composing" | "paused", jid?: string): Promise<void>;
  requestPairingCode(phoneNumber: string): Promise<string>;
  end(error: Error | undefined): unknown;
}

export interface WaSocketConfig {
  auth: unknown;
  logger: PinoLike;
  waWebSocketUrl?: string;
  connectTimeoutMs: number;
}

/** What connect() needs from baileys; `loadBaileys()` supplies the real one lazily. */
export interface BaileysApi {
  makeSocket(config: WaSocketConfig): WaSocket;
  useMultiFileAuthState(dir: string): Promise<{ state: unknown; saveCreds: () => Promise<void> }>;
}

/** Import baileys (the only place that does) and adapt it to BaileysApi. */
export async function loadBaileys(): Promise<BaileysApi> {
  const b = await import("baileys");
  return {
    makeSocket: (config) =>
      b.makeWASocket({
        auth: config.auth as never,
        logger: config.logger as never,
        connectTimeoutMs: config.connectTimeoutMs,
        browser: b.Browsers.ubuntu("Chrome"),
        markOnlineOnConnect: false,
        syncFullHistory: false,
        // Our own sends are stored by the delivery layer; an echo would store each reply twice.
        // (Posts from the account's other devices still arrive, as ours: isFromMe + isBot.)
        emitOwnEvents: false,
        ...(config.waWebSocketUrl ? { waWebSocketUrl: config.waWebSocketUrl } : {}),
      }) as unknown as WaSocket,
    useMultiFileAuthState: b.useMultiFileAuthState,
  };
}

export interface WhatsAppChannelOptions {
  /** Directory for baileys' multi-file auth state (`<storeDir>/whatsapp-auth`). */
  authDir: string;
  assistantName: string;
  log: Logger;
  waWebSocketUrl?: string;
  /** Digits only, with country code: pair by code instead of QR. */
  pairingPhone?: string;
  printQr?: boolean;
  backoff?: BackoffOptions;
  connectTimeoutMs?: number;
  /** Where the terminal QR / pairing code goes. Default: stderr. */
  print?: (text: string) => void;
  /** Injected for tests; default imports baileys. */
  baileys?: () => Promise<BaileysApi>;
}

/** Sending while the socket is not open (transient: it reconnects). */
export class WhatsAppNotConnectedError extends ChannelError {
  override name = "WhatsAppNotConnectedError";
  constructor(readonly jid: string) {
    super("whatsapp", "network", `whatsapp is not connected; cannot send to ${jid}`);
  }
}

/** A message id of the shape baileys generates, fixed by the reply's key and the chunk. */
export function waMessageId(idempotencyKey: string, chunk: number): string {
  return `3EB0${chunkKey(idempotencyKey, chunk, 18, { upper: true })}`;
}

function closeCode(err: unknown): number | undefined {
  const e = err as { output?: { statusCode?: unknown }; statusCode?: unknown } | undefined;
  const code = e?.output?.statusCode ?? e?.statusCode;
  return typeof code === "number" ? code : undefined;
}

export function createWhatsAppChannel(opts: WhatsAppChannelOptions): Channel {
  const log = opts.log.withTag("whatsapp");
  const print = opts.print ?? ((text: string) => process.stderr.write(`${text}\n`));
  const backoff = createBackoff({ initialMs: 2_000, maxMs: 60_000, ...opts.backoff });
  const health = createHealth("whatsapp");
  let sink: ChannelSink | null = null;
  let sock: WaSocket | null = null;
  let open = false;
  let stopped = true;
  let generation = 0;
  let abort = new AbortController();
  let pairingRequested = false;
  const me: WaIdentity = { assistantName: opts.assistantName };
  /** Inbound handling is serialized: the store sees messages in arrival order. */
  let chain: Promise<void> = Promise.resolve();

  function setStatus(state: ChannelStatusUpdate["state"], extra: { error?: string; qr?: string } = {}) {
    health.set({ state, ...extra });
  }

  async function start(): Promise<void> {
    const gen = ++generation;
    const api = await (opts.baileys ?? loadBaileys)();
    const { state, saveCreds } = await api.useMultiFileAuthState(opts.authDir);
    if (gen !== generation || stopped) return;
    const s = api.makeSocket({
      auth: state,
      logger: baileysLogger(log),
      connectTimeoutMs: opts.connectTimeoutMs ?? 20_000,
      ...(opts.waWebSocketUrl ? { waWebSocketUrl: opts.waWebSocketUrl } : {}),
    });
    sock = s;
    const on = <T>(event: string, fn: (arg: T) => void | Promise<void>) =>
      s.ev.on(event, ((arg: T) => {
        if (gen !== generation) return; // a replaced socket's late events
        try {
          const r = fn(arg);
          if (r instanceof Promise)
            r.catch((err) => log.error(`${event} handler failed`, { error: err.message }));
        } catch (err) {
          log.error(`${event} handler failed`, { error: (err as Error).message });
        }
      }) as never);

    on("creds.update", () => saveCreds());
    on("connection.update", (u: { connection?: string; lastDisconnect?: { error?: unknown }; qr?: string }) =>
      onConnectionUpdate(s, gen, u),
    );
    on("messages.upsert", (u: { messages?: WaMessage[]; type?: string }) => {
      if (u.type !== "notify" && u.type !== "append") return;
      if (!Array.isArray(u.messages)) {
        log.warn("ignored a messages.upsert without a messages array");
        return;
      }
      const batch = u.messages;
      chain = chain.then(() => storeBatch(batch));
      return chain;
    });
    on("groups.upsert", (groups: { id?: string; subject?: string }[]) => {
      for (const chat of mapGroupsUpsert(groups)) discovered(chat);
    });
    on("group-participants.update", (u: { id?: string; action?: string; participants?: unknown[] }) => {
      const chat = mapParticipantsUpdate(u, me);
      if (chat) discovered(chat);
    });
  }

  function discovered(chat: ChatInfo) {
    log.info("chat discovered", { jid: chat.jid });
    sink?.discovered(chat);
  }

  async function storeBatch(messages: WaMessage[]) {
    for (const msg of messages) {
      let mapped: ReturnType<typeof mapWaMessage>;
      try {
        mapped = mapWaMessage(msg, me);
      } catch (err) {
        log.warn(`ignored a malformed message (${(err as Error).message})`);
        continue;
      }
      if (mapped.kind === "ignored") {
        log.debug("message skipped", { reason: mapped.reason });
        continue;
      }
      try {
        await sink!.inbound(mapped.message);
      } catch (err) {
        // Baileys has already acked it to WhatsApp; nothing will redeliver it. Say so loudly.
        log.error("message could not be stored", {
          id: mapped.message.id,
          error: (err as Error).message,
        });
      }
    }
  }

  async function onConnectionUpdate(
    s: WaSocket,
    gen: number,
    u: { connection?: string; lastDisconnect?: { error?: unknown }; qr?: string },
  ) {
    if (u.qr) {
      if (opts.pairingPhone) {
        if (!pairingRequested) {
          pairingRequested = true;
          const code = await s.requestPairingCode(opts.pairingPhone.replace(/\D/g, ""));
          print(`WhatsApp pairing code for +${opts.pairingPhone}: ${code}`);
          setStatus("connecting", { qr: u.qr });
        }
      } else {
        setStatus("connecting", { qr: u.qr });
        if (opts.printQr !== false) {
          print("Scan this QR with WhatsApp → Settings → Linked devices → Link a device:");
          print(await renderQr(u.qr));
        }
      }
    }
    if (u.connection === "open") {
      open = true;
      backoff.reset();
      pairingRequested = false;
      if (s.user?.id) me.jid = normalizeJid(s.user.id);
      if (s.user?.lid) me.lid = normalizeJid(s.user.lid);
      log.info("connected", { as: me.jid });
      setStatus("connected");
      return;
    }
    if (u.connection !== "close") return;
    open = false;
    sock = null;
    if (stopped || gen !== generation) return;
    const err = u.lastDisconnect?.error;
    const code = closeCode(err);
    const reason = `${(err as Error | undefined)?.message ?? "connection closed"}${code ? ` (${code})` : ""}`;
    if (code === WA_CLOSE.loggedOut) {
      rmSync(opts.authDir, { recursive: true, force: true });
      stopped = true;
      const message = "logged out: re-pair with QR (the auth state was cleared; restart the channel)";
      log.error(message);
      setStatus("error", { error: message });
      return;
    }
    if (code === WA_CLOSE.connectionReplaced) {
      stopped = true;
      const message =
        "another client connected with this WhatsApp session (connection replaced); not reconnecting, so two receivers never run";
      log.error(message);
      setStatus("error", { error: message });
      return;
    }
    if (code === WA_CLOSE.forbidden) {
      stopped = true;
      const message = "WhatsApp refused the account (403 forbidden); check the phone";
      setStatus("error", { error: message });
      return;
    }
    // restartRequired follows a fresh pairing: reconnect at once. Anything else: back off.
    const wait = code === WA_CLOSE.restartRequired ? 0 : backoff.next();
    log.warn("connection closed, reconnecting", { reason, inMs: wait });
    setStatus("connecting", { error: reason });
    await sleep(wait, abort.signal);
    if (stopped || gen !== generation) return;
    await start().catch((e) => {
      log.error("restart failed", { error: (e as Error).message });
      setStatus("error", { error: (e as Error).message });
    });
  }

  return {
    name: "whatsapp",
    ownsJid: isWhatsAppJid,

    dedupesSends: true,

    async connect(s: ChannelSink) {
      sink = s;
      health.attach(s);
      stopped = false;
      abort = new AbortController();
      pairingRequested = false;
      setStatus("connecting");
      try {
        await start();
      } catch (err) {
        stopped = true;
        const message = `whatsapp could not start: ${(err as Error).message}`;
        setStatus("error", { error: message });
        throw new ChannelError("whatsapp", "config", message, { cause: err });
      }
    },

    async disconnect() {
      stopped = true;
      generation++;
      abort.abort();
      const s = sock;
      sock = null;
      open = false;
      try {
        await s?.end(undefined);
      } catch {
        // closing anyway
      }
      await chain;
      setStatus("disconnected");
    },

    async send(jid: string, text: string, options = {}) {
      if (!isWhatsAppJid(jid))
        throw new ChannelError("whatsapp", "refused", `not a WhatsApp chat id: ${jid}`);
      const key = options.idempotencyKey;
      await sendChunks("whatsapp", splitMessage(text, WHATSAPP_TEXT_LIMIT), options, async (chunk, index) => {
        const s = sock;
        if (!s || !open) throw new WhatsAppNotConnectedError(jid);
        await s.sendMessage(jid, { text: chunk }, key ? { messageId: waMessageId(key, index) } : undefined);
      });
    },

    async setTyping(jid: string, on: boolean) {
      if (!sock || !open) return;
      try {
        await sock.sendPresenceUpdate(on ? "composing" : "paused", jid);
      } catch (err) {
        log.debug("presence update failed", { error: (err as Error).message });
      }
    },

    health: () => health.snapshot(),

    /** Reads the auth state on disk; does not connect (a second connection would replace ours). */
    async verify() {
      const file = join(opts.authDir, "creds.json");
      if (!existsSync(file))
        return {
          ok: false,
          detail: `not paired (no ${file}): run ngb serve with channels.whatsapp.enabled and scan the QR, or set channels.whatsapp.pairingPhone`,
        };
      try {
        const creds = JSON.parse(readFileSync(file, "utf8")) as {
          me?: { id?: string };
          registered?: boolean;
        };
        if (!creds.me?.id)
          return { ok: false, detail: `auth state in ${opts.authDir} is not paired yet: scan the QR again` };
        return { ok: true, detail: `paired as ${normalizeJid(creds.me.id)} (auth state ${opts.authDir})` };
      } catch (err) {
        return { ok: false, detail: `cannot read ${file}: ${(err as Error).message}` };
      }
    },
  };
}
