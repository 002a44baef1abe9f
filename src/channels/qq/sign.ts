/**
 * QQ webhook signatures (bot-docs `interface-framework/sign.md`): the Ed25519 seed is the app
 * secret repeated until it has 32 bytes; the platform signs `timestamp + raw body` and sends it
 * hex-encoded in `X-Signature-Ed25519` with `X-Signature-Timestamp`. The URL-validation challenge
 * (op 13) is answered with the signature of `event_ts + plain_token`.
 *
 * On Web Crypto (Ed25519), not node:crypto (megabytes of idle RSS in the compiled binary).
 */

/** PKCS#8 DER header of an Ed25519 private key; the 32-byte seed follows. */
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** The 32-byte seed: the secret repeated until long enough, then cut. */
export function qqSeed(secret: string): Uint8Array<ArrayBuffer> {
  if (secret.length === 0) throw new Error("the QQ app secret is empty");
  let s = secret;
  while (Buffer.byteLength(s) < 32) s += s;
  return new Uint8Array(Buffer.from(s).subarray(0, 32));
}

export interface QqSigner {
  /** Hex Ed25519 signature of `message`. */
  sign(message: string): Promise<string>;
  /** Whether `signatureHex` is a valid signature of `message` by this secret's key. */
  verify(message: string, signatureHex: string): Promise<boolean>;
  /** The public key, hex (for diagnostics; not secret). */
  publicKeyHex(): Promise<string>;
}

export function createQqSigner(secret: string): QqSigner {
  let keys: Promise<{ priv: CryptoKey; pub: CryptoKey; x: string }> | undefined;
  const load = () => {
    keys ??= (async () => {
      const der = new Uint8Array(Buffer.concat([PKCS8_PREFIX, qqSeed(secret)]));
      const priv = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
      const jwk = await crypto.subtle.exportKey("jwk", priv);
      const pub = await crypto.subtle.importKey(
        "jwk",
        { kty: "OKP", crv: "Ed25519", x: jwk.x },
        { name: "Ed25519" },
        true,
        ["verify"],
      );
      return { priv, pub, x: jwk.x ?? "" };
    })();
    return keys;
  };
  return {
    async sign(message) {
      const { priv } = await load();
      const sig = await crypto.subtle.sign({ name: "Ed25519" }, priv, new TextEncoder().encode(message));
      return Buffer.from(sig).toString("hex");
    },
    async verify(message, signatureHex) {
      if (!/^[0-9a-fA-F]{128}$/.test(signatureHex)) return false;
      const sig = Buffer.from(signatureHex, "hex");
      // A canonical signature's S < L: its top three bits are clear (bot-docs sample checks this).
      if (((sig[63] ?? 0) & 0xe0) !== 0) return false;
      const { pub } = await load();
      return crypto.subtle.verify(
        { name: "Ed25519" },
        pub,
        new Uint8Array(sig),
        new TextEncoder().encode(message),
      );
    },
    async publicKeyHex() {
      const { x } = await load();
      return Buffer.from(x, "base64url").toString("hex");
    },
  };
}
