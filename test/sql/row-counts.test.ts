import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/commands/run.js';
import type { PipeEvent } from '../../src/events/events.js';
import { removeProjects, tempProject } from '../support/projects.js';

/** The rows a task reports are the rows it published, whatever statement built them. */

afterAll(removeProjects);

describe('row counts', () => {
  it('a PIVOT model (which DuckDB runs as several statements) reports the rows of its table', async () => {
    const dir = tempProject({
      'models/s.sql': "select * from (values ('a', 1, 'x'), ('b', 2, 'x'), ('a', 3, 'y')) v(k, n, g)\n",
      'models/p.sql': "pivot {{ ref('s') }} on k using sum(n) group by g\n",
      'models/pi.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect date '{{ ds }}' as d, * from (pivot {{ ref('s') }} on k using sum(n) group by g)\n",
    });
    const events: PipeEvent[] = [];
    expect((await run({ project: dir, date: '2024-01-02', emit: (e) => events.push(e) })).status).toBe('succeeded');
    const rows = Object.fromEntries(events.flatMap((e) => (e.type === 'task-succeeded' ? [[e.task.model, e.rows]] : [])));
    expect(rows).toEqual({ s: 3, p: 2, pi: 2 });
  });
});
