import { afterAll, describe, expect, it } from 'vitest';
import type { PipeEvent } from '../../src/events/events.js';
import { schedule } from '../../src/schedule/scheduler.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * Runs that overlap in one process: a scheduler catching up ten intervals three at a time
 * publishes every table and view it shares between them in one engine. However the runs
 * interleave, a table ends with the newest interval's result (an older run finishing last
 * leaves it alone, as superseded), every partition is there once, and no conflict between
 * the runs reaches the user. Each repetition is the same case, interleaved as it happens to be:
 * one per run; PIPE_STRESS=20 repeats it twenty times.
 */

const FILES = {
  'pipelines/nightly.yaml': 'schedule: "0 2 * * *"\ntimezone: UTC\ncatchup: true\nmax_catchup: 10\nmax_active_runs: 3\n',
  'models/latest.sql': "select '{{ ds }}' as ds, count(*) as n from range(20000) t(i)\n",
  'models/latest_view.sql': "{{ config(materialized='view') }}\nselect ds from {{ ref('latest') }}\n",
  'models/daily.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect date '{{ ds }}' as d, (select ds from {{ ref('latest') }}) as latest_then\n",
};

const at = (iso: string) => ({ now: () => Date.parse(iso) });

describe('a scheduler catching up with max_active_runs: 3', () => {
  const repetitions = Number(process.env.PIPE_STRESS ?? 1);
  it(`ends with the newest interval in every table and every partition once (${repetitions} repetitions)`, async () => {
    for (let r = 0; r < repetitions; r++) {
      const dir = tempProject(FILES, 'pipe-overlap-');
      const quiet = (events: PipeEvent[]) => (e: PipeEvent) => events.push(e);
      const first: PipeEvent[] = [];
      await schedule({ project: dir, once: true, clock: at('2024-01-02T03:00:00Z'), emit: quiet(first), signal: new AbortController().signal });
      const events: PipeEvent[] = [];
      const result = await schedule({ project: dir, once: true, clock: at('2024-01-12T03:00:00Z'), emit: quiet(events), signal: new AbortController().signal });
      const starts = events.flatMap((e) => (e.type === 'notice' && e.message.includes('starting') ? [e.message] : []));
      expect(result, starts.join('\n')).toEqual({ runs: 10, failed: 0 });
      const problems = events.filter((e) => e.type === 'task-failed' || e.type === 'diagnostic' || (e.type === 'notice' && /conflict/i.test(e.message)));
      expect(problems).toEqual([]);
      expect(await queryWarehouse(dir, 'select ds from latest')).toEqual([{ ds: '2024-01-11' }]);
      expect(await queryWarehouse(dir, 'select ds from latest_view')).toEqual([{ ds: '2024-01-11' }]);
      const partitions = await queryWarehouse(dir, "select strftime(d, '%Y-%m-%d') as d, count(*)::INTEGER as n from daily group by d order by d");
      expect(partitions).toEqual(Array.from({ length: 11 }, (_, i) => ({ d: `2024-01-${String(i + 1).padStart(2, '0')}`, n: 1 })));
    }
  });
});
