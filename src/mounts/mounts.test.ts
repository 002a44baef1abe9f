import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  loadMountAllowlist,
  type MountAllowlist,
  MountAllowlistError,
  MountRefusedError,
  mountAllowlistCheck,
  validateMount,
  validateMounts,
} from "./index.ts";

let home: string;
let allowlist: MountAllowlist;

beforeEach(() => {
  home = realpathSync(mkdtempSync(join(tmpdir(), "ngb-mounts-")));
  mkdirSync(join(home, "projects", "app"), { recursive: true });
  mkdirSync(join(home, "docs", "notes"), { recursive: true });
  mkdirSync(join(home, ".ssh"), { recursive: true });
  writeFileSync(join(home, ".ssh", "id_ed25519"), "secret");
  mkdirSync(join(home, "outside"), { recursive: true });
  allowlist = {
    allowedRoots: [
      { path: "~/projects", allowReadWrite: true },
      { path: join(home, "docs"), allowReadWrite: false },
    ],
    blockedPatterns: ["secret-stuff"],
    nonMainReadOnly: true,
  };
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

function refusal(fn: () => unknown): MountRefusedError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MountRefusedError) return err;
    throw err;
  }
  throw new Error("expected a MountRefusedError");
}

describe("validateMount", () => {
  test("allows a path under a root, expanding ~, default read-only", () => {
    const m = validateMount({ hostPath: "~/projects/app" }, { isMain: true, allowlist, home });
    expect(m).toEqual({
      hostPath: join(home, "projects", "app"),
      containerPath: "/workspace/extra/app",
      readonly: true,
    });
  });

  test("main may get read-write under an allowReadWrite root; non-main is forced read-only", () => {
    const req = { hostPath: "~/projects/app", containerPath: "code", readonly: false };
    expect(validateMount(req, { isMain: true, allowlist, home }).readonly).toBe(false);
    expect(validateMount(req, { isMain: false, allowlist, home }).readonly).toBe(true);
    const lax = { ...allowlist, nonMainReadOnly: false };
    expect(validateMount(req, { isMain: false, allowlist: lax, home }).readonly).toBe(false);
  });

  test("a root without allowReadWrite is always read-only", () => {
    const m = validateMount(
      { hostPath: join(home, "docs", "notes"), readonly: false },
      { isMain: true, allowlist, home },
    );
    expect(m.readonly).toBe(true);
  });

  test("~/.ssh is refused by a blocked pattern, naming path and rule", () => {
    allowlist.allowedRoots.push({ path: "~", allowReadWrite: false });
    const err = refusal(() => validateMount({ hostPath: "~/.ssh" }, { isMain: true, allowlist, home }));
    expect(err.rule).toBe("blocked-pattern");
    expect(err.path).toBe("~/.ssh");
    expect(err.message).toContain("~/.ssh");
    expect(err.message).toContain("blocked-pattern");
    expect(err.message).toContain(".ssh");
  });

  test("a key file is refused even under an allowed root", () => {
    writeFileSync(join(home, "projects", "id_rsa"), "k");
    const err = refusal(() =>
      validateMount({ hostPath: "~/projects/id_rsa" }, { isMain: true, allowlist, home }),
    );
    expect(err.rule).toBe("blocked-pattern");
  });

  test("custom blocked patterns apply", () => {
    mkdirSync(join(home, "projects", "secret-stuff"));
    const err = refusal(() =>
      validateMount({ hostPath: "~/projects/secret-stuff" }, { isMain: true, allowlist, home }),
    );
    expect(err.rule).toBe("blocked-pattern");
    expect(err.message).toContain("secret-stuff");
  });

  test("mounting a directory that directly holds .ssh (e.g. home) is refused", () => {
    allowlist.allowedRoots.push({ path: "~", allowReadWrite: false });
    const err = refusal(() => validateMount({ hostPath: "~" }, { isMain: true, allowlist, home }));
    expect(err.rule).toBe("contains-blocked");
  });

  test("../.. segments are refused before resolution", () => {
    const err = refusal(() =>
      validateMount({ hostPath: "~/projects/../../etc" }, { isMain: true, allowlist, home }),
    );
    expect(err.rule).toBe("parent-segment");
    expect(err.message).toContain("~/projects/../../etc");
  });

  test("relative host paths are refused", () => {
    for (const hostPath of ["projects/app", "./app", "~someone/x"]) {
      const err = refusal(() => validateMount({ hostPath }, { isMain: true, allowlist, home }));
      expect(err.rule).toBe("relative-path");
    }
  });

  test("a symlink inside an allowed root pointing outside it is refused", () => {
    symlinkSync(join(home, "outside"), join(home, "projects", "escape"));
    const err = refusal(() =>
      validateMount({ hostPath: "~/projects/escape" }, { isMain: true, allowlist, home }),
    );
    expect(err.rule).toBe("symlink-escape");
    expect(err.message).toContain(join(home, "outside"));
  });

  test("a symlink to a credential directory is refused as blocked", () => {
    symlinkSync(join(home, ".ssh"), join(home, "projects", "keys"));
    const err = refusal(() =>
      validateMount({ hostPath: "~/projects/keys" }, { isMain: true, allowlist, home }),
    );
    expect(err.rule).toBe("blocked-pattern");
  });

  test("a symlink staying inside the root is fine and resolves to the real path", () => {
    symlinkSync(join(home, "projects", "app"), join(home, "projects", "link"));
    const m = validateMount({ hostPath: "~/projects/link" }, { isMain: true, allowlist, home });
    expect(m.hostPath).toBe(join(home, "projects", "app"));
  });

  test("an allowed root that is itself a symlink still matches", () => {
    symlinkSync(join(home, "projects"), join(home, "proj-link"));
    const list = { ...allowlist, allowedRoots: [{ path: "~/proj-link", allowReadWrite: true }] };
    const m = validateMount({ hostPath: "~/projects/app" }, { isMain: true, allowlist: list, home });
    expect(m.hostPath).toBe(join(home, "projects", "app"));
  });

  test("a path outside every root is refused", () => {
    const err = refusal(() => validateMount({ hostPath: "~/outside" }, { isMain: true, allowlist, home }));
    expect(err.rule).toBe("outside-allowed-roots");
    const prefix = refusal(() =>
      validateMount({ hostPath: `${join(home, "projects")}-evil` }, { isMain: true, allowlist, home }),
    );
    expect(["outside-allowed-roots", "not-found"]).toContain(prefix.rule);
  });

  test("a missing host path is refused", () => {
    const err = refusal(() =>
      validateMount({ hostPath: "~/projects/nope" }, { isMain: true, allowlist, home }),
    );
    expect(err.rule).toBe("not-found");
  });

  test("no allowlist means no extra mounts", () => {
    const err = refusal(() =>
      validateMount({ hostPath: "~/projects/app" }, { isMain: true, allowlist: null, home }),
    );
    expect(err.rule).toBe("no-allowlist");
  });

  test("bad container paths are refused", () => {
    for (const containerPath of ["/etc", "../x", "a/../b", "a:b", "", "a//b", "sp ace"]) {
      const err = refusal(() =>
        validateMount({ hostPath: "~/projects/app", containerPath }, { isMain: true, allowlist, home }),
      );
      expect(err.rule).toBe("container-path");
    }
    const ok = validateMount(
      { hostPath: "~/projects/app", containerPath: "code/app" },
      { isMain: true, allowlist, home },
    );
    expect(ok.containerPath).toBe("/workspace/extra/code/app");
  });
});

describe("validateMounts", () => {
  test("refuses duplicate container paths", () => {
    mkdirSync(join(home, "projects", "other"));
    const err = refusal(() =>
      validateMounts(
        [
          { hostPath: "~/projects/app", containerPath: "x" },
          { hostPath: "~/projects/other", containerPath: "x" },
        ],
        { isMain: true, allowlist, home },
      ),
    );
    expect(err.rule).toBe("duplicate-container-path");
  });

  test("resolves all valid requests", () => {
    const out = validateMounts([{ hostPath: "~/projects/app" }, { hostPath: "~/docs/notes" }], {
      isMain: false,
      allowlist,
      home,
    });
    expect(out.map((m) => m.containerPath)).toEqual(["/workspace/extra/app", "/workspace/extra/notes"]);
  });
});

describe("loadMountAllowlist", () => {
  test("missing file → null", () => {
    expect(loadMountAllowlist(join(home, "nope.json"))).toBeNull();
    expect(loadMountAllowlist(undefined)).toBeNull();
  });

  test("valid file gets defaults", () => {
    const file = join(home, "allow.json");
    writeFileSync(file, JSON.stringify({ allowedRoots: [{ path: "~/projects" }] }));
    expect(loadMountAllowlist(file)).toEqual({
      allowedRoots: [{ path: "~/projects", allowReadWrite: false }],
      blockedPatterns: [],
      nonMainReadOnly: true,
    });
  });

  test("bad JSON names the file", () => {
    const file = join(home, "allow.json");
    writeFileSync(file, "{ nope");
    expect(() => loadMountAllowlist(file)).toThrow(MountAllowlistError);
    expect(() => loadMountAllowlist(file)).toThrow(file);
  });

  test("a bad key names the file and the key", () => {
    const file = join(home, "allow.json");
    writeFileSync(file, JSON.stringify({ allowedRoots: [{ path: "~/p", allowReadWrite: "yes" }] }));
    let err: MountAllowlistError | undefined;
    try {
      loadMountAllowlist(file);
    } catch (e) {
      err = e as MountAllowlistError;
    }
    expect(err).toBeInstanceOf(MountAllowlistError);
    expect(err!.message).toContain(file);
    expect(err!.key).toBe("allowedRoots.0.allowReadWrite");
    expect(err!.message).toContain("allowedRoots.0.allowReadWrite");
  });

  test("unknown keys are rejected (typos do not silently loosen rules)", () => {
    const file = join(home, "allow.json");
    writeFileSync(file, JSON.stringify({ allowedRoots: [], nonMainReadonly: false }));
    expect(() => loadMountAllowlist(file)).toThrow("nonMainReadonly");
  });
});

describe("mountAllowlistCheck", () => {
  test("reports missing, valid and broken files", () => {
    const file = join(home, "allow.json");
    expect(mountAllowlistCheck(file)).toMatchObject({
      status: "ok",
      detail: expect.stringContaining("no extra mounts"),
    });
    writeFileSync(file, JSON.stringify({ allowedRoots: [{ path: "~/projects", allowReadWrite: true }] }));
    expect(mountAllowlistCheck(file).detail).toContain("~/projects (rw)");
    writeFileSync(file, JSON.stringify({ allowedRoots: "nope" }));
    const bad = mountAllowlistCheck(file);
    expect(bad.status).toBe("fail");
    expect(bad.detail).toContain("allowedRoots");
    expect(bad.detail).toContain(file);
  });
});
