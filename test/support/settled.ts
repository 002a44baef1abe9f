/**
 * "Nothing more will happen" read from the store, for checks that something did NOT happen (a
 * second answer, a late echo): wait for these instead of sleeping.
 */
import type { Store } from "../../src/store/index.ts";

/** No reply waits in the outbox: none pending, none being sent. */
export function outboxDrained(store: Store): boolean {
  return store.outbox.recent("pending", 1).length === 0 && store.outbox.recent("sending", 1).length === 0;
}

/** The outbox is drained and no agent-visible message of these chats is still open. */
export function chatsAtRest(store: Store, jids: readonly string[]): boolean {
  return outboxDrained(store) && jids.every((jid) => store.turns.pending(jid, 1).length === 0);
}
