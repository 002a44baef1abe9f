import { describe, expect, test } from "bun:test";
import * as ev from "../../../test/fakes/whatsapp-events.ts";
import { mapGroupsUpsert, mapParticipantsUpdate, mapWaMessage, normalizeJid, type WaMessage } from "./map.ts";

const me = { jid: normalizeJid(ev.ME.id), lid: normalizeJid(ev.ME.lid), assistantName: "Andy" };
const map = (m: unknown) => mapWaMessage(m as WaMessage, me);
const msg = (m: unknown) => {
  const r = map(m);
  if (r.kind !== "message") throw new Error(`expected a message, got ignored: ${r.reason}`);
  return r.message;
};

describe("whatsapp message mapping (recorded shapes)", () => {
  test("plain conversation in a DM", () => {
    expect(msg(ev.textDm)).toEqual({
      id: "3EB0A1B2C3D4E5F60001",
      chatJid: ev.ALICE,
      sender: ev.ALICE,
      senderName: "Alice",
      content: "hello there",
      timestamp: 1_763_750_000_000,
    });
  });

  test("extended text with a LID mention of us → mentionsBot and @Andy; sender from participantAlt", () => {
    const m = msg(ev.extendedWithMention);
    expect(m).toMatchObject({
      chatJid: ev.GROUP,
      sender: ev.ALICE,
      content: "@Andy can you summarise?",
      mentionsBot: true,
      timestamp: 1_763_750_010_000,
    });
  });

  test("a phone-number mention of us works too; a mention of someone else does not count", () => {
    const base = ev.extendedWithMention;
    const withPn = {
      ...base,
      message: {
        extendedTextMessage: {
          text: "@15550001111 hi @15554445555",
          contextInfo: { mentionedJid: ["15550001111@s.whatsapp.net", ev.BOB] },
        },
      },
    };
    expect(msg(withPn)).toMatchObject({ content: "@Andy hi @15554445555", mentionsBot: true });
    const other = {
      ...base,
      message: { extendedTextMessage: { text: "@15554445555 hi", contextInfo: { mentionedJid: [ev.BOB] } } },
    };
    expect(msg(other).mentionsBot).toBeUndefined();
  });

  test("image with caption: caption is the content, media is an attachment, quote is replyToId", () => {
    expect(msg(ev.imageWithCaption)).toMatchObject({
      sender: ev.BOB,
      senderName: "Bob",
      content: "look at this",
      replyToId: "3EB0A1B2C3D4E5F60002",
      timestamp: 1_763_750_020_000,
      attachments: [{ kind: "image", mimeType: "image/jpeg", size: 48213 }],
    });
  });

  test("group message keeps the participant as sender, no mention", () => {
    const m = msg(ev.groupText);
    expect(m.sender).toBe(ev.BOB);
    expect(m.mentionsBot).toBeUndefined();
    expect(m.content).toBe("@Andy what is 2+2?");
  });

  test("fromMe is stored as from-me, sender is us", () => {
    expect(msg(ev.fromMe)).toMatchObject({
      isFromMe: true,
      sender: me.jid,
      senderName: "Andy",
      content: "4",
    });
  });

  test("ephemeral wrapper is unwrapped", () => {
    expect(msg(ev.ephemeralText).content).toBe("disappearing");
  });

  test("protocol, reaction, sender-key-only and status broadcasts are ignored", () => {
    for (const m of [ev.protocolRevoke, ev.reaction, ev.senderKeyOnly, ev.statusBroadcast]) {
      expect(map(m).kind).toBe("ignored");
    }
  });

  test("a message without key fields is ignored, not thrown", () => {
    expect(map({ key: {} }).kind).toBe("ignored");
  });

  test("groups.upsert and participant adds of us are discoveries", () => {
    expect(mapGroupsUpsert(ev.groupsUpsert)).toEqual([
      { jid: ev.GROUP, name: "Project chat", isGroup: true },
    ]);
    expect(mapParticipantsUpdate(ev.participantsAddedMe, me)).toEqual({
      jid: "120363049999999999@g.us",
      isGroup: true,
    });
    expect(mapParticipantsUpdate(ev.participantsAddedOther, me)).toBeNull();
  });
});
