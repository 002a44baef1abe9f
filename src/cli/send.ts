/** `ngb send <jid> <text>`: a proactive message through the running serve (any channel). */
import { defineCommand } from "citty";
import { UserError } from "../util/errors.ts";
import { globalArgs, jsonArg, loadContext, UsageError } from "./common.ts";
import { errorText, serveFetch, serveTarget } from "./serve-client.ts";

export default defineCommand({
  meta: { name: "send", description: "Send a message to a chat through the running serve" },
  args: {
    ...globalArgs,
    ...jsonArg,
    jid: { type: "positional", description: "Chat id, e.g. web:default, tg:-100123", required: true },
    text: { type: "positional", description: "The message", required: true },
    url: { type: "string", description: "Base URL of ngb serve (default from web.host / web.port)" },
  },
  async run({ args }) {
    if (!args.text.trim()) throw new UsageError("ngb send: the text is empty");
    const { config } = await loadContext({ ...args, "log-level": args["log-level"] ?? "warn" });
    const target = await serveTarget(config, args.url);
    const res = await serveFetch(target, "/api/send", {
      method: "POST",
      body: JSON.stringify({ jid: args.jid, text: args.text }),
    });
    if (!res.ok) throw new UserError(`not sent: ${await errorText(res)}`);
    const body = (await res.json()) as { jid: string; status: string };
    if (args.json) process.stdout.write(`${JSON.stringify(body)}\n`);
    else process.stdout.write(`sent to ${body.jid}\n`);
  },
});
