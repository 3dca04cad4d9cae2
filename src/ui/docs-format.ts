import type { UiGraph } from './api.js';

/**
 * The files `pipe docs generate` writes for the page to read instead of asking a server,
 * shared by the writer (src/ui/docs/) and the page (src/ui/web/). Each is a script, not JSON:
 * a page opened from file:// may load scripts but not fetch files.
 */

/** The global the index script sets; its presence is what puts the page in its static mode. */
export const DOCS_GLOBAL = 'PIPE_DOCS';
/** The function each node's script calls with its number and its UiModel. */
export const DOCS_MODEL_CALLBACK = 'PIPE_DOCS_MODEL';
export const DOCS_INDEX_FILE = 'data/index.js';

export interface DocsIndex {
  readonly generated_at: string;
  readonly pipe_version: string;
  /** The graph; a node's file is numbered by its place in `graph.nodes`. */
  readonly graph: UiGraph;
}

export function docsModelFile(index: number): string {
  return `data/models/${index}.js`;
}
