import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableStrategy } from '../plan/strategies/table.js';
import { viewStrategy } from '../plan/strategies/view.js';
import type { StrategyInput } from '../plan/strategies/strategy.js';
import type { CheckStep, FailuresWrite, Step } from '../plan/task.js';
import { queryRows, siblingRelation } from '../sql/sql-text.js';
import type { Location } from '../diagnostics/diagnostics.js';
import type { Column, RelationKind } from '../warehouse/dialect.js';
import { STAGING_PREFIX } from '../warehouse/run-state.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';

/**
 * A dbt test's failing rows kept in the warehouse (store_failures), as dbt keeps them: the
 * relation replaced each time the test runs, whatever its verdict (a test that passes leaves
 * it empty), and the test judged from what was kept.
 *
 * pipe runs a test where it checks the data, often inside its model's publishing transaction,
 * which a failing test rolls back: what is kept must outlive that. A table's rows are therefore
 * first written to a Parquet file of their own (no part of any transaction), and the test is
 * judged from the file; once the transaction has ended, committed or not, the relation is
 * written from the file as a model's table is written (its strategy, in one transaction: a
 * reader sees the old rows or the new, never part of them). A view keeps no rows: it is the
 * test's query over the relations as published, written then too.
 */

/** What a test's run kept, to be written once the transaction it ran in has ended. */
export interface KeptFailures {
  /** The test, and where it is declared. */
  readonly test: string;
  readonly location: Location;
  readonly write: FailuresWrite;
  /** A table's: the file holding the rows, and their columns. */
  readonly file?: { readonly path: string; readonly columns: readonly Column[] };
}

/**
 * Keeps the failing rows of `step` (a test with `storeFailures`) where they outlive the
 * transaction the test runs in; returns what the test is then judged from, and what to write.
 */
export async function keepFailures(session: WarehouseSession, step: CheckStep & { readonly storeFailures: FailuresWrite }): Promise<{ readonly sql: string; readonly kept: KeptFailures }> {
  const write = step.storeFailures;
  const of = { test: step.name, location: step.location };
  if (write.as === 'view') return { sql: step.sql, kept: { ...of, write } };
  const { dialect } = session;
  // Named as the rows the file is written from name them: a query naming two columns alike gives `id` and `id_1`.
  const columns = await dialect.describeQuery(session, queryRows(step.sql));
  const path = join(tmpdir(), `pipe-failures-${randomUUID()}.parquet`);
  try {
    await session.exec(dialect.rowsToFile(step.sql, columns, path));
  } catch (e) {
    rmSync(path, { force: true });
    throw e;
  }
  return { sql: dialect.rowsFromFile(path, columns), kept: { ...of, write, file: { path, columns } } };
}

/** Forgets what was kept without writing it (the test could not be judged). */
export function dropKept(kept: KeptFailures): void {
  if (kept.file) rmSync(kept.file.path, { force: true });
}

/**
 * Writes what a test kept into its relation, outside any transaction of the task's, replacing
 * whatever stood there; the file is removed either way.
 */
export async function writeFailures(session: WarehouseSession, kept: KeptFailures): Promise<void> {
  const { write } = kept;
  try {
    const [found] = await session.query(session.dialect.relationKind(write.schema, write.name));
    const existing = found === undefined ? undefined : (String(found.type) as RelationKind);
    const stagingName = `${STAGING_PREFIX}${write.name}`;
    const input: StrategyInput = {
      schema: write.schema,
      name: write.name,
      relation: write.relation,
      stagingName,
      stagingRelation: siblingRelation(write.relation, stagingName),
      existing,
      sql: write.as === 'view' ? write.sql : session.dialect.rowsFromFile(kept.file!.path, kept.file!.columns),
      fullRefresh: false,
    };
    await runSteps(session, write.as === 'view' ? viewStrategy(input) : tableStrategy(input));
  } finally {
    dropKept(kept);
  }
}

/** A strategy's steps, run as the executor runs a model's: its statements, then its publishing transaction; cleanup after a failure. */
async function runSteps(session: WarehouseSession, steps: readonly Step[]): Promise<void> {
  try {
    for (const step of steps) {
      if (step.kind === 'statement') await session.exec(step.sql);
      else if (step.kind === 'publish') await session.transaction([...step.statements]);
      else if (step.kind !== 'cleanup') throw new Error(`internal error: a ${step.kind} step writing a test's failures`);
    }
  } catch (e) {
    for (const step of steps) if (step.kind === 'cleanup') await session.exec(step.sql).catch(() => undefined);
    throw e;
  }
}
