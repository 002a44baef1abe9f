/**
 * Issue 9's figures: the exactly-once harness (test/e2e/exactly-once-harness.ts) at bench size,
 * through the compiled serve with the real agent image and SDK: once with no crash (latency
 * inbound → reply accepted by the platform), once with SIGKILLs at every kill point. Needs the
 * engine and the ngb-agent image (NGB_TEST_AGENT_IMAGE to choose one); says why when skipped.
 */
import { runScenario } from "../../test/e2e/exactly-once-harness.ts";
import { chooseBinary } from "../../test/e2e/serve-rig.ts";
import { agentImageAvailable } from "../../test/support/engine.ts";

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

export async function bench(): Promise<Record<string, string>> {
  if (!(await agentImageAvailable())) return { "exactly-once": "skipped: no engine or agent image" };
  chooseBinary();
  const out: Record<string, string> = {};
  const size = Number(process.env.NGB_BENCH_ONCE_MESSAGES ?? 60);
  const calm = await runScenario({ messages: size, gapMs: 300, burst: 3, timeoutMs: 300_000 });
  out["exactly-once, no crash: messages / lost / answered twice / missing from history / wrong topic"] =
    `${calm.messages} / ${calm.lost.length} / ${calm.twice.length} / ${calm.missingFromHistory.length} / ${calm.wrongThread.length}`;
  out["exactly-once, no crash: inbound → reply"] =
    `p50 ${Math.round(pct(calm.latencies, 50))} ms, p99 ${Math.round(pct(calm.latencies, 99))} ms (n=${calm.latencies.length})`;
  const crashy = await runScenario({
    messages: size,
    gapMs: 300,
    burst: 3,
    kills: ["after-accept", "mid-run", "after-inbound", "startup", "after-accept", "mid-run"],
    timeoutMs: 300_000,
  });
  out["exactly-once, with SIGKILLs: messages / kills / lost / answered twice / missing from history"] =
    `${crashy.messages} / ${crashy.kills} / ${crashy.lost.length} / ${crashy.twice.length} / ${crashy.missingFromHistory.length}`;
  return out;
}

if (import.meta.main) console.log(await bench());
