/**
 * `ngb chat "prompt"`: one message into the running serve's webchat; prints the assistant's
 * messages as they arrive over the WebSocket (tool-sent ones included) and exits when the
 * agent's turn is over (typing off) or at --timeout.
 */
import { defineCommand } from "citty";
import { UserError } from "../util/errors.ts";
import { globalArgs, jsonArg, loadContext, UsageError } from "./common.ts";
import { errorText, serveFetch, serveTarget } from "./serve-client.ts";

interface PushEvent {
  type: "ready" | "message" | "typing";
  from?: "assistant" | "user";
  text?: string;
  on?: boolean;
  seq?: number;
  at?: string;
}

export default defineCommand({
  meta: { name: "chat", description: "Send one message to the running serve's webchat and print the reply" },
  args: {
    ...globalArgs,
    ...jsonArg,
    prompt: { type: "positional", description: "The message", required: true },
    chat: { type: "string", description: "Web chat id (default: default, i.e. web:default)" },
    timeout: { type: "string", description: "Seconds to wait for the reply (default 300)" },
    url: { type: "string", description: "Base URL of ngb serve (default from web.host / web.port)" },
    name: { type: "string", description: "Sender name shown to the agent (default: User)" },
  },
  async run({ args }) {
    const timeoutSec = args.timeout === undefined ? 300 : Number(args.timeout);
    if (!Number.isFinite(timeoutSec) || timeoutSec <= 0)
      throw new UsageError(
        `ngb chat: --timeout must be a positive number of seconds (got "${args.timeout}")`,
      );
    const chatId = args.chat ?? "default";
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(chatId))
      throw new UsageError(`ngb chat: --chat must be 1-64 letters, digits, - or _ (got "${chatId}")`);
    if (!args.prompt.trim()) throw new UsageError("ngb chat: the prompt is empty");
    const { config } = await loadContext({ ...args, "log-level": args["log-level"] ?? "warn" });
    const target = await serveTarget(config, args.url);

    const wsUrl = `${target.url.replace(/^http/, "ws")}/api/webchat/ws?chatId=${encodeURIComponent(chatId)}`;
    const ws = new WebSocket(wsUrl, {
      headers: { authorization: `Bearer ${target.token}` },
    } as unknown as string[]);
    let posted = false;
    let replies = 0;
    let finish!: (code: number) => void;
    let fail!: (err: Error) => void;
    const done = new Promise<number>((res, rej) => {
      finish = res;
      fail = rej;
    });
    let quiet: ReturnType<typeof setTimeout> | undefined;
    const timer = setTimeout(
      () =>
        replies > 0
          ? finish(0)
          : fail(new UserError(`no reply within ${timeoutSec}s (see \`ngb logs main\` and the serve log)`)),
      timeoutSec * 1000,
    );
    ws.onerror = () =>
      fail(
        new UserError(
          `cannot reach ngb serve at ${target.url} (WebSocket failed); start it with \`ngb serve\``,
        ),
      );
    ws.onclose = (e) => {
      if (!posted)
        fail(new UserError(`ngb serve closed the chat connection (${e.code} ${e.reason || "no reason"})`));
      else finish(replies > 0 ? 0 : 1);
    };
    ws.onmessage = async (m) => {
      let ev: PushEvent;
      try {
        ev = JSON.parse(String(m.data));
      } catch {
        return;
      }
      if (ev.type === "ready" && !posted) {
        posted = true;
        const res = await serveFetch(target, "/api/webchat/messages", {
          method: "POST",
          body: JSON.stringify({
            chatId,
            text: args.prompt,
            ...(args.name ? { senderName: args.name } : {}),
          }),
        }).catch((err: Error) => err);
        if (res instanceof Error) return fail(res);
        if (!res.ok) return fail(new UserError(`serve refused the message: ${await errorText(res)}`));
        const body = (await res.json()) as { chatJid: string; registered: boolean };
        if (!body.registered)
          fail(
            new UserError(
              `${body.chatJid} is not a registered group, so nobody answers; register it with \`ngb groups add ${body.chatJid} --folder <name>\``,
            ),
          );
        return;
      }
      if (!posted) return;
      if (ev.type === "message" && ev.from === "assistant") {
        replies++;
        clearTimeout(quiet);
        if (args.json) process.stdout.write(`${JSON.stringify({ text: ev.text, seq: ev.seq, at: ev.at })}\n`);
        else process.stdout.write(`${ev.text}\n`);
      } else if (ev.type === "typing" && ev.on === false && replies > 0) {
        // The turn is over; allow a moment for a trailing message, then leave.
        clearTimeout(quiet);
        quiet = setTimeout(() => finish(0), 300);
      } else if (ev.type === "typing" && ev.on) clearTimeout(quiet);
    };
    try {
      process.exitCode = await done;
    } finally {
      clearTimeout(timer);
      clearTimeout(quiet);
      ws.close();
    }
  },
});
