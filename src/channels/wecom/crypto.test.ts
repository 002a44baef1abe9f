/** Our WXBizMsgCrypt against the official sample vector and the official @wecom/crypto package. */
import { expect, test } from "bun:test";
import { decrypt as officialDecrypt, encrypt as officialEncrypt, getSignature } from "@wecom/crypto";
import { createWecomCipher, parseFlatXml, WecomCryptoError, wecomSignature } from "./crypto.ts";

const KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const ECHO = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";

test("official sample vector: signature and decrypted echostr with receiveid", async () => {
  expect(wecomSignature("QDG6eK", "1409659589", "263014780", ECHO)).toBe(
    "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
  );
  expect(getSignature("QDG6eK", "1409659589", "263014780", ECHO)).toBe(
    "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
  );
  expect(await createWecomCipher(KEY, "wx5823bf96d3bd56c7").decrypt(ECHO)).toBe("1616140317555161061");
});

test("the wrong receiveid is refused", async () => {
  const err = await createWecomCipher(KEY, "wwother")
    .decrypt(ECHO)
    .catch((e) => e);
  expect(err).toBeInstanceOf(WecomCryptoError);
  expect(err.reason).toBe("bad_receiveid");
});

test("round trips with @wecom/crypto both ways, every padding length (1..32)", async () => {
  const c = createWecomCipher(KEY, "corp1");
  for (let n = 0; n < 40; n++) {
    const msg = `<xml>${"消".repeat(n)}${"a".repeat(n % 7)}</xml>`;
    expect(await c.decrypt(officialEncrypt(KEY, msg, "corp1"))).toBe(msg);
    const ours = await c.encrypt(msg);
    expect(officialDecrypt(KEY, ours)).toMatchObject({ message: msg, id: "corp1" });
  }
});

test("garbage is refused with a reason, never a crash", async () => {
  const c = createWecomCipher(KEY, "corp1");
  for (const [input, reason] of [
    ["!!!", "bad_base64"],
    ["", "bad_base64"],
    [Buffer.alloc(40).toString("base64"), "bad_length"],
    [Buffer.alloc(64, 7).toString("base64"), undefined],
  ] as const) {
    const err = await c.decrypt(input).catch((e) => e);
    expect(err).toBeInstanceOf(WecomCryptoError);
    if (reason) expect(err.reason).toBe(reason);
  }
});

test("flat XML: CDATA, plain values, entities, nothing outside <xml>", () => {
  expect(parseFlatXml("<xml><A><![CDATA[x<y]]></A><B>12</B><C>&lt;&amp;</C></xml>")).toEqual({
    A: "x<y",
    B: "12",
    C: "<&",
  });
  expect(parseFlatXml("<html><A>1</A></html>")).toEqual({});
});
