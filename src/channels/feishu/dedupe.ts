/**
 * A bounded set of recently seen ids (insertion-ordered, oldest evicted first): event
 * de-duplication for platforms that re-push an event until it is acknowledged.
 */
export interface SeenIds {
  has(id: string): boolean;
  add(id: string): void;
  readonly size: number;
}

export function createSeenIds(max = 10_000): SeenIds {
  const ids = new Set<string>();
  return {
    has: (id) => ids.has(id),
    add(id) {
      ids.delete(id);
      ids.add(id);
      if (ids.size > max) ids.delete(ids.values().next().value as string);
    },
    get size() {
      return ids.size;
    },
  };
}
