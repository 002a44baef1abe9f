/**
 * Recorded-shape baileys events (`messages.upsert`, `groups.upsert`,
 * `group-participants.update`) as baileys 7 emits them: WAMessage = proto.WebMessageInfo
 * decoded to plain objects (messageTimestamp as a number or Long, messageContextInfo noise,
 * LID addressing with *Alt fields). Ids and numbers are made up. Plus a fake baileys
 * (`createFakeBaileys`) whose socket is an event emitter recording what the adapter sent, for
 * the state machine tests that cannot reach a real WhatsApp server.
 */
import { EventEmitter } from "node:events";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BaileysApi, WaSocket } from "../../src/channels/whatsapp/channel.ts";

export const ME = { id: "15550001111:7@s.whatsapp.net", lid: "98765432100001:7@lid", name: "Andy Bot" };
export const ALICE = "15552223333@s.whatsapp.net";
export const BOB = "15554445555@s.whatsapp.net";
export const GROUP = "120363041234567890@g.us";

const messageContextInfo = {
  deviceListMetadata: { senderKeyHash: "q1w2e3", senderTimestamp: 1_763_700_000, recipientKeyHash: "r4t5y6" },
  deviceListMetadataVersion: 2,
  messageSecret: "bWVzc2FnZVNlY3JldA==",
};

export const textDm = {
  key: { remoteJid: ALICE, fromMe: false, id: "3EB0A1B2C3D4E5F60001", remoteJidAlt: "112233445566@lid" },
  messageTimestamp: 1_763_750_000,
  pushName: "Alice",
  broadcast: false,
  message: { conversation: "hello there", messageContextInfo },
};

export const extendedWithMention = {
  key: {
    remoteJid: GROUP,
    fromMe: false,
    id: "3EB0A1B2C3D4E5F60002",
    participant: "112233445566@lid",
    participantAlt: ALICE,
    addressingMode: "lid",
  },
  messageTimestamp: { low: 1_763_750_010, high: 0, unsigned: true },
  pushName: "Alice",
  message: {
    extendedTextMessage: {
      text: "@98765432100001 can you summarise?",
      previewType: "NONE",
      contextInfo: { mentionedJid: ["98765432100001@lid"], groupMentions: [] },
      inviteLinkGroupTypeV2: "DEFAULT",
    },
    messageContextInfo,
  },
};

export const imageWithCaption = {
  key: { remoteJid: GROUP, fromMe: false, id: "3EB0A1B2C3D4E5F60003", participant: BOB },
  messageTimestamp: "1763750020",
  pushName: "Bob",
  message: {
    imageMessage: {
      url: "https://mmg.whatsapp.net/v/t62.7118-24/fake.enc",
      mimetype: "image/jpeg",
      caption: "look at this",
      fileSha256: "c2hhMjU2",
      fileLength: { low: 48213, high: 0, unsigned: true, toNumber: () => 48213 },
      height: 1280,
      width: 960,
      mediaKey: "bWVkaWFLZXk=",
      jpegThumbnail: "/9j/4AAQSkZJRg==",
      contextInfo: {
        stanzaId: "3EB0A1B2C3D4E5F60002",
        participant: ALICE,
        quotedMessage: { conversation: "x" },
      },
    },
    messageContextInfo,
  },
};

export const groupText = {
  key: { remoteJid: GROUP, fromMe: false, id: "3EB0A1B2C3D4E5F60004", participant: BOB },
  messageTimestamp: 1_763_750_030,
  pushName: "Bob",
  message: { conversation: "@Andy what is 2+2?" },
};

export const fromMe = {
  key: { remoteJid: GROUP, fromMe: true, id: "3EB0A1B2C3D4E5F60005" },
  messageTimestamp: 1_763_750_040,
  status: 2,
  message: { extendedTextMessage: { text: "4" } },
};

export const ephemeralText = {
  key: { remoteJid: BOB, fromMe: false, id: "3EB0A1B2C3D4E5F60006" },
  messageTimestamp: 1_763_750_050,
  pushName: "Bob",
  message: { ephemeralMessage: { message: { extendedTextMessage: { text: "disappearing" } } } },
};

export const protocolRevoke = {
  key: { remoteJid: GROUP, fromMe: false, id: "3EB0A1B2C3D4E5F60007", participant: BOB },
  messageTimestamp: 1_763_750_060,
  message: {
    protocolMessage: { key: { remoteJid: GROUP, fromMe: false, id: "3EB0A1B2C3D4E5F60004" }, type: "REVOKE" },
  },
};

export const reaction = {
  key: { remoteJid: GROUP, fromMe: false, id: "3EB0A1B2C3D4E5F60008", participant: ALICE },
  messageTimestamp: 1_763_750_070,
  message: {
    reactionMessage: {
      key: { remoteJid: GROUP, fromMe: true, id: "3EB0A1B2C3D4E5F60005" },
      text: "👍",
      senderTimestampMs: 1_763_750_069_000,
    },
  },
};

export const statusBroadcast = {
  key: { remoteJid: "status@broadcast", fromMe: false, id: "3EB0A1B2C3D4E5F60009", participant: ALICE },
  messageTimestamp: 1_763_750_080,
  message: { conversation: "my status" },
};

export const senderKeyOnly = {
  key: { remoteJid: GROUP, fromMe: false, id: "3EB0A1B2C3D4E5F60010", participant: ALICE },
  messageTimestamp: 1_763_750_090,
  message: {
    senderKeyDistributionMessage: { groupId: GROUP, axolotlSenderKeyDistributionMessage: "AAAA" },
    messageContextInfo,
  },
};

export const groupsUpsert = [
  {
    id: GROUP,
    subject: "Project chat",
    owner: ALICE,
    creation: 1_763_000_000,
    participants: [
      { id: ALICE, admin: "superadmin" },
      { id: "15550001111@s.whatsapp.net", admin: null },
    ],
  },
];

export const participantsAddedMe = {
  id: "120363049999999999@g.us",
  author: ALICE,
  participants: [
    { id: "98765432100001@lid", phoneNumber: "15550001111@s.whatsapp.net", lid: "98765432100001@lid" },
  ],
  action: "add",
};

export const participantsAddedOther = {
  id: GROUP,
  author: ALICE,
  participants: [{ id: BOB }],
  action: "add",
};

/** A fake baileys socket: the adapter subscribes to `ev`; tests emit events and read `sent`. */
export class FakeWaSocket implements WaSocket {
  readonly emitter = new EventEmitter();
  readonly ev = {
    on: (event: string, fn: (arg: never) => void) =>
      void this.emitter.on(event, fn as (arg: unknown) => void),
  };
  user: { id: string; lid?: string } | undefined;
  /** Messages delivered, in order; a message id already used is not delivered again. */
  readonly sent: { jid: string; text: string; messageId: string }[] = [];
  /** sendMessage calls that reused a delivered message id (WhatsApp delivers an id once). */
  readonly duplicates: string[] = [];
  readonly presence: { type: string; jid?: string | undefined }[] = [];
  readonly pairingRequests: string[] = [];
  ended = false;
  constructor(readonly config: { waWebSocketUrl?: string }) {}
  emit(event: string, arg: unknown) {
    this.emitter.emit(event, arg);
  }
  async sendMessage(jid: string, content: { text: string }, options?: { messageId?: string }) {
    const messageId = options?.messageId ?? `3EB0SENT${this.sent.length + 1}`;
    if (this.sent.some((m) => m.messageId === messageId)) this.duplicates.push(messageId);
    else this.sent.push({ jid, text: content.text, messageId });
    return { key: { remoteJid: jid, fromMe: true, id: messageId } };
  }
  async sendPresenceUpdate(type: "composing" | "paused", jid?: string) {
    this.presence.push({ type, jid });
  }
  async requestPairingCode(phone: string) {
    this.pairingRequests.push(phone);
    return "ABCD-EFGH";
  }
  end() {
    this.ended = true;
  }
  /** Simulate a successful login. */
  open() {
    this.user = { id: ME.id, lid: ME.lid };
    this.emit("connection.update", { connection: "open" });
  }
  close(statusCode: number, message = "Connection Failure") {
    this.emit("connection.update", {
      connection: "close",
      lastDisconnect: {
        error: Object.assign(new Error(message), { output: { statusCode } }),
        date: new Date(),
      },
    });
  }
}

/** A BaileysApi whose sockets are FakeWaSockets; `useMultiFileAuthState` writes a creds file. */
export function createFakeBaileys() {
  const sockets: FakeWaSocket[] = [];
  const api: BaileysApi = {
    makeSocket(config) {
      const s = new FakeWaSocket(config);
      sockets.push(s);
      return s;
    },
    async useMultiFileAuthState(dir) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "creds.json"), JSON.stringify({ registered: false }));
      return { state: { creds: {} }, saveCreds: async () => {} };
    },
  };
  return { api, sockets, latest: () => sockets.at(-1)! };
}
