/** IPC from agents: requests over the container's stdio, validated, authorized by identity, acted on. */
export {
  createIpcHandler,
  type IpcActor,
  type IpcHandlerOptions,
  IpcRejectedError,
  type IpcTaskOps,
} from "./requests.ts";
