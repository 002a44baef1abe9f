import { afterEach, describe, expect, test } from "bun:test";
import { type FakeAnthropic, scripts, startFakeAnthropic } from "./anthropic.ts";

let fake: FakeAnthropic | undefined;
afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

async function readSse(res: Response): Promise<SseEvent[]> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((chunk) => chunk.trim() !== "")
    .map((chunk) => {
      const lines = chunk.split("\n");
      const event = lines.find((l) => l.startsWith("event: "))?.slice(7) ?? "";
      const data = JSON.parse(lines.find((l) => l.startsWith("data: "))?.slice(6) ?? "{}");
      return { event, data };
    });
}

function post(path: string, body: unknown): Promise<Response> {
  if (!fake) throw new Error("no fake");
  return fetch(`${fake.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "dummy", "anthropic-version": "2023-06-01" },
    body: JSON.stringify(body),
  });
}

const userPrompt = (text: string) => ({
  model: "claude-test",
  max_tokens: 100,
  stream: true,
  messages: [{ role: "user", content: text }],
});

describe("fake anthropic", () => {
  test("streams a text reply as the real API frames it", async () => {
    fake = startFakeAnthropic({
      script: scripts.text("Hello from the fake model, in several deltas."),
      chunkSize: 10,
    });
    const res = await post("/v1/messages?beta=true", userPrompt("hi"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = await readSse(res);
    const names = events.map((e) => e.event);
    expect(names[0]).toBe("message_start");
    expect(names.at(-2)).toBe("message_delta");
    expect(names.at(-1)).toBe("message_stop");
    expect(names).toContain("content_block_start");
    expect(names).toContain("content_block_stop");
    for (const e of events) expect(e.data.type).toBe(e.event);
    const start = events[0]?.data.message as Record<string, unknown>;
    expect(start.role).toBe("assistant");
    expect(start.model).toBe("claude-test");
    expect((start.usage as Record<string, number>).input_tokens).toBeGreaterThan(0);
    const text = events
      .filter((e) => e.event === "content_block_delta")
      .map((e) => (e.data.delta as { type: string; text: string }).text)
      .join("");
    expect(text).toBe("Hello from the fake model, in several deltas.");
    expect(events.filter((e) => e.event === "content_block_delta").length).toBeGreaterThan(3);
    const delta = events.at(-2)?.data as { delta: { stop_reason: string }; usage: { output_tokens: number } };
    expect(delta.delta.stop_reason).toBe("end_turn");
    expect(delta.usage.output_tokens).toBeGreaterThan(0);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.path).toBe("/v1/messages?beta=true");
  });

  test("a tool call streams input_json_delta, then the text after the tool result", async () => {
    fake = startFakeAnthropic({ script: scripts.sendMessageThenText("progress note", "all done") });
    const events = await readSse(await post("/v1/messages", userPrompt("do it")));
    const blockStart = events.find((e) => e.event === "content_block_start")?.data.content_block as Record<
      string,
      unknown
    >;
    expect(blockStart.type).toBe("tool_use");
    expect(blockStart.name).toBe("mcp__ngb__send_message");
    const json = events
      .filter((e) => e.event === "content_block_delta")
      .map((e) => (e.data.delta as { type: string; partial_json: string }).partial_json)
      .join("");
    expect(JSON.parse(json)).toEqual({ text: "progress note" });
    expect((events.at(-2)?.data.delta as { stop_reason: string } | undefined)?.stop_reason).toBe("tool_use");

    const second = await post("/v1/messages", {
      model: "m",
      max_tokens: 10,
      stream: false,
      messages: [
        { role: "user", content: "do it" },
        {
          role: "assistant",
          content: [
            { type: "tool_use", id: blockStart.id, name: blockStart.name, input: { text: "progress note" } },
          ],
        },
        { role: "user", content: [{ type: "tool_result", tool_use_id: blockStart.id, content: "sent" }] },
      ],
    });
    const message = (await second.json()) as {
      content: { type: string; text: string }[];
      stop_reason: string;
    };
    expect(message.content[0]).toEqual({ type: "text", text: "all done" });
    expect(message.stop_reason).toBe("end_turn");
  });

  test("schedule_task helper, byPrompt routing, count_tokens, probes and errors", async () => {
    fake = startFakeAnthropic({
      script: scripts.byPrompt([
        {
          when: "remind",
          script: scripts.scheduleTaskThenText(
            { prompt: "p", schedule_type: "once", schedule_value: "2030-01-01T00:00:00Z" },
            "ok",
          ),
        },
        {
          when: /^fail/,
          script: () => ({ error: { status: 529, type: "overloaded_error", message: "busy" } }),
        },
      ]),
    });
    const sched = await (await post("/v1/messages", { ...userPrompt("remind me"), stream: false })).json();
    expect((sched as { content: { name: string }[] }).content[0]?.name).toBe("mcp__ngb__schedule_task");
    const echo = await (await post("/v1/messages", { ...userPrompt("hello"), stream: false })).json();
    expect((echo as { content: { text: string }[] }).content[0]?.text).toBe("echo: hello");
    const failed = await post("/v1/messages", userPrompt("fail now"));
    expect(failed.status).toBe(529);
    expect(((await failed.json()) as { error: { type: string } }).error.type).toBe("overloaded_error");
    const count = await post("/v1/messages/count_tokens", userPrompt("x"));
    expect(((await count.json()) as { input_tokens: number }).input_tokens).toBeGreaterThan(0);
    expect((await fetch(fake.url, { method: "HEAD" })).status).toBe(200);
    expect((await fetch(`${fake.url}/v1/models`)).status).toBe(200);
    expect((await post("/v1/messages", "not json")).status).toBe(400);
    await fake.waitForRequests(3, 1000);
    expect(fake.requests).toHaveLength(3);
  });
});
