/**
 * Files the compiled `ngb` carries inside itself: the agent image's build context (from
 * `container/`, with the agent runner already bundled) and the default group memory files.
 * In the sources this module is empty (`null`): the checkout's own files are used. The build
 * (`scripts/build.ts`) replaces it with the generated content (see `embed.ts`), so nothing
 * generated is committed and the content always matches the `container/` being built.
 */

export interface EmbeddedFiles {
  /** Build context: path relative to the context folder → file text. */
  context: Record<string, string>;
  /** Default memory files: path relative to the groups folder → text. */
  memory: Record<string, string>;
  /** Content hash of everything above. */
  hash: string;
}

export const EMBEDDED: EmbeddedFiles | null = null;
