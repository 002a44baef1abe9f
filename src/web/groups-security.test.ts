/** Group registration over the REST API refuses unsafe trigger regexes and shared network namespaces. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventBus } from "../events/index.ts";
import { webDeps } from "../../test/support/web-deps.ts";
import { createGroupService } from "../groups/index.ts";
import { openStore, type Store } from "../store/index.ts";
import { createApp, type WebApp } from "./app.ts";

const TOKEN = "test-token-0123456789abcdef";
let dir: string;
let store: Store;
let app: WebApp;

function make(allowHostNetwork = false) {
  app?.dispose();
  const events = createEventBus();
  app = createApp(
    webDeps(
      { store, events, token: TOKEN, groupsDir: join(dir, "groups") },
      {
        groups: createGroupService({
          store,
          events,
          paths: { groupsDir: join(dir, "groups") },
          allowHostNetwork,
        }),
      },
    ),
  );
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-groups-sec-"));
  store = openStore(join(dir, "ngb.db"));
  make();
});
afterEach(() => {
  app.dispose();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const send = (method: string, path: string, body: unknown) =>
  app.request(path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
const group = (extra: Record<string, unknown>) => ({ jid: "tg:1", name: "Team", folder: "team", ...extra });

test("catastrophic trigger patterns are refused at registration, naming the problem", async () => {
  for (const [pattern, problem] of [
    ["^(a+)+$", "repetition inside a repetition"],
    ["(a|aa)+$", "alternatives can start with the same character"],
    ["(.*a){20}", "repetition inside a repetition"],
    ["(a)\\1", "backreferences"],
  ] as const) {
    const r = await send("POST", "/api/groups", group({ triggerPattern: pattern }));
    expect(r.status).toBe(400);
    expect(((await r.json()) as { message: string }).message).toContain(problem);
  }
  expect(store.groups.list()).toHaveLength(0);
  expect((await send("POST", "/api/groups", group({ triggerPattern: "^@bot\\b" }))).status).toBe(201);
  const patch = await send("PATCH", "/api/groups/team", { triggerPattern: "(x+)*y" });
  expect(patch.status).toBe(400);
  expect((await send("PATCH", "/api/groups/team", { triggerPattern: "(hey|hi) bot" })).status).toBe(200);
});

test("network host needs container.allowHostNetwork", async () => {
  const r = await send("POST", "/api/groups", group({ containerConfig: { network: "host" } }));
  expect(r.status).toBe(400);
  expect(((await r.json()) as { message: string }).message).toContain("container.allowHostNetwork");
  expect((await send("POST", "/api/groups", group({ containerConfig: { network: "bridge" } }))).status).toBe(
    201,
  );
  expect((await send("PATCH", "/api/groups/team", { containerConfig: { network: "HOST" } })).status).toBe(
    400,
  );
  make(true);
  expect((await send("PATCH", "/api/groups/team", { containerConfig: { network: "host" } })).status).toBe(
    200,
  );
});
