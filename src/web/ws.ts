/**
 * One Bun WebSocket adapter for the whole server: routes call `upgradeWebSocket`, and the
 * runtime passes `websocket` to `Bun.serve`.
 */
import { createBunWebSocket } from "hono/bun";

export const { upgradeWebSocket, websocket } = createBunWebSocket();
