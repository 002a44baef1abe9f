/**
 * Runs the official DingTalk Stream SDK (npm dingtalk-stream), unmodified, as a child process:
 * it subscribes to the robot topic, prints every callback it receives as one JSON line and acks
 * it the SDK's way (`socketCallBackResponse`). Credentials come from DT_CLIENT_ID/SECRET; the
 * gateway is reached through HTTPS_PROXY (see https-impersonation.ts).
 */
import { DWClient, TOPIC_ROBOT } from "dingtalk-stream";

const client = new DWClient({
  clientId: process.env.DT_CLIENT_ID ?? "",
  clientSecret: process.env.DT_CLIENT_SECRET ?? "",
});
client.registerCallbackListener(TOPIC_ROBOT, (frame) => {
  console.log(JSON.stringify({ callback: frame }));
  client.socketCallBackResponse(frame.headers.messageId, { handled: true });
});
await client.connect();
console.log(JSON.stringify({ connected: client.connected }));
