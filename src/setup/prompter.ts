/**
 * How `ngb setup` asks: with @clack/prompts on a terminal, or not at all (`--yes`, or no
 * terminal), where every question takes its default and a question without one is an error
 * naming the flag that answers it. Cancelling (Ctrl-C, Esc) throws `SetupCancelled`.
 */
import { UserError } from "../util/errors.ts";

export class SetupCancelled extends Error {
  override name = "SetupCancelled";
}

export interface Choice<T extends string> {
  value: T;
  label: string;
  hint?: string;
}

export interface Prompter {
  readonly interactive: boolean;
  text(o: {
    message: string;
    flag: string;
    initial?: string;
    validate?: (s: string) => string | null;
  }): Promise<string>;
  secret(o: { message: string; flag: string; validate?: (s: string) => string | null }): Promise<string>;
  confirm(o: { message: string; initial: boolean }): Promise<boolean>;
  select<T extends string>(o: { message: string; choices: Choice<T>[]; initial: T }): Promise<T>;
  multiselect<T extends string>(o: { message: string; choices: Choice<T>[] }): Promise<T[]>;
  info(line: string): void;
  ok(line: string): void;
  warn(line: string): void;
  error(line: string): void;
  /** A spinner for a long step; `update` sets its text. */
  spin(text: string): { update(text: string): void; done(text: string): void; fail(text: string): void };
}

/** The non-interactive prompter: defaults, or a one-line error naming the flag. */
export function createFlagPrompter(
  write: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Prompter {
  const missing = (message: string, flag: string) =>
    new UserError(`ngb setup: ${message.replace(/[?:]\s*$/, "")} is needed: pass ${flag}`);
  return {
    interactive: false,
    async text(o) {
      if (o.initial === undefined) throw missing(o.message, o.flag);
      return o.initial;
    },
    async secret(o) {
      throw missing(o.message, o.flag);
    },
    async confirm(o) {
      return o.initial;
    },
    async select(o) {
      return o.initial;
    },
    async multiselect() {
      return [];
    },
    info: (l) => write(`  ${l}`),
    ok: (l) => write(`✓ ${l}`),
    warn: (l) => write(`! ${l}`),
    error: (l) => write(`✗ ${l}`),
    spin(text) {
      write(`… ${text}`);
      return { update: () => undefined, done: (t) => write(`✓ ${t}`), fail: (t) => write(`✗ ${t}`) };
    },
  };
}

/** The interactive prompter (loaded only on a terminal). */
export async function createClackPrompter(): Promise<Prompter> {
  const p = await import("@clack/prompts");
  function unwrap<T>(value: T | symbol): Exclude<T, symbol> {
    if (p.isCancel(value) || typeof value === "symbol") throw new SetupCancelled();
    return value as Exclude<T, symbol>;
  }
  const check = (validate?: (s: string) => string | null) =>
    validate ? (s: string | undefined) => validate(s ?? "") ?? undefined : undefined;
  return {
    interactive: true,
    async text(o) {
      return unwrap(
        await p.text({ message: o.message, initialValue: o.initial, validate: check(o.validate) }),
      );
    },
    async secret(o) {
      return unwrap(await p.password({ message: o.message, validate: check(o.validate) }));
    },
    async confirm(o) {
      return unwrap(await p.confirm({ message: o.message, initialValue: o.initial }));
    },
    async select(o) {
      // clack's option type is conditional on the value type; strings fit its primitive branch.
      const options = o.choices.map((c) => ({ value: c.value, label: c.label, hint: c.hint })) as never;
      return unwrap(await p.select({ message: o.message, options, initialValue: o.initial })) as never;
    },
    async multiselect(o) {
      const options = o.choices.map((c) => ({ value: c.value, label: c.label, hint: c.hint })) as never;
      return unwrap(await p.multiselect({ message: o.message, options, required: false })) as never;
    },
    info: (l) => p.log.info(l),
    ok: (l) => p.log.success(l),
    warn: (l) => p.log.warn(l),
    error: (l) => p.log.error(l),
    spin(text) {
      const s = p.spinner();
      s.start(text);
      return {
        update: (t) => s.message(t.length > 70 ? `${t.slice(0, 69)}…` : t),
        done: (t) => s.stop(t),
        fail: (t) => s.error(t),
      };
    },
  };
}
