/**
 * Enabled state that outlives a restart: `ngb plugins enable|disable` and automatic disabling
 * are written to `<dataDir>/plugins.json` and override `plugins.enabled` from the config.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export interface PluginState {
  enabled: boolean;
  /** Set when the host disabled the plugin itself (it kept failing). */
  autoDisabled?: string;
  at?: number;
}

export interface StateFile {
  get(name: string): PluginState | undefined;
  set(name: string, state: PluginState): void;
}

export function openStateFile(file: string, onError: (msg: string) => void): StateFile {
  let data: Record<string, PluginState> = {};
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as { plugins?: Record<string, PluginState> };
    for (const [name, s] of Object.entries(parsed.plugins ?? {}))
      if (s && typeof s.enabled === "boolean") data[name] = s;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT")
      onError(`${file}: unreadable (${(err as Error).message}); starting from the config's plugins.enabled`);
    data = {};
  }
  return {
    get: (name) => data[name],
    set(name, state) {
      data[name] = state;
      try {
        mkdirSync(dirname(file), { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, `${JSON.stringify({ version: 1, plugins: data }, null, 2)}\n`);
        renameSync(tmp, file);
      } catch (err) {
        onError(`${file}: cannot save plugin state (${(err as Error).message})`);
      }
    },
  };
}
