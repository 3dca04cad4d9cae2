import type nunjucks from 'nunjucks';
import { dbtContext, type ContextOptions } from './dbt-context.js';
import { installFilters } from './filters.js';
import { installJinjaSyntax } from './syntax.js';

export type { Invocation, TemplateMessage } from './dbt-context.js';
export { JinjaError, jinjaPosition } from './errors.js';
export { DbtRelation, type RelationParts } from './relation.js';

/**
 * dbt's Jinja in a Nunjucks environment: Jinja's syntax and Python's semantics (installed
 * into Nunjucks once per process), Jinja's filters and tests, and dbt's context functions
 * as globals of `env`.
 */
export function installJinjaSurface(env: nunjucks.Environment, options: ContextOptions): void {
  installJinjaSyntax();
  installFilters(env);
  for (const [name, value] of Object.entries(dbtContext(options))) env.addGlobal(name, value);
}
