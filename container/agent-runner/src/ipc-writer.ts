/**
 * Writes the agent's requests for the host (messages to send, task changes, group
 * registrations) as IPC files: validated against the protocol schema first, written under a
 * dot-prefixed temporary name and renamed, so the host's watcher never sees half a file.
 * The host validates and authorizes every file again; this side only avoids sending garbage.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { IpcRequest } from "../../../src/protocol/index.ts";

export class IpcWriteError extends Error {
  override name = "IpcWriteError";
}

let seq = 0;

/** A sortable, unique file name: time, sequence, random suffix. */
export function ipcFileName(now = Date.now()): string {
  seq = (seq + 1) % 1_000_000;
  return `${now}-${String(seq).padStart(6, "0")}-${randomBytes(3).toString("hex")}.json`;
}

/** Validates `request` and writes it atomically into `dir`; returns the final path. */
export function writeIpcFile(dir: string, request: unknown): string {
  const parsed = v.safeParse(IpcRequest, request);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const where = issue ? v.getDotPath(issue) : undefined;
    throw new IpcWriteError(
      `invalid request${where ? ` (${where})` : ""}: ${issue?.message ?? "unknown problem"}`,
    );
  }
  mkdirSync(dir, { recursive: true });
  const name = ipcFileName();
  const tmp = join(dir, `.${name}.tmp`);
  const final = join(dir, name);
  writeFileSync(tmp, JSON.stringify(parsed.output), { mode: 0o644 });
  renameSync(tmp, final);
  return final;
}
