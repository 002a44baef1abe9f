/**
 * The few crypto primitives the host needs, on Bun's native hasher and Web Crypto randomness.
 * Not `node:crypto`: importing it costs ~7 MB of idle RSS in the compiled binary.
 */

/** `bytes` random bytes, hex encoded. */
export function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}

/** `bytes` random bytes, base64url encoded (tokens). */
export function randomToken(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
}

export function sha256(data: string | Uint8Array): Buffer {
  return Buffer.from(new Bun.CryptoHasher("sha256").update(data).digest());
}

export function hmacSha256(key: string, data: string): Buffer {
  return Buffer.from(new Bun.CryptoHasher("sha256", key).update(data).digest());
}

/**
 * Constant-time string comparison: both sides are hashed to equal-length digests first, so
 * neither the length nor the content leaks through timing.
 */
export function safeEqual(a: string, b: string): boolean {
  const x = sha256(a);
  const y = sha256(b);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}
