/**
 * Reassembly of events the server splits over several data frames (headers `sum` / `seq`,
 * grouped by `message_id`), bounded: at most `maxParts` parts and `maxBytes` bytes per event,
 * `maxPending` events in flight, and partial sets dropped after `ttlMs` (10 s, as the SDK does).
 */

export class FragmentError extends Error {
  override name = "FragmentError";
}

export interface Reassembler {
  /** Add one part; returns the whole payload once every part is in, else undefined. */
  add(
    messageId: string,
    sumRaw: string | undefined,
    seqRaw: string | undefined,
    part: Uint8Array,
  ): Uint8Array | undefined;
  readonly pending: number;
  clear(): void;
}

export function createReassembler(
  opts: {
    ttlMs?: number;
    maxParts?: number;
    maxBytes?: number;
    maxPending?: number;
    now?: () => number;
  } = {},
): Reassembler {
  const ttl = opts.ttlMs ?? 10_000;
  const maxParts = opts.maxParts ?? 64;
  const maxBytes = opts.maxBytes ?? 4 * 1024 * 1024;
  const maxPending = opts.maxPending ?? 256;
  const now = opts.now ?? Date.now;
  const sets = new Map<string, { parts: (Uint8Array | undefined)[]; bytes: number; at: number }>();

  const sweep = () => {
    const t = now();
    for (const [id, s] of sets) if (t - s.at > ttl) sets.delete(id);
  };

  return {
    add(messageId, sumRaw, seqRaw, part) {
      const sum = sumRaw === undefined ? 1 : Number(sumRaw);
      const seq = seqRaw === undefined ? 0 : Number(seqRaw);
      if (
        !Number.isInteger(sum) ||
        sum < 1 ||
        sum > maxParts ||
        !Number.isInteger(seq) ||
        seq < 0 ||
        seq >= sum
      ) {
        throw new FragmentError(`bad fragment metadata (sum ${sumRaw}, seq ${seqRaw})`);
      }
      if (sum === 1) {
        if (part.length > maxBytes)
          throw new FragmentError(`event of ${part.length} bytes is over the limit`);
        return part;
      }
      if (!messageId) throw new FragmentError("split event without a message_id");
      sweep();
      let set = sets.get(messageId);
      if (!set) {
        if (sets.size >= maxPending) throw new FragmentError("too many partial events pending");
        set = { parts: new Array(sum).fill(undefined), bytes: 0, at: now() };
        sets.set(messageId, set);
      }
      if (set.parts.length !== sum) {
        sets.delete(messageId);
        throw new FragmentError(
          `fragment sum ${sum} disagrees with the first fragment's ${set.parts.length}`,
        );
      }
      set.bytes += part.length - (set.parts[seq]?.length ?? 0);
      if (set.bytes > maxBytes) {
        sets.delete(messageId);
        throw new FragmentError(`split event grew over ${maxBytes} bytes`);
      }
      set.parts[seq] = part;
      if (set.parts.some((p) => p === undefined)) return undefined;
      sets.delete(messageId);
      return Buffer.concat(set.parts as Uint8Array[]);
    },
    get pending() {
      return sets.size;
    },
    clear() {
      sets.clear();
    },
  };
}
