import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, type Analysis, type ModelNode } from '../../src/analyze/analyze.js';
import { CHECK_TARGET } from '../../src/analyze/checks.js';
import { NO_TABLE } from '../../src/analyze/model-kinds.js';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import { Engine, type EngineHandle } from '../../src/execute/engine.js';
import { loadProject } from '../../src/project/load-project.js';
import type { WarehouseSession } from '../../src/warehouse/warehouse.js';

/**
 * An installed package written the way dbt_utils, dbt_date and dbt_expectations are
 * (test/fixtures/dbt/package-jinja/dbt_packages/kit): macros passing `*varargs` and
 * `**kwargs` on through adapter.dispatch, a test reading its arguments from `kwargs`, dicts
 * made from keyword arguments, a call block whose caller() takes spread arguments, a private
 * macro called by namespace, a relation checked with `is mapping`, set(), flags, trailing
 * commas and a variable printed where it was never set. The expected SQL is what dbt-duckdb
 * 1.11 compiles from the same files (relations aside: pipe names them in two parts).
 */

const FIXTURE = fileURLToPath(new URL('../fixtures/dbt/package-jinja', import.meta.url));
const day = dayInterval(parseDate('2024-01-02')!);
let analysis: Analysis;
let warehouse: EngineHandle;
let session: WarehouseSession;

beforeAll(async () => {
  analysis = analyze(loadProject(FIXTURE), { interval: day });
  warehouse = await Engine.inMemory();
  session = await warehouse.session();
});

afterAll(() => {
  session?.close();
  warehouse?.close();
});

function sqlOf(model: string): string {
  const rendered = analysis.renderer.sql(model, day, NO_TABLE);
  if ('severity' in rendered) throw new Error(rendered.message);
  return rendered.sql;
}

describe('a package using the Jinja of real dbt packages', () => {
  it('analyzes without a diagnostic', () => {
    expect(analysis.diagnostics.filter((d) => d.severity !== 'info').map((d) => [d.message, d.location])).toEqual([]);
  });

  it('renders its macros as dbt does', () => {
    expect(sqlOf('keyed')).toBe(`select
    md5(coalesce(cast(id as TEXT), '_null_') || '-' || coalesce(cast(name as TEXT), '_null_')) as customer_key,
    'build' as command,
    1 as first,
2 as second,
    
    id as id,
    coalesce(name, 'none') as name_or_none,
    amount * 2 as amount
from "main"."customers"`);
  });

  it("runs its test with the arguments given through kwargs, the model a relation, and finds dbt's failing rows", async () => {
    await session.exec(`CREATE TABLE main.customers AS ${sqlOf('customers')}`);
    await session.exec(`CREATE TABLE main.keyed AS ${sqlOf('keyed')}`);
    const checks = (analysis.nodes.get('customers') as ModelNode).checks;
    expect(checks.map((c) => [c.name, c.severity])).toEqual([
      ['kit_filled_share_customers_0_5__name', 'error'],
      ['kit_filled_share_customers_0_9__amount', 'warn'],
    ]);
    const failing: number[] = [];
    for (const check of checks) {
      const sql = check.sql.replaceAll(CHECK_TARGET, 'main.customers').replaceAll('\u0000customers\u0000', 'main.customers');
      failing.push((await session.query(sql)).length);
    }
    // name is filled in 2 rows of 3 (at least 0.5: passes), amount in 2 of 3 (at least 0.9: fails).
    expect(failing).toEqual([0, 1]);
  });
});
