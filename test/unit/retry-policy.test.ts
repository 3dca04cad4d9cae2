import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/analyze/analyze.js';
import { MAX_RETRIES } from '../../src/analyze/model-config.js';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import type { PipeEvent } from '../../src/events/events.js';
import { execute } from '../../src/execute/executor.js';
import { DEFAULT_RETRY_DELAY_MS, planRun } from '../../src/plan/plan.js';
import { DEFAULT_MAX_DELAY_MS } from '../../src/plan/retry-policy.js';
import type { Task } from '../../src/plan/task.js';
import { loadProject } from '../../src/project/load-project.js';
import { Engine, type EngineHandle } from '../../src/execute/engine.js';
import { DUCKDB } from '../../src/warehouse/duckdb/dialect.js';
import { ensureState } from '../../src/warehouse/run-state.js';
import { WarehouseError, type WarehouseSession } from '../../src/warehouse/warehouse.js';

const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};

let warehouse: EngineHandle;
let session: WarehouseSession;

beforeAll(async () => {
  warehouse = await Engine.open(join(tempDir('pipe-retry-'), 'w.duckdb'));
  session = await warehouse.session();
  await ensureState(session);
  await session.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)');
  await session.exec('INSERT INTO t VALUES (1, 1)');
});

afterAll(() => {
  session?.close();
  warehouse?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The error a statement really raises in DuckDB, as the warehouse classifies it. */
async function failure(sql: string, on: WarehouseSession = session): Promise<WarehouseError> {
  try {
    await on.exec(sql);
  } catch (e) {
    expect(e).toBeInstanceOf(WarehouseError);
    return e as WarehouseError;
  }
  throw new Error(`expected ${sql} to fail`);
}

describe('classification of real DuckDB errors', () => {
  it.each([
    ['a syntax error', 'selec 1', 'Parser'],
    ['a missing table', 'SELECT * FROM no_such_table', 'Catalog'],
    ['a missing column', 'SELECT no_such_column FROM t', 'Binder'],
    ['a failed cast', "SELECT 'x'::INTEGER", 'Conversion'],
    ['a duplicate key', 'INSERT INTO t VALUES (1, 2)', 'Constraint'],
    ['an overflow', 'SELECT 2147483647::INTEGER + 1::INTEGER', 'Out of Range'],
    ['error() in the query', "SELECT error('bad row')", 'Invalid Input'],
    ['a missing schema', 'CREATE TABLE no_schema.x AS SELECT 1', 'Catalog'],
    // Words of transient errors inside a permanent one's message change nothing.
    ['a missing column named like an interrupt', 'SELECT interrupted FROM t', 'Binder'],
    ['a missing table named like an interrupt', 'SELECT * FROM interrupted_sessions', 'Catalog'],
    ['a failed cast of text about a conflict', "SELECT 'conflict on x'::INTEGER", 'Conversion'],
    ['error() quoting memory trouble', "SELECT error('Out of memory in the upstream system')", 'Invalid Input'],
  ])('%s is permanent', async (_, sql, kind) => {
    const e = await failure(sql);
    expect([e.kind, e.errorClass]).toEqual([kind, 'permanent']);
    // The message stays DuckDB's own.
    expect(e.message.startsWith(`${kind} Error: `)).toBe(true);
  });

  it('a write conflict with another transaction is transient', async () => {
    const other = await warehouse.session();
    try {
      await other.exec('BEGIN TRANSACTION');
      await other.exec('UPDATE t SET v = 2 WHERE id = 1');
      const e = await failure('UPDATE t SET v = 3 WHERE id = 1');
      expect(e.message).toMatch(/^TransactionContext Error: Conflict on update/);
      expect([e.kind, e.errorClass]).toEqual(['TransactionContext', 'transient']);
      await other.exec('ROLLBACK');
    } finally {
      other.close();
    }
  });

  it('an interrupted query is transient', async () => {
    const other = await warehouse.session();
    try {
      const running = other.exec('SELECT count(*) FROM range(100000000000) a');
      // Interrupt until the query has noticed; one interrupt may land before it starts.
      let settled = false;
      void running.catch(() => undefined).finally(() => (settled = true));
      while (!settled) {
        other.interrupt();
        await new Promise((r) => setTimeout(r, 10));
      }
      const e = await running.then(
        () => undefined,
        (err: unknown) => err as WarehouseError,
      );
      expect(e).toBeInstanceOf(WarehouseError);
      expect(e!.message).toMatch(/^INTERRUPT Error: Interrupted/);
      expect(e!.errorClass).toBe('transient');
    } finally {
      other.close();
    }
  });

  it('running out of memory is transient', async () => {
    const instance = await DuckDBInstance.create(':memory:', { memory_limit: '2MB', threads: '1' });
    const connection = await instance.connect();
    try {
      let raised: unknown;
      try {
        await connection.run('SELECT list(range) FROM range(10000000) GROUP BY range % 1000000 ORDER BY 1');
      } catch (err) {
        raised = err;
      }
      const e = DUCKDB.classify(raised);
      expect(e.message).toMatch(/^Out of Memory Error: /);
      expect([e.kind, e.errorClass]).toEqual(['Out of Memory', 'transient']);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it('keeps an already classified error and classifies non-DuckDB errors as unknown and permanent', () => {
    const known = new WarehouseError('x', 'IO', 'transient');
    expect(DUCKDB.classify(known)).toBe(known);
    const e = DUCKDB.classify(new Error('something odd'));
    expect([e.kind, e.errorClass, e.message]).toEqual(['Unknown', 'permanent', 'something odd']);
  });
});

describe('retry policy of planned tasks', () => {
  function planned(files: Record<string, string>, pipeline?: string) {
    const root = tempDir('pipe-retry-plan-');
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    const interval = dayInterval(parseDate('2024-01-02')!);
    const analysis = analyze(loadProject(root), { interval, pipeline });
    const plan = planRun(
      {
        analysis,
        selected: new Set(analysis.graph.nodes),
        catalog: new Map(),
        seedHashes: new Map(),
        fullRefresh: false,
        runId: 'r1',
        pipeline: pipeline ? analysis.pipelines.get(pipeline) : undefined,
      },
      interval,
    );
    return { diagnostics: analysis.diagnostics, retry: Object.fromEntries(plan.tasks.map((t) => [t.node, t.retry])) };
  }

  it('retries nothing unless asked', () => {
    const { retry } = planned({ 'models/a.sql': 'select 1' });
    expect(retry.a).toBeUndefined();
  });

  it('takes retries and delay from the model, with the default delay and the ten-minute cap', () => {
    const { diagnostics, retry } = planned({
      'models/a.sql': "{{ config(retries=3, retry_delay='30s') }}\nselect 1",
      'models/b.sql': "{{ config(retries=2) }}\nselect 1",
      'models/c.sql': "{{ config(retries=1, retry_delay='1h') }}\nselect 1",
    });
    expect(diagnostics).toEqual([]);
    expect(retry.a).toEqual({ retries: 3, delayMs: 30_000, maxDelayMs: DEFAULT_MAX_DELAY_MS });
    expect(retry.b).toEqual({ retries: 2, delayMs: DEFAULT_RETRY_DELAY_MS, maxDelayMs: DEFAULT_MAX_DELAY_MS });
    // A first delay longer than the cap raises the cap: no delay is ever below the first one.
    expect(retry.c).toEqual({ retries: 1, delayMs: 3_600_000, maxDelayMs: 3_600_000 });
    expect(DEFAULT_MAX_DELAY_MS).toBe(600_000);
  });

  it('reads a delay given as a number alone as seconds, as every duration pipe takes', () => {
    const { diagnostics, retry } = planned({
      'pipelines/p.yaml': 'retries: 1\nretry_delay: 45\n',
      'models/a.sql': "{{ config(retries=1, retry_delay=30) }}\nselect 1",
      'models/b.sql': "{{ config(retries=1, retry_delay='90') }}\nselect 1",
      'models/c.sql': 'select 1',
    }, 'p');
    expect(diagnostics).toEqual([]);
    expect([retry.a?.delayMs, retry.b?.delayMs, retry.c?.delayMs]).toEqual([30_000, 90_000, 45_000]);
  });

  it('falls back to the pipeline defaults, the model winning', () => {
    const { diagnostics, retry } = planned(
      {
        'pipelines/p.yaml': 'retries: 2\nretry_delay: 2m\n',
        'models/a.sql': 'select 1',
        'models/b.sql': "{{ config(retries=5) }}\nselect 1",
        'models/c.sql': "{{ config(retries=0) }}\nselect 1",
      },
      'p',
    );
    expect(diagnostics).toEqual([]);
    expect(retry.a).toEqual({ retries: 2, delayMs: 120_000, maxDelayMs: DEFAULT_MAX_DELAY_MS });
    expect(retry.b).toEqual({ retries: 5, delayMs: 120_000, maxDelayMs: DEFAULT_MAX_DELAY_MS });
    // retries: 0 on the model turns the pipeline's retries off.
    expect(retry.c).toBeUndefined();
  });

  it('bounds retries to 0..10 and requires a duration for the delay', () => {
    const { diagnostics } = planned({
      'models/a.sql': `{{ config(retries=${MAX_RETRIES + 1}) }}\nselect 1`,
      'models/b.sql': "{{ config(retries=-1) }}\nselect 1",
      'models/c.sql': "{{ config(retries=1, retry_delay='soon') }}\nselect 1",
      'models/d.sql': `{{ config(retries=${MAX_RETRIES}) }}\nselect 1`,
    });
    expect(diagnostics.map((d) => `${d.location?.file} ${d.message}`).sort()).toEqual([
      'models/a.sql retries must be a whole number from 0 to 10',
      'models/b.sql retries must be a whole number from 0 to 10',
      "models/c.sql retry_delay must be a duration such as '30s', '2m', '1h' or a number of seconds, got \"soon\"",
    ]);
  });
});

describe('the executor retries transient errors only', () => {
  const task = (id: string, sql: string): Task => ({
    id,
    node: id,
    kind: 'table',
    file: `models/${id}.sql`,
    relation: `"main"."${id}"`,
    schema: 'main',
    upstream: [],
    // The success record is written by the publishing transaction, as for every real task.
    steps: [
      { kind: 'statement', sql },
      { kind: 'publish', statements: [] },
    ],
    lockKey: id,
    retry: { retries: 3, delayMs: 200, maxDelayMs: 200 },
  });

  it('retries a write conflict and succeeds once the other transaction is gone', async () => {
    const blocker = await warehouse.session();
    await blocker.exec('BEGIN TRANSACTION');
    await blocker.exec('UPDATE t SET v = 10 WHERE id = 1');
    const events: PipeEvent[] = [];
    let released: Promise<unknown> | undefined;
    const result = await execute({
      engine: warehouse.engine,
      runId: 'retry-1',
      tasks: [task('conflicting', 'UPDATE t SET v = 20 WHERE id = 1')],
      threads: 1,
      emit: (e) => {
        events.push(e);
        // The other transaction ends while the task waits for its retry.
        if (e.type === 'task-retrying') released ??= blocker.exec('ROLLBACK');
      },
    });
    await released;
    blocker.close();
    expect(result.status).toBe('succeeded');
    const retrying = events.filter((e) => e.type === 'task-retrying');
    // One retry when the other transaction is gone by then; a busy machine may need another.
    expect(retrying.length).toBeGreaterThanOrEqual(1);
    for (const r of retrying) expect(r).toMatchObject({ error: { kind: 'TransactionContext', errorClass: 'transient' } });
    const attempts = retrying.length + 1;
    expect(events.find((e) => e.type === 'task-succeeded')).toMatchObject({ attempts });
    expect(await session.query('SELECT v FROM t WHERE id = 1')).toEqual([{ v: 20 }]);
    expect(
      await session.query("SELECT attempt, status, detail FROM _pipe.task_results WHERE run_id = 'retry-1' ORDER BY attempt"),
    ).toEqual([
      ...retrying.map((_, i) => ({ attempt: i + 1, status: 'failed', detail: 'will retry' })),
      { attempt: attempts, status: 'succeeded', detail: null },
    ]);
  });

  it('does not retry a permanent error', async () => {
    const events: PipeEvent[] = [];
    const result = await execute({
      engine: warehouse.engine,
      runId: 'retry-2',
      tasks: [task('broken', 'SELECT no_such_column FROM t')],
      threads: 1,
      emit: (e) => events.push(e),
    });
    expect(result.status).toBe('failed');
    expect(events.filter((e) => e.type === 'task-retrying')).toEqual([]);
    expect(events.find((e) => e.type === 'task-failed')).toMatchObject({ attempts: 1, error: { kind: 'Binder', errorClass: 'permanent' } });
  });
});
