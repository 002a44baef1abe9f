/**
 * Feishu/Lark event-subscription crypto: the `{"encrypt": …}` body (AES-256-CBC, key =
 * SHA-256(Encrypt Key), IV = the first 16 bytes of the decoded blob, PKCS#7) and the
 * `X-Lark-Signature` header (hex SHA-256 of timestamp + nonce + Encrypt Key + raw body).
 * Web Crypto and Bun's hasher only: `node:crypto` costs megabytes of idle RSS in the binary.
 */
import { safeEqual, sha256 } from "../../util/crypto.ts";

/** An encrypted event body that cannot be decrypted with the configured key. */
export class FeishuDecryptError extends Error {
  override name = "FeishuDecryptError";
}

const keys = new Map<string, Promise<CryptoKey>>();

function aesKey(encryptKey: string): Promise<CryptoKey> {
  let key = keys.get(encryptKey);
  if (!key) {
    key = crypto.subtle.importKey("raw", new Uint8Array(sha256(encryptKey)), { name: "AES-CBC" }, false, [
      "decrypt",
      "encrypt",
    ]);
    if (keys.size > 16) keys.clear();
    keys.set(encryptKey, key);
  }
  return key;
}

/** Decrypt the `encrypt` field of an event body to its UTF-8 plaintext. */
export async function decryptEvent(encryptKey: string, encrypted: string): Promise<string> {
  const blob = Buffer.from(encrypted, "base64");
  // IV + at least one block, whole blocks only.
  if (blob.length < 32 || blob.length % 16 !== 0) {
    throw new FeishuDecryptError(`encrypted payload has a bad length (${blob.length} bytes)`);
  }
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      { name: "AES-CBC", iv: new Uint8Array(blob.subarray(0, 16)) },
      await aesKey(encryptKey),
      new Uint8Array(blob.subarray(16)),
    );
  } catch {
    throw new FeishuDecryptError("encrypted payload does not decrypt with the configured encryptKey");
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(plain);
  } catch {
    throw new FeishuDecryptError("decrypted payload is not UTF-8");
  }
}

/** Encrypt as the platform does (fakes and tests; the product only decrypts). */
export async function encryptEvent(encryptKey: string, plaintext: string, iv?: Uint8Array): Promise<string> {
  const v = new Uint8Array(iv ?? crypto.getRandomValues(new Uint8Array(16)));
  const cipher = await crypto.subtle.encrypt(
    { name: "AES-CBC", iv: v },
    await aesKey(encryptKey),
    new TextEncoder().encode(plaintext),
  );
  return Buffer.concat([Buffer.from(v), Buffer.from(cipher)]).toString("base64");
}

/** `X-Lark-Signature` for a request: hex SHA-256 over timestamp + nonce + key + raw body. */
export function eventSignature(
  timestamp: string,
  nonce: string,
  encryptKey: string,
  rawBody: string,
): string {
  return sha256(timestamp + nonce + encryptKey + rawBody).toString("hex");
}

export function verifySignature(
  headers: { timestamp: string; nonce: string; signature: string },
  encryptKey: string,
  rawBody: string,
): boolean {
  return safeEqual(eventSignature(headers.timestamp, headers.nonce, encryptKey, rawBody), headers.signature);
}
