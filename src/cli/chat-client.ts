/**
 * One message through the running serve's webchat, its replies as they arrive (WebSocket), and
 * what the agent is doing meanwhile (live events: container starting, model working, tool
 * calls, tokens) for a progress line. Shared by `ngb chat` and `ngb setup`'s first message.
 * A credentials failure ends the wait at once with the proxy's sentence.
 */
import { findAuthFailureSentence } from "../proxy/index.ts";
import { UserError } from "../util/errors.ts";
import { formatTokens, type Progress } from "./progress.ts";
import { errorText, type ServeTarget, serveFetch } from "./serve-client.ts";

interface PushEvent {
  type: "ready" | "message" | "typing";
  from?: "assistant" | "user";
  text?: string;
  on?: boolean;
  seq?: number;
  at?: string;
}

export interface Reply {
  text: string;
  seq?: number;
  at?: string;
}

export interface ChatOnceOptions {
  target: ServeTarget;
  chatId: string;
  prompt: string;
  senderName?: string;
  timeoutSec: number;
  onReply(reply: Reply): void;
  progress?: Progress;
}

export class AuthFailureError extends UserError {
  override name = "AuthFailureError";
}

/** Live events of one chat's agent, turned into progress text. */
export function activityWatcher(
  target: ServeTarget,
  match: (payload: { chatJid?: string; groupFolder?: string }) => boolean,
  on: {
    status(text: string): void;
    failed(sentence: string): void;
  },
): { stop(): void; tokens(): { input: number; output: number } } {
  const ctrl = new AbortController();
  let input = 0;
  let output = 0;
  let folder: string | undefined;
  const types = "agent.started,agent.activity,agent.usage,agent.auth.failed,agent.output,agent.finished";
  const tokens = () =>
    input + output > 0 ? ` · ${formatTokens(input)} in / ${formatTokens(output)} out` : "";
  const handle = (name: string, data: Record<string, unknown>) => {
    const byFolder = name === "agent.usage" || name === "agent.auth.failed";
    const mine = (byFolder && folder !== undefined && data.groupFolder === folder) || match(data);
    if (!mine) return;
    if (typeof data.groupFolder === "string") folder = data.groupFolder;
    if (name === "agent.started") on.status("starting the agent's container");
    else if (name === "agent.activity")
      on.status(
        data.kind === "tool" ? `tool: ${String(data.name ?? "?")}${tokens()}` : `agent working${tokens()}`,
      );
    else if (name === "agent.auth.failed") on.failed(String(data.sentence));
    else if (name === "agent.usage") {
      input += Number(data.inputTokens) || 0;
      output += Number(data.outputTokens) || 0;
      on.status(`agent working${tokens()}`);
    } else if (name === "agent.output" || name === "agent.finished") {
      const sentence = findAuthFailureSentence(String(data.error ?? data.result ?? ""));
      if (sentence) on.failed(sentence);
    }
  };
  void (async () => {
    const res = await serveFetch(target, `/api/events?types=${types}`, { signal: ctrl.signal }).catch(
      () => null,
    );
    if (!res?.ok || !res.body) return;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        buf += decoder.decode(r.value, { stream: true });
        let end = buf.indexOf("\n\n");
        while (end >= 0) {
          const frame = buf.slice(0, end);
          buf = buf.slice(end + 2);
          end = buf.indexOf("\n\n");
          const event = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (!event || !data) continue;
          try {
            handle(event, (JSON.parse(data) as { data: Record<string, unknown> }).data ?? {});
          } catch {
            // a malformed frame is skipped
          }
        }
      }
    } catch {
      // aborted or the server went away: progress is best effort
    }
  })();
  return { stop: () => ctrl.abort(), tokens: () => ({ input, output }) };
}

/** Sends the prompt and resolves with the number of replies once the agent's turn is over. */
export async function chatOnce(o: ChatOnceOptions): Promise<{ replies: number }> {
  const { target, chatId } = o;
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
  const progress = o.progress;
  const jid = `web:${chatId}`;
  // Always watched (a credentials failure ends the wait); shown only on a terminal.
  const watcher = activityWatcher(target, (p) => p.chatJid === jid, {
    status: (t) => progress?.status(t),
    failed: (s) => fail(new AuthFailureError(s)),
  });
  let quiet: ReturnType<typeof setTimeout> | undefined;
  const timer = setTimeout(
    () =>
      replies > 0
        ? finish(0)
        : fail(
            new UserError(
              `no reply within ${o.timeoutSec}s (see \`ngb status\`, \`ngb logs main\` and the serve log)`,
            ),
          ),
    o.timeoutSec * 1000,
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
      progress?.status("sending");
      const res = await serveFetch(target, "/api/webchat/messages", {
        method: "POST",
        body: JSON.stringify({
          chatId,
          text: o.prompt,
          ...(o.senderName ? { senderName: o.senderName } : {}),
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
      else progress?.status("waiting for the agent");
      return;
    }
    if (!posted) return;
    if (ev.type === "message" && ev.from === "assistant") {
      const sentence = findAuthFailureSentence(ev.text ?? "");
      if (sentence) return fail(new AuthFailureError(sentence));
      replies++;
      clearTimeout(quiet);
      progress?.clear();
      o.onReply({ text: ev.text ?? "", seq: ev.seq, at: ev.at });
    } else if (ev.type === "typing" && ev.on === false && replies > 0) {
      // The turn is over; allow a moment for a trailing message, then leave.
      clearTimeout(quiet);
      quiet = setTimeout(() => finish(0), 300);
    } else if (ev.type === "typing" && ev.on) clearTimeout(quiet);
  };
  try {
    await done;
    const t = watcher.tokens();
    if (progress?.enabled && t.input + t.output > 0)
      progress.note(`tokens: ${formatTokens(t.input)} in / ${formatTokens(t.output)} out`);
    return { replies };
  } finally {
    clearTimeout(timer);
    clearTimeout(quiet);
    watcher.stop();
    progress?.clear();
    ws.close();
  }
}
