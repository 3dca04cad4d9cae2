import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { relationName } from '../../src/sql/sql-text.js';
import { intervalLabel, type Interval } from '../../src/dates/dates.js';
import type { PipeEvent } from '../../src/events/events.js';
import { execute, type ExecuteResult } from '../../src/execute/executor.js';
import type { StrategyInput } from '../../src/plan/strategies/strategy.js';
import type { MicrobatchConfig } from '../../src/analyze/model-config.js';
import type { Step, Task, TaskKind } from '../../src/plan/task.js';
import { Engine, type EngineHandle } from '../../src/execute/engine.js';
import { ensureState, readCatalog, STAGING_PREFIX } from '../../src/warehouse/run-state.js';
import type { Row, WarehouseSession } from '../../src/warehouse/warehouse.js';

const EXPECTED_DIR = join(import.meta.dirname, 'expected');

export { renderSteps } from '../../src/plan/render-steps.js';

/**
 * Compares generated SQL with `test/sql/expected/NAME.sql`. With PIPE_UPDATE_EXPECTED=1 the
 * file is (re)written instead; review the difference before committing it.
 */
export function expectSql(name: string, actual: string): void {
  const file = join(EXPECTED_DIR, `${name}.sql`);
  if (process.env.PIPE_UPDATE_EXPECTED === '1' || !existsSync(file)) {
    if (process.env.PIPE_UPDATE_EXPECTED !== '1') throw new Error(`no expected file ${file}; run with PIPE_UPDATE_EXPECTED=1 to write it`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

/** A warehouse in a temporary directory with pipe's state schema, for one test file. */
export class TestWarehouse {
  private constructor(
    readonly dir: string,
    readonly warehouse: EngineHandle,
    readonly session: WarehouseSession,
  ) {}

  static async open(prefix: string): Promise<TestWarehouse> {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    const warehouse = await Engine.open(join(dir, 'warehouse.duckdb'));
    const session = await warehouse.session();
    await ensureState(session);
    return new TestWarehouse(dir, warehouse, session);
  }

  close(): void {
    this.session.close();
    this.warehouse.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  query(sql: string): Promise<Row[]> {
    return this.session.query(sql);
  }

  async exec(sql: string): Promise<void> {
    await this.session.exec(sql);
  }

  /** Every table and view in the warehouse outside pipe's own schema. */
  async relations(): Promise<Map<string, string>> {
    const catalog = await readCatalog(this.session);
    return new Map([...catalog].filter(([rel]) => !rel.startsWith('"_pipe"')));
  }

  /**
   * What plan.ts gives a strategy: the relation, its staging table for the date and what
   * stands under the name now.
   */
  async input(name: string, sql: string, options: { interval?: Interval; partitionBy?: string; fullRefresh?: boolean } = {}): Promise<StrategyInput> {
    const relation = relationName('main', name);
    const label = options.interval ? intervalLabel(options.interval).replaceAll('-', '') : undefined;
    const stagingName = `${STAGING_PREFIX}${name}${label ? `__${label}` : ''}`;
    return {
      schema: 'main',
      name,
      relation,
      stagingName,
      stagingRelation: relationName('main', stagingName),
      existing: (await readCatalog(this.session)).get(relation),
      sql,
      interval: options.interval,
      partitionBy: options.partitionBy,
      fullRefresh: options.fullRefresh ?? false,
    };
  }

  private runs = 0;

  /** Runs the steps as the executor runs a task: staging outside, publishing in one transaction. */
  async run(kind: TaskKind, input: StrategyInput, steps: readonly Step[]): Promise<{ result: ExecuteResult; events: PipeEvent[] }> {
    const task: Task = {
      id: input.interval ? `${input.name}@${intervalLabel(input.interval)}` : input.name,
      node: input.name,
      kind,
      file: `models/${input.name}.sql`,
      relation: input.relation,
      schema: input.schema,
      interval: input.interval,
      upstream: [],
      sql: input.sql,
      steps,
      lockKey: input.relation,
    };
    const events: PipeEvent[] = [];
    const result = await execute({ engine: this.warehouse.engine, runId: `run-${++this.runs}`, tasks: [task], threads: 1, emit: (e) => events.push(e) });
    return { result, events };
  }
}

/** The failure event of a run of one task. */
export function failureOf(events: readonly PipeEvent[]) {
  const e = events.find((x) => x.type === 'task-failed');
  if (e?.type !== 'task-failed') throw new Error(`no task failed: ${events.map((x) => x.type).join(', ')}`);
  return e;
}

/** A microbatch model's config, as analysis would give it, with `over` changed. */
export function microbatchConfig(over: Partial<MicrobatchConfig> = {}): MicrobatchConfig {
  return {
    kind: 'microbatch',
    materialized: 'incremental',
    event_time: 'event_at',
    batch_size: 'hour',
    begin: Date.parse('2024-01-01T00:00:00Z'),
    lookback: 1,
    on_schema_change: 'fail',
    tags: [],
    depends_on_past: false,
    schema: 'main',
    enabled: true,
    ...over,
  };
}
