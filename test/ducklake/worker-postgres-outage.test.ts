import pg from 'pg';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LakeTarget } from '../../src/warehouse/warehouse-setup.js';
import { explain, killRunning, ModelGate, removeTempDirs, RunningPipe, tempDir, writeProjectFiles } from '../e2e/helpers.js';
import { backfillIn } from '../support/in-process.js';
import { lakeInstances } from '../support/lake-instances.js';
import { lakeRowsOf } from '../support/lake-rows.js';
import { createDatabase, freePort, testPostgres } from '../support/postgres.js';
import { Relay } from '../support/relay.js';
import { CANCEL_CHANNEL } from '../../src/distributed/tables.js';

/**
 * A worker whose Postgres goes away for a moment (a restart, a network cut) while it runs a
 * task: it stays up, and the task's outcome reaches the coordinator once Postgres is back.
 * It used to lose the outcome (the coordinator waited for it for ever) and then die with a
 * stack trace, when the queue marked the job done on a connection that failed.
 *
 * The worker reaches Postgres through a relay in this process, which the test cuts (every
 * connection closed, new ones refused) and restores; the coordinator, in this process,
 * connects directly and sees no outage.
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
  return { dir, gate, db, relay, relayPort, catalog };
}

describe.skipIf(!pg0)('a pipe worker when Postgres goes away a moment', () => {
  it('stays up, tells the outcome once Postgres is back, and runs the next tasks', async () => {
    const { dir, gate, db, relay, catalog, relayPort } = await gatedProject('outage');
    try {
      // A long lease: the outage is no death.
      const worker = new RunningPipe(['worker', '--project', dir, '--db', `ducklake:${catalog(relayPort)}`, '--json', '--name', 'w1', '--lease', '60s']);
      await worker.waitFor((e) => e.type === 'notice' && String(e.message).includes('ready'));
      const held = gate.reached();
      const first = backfillIn(dir, { start: '2024-01-01', end: '2024-01-01', distributed: { leaseMs: 60_000 } });
      const release = await held;
      const direct = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${pg0!.port}/${db}` });
      await direct.connect();
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
    const { dir, gate, relay, catalog, relayPort } = await gatedProject('outage_long');
    try {
      // A short lease: the outage outlasts it, and the coordinator takes the worker for dead.
      const worker = new RunningPipe(['worker', '--project', dir, '--db', `ducklake:${catalog(relayPort)}`, '--json', '--name', 'w1', '--lease', '1s']);
      await worker.waitFor((e) => e.type === 'notice' && String(e.message).includes('ready'));
      const held = gate.reached();
      let givenBack = () => undefined as void;
      const wasGivenBack = new Promise<void>((res) => (givenBack = res));
      const first = backfillIn(dir, {
        start: '2024-01-01',
        end: '2024-01-01',
        distributed: { leaseMs: 1_000 },
        onEvent: (e) => e.type === 'notice' && String(e.message).includes('go back to the queue') && givenBack(),
      });
      const release = await held;
      relay.down();
      await wasGivenBack;
      // The worker's run of the task fails without its Postgres; the failure waits to be told.
      release();
      await worker.waitFor((e) => e.type === 'task-failed');
      gate.open();
      relay.up();
      const done = await first;
      expect(done.code, explain(done)).toBe(0);
      expect(done.events.filter((e) => e.type === 'task-failed'), explain(done)).toEqual([]);
      worker.child.kill('SIGTERM');
      await worker.exited;
    } finally {
      await relay.close();
    }
  }, 60_000);

  it('a failure told by an earlier run of a job, after a later run of it started, is not the task\'s outcome', async () => {
    const { dir, gate, db, relay, relayPort, catalog } = await gatedProject('earlier_run');
    const client = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${pg0!.port}/${db}` });
    await client.connect();
    try {
      const worker = new RunningPipe(['worker', '--project', dir, '--db', `ducklake:${catalog(relayPort)}`, '--json', '--name', 'w1', '--lease', '60s']);
      await worker.waitFor((e) => e.type === 'notice' && String(e.message).includes('ready'));
      const held = gate.reached();
      let runId = '';
      let started = () => undefined as void;
      const hasStarted = new Promise<void>((res) => (started = res));
      const first = backfillIn(dir, {
        start: '2024-01-01',
        end: '2024-01-01',
        distributed: { leaseMs: 60_000 },
        onEvent: (e) => {
          if (e.type === 'run-started') runId = e.runId;
          if (e.type === 'task-started') started();
        },
      });
      const release = await held;
      await hasStarted;
      // The queue handed the job out once; what a run of it before that (a worker taken for
      // dead, telling only now, through an outage) says comes with a lower attempt.
      const { rows } = await client.query<{ id: string; attempts: number }>('SELECT id::text AS id, attempts FROM graphile_worker.jobs WHERE key = $1', [`${runId}:events@2024-01-01`]);
      expect(rows).toHaveLength(1);
      const failed = { type: 'task-failed', runId, task: { id: 'events@2024-01-01', node: 'events', kind: 'incremental', ds: '2024-01-01' }, error: { message: 'lost the lake\'s catalog', kind: 'Warehouse', errorClass: 'transient' }, attempts: 1, ms: 5 };
      for (const [kind, body] of [['event', failed], ['outcome', { outcome: 'failed' }]] as const) {
        await client.query(
          `INSERT INTO pipe_workers.messages (run_id, task_id, worker_id, kind, body, job_id, job_attempt) VALUES ($1, $2, 'w1', $3, $4::jsonb, $5, $6)`,
          [runId, 'events@2024-01-01', kind, JSON.stringify(body), rows[0].id, rows[0].attempts - 1],
        );
      }
      await client.query(`SELECT pg_notify('pipe_workers', $1)`, [runId]);
      release();
      gate.open();
      const done = await first;
      expect(done.code, explain(done)).toBe(0);
      expect(done.events.filter((e) => e.type === 'task-failed'), explain(done)).toEqual([]);
      expect(done.stdout).toContain('events@2024-01-01 failed on w1 in a run of it this coordinator had given back to the queue');
      worker.child.kill('SIGTERM');
      await worker.exited;
    } finally {
      await client.end();
      await relay.close();
    }
  }, 60_000);
});
