/**
 * WhatsApp channel (baileys, multi-device): public surface. Importing this module does not load
 * baileys; only connect() does.
 *
 * Set-up: `channels.whatsapp.enabled: true`, run `ngb serve`, scan the QR printed in the
 * terminal (or shown on the dashboard) with WhatsApp → Settings → Linked devices; or set
 * `channels.whatsapp.pairingPhone` (digits with country code) and type the printed pairing code
 * on the phone. The session is kept in `<storeDir>/whatsapp-auth/`; after a logout it is cleared
 * and the next start shows a new QR. Chats are native jids (`…@s.whatsapp.net`, `…@g.us`).
 */
export {
  type BaileysApi,
  createWhatsAppChannel,
  loadBaileys,
  WA_CLOSE,
  type WaSocket,
  WHATSAPP_TEXT_LIMIT,
  type WhatsAppChannelOptions,
  WhatsAppNotConnectedError,
} from "./whatsapp.ts";
export { isWhatsAppJid, mapWaMessage, type WaMessage } from "./mapping.ts";
export { renderQr } from "./qr.ts";
