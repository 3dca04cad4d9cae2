import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { beat } from '../../src/distributed/heartbeats.js';
import { enqueue, giveBack, openQueue, orphanedLocks, type JobPayload } from '../../src/distributed/queue.js';
import { ensureTables } from '../../src/distributed/tables.js';
import { createDatabase, testPostgres } from '../support/postgres.js';

/**
 * A worker killed between taking a job and the heartbeat that names its lock: the coordinator
 * finds the job by its lock, which no worker still running names (by the lock or by the job's
 * key), and gives it back.
 */

const pg0 = await testPostgres();
const pools: pg.Pool[] = [];
afterAll(async () => {
  for (const p of pools) await p.end();
});

describe.skipIf(!pg0)('a job whose worker died before naming its lock', () => {
  it('is given back once held longer than the lease, and only then; a job a live worker names by its lock or key is left alone', async () => {
    const db = createDatabase(pg0!, `orphans_${process.pid}`);
    const pool = new pg.Pool({ host: '127.0.0.1', port: pg0!.port, user: 'postgres', database: db, max: 2 });
    pools.push(pool);
    await ensureTables(pool);
    const utils = await openQueue(pool);
    try {
      const payload = (taskId: string) => ({ runId: 'run1', taskId }) as unknown as JobPayload;
      for (const t of ['a', 'b', 'c']) await enqueue(utils, payload(t));
      // Taken by three workers: 'ghost' died before any heartbeat, 'alive' names its lock, 'keyed' names the task only.
      await pool.query(
        `UPDATE graphile_worker._private_jobs SET locked_by = CASE key WHEN 'run1:a' THEN 'ghost' WHEN 'run1:b' THEN 'alive' ELSE 'keyed' END, locked_at = now() - interval '10 seconds'`,
      );
      await beat(pool, { workerId: 'w-alive', host: 'h', pid: 1, startedAt: Date.now(), leaseMs: 60_000, fingerprint: 'f' }, { currentTasks: ['run1:b'], locks: ['alive'] });
      await beat(pool, { workerId: 'w-keyed', host: 'h', pid: 2, startedAt: Date.now(), leaseMs: 60_000, fingerprint: 'f' }, { currentTasks: ['run1:c'], locks: [] });

      expect(await orphanedLocks(pool, 'run1', 60_000)).toEqual([]);
      expect(await orphanedLocks(pool, 'other-run', 1_000)).toEqual([]);
      expect(await orphanedLocks(pool, 'run1', 1_000)).toEqual(['ghost']);

      expect(await giveBack(utils, pool, ['ghost'], [])).toHaveLength(1);
      const { rows } = await pool.query<{ key: string; locked_by: string | null }>('SELECT key, locked_by FROM graphile_worker.jobs ORDER BY key');
      expect(rows).toEqual([
        { key: 'run1:a', locked_by: null },
        { key: 'run1:b', locked_by: 'alive' },
        { key: 'run1:c', locked_by: 'keyed' },
      ]);
    } finally {
      await utils.release();
    }
  });
});
