import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureTables, postMessage, readMessages, type StoredMessage } from '../../src/distributed/tables.js';
import { createDatabase, testPostgres } from '../support/postgres.js';

/**
 * What workers tell a coordinator, read as it reads them: the rows after the last it read. Two
 * workers telling at once must not leave a message behind that read.
 */

const pg0 = await testPostgres();
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

describe.skipIf(!pg0)("a run's messages", () => {
  it('are all read by reading past the last one read, when a message given its id first commits last', async () => {
    const db = createDatabase(pg0!, `messages_order_${process.pid}`);
    const pool = new pg.Pool({ host: '127.0.0.1', port: pg0!.port, user: 'postgres', database: db, max: 4 });
    closers.push(() => pool.end());
    await ensureTables(pool);
    // One insert slow to commit once it has its id, as one whose worker's connection stalls.
    await pool.query(`CREATE FUNCTION slow_message() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.sent_id = 'slow' THEN PERFORM pg_sleep(0.5); END IF; RETURN NEW; END $$`);
    await pool.query('CREATE TRIGGER slow_message BEFORE INSERT ON pipe_workers.messages FOR EACH ROW EXECUTE FUNCTION slow_message()');

    const from = { jobId: 'j', attempt: 1 };
    const tell = (taskId: string, workerId: string, sentId: string) =>
      postMessage(pool, 'run', taskId, workerId, from, { kind: 'event', body: { type: 'task-started', taskId } }, sentId);
    const slow = tell('a@2024-01-01', 'w1', 'slow');
    // The slow one has its id and sleeps before committing; the other tells meanwhile.
    await new Promise((r) => setTimeout(r, 150));
    await tell('a@2024-01-02', 'w2', 'fast');
    const heard: StoredMessage[] = [];
    // The coordinator reads as soon as it is woken, past the last it read; then again once the slow one is told.
    heard.push(...(await readMessages(pool, 'run', 0)));
    await slow;
    heard.push(...(await readMessages(pool, 'run', Math.max(0, ...heard.map((m) => m.id)))));
    expect(heard.map((m) => m.taskId).sort()).toEqual(['a@2024-01-01', 'a@2024-01-02']);
    // A message sent again (its answer lost) is stored once.
    await tell('a@2024-01-02', 'w2', 'fast');
    expect(await readMessages(pool, 'run', Math.max(...heard.map((m) => m.id)))).toEqual([]);
  });
});
