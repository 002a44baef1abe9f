/**
 * From a chat's open messages to agent inputs. Messages are split by thread (Slack thread,
 * Telegram forum topic…): one input per thread, so an answer is never about two threads at once
 * and goes back to the thread it answers. A thread's input is made only when it holds a message
 * that triggers (or the group needs no trigger); until then its messages wait as context.
 * An input's id is derived from the seqs it covers, so it is the same whenever the same
 * messages are handed over again (after a crash: the reply key stays the same too).
 */
import type { Config } from "../config/index.ts";
import type { RegisteredGroup, StoredMessage } from "../store/index.ts";
import { formatMessages } from "./format.ts";
import { isTriggered } from "./trigger.ts";

/** Open messages of a chat looked at per run (newest first): a flood never hides the newest. */
export const PENDING_WINDOW = 500;
/** Messages of one thread shown to the agent in one input (the older ones count as answered). */
export const MAX_SHOWN = 100;

export interface Batch {
  /** Input id (`m<firstSeq>-<lastSeq>`). */
  id: string;
  /** Every message the input covers. */
  seqs: number[];
  /** Runner thread key: "" for the chat's main line. */
  thread: string;
  /** Platform thread/topic id for the reply. */
  threadId?: string;
  /** Stored id of the newest triggering message: the reply quotes it where configured. */
  replyToId?: string;
  text: string;
}

export function buildBatches(
  group: RegisteredGroup,
  open: readonly StoredMessage[],
  config: Config,
  exclude?: ReadonlySet<number>,
): Batch[] {
  const byThread = new Map<string, StoredMessage[]>();
  for (const m of open) {
    if (exclude?.has(m.seq)) continue;
    const key = m.threadId ?? "";
    const list = byThread.get(key);
    if (list) list.push(m);
    else byThread.set(key, [m]);
  }
  const out: Batch[] = [];
  for (const [thread, msgs] of byThread) {
    let trigger: StoredMessage | undefined;
    for (let i = msgs.length - 1; i >= 0 && !trigger; i--)
      if (isTriggered(msgs[i]!, group, config)) trigger = msgs[i];
    if (!trigger) continue;
    const shown = msgs.length > MAX_SHOWN ? msgs.slice(-MAX_SHOWN) : msgs;
    out.push({
      id: `m${msgs[0]!.seq}-${msgs[msgs.length - 1]!.seq}`,
      seqs: msgs.map((m) => m.seq),
      thread,
      ...(thread ? { threadId: thread } : {}),
      replyToId: trigger.id,
      text: formatMessages(shown),
    });
  }
  return out.sort((a, b) => a.seqs[0]! - b.seqs[0]!);
}
