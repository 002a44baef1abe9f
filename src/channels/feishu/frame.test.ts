import { describe, expect, test } from "bun:test";
import { decodeFrame, encodeFrame, type Frame, FrameDecodeError, header } from "./frame.ts";

const frame: Frame = {
  seqId: 2n ** 64n - 1n,
  logId: 42n,
  service: -1,
  method: 1,
  headers: [
    { key: "type", value: "event" },
    { key: "message_id", value: "m-1" },
  ],
  payload: new TextEncoder().encode('{"a":1}'),
  logIdNew: "x",
};

describe("pbbp2 frame codec", () => {
  test("round-trips every field, including max uint64 and negative int32", () => {
    expect(decodeFrame(encodeFrame(frame))).toEqual(frame);
    expect(header(decodeFrame(encodeFrame(frame)), "message_id")).toBe("m-1");
  });

  test("every truncation of a valid frame is refused, never misread", () => {
    const bytes = encodeFrame(frame);
    for (let n = 0; n < bytes.length; n++) {
      const cut = bytes.subarray(0, n);
      let decoded: Frame | undefined;
      try {
        decoded = decodeFrame(cut);
      } catch (err) {
        expect(err).toBeInstanceOf(FrameDecodeError);
        continue;
      }
      // A cut exactly at a field boundary is a shorter valid frame: it must then lack that data.
      expect(decoded).not.toEqual(frame);
    }
  });

  test("missing required fields, bad wire types and junk are refused", () => {
    expect(() => decodeFrame(new Uint8Array([]))).toThrow(/SeqID/);
    expect(() => decodeFrame(new Uint8Array([0x08, 0x01, 0x10, 0x01, 0x18, 0x01]))).toThrow(/method/);
    expect(() => decodeFrame(new Uint8Array([0x0a, 0x01, 0x00]))).toThrow(/wire type/);
    expect(() => decodeFrame(new Uint8Array([0x42, 0xff, 0xff, 0xff, 0x0f]))).toThrow(/past the end/);
    expect(() => decodeFrame(new Uint8Array(12).fill(0xff))).toThrow(FrameDecodeError);
    expect(() => decodeFrame(new Uint8Array([0x0b]))).toThrow(/wire type/);
  });

  test("unknown fields are skipped", () => {
    const bytes = encodeFrame(frame);
    const withUnknown = new Uint8Array([...bytes, 0x50, 0x05, 0x5a, 0x02, 0x61, 0x62]);
    expect(decodeFrame(withUnknown)).toEqual(frame);
  });
});
