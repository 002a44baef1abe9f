/**
 * A proxy in front of the Docker engine's unix socket that a test can cut: `cut()` drops every
 * open connection (the docker CLI sees EOF mid-run) and removes the socket, so new clients fail
 * at once as with a stopped daemon; `restore()` listens again. Point the client at it with
 * DOCKER_HOST=unix://<path>.
 */
import { rmSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";

export interface EngineCut {
  socketPath: string;
  dockerHost: string;
  cut(): void;
  restore(): void;
  readonly isCut: boolean;
  stop(): Promise<void>;
}

export async function startEngineCut(upstreamSocket: string, socketPath: string): Promise<EngineCut> {
  rmSync(socketPath, { force: true });
  const open = new Set<Socket>();
  let isCut = false;
  const server = createServer((client) => {
    if (isCut) return client.destroy();
    const up = connect(upstreamSocket);
    open.add(client);
    open.add(up);
    const done = () => {
      client.destroy();
      up.destroy();
      open.delete(client);
      open.delete(up);
    };
    client.on("error", done);
    up.on("error", done);
    client.on("close", done);
    up.on("close", done);
    client.pipe(up);
    up.pipe(client);
  });
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => resolve());
    });
  await listen();
  return {
    socketPath,
    dockerHost: `unix://${socketPath}`,
    cut() {
      isCut = true;
      for (const s of open) s.destroy();
      open.clear();
      server.close();
      rmSync(socketPath, { force: true });
    },
    restore() {
      isCut = false;
      void listen();
    },
    get isCut() {
      return isCut;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        if (!server.listening) return resolve();
        server.close(() => resolve());
      }),
  };
}
