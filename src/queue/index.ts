/** The group queue: per-group serialization, global concurrency, FIFO fairness, retries. */
export {
  createGroupQueue,
  type GroupQueue,
  type GroupQueueOptions,
  NoRetryError,
  RetryLaterError,
  type QueueJob,
  type QueueStats,
  type QueueTimers,
} from "./group-queue.ts";
