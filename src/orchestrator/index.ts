/**
 * The orchestrator: the channel contract, the message → agent → reply loop, the outbox sender
 * and group registration.
 */
export type * from "./channel.ts";
export {
  createDelivery,
  type Deliver,
  type DeliverOutcome,
  type DeliverRequest,
  DeliveryError,
  findChannel,
  isPermanentSendError,
  NoChannelError,
  type UnknownFatePolicy,
} from "./delivery.ts";
export { escapeXml, formatMessages } from "./format.ts";
export { ensureGroupFolder, registerGroup, type RegisterGroupDeps } from "./groups.ts";
export { noopHooks, type PipelineHooks } from "./hooks.ts";
export type { HandleRequest } from "./message-run.ts";
export {
  createOrchestrator,
  type Orchestrator,
  type OrchestratorDeps,
  type PromptOutcome,
  type TaskRunOutcome,
} from "./orchestrator.ts";
export { replyText } from "./reply-text.ts";
export { isTriggered, triggerRegex } from "./trigger.ts";
