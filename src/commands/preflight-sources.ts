import { existsSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { error, type Diagnostic } from '../diagnostics/diagnostics.js';
import { didYouMean } from '../diagnostics/suggest.js';
import type { SourceNode } from '../analyze/sources.js';
import type { Task } from '../plan/task.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';
import { absentSource, codeOf, RelationsByDatabase } from '../state/source-presence.js';
import { quoteLiteral } from '../sql/sql-text.js';
import { freshnessDiagnostic, isMeasurable, measureFreshness } from './freshness.js';

/**
 * Before anything runs: every source a task of the run reads is there. pipe never builds a
 * source, so a table that does not exist (or a database not attached) or a local file that is
 * not there would fail the models reading it halfway through the run; it is refused first,
 * at the source's entry in its properties file. A source whose relation the query names in
 * comments alone (dbt's `-- depends on: {{ source(...) }}`, an order without a read) is not
 * asked for, as dbt does not: the query cannot fail for it.
 */

/** The sources the tasks that will run read, each once. */
export function sourcesRead(tasks: readonly Task[]): SourceNode[] {
  const out = new Map<string, SourceNode>();
  for (const t of tasks) {
    if (t.noop || t.blocked) continue;
    for (const s of t.sources ?? []) out.set(s.name, s);
  }
  return [...out.values()];
}

/**
 * The sources the tasks that will run read, each once, leaving out a table named in a
 * task's query only inside comments. Kept whenever that cannot be told: a query that does not
 * name the relation as source() renders it (a macro may build its name). A table read by a
 * query rendered again as its task runs is asked for then, in the query rendered (see
 * absentRenderedSources): a template that asks the warehouse whether it is there
 * (`adapter.get_relation()`, as Fivetran's packages do for a connector's optional tables) may
 * read it only when it is.
 */
export function sourcesQueried(tasks: readonly Task[]): SourceNode[] {
  const out = new Map<string, SourceNode>();
  for (const t of tasks) {
    if (t.noop || t.blocked) continue;
    let code: string | undefined;
    for (const s of t.sources ?? []) {
      if (out.has(s.name)) continue;
      if (s.reads.kind === 'relation' && t.renderAtRun !== undefined) continue;
      if (s.reads.kind === 'relation' && t.sql !== undefined && t.renderAtRun === undefined && t.sql.includes(s.relation)) {
        code ??= codeOf(t.sql);
        if (!code.includes(s.relation)) continue;
      }
      out.set(s.name, s);
    }
  }
  return [...out.values()];
}

/** The table name of a relation pipe writes (`"main_raw"."orders"` → `orders`), in lower case as DuckDB compares names. */
function tableNameOf(relation: string): string {
  const m = /"((?:[^"]|"")*)"$/.exec(relation);
  return (m ? m[1].replaceAll('""', '"') : relation.slice(relation.lastIndexOf('.') + 1)).toLowerCase();
}

export async function preflightSources(session: WarehouseSession, tasks: readonly Task[], root: string, cwd = process.cwd()): Promise<Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  const relations = new RelationsByDatabase(session);
  const batched = new Set(tasks.filter((t) => t.kind === 'microbatch' && !t.noop && !t.blocked).flatMap((t) => (t.sources ?? []).map((s) => s.name)));
  for (const s of sourcesQueried(tasks)) {
    // A seed of the project loads it, before what reads it, when it is missing.
    if (s.loadedBy !== undefined) continue;
    const reads = s.reads;
    switch (reads.kind) {
      case 'relation': {
        const found = await relations.find(reads.database, reads.schema, reads.identifier);
        if (found.kind === 'found') {
          if (batched.has(s.name)) diagnostics.push(...(await undatedSource(session, s)));
          break;
        }
        // The project's seed of that table name loads another schema's: the source's schema: may be meant to name it.
        const seed = tasks.find((t) => t.kind === 'seed' && t.relation !== undefined && tableNameOf(t.relation) === reads.identifier.toLowerCase());
        diagnostics.push(absentSource(s, reads, found, seed && { seed: seed.node, relation: seed.relation! }));
        break;
      }
      case 'external': {
        const unmatched: string[] = [];
        for (const pattern of reads.globs) if (!(await matchesAFile(session, pattern))) unmatched.push(pattern);
        const missing = [...reads.files.filter((file) => !existsSync(file)), ...unmatched];
        // Named where no query reads it (a CTE nothing selects from, which DuckDB leaves unbound):
        // every query naming it binds without it, and runs, as dbt's does.
        if (missing.length > 0 && (await boundWithout(session, tasks, s))) continue;
        for (const file of missing) {
          const glob = unmatched.includes(file);
          const inRoot = file.startsWith(root + sep);
          const shown = inRoot ? relative(root, file).split(sep).join('/') : file;
          // Where dbt-duckdb would find it: from the directory it ran in, outside the project (--project-dir).
          const fromCwd = inRoot && resolve(cwd) !== resolve(root) ? resolve(cwd, relative(root, file)) : undefined;
          const elsewhere = fromCwd !== undefined && (glob ? await matchesAFile(session, fromCwd) : existsSync(fromCwd)) ? fromCwd : undefined;
          diagnostics.push(
            error('missing-source', `source ${s.name} reads ${shown}, ${glob ? 'which matches no file' : 'which does not exist'}`, s.location, {
              hint: elsewhere
                ? `a relative path in external_location is read from the project folder, whatever the working directory: ${elsewhere} is where dbt-duckdb run from ${cwd} reads it; write its path from the project folder (${relative(root, elsewhere).split(sep).join('/')}) or in full`
                : inRoot
                  ? 'a relative path in external_location is read from the project folder'
                  : 'load the file, or fix external_location',
            }),
          );
        }
        if (missing.length === 0 && batched.has(s.name)) diagnostics.push(...(await undatedSource(session, s)));
        break;
      }
      default: {
        const never: never = reads;
        throw new Error(`internal error: source read ${JSON.stringify(never)}`);
      }
    }
  }
  return diagnostics;
}

/**
 * Whether every query that names source `s` binds with its file missing: DuckDB binds a common
 * table expression only where the query selects from it, so one that names the source in a CTE
 * nothing reads runs without it. False where a query renders as it runs (not known yet) or none names it.
 */
async function boundWithout(session: WarehouseSession, tasks: readonly Task[], s: SourceNode): Promise<boolean> {
  const readers = tasks.filter((t) => !t.noop && !t.blocked && (t.sources ?? []).some((x) => x.name === s.name));
  if (readers.length === 0 || readers.some((t) => t.sql === undefined || t.renderAtRun !== undefined)) return false;
  for (const t of readers) {
    const binds = await session.dialect.describeQuery(session, t.sql!).then(
      () => true,
      () => false,
    );
    if (!binds) return false;
  }
  return true;
}

/** Whether a glob pattern matches a file, by DuckDB's own glob (what its file readers expand); a pattern it cannot expand is left to the run. */
async function matchesAFile(session: WarehouseSession, pattern: string): Promise<boolean> {
  return session.query(`SELECT 1 AS found FROM glob(${quoteLiteral(pattern)}) LIMIT 1`).then(
    (rows) => rows.length > 0,
    () => true,
  );
}

/**
 * A source a microbatch model reads by batch whose `event_time` names none of its columns: each
 * batch would fail on pipe's filter in the engine's words. Said at the source's entry; a
 * source whose columns cannot be read is left to the run, which says why.
 */
async function undatedSource(session: WarehouseSession, s: SourceNode): Promise<Diagnostic[]> {
  if (s.eventTime === undefined) return [];
  const columns = await session.dialect.describeQuery(session, `SELECT * FROM ${s.relation}`).then(
    (cs) => cs.map((c) => c.name),
    () => undefined,
  );
  const time = s.eventTime.toLowerCase();
  if (columns === undefined || columns.some((c) => c.toLowerCase() === time)) return [];
  return [
    error('unknown-column', `source ${s.name}: its event_time ${s.eventTime} is not a column of ${s.relation}, which the microbatch models reading it filter by`, s.location, {
      hint: didYouMean(s.eventTime, columns) ?? `${s.relation} has: ${columns.join(', ')}`,
    }),
  ];
}

/**
 * `--check-freshness` (or a pipeline's `check_freshness: true`): the freshness of every source
 * the run reads that declares one; an error-level stale source (or one that cannot be measured)
 * is an error, a warn-level one a warning.
 */
export async function preflightFreshness(session: WarehouseSession, tasks: readonly Task[], now: number): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  for (const s of sourcesRead(tasks)) {
    if (!isMeasurable(s)) continue;
    const d = freshnessDiagnostic(await measureFreshness(session, s, now));
    if (d) out.push(d);
  }
  return out;
}

