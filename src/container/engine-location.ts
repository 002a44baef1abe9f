/**
 * Where the container engine runs, judged from its endpoint (DOCKER_HOST, else the current
 * docker context's): a unix socket, a Windows named pipe or TCP to a loopback address is this
 * machine (bind mounts and the proxy's unix socket work); anything else (ssh://, tcp:// to
 * another host) is remote, and agents there need `container.transport: "stdio"`.
 */
export interface EngineLocation {
  endpoint: string;
  local: boolean;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[?::1\]?)$/i;

export function classifyEndpoint(endpoint: string): EngineLocation {
  const e = endpoint.trim();
  if (!e || e.startsWith("unix://") || e.startsWith("npipe://"))
    return { endpoint: e || "default socket", local: true };
  try {
    const url = new URL(e);
    if (url.protocol === "tcp:" || url.protocol === "http:" || url.protocol === "https:")
      return { endpoint: e, local: LOOPBACK.test(url.hostname) };
  } catch {
    // not a URL: an unknown form is treated as remote (the safe answer: stdio works anywhere)
  }
  return { endpoint: e, local: false };
}

export interface TransportAdvice {
  status: "ok" | "warn" | "fail";
  detail: string;
  fix?: string;
}

/** What `ngb doctor` says about `container.transport` for this engine. */
export function adviseTransport(transport: "mounts" | "stdio", where: EngineLocation): TransportAdvice {
  if (where.local)
    return {
      status: "ok",
      detail: `engine on this machine (${where.endpoint}); transport "${transport}"`,
    };
  if (transport === "stdio")
    return { status: "ok", detail: `remote engine (${where.endpoint}); transport "stdio"` };
  return {
    status: "fail",
    detail: `remote engine (${where.endpoint}) with transport "mounts": bind mounts and the proxy socket would name paths of this machine on that one`,
    fix: 'set container.transport to "stdio" (NGB_CONTAINER_TRANSPORT=stdio)',
  };
}

/** The engine endpoint: DOCKER_HOST, else the current context's (`docker context inspect`). */
export async function engineEndpoint(
  bin: string,
  env: Record<string, string | undefined>,
  inspect: (cmd: string[]) => Promise<{ code: number; out: string }>,
): Promise<string> {
  if (env.DOCKER_HOST) return env.DOCKER_HOST;
  const r = await inspect([bin, "context", "inspect", "--format", "{{.Endpoints.docker.Host}}"]);
  return r.code === 0 ? r.out.trim() : "";
}

/**
 * `ngb doctor`'s "agent transport" line: where the engine is (DOCKER_HOST, else the docker
 * context) and whether `container.transport` fits it.
 */
export async function transportCheck(
  c: { runtime: string; transport: "mounts" | "stdio" },
  env: Record<string, string | undefined>,
  run: (cmd: string[]) => Promise<{ code: number; out: string }>,
): Promise<TransportAdvice & { name: string }> {
  const endpoint = await engineEndpoint(c.runtime, env, run);
  return { name: "agent transport", ...adviseTransport(c.transport, classifyEndpoint(endpoint)) };
}
