/** Feishu / Lark channel: public surface. */
export { createFeishuApi, FeishuApiError, FeishuAuthError, FeishuNetworkError } from "./api.ts";
export {
  createFeishuChannel,
  FEISHU_BASE_URLS,
  type FeishuChannel,
  type FeishuChannelOptions,
  type FeishuConfig,
  FeishuConfigError,
  type FeishuSendOptions,
} from "./channel.ts";
export { decryptEvent, encryptEvent, eventSignature } from "./crypto.ts";
export { type BotInfo, FEISHU_PREFIX, mapEvent, parseEnvelope } from "./events.ts";
export { decodeFrame, encodeFrame, type Frame, FrameDecodeError } from "./frame.ts";
