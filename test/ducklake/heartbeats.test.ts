import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { Heartbeat, takeStaleWorkers, type WorkerRow } from '../../src/distributed/heartbeats.js';
import { ensureTables } from '../../src/distributed/tables.js';
import { ModelGate, removeTempDirs, tempDir } from '../e2e/helpers.js';
import { createDatabase, testPostgres } from '../support/postgres.js';

/**
 * A worker's heartbeat while DuckDB keeps it busy, and how a coordinator tells a slow worker
 * from a dead one. DuckDB's statements run on libuv's thread pool; with every thread of it
 * held by a statement, nothing else that needs one (the host name lookup of a new connection)
 * gets one until a statement ends. The heartbeat's own open connection needs none.
 */

const pg0 = await testPostgres();
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  removeTempDirs();
});

const LEASE = 60_000;
const row = (workerId: string): WorkerRow => ({ workerId, host: 'h', pid: 1, startedAt: Date.now(), leaseMs: LEASE, fingerprint: 'f' });

async function database(name: string): Promise<{ config: pg.PoolConfig; admin: pg.Pool }> {
  const db = createDatabase(pg0!, `${name}_${process.pid}`);
  // A host name, as a catalog on another machine has: a new connection looks it up first.
  const config = { host: 'localhost', port: pg0!.port, user: 'postgres', database: db };
  const admin = new pg.Pool({ ...config, host: '127.0.0.1', max: 2 });
  closers.push(() => admin.end());
  await ensureTables(admin);
  return { config, admin };
}

const lastSeen = async (admin: pg.Pool, id: string) =>
  Number((await admin.query<{ t: number }>('SELECT extract(epoch FROM last_seen)::float8 AS t FROM pipe_workers.workers WHERE worker_id = $1', [id])).rows[0]?.t);

describe.skipIf(!pg0)('a worker heartbeat', () => {
  it('is written while DuckDB statements hold every thread of the pool, which a new connection waits for', async () => {
    const { config, admin } = await database('beat_busy');
    const heart = await Heartbeat.ofWorker(config, row('busy'), () => ({ currentTasks: ['run:t'], locks: [] }));
    closers.push(() => heart.stop());
    const before = await lastSeen(admin, 'busy');

    // As many statements as libuv has threads, each held reading a FIFO until the gate opens.
    const gate = new ModelGate(tempDir());
    const instance = await DuckDBInstance.create(':memory:');
    const connections: DuckDBConnection[] = [];
    const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const statements: Promise<unknown>[] = [];
    for (let i = 0; i < threads; i++) {
      const c = await instance.connect();
      connections.push(c);
      statements.push(c.run(`SELECT ${gate.sql}`));
    }
    // A pool's new connection, as the heartbeat used to get one, waits for a thread.
    const pool = new pg.Pool({ ...config, max: 1 });
    let pooled = false;
    const waiting = pool.query('SELECT 1').then(() => (pooled = true));

    await heart.beat();
    const after = await lastSeen(admin, 'busy');
    expect(after).toBeGreaterThan(before);
    expect(pooled).toBe(false);

    gate.open();
    await Promise.all(statements);
    await waiting;
    expect(pooled).toBe(true);
    await pool.end();
    for (const c of connections) c.closeSync();
    instance.closeSync();
  });

  it('a worker late by more than its lease is slow while its connection lives, dead once it is gone or after three leases', async () => {
    const { config, admin } = await database('beat_judged');
    const hearts = await Promise.all(['slow', 'gone', 'reused', 'silent'].map((id) => Heartbeat.ofWorker(config, row(id), () => ({ currentTasks: [`run:${id}`], locks: [] }))));
    closers.push(() => Promise.all(hearts.map((h) => h.stop())));
    const late = (id: string, leases: number) =>
      admin.query(`UPDATE pipe_workers.workers SET last_seen = now() - ${leases} * lease_ms * interval '1 millisecond' WHERE worker_id = $1`, [id]);
    for (const id of ['slow', 'gone', 'reused']) await late(id, 2);
    await late('silent', 3.5);
    // 'gone': its backend no longer exists; 'reused': its pid belongs to another backend now.
    await admin.query(`UPDATE pipe_workers.workers SET backend_pid = 0 WHERE worker_id = 'gone'`);
    await admin.query(`UPDATE pipe_workers.workers SET backend_start = backend_start - interval '1 day' WHERE worker_id = 'reused'`);

    const taken = await takeStaleWorkers(admin);
    expect(taken.map((w) => w.workerId).sort()).toEqual(['gone', 'reused', 'silent']);
    expect(taken.find((w) => w.workerId === 'gone')?.currentTasks).toEqual(['run:gone']);
    // Taken once: a second sweep finds nobody, and the slow worker is still alive.
    expect(await takeStaleWorkers(admin)).toEqual([]);
    const { rows } = await admin.query<{ worker_id: string }>('SELECT worker_id FROM pipe_workers.workers WHERE stopped_at IS NULL');
    expect(rows.map((r) => r.worker_id)).toEqual(['slow']);
  });
});
