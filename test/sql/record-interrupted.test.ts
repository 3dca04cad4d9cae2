import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/execute/engine.js';
import { ensureState } from '../../src/warehouse/run-state.js';
import type { WarehouseSession } from '../../src/warehouse/warehouse.js';
import { removeTempDirs, tempDir } from '../e2e/helpers.js';

afterAll(removeTempDirs);

/**
 * A task's outcome is recorded on the session that ran it; an interrupt sent to that session for
 * one of the task's queries (a commit batch's deadline, as the machine slows) may stop the
 * recording statement instead. The outcome is recorded all the same, not lost with the engine's
 * "INTERRUPT Error: Interrupted!" told to the user and the run marked interrupted.
 */
describe("a task outcome's record that an interrupt meant for a query stops", () => {
  it('is sent once more, and the outcome is recorded', async () => {
    const engine = await Engine.open(join(tempDir(), 'warehouse.duckdb'));
    try {
      await engine.engine.withSession(async (session) => {
        await ensureState(session);
        // The engine's own error, of a query interrupted as it runs.
        const long = session.query('SELECT count(*) FROM range(30000000000) t(x) WHERE x % 7 = 1');
        // Sent until it lands: one that reaches the connection before the query starts is lost.
        const interrupting = setInterval(() => session.interrupt(), 20);
        const error = await long.then(() => undefined, (e: unknown) => e).finally(() => clearInterval(interrupting));
        expect(String(error)).toContain('INTERRUPT');
        // The next statement is the one the interrupt reaches.
        let stopped = 0;
        const reached: WarehouseSession = Object.assign(Object.create(session) as WarehouseSession, {
          exec: (sql: string) => (stopped++ === 0 ? Promise.reject(error) : session.exec(sql)),
        });
        await engine.engine.recordTasks(reached, [{ runId: 'r1', taskId: 'a@2024-01-02', attempt: 1, status: 'succeeded', endedAt: Date.parse('2024-01-03') }]);
        expect(stopped).toBe(2);
        expect(engine.engine.lostRecordOf('r1')).toBeUndefined();
        expect(await session.query("SELECT task_id, status FROM _pipe.task_outcomes WHERE run_id = 'r1'")).toEqual([{ task_id: 'a@2024-01-02', status: 'succeeded' }]);
      });
    } finally {
      engine.close();
    }
  });
});
