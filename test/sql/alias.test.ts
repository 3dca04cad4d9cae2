import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/commands/run.js';
import { backfill } from '../../src/commands/backfill.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

describe('aliases', () => {
  it('name the relation of every kind of model and of a seed, run after run and in a full-refresh backfill', async () => {
    const dir = tempProject({
      'seeds/raw_orders.csv': 'id,day\n1,2024-01-01\n2,2024-01-02\n',
      'seeds/raw_orders.yml': 'alias: orders_raw\n',
      'models/t.sql': "{{ config(alias='t_v2') }}\nselect * from {{ ref('raw_orders') }}",
      'models/v.sql': "{{ config(materialized='view', alias='v_v2') }}\nselect * from {{ ref('t') }}",
      'models/i.sql': "{{ config(materialized='incremental', partition_by='day', alias='i_v2') }}\nselect * from {{ ref('v') }} where day = '{{ ds }}'",
    });
    for (const date of ['2024-01-01', '2024-01-02']) {
      const outcome = await run({ project: dir, date, threads: 2, emit: () => {} });
      expect(outcome.status).toBe('succeeded');
    }
    const full = await backfill({ project: dir, start: '2024-01-01', end: '2024-01-02', fullRefresh: true, emit: () => {} });
    expect(full.status).toBe('succeeded');
    const relations = await queryWarehouse(dir, "select table_name from information_schema.tables where table_schema = 'main' order by 1");
    expect(relations.map((r) => r.table_name)).toEqual(['i_v2', 'orders_raw', 't_v2', 'v_v2']);
    expect(await queryWarehouse(dir, 'select id::int as id, day::varchar as day from main.i_v2 order by id')).toEqual([
      { id: 1, day: '2024-01-01' },
      { id: 2, day: '2024-01-02' },
    ]);
  });
});
