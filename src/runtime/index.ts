/**
 * The composition root of `ngb serve`: builds the process-wide resources once (store, event bus,
 * channels, orchestrator, scheduler, web server) in dependency order and tears them down in
 * reverse. Everything is passed in explicitly; nothing here holds global state.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/index.ts";
import type { AgentRunner } from "../container/types.ts";
import type { Channel } from "../orchestrator/channel.ts";
import { createEventBus } from "../events/index.ts";
import type { Logger } from "../log/index.ts";
import { openStore, storeFile } from "../store/index.ts";
import { createAgentCore } from "./core.ts";
import { createApp } from "../web/app.ts";
import { createRejections } from "../web/rejections.ts";
import { assertSafeBind, dashboardHint, ensureWebToken } from "../web/token.ts";
import { websocket } from "../web/ws.ts";
import { UserError } from "../util/errors.ts";
import { ensurePrivateDir } from "../util/private-fs.ts";
import { acquirePidLock } from "./pid-lock.ts";

/**
 * How long one statement of serve may wait for another process's lock (`ngb groups add`, a backup,
 * `sqlite3`). SQLite waits synchronously, so this is also the longest a busy database can stall
 * the event loop; a write that times out fails with SQLITE_BUSY (the web answers 503 +
 * Retry-After, channels and the orchestrator retry). Short CLI commands keep the default 5 s.
 */
export const SERVE_BUSY_TIMEOUT_MS = 100;

export interface Runtime {
  /** Base URL the web server listens on. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  config: Config;
  log: Logger;
  /** Use this AgentRunner instead of docker + the credential proxy (tests, benchmarks). */
  runner?: AgentRunner;
  /** Channels added to the configured ones (tests). */
  extraChannels?: Channel[];
  /** The config file in effect, kept out of extra mounts (see mounts' ngbPrivatePaths). */
  configFile?: string;
  /** Do not print the dashboard hint (a short-lived serve, e.g. `ngb setup`'s first message). */
  quiet?: boolean;
}

export async function startRuntime({
  config,
  log,
  runner: injectedRunner,
  extraChannels = [],
  configFile,
  quiet = false,
}: RuntimeOptions): Promise<Runtime> {
  const started = performance.now();
  mkdirSync(config.groupsDir, { recursive: true });
  // data/ (web token, proxy, sessions, logs) and store/ (database, channel logins) are ours alone.
  const tightened = [config.dataDir, config.storeDir].filter((dir) => ensurePrivateDir(dir));
  if (tightened.length) log.warn("private directories were open to others; set to 0700", { dirs: tightened });
  const releaseLock = acquirePidLock(config.dataDir);
  const stops: (() => Promise<void> | void)[] = [releaseLock];
  let ready = false;
  try {
    const store = openStore(storeFile(config), { busyTimeoutMs: SERVE_BUSY_TIMEOUT_MS });
    stops.push(() => store.close());
    const events = createEventBus((err, event) =>
      log.withTag("events").error("listener failed", { event, error: (err as Error).message }),
    );

    assertSafeBind(config);
    const webToken = ensureWebToken(config, log);

    // Refused public requests (webhooks, logins): counted in /metrics, sampled in the log.
    const rejections = createRejections({ events, log });
    // What serve needs to answer (key, engine, image, channels): checked once listening.
    const { seedGroupMemory } = await import("../image/index.ts");
    const seeded = seedGroupMemory(config.groupsDir);
    if (seeded.length > 0) log.info("wrote default memory files", { files: seeded });
    let channelHealth: () => import("../orchestrator/channel.ts").ChannelHealth[] = () => [];
    const { createReadiness } = await import("../health/index.ts");
    const readiness = createReadiness({
      config,
      log,
      channels: () => channelHealth(),
      checkContainers: !injectedRunner,
    });
    stops.push(() => readiness.stop());

    // Channels: the built-in web channel plus every enabled platform.
    const { createWebChannel, DEFAULT_CHAT_ID, WEB_PREFIX, runRoutes, sendRoutes } = await import(
      "../channels/web/index.ts"
    );
    const { createEnabledChannels } = await import("../channels/index.ts");
    const kitRoutes: import("hono").Hono[] = [];
    const webChannel = config.channels.web.enabled ? createWebChannel({ store, events, log }) : null;
    const channels = [
      ...(webChannel ? [webChannel] : []),
      ...(await createEnabledChannels({
        config,
        log,
        rejections,
        mountWebhooks: (routes) => kitRoutes.push(routes),
      })),
      ...extraChannels,
    ];
    channelHealth = () => channels.map((c) => c.health());

    // plugins: the host is built before the orchestrator (its hooks go in) and sends through the
    // orchestrator's delivery (bound late). Observing hooks for tasks and groups ride the bus.
    const { createPluginHost, pluginCacheDir } = await import("../plugins/index.ts");
    let deliverLate: import("../orchestrator/index.ts").Deliver | null = null;
    let pluginSends = 0;
    const plugins = createPluginHost({
      log,
      options: {
        dir: config.plugins.dir,
        enabled: config.plugins.enabled,
        config: config.plugins.config,
        maxFailures: config.plugins.maxFailures,
        watch: config.plugins.watch,
        stateFile: join(config.dataDir, "plugins.json"),
        cacheDir: pluginCacheDir(config.dataDir),
      },
      send: async (jid, text, plugin) => {
        if (!deliverLate) throw new Error("delivery is not ready yet");
        await deliverLate({
          chatJid: jid,
          text,
          idemKey: `plugin:${plugin}:${Date.now()}:${++pluginSends}`,
          source: "plugin",
          plugin,
        });
      },
      read: {
        groupOf: (jid) => {
          const g = store.groups.get(jid);
          return g
            ? {
                jid: g.jid,
                name: g.name,
                folder: g.folder,
                isMain: g.isMain,
                requiresTrigger: g.requiresTrigger,
              }
            : null;
        },
        recentMessages: (jid, limit) =>
          store.messages
            .page(jid, undefined, limit)
            .reverse()
            .map((m) => ({
              sender: m.sender,
              senderName: m.senderName,
              content: m.content,
              timestamp: m.timestamp,
              isFromMe: m.isFromMe,
              isBot: m.isBot,
            })),
      },
    });
    await plugins.start();
    stops.push(() => plugins.stop());
    const hooks = plugins.hooks;
    const offPluginEvents = [
      events.on("task.run", (e) => {
        if (e.status === "running") hooks.taskRunning({ taskId: e.taskId, groupFolder: e.groupFolder });
        else if (e.status === "success" || e.status === "error")
          hooks.taskFinished({
            taskId: e.taskId,
            groupFolder: e.groupFolder,
            status: e.status,
            error: e.error,
          });
      }),
      events.on("group.registered", (e) =>
        hooks.groupRegistered({ jid: e.jid, folder: e.folder, name: e.name }),
      ),
    ];
    stops.push(() => {
      for (const off of offPluginEvents) off();
    });

    // Agents: runner (behind the credential proxy), queue, group and task services, orchestrator.
    const core = await createAgentCore({
      config,
      store,
      events,
      log,
      channels,
      runner: injectedRunner,
      configFile,
      hooks,
      // The model API refused the key (or none is set): readiness says so at once; the core
      // stops the group's run without retries and tells the chat.
      onAuthFailure: (groupFolder, f) => {
        readiness.markCredentialsRejected(f.sentence);
        events.emit("agent.auth.failed", {
          groupFolder,
          reason: f.reason,
          status: f.status,
          sentence: f.sentence,
        });
      },
      onUsage: (groupFolder, u) => events.emit("agent.usage", { groupFolder, ...u }),
    });
    stops.push(...core.stops);
    const { queue, groups, tasks: taskService, orchestrator } = core;
    deliverLate = orchestrator.deliver;

    // First start with no groups at all: `web:default` becomes the main group (folder `main`,
    // every message triggers), so serve + webchat works with no platform and no config.
    if (webChannel && groups.list().length === 0) {
      const g = groups.register({
        jid: `${WEB_PREFIX}${DEFAULT_CHAT_ID}`,
        name: "Web chat",
        folder: "main",
        isMain: true,
      });
      log.info(`registered ${g.jid} as the main group (folder ${g.folder})`);
    }

    const { createScheduler } = await import("../scheduler/index.ts");
    const scheduler = createScheduler({
      store,
      events,
      log,
      dispatch: (task, scheduledFor) => orchestrator.dispatchTask(task, scheduledFor),
      maxSleepMs: config.schedulerMaxSleepMs,
    });
    stops.push(() => scheduler.stop());

    const app = createApp({
      store,
      events,
      log,
      token: webToken.token,
      maxBodyBytes: config.web.maxBodyBytes,
      sessions: { idleMs: config.web.sessionIdleMs, maxAgeMs: config.web.sessionMaxAgeMs },
      allowHostNetwork: config.container.allowHostNetwork,
      ready: () => ready,
      groups,
      readiness: () => readiness.report(),
      runtime: {
        containers: () => orchestrator.containers(),
        stopContainer: (name) => orchestrator.stopContainer(name),
        queue: () => queue.stats(),
        channels: () => channels.map((c) => c.health()),
        uptimeMs: () => performance.now() - started,
        engine: () => core.runner.engine(),
      },
      rejections,
      plugins,
      tasks: {
        create: (input) => taskService.create(input, { kind: "api" }),
        pause: (id) => taskService.pause(id, { kind: "api" }),
        resume: (id) => taskService.resume(id, { kind: "api" }),
        cancel: (id) => taskService.cancel(id, { kind: "api" }),
      },
      mount: (hono) => {
        webChannel?.mount(hono);
        sendRoutes(hono, { deliver: orchestrator.deliver });
        runRoutes(hono, { store, dispatchPrompt: orchestrator.dispatchPrompt });
      },
    });
    stops.push(() => app.dispose());
    // Platform webhooks authenticate their callers themselves: served in front of token auth.
    const publicRoutes = [...kitRoutes, ...channels.flatMap((c) => (c.webhooks ? [c.webhooks] : []))];
    const server = listen(config, async (req, srv) => {
      for (const routes of publicRoutes) {
        const res = await routes.fetch(req, srv);
        if (res.status !== 404) return res;
      }
      return app.fetch(req, srv);
    });
    stops.push(() => server.stop(true));
    const url = `http://${config.web.host.includes(":") ? `[${config.web.host}]` : config.web.host}:${server.port}`;

    await orchestrator.start();
    scheduler.start();
    ready = true;
    hooks.serveStarted();
    // plugins: serve.stopping runs first on shutdown (stops run in reverse).
    stops.push(() => hooks.serveStopping());
    log.info(`ngb listening on ${url}`, { startupMs: Math.round(performance.now() - started) });
    if (!quiet) process.stderr.write(`${dashboardHint(url, webToken)}\n`);
    void readiness.refresh().then(
      (r) => {
        if (r.ok) log.info("ready: credentials, engine, image and channels look good");
      },
      (err) => log.warn("readiness check failed", { error: (err as Error).message }),
    );
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
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch {
        // already failing
      }
    }
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
