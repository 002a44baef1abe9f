/** QQ Ed25519 against the official bot-docs vector (webhook URL validation). */
import { expect, test } from "bun:test";
import { createQqSigner, qqSeed } from "./sign.ts";

test("bot-docs validation vector: secret DG5g3B4j9X2KOErG signs event_ts + plain_token", async () => {
  const s = createQqSigner("DG5g3B4j9X2KOErG");
  expect(await s.sign("1725442341Arq0D5A61EgUu4OxUvOp")).toBe(
    "87befc99c42c651b3aac0278e71ada338433ae26fcb24307bdc5ad38c1adc2d01bcfcadc0842edac85e85205028a1132afe09280305f13aa6909ffc2d652c706",
  );
});

test("seed: the secret repeated to 32 bytes", () => {
  expect(Buffer.from(qqSeed("DG5g3B4j9X2KOErG")).toString()).toBe("DG5g3B4j9X2KOErGDG5g3B4j9X2KOErG");
  expect(Buffer.from(qqSeed("abc")).toString()).toBe("abcabcabcabcabcabcabcabcabcabcab");
});

test("verify: accepts our signature, refuses another message, another key, malformed hex, non-canonical S", async () => {
  const s = createQqSigner("DG5g3B4j9X2KOErG");
  const sig = await s.sign('1700000000{"op":0}');
  expect(await s.verify('1700000000{"op":0}', sig)).toBe(true);
  expect(await s.verify('1700000001{"op":0}', sig)).toBe(false);
  expect(await createQqSigner("another-secret").verify('1700000000{"op":0}', sig)).toBe(false);
  expect(await s.verify("x", "zz")).toBe(false);
  const bad = Buffer.from(sig, "hex");
  bad[63] = bad[63]! | 0xe0;
  expect(await s.verify('1700000000{"op":0}', bad.toString("hex"))).toBe(false);
});
