import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/commands/run.js';
import { retry } from '../../src/commands/retry.js';
import { test as testCommand } from '../../src/commands/test.js';
import type { PipeEvent } from '../../src/events/events.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

/**
 * Small models committed several to a transaction (execute/commit-batch.ts): each task is
 * still all or nothing, told once, recorded once, and a task that fails among others fails
 * exactly as it fails alone, while the others are published.
 */

afterAll(removeProjects);

const N = 24;
const name = (i: number) => `m_${String(i).padStart(2, '0')}`;

/** N independent table models, `select i as id`, with files overriding some. */
function models(overrides: Record<number, string> = {}, extra: Record<string, string> = {}): Record<string, string> {
  const files: Record<string, string> = { ...extra };
  for (let i = 1; i <= N; i++) files[`models/${name(i)}.sql`] = overrides[i] ?? `{{ config(materialized='table') }}\nselect ${i} as id\n`;
  return files;
}

/** Runs `fn`, counting the transactions the process commits meanwhile. */
async function countingCommits<T>(fn: () => Promise<T>): Promise<{ value: T; commits: number }> {
  const proto = DuckDBConnection.prototype;
  const original = proto.run;
  let commits = 0;
  proto.run = function (this: DuckDBConnection, sql: string, ...rest: unknown[]) {
    if (/(^|;)\s*COMMIT\s*$/i.test(sql.trim())) commits++;
    return (original as (...a: unknown[]) => ReturnType<typeof original>).call(this, sql, ...rest);
  } as typeof original;
  try {
    return { value: await fn(), commits };
  } finally {
    proto.run = original;
  }
}

async function runProject(dir: string, select?: string[]) {
  const events: PipeEvent[] = [];
  const counted = await countingCommits(() => run({ project: dir, date: '2024-01-02', threads: 1, select, emit: (e) => events.push(e) }));
  return { result: counted.value, commits: counted.commits, events };
}

/** The task ids of the events of `type`, sorted. */
const idsOf = (events: PipeEvent[], type: PipeEvent['type']) =>
  events
    .filter((e) => e.type === type)
    .map((e) => (e as { task: { id: string } }).task.id)
    .sort();

const allIds = (except: number[] = []) =>
  Array.from({ length: N }, (_, k) => k + 1)
    .filter((i) => !except.includes(i))
    .map((i) => `${name(i)}@2024-01-02`)
    .sort();

describe('tasks committed together', () => {
  it('publishes independent models in fewer transactions than tasks, each table and record as alone, each task told once', async () => {
    const dir = tempProject(models());
    const { result, commits, events } = await runProject(dir);
    expect(result.status).toBe('succeeded');
    expect(commits).toBeLessThan(N / 2);
    for (let i = 1; i <= N; i++) expect(await queryWarehouse(dir, `select id from ${name(i)}`)).toEqual([{ id: i }]);
    expect(idsOf(events, 'task-started')).toEqual(allIds());
    expect(idsOf(events, 'task-succeeded')).toEqual(allIds());
    const records = await queryWarehouse(dir, `select status, attempt, count(*)::INTEGER as n from _pipe.task_results where task_id like 'm\\_%' escape '\\' group by all`);
    expect(records).toEqual([{ status: 'succeeded', attempt: 1, n: N }]);
  });

  it('a model failing among others fails as it fails alone, once; the others are published', async () => {
    const bad = `{{ config(materialized='table') }}\nselect no_such_column from (select 1 as x)\n`;
    const dir = tempProject(models({ 15: bad }));
    const { result, events } = await runProject(dir);
    expect(result.status).toBe('failed');
    expect(idsOf(events, 'task-started')).toEqual(allIds());
    expect(idsOf(events, 'task-succeeded')).toEqual(allIds([15]));
    expect(idsOf(events, 'task-failed')).toEqual([`${name(15)}@2024-01-02`]);
    for (let i = 1; i <= N; i++) if (i !== 15) expect(await queryWarehouse(dir, `select id from ${name(i)}`)).toEqual([{ id: i }]);

    const alone = tempProject(models({ 15: bad }));
    const { events: aloneEvents } = await runProject(alone, [name(15)]);
    const failure = (es: PipeEvent[]) => (es.find((e) => e.type === 'task-failed') as Extract<PipeEvent, { type: 'task-failed' }>).error;
    expect(failure(events)).toEqual(failure(aloneEvents));
    expect(failure(events).location).toMatchObject({ file: 'models/m_15.sql', line: 2 });
    const records = await queryWarehouse(dir, `select status, attempt from _pipe.task_results where task_id = '${name(15)}@2024-01-02'`);
    expect(records).toEqual([{ status: 'failed', attempt: 1 }]);
  });

  it('a blocking check failing among others rolls back its model alone, told once; the others are published', async () => {
    const dir = tempProject(
      models({}, {
        'models/m_10.yaml': 'checks:\n  query:\n    - select * from {{ this }} where id = 10\n',
        'models/m_11.yaml': 'checks:\n  not_null: [id]\n',
      }),
    );
    const { result, events } = await runProject(dir);
    expect(result.status).toBe('failed');
    expect(idsOf(events, 'task-failed')).toEqual([`${name(10)}@2024-01-02`]);
    expect(idsOf(events, 'task-succeeded')).toEqual(allIds([10]));
    expect(idsOf(events, 'check-failed')).toEqual([`${name(10)}@2024-01-02`]);
    expect(idsOf(events, 'check-passed')).toEqual([`${name(11)}@2024-01-02`]);
    expect(await queryWarehouse(dir, `select count(*)::INTEGER as n from duckdb_tables() where table_name = '${name(10)}'`)).toEqual([{ n: 0 }]);
    expect(await queryWarehouse(dir, `select id from ${name(11)}`)).toEqual([{ id: 11 }]);
    const checks = await queryWarehouse(dir, `select task_id, status from _pipe.check_results order by task_id`);
    expect(checks).toEqual([
      { task_id: `${name(10)}@2024-01-02`, status: 'failed' },
      { task_id: `${name(11)}@2024-01-02`, status: 'passed' },
    ]);
  });

  it('pipe test: a check failing among others fails its model alone; every check is recorded once', async () => {
    const dir = tempProject(models({}, Object.fromEntries(Array.from({ length: N }, (_, k) => [`models/${name(k + 1)}.yaml`, 'checks:\n  not_null: [id]\n  unique: [id]\n']))));
    expect((await runProject(dir)).result.status).toBe('succeeded');
    // m_10 gets a second row with its id: its unique check fails, in the batch it joined.
    const db = await DuckDBInstance.create(join(dir, 'warehouse.duckdb'));
    const conn = await db.connect();
    await conn.run(`insert into ${name(10)} values (10)`);
    conn.closeSync();
    db.closeSync();
    const events: PipeEvent[] = [];
    const tested = await testCommand({ project: dir, date: '2024-01-02', threads: 1, emit: (e) => events.push(e) });
    expect(tested.status).toBe('failed');
    expect(idsOf(events, 'task-failed')).toEqual([`${name(10)}@2024-01-02`]);
    const runId = (events.find((e) => e.type === 'run-started') as Extract<PipeEvent, { type: 'run-started' }>).runId;
    const recorded = await queryWarehouse(
      dir,
      `select task_id, check_name, status, count(*)::INTEGER as n from _pipe.check_results where run_id = '${runId}' group by all order by task_id, check_name`,
    );
    expect(recorded).toHaveLength(2 * N);
    expect(recorded.filter((r) => r.n !== 1)).toEqual([]);
    expect(recorded.filter((r) => r.status !== 'passed')).toEqual([{ task_id: `${name(10)}@2024-01-02`, check_name: 'unique(id)', status: 'failed', n: 1 }]);
  });

  it('a run cancelled while tasks wait for their commit publishes none of them; pipe retry completes it', async () => {
    const dir = tempProject(models());
    const events: PipeEvent[] = [];
    const stop = new AbortController();
    let started = 0;
    const result = await run({
      project: dir,
      date: '2024-01-02',
      threads: 1,
      signal: stop.signal,
      emit: (e) => {
        events.push(e);
        if (e.type === 'task-started' && ++started === 5) stop.abort();
      },
    });
    expect(result.status).toBe('cancelled');
    const succeeded = new Set(idsOf(events, 'task-succeeded'));
    const cancelled = idsOf(events, 'task-cancelled');
    expect(cancelled.length).toBeGreaterThan(0);
    for (const id of cancelled) expect(succeeded.has(id)).toBe(false);
    const tables = new Set((await queryWarehouse(dir, `select table_name from duckdb_tables() where schema_name = 'main'`)).map((r) => `${String(r.table_name)}@2024-01-02`));
    const recorded = new Set(
      (await queryWarehouse(dir, `select task_id from _pipe.task_results where status = 'succeeded'`)).map((r) => String(r.task_id)).filter((id) => id.startsWith('m_')),
    );
    // What was told succeeded is exactly what was published and recorded.
    expect([...tables].sort()).toEqual([...succeeded].sort());
    expect([...recorded].sort()).toEqual([...succeeded].sort());

    const retried = await retry({ project: dir, emit: () => undefined });
    expect('status' in retried && retried.status).toBe('succeeded');
    for (let i = 1; i <= N; i++) expect(await queryWarehouse(dir, `select id from ${name(i)}`)).toEqual([{ id: i }]);
  });

  it('a model that runs long among small ones is published once, as alone', async () => {
    const slow = `{{ config(materialized='table') }}\nselect count(*)::INTEGER as id from range(400000000)\n`;
    const dir = tempProject(models({ 8: slow }));
    const { result, events } = await runProject(dir);
    expect(result.status).toBe('succeeded');
    expect(idsOf(events, 'task-started')).toEqual(allIds());
    expect(idsOf(events, 'task-succeeded')).toEqual(allIds());
    expect(await queryWarehouse(dir, `select id from ${name(8)}`)).toEqual([{ id: 400000000 }]);
    expect(await queryWarehouse(dir, `select attempt, status from _pipe.task_results where task_id = '${name(8)}@2024-01-02'`)).toEqual([{ attempt: 1, status: 'succeeded' }]);
  });
});
