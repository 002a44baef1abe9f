import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventBus, type EventMap } from "../events/index.ts";
import { GroupExistsError, openStore, type Store } from "../store/index.ts";
import {
  createGroupService,
  GroupFolderError,
  GroupNotFoundError,
  type GroupService,
  GroupValidationError,
  RESERVED_FOLDERS,
} from "./index.ts";

let dir: string;
let store: Store;
let groups: GroupService;
let registered: EventMap["group.registered"][];
let removed: EventMap["group.removed"][];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-groups-"));
  store = openStore(join(dir, "ngb.db"));
  const events = createEventBus((err) => {
    throw err;
  });
  registered = [];
  removed = [];
  events.on("group.registered", (e) => registered.push(e));
  events.on("group.removed", (e) => removed.push(e));
  groups = createGroupService({ store, events, paths: { groupsDir: join(dir, "groups") }, now: () => 42 });
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("register", () => {
  test("row, folder with logs/ and memory file, event; defaults filled in", () => {
    const g = groups.register({ jid: "tg:-100123", folder: "family", triggerPattern: "^!bot" });
    expect(g).toEqual({
      jid: "tg:-100123",
      name: "family",
      folder: "family",
      triggerPattern: "^!bot",
      requiresTrigger: true,
      isMain: false,
      containerConfig: null,
      addedAt: 42,
    });
    expect(store.groups.get("tg:-100123")).toEqual(g);
    expect(existsSync(join(dir, "groups", "family", "logs"))).toBe(true);
    expect(readFileSync(join(dir, "groups", "family", "CLAUDE.md"), "utf8")).toStartWith("# family\n");
    expect(registered).toEqual([{ jid: "tg:-100123", folder: "family", name: "family" }]);
    // The main group answers every message unless told otherwise.
    expect(groups.register({ jid: "web:default", folder: "main", isMain: true }).requiresTrigger).toBe(false);
  });

  test("every reserved folder is refused, in any case, and nothing is created", () => {
    for (const folder of RESERVED_FOLDERS) {
      expect(() => groups.register({ jid: `tg:${folder}`, folder })).toThrow(GroupValidationError);
    }
    expect(() => groups.register({ jid: "tg:1", folder: "errors" })).toThrow(/"errors": is reserved/);
    expect(() => groups.register({ jid: "tg:1", folder: "Global" })).toThrow(GroupValidationError);
    expect(store.groups.list()).toHaveLength(0);
    expect(registered).toHaveLength(0);
    expect(existsSync(join(dir, "groups", "errors"))).toBe(false);
  });

  test("bad jid, name, folder, trigger and container config name the field", () => {
    const cases: [Parameters<GroupService["register"]>[0], string][] = [
      [{ jid: "tg 1", folder: "a" }, "jid"],
      [{ jid: "../etc", folder: "a" }, "jid"],
      [{ jid: "tg:1", folder: "../x" }, "folder"],
      [{ jid: "tg:1", folder: "-x" }, "folder"],
      [{ jid: "tg:1", folder: "x".repeat(65) }, "folder"],
      [{ jid: "tg:1", folder: "a", name: " " }, "name"],
      [{ jid: "tg:1", folder: "a", name: "a\u0000b" }, "name"],
      [{ jid: "tg:1", folder: "a", triggerPattern: "(" }, "trigger"],
      [{ jid: "tg:1", folder: "a", triggerPattern: "x".repeat(201) }, "trigger"],
      [{ jid: "tg:1", folder: "a", containerConfig: { memory: "lots" } }, "containerConfig"],
    ];
    for (const [input, field] of cases) {
      let err: unknown;
      try {
        groups.register(input);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(GroupValidationError);
      expect((err as GroupValidationError).field).toBe(field as GroupValidationError["field"]);
      expect((err as Error).message).toStartWith(field);
    }
  });

  test("clashes: jid, folder, a second main", () => {
    groups.register({ jid: "tg:1", folder: "one", isMain: true });
    expect(() => groups.register({ jid: "tg:1", folder: "two" })).toThrow(GroupExistsError);
    expect(() => groups.register({ jid: "tg:2", folder: "one" })).toThrow(GroupExistsError);
    expect(() => groups.register({ jid: "tg:3", folder: "three", isMain: true })).toThrow(/only one/);
    expect(existsSync(join(dir, "groups", "three"))).toBe(false);
  });

  test("an existing memory file is kept; a planted symlink is never written through", () => {
    const outside = join(dir, "outside.txt");
    writeFileSync(outside, "secret");
    mkdirSync(join(dir, "groups", "kept"), { recursive: true });
    writeFileSync(join(dir, "groups", "kept", "CLAUDE.md"), "my notes");
    groups.register({ jid: "tg:1", folder: "kept" });
    expect(readFileSync(join(dir, "groups", "kept", "CLAUDE.md"), "utf8")).toBe("my notes");

    mkdirSync(join(dir, "groups", "trap"), { recursive: true });
    symlinkSync(outside, join(dir, "groups", "trap", "CLAUDE.md"));
    groups.register({ jid: "tg:2", folder: "trap" });
    expect(readFileSync(outside, "utf8")).toBe("secret");
  });

  test("a group folder that is a symlink is refused before anything is registered", () => {
    mkdirSync(join(dir, "groups"), { recursive: true });
    mkdirSync(join(dir, "elsewhere"));
    symlinkSync(join(dir, "elsewhere"), join(dir, "groups", "linked"));
    expect(() => groups.register({ jid: "tg:1", folder: "linked" })).toThrow(GroupFolderError);
    expect(store.groups.get("tg:1")).toBeNull();
    expect(existsSync(join(dir, "elsewhere", "CLAUDE.md"))).toBe(false);
  });
});

describe("update, remove, get", () => {
  test("update validates; remove emits; both take a jid or a folder", () => {
    groups.register({ jid: "tg:1", folder: "team" });
    expect(groups.update("team", { name: "Team", triggerPattern: "^hey" })).toMatchObject({
      jid: "tg:1",
      name: "Team",
      triggerPattern: "^hey",
    });
    expect(() => groups.update("tg:1", { triggerPattern: "[" })).toThrow(GroupValidationError);
    expect(groups.update("tg:1", { triggerPattern: null }).triggerPattern).toBeNull();
    expect(() => groups.update("nope", { name: "x" })).toThrow(GroupNotFoundError);
    expect(groups.get("team")?.jid).toBe("tg:1");
    expect(groups.remove("tg:1").folder).toBe("team");
    expect(removed).toEqual([{ jid: "tg:1", folder: "team" }]);
    expect(groups.list()).toHaveLength(0);
    expect(() => groups.remove("team")).toThrow(GroupNotFoundError);
  });
});
