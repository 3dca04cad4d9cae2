import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openPool } from '../../src/distributed/postgres.js';
import { PgPublishGate } from '../../src/distributed/publish-gate.js';
import { createDatabase, testPostgres } from '../support/postgres.js';

/**
 * Publishes of one table across workers of a lake, ordered by an advisory lock of the
 * catalog's Postgres: two workers (two pools) publishing one table take turns, other tables
 * do not wait, and a worker whose connection ends (kill -9) lets go of the table.
 */

const pg0 = await testPostgres();
const pools: pg.Pool[] = [];
/** Locks of this test's own database: other test files share the cluster, and their sessions are not this test's to count or end. */
const OWN_DATABASE = 'database = (SELECT oid FROM pg_database WHERE datname = current_database())';
afterAll(async () => {
  for (const p of pools) await p.end();
});

/** A worker's pool, as pipe worker opens it (a connection the server ends is told to it, not thrown). */
async function pool(db: string): Promise<pg.Pool> {
  const p = await openPool({ host: '127.0.0.1', port: pg0!.port, user: 'postgres', database: db }, 4);
  pools.push(p);
  return p;
}

/** A publish that records its start and end, and ends when `release` is called. */
function held(log: string[], name: string): { fn: () => Promise<string>; started: Promise<void>; release: () => void } {
  let release!: () => void;
  let started!: () => void;
  const ended = new Promise<void>((res) => (release = res));
  const began = new Promise<void>((res) => (started = res));
  return {
    fn: async () => {
      log.push(`${name} in`);
      started();
      await ended;
      log.push(`${name} out`);
      return name;
    },
    started: began,
    release,
  };
}

describe.skipIf(!pg0)('the publish gate of a lake', () => {
  it('lets one worker at a time publish a table, and others publish other tables meanwhile', async () => {
    const db = createDatabase(pg0!, `gate_${process.pid}`);
    const [a, b] = [new PgPublishGate(await pool(db)), new PgPublishGate(await pool(db))];
    const log: string[] = [];
    const first = held(log, 'a');
    const second = held(log, 'b');
    const p1 = a.run('"main"."events"', first.fn);
    await first.started;
    const p2 = b.run('"main"."events"', second.fn);
    // Another table is not held up by the first.
    expect(await b.run('"main"."daily"', async () => 'other')).toBe('other');
    // The second publish of events has not begun while the first holds the table: it waits for
    // the table's lock (its request may reach Postgres after the other table's publish ended).
    const waiting = async () => (await pools[0].query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND ${OWN_DATABASE}`)).rows[0].n;
    await expect.poll(waiting).toBe(1);
    expect(log).toEqual(['a in']);
    first.release();
    await second.started;
    second.release();
    expect(await Promise.all([p1, p2])).toEqual(['a', 'b']);
    expect(log).toEqual(['a in', 'a out', 'b in', 'b out']);
  });

  it('gives the table to the next worker when the holder is gone, and gives back its connection after a failed publish', async () => {
    const db = createDatabase(pg0!, `gate_gone_${process.pid}`);
        const [holder, next] = [new PgPublishGate(await pool(db)), new PgPublishGate(await pool(db))];
    const log: string[] = [];
    const stuck = held(log, 'holder');
    void holder.run('"main"."events"', stuck.fn).catch(() => undefined);
    await stuck.started;
    const waiting = next.run('"main"."events"', async () => 'next');
    // The holder's process dies: Postgres ends its sessions, and with them its locks.
    await pools[pools.length - 1].query(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid() AND ${OWN_DATABASE}`);
    expect(await waiting).toBe('next');
    stuck.release();

    // A publish that fails lets go of the table and of its connection.
    const failing = new PgPublishGate(await pool(db));
    await expect(failing.run('"main"."daily"', async () => Promise.reject(new Error('check failed')))).rejects.toThrow('check failed');
    expect(await next.run('"main"."daily"', async () => 'after')).toBe('after');
  });
});
