import pg from 'pg';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LakeTarget } from '../../src/warehouse/warehouse-setup.js';
import { explain, killRunning, ModelGate, removeTempDirs, RunningPipe, tempDir, writeProjectFiles, type PipeResult } from '../e2e/helpers.js';
import { backfillIn, historyIn } from '../support/in-process.js';
import { lakeInstances } from '../support/lake-instances.js';
import { lakeRowsOf } from '../support/lake-rows.js';
import { createDatabase, freePort, testPostgres } from '../support/postgres.js';
import { Relay } from '../support/relay.js';
import { CANCEL_CHANNEL, type JobRun, type Message } from '../../src/distributed/tables.js';
import { beat } from '../../src/distributed/heartbeats.js';
import { taskRef } from '../../src/execute/task-ref.js';
import type { Task } from '../../src/plan/task.js';

/**
 * A worker whose Postgres goes away for a moment (a restart, a network cut) while it runs a
 * task: it stays up, and the task's outcome reaches the coordinator once Postgres is back.
 * It used to lose the outcome (the coordinator waited for it for ever) and then die with a
 * stack trace, when the queue marked the job done on a connection that failed.
 *
 * The worker reaches Postgres through a relay in this process, which the test cuts (every
 * connection closed, new ones refused) and restores; the coordinator, in this process,
 * connects directly and sees no outage.
 *
 * A cut can come while a worker's message is on its way: Postgres has it (or not) and the
 * worker, without an answer, sends it again once Postgres is back. A start told again, or told
 * only then, by a run the coordinator took back once failed the task with that run's failure
 * (the outage longer than the lease, about one run in six on a loaded machine); the tests of it
 * write such messages themselves, so that they hold every time.
 */

const pg0 = await testPostgres();
lakeInstances();
afterAll(async () => {
  await killRunning();
  removeTempDirs();
});

/** A lake of its own whose model is held at a gate on its first date, and a relay to its Postgres. */
async function gatedProject(name: string) {
  const dir = tempDir();
  const gate = new ModelGate(dir);
  const db = createDatabase(pg0!, `${name}_${process.pid}`);
  const relayPort = await freePort();
  const relay = await Relay.open(relayPort, pg0!.port);
  const catalog = (port: number) => `postgres:dbname=${db} host=127.0.0.1 port=${port} user=postgres`;
  writeProjectFiles(dir, {
    'pipe.yaml': `name: outage\nwarehouse:\n  type: ducklake\n  catalog: ${catalog(pg0!.port)}\n  data_path: lake/\n`,
    // Held at the gate on its first date, while the test cuts Postgres.
    'models/events.sql': `{{ config(materialized='incremental', partition_by='d') }}\nselect cast('{{ ds }}' as date) as d, i from range(3) t(i)\nwhere '{{ ds }}' <> '2024-01-01' or ${gate.sql} >= 0\n`,
  });
  /** `pipe worker` w1, reaching the lake's Postgres through the relay, once it is ready. */
  const worker = async (lease: string) => {
    const w = new RunningPipe(['worker', '--project', dir, '--db', `ducklake:${catalog(relayPort)}`, '--json', '--name', 'w1', '--lease', lease]);
    await w.waitFor((e) => e.type === 'notice' && String(e.message).includes('ready'));
    return w;
  };
  /** A connection of the test's own to the lake's Postgres, past the relay. */
  const direct = async () => {
    const client = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${pg0!.port}/${db}` });
    await client.connect();
    return client;
  };
  return { dir, gate, db, relay, relayPort, catalog, worker, direct };
}

/** The run ended well, and no failure of a run of its task given back reached its output. */
function expectNoFailure(done: PipeResult): void {
  expect(done.code, explain(done)).toBe(0);
  expect(done.events.filter((e) => e.type === 'task-failed'), explain(done)).toEqual([]);
}

/**
 * A backfill of the gated date with a lease of `leaseMs`, and what it has told so far: its run
 * id, its first task's start, and a task given back to the queue.
 */
function watchedBackfill(dir: string, leaseMs: number) {
  let runId = '';
  let started = () => undefined as void;
  let givenBack = () => undefined as void;
  const hasStarted = new Promise<void>((res) => (started = res));
  const wasGivenBack = new Promise<void>((res) => (givenBack = res));
  const done = backfillIn(dir, {
    start: '2024-01-01',
    end: '2024-01-01',
    distributed: { leaseMs },
    onEvent: (e) => {
      if (e.type === 'run-started') runId = e.runId;
      if (e.type === 'task-started') started();
      if (e.type === 'notice' && String(e.message).includes('go back to the queue')) givenBack();
    },
  });
  return { done, runId: () => runId, hasStarted, wasGivenBack };
}

/** Worker w1 with a lease of `leaseMs`, and a backfill of the gated date with that lease, its task held at the gate and its start heard. */
async function heldAtGate(project: Awaited<ReturnType<typeof gatedProject>>, leaseMs: number) {
  const worker = await project.worker(`${leaseMs / 1000}s`);
  const held = project.gate.reached();
  const first = watchedBackfill(project.dir, leaseMs);
  const release = await held;
  await first.hasStarted;
  return { worker, first, release, runId: first.runId() };
}

/** Writes what `workerId` tells of its run `run` of the gated date's job, as a worker writes it, and wakes the coordinator. */
async function tell(client: pg.Client, runId: string, workerId: string, run: JobRun, told: readonly (readonly [Message['kind'], unknown])[]): Promise<void> {
  for (const [kind, body] of told) {
    await client.query(
      `INSERT INTO pipe_workers.messages (run_id, task_id, worker_id, kind, body, job_id, job_attempt) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)`,
      [runId, 'events@2024-01-01', workerId, kind, JSON.stringify(body), run.jobId, run.attempt],
    );
  }
  await client.query(`SELECT pg_notify('pipe_workers', $1)`, [runId]);
}

/** The end of a run of the task that failed in the outage: its event, then its outcome. */
const failedInOutage = (runId: string, task: unknown) =>
  [
    ['event', { type: 'task-failed', runId, task, error: { message: "lost the lake's catalog", kind: 'Warehouse', errorClass: 'transient' }, attempts: 1, ms: 5 }],
    ['outcome', { outcome: 'failed' }],
  ] as const;

describe.skipIf(!pg0)('a pipe worker when Postgres goes away a moment', () => {
  it('stays up, tells the outcome once Postgres is back, and runs the next tasks', async () => {
    const project = await gatedProject('outage');
    const { dir, gate, db, relay } = project;
    try {
      // A long lease: the outage is no death.
      const worker = await project.worker('60s');
      const held = gate.reached();
      const first = backfillIn(dir, { start: '2024-01-01', end: '2024-01-01', distributed: { leaseMs: 60_000 } });
      const release = await held;
      const direct = await project.direct();
      /** The server processes of the worker's connection that waits for cancels. */
      const listening = async () =>
        (await direct.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query = $2 AND state = 'idle'`, [db, `LISTEN ${CANCEL_CHANNEL}`])).rows.map((r) => r.pid);
      const before = await listening();
      expect(before).toHaveLength(1);
      relay.down();
      release();
      // The task ends on the worker without its Postgres; its outcome waits for it.
      await worker.waitFor((e) => e.type === 'task-failed' || e.type === 'task-succeeded');
      await relay.refusedMore(3);
      relay.up();
      // It listens for cancels again, on a new connection: a cancel is heard, not only found at its next look.
      await expect.poll(async () => (await listening()).filter((pid) => !before.includes(pid))).toHaveLength(1);
      await direct.end();
      const gone = worker.exited.then((r) => `the worker exited during the outage\n${explain(r)}`);
      const done = await Promise.race([first, gone]);
      if (typeof done === 'string') throw new Error(done);
      expect([0, 1], explain(done)).toContain(done.code);
      // History tells what the run told: a failure the worker could not record in the outage, the coordinator did.
      const runId = String(done.events.find((e) => e.type === 'run-started')?.runId);
      const told = done.events.find((e) => e.type === 'task-failed' || e.type === 'task-succeeded')?.type === 'task-failed' ? 'failed' : 'succeeded';
      const recorded = (await historyIn(dir, { runId, json: true })).events.find((e) => e.type === 'task' && e.task_id === 'events@2024-01-01');
      expect(recorded, explain(done)).toMatchObject({ status: told });
      // The same worker runs the next backfill, on the lake it reaches again.
      gate.open();
      const next = await Promise.race([backfillIn(dir, { start: '2024-01-01', end: '2024-01-02', force: true, distributed: { leaseMs: 60_000 } }), gone]);
      if (typeof next === 'string') throw new Error(next);
      expect(next.code, explain(next)).toBe(0);
      worker.child.kill('SIGTERM');
      const ended = await worker.exited;
      expect(ended.stderr).not.toMatch(/^\s+at /m);
      const lake: LakeTarget = { catalog: { kind: 'postgres', connection: pg0!.connection(db) }, dataPath: join(dir, 'lake/'), shown: db, source: { owner: 'test' } };
      expect(await lakeRowsOf(lake, ["SELECT strftime(d, '%Y-%m-%d') AS d, count(*)::INTEGER AS n FROM main.events GROUP BY d ORDER BY d"])).toEqual([[
        { d: '2024-01-01', n: 3 },
        { d: '2024-01-02', n: 3 },
      ]]);
    } finally {
      await relay.close();
    }
  }, 60_000);

  it('an outage longer than the lease: the task given back runs again, and the run reports its outcome, not the failure during the outage', async () => {
    const project = await gatedProject('outage_long');
    const { dir, gate, relay } = project;
    try {
      // A short lease: the outage outlasts it, and the coordinator takes the worker for dead.
      const worker = await project.worker('1s');
      const held = gate.reached();
      const first = watchedBackfill(dir, 1_000);
      const release = await held;
      // Cut as the task runs: its start may be on its way (see the test of a start told twice).
      relay.down();
      await first.wasGivenBack;
      // The worker's run of the task fails without its Postgres; the failure waits to be told.
      release();
      await worker.waitFor((e) => e.type === 'task-failed');
      gate.open();
      relay.up();
      const done = await first.done;
      expectNoFailure(done);
      worker.child.kill('SIGTERM');
      await worker.exited;
    } finally {
      await relay.close();
    }
  }, 60_000);

  it('a start told twice by a run the coordinator took back (its answer lost in the outage, sent again) leaves that run\'s failure set aside', async () => {
    const project = await gatedProject('told_twice');
    const { gate, relay } = project;
    const client = await project.direct();
    try {
      const { worker, first, release, runId } = await heldAtGate(project, 1_000);
      relay.down();
      await first.wasGivenBack;
      // The worker's run of the job, taken back: its start again (an insert Postgres committed
      // while its answer was lost in the cut, so sent once more), then its failure in the outage.
      const { rows } = await client.query<{ body: { task: unknown }; job_id: string; job_attempt: number }>(
        `SELECT body, job_id, job_attempt FROM pipe_workers.messages WHERE run_id = $1 AND kind = 'event' AND body->>'type' = 'task-started'`,
        [runId],
      );
      expect(rows).toHaveLength(1);
      await tell(client, runId, 'w1', { jobId: rows[0].job_id, attempt: rows[0].job_attempt }, [['event', rows[0].body], ...failedInOutage(runId, rows[0].body.task)]);
      gate.open();
      relay.up();
      release();
      const done = await first.done;
      expectNoFailure(done);
      worker.child.kill('SIGTERM');
      await worker.exited;
    } finally {
      await client.end();
      await relay.close();
    }
  }, 60_000);

  it('a start told only after its run was taken back (the outage came first) is no start, and that run\'s failure is set aside', async () => {
    const project = await gatedProject('told_late');
    const { dir, gate, relay } = project;
    await relay.close();
    gate.open();
    const client = await project.direct();
    try {
      const first = watchedBackfill(dir, 1_000);
      // A worker w0 takes the job and is cut off before its start reaches Postgres: its
      // heartbeat's connection is gone, and the coordinator gives the job back after the lease.
      const key = () => `${first.runId()}:events@2024-01-01`;
      await expect.poll(async () => first.runId() !== '' && (await client.query('SELECT 1 FROM graphile_worker.jobs WHERE key = $1', [key()])).rowCount).toBe(1);
      const runId = first.runId();
      const { rows } = await client.query<{ id: string; attempts: number; payload: { task: Task } }>(
        `UPDATE graphile_worker._private_jobs SET locked_by = 'w0-lock', locked_at = now(), attempts = attempts + 1 WHERE key = $1 RETURNING id::text AS id, attempts, payload`,
        [key()],
      );
      const w0 = await project.direct();
      // w0 is no process: its lease, the shortest pipe takes, is only what the coordinator waits out.
      await beat(w0, { workerId: 'w0', host: 'elsewhere', pid: 1, startedAt: Date.now(), leaseMs: 500, fingerprint: 'f' }, { currentTasks: [key()], locks: ['w0-lock'] });
      await w0.end();
      await first.wasGivenBack;
      // Back, w0 tells its run: its start, then its failure in the outage.
      const task = taskRef(rows[0].payload.task);
      await tell(client, runId, 'w0', { jobId: rows[0].id, attempt: rows[0].attempts }, [['event', { type: 'task-started', runId, task }], ...failedInOutage(runId, task)]);
      // The job given back runs on another worker, and decides the task's outcome.
      const worker = new RunningPipe(['worker', '--project', dir, '--json', '--name', 'w1', '--lease', '60s']);
      const done = await first.done;
      expectNoFailure(done);
      expect(done.events.filter((e) => e.type === 'task-started').map((e) => e.type === 'task-started' && e.runner), explain(done)).toEqual(['w1']);
      worker.child.kill('SIGTERM');
      await worker.exited;
    } finally {
      await client.end();
    }
  }, 60_000);

  it('a failure told by an earlier run of a job, after a later run of it started, is not the task\'s outcome', async () => {
    const project = await gatedProject('earlier_run');
    const { gate, relay } = project;
    const client = await project.direct();
    try {
      const { worker, first, release, runId } = await heldAtGate(project, 60_000);
      // The queue handed the job out once; what a run of it before that (a worker taken for
      // dead, telling only now, through an outage) says comes with a lower attempt.
      const { rows } = await client.query<{ id: string; attempts: number }>('SELECT id::text AS id, attempts FROM graphile_worker.jobs WHERE key = $1', [`${runId}:events@2024-01-01`]);
      expect(rows).toHaveLength(1);
      await tell(client, runId, 'w1', { jobId: rows[0].id, attempt: rows[0].attempts - 1 }, failedInOutage(runId, { id: 'events@2024-01-01', node: 'events', kind: 'incremental', ds: '2024-01-01' }));
      release();
      gate.open();
      const done = await first.done;
      expectNoFailure(done);
      expect(done.stdout).toContain('events@2024-01-01 failed on w1 in a run of it this coordinator had given back to the queue');
      worker.child.kill('SIGTERM');
      await worker.exited;
    } finally {
      await client.end();
      await relay.close();
    }
  }, 60_000);
});
