import { afterAll, describe, expect, it } from 'vitest';
import { eventsOfType, execOn, explain, queryRows, warehouseOf, writeProjectFiles } from '../e2e/helpers.js';
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

  it('of an hourly model, leaves an hour a later run of its whole day rebuilt, and refuses a day a later run rebuilt an hour of', async () => {
    const fct = (broken: boolean) =>
      "{{ config(materialized='incremental', partition_by='ts') }}\n" +
      `select id, ts, '{{ var('tag', 'old') }}' as tag from ${broken ? 'no_such_table' : "{{ ref('events') }}"} where ts >= '{{ interval_start }}' and ts < '{{ interval_end }}'`;
    const files = {
      'pipe.yaml': 'name: shop\n',
      'seeds/events.csv': 'id,ts\n1,2024-01-02 13:10:00\n2,2024-01-02 14:10:00\n',
      'pipelines/hourly.yaml': 'select: [+fct]\nschedule: "5 * * * *"\ninterval: hourly\n',
      'models/fct.sql': fct(true),
    };
    const hour13 = (dir: string) => queryRows(warehouseOf(dir), 'SELECT tag FROM fct WHERE hour(ts) = 13');
    const runOf = (r: { events: readonly Record<string, unknown>[] }) => String(eventsOfType(r.events as never, 'run-started')[0].runId);

    // The hour fails; a later run of the day rebuilds it: the retry leaves it, superseded.
    const a = tempProject(files);
    const hour = await runIn(a, { pipeline: 'hourly', date: '2024-01-02', hour: 13 });
    expect(hour.code, explain(hour)).toBe(1);
    writeProjectFiles(a, { 'models/fct.sql': fct(false) });
    expect((await runIn(a, { pipeline: 'hourly', date: '2024-01-02', vars: { tag: 'new' } })).code).toBe(0);
    const left = await retryIn(a, { runId: runOf(hour) });
    expect(left.code, explain(left)).toBe(0);
    expect(left.stdout).toContain('~ fct 2024-01-02T13 superseded');
    expect(left.stdout).toContain('pipe run --select fct --date 2024-01-02 --hour 13 rebuilds it for this hour');
    expect(await hour13(a)).toEqual([{ tag: 'new' }]);

    // The day fails; a later run rebuilds its hour 13: retried whole, the day would put the old hour back, and is refused.
    const b = tempProject(files);
    const day = await runIn(b, { pipeline: 'hourly', date: '2024-01-02' });
    expect(day.code, explain(day)).toBe(1);
    writeProjectFiles(b, { 'models/fct.sql': fct(false) });
    const later = await runIn(b, { pipeline: 'hourly', date: '2024-01-02', hour: 13, vars: { tag: 'new' } });
    expect(later.code, explain(later)).toBe(0);
    const refused = await retryIn(b, { runId: runOf(day) });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(
      `run ${runOf(later)} has rebuilt 2024-01-02T13 of fct since: retried, 2024-01-02 would be built whole and put this run's older rows over it; pipe run hourly --select fct --date 2024-01-02 rebuilds the whole interval as the project is now`,
    );
    expect(await hour13(b)).toEqual([{ tag: 'new' }]);
  });

  it('says a table its run built and the warehouse lost since was dropped, not that the run never built it', async () => {
    const dir = tempProject({
      'pipe.yaml': 'name: shop\n',
      'models/base.sql': 'select 1 as x',
      'models/reader.sql': `select * from {{ ref('base') }} ${'where x::INTEGER = 1 and cast(\'a\' as int) = 1'}`,
    });
    const failed = await runIn(dir, { date: '2024-01-03' });
    expect(failed.code, explain(failed)).toBe(1);
    writeProjectFiles(dir, { 'models/reader.sql': "select * from {{ ref('base') }}" });
    await execOn(warehouseOf(dir), 'DROP TABLE main.base');
    const runId = String(eventsOfType(failed.events, 'run-started')[0].runId);
    const r = await retryIn(dir, { runId });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: reader reads base, which run ${runId} built, but the warehouse no longer holds (dropped since)`);
  });

  it('says what it reads that changed since it was built and that it does not rebuild: a seed corrected after the failure', async () => {
    const dir = tempProject({
      'pipe.yaml': 'name: shop\nsecret_vars: [token]\n',
      'seeds/events.csv': 'id,v\n1,1\n2,oops\n',
      'models/stg.sql': "select id, v from {{ ref('events') }}",
      'models/fct.sql': "select id, v::INTEGER as v from {{ ref('stg') }}",
    });
    const failed = await runIn(dir, { date: '2024-01-03', vars: { k: 'a', token: 's3cr3t-value' } });
    expect(failed.code, explain(failed)).toBe(1);
    const runId = String(eventsOfType(failed.events, 'run-started')[0].runId);
    writeProjectFiles(dir, { 'seeds/events.csv': 'id,v\n1,1\n2,2\n' });
    const r = await retryIn(dir, { runId, vars: { token: 's3cr3t-value' } });
    // Built as its run would: from the seed as loaded then, which fails again, and the retry says why.
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `not current, and not rebuilt by this retry (it builds only what run ${runId} left undone): events (its file or config changed); stg (events changed). ` +
        `What the retry builds reads them as they are; pipe run --select events+ stg+ --date 2024-01-03 --vars '{"k": "a"}' --var token=VALUE rebuilds them and what reads them instead`,
    );
    const rebuilt = await runIn(dir, { date: '2024-01-03', select: ['events+', 'stg+'], vars: { k: 'a', token: 's3cr3t-value' } });
    expect(rebuilt.code, explain(rebuilt)).toBe(0);
    expect(await queryRows(warehouseOf(dir), 'SELECT id::INTEGER AS id, v FROM fct ORDER BY id')).toEqual([{ id: 1, v: 1 }, { id: 2, v: 2 }]);
    // Nothing changed above what a retry builds (what reads a model that always runs runs again after it, no more): nothing said.
    writeProjectFiles(dir, {
      'models/ticks.sql': 'select now() as t',
      'models/stg.sql': "select id, v from {{ ref('events') }} where exists (select 1 from {{ ref('ticks') }})",
      'models/fct.sql': 'select 1 as x from no_such_table',
    });
    const again = await runIn(dir, { date: '2024-01-04' });
    expect(again.code).toBe(1);
    writeProjectFiles(dir, { 'models/fct.sql': "select id, v::INTEGER as v from {{ ref('stg') }}" });
    const quiet = await retryIn(dir, { runId: String(eventsOfType(again.events, 'run-started')[0].runId) });
    expect(quiet.code, explain(quiet)).toBe(0);
    expect(quiet.stdout).not.toContain('not current');
  });

  it("with its packages' vars whole too: a var dbt_project.yml sets for a package's model since (global or in the package's scope) changes nothing", async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: shop\n',
      'dbt_packages/pk/dbt_project.yml': 'name: pk\nvars:\n  pv: pkg-default\n',
      'dbt_packages/pk/models/pm.sql': "{{ config(materialized='table') }}\nselect '{{ var(\"pv\") }}' as pv, '{{ var(\"gv\", \"gdef\") }}' as gv, x from main.src_t",
    });
    const failed = await runIn(dir, { date: '2024-01-01' });
    expect(failed.code, explain(failed)).toBe(1);
    await execOn(warehouseOf(dir), 'CREATE TABLE main.src_t AS SELECT 1 AS x');
    writeProjectFiles(dir, { 'dbt_project.yml': 'name: shop\nvars:\n  gv: root-later\n  pk:\n    pv: scoped-later\n' });
    const r = await retryIn(dir, { runId: String(eventsOfType(failed.events, 'run-started')[0].runId) });
    expect(r.code, explain(r)).toBe(0);
    expect(await queryRows(warehouseOf(dir), 'SELECT pv, gv FROM pm')).toEqual([{ pv: 'pkg-default', gv: 'gdef' }]);
  });
});
