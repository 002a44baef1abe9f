/**
 * Shared set-up for end-to-end tests of the loop: a real `ngb serve` process (the compiled
 * `dist/ngb` when it is at least as new as the sources, else `bun src/main.ts`), the fake
 * Anthropic API as upstream of its credential proxy, the webchat over HTTP + WebSocket.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { FakeAnthropic } from "../fakes/anthropic.ts";
import { isolatedEnv, ROOT, type ServeHandle, startServe as startServeWith } from "../support/ngb.ts";
import { until } from "../support/wait.ts";

export const TOKEN = "e2e-token-0123456789abcdef";

function newestMtime(dir: string): number {
  let max = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    max = Math.max(max, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return max;
}

let chosen: string | undefined;

/** Use the compiled binary when it is there and not older than the sources. */
export function chooseBinary(): string {
  if (process.env.NGB_BIN) return `NGB_BIN=${process.env.NGB_BIN}`;
  const bin = join(ROOT, "dist", "ngb");
  if (existsSync(bin) && statSync(bin).mtimeMs >= newestMtime(join(ROOT, "src"))) {
    chosen = bin;
    return bin;
  }
  return existsSync(bin)
    ? "bun src/main.ts (dist/ngb is older than src/; run `bun run build`)"
    : "bun src/main.ts";
}

/** `startServe` with the chosen binary, without changing NGB_BIN for other test files. */
export function startServe(opts: Parameters<typeof startServeWith>[0]): Promise<ServeHandle> {
  if (!chosen || process.env.NGB_BIN) return startServeWith(opts);
  process.env.NGB_BIN = chosen;
  try {
    return startServeWith(opts); // spawns synchronously, before its first await
  } finally {
    delete process.env.NGB_BIN;
  }
}

export function serveEnv(dir: string, fake: FakeAnthropic, extra: Record<string, string> = {}) {
  return isolatedEnv(dir, {
    NGB_ANTHROPIC_BASE_URL: fake.url,
    NGB_ANTHROPIC_API_KEY: "sk-ant-dummy-e2e",
    NGB_WEB_TOKEN: TOKEN,
    NGB_LOG_LEVEL: "debug",
    ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    ...(process.env.NGB_TEST_AGENT_IMAGE ? { NGB_CONTAINER_IMAGE: process.env.NGB_TEST_AGENT_IMAGE } : {}),
    ...extra,
  });
}

export interface ChatEvent {
  type: string;
  from?: string;
  text?: string;
  on?: boolean;
  seq?: number;
}

export interface WebChat {
  events: ChatEvent[];
  post(text: string): Promise<Response>;
  /** Wait for an assistant message matching `match`. */
  reply(match: string | RegExp, timeoutMs?: number): Promise<ChatEvent>;
  history(): Promise<{ seq: number; from: string; text: string }[]>;
  close(): void;
}

export async function openWebChat(serve: ServeHandle, chatId = "default"): Promise<WebChat> {
  const auth = { authorization: `Bearer ${TOKEN}` };
  const ws = new WebSocket(`${serve.url.replace("http", "ws")}/api/webchat/ws?chatId=${chatId}`, {
    headers: auth,
  } as unknown as string[]);
  const events: ChatEvent[] = [];
  ws.onmessage = (e) => events.push(JSON.parse(String(e.data)));
  await until(() => events.some((e) => e.type === "ready"), { what: "webchat ready", timeoutMs: 10_000 });
  return {
    events,
    post: (text) =>
      fetch(`${serve.url}/api/webchat/messages`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ chatId, text }),
      }),
    reply: (match, timeoutMs = 90_000) =>
      until(
        () =>
          events.find(
            (e) =>
              e.type === "message" &&
              e.from === "assistant" &&
              (typeof match === "string" ? e.text === match : match.test(e.text ?? "")),
          ),
        { what: `assistant message ${match}`, timeoutMs, intervalMs: 20 },
      ),
    async history() {
      const res = await fetch(`${serve.url}/api/webchat/messages?chatId=${chatId}&after=0`, {
        headers: auth,
      });
      return ((await res.json()) as { messages: { seq: number; from: string; text: string }[] }).messages;
    },
    close: () => ws.close(),
  };
}
