import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { copyExample, eventsOfType, killRunning, ModelGate, queryRows, removeTempDirs, RunningPipe, snapshotTables, writeProjectFiles } from './helpers.js';
import { backfillIn, historyIn, retryIn } from '../support/in-process.js';

afterEach(killRunning);
afterAll(removeTempDirs);

/**
 * A backfill's process stopped (Ctrl-C) or killed (kill -9) with dates in flight. What a
 * backfill builds, retries and reports is tested in-process in test/commands/backfill.test.ts.
 */

describe('interrupting a parallel backfill', () => {
  // Its first three dates build at once; given a gate (--var gate=FIFO), every later date is
  // held reading it (see ModelGate), so the process is stopped with dates in flight.
  const slowDaily = `{{ config(materialized='incremental', partition_by='d') }}
select '{{ ds }}'::DATE as d, i as k from range(1000) t(i)
{% if var('gate', '') and ds > '2024-01-03' %}where (select count(*) from read_csv('{{ var("gate") }}', columns={'line': 'VARCHAR'}, header=false, auto_detect=false)) >= 0{% endif %}`;

  const range = { start: '2024-01-01', end: '2024-01-12', parallel: 4, select: ['slow_daily', '+fct_orders'] };
  const args = ['backfill', '--start', range.start, '--end', range.end, '--parallel', '4', '--json', '--select', ...range.select];
  const tables = ['slow_daily', 'fct_orders'];
  // The clean run both interruptions are compared with, made once.
  let reference: Promise<Record<string, Record<string, unknown>[]>> | undefined;
  const cleanTables = () => {
    reference ??= (async () => {
      const clean = copyExample();
      writeProjectFiles(clean, { 'models/marts/slow_daily.sql': slowDaily });
      const ok = await backfillIn(clean, range);
      expect(ok.code, ok.stderr).toBe(0);
      return snapshotTables(join(clean, 'warehouse.duckdb'), tables);
    })();
    return reference;
  };

  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    it(`${signal}: no partial partition anywhere, pipe retry completes it like a clean run`, async () => {
      const dir = copyExample();
      writeProjectFiles(dir, { 'models/marts/slow_daily.sql': slowDaily });
      const gate = new ModelGate(dir);

      const succeededSoFar = new Set<string>();
      const running = new RunningPipe([...args, '--var', `gate=${gate.path}`, '--project', dir]);
      await running.waitFor((e) => {
        if (e.type === 'task-succeeded' && (e.task as { model: string }).model === 'slow_daily') succeededSoFar.add((e.task as { id: string }).id);
        return succeededSoFar.size >= 3;
      });
      running.child.kill(signal);
      if (signal === 'SIGINT') {
        // Once pipe says it is stopping, the held dates get rows without end: only the interrupt ends them.
        await running.waitFor((e) => e.type === 'notice' && String(e.message).startsWith('stopping'));
        gate.flood();
      }
      const killed = await running.exited;
      if (signal === 'SIGINT') {
        expect(killed.code).toBe(130);
        expect(eventsOfType(killed.events, 'task-cancelled').length + eventsOfType(killed.events, 'run-finished').length).toBeGreaterThan(0);
      }

      const db = join(dir, 'warehouse.duckdb');
      // Exactly the dates that were not held, each whole.
      const partitions = await queryRows(db, 'SELECT d::VARCHAR AS d, count(*) AS n FROM slow_daily GROUP BY d ORDER BY d');
      expect(partitions).toEqual(['2024-01-01', '2024-01-02', '2024-01-03'].map((d) => ({ d, n: '1000' })));

      // The retry runs with the backfill's vars, gate included: an empty file in its place lets every date through.
      gate.open();
      const retried = await retryIn(dir);
      expect(retried.code, retried.stderr + retried.stdout).toBe(0);
      const staging = await queryRows(db, "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name LIKE '__pipe_stage__%'");
      expect(staging).toEqual([{ n: '0' }]);

      expect(await snapshotTables(db, tables)).toEqual(await cleanTables());
      const history = (await historyIn(dir, { json: true })).events.filter((e) => e.type === 'run');
      expect(history.find((r) => r.command === 'backfill')!.status).toBe(signal === 'SIGINT' ? 'cancelled' : 'interrupted');
      if (signal === 'SIGKILL') {
        // The tasks under way at the kill, as far as its log had told: recorded so, with their start (not left as never started).
        const runId = String(eventsOfType(killed.events, 'run-started')[0].runId);
        const inFlight = await queryRows(db, `SELECT task_id, status, started_at IS NOT NULL AS started, detail FROM _pipe.task_results WHERE run_id = '${runId}' AND detail = 'its process died while it ran'`);
        expect(inFlight.length).toBeGreaterThan(0);
        for (const t of inFlight) expect(t).toMatchObject({ status: 'cancelled', started: true });
      }
    });
  }
});
