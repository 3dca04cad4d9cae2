import { afterAll, describe, expect, it } from 'vitest';
import { eventsOfType, explain, queryRows, warehouseOf, writeProjectFiles } from '../e2e/helpers.js';
import { retryIn, runIn } from '../support/in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/** pipe retry re-runs what a run left undone with the run's parameters as they were then, whatever the files say now. */

const BROKEN = 'select 1 as x from no_such_table';

describe('pipe retry builds as its run would have', () => {
  it("with the run's vars whole: a var it read the default of stays so, though pipe.yaml or the pipeline sets it since", async () => {
    const dir = tempProject({
      'pipe.yaml': 'name: shop\nvars:\n  currency: EUR\n',
      'pipelines/daily.yaml': 'select: [+reader]\n',
      'models/base.sql': BROKEN,
      'models/reader.sql': "select x * {{ var('mult', 1) }} as x, '{{ var('currency') }}' as currency, '{{ var('region', 'eu') }}' as region from {{ ref('base') }}",
    });
    const failed = await runIn(dir, { pipeline: 'daily', date: '2024-01-03' });
    expect(failed.code, explain(failed)).toBe(1);
    const runId = String(eventsOfType(failed.events, 'run-started')[0].runId);
    writeProjectFiles(dir, {
      'models/base.sql': 'select 1 as x',
      'pipe.yaml': 'name: shop\nvars:\n  currency: USD\n  mult: 2\n',
      'pipelines/daily.yaml': 'select: [+reader]\nvars:\n  region: us\n',
    });
    const r = await retryIn(dir, { runId });
    expect(r.code, explain(r)).toBe(0);
    expect(await queryRows(warehouseOf(dir), 'SELECT x, currency, region FROM reader')).toEqual([{ x: 1, currency: 'EUR', region: 'eu' }]);
    // Only the model that changed is said to have changed: reader's query is the run's.
    expect(r.stderr + r.stdout).toContain(`changed since run ${runId} planned them, and retried as they are now: base\n`);
  });

  it("with the run's selectors: a default selector added since, or a selector's definition edited, changes nothing it retries", async () => {
    const files = {
      'dbt_project.yml': "name: shop\nmodels:\n  shop:\n    +materialized: table\n",
      'models/base.sql': BROKEN,
      'models/reader.sql': "select * from {{ ref('base') }}",
      'models/other.sql': 'select 2 as x',
    };
    // No selection, so everything; then selectors.yml appears with a default selecting other alone.
    const whole = tempProject(files);
    const first = await runIn(whole, { date: '2024-01-03' });
    expect(first.code, explain(first)).toBe(1);
    writeProjectFiles(whole, {
      'models/base.sql': 'select 1 as x',
      'selectors.yml': 'selectors:\n  - name: others\n    default: true\n    definition: other\n',
    });
    const r = await retryIn(whole, { runId: String(eventsOfType(first.events, 'run-started')[0].runId) });
    expect(r.code, explain(r)).toBe(0);
    expect(eventsOfType(r.events, 'task-succeeded').map((e) => (e.task as { id: string }).id).sort()).toEqual(['base@2024-01-03', 'reader@2024-01-03']);
    // --selector core, whose definition is edited since.
    const named = tempProject({ ...files, 'selectors.yml': 'selectors:\n  - name: core\n    definition: +reader\n' });
    const run = await runIn(named, { date: '2024-01-03', selector: 'core' });
    expect(run.code, explain(run)).toBe(1);
    writeProjectFiles(named, { 'models/base.sql': 'select 1 as x', 'selectors.yml': 'selectors:\n  - name: core\n    definition: other\n' });
    const again = await retryIn(named, { runId: String(eventsOfType(run.events, 'run-started')[0].runId) });
    expect(again.code, explain(again)).toBe(0);
    expect(await queryRows(warehouseOf(named), 'SELECT x FROM reader')).toEqual([{ x: 1 }]);
  });
});
