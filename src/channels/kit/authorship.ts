/**
 * "This message is ours": the one rule every channel applies to what the platform delivers.
 * - A post by this bot account (the platform's echo of our own reply, or a post from an earlier
 *   run) is `isFromMe` AND `isBot`: stored for the history, never a trigger, never agent input.
 * - A post by another bot or integration is `isBot`: stored, never agent input.
 * Platforms that echo our posts (Discord, Slack) can also recognise the echo of a post this
 * process just made with `createOwnPosts()` and skip it, because delivery already stored it.
 */

export interface Authorship {
  isFromMe?: true;
  isBot?: true;
}

export function authorship(author: {
  /** Written by this bot account. */
  ours: boolean;
  /** Written by a bot (any). */
  bot?: boolean;
}): Authorship {
  if (author.ours) return { isFromMe: true, isBot: true };
  if (author.bot) return { isBot: true };
  return {};
}

export interface OwnPosts {
  /** Remember a post we are about to make (by a key the echo will carry: nonce, id or text). */
  note(key: string): void;
  /** True, once per note, when `key` is a post we made recently. */
  consume(key: string): boolean;
  readonly size: number;
}

/** Recently made posts, each recognisable once, forgotten after `ttlMs` (bounded by `max`). */
export function createOwnPosts(options: { ttlMs?: number; max?: number; now?: () => number } = {}): OwnPosts {
  const ttl = options.ttlMs ?? 5 * 60_000;
  const max = options.max ?? 5_000;
  const now = options.now ?? Date.now;
  const posts = new Map<string, { count: number; at: number }>();
  const prune = (t: number) => {
    for (const [k, p] of posts) {
      if (t - p.at <= ttl && posts.size <= max) break;
      posts.delete(k);
    }
  };
  return {
    note(key) {
      const t = now();
      const cur = posts.get(key);
      posts.delete(key); // re-insert: the map stays ordered oldest first
      posts.set(key, { count: (cur?.count ?? 0) + 1, at: t });
      prune(t);
    },
    consume(key) {
      const cur = posts.get(key);
      if (!cur) return false;
      if (now() - cur.at > ttl) {
        posts.delete(key);
        return false;
      }
      if (cur.count <= 1) posts.delete(key);
      else cur.count--;
      return true;
    },
    get size() {
      return posts.size;
    },
  };
}
