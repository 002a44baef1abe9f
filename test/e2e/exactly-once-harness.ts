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
import { chatsAtRest } from "../support/settled.ts";
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
  const kills = opts.kills ?? [];
  let killed = 0;
  const sentAt = new Map<string, number>();
  const expectThread = new Map<string, number | undefined>();
  const chatOf = new Map<string, Chat>();
  const replyTimes: number[] = [];
  const logs: string[] = [];

  /** A SIGKILLed child has a signalCode and no exitCode. */
  const running = (h: ServeHandle | undefined) =>
    h !== undefined && h.proc.exitCode === null && h.proc.signalCode === null;
  const kill = (why: string) => {
    if (!serve || !running(serve)) return;
    log(`SIGKILL (${why}); sent so far ${tg.sent.length}`);
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
      if (serve) logs.push(serve.logs());
      serve = await startServe({ cwd: dir, env, timeoutMs: 30_000 });
      if (killNext === "startup") setTimeout(() => kill("during start-up recovery"), 120);
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
    const answered = () => {
      const seen = new Set<string>();
      for (const s of tg.sent) for (const m of s.text.matchAll(TOKEN_RE)) seen.add(`Q${m[1]}Z`);
      return seen;
    };
    const alive = () => running(serve);
    const ensureUp = async () => {
      if (serve?.proc.killed) await serve.proc.exited;
      if (!alive()) await up();
    };
    let next = 1;
    const send = async (count: number) => {
      for (let k = 0; k < count && next <= opts.messages; k++, next++) {
        const i = next;
        const c = CHATS[(Math.floor((i - 1) / burst) + (i - 1)) % CHATS.length]!;
        const topic = c.topics ? c.topics[i % c.topics.length] : undefined;
        const token = `Q${i}Z`;
        const mention = c.mention ? `@${tg.botUsername} ` : "";
        if (c.mention && i % 2 === 0)
          tg.pushMessage({ chatId: c.id, chatType: c.type, text: "just chatting" });
        sentAt.set(token, performance.now());
        expectThread.set(token, topic);
        chatOf.set(token, c);
        tg.pushMessage({
          chatId: c.id,
          chatType: c.type,
          chatTitle: `chat ${c.id}`,
          text: `${mention}${token} please`,
          threadId: topic,
          ...(c.mention
            ? { entities: [{ type: "mention", offset: 0, length: tg.botUsername.length + 1 }] }
            : {}),
        });
        if (killNext === "after-inbound") setTimeout(() => kill("inbound update handed over"), 40);
        await Bun.sleep(i % burst === 0 ? gap * 3 : gap);
      }
    };
    const phases = kills.length + 1;
    const perPhase = Math.ceil(opts.messages / phases);
    for (let phase = 0; phase < phases; phase++) {
      const point = kills[phase];
      if (point === "startup") {
        // Kill the running serve so the next start has work to recover, then kill that start too.
        kill("to restart");
        await serve?.proc.exited;
        killNext = "startup";
        await ensureUp();
        killNext = undefined;
        await Bun.sleep(300);
      } else killNext = point;
      const before = killed;
      await send(perPhase);
      if (point && point !== "startup")
        await until(() => killed > before || answered().size >= next - 1, {
          timeoutMs: 60_000,
          intervalMs: 50,
          what: `kill point ${point}`,
        }).catch((err) => log(String(err)));
      killNext = undefined;
      await ensureUp();
    }
    await until(
      async () => {
        await ensureUp();
        return answered().size >= opts.messages;
      },
      { timeoutMs: opts.timeoutMs ?? 180_000, intervalMs: 100, what: "every message answered" },
    ).catch((err) => log(String(err)));
    // Let anything in flight settle before counting (a duplicate would show up here): every
    // chat's messages handled and nothing left in the outbox.
    const live = openStore(join(dir, "store", "ngb.db"), { readonly: true });
    await until(
      () =>
        chatsAtRest(
          live,
          CHATS.map((c) => c.jid),
        ),
      { timeoutMs: 30_000, intervalMs: 100, what: "the store to come to rest" },
    )
      .catch((err) => log(String(err)))
      .finally(() => live.close());
    await serve?.stop();
    if (serve) logs.push(serve.logs());
    if (process.env.NGB_HARNESS_LOGS)
      writeFileSync(process.env.NGB_HARNESS_LOGS, logs.join("\n=== restart ===\n"));

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
    if (running(serve)) await serve!.stop("SIGKILL").catch(() => {});
    tg.stop();
    await fake?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
