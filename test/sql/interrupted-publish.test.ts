import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/commands/run.js';
import { killRunning, ModelGate } from '../e2e/helpers.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

/**
 * A table or a partition is written from the model's query inside its publishing transaction:
 * an abort must stop that query (only DuckDB's interrupt can), and the transaction then leaves
 * the published rows as they were.
 */

const quiet = () => undefined;

afterEach(killRunning);
afterAll(removeProjects);

const gated = (materialized: string) =>
  `{{ config(materialized='${materialized}'${materialized === 'incremental' ? ", partition_by='ds'" : ''}) }}
select '{{ ds }}'::DATE as ds, {{ var('n', 1) }} as n
{% if var('gate', '') %}from (select 1) where (select count(*) from read_csv('{{ var("gate") }}', columns={'line': 'VARCHAR'}, header=false, auto_detect=false)) >= 0{% endif %}
`;

/**
 * A run with `n: 2` whose query reads a gate, aborted once it is held there; once aborted, the
 * gate pours rows without end, so the run ends only if the abort stops the query. Its status.
 */
async function abortedAtGate(dir: string): Promise<string> {
  const gate = new ModelGate(dir);
  const controller = new AbortController();
  const running = run({ project: dir, date: '2024-01-02', vars: { gate: gate.path, n: 2 }, signal: controller.signal, emit: quiet });
  const release = await gate.reached();
  controller.abort();
  gate.flood();
  release();
  return (await running).status;
}

describe('an abort while a model is written from its query', () => {
  for (const materialized of ['incremental', 'table']) {
    it(`${materialized}: stops the query in the publishing transaction and keeps the published rows`, async () => {
      const dir = tempProject({ 'models/m.sql': gated(materialized) }, 'pipe-interrupted-');
      expect((await run({ project: dir, date: '2024-01-02', emit: quiet })).status).toBe('succeeded');

      // The query reads the gate inside the transaction.
      expect(await abortedAtGate(dir)).toBe('cancelled');
      expect(await queryWarehouse(dir, 'select ds::VARCHAR as ds, n from m')).toEqual([{ ds: '2024-01-02', n: 1 }]);
    });
  }
});

describe('an abort while a snapshot runs its query', () => {
  it('stops the query and keeps the snapshot as it was', async () => {
    const dir = tempProject(
      {
        'models/src.sql': "{{ config(materialized='table') }}\nselect 1 as id, {{ var('n', 1) }} as n",
        'snapshots/snap.sql': `{% snapshot snap %}{{ config(unique_key='id', strategy='check', check_cols=['n']) }}
select * from {{ ref('src') }}
{% if var('gate', '') %}where (select count(*) from read_csv('{{ var("gate") }}', columns={'line': 'VARCHAR'}, header=false, auto_detect=false)) >= 0{% endif %}
{% endsnapshot %}`,
      },
      'pipe-interrupted-',
    );
    expect((await run({ project: dir, date: '2024-01-02', emit: quiet })).status).toBe('succeeded');

    // The query reads the gate as it is staged.
    expect(await abortedAtGate(dir)).toBe('cancelled');
    expect(await queryWarehouse(dir, 'select id, n, dbt_valid_to is null as current from snap')).toEqual([{ id: 1, n: 1, current: true }]);
  });
});
