import type nunjucks from 'nunjucks';
import { dbtContext, type ContextOptions } from './dbt-context.js';
import { installFilters } from './filters.js';
import { installJinjaSyntax } from './syntax.js';
import { JinjaError } from './errors.js';

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
  // dbt's version, which pipe is not: a template that reads it (a package's macro, a run hook's,
  // which unsupported-jinja.ts does not scan as it scans models) is stopped there, whatever the
  // leniency of the template, rather than given an empty value (left out of `context`'s keys).
  Object.defineProperty((env as unknown as { globals: object }).globals, 'dbt_version', {
    enumerable: false,
    configurable: true,
    get() {
      throw new JinjaError('dbt_version is not supported by pipe');
    },
  });
}
