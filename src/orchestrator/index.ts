/**
 * The orchestrator: the channel contract, the message → agent → reply loop, delivery with
 * idempotency keys, group registration and the IPC snapshot files.
 */
export type * from "./channel.ts";
export {
  createDelivery,
  type Deliver,
  type DeliverOutcome,
  type DeliverRequest,
  DeliveryError,
  findChannel,
  NoChannelError,
} from "./delivery.ts";
export { escapeXml, formatMessages } from "./format.ts";
export { ensureGroupFolder, registerGroup, type RegisterGroupDeps } from "./groups.ts";
export {
  createOrchestrator,
  type Orchestrator,
  type OrchestratorDeps,
  type PromptOutcome,
  type TaskRunOutcome,
} from "./orchestrator.ts";
export { ensureIpcDirs, ipcDir, type TasksSnapshot, writeJsonAtomic, writeSnapshots } from "./snapshots.ts";
export { isTriggered, triggerRegex } from "./trigger.ts";
