/**
 * The Feishu/Lark long-connection frame: protobuf message `pbbp2.Frame` (proto2), hand-written so
 * the product needs no protobuf library. Field numbers follow the official SDK's
 * `proto-buf/pbbp2.js`:
 *
 *   Frame  { 1 SeqID uint64, 2 LogID uint64, 3 service int32, 4 method int32,
 *            5 headers repeated Header, 6 payload_encoding string, 7 payload_type string,
 *            8 payload bytes, 9 LogIDNew string }              — fields 1–4 required
 *   Header { 1 key string, 2 value string }                    — both required
 *
 * Decoding is strict about structure (truncation, bad wire types, missing required fields and
 * oversized lengths are errors) and lenient about unknown fields (skipped, as protobuf requires).
 */

export interface FrameHeader {
  key: string;
  value: string;
}

export interface Frame {
  seqId: bigint;
  logId: bigint;
  service: number;
  /** 0 = control (ping/pong), 1 = data (event/card). */
  method: number;
  headers: FrameHeader[];
  payloadEncoding?: string;
  payloadType?: string;
  payload?: Uint8Array;
  logIdNew?: string;
}

export const FRAME_METHOD = { control: 0, data: 1 } as const;

/** A frame that is not a well-formed `pbbp2.Frame`. */
export class FrameDecodeError extends Error {
  override name = "FrameDecodeError";
}

const MASK64 = (1n << 64n) - 1n;
const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

class Writer {
  private buf = new Uint8Array(64);
  private len = 0;
  private ensure(n: number) {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  varint(value: bigint) {
    let v = value & MASK64;
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
  }
  u64(value: bigint) {
    if (value >= 0n && value <= 0xffffffffn) this.uint(Number(value));
    else this.varint(value);
  }
  /** int32 is sign-extended to 64 bits on the wire (10 bytes when negative). */
  int32(value: number) {
    const v = value | 0;
    if (v >= 0) this.uint(v);
    else this.varint(BigInt.asUintN(64, BigInt(v)));
  }
  /** Non-negative integers below 2^32 (tags, lengths) without BigInt. */
  uint(value: number) {
    this.ensure(5);
    let v = value >>> 0;
    while (v >= 0x80) {
      this.buf[this.len++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.len++] = v;
  }
  bytes(data: Uint8Array) {
    this.uint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function writeHeader(h: FrameHeader): Uint8Array {
  const w = new Writer();
  w.uint((1 << 3) | 2);
  w.bytes(enc.encode(h.key));
  w.uint((2 << 3) | 2);
  w.bytes(enc.encode(h.value));
  return w.finish();
}

/** Encode a frame exactly as `pbbp2.Frame.encode` does (same field order, same optional fields). */
export function encodeFrame(frame: Frame): Uint8Array {
  const w = new Writer();
  w.uint(1 << 3);
  w.u64(frame.seqId);
  w.uint(2 << 3);
  w.u64(frame.logId);
  w.uint(3 << 3);
  w.int32(frame.service);
  w.uint(4 << 3);
  w.int32(frame.method);
  for (const h of frame.headers) {
    w.uint((5 << 3) | 2);
    w.bytes(writeHeader(h));
  }
  if (frame.payloadEncoding !== undefined) {
    w.uint((6 << 3) | 2);
    w.bytes(enc.encode(frame.payloadEncoding));
  }
  if (frame.payloadType !== undefined) {
    w.uint((7 << 3) | 2);
    w.bytes(enc.encode(frame.payloadType));
  }
  if (frame.payload !== undefined) {
    w.uint((8 << 3) | 2);
    w.bytes(frame.payload);
  }
  if (frame.logIdNew !== undefined) {
    w.uint((9 << 3) | 2);
    w.bytes(enc.encode(frame.logIdNew));
  }
  return w.finish();
}

class Reader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly end = buf.length,
  ) {}
  get done() {
    return this.pos >= this.end;
  }
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw new FrameDecodeError("truncated varint");
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result & MASK64;
    }
    throw new FrameDecodeError("varint longer than 10 bytes");
  }
  /** A varint that fits 32 bits (tags, lengths) without BigInt; larger ones are refused. */
  uint32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) throw new FrameDecodeError("truncated varint");
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) throw new FrameDecodeError("varint out of 32-bit range");
        return result;
      }
    }
    throw new FrameDecodeError("varint out of 32-bit range");
  }
  length(): number {
    const n = this.uint32();
    if (n > this.end - this.pos) throw new FrameDecodeError("length-delimited field runs past the end");
    return n;
  }
  bytes(): Uint8Array {
    const n = this.length();
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  string(what: string): string {
    try {
      return dec.decode(this.bytes());
    } catch (err) {
      if (err instanceof FrameDecodeError) throw err;
      throw new FrameDecodeError(`${what} is not valid UTF-8`);
    }
  }
  skip(wireType: number) {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.advance(8);
        return;
      case 2: {
        // Read the length first: `this.pos += this.length()` would add to the stale position.
        const n = this.length();
        this.pos += n;
        return;
      }
      case 5:
        this.advance(4);
        return;
      default:
        throw new FrameDecodeError(`unsupported wire type ${wireType}`);
    }
  }
  private advance(n: number) {
    if (this.pos + n > this.end) throw new FrameDecodeError("truncated fixed-width field");
    this.pos += n;
  }
}

function int32(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}

function expectWire(field: number, wire: number, want: number) {
  if (wire !== want) throw new FrameDecodeError(`field ${field} has wire type ${wire}, expected ${want}`);
}

function readHeader(bytes: Uint8Array): FrameHeader {
  const r = new Reader(bytes);
  let key: string | undefined;
  let value: string | undefined;
  while (!r.done) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1) {
      expectWire(1, wire, 2);
      key = r.string("header key");
    } else if (field === 2) {
      expectWire(2, wire, 2);
      value = r.string("header value");
    } else r.skip(wire);
  }
  if (key === undefined || value === undefined) throw new FrameDecodeError("header without key or value");
  return { key, value };
}

/** Decode one binary WebSocket message. Throws `FrameDecodeError` on anything malformed. */
export function decodeFrame(data: Uint8Array): Frame {
  const r = new Reader(data);
  let seqId: bigint | undefined;
  let logId: bigint | undefined;
  let service: number | undefined;
  let method: number | undefined;
  const frame: Partial<Frame> & { headers: FrameHeader[] } = { headers: [] };
  while (!r.done) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 0) throw new FrameDecodeError("field number 0");
    switch (field) {
      case 1:
        expectWire(1, wire, 0);
        seqId = r.varint();
        break;
      case 2:
        expectWire(2, wire, 0);
        logId = r.varint();
        break;
      case 3:
        expectWire(3, wire, 0);
        service = int32(r.varint());
        break;
      case 4:
        expectWire(4, wire, 0);
        method = int32(r.varint());
        break;
      case 5:
        expectWire(5, wire, 2);
        frame.headers.push(readHeader(r.bytes()));
        break;
      case 6:
        expectWire(6, wire, 2);
        frame.payloadEncoding = r.string("payload_encoding");
        break;
      case 7:
        expectWire(7, wire, 2);
        frame.payloadType = r.string("payload_type");
        break;
      case 8:
        expectWire(8, wire, 2);
        frame.payload = r.bytes().slice();
        break;
      case 9:
        expectWire(9, wire, 2);
        frame.logIdNew = r.string("LogIDNew");
        break;
      default:
        r.skip(wire);
    }
  }
  if (seqId === undefined) throw new FrameDecodeError("missing required SeqID");
  if (logId === undefined) throw new FrameDecodeError("missing required LogID");
  if (service === undefined) throw new FrameDecodeError("missing required service");
  if (method === undefined) throw new FrameDecodeError("missing required method");
  return { ...frame, seqId, logId, service, method };
}

/** Value of the first header named `key`. */
export function header(frame: Frame, key: string): string | undefined {
  return frame.headers.find((h) => h.key === key)?.value;
}
