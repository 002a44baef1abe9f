/** Registered groups, their cursors and Claude sessions. */
import type { Database } from "bun:sqlite";

export interface GroupContainerConfig {
  /** Extra host mounts, checked against the mount allowlist. */
  additionalMounts?: { hostPath: string; containerPath?: string; readonly?: boolean }[];
  timeoutMs?: number;
  memory?: string;
  cpus?: string;
  network?: string;
}

export interface RegisteredGroup {
  jid: string;
  name: string;
  folder: string;
  /** Regex source; null = the assistant's default trigger. */
  triggerPattern: string | null;
  requiresTrigger: boolean;
  isMain: boolean;
  containerConfig: GroupContainerConfig | null;
  addedAt: number;
}

interface GroupRow {
  jid: string;
  name: string;
  folder: string;
  trigger_pattern: string | null;
  requires_trigger: number;
  is_main: number;
  container_config: string | null;
  added_at: number;
}

function toGroup(r: GroupRow): RegisteredGroup {
  return {
    jid: r.jid,
    name: r.name,
    folder: r.folder,
    triggerPattern: r.trigger_pattern,
    requiresTrigger: r.requires_trigger === 1,
    isMain: r.is_main === 1,
    containerConfig: r.container_config ? JSON.parse(r.container_config) : null,
    addedAt: r.added_at,
  };
}

export class GroupExistsError extends Error {
  override name = "GroupExistsError";
  constructor(
    readonly field: "jid" | "folder" | "main",
    readonly value: string,
  ) {
    super(
      field === "main"
        ? "a main group is already registered; there can be only one"
        : `a group with ${field} "${value}" is already registered`,
    );
  }
}

export function createGroupRepo(db: Database) {
  const all = db.query<GroupRow, []>("SELECT * FROM registered_groups ORDER BY is_main DESC, added_at");
  const byJid = db.query<GroupRow, [string]>("SELECT * FROM registered_groups WHERE jid = ?");
  const byFolder = db.query<GroupRow, [string]>("SELECT * FROM registered_groups WHERE folder = ?");
  const insert = db.query<
    unknown,
    [string, string, string, string | null, number, number, string | null, number]
  >(
    `INSERT INTO registered_groups (jid, name, folder, trigger_pattern, requires_trigger, is_main, container_config, added_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const del = db.query<unknown, [string]>("DELETE FROM registered_groups WHERE jid = ?");
  const cursorGet = db.query<{ seq: number }, [string]>("SELECT seq FROM cursors WHERE chat_jid = ?");
  const cursorSet = db.query<unknown, [string, number, number]>(
    `INSERT INTO cursors (chat_jid, seq, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (chat_jid) DO UPDATE SET seq = max(cursors.seq, excluded.seq), updated_at = excluded.updated_at`,
  );
  const sessionGet = db.query<{ session_id: string }, [string]>(
    "SELECT session_id FROM sessions WHERE group_folder = ?",
  );
  const sessionSet = db.query<unknown, [string, string, number]>(
    `INSERT INTO sessions (group_folder, session_id, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (group_folder) DO UPDATE SET session_id = excluded.session_id, updated_at = excluded.updated_at`,
  );
  const sessionDel = db.query<unknown, [string]>("DELETE FROM sessions WHERE group_folder = ?");
  const sessionsAll = db.query<{ group_folder: string; session_id: string; updated_at: number }, []>(
    "SELECT * FROM sessions ORDER BY updated_at DESC",
  );

  return {
    list(): RegisteredGroup[] {
      return all.all().map(toGroup);
    },
    get(jid: string): RegisteredGroup | null {
      const r = byJid.get(jid);
      return r ? toGroup(r) : null;
    },
    byFolder(folder: string): RegisteredGroup | null {
      const r = byFolder.get(folder);
      return r ? toGroup(r) : null;
    },
    main(): RegisteredGroup | null {
      return this.list().find((g) => g.isMain) ?? null;
    },
    add(g: Omit<RegisteredGroup, "addedAt"> & { addedAt?: number }): RegisteredGroup {
      if (byJid.get(g.jid)) throw new GroupExistsError("jid", g.jid);
      if (byFolder.get(g.folder)) throw new GroupExistsError("folder", g.folder);
      if (g.isMain && this.main()) throw new GroupExistsError("main", g.jid);
      const addedAt = g.addedAt ?? Date.now();
      insert.run(
        g.jid,
        g.name,
        g.folder,
        g.triggerPattern,
        g.requiresTrigger ? 1 : 0,
        g.isMain ? 1 : 0,
        g.containerConfig ? JSON.stringify(g.containerConfig) : null,
        addedAt,
      );
      return { ...g, addedAt };
    },
    update(
      jid: string,
      patch: Partial<
        Pick<RegisteredGroup, "name" | "triggerPattern" | "requiresTrigger" | "containerConfig">
      >,
    ): RegisteredGroup | null {
      const cur = this.get(jid);
      if (!cur) return null;
      const next = { ...cur, ...patch };
      db.query(
        `UPDATE registered_groups SET name = ?, trigger_pattern = ?, requires_trigger = ?, container_config = ?
         WHERE jid = ?`,
      ).run(
        next.name,
        next.triggerPattern,
        next.requiresTrigger ? 1 : 0,
        next.containerConfig ? JSON.stringify(next.containerConfig) : null,
        jid,
      );
      return next;
    },
    remove(jid: string): boolean {
      return del.run(jid).changes > 0;
    },
    cursor(chatJid: string): number {
      return cursorGet.get(chatJid)?.seq ?? 0;
    },
    /** Advance (never rewinds). */
    setCursor(chatJid: string, seq: number, now = Date.now()): void {
      cursorSet.run(chatJid, seq, now);
    },
    session(folder: string): string | null {
      return sessionGet.get(folder)?.session_id ?? null;
    },
    setSession(folder: string, sessionId: string, now = Date.now()): void {
      sessionSet.run(folder, sessionId, now);
    },
    clearSession(folder: string): void {
      sessionDel.run(folder);
    },
    sessions(): { groupFolder: string; sessionId: string; updatedAt: number }[] {
      return sessionsAll
        .all()
        .map((r) => ({ groupFolder: r.group_folder, sessionId: r.session_id, updatedAt: r.updated_at }));
    },
  };
}
export type GroupRepo = ReturnType<typeof createGroupRepo>;
