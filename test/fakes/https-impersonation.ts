/**
 * Make a client that hard-codes an https:// host talk to a loopback fake, using only standard
 * client configuration: an HTTP CONNECT proxy (`HTTPS_PROXY`) whose every tunnel ends at a TLS
 * server holding a throw-away certificate for that host (trusted via `NODE_EXTRA_CA_CERTS`),
 * which forwards each request to the fake. Used to run official platform SDKs, unmodified,
 * against our fakes. Needs `openssl` to mint the certificate.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface HttpsImpersonation {
  /** Value for HTTPS_PROXY. */
  proxyUrl: string;
  /** PEM file for NODE_EXTRA_CA_CERTS. */
  caFile: string;
  /** CONNECT targets seen ("api.dingtalk.com:443"). */
  tunnels: string[];
  stop(): void;
}

export function opensslAvailable(): boolean {
  return Bun.which("openssl") !== null;
}

export function impersonateHttps(host: string, targetBaseUrl: string): HttpsImpersonation {
  const dir = mkdtempSync(join(tmpdir(), "ngb-tls-"));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const gen = Bun.spawnSync(
    [
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      `/CN=${host}`,
      "-addext",
      `subjectAltName=DNS:${host}`,
    ],
    { stderr: "pipe" },
  );
  if (gen.exitCode !== 0) throw new Error(`openssl failed: ${gen.stderr.toString().slice(0, 300)}`);
  const tls = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: Bun.file(cert), key: Bun.file(key) },
    async fetch(req) {
      const u = new URL(req.url);
      const res = await fetch(`${targetBaseUrl}${u.pathname}${u.search}`, {
        method: req.method,
        headers: req.headers,
        ...(req.method === "GET" || req.method === "HEAD" ? {} : { body: await req.arrayBuffer() }),
      });
      return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
    },
  });
  const tunnels: string[] = [];
  const proxy = Bun.listen<{ up?: Bun.Socket; early: Uint8Array[]; tunneled: boolean }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { early: [], tunneled: false };
      },
      async data(s, d) {
        if (s.data.tunneled) {
          if (s.data.up) s.data.up.write(d);
          else s.data.early.push(new Uint8Array(d));
          return;
        }
        const line = new TextDecoder().decode(d).split("\r\n")[0] ?? "";
        const m = /^CONNECT (\S+) HTTP\/1\.[01]$/.exec(line);
        if (!m || m[1] !== `${host}:443`) {
          s.end("HTTP/1.1 403 Forbidden\r\n\r\n");
          return;
        }
        tunnels.push(m[1]!);
        s.data.tunneled = true;
        s.data.up = await Bun.connect({
          hostname: "127.0.0.1",
          port: tls.port!,
          socket: {
            data(_u, x) {
              s.write(x);
            },
            close() {
              s.end();
            },
          },
        });
        for (const e of s.data.early) s.data.up.write(e);
        s.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      },
      close(s) {
        s.data.up?.end();
      },
    },
  });
  return {
    proxyUrl: `http://127.0.0.1:${proxy.port}`,
    caFile: cert,
    tunnels,
    stop() {
      proxy.stop(true);
      tls.stop(true);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
