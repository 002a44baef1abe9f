/**
 * `ngb plugins new <name>`: a working plugin folder — the plugin, its test (passes as
 * generated: `ngb plugins test <name>`), the API's types for editors and a tsconfig.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
// @ts-expect-error: a text import of a types-only .ts file (Bun embeds the source); TS sees the module.
import typesSource from "./types.ts" with { type: "text" };

export const PLUGIN_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export async function scaffoldPlugin(dir: string, name: string): Promise<string[]> {
  const root = join(dir, name);
  if (existsSync(root)) throw new Error(`${root} already exists`);
  mkdirSync(join(root, ".ngb"), { recursive: true });
  const files: Record<string, string> = {
    "index.ts": `/** ${name}: answers "!ping" itself (the agent never sees it) and adds the time to prompts. */
import { definePlugin } from "ngb/plugin";
import * as v from "valibot";

export default definePlugin({
  name: "${name}",
  version: "0.1.0",
  description: "Answers !ping without the agent",
  // plugins.config.${name} in the ngb config; the parsed value is api.config.
  config: v.object({ greeting: v.optional(v.string(), "Hello") }),
  setup(api) {
    api.on("message.received", (m) => {
      if (m.isFromMe || m.isBot || m.content.trim().toLowerCase() !== "!ping") return;
      api.send(m.chatJid, \`\${api.config.greeting}, \${m.senderName}: pong\`).catch((err) => api.log.warn("not sent", { error: String(err) }));
      return { drop: "answered by ${name}" };
    });
    api.on("agent.starting", () => ({ context: \`<now>\${new Date().toISOString()}</now>\` }), { priority: 0, timeoutMs: 500 });
    api.log.info("ready");
    return () => api.log.info("stopped");
  },
});
`,
    "index.test.ts": `import { expect, test } from "bun:test";
import { testPlugin } from "ngb/plugin/testing";
import plugin from "./index.ts";

const message = (content: string) => ({
  chatJid: "web:test",
  channel: "web",
  sender: "u1",
  senderName: "Ann",
  content,
  isFromMe: false,
  isBot: false,
  mentionsBot: false,
  group: { folder: "test", isMain: false },
});

test("answers !ping itself and drops it for the agent", async () => {
  const t = await testPlugin(plugin, { config: { greeting: "Hi" } });
  expect(await t.hooks.messageReceived(message("!ping"))).toEqual({
    action: "drop",
    plugin: "${name}",
    reason: "answered by ${name}",
  });
  expect(t.sent).toEqual([{ jid: "web:test", text: "Hi, Ann: pong" }]);
  await t.close();
});

test("leaves other messages alone and adds the time to prompts", async () => {
  const t = await testPlugin(plugin);
  expect(await t.hooks.messageReceived(message("hello"))).toEqual({ action: "continue", content: "hello" });
  const { prompt } = await t.hooks.agentStarting({
    group: { folder: "test", jid: "web:test", isMain: false },
    prompt: "hi",
    kind: "messages",
  });
  expect(prompt).toMatch(/^<now>.+<\\/now>\\n\\nhi$/);
  await t.close();
});
`,
    ".ngb/plugin.ts": typesSource,
    ".ngb/testing.d.ts": `import type { GroupInfo, MessageInfo, PipelineHooks, PluginDefinition } from "./plugin.ts";

export interface TestPlugin {
  /** The hooks as the orchestrator calls them. */
  hooks: PipelineHooks;
  /** What the plugin sent with api.send. */
  sent: { jid: string; text: string }[];
  close(): Promise<void>;
}
export function testPlugin(
  // biome-ignore lint/suspicious/noExplicitAny: any plugin
  def: PluginDefinition<any>,
  opts?: { config?: unknown; groups?: GroupInfo[]; messages?: Record<string, MessageInfo[]>; maxFailures?: number },
): Promise<TestPlugin>;
`,
    ".ngb/bun-test.d.ts": `// What \`ngb plugins test\` provides as "bun:test" (install @types/bun for Bun's full types).
declare module "bun:test" {
  type Fn = () => unknown | Promise<unknown>;
  export function test(name: string, fn: Fn): void;
  export function it(name: string, fn: Fn): void;
  export function describe(name: string, fn: () => void): void;
  export function beforeEach(fn: Fn): void;
  export function afterEach(fn: Fn): void;
  export function beforeAll(fn: Fn): void;
  export function afterAll(fn: Fn): void;
  interface Matchers {
    not: Matchers;
    resolves: Matchers;
    rejects: Matchers;
    toBe(v: unknown): void;
    toEqual(v: unknown): void;
    toMatchObject(v: object): void;
    toContain(v: unknown): void;
    toMatch(v: string | RegExp): void;
    toHaveLength(n: number): void;
    toBeTruthy(): void;
    toBeFalsy(): void;
    toBeNull(): void;
    toBeUndefined(): void;
    toBeGreaterThan(n: number): void;
    toBeLessThan(n: number): void;
    toThrow(v?: string | RegExp): void;
  }
  export function expect(value: unknown): Matchers;
}
`,
    "tsconfig.json": `${JSON.stringify(
      {
        compilerOptions: {
          target: "ESNext",
          module: "Preserve",
          moduleResolution: "bundler",
          strict: true,
          allowImportingTsExtensions: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
          paths: { "ngb/plugin": ["./.ngb/plugin.ts"], "ngb/plugin/testing": ["./.ngb/testing.d.ts"] },
        },
        include: ["*.ts", ".ngb/*.ts"],
      },
      null,
      2,
    )}\n`,
  };
  for (const [rel, text] of Object.entries(files)) writeFileSync(join(root, rel), text);
  return Object.keys(files).map((f) => join(root, f));
}
