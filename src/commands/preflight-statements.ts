import { error, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import { statementSeparators } from '../sql/sql-text.js';
import { locateSqlError, type SqlOrigin } from '../plan/sql-error-location.js';
import { allSteps, type Task } from '../plan/task.js';
import { statementsIn, type WarehouseSession } from '../warehouse/warehouse.js';

/**
 * Before anything runs: every model and check is exactly one statement, as DuckDB's own
 * parser reads it. Text that parses into two statements would run both (a `--var` value
 * that closes a quote could drop a table), so it is refused at its file and line.
 */

const HINT =
  "a model or check is one query (select ... or with ... select ...); if a var() or env_var() value is put inside quotes, quote it with a filter instead: {{ var('x') | sqlstring }} (a literal) or {{ var('x') | ident }} (a name)";

/** Where the second statement begins: the line after the first separating semicolon. */
function secondStatementAt(sql: string, origin: SqlOrigin | undefined, fallback: Location): Location {
  const sep = statementSeparators(sql)[0];
  if (sep === undefined || !origin) return fallback;
  const line = sql.slice(0, sep).split('\n').length;
  const located = locateSqlError(line, sql, origin)?.location;
  if (located) return located;
  // The rendered line matches no line of the file (a value changed it beyond recognition):
  // templates keep their lines, so the same line of the file is where it came from.
  return !origin.inserted && line <= origin.source.split('\n').length ? { file: origin.file, line } : fallback;
}

export async function preflightSingleStatements(session: WarehouseSession, tasks: readonly Task[]): Promise<Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  const reported = new Set<string>();
  const checked = new Set<string>();
  const verify = async (sql: string, what: string, origin: SqlOrigin | undefined, at: Location) => {
    if (checked.has(sql) || reported.has(what)) return;
    checked.add(sql);
    const count = await statementsIn(session, sql);
    if (count === undefined || count <= 1) return;
    reported.add(what);
    diagnostics.push(
      error('several-statements', `${what} renders to ${count} SQL statements; pipe runs exactly one`, secondStatementAt(sql, origin, at), { hint: HINT }),
    );
  };
  for (const task of tasks) {
    // SQL rendered again as the task runs is checked then (see execute/render-at-run.ts).
    if (task.sql !== undefined && task.origin && !task.renderAtRun) await verify(task.sql, task.node, task.origin, { file: task.file });
    for (const step of allSteps(task.steps)) {
      const checks = step.kind === 'check' ? [step] : step.kind === 'publish' ? (step.checks ?? []) : [];
      for (const c of checks) if (!c.renderAtRun) await verify(c.sql, `${task.node}: check ${c.name}`, undefined, c.location);
    }
  }
  return diagnostics;
}
