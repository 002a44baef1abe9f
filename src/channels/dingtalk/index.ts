/**
 * DingTalk channel (Stream mode + robot OpenAPI): public surface. Set-up: docs/channels/dingtalk.md.
 */
export {
  createDingTalkApi,
  type DingTalkApi,
  DingTalkApiError,
  DingTalkConfigError,
  DingTalkNetworkError,
} from "./api.ts";
export {
  createDingTalkChannel,
  type DingTalkChannel,
  type DingTalkChannelOptions,
  type DingTalkConfig,
} from "./channel.ts";
export { DINGTALK_TEXT_LIMIT } from "./format.ts";
export { ackFrame, parseFrame, type StreamFrame, TOPIC_ROBOT } from "./frames.ts";
export { groupJid, parseJid, RobotMessage, userJid } from "./map.ts";
