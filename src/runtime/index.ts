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
import { createApp } from "../web/app.ts";
import { assertSafeBind, dashboardHint, ensureWebToken } from "../web/token.ts";
import { websocket } from "../web/ws.ts";
import { UserError } from "../util/errors.ts";
import { instanceIdOf } from "./instance.ts";
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
  /** Use this AgentRunner instead of docker + the credential proxy (tests, benchmarks). */
  runner?: AgentRunner;
  /** Channels added to the configured ones (tests). */
  extraChannels?: Channel[];
  /** Do not print the dashboard hint (a short-lived serve, e.g. `ngb setup`'s first message). */
  quiet?: boolean;
}

export async function startRuntime({
  config,
  log,
  runner: injectedRunner,
  extraChannels = [],
  quiet = false,
}: RuntimeOptions): Promise<Runtime> {
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

    // Agents: the credential proxy (the key stays here), then the container runner.
    let runner = injectedRunner;
    if (!runner) {
      const { createCredentialProxy } = await import("../proxy/index.ts");
      const { createDockerRunner } = await import("../container/index.ts");
      const proxy = createCredentialProxy({
        config,
        store,
        log,
        socketPath: join(config.dataDir, "proxy", "proxy.sock"),
        // The lead's orchestrator also stops the group's run here (no retries) and tells the chat.
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
      stops.push(() => proxy.stop());
      runner = createDockerRunner({
        config,
        log,
        paths: { groupsDir: config.groupsDir, dataDir: config.dataDir, projectRoot: process.cwd() },
        proxy,
        instanceId: instanceIdOf(config),
      });
    }
    const agentRunner = runner;
    stops.push(() => agentRunner.stopAll());

    const { createGroupQueue } = await import("../queue/index.ts");
    const queue = createGroupQueue({
      maxConcurrent: config.maxConcurrentContainers,
      maxRetries: config.maxRetries,
      retryBaseMs: config.retryBaseMs,
      log: log.withTag("queue"),
      events,
    });

    // Channels: the built-in web channel plus every enabled platform.
    const { createWebChannel, ensureDefaultWebGroup, runRoutes, sendRoutes } = await import(
      "../channels/web/index.ts"
    );
    const { createEnabledChannels } = await import("../channels/index.ts");
    const webChannel = config.channels.web.enabled ? createWebChannel({ store, events, log }) : null;
    const channels = [
      ...(webChannel ? [webChannel] : []),
      ...(await createEnabledChannels({ config, log })),
      ...extraChannels,
    ];
    channelHealth = () => channels.map((c) => c.health());
    const groupDeps = { store, events, groupsDir: config.groupsDir, dataDir: config.dataDir };
    if (webChannel) {
      const g = ensureDefaultWebGroup(groupDeps);
      if (g) log.info(`registered ${g.jid} as the main group (folder ${g.folder})`);
    }

    const { createOrchestrator, registerGroup } = await import("../orchestrator/index.ts");
    const { createTaskService, createScheduler } = await import("../scheduler/index.ts");
    const taskService = createTaskService({ store, events, defaultTimezone: config.timezone });
    const orchestrator = createOrchestrator({
      config,
      store,
      events,
      queue,
      runner: agentRunner,
      channels,
      log,
      tasksSnapshot: (folder, isMain) => taskService.snapshot(folder, isMain),
    });
    stops.push(() => orchestrator.stop());

    const { createIpcWatcher } = await import("../ipc/index.ts");
    const ipc = createIpcWatcher({
      dataDir: config.dataDir,
      pollMs: config.ipcPollMs,
      store,
      events,
      log,
      deliver: orchestrator.deliver,
      tasks: taskService,
      registerGroup: (g) => registerGroup(groupDeps, { ...g, isMain: false }),
    });
    stops.push(() => ipc.stop());

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
      ready: () => ready,
      readiness: () => readiness.report(),
      registerGroup: (g) => registerGroup(groupDeps, g),
      runtime: {
        containers: () => orchestrator.containers(),
        stopContainer: (name) => orchestrator.stopContainer(name),
        queue: () => queue.stats(),
        channels: () => channels.map((c) => c.health()),
      },
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
    const publicRoutes = channels.flatMap((c) => (c.webhooks ? [c.webhooks] : []));
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
    ipc.start();
    scheduler.start();
    ready = true;
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
