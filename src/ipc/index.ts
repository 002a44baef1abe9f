/** IPC from agents: validated, authorized by directory, acted on; bad files moved aside. */
export {
  createIpcWatcher,
  type IpcActor,
  IpcRejectedError,
  type IpcTaskOps,
  type IpcWatcher,
  type IpcWatcherOptions,
} from "./watcher.ts";
