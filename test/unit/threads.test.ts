import { describe, expect, it } from 'vitest';
import type { Pipeline, ProjectSettings } from '../../src/analyze/project-settings.js';
import { DEFAULT_THREADS, resolveThreads } from '../../src/commands/threads.js';

/** One answer to "how many tasks at once", for every command. */

const settings = (threads?: number): ProjectSettings => ({ vars: {}, warehouse: 'warehouse.duckdb', secret_vars: [], threads, targetSchema: 'main', querySettings: {} });
const pipeline = (threads?: number): Pipeline => ({
  name: 'p',
  file: 'pipelines/p.yaml',
  select: [],
  exclude: [],
  vars: {},
  secret_vars: [],
  threads,
  notify: { on_failure: [], on_success: [], on_retry: [] },
});

describe('resolveThreads', () => {
  // flag, pipeline threads:, pipe.yaml threads:, a backfill's --parallel → threads
  const table: [number | null | undefined, number | undefined, number | undefined, number | undefined, number][] = [
    [undefined, undefined, undefined, undefined, DEFAULT_THREADS],
    [undefined, undefined, 2, undefined, 2],
    [undefined, 3, 2, undefined, 3],
    [6, 3, 2, undefined, 6],
    [1, 3, 2, undefined, 1],
    // A retry of a run that was given no --threads.
    [null, 3, 2, undefined, 3],
    // A backfill without --threads runs at least a task per date in flight...
    [undefined, undefined, undefined, 8, 8],
    [undefined, 3, undefined, 2, 3],
    [undefined, undefined, 2, 5, 5],
    // ...and with it, what it says.
    [2, undefined, undefined, 5, 2],
  ];
  it.each(table)('--threads %s, pipeline %s, pipe.yaml %s, --parallel %s: %s', (flag, fromPipeline, fromProject, parallel, expected) => {
    expect(resolveThreads({ flag, pipeline: pipeline(fromPipeline), settings: settings(fromProject), parallel })).toBe(expected);
  });

  it('runs without a pipeline take pipe.yaml', () => {
    expect(resolveThreads({ settings: settings(7) })).toBe(7);
  });
});
