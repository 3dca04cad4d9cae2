import { afterAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { openPool, type PgConfig } from '../../src/distributed/postgres.js';
import { openQueue } from '../../src/distributed/queue.js';
import { QueuedPlace } from '../../src/distributed/queued-place.js';
import { ensureTables, MESSAGES_CHANNEL, postMessage } from '../../src/distributed/tables.js';
import type { Task } from '../../src/plan/task.js';
import type { PipeEvent } from '../../src/events/events.js';
import { createDatabase, freePort, testPostgres } from '../support/postgres.js';
import { Relay } from '../support/relay.js';

/**
 * A coordinator whose Postgres goes away a moment (a restart) as it queues a task: the task is
 * queued once Postgres is back. The error of the lost connection used to end the run, as an
 * internal error with a stack trace.
 */

const pg0 = await testPostgres();
const closing: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of closing.reverse()) await c().catch(() => undefined);
});

/** A coordinator's place for run `runId` whose Postgres is reached through a relay the test can cut. */
async function coordinator(name: string, runId: string, leaseMs: number) {
  const db = createDatabase(pg0!, `${name}_${process.pid}`);
  const port = await freePort();
  const relay = await Relay.open(port, pg0!.port);
  closing.push(() => relay.close());
  const config = { host: '127.0.0.1', port, user: 'postgres', database: db };
  const pool: pg.Pool = await openPool(config, 4);
  closing.push(() => pool.end());
  await ensureTables(pool);
  const utils = await openQueue(pool);
  closing.push(async () => utils.release());
  const events: PipeEvent[] = [];
  const place = await QueuedPlace.open({
    pool,
    utils,
    config,
    runId,
    fingerprint: 'f',
    emit: (e) => void events.push(e),
    leaseMs,
    recordRefusal: async () => undefined,
    recordCancelled: async () => undefined,
    endDeadRuns: async () => undefined,
  });
  closing.push(() => place.close());
  return { db, relay, config, place, events };
}

const TASK = { id: 'events@2024-01-01', node: 'events', kind: 'incremental', upstream: [] } as unknown as Task;

/** The place's task queued, and a pool of the test's own that reaches Postgres past the relay. */
async function queued(config: PgConfig, place: QueuedPlace) {
  const running = place.run(TASK, 1);
  const direct = await openPool({ ...config, port: pg0!.port }, 2);
  closing.push(() => direct.end());
  await expect.poll(async () => (await direct.query('SELECT count(*)::int AS n FROM graphile_worker.jobs')).rows[0].n).toBe(1);
  return { running, direct };
}

describe.skipIf(!pg0)('a coordinator when Postgres goes away a moment', () => {
  it('queues the task once Postgres is back', async () => {
    const { relay, config, place } = await coordinator('coordinator_outage', 'r1', 30_000);
    relay.down();
    const refused = relay.refusedMore(1);
    // Settles only with the task's outcome, which no worker here tells: it must not fail meanwhile.
    const running = place.run({ id: 'events@2024-01-01', node: 'events', kind: 'incremental', upstream: [] } as unknown as Task, 1);
    running.catch(() => undefined);
    // The queueing has met the outage: Postgres comes back.
    await refused;
    relay.up();
    const direct = await openPool({ ...config, port: pg0!.port }, 2);
    closing.push(() => direct.end());
    let jobs: string[] = [];
    const listening = await direct.connect();
    try {
      // Woken by each job added (graphile-worker notifies jobs:insert), checked once before.
      const added = new Promise<void>((res) => listening.on('notification', () => res()));
      await listening.query('LISTEN "jobs:insert"');
      jobs = (await direct.query<{ key: string }>('SELECT key FROM graphile_worker.jobs')).rows.map((r) => r.key);
      if (jobs.length === 0) {
        await Promise.race([added, running]);
        jobs = (await direct.query<{ key: string }>('SELECT key FROM graphile_worker.jobs')).rows.map((r) => r.key);
      }
    } finally {
      listening.release();
    }
    expect(jobs).toEqual(['r1:events@2024-01-01']);
  });

  it('hears what a worker tells after Postgres comes back, without waiting for its next look', async () => {
    // Its looks (every lease/3) come long after the test's end: only a notification settles the task.
    const { relay, config, place, db } = await coordinator('coordinator_relisten', 'r2', 3_600_000);
    const { running, direct } = await queued(config, place);
    // Queued: then Postgres goes away a moment, and the listening connection with it.
    relay.down();
    relay.up();
    // Listening again: its connection, through the relay, waits on LISTEN.
    await expect
      .poll(async () => (await direct.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND query = $2 AND state = 'idle'`, [db, `LISTEN ${MESSAGES_CHANNEL}`])).rows[0].n)
      .toBe(1);
    await postMessage(direct, 'r2', 'events@2024-01-01', 'w1', { jobId: '1', attempt: 1 }, { kind: 'outcome', body: { outcome: 'succeeded' } }, 'm1');
    expect(await running).toBe('succeeded');
  });

  it('hears once what a worker sent twice (Postgres took the first send, and its answer was lost)', async () => {
    const { config, place, events } = await coordinator('coordinator_sent_twice', 'r3', 3_600_000);
    const { running, direct } = await queued(config, place);
    const from = { jobId: '1', attempt: 1 };
    const succeeded = { type: 'task-succeeded', runId: 'r3', task: { id: TASK.id }, rows: 3, attempts: 1, ms: 5 };
    for (const sentId of ['m1', 'm1']) await postMessage(direct, 'r3', TASK.id, 'w1', from, { kind: 'event', body: succeeded }, sentId);
    await postMessage(direct, 'r3', TASK.id, 'w1', from, { kind: 'outcome', body: { outcome: 'succeeded' } }, 'm2');
    expect(await running).toBe('succeeded');
    expect(events.filter((e) => e.type === 'task-succeeded')).toHaveLength(1);
  });
});
