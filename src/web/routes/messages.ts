/** Chats discovered, messages paged by chat (seq cursor), and full-text search. */
import * as v from "valibot";
import type { Api } from "../api.ts";
import { IntString, Jid, must, TimeString } from "../api.ts";
import { ValidationError } from "../errors.ts";
import type { ApiContext } from "./context.ts";

export const MessagePageQuery = v.object({
  before: v.optional(IntString()),
  limit: v.optional(IntString(500)),
});

export const SearchQuery = v.object({
  q: v.pipe(v.string(), v.minLength(1, "is required"), v.maxLength(500)),
  chat: v.optional(Jid),
  from: v.optional(TimeString),
  to: v.optional(TimeString),
  limit: v.optional(IntString(200)),
  offset: v.optional(IntString(10_000)),
});

export function messageRoutes(api: Api, ctx: ApiContext): void {
  const { store } = ctx.deps;

  api.route(
    { method: "get", path: "/api/chats", tag: "messages", summary: "Chats seen on any channel" },
    (c) => {
      const registered = new Map(store.groups.list().map((g) => [g.jid, g.folder]));
      return c.json({
        chats: store.messages.chats().map((ch) => ({ ...ch, groupFolder: registered.get(ch.jid) ?? null })),
      });
    },
  );

  api.route(
    {
      method: "get",
      path: "/api/chats/:jid/messages",
      tag: "messages",
      summary: "Messages of a chat, newest first; page with `before` = the smallest seq you have",
      params: v.strictObject({ jid: Jid }),
      query: MessagePageQuery,
    },
    (c, { params, query }) => {
      must(store.messages.chat(params.jid), "chat", params.jid);
      const limit = Math.max(query.limit ?? 50, 1);
      const messages = store.messages.page(params.jid, query.before, limit);
      const last = messages.at(-1);
      return c.json({ messages, nextBefore: messages.length === limit && last ? last.seq : null });
    },
  );

  api.route(
    {
      method: "get",
      path: "/api/messages/search",
      tag: "messages",
      summary: "Full-text search (words are matched as prefixes; FTS operators are searched literally)",
      query: SearchQuery,
    },
    (c, { query }) => {
      if (query.from !== undefined && query.to !== undefined && query.from > query.to)
        throw new ValidationError("query from: must not be after to");
      const hits = store.messages.search(query.q, {
        chatJid: query.chat,
        from: query.from,
        to: query.to,
        limit: Math.max(query.limit ?? 50, 1),
        offset: query.offset,
      });
      return c.json({ hits });
    },
  );
}
