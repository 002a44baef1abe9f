/**
 * The allowlist against the credential locations an attacker would try (issue 10): each is
 * refused wherever it sits in the path, a directory holding one up to two levels down is
 * refused, ngb's own paths are refused, and an allowlist file others can write is not trusted.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  loadMountAllowlist,
  type MountAllowlist,
  MountAllowlistError,
  MountRefusedError,
  ngbPrivatePaths,
  validateMount,
} from "./index.ts";

let home: string;
let allowlist: MountAllowlist;

function touch(rel: string, dir = false) {
  const p = join(home, rel);
  mkdirSync(dir ? p : dirname(p), { recursive: true });
  if (!dir) writeFileSync(p, "secret");
}

function refusal(hostPath: string, privatePaths = ngbPrivatePaths(ngbConfig(), { cwd: join(home, "ngb") })) {
  try {
    validateMount({ hostPath }, { isMain: true, allowlist, home, privatePaths });
  } catch (err) {
    if (err instanceof MountRefusedError) return err;
    throw err;
  }
  throw new Error(`expected ${hostPath} to be refused`);
}

const ngbConfig = () => ({
  dataDir: join(home, "ngb", "data"),
  storeDir: join(home, "ngb", "store"),
  log: { file: join(home, "logs", "ngb.log") },
  container: { mountAllowlistPath: join(home, ".config", "nanogridbot", "mount-allowlist.json") },
});

beforeEach(() => {
  home = realpathSync(mkdtempSync(join(tmpdir(), "ngb-creds-")));
  allowlist = {
    allowedRoots: [{ path: "~", allowReadWrite: true }],
    blockedPatterns: [],
    nonMainReadOnly: true,
  };
  mkdirSync(join(home, "projects", "app"), { recursive: true });
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

describe("credential locations", () => {
  const cases: [string, boolean, string][] = [
    [".ssh", true, ".ssh"],
    ["keys/id_rsa", false, "id_rsa*"],
    ["keys/id_dsa", false, "id_dsa*"],
    ["keys/id_ecdsa", false, "id_ecdsa*"],
    ["keys/id_ed25519", false, "id_ed25519*"],
    ["keys/id_ecdsa_sk", false, "id_ecdsa*"],
    ["keys/id_ed25519_sk", false, "id_ed25519*"],
    ["keys/deploy_sk", false, "*_sk"],
    ["keys/server.pem", false, "*.pem"],
    ["keys/tls.key", false, "*.key"],
    ["keys/cert.p12", false, "*.p12"],
    [".gnupg", true, ".gnupg"],
    [".aws", true, ".aws"],
    [".azure", true, ".azure"],
    [".config/gcloud", true, ".config/gcloud"],
    [".config/gh", true, ".config/gh"],
    [".docker", true, ".docker"],
    [".kube", true, ".kube"],
    [".netrc", false, ".netrc"],
    [".npmrc", false, ".npmrc"],
    [".pypirc", false, ".pypirc"],
    [".git-credentials", false, ".git-credentials"],
    ["projects/app/.env", false, ".env*"],
    ["projects/app/.env.production", false, ".env*"],
    ["projects/app/credentials.json", false, "credentials*"],
    ["projects/app/secrets.yaml", false, "secrets*"],
    [".config/nanogridbot", true, ".config/nanogridbot"],
  ];
  for (const [rel, dir, pattern] of cases)
    test(`~/${rel} is refused (${pattern})`, () => {
      touch(rel, dir);
      const err = refusal(`~/${rel}`);
      expect(err.rule).toBe("blocked-pattern");
      expect(err.message).toContain(`~/${rel}`);
      expect(err.message).toContain(pattern);
    });

  test("a component anywhere in the path blocks, not only the last", () => {
    touch(".aws/sso/cache/token.json");
    expect(refusal("~/.aws/sso/cache").rule).toBe("blocked-pattern");
    touch(".config/gcloud/configurations/x");
    expect(refusal("~/.config/gcloud/configurations").rule).toBe("blocked-pattern");
  });

  test("a directory holding a blocked item up to two levels down is refused", () => {
    touch("projects/deploy/.ssh", true);
    const err = refusal("~/projects");
    expect(err.rule).toBe("contains-blocked");
    expect(err.message).toContain("deploy/.ssh");
    // one level down
    touch("work/.kube", true);
    expect(refusal("~/work").message).toContain('".kube"');
    // ~ itself: .config/gcloud two levels down
    rmSync(join(home, "projects"), { recursive: true });
    rmSync(join(home, "work"), { recursive: true });
    touch(".config/gcloud", true);
    expect(refusal("~", []).rule).toBe("contains-blocked");
  });

  test("a clean project is fine, and so is a blocked item deeper than two levels", () => {
    touch("projects/app/a/b/c.txt");
    const ok = validateMount({ hostPath: "~/projects/app" }, { isMain: true, allowlist, home });
    expect(ok.hostPath).toBe(join(home, "projects", "app"));
    touch("projects/app/a/b/.ssh", true);
    expect(validateMount({ hostPath: "~/projects/app" }, { isMain: true, allowlist, home }).readonly).toBe(
      true,
    );
  });

  test("a symlink into a credential directory is refused by its target", () => {
    touch(".config/gh/hosts.yml");
    symlinkSync(join(home, ".config", "gh"), join(home, "projects", "gh-link"));
    const err = refusal("~/projects/gh-link");
    expect(err.rule).toBe("blocked-pattern");
    expect(err.message).toContain(".config/gh");
  });
});

describe("ngb's own paths", () => {
  test("data dir, its ipc/session dirs, store, log and config file are refused", () => {
    for (const rel of ["ngb/data/ipc/main", "ngb/data/sessions/main", "ngb/store", "logs"]) touch(rel, true);
    touch("ngb/ngb.config.json");
    touch("ngb/notes/readme.md");
    for (const [rel, rule, what] of [
      ["ngb/data", "ngb-private", "data directory"],
      ["ngb/data/ipc/main", "ngb-private", "data directory"],
      ["ngb/data/sessions/main", "ngb-private", "data directory"],
      ["ngb/store", "ngb-private", "store directory"],
      ["logs", "contains-ngb-private", "log file"],
      ["ngb", "contains-ngb-private", "data directory"],
    ] as const) {
      const err = refusal(`~/${rel}`);
      expect(err.rule).toBe(rule);
      expect(err.message).toContain(what);
    }
    // An allowed, unrelated folder next to them is fine.
    expect(
      validateMount(
        { hostPath: "~/ngb/notes" },
        {
          isMain: true,
          allowlist,
          home,
          privatePaths: ngbPrivatePaths(ngbConfig(), { cwd: join(home, "ngb") }),
        },
      ).hostPath,
    ).toBe(join(home, "ngb", "notes"));
  });

  test("the allowlist's own folder is refused even under a custom location", () => {
    const cfg = { ...ngbConfig(), container: { mountAllowlistPath: join(home, "policy", "allow.json") } };
    touch("policy/allow.json");
    const err = refusal("~/policy", ngbPrivatePaths(cfg, { cwd: home }));
    expect(err.rule).toBe("ngb-private");
    expect(err.message).toContain("mount allowlist");
  });
});

describe("the allowlist file itself", () => {
  test("writable by group or others, it is refused with the fix", () => {
    const file = join(home, "allow.json");
    writeFileSync(file, JSON.stringify({ allowedRoots: [{ path: "~/projects" }] }));
    chmodSync(file, 0o666);
    let err: unknown;
    try {
      loadMountAllowlist(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MountAllowlistError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toContain("writable by group and others (mode 0666)");
    expect((err as Error).message).toContain(`chmod 600 ${file}`);
    chmodSync(file, 0o620);
    expect(() => loadMountAllowlist(file)).toThrow("writable by group");
    chmodSync(file, 0o600);
    expect(loadMountAllowlist(file)?.allowedRoots).toHaveLength(1);
  });
});
