import { join } from 'node:path';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/analyze/model-config.js';
import type { LakeTarget } from '../../src/warehouse/warehouse-setup.js';
import { explain, killRunning, ModelGate, removeTempDirs, RunningPipe, tempDir, type PipeResult, writeProjectFiles } from '../e2e/helpers.js';
import { backfillIn, retryIn } from '../support/in-process.js';
import { lakeRowsOf } from '../support/lake-rows.js';
import { lakeInstances } from '../support/lake-instances.js';
import { createDatabase, testPostgres, type TestPostgres } from '../support/postgres.js';
import { enqueue, openQueue, type JobPayload } from '../../src/distributed/queue.js';

/**
 * One backfill spread over `pipe worker` processes through the queue in the lake's Postgres:
 * the tables come out as a single process builds them, each date written once, also when a
 * worker is killed mid-task; a worker of another project refuses; a DuckDB file is refused.
 * Skipped where Postgres or the extensions are missing, unless PIPE_REQUIRE_POSTGRES=1.
 */

const pg0: TestPostgres | undefined = await testPostgres();
lakeInstances();
// Every worker started is killed when the file's tests are done.
afterAll(async () => {
  await killRunning();
  removeTempDirs();
});

let databases = 0;
/** Processes start and backfill on a machine other work may load: generous, as the other DuckLake tests' polls are. */
const SLOW = 180_000;
const ENV = { PIPE_TEST_PGUSER: 'postgres' };
process.env.PIPE_TEST_PGUSER = 'postgres';

/** Dates of the backfills (PIPE_DISTRIBUTED_DATES runs more, e.g. 60): an incremental model of 50 rows each, a table over it. */
const DAYS = Number(process.env.PIPE_DISTRIBUTED_DATES ?? 20);
const LAST = new Date(Date.UTC(2024, 0, DAYS)).toISOString().slice(0, 10);
const MODELS = {
  'models/events.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect cast('{{ ds }}' as date) as d, i, hash(i, '{{ ds }}') % 1000 as v from range(50) t(i)\n",
  'models/daily.sql': "{{ config(materialized='table') }}\nselect d, count(*) as n, sum(v) as total from {{ ref('events') }} group by d\n",
};

function lakeProject(files: Record<string, string> = MODELS): { dir: string; lake: LakeTarget; db: string } {
  const dir = tempDir();
  const db = createDatabase(pg0!, `dist_${process.pid}_${++databases}`);
  writeProjectFiles(dir, {
    'pipe.yaml': `name: dist\nwarehouse:\n  type: ducklake\n  catalog: postgres:${pg0!.connection(db).replace('user=postgres', 'user=${env:PIPE_TEST_PGUSER}')}\n  data_path: lake/\n`,
    ...files,
  });
  const lake: LakeTarget = { catalog: { kind: 'postgres', connection: pg0!.connection(db) }, dataPath: join(dir, 'lake/'), shown: db, source: { owner: 'test' } };
  return { dir, lake, db };
}

function startWorkers(dir: string, n: number, extra: readonly string[] = []): RunningPipe[] {
  return Array.from({ length: n }, (_, i) => new RunningPipe(['worker', '--project', dir, '--json', '--name', `w${i + 1}`, ...extra], { env: ENV }));
}

/** Resolves once every worker has said it is ready (its heartbeat is written by then). */
async function ready(ws: readonly RunningPipe[]): Promise<void> {
  await Promise.all(ws.map((w) => w.waitFor((e) => e.type === 'notice' && String(e.message).includes('ready'))));
}

const TABLES = ["SELECT strftime(d, '%Y-%m-%d') AS d, i, v FROM main.events ORDER BY d, i", "SELECT strftime(d, '%Y-%m-%d') AS d, n, total FROM main.daily ORDER BY d"];
const PER_DATE = "SELECT count(*)::INTEGER AS dates, sum(c)::INTEGER AS n, max(c)::INTEGER AS most FROM (SELECT d, count(*) AS c FROM main.events GROUP BY d)";

/**
 * The lease of the shared lake's workers: short, so that a worker killed in a trial is given up
 * soon. A busy worker is not taken for dead for it: its heartbeat's connection stays open.
 */
const LEASE = '1s';

/** The backfill the shared lake's workers run, coordinated in this process. */
const DATES = { start: '2024-01-01', end: LAST, parallel: 8, distributed: { leaseMs: parseDuration(LEASE)! } };

describe.skipIf(!pg0)('a backfill distributed over pipe worker processes', () => {
  /** One lake and its workers (a short lease, for the kill -9 trials) for the first two tests; a one-process copy to compare with. */
  let shared: ReturnType<typeof lakeProject>;
  let local: ReturnType<typeof lakeProject>;
  const byName = new Map<string, RunningPipe>();
  let named = 0;
  const addWorkers = (n: number) => {
    const ws = Array.from({ length: n }, () => new RunningPipe(['worker', '--project', shared.dir, '--json', '--lease', LEASE, '--name', `w${++named}`], { env: ENV }));
    ws.forEach((w, i) => byName.set(`w${named - n + i + 1}`, w));
    return ws;
  };
  /** The tables as one process builds them. */
  let alone: Record<string, unknown>[][];
  /** A lake of its own and a worker of another project on it, started with the others. */
  let refusing: { dir: string; other: string; worker: RunningPipe };
  beforeAll(async () => {
    local = lakeProject();
    shared = lakeProject();
    const ws = addWorkers(3);
    const { dir } = lakeProject();
    const other = tempDir();
    cpSync(dir, other, { recursive: true });
    // The same lake, its data where the first project keeps it (a shared folder or bucket, between machines).
    writeFileSync(join(other, 'pipe.yaml'), readFileSync(join(dir, 'pipe.yaml'), 'utf8').replace('data_path: lake/', `data_path: ${join(dir, 'lake')}/`));
    writeFileSync(join(other, 'models/daily.sql'), "{{ config(materialized='table') }}\nselect d, count(*) * 2 as n from {{ ref('events') }} group by d\n");
    refusing = { dir, other, worker: startWorkers(other, 1)[0] };
    // The same backfill in one process, while the workers start.
    const built = await backfillIn(local.dir, { start: '2024-01-01', end: LAST, parallel: 8 });
    expect(built.code, explain(built)).toBe(0);
    alone = await lakeRowsOf(local.lake, TABLES);
    await ready([...ws, refusing.worker]);
  }, SLOW);
  it('builds the same tables as one process, each date once, and history names the worker of each task', async () => {
    // The coordinator in this process, its workers processes of their own.
    const done: PipeResult = await backfillIn(shared.dir, DATES);
    expect(done.code, explain(done)).toBe(0);
    // Every task ran on a worker, which the coordinator names.
    const started = done.events.filter((e) => e.type === 'task-started');
    // A task started twice says why in the run's output (a task given back, a conflict run again).
    expect(started, explain(done)).toHaveLength(DAYS + 1);
    for (const e of started) expect(['w1', 'w2', 'w3']).toContain(e.runner);
    // The run state records the worker of each task, as pipe history and pipe ui show it.
    const runId = String(done.events.find((e) => e.type === 'run-started')?.runId);
    const [events, daily, perDate, runners] = await lakeRowsOf(shared.lake, [
      ...TABLES,
      PER_DATE,
      `SELECT DISTINCT runner FROM _pipe.task_results WHERE run_id = '${runId}' AND status = 'succeeded' ORDER BY 1`,
    ]);
    expect([events, daily]).toEqual(alone);
    expect(perDate).toEqual([{ dates: DAYS, n: DAYS * 50, most: 50 }]);
    expect(runners.length).toBeGreaterThan(0);
    for (const r of runners) expect(['w1', 'w2', 'w3']).toContain(r.runner);
  }, SLOW);

  it('kill -9 of a worker mid-task: another runs its task, every date is written once', async () => {
    // Each trial is the same case at another random point: one per run; PIPE_KILL_TRIALS=20 samples many.
    const trials = Number(process.env.PIPE_KILL_TRIALS ?? 1);
    const client = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${pg0!.port}/${shared.db}` });
    await client.connect();
    // Woken by each message a worker posts; the heartbeat names the workers holding a task.
    let woken = () => undefined as void;
    client.on('notification', () => woken());
    await client.query('LISTEN pipe_workers');
    try {
      for (let trial = 0; trial < trials; trial++) {
        // The dates built again, each run killing a worker at a random point: after the k-th task has started.
        const k = 1 + Math.floor(Math.random() * 18);
        let seen = 0;
        let reached = () => undefined as void;
        const kth = new Promise<void>((res) => (reached = res));
        let ended = false;
        const coordinator = backfillIn(shared.dir, { ...DATES, force: true, onEvent: (e) => e.type === 'task-started' && ++seen >= k && reached() }).finally(() => (ended = true));
        await Promise.race([kth, coordinator]);
        let victim: string | undefined;
        while (!ended) {
          const next = new Promise<void>((res) => (woken = res));
          const { rows } = await client.query<{ worker_id: string }>('SELECT worker_id FROM pipe_workers.workers WHERE cardinality(current_tasks) > 0 AND stopped_at IS NULL');
          if (rows.length > 0) {
            victim = rows[Math.floor(Math.random() * rows.length)].worker_id;
            break;
          }
          await Promise.race([next, coordinator]);
        }
        if (victim) {
          byName.get(victim)!.child.kill('SIGKILL');
          // Its replacement starts while the backfill goes on.
          addWorkers(1);
        }
        const done = await coordinator;
        expect(done.code, `trial ${trial}: killed ${victim ?? 'none'} after task ${k}\n${explain(done)}`).toBe(0);
        expect(await lakeRowsOf(shared.lake, [...TABLES, PER_DATE])).toEqual([...alone, [{ dates: DAYS, n: DAYS * 50, most: 50 }]]);
      }
    } finally {
      await client.end();
    }
  }, SLOW * Math.max(1, Number(process.env.PIPE_KILL_TRIALS ?? 1)));

  it('a worker of another project refuses its tasks, and the coordinator says why, once for all of them', async () => {
    const done = await backfillIn(refusing.dir, { start: '2024-01-01', end: '2024-01-03', distributed: { leaseMs: 30_000 } });
    expect(done.code, explain(done)).toBe(1);
    const failed = done.events.filter((e) => e.type === 'task-failed') as unknown as { error: { message: string } }[];
    expect(failed.length, explain(done)).toBe(3);
    for (const f of failed) expect(f.error.message).toMatch(/^worker w1 refused the task: its project differs from the coordinator's/);
    // One cause, one error in the summary, however many tasks it stopped.
    expect(done.stdout).toMatch(/Failures \(3, 1 distinct error\)/);
    // Its files made the coordinator's (a deploy, the worker running on): it reads them again and runs the tasks.
    writeFileSync(join(refusing.other, 'models/daily.sql'), readFileSync(join(refusing.dir, 'models/daily.sql'), 'utf8'));
    const again = await retryIn(refusing.dir, { distributed: { leaseMs: 30_000 } });
    expect(again.code, explain(again)).toBe(0);
    await refusing.worker.waitFor((e) => e.type === 'notice' && String(e.message).includes("the project's files changed since it read them"));
  });

  it('a task given back from a worker killed mid-task starts again on another, which the coordinator words as what happened', async () => {
    const { dir } = lakeProject({});
    const gate = new ModelGate(dir);
    writeProjectFiles(dir, { 'models/events.sql': `{{ config(materialized='incremental', partition_by='d') }}\nselect cast('{{ ds }}' as date) as d, i from range(3) t(i) where ${gate.sql} >= 0\n` });
    const [first] = startWorkers(dir, 1, ['--lease', LEASE]);
    await ready([first]);
    const held = gate.reached();
    let started = () => undefined as void;
    const hasStarted = new Promise<void>((res) => (started = res));
    const done = backfillIn(dir, { start: '2024-01-01', end: '2024-01-01', distributed: { leaseMs: parseDuration(LEASE)! }, onEvent: (e) => e.type === 'task-started' && started() });
    await Promise.all([held, hasStarted]);
    first.child.kill('SIGKILL');
    gate.open();
    const second = new RunningPipe(['worker', '--project', dir, '--json', '--name', 'w2', '--lease', LEASE], { env: ENV });
    const result = await done;
    expect(result.code, explain(result)).toBe(0);
    const notices = result.events.filter((e) => e.type === 'notice').map((e) => String(e.message));
    expect(notices, explain(result)).toContain('events@2024-01-01 starts again, on w2: this coordinator gave it back to the queue when w1 went unseen');
    expect(notices.join('\n')).not.toMatch(/started again/);
    second.child.kill('SIGTERM');
  }, SLOW);

  it('a worker refuses a task queued by another pipe version, saying which', async () => {
    const pool = new pg.Pool({ connectionString: `postgresql://postgres@127.0.0.1:${pg0!.port}/${shared.db}`, max: 2 });
    const listener = await pool.connect();
    try {
      const told = new Promise<void>((res) => listener.on('notification', (n) => n.payload === 'foreign-run' && res()));
      await listener.query('LISTEN pipe_workers');
      const utils = await openQueue(pool);
      try {
        // The workers' own project: only the version differs.
        const readyLine = await byName.get('w1')!.waitFor((e) => e.type === 'notice' && String(e.message).includes('ready'));
        const fingerprint = /\(project (\S+)\)/.exec(String(readyLine.message))![1];
        const payload = { runId: 'foreign-run', taskId: 'events@2024-01-01', fingerprint, pipeVersion: '0.0.1-other', task: {}, slot: 1, coordinator: 'elsewhere:1' };
        await enqueue(utils, payload as JobPayload);
      } finally {
        await utils.release();
      }
      await told;
      const { rows } = await pool.query("SELECT kind, body->>'message' AS message FROM pipe_workers.messages WHERE run_id = 'foreign-run'");
      expect(rows).toHaveLength(1);
      expect(rows[0].kind).toBe('refused');
      expect(rows[0].message).toMatch(/^worker w\d+ refused the task: it was queued by pipe 0\.0\.1-other at elsewhere:1, and this worker is pipe \S+; run the same pipe version on every machine$/);
    } finally {
      listener.release();
      await pool.end();
    }
  });

  it('Ctrl-C while tasks wait in the queue: they are recorded cancelled, as the output says', async () => {
    // No worker on this lake: the first date's task waits in the queue.
    const { dir, lake } = lakeProject();
    const stop = new AbortController();
    const done = await backfillIn(dir, {
      start: '2024-01-01',
      end: '2024-01-02',
      signal: stop.signal,
      distributed: { leaseMs: 30_000 },
      onEvent: (e) => e.type === 'notice' && String(e.message).includes('no pipe worker is running') && stop.abort(),
    });
    expect(done.code, explain(done)).toBe(130);
    const runId = String(done.events.find((e) => e.type === 'run-started')?.runId);
    const cancelled = done.events.filter((e) => e.type === 'task-cancelled').map((e) => (e.task as { id: string }).id);
    expect(cancelled, explain(done)).toEqual(['events@2024-01-01']);
    expect(done.stdout).toMatch(/CANCEL events 2024-01-01 .*cancelled before it started/);
    const [recorded] = await lakeRowsOf(lake, [`SELECT task_id, status FROM _pipe.task_results WHERE run_id = '${runId}'`]);
    expect(recorded).toEqual([{ task_id: 'events@2024-01-01', status: 'cancelled' }]);
  });

  it('--max-failures spent: the tasks no worker took yet start no more, recorded cancelled, not started', async () => {
    // One worker taking one task at a time: the failing model early (first by name), the dates
    // waiting in the queue or not queued yet (a backfill starts with one date in flight).
    const { dir, lake } = lakeProject({ ...MODELS, 'models/a_bad.sql': "{{ config(materialized='table') }}\nselect error('boom') as x\n" });
    const [w] = startWorkers(dir, 1, ['--lease', LEASE]);
    await ready([w]);
    const done = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-08', parallel: 4, maxFailures: 1, select: ['a_bad', 'events'], distributed: { leaseMs: 30_000 } });
    expect(done.code, explain(done)).toBe(1);
    const runId = String(done.events.find((e) => e.type === 'run-started')?.runId);
    const after = done.events.slice(done.events.findIndex((e) => e.type === 'notice' && String(e.message).includes('--max-failures 1')));
    const cancelled = after.filter((e) => e.type === 'task-cancelled').map((e) => (e.task as { id: string }).id);
    // Taken out of the queue, or never put in it. (The worker, free again, may take what is queued
    // before the coordinator takes it out: which of the two happens is a race, that tasks stop is not.)
    const finished = done.events.find((e) => e.type === 'run-finished') as { cancelled: number; pending: number } | undefined;
    expect(cancelled.length + (finished?.pending ?? 0), explain(done)).toBeGreaterThan(0);
    // Nothing starts once the budget is spent but what a worker had taken already.
    const startedAfter = after.filter((e) => e.type === 'task-started').map((e) => (e.task as { id: string }).id);
    expect(startedAfter.filter((id) => cancelled.includes(id))).toEqual([]);
    const [recorded] = await lakeRowsOf(lake, [`SELECT task_id, status, detail FROM _pipe.task_results WHERE run_id = '${runId}' AND status = 'cancelled' ORDER BY task_id`]);
    expect(recorded.map((r) => r.task_id)).toEqual([...cancelled].sort());
    for (const r of recorded) expect(r.detail).toBe('not started: --max-failures 1 reached');
    w.child.kill('SIGTERM');
    await w.exited;
  });

  it('refuses --distributed on a DuckDB file, saying why', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, { 'pipe.yaml': 'name: file\n', ...MODELS });
    const r = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-02', distributed: { leaseMs: 1_000 } });
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toMatch(/needs a DuckLake warehouse with a Postgres catalog.*this project's warehouse is a DuckDB file/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(join(dir, 'warehouse.duckdb'))).toBe(false);
  });
});
