/**
 * The composition root of `ngb serve`: builds the process-wide resources once (store, event bus,
 * channels, orchestrator, scheduler, web server) in dependency order and tears them down in
 * reverse. Everything is passed in explicitly; nothing here holds global state.
 */
import { mkdirSync } from "node:fs";
import type { Config } from "../config/index.ts";
import { createEventBus } from "../events/index.ts";
import type { Logger } from "../log/index.ts";
import { openStore, storeFile } from "../store/index.ts";
import { createApp } from "../web/app.ts";
import { assertSafeBind, dashboardHint, ensureWebToken } from "../web/token.ts";
import { websocket } from "../web/ws.ts";
import { UserError } from "../util/errors.ts";
import { acquirePidLock } from "./pid-lock.ts";

export interface Runtime {
  /** Base URL the web server listens on. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  config: Config;
  log: Logger;
}

export async function startRuntime({ config, log }: RuntimeOptions): Promise<Runtime> {
  const started = performance.now();
  for (const dir of [config.dataDir, config.groupsDir, config.storeDir]) mkdirSync(dir, { recursive: true });
  const releaseLock = acquirePidLock(config.dataDir);
  const stops: (() => Promise<void> | void)[] = [releaseLock];
  let ready = false;
  try {
    const store = openStore(storeFile(config));
    stops.push(() => store.close());
    const events = createEventBus((err, event) =>
      log.withTag("events").error("listener failed", { event, error: (err as Error).message }),
    );

    assertSafeBind(config);
    const webToken = ensureWebToken(config, log);
    const app = createApp({
      store,
      events,
      log,
      token: webToken.token,
      maxBodyBytes: config.web.maxBodyBytes,
      ready: () => ready,
    });
    const server = listen(config, app.fetch);
    stops.push(() => server.stop(true));
    const url = `http://${config.web.host.includes(":") ? `[${config.web.host}]` : config.web.host}:${server.port}`;
    ready = true;
    log.info(`ngb listening on ${url}`, { startupMs: Math.round(performance.now() - started) });
    process.stderr.write(`${dashboardHint(url, webToken)}\n`);
    return {
      url,
      port: server.port ?? 0,
      async stop() {
        ready = false;
        for (const stop of stops.reverse()) {
          try {
            await stop();
          } catch (err) {
            log.warn("shutdown step failed", { error: (err as Error).message });
          }
        }
      },
    };
  } catch (err) {
    for (const stop of stops.reverse()) await stop();
    throw err;
  }
}

function listen(
  config: Config,
  fetch: (req: Request, server: Bun.Server<unknown>) => Response | Promise<Response>,
) {
  try {
    return Bun.serve({
      hostname: config.web.host,
      port: config.web.port,
      fetch,
      websocket: websocket as unknown as Bun.WebSocketHandler<unknown>,
      maxRequestBodySize: config.web.maxBodyBytes,
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE")
      throw new UserError(
        `web.port ${config.web.port} on ${config.web.host} is already in use; set --port or NGB_WEB_PORT`,
      );
    if (code === "EACCES")
      throw new UserError(`web.port ${config.web.port}: permission denied; use a port above 1024`);
    throw new UserError(`cannot listen on ${config.web.host}:${config.web.port}: ${(err as Error).message}`);
  }
}
