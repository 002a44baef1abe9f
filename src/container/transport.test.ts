import { expect, test } from "bun:test";
import * as v from "valibot";
import { Config } from "../config/index.ts";
import type { RegisteredGroup } from "../store/index.ts";
import { buildRunArgs, hostDirs } from "./args.ts";
import { conflictName, planIn, planOut, type SyncFile } from "./sync-files.ts";
import { volumeNames } from "./volumes.ts";

const group = (isMain: boolean): RegisteredGroup =>
  ({
    jid: "tg:1",
    name: "Fam",
    folder: "fam",
    trigger: "@Andy",
    addedAt: new Date(0).toISOString(),
    requiresTrigger: true,
    isMain,
    containerConfig: null,
  }) as unknown as RegisteredGroup;

const root = "/srv/ngb-host-root";
const dirs = hostDirs({ groupsDir: `${root}/groups`, dataDir: `${root}/data` }, "fam");

for (const isMain of [false, true]) {
  test(`stdio transport: no host path reaches docker run (${isMain ? "main" : "other"} group)`, () => {
    const c = v.parse(Config, { container: { transport: "stdio" } }).container;
    const args = buildRunArgs({
      name: "ngb-fam-1",
      group: group(isMain),
      container: c,
      dirs,
      instanceId: "abc123",
      volumes: volumeNames("abc123", "fam"),
      proxyToken: true,
      extraMounts: [],
    });
    expect(args.join(" ")).not.toContain(root);
    expect(args.join(" ")).not.toContain("type=bind");
    // The only absolute paths are the container's own tmpfs mount points.
    expect(args.filter((a) => a.startsWith("/")).every((a) => /^\/(tmp|home\/agent):rw,/.test(a))).toBe(true);
    const mounts = args.filter((_, i) => args[i - 1] === "--mount");
    expect(mounts).toEqual([
      "type=volume,source=ngb-abc123-fam-group,target=/workspace/group",
      "type=volume,source=ngb-abc123-global,target=/workspace/global,readonly",
      "type=volume,source=ngb-abc123-fam-session,target=/home/agent/.claude",
      ...(isMain ? ["type=volume,source=ngb-abc123-groups,target=/workspace/groups,readonly"] : []),
    ]);
    expect(args).toContain("NGB_PROXY_TRANSPORT=stdio");
    expect(args[args.indexOf("--network") + 1]).toBe("none");
  });
}

test("stdio transport refuses host paths (extra mounts, the proxy socket)", () => {
  const c = v.parse(Config, { container: { transport: "stdio" } }).container;
  const base = { name: "n", group: group(false), container: c, dirs, instanceId: "i", proxyToken: true };
  expect(() =>
    buildRunArgs({
      ...base,
      volumes: volumeNames("i", "fam"),
      extraMounts: [{ hostPath: "/etc", containerPath: "/workspace/extra/etc", readonly: true }],
    }),
  ).toThrow(/no host path/);
  expect(() =>
    buildRunArgs({ ...base, volumes: volumeNames("i", "fam"), proxySocketDir: "/run/x", extraMounts: [] }),
  ).toThrow(/no host path/);
});

test("the mounts transport is unchanged: bind mounts and the proxy socket", () => {
  const c = v.parse(Config, {}).container;
  expect(c.transport).toBe("mounts");
  const args = buildRunArgs({
    name: "n",
    group: group(false),
    container: c,
    dirs,
    instanceId: "i",
    proxySocketDir: "/run/p",
    proxyToken: true,
    extraMounts: [],
  });
  expect(args.join(" ")).toContain(`type=bind,source=${root}/groups/fam,target=/workspace/group`);
  expect(args).not.toContain("NGB_PROXY_TRANSPORT=stdio");
});

const f = (path: string, text: string): SyncFile => ({ path, data: Buffer.from(text) });

test("sync in: only what the host changed since the last sync is pushed; host deletions too", () => {
  const first = planIn([f("CLAUDE.md", "v1"), f("notes/a.md", "a")], {});
  expect(first.put.map((x) => x.path)).toEqual(["CLAUDE.md", "notes/a.md"]);
  const again = planIn([f("CLAUDE.md", "v1"), f("notes/a.md", "a")], first.next);
  expect(again.put).toEqual([]);
  const edited = planIn([f("CLAUDE.md", "v2")], first.next);
  expect(edited.put.map((x) => x.path)).toEqual(["CLAUDE.md"]);
  expect(edited.remove).toEqual(["notes/a.md"]);
});

test("sync out: the agent's changes reach the host; a double edit keeps the host's copy aside", () => {
  const last = planIn([f("CLAUDE.md", "v1"), f("b.md", "b"), f("c.md", "c")], {}).next;
  // The agent edited CLAUDE.md and deleted b.md and c.md; the host edited CLAUDE.md and c.md meanwhile.
  const out = planOut(
    [f("CLAUDE.md", "agent")],
    [f("CLAUDE.md", "host"), f("b.md", "b"), f("c.md", "host c")],
    last,
  );
  expect(out.write.map((x) => x.data.toString())).toEqual(["agent"]);
  expect(out.conflicts).toEqual(["CLAUDE.md"]);
  expect(out.remove).toEqual(["b.md"]); // c.md was edited on the host: not deleted
  // Unchanged by the agent: nothing moves even though the host has a newer copy (it goes in next run).
  const quiet = planOut([f("CLAUDE.md", "v1")], [f("CLAUDE.md", "host")], last);
  expect(quiet.write).toEqual([]);
  expect(conflictName("CLAUDE.md", new Date(0))).toBe("CLAUDE.md.conflict-1970-01-01T00-00-00-000Z");
});
