/** Typed plugin errors; every message names the plugin. */

export class PluginError extends Error {
  override name = "PluginError";
  constructor(
    readonly plugin: string,
    message: string,
  ) {
    super(`plugin "${plugin}": ${message}`);
  }
}

/** The file or definition is not a usable plugin (no default export, bad name, unknown hook…). */
export class PluginDefinitionError extends PluginError {
  override name = "PluginDefinitionError";
}

/** `plugins.config.<name>` does not match the plugin's schema. */
export class PluginConfigError extends PluginError {
  override name = "PluginConfigError";
}

/** A handler took longer than its time budget. */
export class PluginTimeoutError extends PluginError {
  override name = "PluginTimeoutError";
  constructor(plugin: string, what: string, ms: number) {
    super(plugin, `${what} exceeded its ${ms} ms budget`);
  }
}

/** A handler returned something its hook does not accept. */
export class PluginResultError extends PluginError {
  override name = "PluginResultError";
}

/** `send()` from inside message.sending / message.sent nested too deep: refused (a loop). */
export class PluginReentryError extends PluginError {
  override name = "PluginReentryError";
}

export class PluginNotFoundError extends Error {
  override name = "PluginNotFoundError";
  constructor(readonly plugin: string) {
    super(`no plugin named "${plugin}"`);
  }
}
