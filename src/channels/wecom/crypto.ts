/**
 * WeCom callback crypto (WXBizMsgCrypt), for the self-built app's callback URL:
 * - signature: sha1 of the sorted [token, timestamp, nonce, encrypt] joined;
 * - key = base64(EncodingAESKey + "="), 32 bytes; IV = its first 16 bytes; AES-256-CBC;
 * - plaintext = random(16) ‖ msg_len (uint32 BE) ‖ msg ‖ receiveid, PKCS#7-padded to 32 bytes.
 * Decryption checks the padding, the length field and the receiveid (the corp id), so a body
 * encrypted for another corp, truncated or tampered with is refused with a reason.
 *
 * On Web Crypto, not node:crypto (which costs megabytes of idle RSS in the compiled binary).
 * Web Crypto's AES-CBC insists on 16-byte PKCS#7 padding; WeCom pads to 32, so decryption
 * appends one block that decrypts to a full 16-byte pad and strips WeCom's padding itself.
 */

export class WecomCryptoError extends Error {
  override name = "WecomCryptoError";
  constructor(
    /** Short code for counting: bad_key, bad_base64, bad_length, bad_padding, bad_receiveid. */
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** msg_signature: sha1 hex of the four values sorted and concatenated. */
export function wecomSignature(token: string, timestamp: string, nonce: string, encrypt: string): string {
  return new Bun.CryptoHasher("sha1")
    .update([token, timestamp, nonce, encrypt].sort().join(""))
    .digest("hex");
}

export function decodeAesKey(encodingAesKey: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9+/]{43}$/.test(encodingAesKey))
    throw new WecomCryptoError("bad_key", "EncodingAESKey must be 43 characters of base64");
  const key = Buffer.from(`${encodingAesKey}=`, "base64");
  if (key.length !== 32) throw new WecomCryptoError("bad_key", "EncodingAESKey does not decode to 32 bytes");
  return new Uint8Array(key);
}

export interface WecomCipher {
  /** Decrypt a base64 `Encrypt` value; throws WecomCryptoError. Returns the message text. */
  decrypt(encrypt: string): Promise<string>;
  /** Encrypt `message` for `receiveId` (tests, the fake; passive encrypted replies). */
  encrypt(message: string, random?: Uint8Array<ArrayBuffer>): Promise<string>;
}

/** A cipher for one EncodingAESKey; `receiveId` is the corp id (apps) or "" (AI-bot webhooks). */
export function createWecomCipher(encodingAesKey: string, receiveId: string): WecomCipher {
  const raw = decodeAesKey(encodingAesKey);
  const iv = raw.slice(0, 16);
  let key: Promise<CryptoKey> | undefined;
  const getKey = () => {
    key ??= crypto.subtle.importKey("raw", raw, { name: "AES-CBC" }, false, ["encrypt", "decrypt"]);
    return key;
  };
  return {
    async decrypt(encrypt) {
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encrypt) || encrypt.length % 4 !== 0)
        throw new WecomCryptoError("bad_base64", "Encrypt is not base64");
      const data = new Uint8Array(Buffer.from(encrypt, "base64"));
      if (data.length === 0 || data.length % 32 !== 0)
        throw new WecomCryptoError(
          "bad_length",
          `ciphertext of ${data.length} bytes is not whole 32-byte blocks`,
        );
      const k = await getKey();
      // One extra block E with D(E) XOR last = 16×0x10, so Web Crypto sees valid padding:
      // E = AES(last XOR 16×0x10) = first block of CBC-encrypting 16×0x10 with IV = last.
      const last = data.slice(data.length - 16);
      const pad = new Uint8Array(16).fill(16);
      const extra = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-CBC", iv: last }, k, pad)).slice(
        0,
        16,
      );
      const joined = new Uint8Array(data.length + 16);
      joined.set(data);
      joined.set(extra, data.length);
      const plain = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-CBC", iv }, k, joined));
      const n = plain[plain.length - 1] ?? 0;
      if (n < 1 || n > 32 || n > plain.length)
        throw new WecomCryptoError("bad_padding", "decrypted body has invalid padding (wrong key?)");
      for (let i = plain.length - n; i < plain.length; i++)
        if (plain[i] !== n)
          throw new WecomCryptoError("bad_padding", "decrypted body has invalid padding (wrong key?)");
      const body = plain.subarray(0, plain.length - n);
      if (body.length < 20) throw new WecomCryptoError("bad_length", "decrypted body is too short");
      const len = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(16);
      if (20 + len > body.length)
        throw new WecomCryptoError("bad_length", "decrypted body's length field exceeds the body");
      const message = Buffer.from(body.subarray(20, 20 + len)).toString("utf8");
      const rid = Buffer.from(body.subarray(20 + len)).toString("utf8");
      if (rid !== receiveId)
        throw new WecomCryptoError(
          "bad_receiveid",
          "body was encrypted for another receiver (corp id mismatch)",
        );
      return message;
    },
    async encrypt(message, random = crypto.getRandomValues(new Uint8Array(16))) {
      const msg = Buffer.from(message, "utf8");
      const rid = Buffer.from(receiveId, "utf8");
      const len = Buffer.alloc(4);
      len.writeUInt32BE(msg.length);
      const body = Buffer.concat([Buffer.from(random), len, msg, rid]);
      const n = 32 - (body.length % 32);
      const padded = Buffer.concat([body, Buffer.alloc(n, n)]);
      const out = new Uint8Array(
        await crypto.subtle.encrypt({ name: "AES-CBC", iv }, await getKey(), new Uint8Array(padded)),
      );
      // Web Crypto adds its own full 16-byte padding block: drop it (WeCom padding already applied).
      return Buffer.from(out.subarray(0, padded.length)).toString("base64");
    },
  };
}

/**
 * Values of a flat XML document (`<xml><A><![CDATA[x]]></A><B>1</B></xml>`), as WeCom sends
 * them. Only the top level's simple children; nested elements are skipped. Entities in plain
 * text are decoded (the five XML ones).
 */
export function parseFlatXml(xml: string): Record<string, string> {
  const out: Record<string, string> = {};
  const root = /^\s*(?:<\?xml[^>]*\?>\s*)?<xml>([\s\S]*)<\/xml>\s*$/.exec(xml);
  if (!root) return out;
  const re = /<([A-Za-z_][\w]*)>(?:<!\[CDATA\[([\s\S]*?)\]\]>|([^<]*))<\/\1>/g;
  for (let m = re.exec(root[1]!); m; m = re.exec(root[1]!)) {
    const name = m[1]!;
    if (name in out) continue;
    out[name] =
      m[2] ??
      (m[3] ?? "")
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&quot;/g, '"')
        .replace(/&apos;/g, "'")
        .replace(/&amp;/g, "&");
  }
  return out;
}
