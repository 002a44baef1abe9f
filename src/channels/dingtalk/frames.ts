/**
 * DingTalk Stream mode frames: what the gateway pushes over the WebSocket (JSON text frames with
 * `specVersion`, `type`, `headers`, a JSON-string `data`) and the ack frames the client sends
 * back. Pure functions, no I/O. Protocol: open-dingtalk/developerpedia `docs/learn/stream/
 * protocol.md`; ack shape as sent by the official SDKs (dingtalk-stream-sdk-nodejs `client.ts`,
 * -python `frames.py`).
 */
import * as v from "valibot";

/** The robot message callback topic (1:1 and group messages to the bot). */
export const TOPIC_ROBOT = "/v1.0/im/bot/messages/get";
/** SYSTEM topics the gateway documents: health check and graceful disconnect notice. */
export const TOPIC_PING = "ping";
export const TOPIC_DISCONNECT = "disconnect";

/** Frames larger than this are refused unparsed (a robot message is a few KB). */
export const MAX_FRAME_BYTES = 1024 * 1024;

export const FrameType = v.picklist(["SYSTEM", "EVENT", "CALLBACK"]);
export type FrameType = v.InferOutput<typeof FrameType>;

/** One pushed frame. Unknown header keys are kept (the gateway adds some over time). */
export const StreamFrame = v.object({
  specVersion: v.optional(v.string()),
  type: v.string(),
  headers: v.looseObject({
    topic: v.optional(v.string()),
    messageId: v.optional(v.string()),
    contentType: v.optional(v.string()),
    time: v.optional(v.union([v.string(), v.number()])),
  }),
  data: v.optional(v.string(), ""),
});
export type StreamFrame = v.InferOutput<typeof StreamFrame>;

export type ParsedFrame =
  | { ok: true; frame: StreamFrame }
  | { ok: false; reason: string; messageId?: string };

/** Parse one text frame; a refusal names what was wrong (never echoes the payload). */
export function parseFrame(raw: string | ArrayBuffer | Uint8Array): ParsedFrame {
  const size = typeof raw === "string" ? raw.length : raw.byteLength;
  if (size > MAX_FRAME_BYTES) return { ok: false, reason: `frame too large (${size} bytes)` };
  const text = typeof raw === "string" ? raw : new TextDecoder().decode(raw);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: "frame is not JSON" };
  }
  const parsed = v.safeParse(StreamFrame, json);
  if (!parsed.success) {
    const messageId = (json as { headers?: { messageId?: unknown } } | null)?.headers?.messageId;
    return {
      ok: false,
      reason: `frame has no valid ${issuePath(parsed.issues)}`,
      ...(typeof messageId === "string" ? { messageId } : {}),
    };
  }
  return { ok: true, frame: parsed.output };
}

/** The first issue's dotted path ("headers.messageId"), or "shape". */
export function issuePath(issues: readonly v.BaseIssue<unknown>[]): string {
  const path = issues[0]?.path?.map((p) => String(p.key)).join(".");
  return path || "shape";
}

/** The client's answer to a pushed frame. */
export interface AckFrame {
  code: number;
  headers: { contentType: "application/json"; messageId: string };
  message: string;
  data: string;
}

/**
 * Ack for a frame: `code` 200 + the frame's messageId. `data` is a JSON string: the robot topic
 * ignores it (`{"response":null}` per the protocol doc), EVENT needs `{"status":"SUCCESS"}`,
 * a SYSTEM ping needs its own `data` echoed.
 */
export function ackFrame(messageId: string, data: string, code = 200, message = "OK"): AckFrame {
  return { code, headers: { contentType: "application/json", messageId }, message, data };
}

/** What to answer to a frame that carries a messageId, by its type and topic. */
export function ackDataFor(frame: StreamFrame): string {
  if (frame.type === "SYSTEM") return frame.data; // ping: echo {"opaque":…}
  if (frame.type === "EVENT") return JSON.stringify({ status: "SUCCESS", message: "success" });
  return JSON.stringify({ response: null });
}

/** Parse a frame's `data` JSON string into an object, or a reason. */
export function parseData(frame: StreamFrame): { ok: true; data: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, data: JSON.parse(frame.data) };
  } catch {
    return { ok: false, reason: "frame data is not JSON" };
  }
}
