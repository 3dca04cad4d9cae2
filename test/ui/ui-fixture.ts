import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { startUiServer, type UiServer } from '../../src/ui/server/server.js';
import { eventsOfType, ModelGate, PIPE_BIN, writeProjectFiles, type PipeResult } from '../e2e/helpers.js';
import { backfillIn, runIn } from '../support/in-process.js';
import { tempProject } from '../support/projects.js';

/**
 * The project the UI tests look at, built by two real runs: one that succeeds (a seed and two
 * models), then one where a model fails with a SQL error at its line 3, a checked model's
 * check finds a row, and what reads the failed model is skipped.
 */

export const DAY = '2024-01-02';

export const FILES = {
  'seeds/people.csv': 'id,name\n1,ann\n2,bob\n',
  'models/a.sql': "{{ config(materialized='table') }}\nselect * from {{ ref('people') }}\n",
  'models/b.sql': "{{ config(materialized='view') }}\nselect id, name from {{ ref('a') }}\n",
  'models/bad.sql': "{{ config(materialized='table') }}\nselect id,\n  nosuchcolumn\nfrom {{ ref('a') }}\n",
  'models/c.sql': "{{ config(materialized='table') }}\nselect * from {{ ref('bad') }}\n",
  'models/checked.sql': "{{ config(materialized='table') }}\nselect id, name from {{ ref('a') }}\n",
  'models/checked.yaml': 'checks:\n  expression: ["id < 2"]\n',
};

export interface Fixture {
  readonly dir: string;
  readonly good: string;
  readonly failed: string;
}

export async function builtProject(): Promise<Fixture> {
  const dir = tempProject(FILES, 'pipe-ui-');
  const good = await runIn(dir, { date: DAY, select: ['people', 'a', 'b'] });
  expect(good.code, good.stderr).toBe(0);
  const failed = await runIn(dir, { date: DAY });
  expect(failed.code, failed.stderr).toBe(1);
  const runId = (r: typeof good) => eventsOfType(r.events, 'run-started')[0].runId as string;
  return { dir, good: runId(good), failed: runId(failed) };
}

/** A folder with a stand-in page, for tests of the API alone (the browser tests use the built page). */
export function stubAssets(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pipe-ui-assets-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>pipe</title>');
  return dir;
}

export function serve(project: string, assets: string): Promise<UiServer> {
  // The built binary judges the coverage (see coverage-process.ts): the sources under test have none.
  return startUiServer({ project, port: 0, assets, pipeBin: PIPE_BIN });
}

/** Dates a model kept in intervals is judged for by the coverage tests. */
export const COVERAGE_RANGE = { start: '2024-01-01', end: '2024-01-04' };

/**
 * A project with a daily model backfilled for three of COVERAGE_RANGE's four dates, its SQL
 * failing for the second (so: current, failed, current, never built), and a table reading it.
 */
export async function datedProject(): Promise<string> {
  const dir = tempProject(
    {
      'models/daily.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::DATE as d, 1 as n{% if ds == '2024-01-02' %}, nosuchcolumn{% endif %}\n",
      'models/whole.sql': "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('daily') }}\n",
    },
    'pipe-ui-coverage-',
  );
  const built = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-03' });
  expect(built.code, built.stderr).toBe(1);
  return dir;
}

/**
 * A project of four tables that read nothing, all ready at once, and one that reads them all,
 * run with 2 threads: each thread's number is in the run's records. m1 and m2 are held at gates
 * until both have started, so that two tasks run at once whatever the speed of the machine (fast
 * tasks could otherwise each end before the next one took a thread, all on thread 1).
 */
export async function parallelRun(prefix: string, options: { force?: boolean; dir?: string } = {}): Promise<{ dir: string; run: PipeResult }> {
  const dir = options.dir ?? tempProject({}, prefix);
  const gates = [new ModelGate(dir, 'g1'), new ModelGate(dir, 'g2')];
  writeProjectFiles(dir, {
    ...Object.fromEntries(
      [1, 2, 3, 4].map((i) => [`models/m${i}.sql`, `{{ config(materialized='table') }}\nselect ${i} as x${i <= 2 ? ` where ${gates[i - 1].sql} >= 0` : ''}\n`]),
    ),
    'models/top.sql': "{{ config(materialized='table') }}\nselect * from {{ ref('m1') }} union all select * from {{ ref('m2') }} union all select * from {{ ref('m3') }} union all select * from {{ ref('m4') }}\n",
  });
  const held = new Set<string>();
  const run = await runIn(dir, {
    date: DAY,
    threads: 2,
    force: options.force,
    onEvent: (e) => {
      if (e.type !== 'task-started' || !['m1', 'm2'].includes(e.task.model)) return;
      held.add(e.task.model);
      if (held.size === 2) for (const g of gates) g.open();
    },
  });
  for (const g of gates) rmSync(g.path, { force: true });
  return { dir, run };
}
