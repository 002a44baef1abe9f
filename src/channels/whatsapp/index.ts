/**
 * WhatsApp (baileys, multi-device). The definition only: the adapter (`channel.ts`) is imported
 * when the channel is enabled, and baileys itself only when it connects.
 *
 * Set-up: `channels.whatsapp.enabled: true`, run `ngb serve`, scan the QR printed in the
 * terminal (or shown on the dashboard) with WhatsApp → Settings → Linked devices; or set
 * `channels.whatsapp.pairingPhone` (digits with country code) and type the printed pairing code
 * on the phone. The session is kept in `<storeDir>/whatsapp-auth/`; after a logout it is cleared
 * and the next start shows a new QR. Chats are native jids (`…@s.whatsapp.net`, `…@g.us`).
 */
import { join } from "node:path";
import * as v from "valibot";
import { defineChannel } from "../kit/define.ts";

/** Native WhatsApp chat ids: a person, a group, or a LID. */
export function isWhatsAppJid(jid: string): boolean {
  return jid.endsWith("@s.whatsapp.net") || jid.endsWith("@g.us") || jid.endsWith("@lid");
}

export const whatsapp = defineChannel({
  name: "whatsapp",
  title: "WhatsApp",
  ownsJid: isWhatsAppJid,
  configSchema: v.strictObject({
    /** WebSocket URL of the WhatsApp Web endpoint (tests point it at loopback). */
    waWebSocketUrl: v.optional(v.string()),
    /** Phone number (digits) to pair by code instead of QR. */
    pairingPhone: v.optional(v.string()),
    printQr: v.optional(v.boolean(), true),
  }),
  async create(ctx) {
    const { createWhatsAppChannel } = await import("./channel.ts");
    const c = ctx.config;
    return createWhatsAppChannel({
      authDir: join(ctx.storeDir, "whatsapp-auth"),
      assistantName: ctx.assistantName,
      log: ctx.log,
      printQr: c.printQr,
      ...(c.waWebSocketUrl ? { waWebSocketUrl: c.waWebSocketUrl } : {}),
      ...(c.pairingPhone ? { pairingPhone: c.pairingPhone } : {}),
    });
  },
});
