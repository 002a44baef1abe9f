import { expect, test } from "bun:test";
import * as v from "valibot";
import { Config } from "../config/index.ts";
import { kubeChecks } from "./kube-checks.ts";

const c = v.parse(Config, {
  container: { runtime: "kubernetes", kubernetes: { namespace: "bots" } },
}).container;

test("a reachable cluster where pods may be created: all ok but the image note", async () => {
  const seen: string[][] = [];
  const checks = await kubeChecks(
    c,
    async (cmd) => {
      seen.push(cmd);
      if (cmd.includes("/version")) return { code: 0, out: '{"gitVersion":"v1.31.0"}', err: "" };
      if (cmd.includes("can-i")) return { code: 0, out: "yes\n", err: "" };
      return { code: 0, out: "namespace/bots", err: "" };
    },
    () => "/usr/bin/kubectl",
  );
  expect(checks.map((x) => [x.name, x.status])).toEqual([
    ["kubectl", "ok"],
    ["kubernetes API", "ok"],
    ["agent namespace", "ok"],
    ["agent image", "warn"],
  ]);
  expect(seen[0]).toEqual(["kubectl", "--namespace", "bots", "get", "--raw", "/version"]);
});

test("missing kubectl, an unreachable API, a missing right: each a failure with a fix", async () => {
  expect(
    (
      await kubeChecks(
        c,
        async () => ({ code: 0, out: "", err: "" }),
        () => null,
      )
    )[0],
  ).toMatchObject({
    status: "fail",
    fix: expect.stringContaining("install kubectl"),
  });
  const down = await kubeChecks(
    c,
    async () => ({ code: 1, out: "", err: "Unable to connect to the server: dial tcp: i/o timeout" }),
    () => "/k",
  );
  expect(down.at(-1)).toMatchObject({ name: "kubernetes API", status: "fail" });
  const denied = await kubeChecks(
    c,
    async (cmd) =>
      cmd.includes("can-i")
        ? { code: 1, out: cmd.includes("networkpolicies.networking.k8s.io") ? "no\n" : "yes\n", err: "" }
        : { code: 0, out: "{}", err: "" },
    () => "/k",
  );
  expect(denied.find((x) => x.name === "agent namespace")).toMatchObject({
    status: "fail",
    detail: expect.stringContaining("create networkpolicies"),
  });
});
