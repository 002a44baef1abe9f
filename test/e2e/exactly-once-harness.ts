/**
 * The exactly-once harness (issue 9): the compiled `ngb serve`, the real agent image with the
 * real Claude Agent SDK, a fake Telegram Bot API and a fake model that answers "ACK <tokens>"
 * naming every message token it was shown. Messages go to five chats — a plain group with no
 * trigger, a forum group with two topics, a group that answers only @-mentions, and a private
 * chat — in bursts; optionally serve is SIGKILLed at chosen points and restarted. Afterwards,
 * per message: answered? answered more than once? in its own topic? in the stored history?
 *
 * Used by test/e2e/exactly-once.test.ts (small, in CI) and by the bench (larger).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../src/store/index.ts";
import { type FakeAnthropic, lastUserText, startFakeAnthropic } from "../fakes/anthropic.ts";
import { createFakeTelegram, type FakeTelegram } from "../fakes/telegram.ts";
import type { ServeHandle } from "../support/ngb.ts";
import { until } from "../support/wait.ts";
import { serveEnv, startServe, TOKEN } from "./serve-rig.ts";

export type KillPoint = "after-accept" | "mid-run" | "after-inbound" | "startup";

export interface ScenarioOptions {
  /** Triggering messages in total (spread over the chats). */
  messages: number;
  /** Gap between messages of a burst, ms. */
  gapMs?: number;
  /** Messages per burst. */
  burst?: number;
  /** Kill points, used in turn, one kill each. */
  kills?: KillPoint[];
  /** Fake model latency per turn, ms. */
  modelDelayMs?: number;
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface ScenarioResult {
  messages: number;
  kills: number;
  lost: string[];
  twice: string[];
  wrongThread: string[];
  missingFromHistory: string[];
  /** Inbound → reply accepted by the platform, ms (no-crash runs only meaningful). */
  latencies: number[];
  replies: number;
}

interface Chat {
  id: number;
  jid: string;
  type: "group" | "supergroup" | "private";
  topics?: number[];
  mention?: boolean;
}

const CHATS: Chat[] = [
  { id: -1001, jid: "tg:-1001", type: "group" },
  { id: -1002, jid: "tg:-1002", type: "supergroup", topics: [11, 12] },
  { id: -1003, jid: "tg:-1003", type: "group", mention: true },
  { id: 4242, jid: "tg:4242", type: "private" },
];

const TOKEN_RE = /\bQ(\d+)Z\b/g;

export async function runScenario(opts: ScenarioOptions): Promise<ScenarioResult> {
  const log = opts.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), "ngb-e2e-once-"));
  const tg: FakeTelegram = createFakeTelegram();
  let fake: FakeAnthropic | undefined;
  let serve: ServeHandle | undefined;
  let killNext: KillPoint | undefined;
  const kills = [...(opts.kills ?? [])];
  let killed = 0;
  const sentAt = new Map<string, number>();
  const expectThread = new Map<string, number | undefined>();
  const chatOf = new Map<string, Chat>();
  const replyTimes: number[] = [];

  const kill = (why: string) => {
    if (!serve || serve.proc.exitCode !== null) return;
    log(`SIGKILL (${why})`);
    serve.proc.kill("SIGKILL");
    killed++;
    killNext = undefined;
  };

  // Kill right after the platform accepted a reply.
  const push = tg.sent.push.bind(tg.sent);
  tg.sent.push = (...items) => {
    const n = push(...items);
    replyTimes.push(performance.now());
    if (killNext === "after-accept") kill("platform accepted a reply");
    return n;
  };

  try {
    fake = startFakeAnthropic({
      script: async (req) => {
        if (killNext === "mid-run") setTimeout(() => kill("agent mid-run"), 5);
        const tokens = [...lastUserText(req).matchAll(TOKEN_RE)].map((m) => `Q${m[1]}Z`);
        if (opts.modelDelayMs) await Bun.sleep(opts.modelDelayMs);
        return { text: tokens.length ? `ACK ${[...new Set(tokens)].join(" ")}` : "nothing to ack" };
      },
    });
    writeFileSync(
      join(dir, "ngb.config.json"),
      JSON.stringify({
        channels: {
          telegram: { enabled: true, apiBaseUrl: tg.url, botToken: tg.token, pollTimeoutSec: 1 },
        },
        container: { idleTimeoutMs: 60_000 },
        retryBaseMs: 500,
      }),
      { mode: 0o600 },
    );
    const env = serveEnv(dir, fake, { NGB_LOG_LEVEL: "info" });
    const up = async () => {
      serve = await startServe({ cwd: dir, env, timeoutMs: 30_000 });
      if (killNext === "startup") setTimeout(() => kill("during start-up recovery"), 150);
    };
    await up();
    for (const c of CHATS) {
      const res = await fetch(`${serve!.url}/api/groups`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({
          jid: c.jid,
          name: `chat ${c.id}`,
          folder: `tg${Math.abs(c.id)}`,
          requiresTrigger: c.mention === true,
        }),
      });
      if (!res.ok) throw new Error(`registering ${c.jid}: ${res.status} ${await res.text()}`);
    }

    const burst = opts.burst ?? 3;
    const gap = opts.gapMs ?? 300;
    for (let i = 1; i <= opts.messages; i++) {
      const c = CHATS[(Math.floor((i - 1) / burst) + (i - 1)) % CHATS.length]!;
      const topic = c.topics ? c.topics[i % c.topics.length] : undefined;
      const token = `Q${i}Z`;
      const mention = c.mention ? `@${tg.botUsername} ` : "";
      const text = `${mention}${token} please`;
      if (c.mention && i % 2 === 0) tg.pushMessage({ chatId: c.id, chatType: c.type, text: "just chatting" });
      sentAt.set(token, performance.now());
      expectThread.set(token, topic);
      chatOf.set(token, c);
      tg.pushMessage({
        chatId: c.id,
        chatType: c.type,
        chatTitle: `chat ${c.id}`,
        text,
        threadId: topic,
        ...(c.mention ? { entities: [{ type: "mention", offset: 0, length: tg.botUsername.length + 1 }] } : {}),
      });
      if (killNext === "after-inbound") setTimeout(() => kill("inbound update handed over"), 30);
      // Arm the next kill point every few messages, restart what was killed.
      if (kills.length && i % Math.max(1, Math.floor(opts.messages / (kills.length + 1))) === 0 && !killNext)
        killNext = kills.shift();
      if (serve && serve.proc.exitCode !== null) await up();
      await Bun.sleep(i % burst === 0 ? gap * 3 : gap);
    }
    const answered = () => {
      const seen = new Set<string>();
      for (const s of tg.sent) for (const m of s.text.matchAll(TOKEN_RE)) seen.add(`Q${m[1]}Z`);
      return seen;
    };
    await until(
      async () => {
        if (serve && serve.proc.exitCode !== null) await up();
        if (killNext && killed < (opts.kills?.length ?? 0)) return false;
        return answered().size >= opts.messages;
      },
      { timeoutMs: opts.timeoutMs ?? 180_000, intervalMs: 100, what: "every message answered" },
    ).catch((err) => log(String(err)));
    // Let anything in flight settle (a duplicate would show up here).
    await Bun.sleep(1500);
    await serve?.stop();

    // ---- per message ----
    const count = new Map<string, number>();
    const wrongThread: string[] = [];
    const latencies: number[] = [];
    for (const [idx, s] of tg.sent.entries()) {
      for (const m of s.text.matchAll(TOKEN_RE)) {
        const token = `Q${m[1]}Z`;
        count.set(token, (count.get(token) ?? 0) + 1);
        const want = expectThread.get(token);
        const chat = chatOf.get(token);
        if (chat && String(s.chat_id) !== String(chat.id)) wrongThread.push(token);
        else if (want !== undefined && s.message_thread_id !== want) wrongThread.push(token);
        const t0 = sentAt.get(token);
        const t1 = replyTimes[idx];
        if (t0 !== undefined && t1 !== undefined && count.get(token) === 1) latencies.push(t1 - t0);
      }
    }
    const tokens = [...sentAt.keys()];
    const store = openStore(join(dir, "store", "ngb.db"), { readonly: true });
    const history = new Set<string>();
    try {
      for (const c of CHATS)
        for (const m of store.messages.since(c.jid, 0, 100_000))
          if (m.isFromMe) for (const t of m.content.matchAll(TOKEN_RE)) history.add(`Q${t[1]}Z`);
    } finally {
      store.close();
    }
    return {
      messages: tokens.length,
      kills: killed,
      lost: tokens.filter((t) => !count.has(t)),
      twice: tokens.filter((t) => (count.get(t) ?? 0) > 1),
      wrongThread,
      missingFromHistory: tokens.filter((t) => count.has(t) && !history.has(t)),
      latencies,
      replies: tg.sent.length,
    };
  } finally {
    if (serve && serve.proc.exitCode === null) await serve.stop("SIGKILL").catch(() => {});
    tg.stop();
    await fake?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
