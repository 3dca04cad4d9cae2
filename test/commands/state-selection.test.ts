import { afterAll, describe, expect, it } from 'vitest';
import { diagnosticsOf, eventsOfType, explain, removeTempDirs, taskIdsOf, writeProjectFiles } from '../e2e/helpers.js';
import { backfillMissingIn, nodesIn, runIn, statusIn } from '../support/in-process.js';
import { CUSTOMERS, versionsProject } from '../support/versions-project.js';
import { BUILT_DATES, builtVersionsProject } from '../support/built-versions-project.js';
import { EXIT } from '../../src/cli/exit-status.js';

afterAll(removeTempDirs);

/**
 * `state:modified`, `state:stale` and `state:new`: the nodes `pipe status` judges so over the
 * whole project, with the graph operators, intersections and exclusions, on every command
 * that reads the warehouse.
 */

const DATES = BUILT_DATES;
const clock = { now: () => Date.parse('2024-01-06T10:00:00Z') };

/** The nodes a selection picks, as pipe status lists them. */
async function selection(dir: string, select: string[], exclude?: string[]) {
  const r = await statusIn(dir, { clock, json: true, select, exclude });
  expect(r.code, explain(r)).toBe(0);
  return { names: eventsOfType(r.events, 'node').map((e) => String(e.node)).sort(), events: r.events };
}

const FCT_EDIT = `{{ config(materialized='incremental', partition_by='order_date') }}
select o.order_id, o.customer_id, o.amount * 2 as amount, o.order_date, c.region
from {{ ref('stg_orders') }} o join {{ ref('customers') }} c on c.id = o.customer_id
where o.order_date = '{{ ds }}'
`;

describe('state: selection', () => {
  it('after a model edit: the model is modified, what reads it stale, with +, intersections and exclusions', async () => {
    const dir = await builtVersionsProject();
    writeProjectFiles(dir, { 'models/fct_orders.sql': FCT_EDIT });
    const names = async (select: string[], exclude?: string[]) => (await selection(dir, select, exclude)).names;
    expect(await names(['state:modified'])).toEqual(['fct_orders']);
    expect(await names(['state:stale'])).toEqual(['customer_totals', 'daily_totals']);
    expect(await names(['state:modified+'])).toEqual(['customer_totals', 'daily_totals', 'fct_orders']);
    expect(await names(['state:stale,config.materialized:table'])).toEqual(['customer_totals']);
    expect(await names(['state:modified+'], ['state:stale'])).toEqual(['fct_orders']);
    // pipe ls reads it as status does.
    expect((await nodesIn(dir, { clock, select: ['state:modified+'] })).nodes.map((n) => n.name).sort()).toEqual(['customer_totals', 'daily_totals', 'fct_orders']);
    const none = await selection(dir, ['state:new']);
    expect(none.names).toEqual([]);
    expect(eventsOfType(none.events, 'notice').map((e) => e.message)).toContain("selector 'state:new' selects nothing: no model or seed is new");
    // A run selects by it too: what changed and its downstream, nothing else.
    const run = await backfillMissingIn(dir, { ...DATES, select: ['state:modified+'] });
    expect(run.code, explain(run)).toBe(0);
    expect(new Set(taskIdsOf(run.events, 'task-started').map((id) => id.split('@')[0]))).toEqual(new Set(['fct_orders', 'daily_totals', 'customer_totals']));
    expect((await selection(dir, ['state:modified', 'state:stale'])).names).toEqual([]);
  });

  it('after a seed edit: the seed is modified, everything that reads it stale', async () => {
    const dir = await builtVersionsProject();
    writeProjectFiles(dir, { 'seeds/customers.csv': CUSTOMERS.replace('2,Bob,south', '2,Bob,west') });
    expect((await selection(dir, ['state:modified'])).names).toEqual(['customers']);
    expect((await selection(dir, ['state:stale'])).names).toEqual(['customer_totals', 'daily_totals', 'fct_orders', 'region_names']);
    const run = await runIn(dir, { date: '2024-01-05', select: ['state:stale'], exclude: ['fct_orders+'] });
    expect(run.code, explain(run)).toBe(0);
    expect(taskIdsOf(run.events, 'task-started')).toEqual(['customers', 'region_names@2024-01-05']);
  });

  it('state:new selects the models never built; without a warehouse every node is new and modified, said once', async () => {
    const none = versionsProject();
    const fresh = await selection(none, ['state:new']);
    expect(fresh.names.length).toBe(7);
    expect(eventsOfType(fresh.events, 'notice').filter((e) => String(e.message).startsWith('state: nothing is built'))).toHaveLength(1);
    expect((await selection(none, ['state:stale'])).names).toEqual([]);
    expect((await selection(none, ['state:modified'])).names).toHaveLength(7);

    const dir = await builtVersionsProject();
    writeProjectFiles(dir, { 'models/late.sql': "{{ config(materialized='table') }}\nselect * from {{ ref('customers') }}\n" });
    expect((await selection(dir, ['state:new'])).names).toEqual(['late']);
  });

  it('a bad state: value is refused before anything is read, with the values it takes', async () => {
    const dir = versionsProject();
    const r = await statusIn(dir, { clock, select: ['state:modified.body'] });
    expect(r.code).toBe(EXIT.badInput);
    expect(diagnosticsOf(r.events)[0].message).toContain('knows new, modified, stale');
  });

});
