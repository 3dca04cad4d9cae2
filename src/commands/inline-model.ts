import { join } from 'node:path';
import type { Project } from './open-project.js';

/**
 * dbt's `--inline`: a query given on the command line (`pipe show --inline "select * from {{
 * ref('orders') }}"`), made a model of the project for the command alone, so that it renders
 * as every model does (ref(), source(), var(), macros, ephemeral models inlined) and reads
 * what the project built. It is named as dbt names it, `inline_query`, unless the project has
 * a node of that name; it is never written: the commands that take it only read.
 */

/** Where an inline query's problems are said to be. */
export const INLINE_FILE = '<inline>';

/** Whether a `show` or `compile` argument is a query rather than a node's name: a name holds no space and no template. */
export function looksLikeQuery(text: string): boolean {
  return /\s|\{\{|\{%/.test(text.trim());
}

/** The project with `sql` as one more model, and that model's name. */
export function withInlineModel(project: Project, sql: string): { readonly project: Project; readonly name: string } {
  const taken = new Set([...project.files.models.map((m) => m.name), ...project.files.seeds.map((s) => s.name)]);
  let name = 'inline_query';
  for (let i = 2; taken.has(name); i++) name = `inline_query_${i}`;
  const model = { name, file: INLINE_FILE, absPath: join(project.root, INLINE_FILE), sql };
  return { project: { ...project, files: { ...project.files, models: [...project.files.models, model] } }, name };
}
