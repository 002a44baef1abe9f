/**
 * WhatsApp (baileys) event shapes → InboundMessage / ChatInfo. Pure functions over plain
 * objects shaped like baileys' `WAMessage` (proto.IWebMessageInfo), so they are tested with
 * recorded event payloads and never need baileys loaded.
 */
import type { Attachment, ChatInfo, InboundMessage } from "../../orchestrator/channel.ts";
import { authorship } from "../kit/authorship.ts";
import { isWhatsAppJid } from "./index.ts";

/** The subset of proto.IMessage fields we read (every field optional, as in the proto). */
export interface WaMessageContent {
  conversation?: string | null;
  extendedTextMessage?: { text?: string | null; contextInfo?: WaContextInfo | null } | null;
  imageMessage?: WaMedia | null;
  videoMessage?: WaMedia | null;
  audioMessage?: WaMedia | null;
  documentMessage?: WaMedia | null;
  stickerMessage?: WaMedia | null;
  ephemeralMessage?: { message?: WaMessageContent | null } | null;
  viewOnceMessage?: { message?: WaMessageContent | null } | null;
  viewOnceMessageV2?: { message?: WaMessageContent | null } | null;
  viewOnceMessageV2Extension?: { message?: WaMessageContent | null } | null;
  documentWithCaptionMessage?: { message?: WaMessageContent | null } | null;
  protocolMessage?: unknown;
  reactionMessage?: unknown;
  [other: string]: unknown;
}

interface WaMedia {
  caption?: string | null;
  mimetype?: string | null;
  fileName?: string | null;
  fileLength?: number | string | { toNumber(): number } | null;
  contextInfo?: WaContextInfo | null;
}

interface WaContextInfo {
  mentionedJid?: string[] | null;
  stanzaId?: string | null;
  participant?: string | null;
}

export interface WaMessage {
  key: {
    remoteJid?: string | null;
    remoteJidAlt?: string | null;
    fromMe?: boolean | null;
    id?: string | null;
    participant?: string | null;
    participantAlt?: string | null;
  };
  message?: WaMessageContent | null;
  messageTimestamp?: number | string | { toNumber(): number } | { low: number; high: number } | null;
  pushName?: string | null;
}

export interface WaIdentity {
  /** Our own jid, e.g. "15551234567:12@s.whatsapp.net" (device suffix allowed). */
  jid?: string | undefined;
  /** Our LID, e.g. "123456789:12@lid". */
  lid?: string | undefined;
  assistantName: string;
}

export type WaMapResult = { kind: "message"; message: InboundMessage } | { kind: "ignored"; reason: string };

/** "15551234567:12@s.whatsapp.net" → "15551234567". */
export function jidUser(jid: string | null | undefined): string {
  if (!jid) return "";
  const at = jid.indexOf("@");
  const user = at === -1 ? jid : jid.slice(0, at);
  const colon = user.indexOf(":");
  return colon === -1 ? user : user.slice(0, colon);
}

/** Drop the device part: "1555:12@s.whatsapp.net" → "1555@s.whatsapp.net". */
export function normalizeJid(jid: string): string {
  const at = jid.indexOf("@");
  if (at === -1) return jid;
  return `${jidUser(jid)}${jid.slice(at)}`;
}

export { isWhatsAppJid };

function isMe(jid: string | null | undefined, me: WaIdentity): boolean {
  if (!jid) return false;
  const u = jidUser(jid);
  if (!u) return false;
  const server = jid.slice(jid.indexOf("@"));
  if (me.jid && server === "@s.whatsapp.net" && u === jidUser(me.jid)) return true;
  if (me.lid && server === "@lid" && u === jidUser(me.lid)) return true;
  return false;
}

/** Unwrap ephemeral / view-once / document-with-caption envelopes to the real content. */
export function unwrapContent(m: WaMessageContent | null | undefined): WaMessageContent | null {
  let cur = m ?? null;
  for (let i = 0; i < 5 && cur; i++) {
    const inner =
      cur.ephemeralMessage?.message ??
      cur.viewOnceMessage?.message ??
      cur.viewOnceMessageV2?.message ??
      cur.viewOnceMessageV2Extension?.message ??
      cur.documentWithCaptionMessage?.message;
    if (!inner) break;
    cur = inner;
  }
  return cur;
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  if (v && typeof v === "object") {
    if ("toNumber" in v && typeof v.toNumber === "function") return (v as { toNumber(): number }).toNumber();
    if ("low" in v && "high" in v) {
      const { low, high } = v as { low: number; high: number };
      return high * 2 ** 32 + (low >>> 0);
    }
  }
  return undefined;
}

const MEDIA: [keyof WaMessageContent, Attachment["kind"]][] = [
  ["imageMessage", "image"],
  ["videoMessage", "video"],
  ["audioMessage", "audio"],
  ["documentMessage", "file"],
  ["stickerMessage", "image"],
];

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Map one message from `messages.upsert`. */
export function mapWaMessage(msg: WaMessage, me: WaIdentity): WaMapResult {
  const rawJid = msg.key?.remoteJid;
  const id = msg.key?.id;
  if (!rawJid || !id) return { kind: "ignored", reason: "no remoteJid or id" };
  if (rawJid === "status@broadcast" || rawJid.endsWith("@broadcast") || rawJid.endsWith("@newsletter"))
    return { kind: "ignored", reason: "status / broadcast / newsletter" };
  // Prefer the phone-number form of a DM when WhatsApp addressed it by LID, so a chat keeps one jid.
  const alt = msg.key.remoteJidAlt;
  const chatJid = normalizeJid(rawJid.endsWith("@lid") && alt?.endsWith("@s.whatsapp.net") ? alt : rawJid);
  if (!isWhatsAppJid(chatJid)) return { kind: "ignored", reason: `unsupported jid ${chatJid}` };

  const content = unwrapContent(msg.message);
  if (!content) return { kind: "ignored", reason: "no message content" };

  let text: string | undefined;
  let context: WaContextInfo | null | undefined;
  const attachments: Attachment[] = [];
  if (typeof content.conversation === "string") text = content.conversation;
  if (content.extendedTextMessage) {
    text = content.extendedTextMessage.text ?? text;
    context = content.extendedTextMessage.contextInfo;
  }
  for (const [field, kind] of MEDIA) {
    const media = content[field] as WaMedia | null | undefined;
    if (!media) continue;
    text = media.caption ?? text;
    context ??= media.contextInfo;
    const size = toNumber(media.fileLength);
    attachments.push({
      kind,
      ...(media.fileName ? { name: media.fileName } : {}),
      ...(media.mimetype ? { mimeType: media.mimetype } : {}),
      ...(size !== undefined ? { size } : {}),
    });
  }
  if (text === undefined && attachments.length === 0) {
    const kinds = Object.keys(content).filter((k) => k !== "messageContextInfo");
    return { kind: "ignored", reason: `no text (${kinds.join(", ") || "empty"})` };
  }

  const fromMe = msg.key.fromMe === true;
  const isGroup = chatJid.endsWith("@g.us");
  const participant = msg.key.participantAlt?.endsWith("@s.whatsapp.net")
    ? msg.key.participantAlt
    : msg.key.participant;
  const sender = normalizeJid(fromMe ? (me.jid ?? chatJid) : isGroup ? (participant ?? chatJid) : chatJid);
  const mentioned = (context?.mentionedJid ?? []).some((j) => isMe(j, me));
  let body = text ?? "";
  if (mentioned) {
    // WhatsApp writes a mention as "@<number>" (or "@<lid>") in the text.
    for (const own of [me.jid, me.lid]) {
      const u = jidUser(own);
      if (u) body = body.replace(new RegExp(`@${escapeRegex(u)}\\b`, "g"), `@${me.assistantName}`);
    }
  }
  const seconds = toNumber(msg.messageTimestamp);
  const message: InboundMessage = {
    id,
    chatJid,
    sender,
    senderName: fromMe ? me.assistantName : msg.pushName || jidUser(sender),
    content: body,
    timestamp: seconds !== undefined ? seconds * 1000 : Date.now(),
    // Posted by this account (the bot, or its owner on another device): ours, never agent input.
    ...authorship({ ours: fromMe }),
    ...(mentioned && !fromMe ? { mentionsBot: true } : {}),
    ...(context?.stanzaId ? { replyToId: context.stanzaId } : {}),
    ...(attachments.length ? { attachments } : {}),
  };
  return { kind: "message", message };
}

/** `groups.upsert`: groups we were added to (or created). */
export function mapGroupsUpsert(groups: { id?: string; subject?: string }[]): ChatInfo[] {
  return groups
    .filter((g) => typeof g.id === "string" && g.id.endsWith("@g.us"))
    .map((g) => ({ jid: g.id!, ...(g.subject ? { name: g.subject } : {}), isGroup: true }));
}

/**
 * `group-participants.update`: the chat is discovered when the participants added include us.
 * Baileys 7 sends participant objects ({id, phoneNumber, lid}); older versions sent jid strings.
 */
export function mapParticipantsUpdate(
  update: { id?: string; action?: string; participants?: unknown[] },
  me: WaIdentity,
): ChatInfo | null {
  if (update.action !== "add" || !update.id?.endsWith("@g.us")) return null;
  const ids = (update.participants ?? []).flatMap((p) => {
    if (typeof p === "string") return [p];
    if (p && typeof p === "object") {
      const o = p as { id?: unknown; phoneNumber?: unknown; lid?: unknown };
      return [o.id, o.phoneNumber, o.lid].filter((x): x is string => typeof x === "string");
    }
    return [];
  });
  return ids.some((j) => isMe(j, me)) ? { jid: update.id, isGroup: true } : null;
}
