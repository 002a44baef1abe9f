/**
 * Every platform channel in this build, one definition a line. Adding a channel: write
 * `src/channels/<name>/index.ts` exporting its `defineChannel(…)`, and add it here.
 */
import { dingtalk } from "./dingtalk/index.ts";
import { discord } from "./discord/index.ts";
import { feishu } from "./feishu/index.ts";
import { qq } from "./qq/index.ts";
import { slack } from "./slack/index.ts";
import { telegram } from "./telegram/index.ts";
import { wecom } from "./wecom/index.ts";
import { whatsapp } from "./whatsapp/index.ts";

export const CHANNEL_DEFINITIONS = [telegram, discord, slack, whatsapp, dingtalk, feishu, wecom, qq] as const;
