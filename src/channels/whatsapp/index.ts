/**
 * WhatsApp channel (baileys, multi-device): public surface. Importing this module does not load
 * baileys; only connect() does.
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
