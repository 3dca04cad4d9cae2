import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLogPath } from '../../src/run-log/run-log-files.js';
import { explain, RunningPipe } from '../e2e/helpers.js';
import { runIn } from '../support/in-process.js';
import { newRunId } from '../../src/util/run-id.js';
import { ENV, lakeProcessesFile, lakeProjectOn } from '../support/lake-project.js';
import { lakeRowsOf } from '../support/lake-rows.js';
import { testPostgres } from '../support/postgres.js';

/**
 * A task superseded at its worker's publish (the worker published its table for a newer date
 * since the coordinator planned it): the coordinator counts and prints it superseded, as one
 * process does, and what reads it later in the run is judged with the table as it stands (the
 * newer build), not with the build the superseded task never published.
 */

const pg0 = await testPostgres();
lakeProcessesFile();

const OLDER = '2024-01-03';
const NEWER = '2024-01-04';

describe.skipIf(!pg0)('a task superseded on its worker', () => {
  it('is counted superseded by the coordinator, and what reads it is built from the newer table', { timeout: 180_000 }, async () => {
    const { dir, lake } = lakeProjectOn(pg0!, 'superseded', {
      // A table replaced whole by each run: a run for an older date does not put it over a newer one.
      'models/snap.sql': "select '{{ ds }}' as ds\n",
      // By date: each run writes its own partition, reading the table as it stands.
      'models/per_day.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect cast('{{ ds }}' as date) as d, ds as snap_ds from {{ ref('snap') }}\n",
    });
    // One worker: the one that published the newer date is the one the older run's task reaches.
    const worker = new RunningPipe(['worker', '--project', dir, '--json', '--name', 'w1'], { env: ENV });
    await worker.waitFor((e) => e.type === 'notice' && String(e.message).includes('ready'));

    // The older run is asked for first (its id is made), the newer one publishes meanwhile: they overlap.
    const olderId = newRunId();
    const newer = await runIn(dir, { date: NEWER, distributed: { leaseMs: 30_000 } });
    expect(newer.code, explain(newer)).toBe(0);
    // Planned by a coordinator that knows nothing of the newer publication: the worker finds it at its publish.
    const older = await runIn(dir, { date: OLDER, runId: olderId, distributed: { leaseMs: 30_000 } });
    expect(older.code, explain(older)).toBe(0);

    const skipped = older.events.flatMap((e) => (e.type === 'task-skipped' ? [[(e.task as { model: string }).model, e.reason]] : []));
    expect(skipped, explain(older)).toEqual([['snap', 'superseded']]);
    expect(older.events.find((e) => e.type === 'run-finished'), explain(older)).toMatchObject({ superseded: 1 });
    expect(older.stdout).toMatch(/Done: 1 succeeded, 1 superseded, 0 failed/);

    const olderRun = String(older.events.find((e) => e.type === 'run-started')?.runId);
    const newerRun = String(newer.events.find((e) => e.type === 'run-started')?.runId);
    const [snapBuilds, readBy, perDay] = await lakeRowsOf(lake, [
      "SELECT run_id, version FROM _pipe.builds WHERE node = 'snap' AND version IS NOT NULL ORDER BY built_at",
      `SELECT inputs->>'$."ref:snap"' AS snap FROM _pipe.builds WHERE node = 'per_day' AND run_id = '${olderRun}'`,
      "SELECT strftime(d, '%Y-%m-%d') AS d, snap_ds FROM main.per_day ORDER BY d",
    ]);
    // The older run never published snap: its build is not on record, and per_day read the newer one.
    expect(snapBuilds.map((b) => b.run_id)).toEqual([newerRun]);
    expect(readBy).toEqual([{ snap: snapBuilds[0].version }]);
    // The coordinator's log of the run holds what its worker told, as a run on one machine's does.
    const logged = readFileSync(runLogPath(join(dir, 'lake'), olderRun), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; reason?: string });
    expect(logged.filter((l) => l.type.startsWith('task-')).map((l) => `${l.type}${l.reason ? ` ${l.reason}` : ''}`)).toEqual(['task-started', 'task-skipped superseded', 'task-started', 'task-succeeded']);
    expect(perDay).toEqual([
      { d: OLDER, snap_ds: NEWER },
      { d: NEWER, snap_ds: NEWER },
    ]);
    // A run of the older date asked for after the newer one published builds it: the same worker, living on, does not take it for superseded.
    const later = await runIn(dir, { date: OLDER, select: ['snap'], distributed: { leaseMs: 30_000 } });
    expect(later.code, explain(later)).toBe(0);
    expect(later.events.filter((e) => e.type === 'task-skipped')).toEqual([]);
    expect((await lakeRowsOf(lake, ['SELECT ds FROM main.snap']))[0]).toEqual([{ ds: OLDER }]);
    worker.child.kill('SIGTERM');
    await worker.exited;
  });
});
