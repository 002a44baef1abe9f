import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { type FakeAnthropic, startFakeAnthropic } from "../../test/fakes/anthropic.ts";
import { Config } from "../config/index.ts";
import { silentLogger } from "../log/index.ts";
import { openStore, type Store } from "../store/index.ts";
import {
  type AuthFailure,
  type CredentialProxy,
  createCredentialProxy,
  isAuthFailureSentence,
} from "./index.ts";
import { authFailureSentence, scrubDetail, upstreamDetail } from "./auth-failure.ts";

const GOOD = "sk-ant-api03-good-key-000000000000000000";
const BAD = "sk-ant-api03-bad-key-1111111111111111111111";
let dir: string;
let store: Store;
let fake: FakeAnthropic;
let proxy: CredentialProxy | undefined;
let failures: { group: string; failure: AuthFailure }[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ngb-proxy-auth-"));
  store = openStore(join(dir, "ngb.db"));
  fake = startFakeAnthropic({ acceptKeys: [GOOD], script: () => ({ text: "ok" }) });
  failures = [];
});
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
  await fake.stop();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function start(anthropic: Record<string, unknown>) {
  const config = v.parse(Config, { anthropic: { baseUrl: fake.url, ...anthropic } });
  proxy = createCredentialProxy({
    config,
    store,
    log: silentLogger(),
    socketPath: join(dir, "p", "proxy.sock"),
    onAuthFailure: (group, failure) => failures.push({ group, failure }),
  });
  return proxy;
}

function call(token: string) {
  return fetch("http://localhost/v1/messages?beta=true", {
    unix: proxy!.socketPath,
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": token },
    body: JSON.stringify({
      model: "m",
      max_tokens: 5,
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    }),
  } as RequestInit);
}

describe("credential proxy: fail fast on auth", () => {
  test("no credentials: 401 with the sentence, callback once per token, upstream untouched", async () => {
    const p = start({});
    const token = p.issue("alpha");
    for (let i = 0; i < 3; i++) {
      const res = await call(token);
      expect(res.status).toBe(401);
      const body = (await res.json()) as { type: string; error: { type: string; message: string } };
      expect(body.type).toBe("error");
      expect(body.error.type).toBe("authentication_error");
      expect(body.error.message).toContain("ngb setup");
      expect(isAuthFailureSentence(body.error.message)).toBe(true);
    }
    expect(failures).toHaveLength(1);
    expect(failures[0]!.group).toBe("alpha");
    expect(failures[0]!.failure.reason).toBe("missing");
    expect(fake.requests).toHaveLength(0);
  });

  test("rejected key: the upstream's 401 becomes the sentence; the key never appears", async () => {
    const p = start({ apiKey: BAD });
    const res = await call(p.issue("beta"));
    expect(res.status).toBe(401);
    const msg = ((await res.json()) as { error: { message: string } }).error.message;
    expect(msg).toStartWith(
      "The Anthropic API key was rejected (401 authentication_error: invalid x-api-key)",
    );
    expect(msg).not.toContain(BAD);
    expect(failures).toEqual([
      {
        group: "beta",
        failure: expect.objectContaining({ reason: "rejected", status: 401, credential: "apiKey" }),
      },
    ]);
    expect(JSON.stringify(failures)).not.toContain(BAD);
  });

  test("a good key passes and reports nothing; transient errors are passed through untouched", async () => {
    const p = start({ apiKey: GOOD });
    const ok = await call(p.issue("gamma"));
    expect(ok.status).toBe(200);
    await ok.text();
    fake.setScript(() => ({ error: { status: 529, type: "overloaded_error", message: "Overloaded" } }));
    const busy = await call(p.issue("gamma"));
    expect(busy.status).toBe(529);
    expect(((await busy.json()) as { error: { type: string } }).error.type).toBe("overloaded_error");
    expect(failures).toHaveLength(0);
  });

  test("a subscription token that is rejected names `claude setup-token`", () => {
    const s = authFailureSentence({ reason: "rejected", status: 401, detail: "x", credential: "authToken" });
    expect(s).toContain("claude setup-token");
    expect(isAuthFailureSentence(s)).toBe(true);
  });

  test("details are scrubbed and bounded", () => {
    expect(scrubDetail(`bad key ${BAD} and Bearer abc.def`)).toBe("bad key sk-ant-… and Bearer …");
    expect(scrubDetail("x".repeat(500)).length).toBe(200);
    expect(upstreamDetail(403, '{"error":{"type":"permission_error","message":"no"}}')).toBe(
      "permission_error: no",
    );
    expect(upstreamDetail(401, "<html>nope</html>")).toBe("<html>nope</html>");
  });
});
