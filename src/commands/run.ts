import { randomBytes } from 'node:crypto';
import { DiagnosticError, hasErrors } from '../analyze/diagnostics.js';
import { dateVariables } from '../dates/dates.js';
import type { EventSink } from '../events/events.js';
import { execute, type ExecuteResult } from '../execute/executor.js';
import { planRun } from '../plan/plan.js';
import { DuckDBWarehouse } from '../warehouse/duckdb-warehouse.js';
import {
  ensureState,
  finishRunSql,
  insertRunSql,
  insertTasksSql,
  readCatalog,
  readSeedHashes,
  recoverAfterCrash,
} from '../warehouse/run-state.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { PIPE_VERSION } from '../version.js';
import {
  analyzeAndSelect,
  catalogIfExists,
  loadFiles,
  resolveInterval,
  warehousePath,
  type ProjectOptions,
  type SelectionOptions,
} from './context.js';

export interface RunOptions extends ProjectOptions, SelectionOptions {
  /** `YYYY-MM-DD`; default yesterday. */
  readonly date?: string;
  readonly threads?: number;
  /** Rebuild incremental models from nothing and reload seeds. */
  readonly fullRefresh?: boolean;
  readonly signal?: AbortSignal;
  readonly emit: EventSink;
}

export interface RunOutcome extends ExecuteResult {
  readonly runId: string;
}

export function newRunId(now = Date.now()): string {
  const t = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
  return `${t}-${randomBytes(2).toString('hex')}`;
}

/**
 * `pipe run`: load → analyze → plan → record → execute → record. Bad input throws a
 * DiagnosticError before anything is written; a held warehouse throws WarehouseLockedError.
 */
export async function run(options: RunOptions): Promise<RunOutcome> {
  const files = loadFiles(options);
  const { interval, isDefault } = resolveInterval(options.date, options.clock);
  const dbPath = warehousePath(options, files.root, files.projectFile?.data.warehouse as string ?? 'warehouse.duckdb');

  let { warehouse, catalog } = await catalogIfExists(dbPath);
  try {
    const existing = new Set([...catalog].filter(([, type]) => type === 'table').map(([rel]) => rel));
    const { analysis, selected } = analyzeAndSelect(files, {
      ...options,
      interval,
      existingRelations: existing,
      fullRefresh: options.fullRefresh,
    });
    const pipeline = options.pipeline ? analysis.pipelines.get(options.pipeline) : undefined;
    const threads = options.threads ?? pipeline?.threads ?? analysis.settings.threads ?? 4;

    warehouse ??= await DuckDBWarehouse.open(dbPath);
    const session = await warehouse.session();
    const runId = newRunId();
    let plan;
    try {
      await ensureState(session);
      await recoverAfterCrash(session);
      catalog = await readCatalog(session);
      plan = planRun({
        analysis,
        selected,
        interval,
        catalog,
        seedHashes: await readSeedHashes(session),
        fullRefresh: options.fullRefresh ?? false,
        runId,
      });
      if (hasErrors(plan.diagnostics)) throw new DiagnosticError(plan.diagnostics);
      const ds = dateVariables(interval).ds;
      await session.transaction([
        insertRunSql({
          runId,
          command: 'run',
          pipeline: options.pipeline,
          params: {
            ds,
            interval: { start: new Date(interval.start).toISOString(), end: new Date(interval.end).toISOString() },
            vars: options.vars ?? {},
            select: options.select ?? [],
            exclude: options.exclude ?? [],
            threads,
            full_refresh: options.fullRefresh ?? false,
          },
          startedAt: Date.now(),
          version: PIPE_VERSION,
        }),
        ...insertTasksSql(
          runId,
          plan.tasks.map((t) => ({
            id: t.id,
            node: t.node,
            kind: t.kind,
            ds: t.ds,
            intervalStart: t.interval?.start,
            intervalEnd: t.interval?.end,
            upstream: t.upstream,
            sqlHash: t.sqlHash,
          })),
        ),
      ]);
      options.emit({
        type: 'run-started',
        runId,
        command: 'run',
        pipeline: options.pipeline,
        ds,
        dateIsDefault: isDefault,
        warehouse: dbPath,
        threads,
        tasks: plan.tasks.length,
      });
    } finally {
      session.close();
    }

    const started = Date.now();
    const result = await execute({ warehouse, runId, tasks: plan.tasks, threads, emit: options.emit, signal: options.signal });
    await finish(warehouse, runId, result.status);
    options.emit({ type: 'run-finished', runId, ...result, ms: Date.now() - started });
    return { runId, ...result };
  } finally {
    warehouse?.close();
  }
}

async function finish(warehouse: Warehouse, runId: string, status: ExecuteResult['status']): Promise<void> {
  const session = await warehouse.session();
  try {
    await session.exec(finishRunSql(runId, status, Date.now()));
  } finally {
    session.close();
  }
}
