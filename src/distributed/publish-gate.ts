import type pg from 'pg';
import type { PublishGate } from '../execute/engine.js';

/**
 * Publishing one table, serialized across the workers of a lake by a Postgres advisory lock
 * on the catalog's database, keyed by the table: two DuckLake transactions that delete from
 * one table conflict at commit, and with several workers publishing dates of one table, a
 * transaction retried on conflict could lose every try. The lock is held by the connection
 * the publish takes from the pool, so a worker that dies (kill -9, a lost machine) lets go of
 * it when Postgres sees its connection end. The heavy staging queries run before, unlocked.
 */
export class PgPublishGate implements PublishGate {
  constructor(private readonly pool: pg.Pool) {}

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A connection whose unlock did not go through may still hold the lock: it is closed, not given back.
    let unlocked = false;
    try {
      await client.query(`SELECT pg_advisory_lock(${LOCK_ID})`, [key]);
      try {
        return await fn();
      } finally {
        unlocked = await client.query(`SELECT pg_advisory_unlock(${LOCK_ID})`, [key]).then(
          () => true,
          () => false,
        );
      }
    } finally {
      client.release(!unlocked);
    }
  }
}

/** The lock's id, of the table's name: one lock per table of the lake. */
const LOCK_ID = "hashtextextended('pipe publish ' || $1, 0)";
