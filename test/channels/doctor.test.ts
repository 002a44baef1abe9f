/** `ngb doctor`'s channel checks come from the registry: one line per enabled channel. */
import { afterEach, expect, test } from "bun:test";
import * as v from "valibot";
import { channelChecks } from "../../src/cli/doctor.ts";
import { Config } from "../../src/config/index.ts";
import { createFakeSlack, type FakeSlack } from "../fakes/slack.ts";
import { createFakeTelegram, type FakeTelegram } from "../fakes/telegram.ts";

let tg: FakeTelegram | undefined;
let sl: FakeSlack | undefined;
afterEach(async () => {
  tg?.stop();
  await sl?.stop();
});

test("nothing enabled: says so and lists what is available", async () => {
  const [r] = await channelChecks(v.parse(Config, {}));
  expect(r).toMatchObject({ name: "channels", status: "ok" });
  expect(r!.detail).toContain("telegram, discord, slack, whatsapp");
});

test("each enabled channel is verified on its own; a failure names its keys, never the secret", async () => {
  tg = createFakeTelegram();
  sl = createFakeSlack();
  const config = v.parse(Config, {
    channels: {
      telegram: { enabled: true, apiBaseUrl: tg.url, botToken: tg.token },
      slack: {
        enabled: true,
        apiBaseUrl: sl.apiBaseUrl,
        botToken: "xoxb-wrong-secret",
        appToken: sl.appToken,
      },
    },
  });
  const results = await channelChecks(config);
  expect(results.map((r) => [r.name, r.status])).toEqual([
    ["channel telegram", "ok"],
    ["channel slack", "fail"],
  ]);
  expect(results[0]!.detail).toContain(`@${tg.botUsername}`);
  expect(results[1]!.detail).toContain("invalid_auth");
  expect(results[1]!.fix).toContain("channels.slack.botToken");
  expect(JSON.stringify(results)).not.toContain("xoxb-wrong-secret");
});
