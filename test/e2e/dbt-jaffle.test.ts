import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventsOfType, explain, publishedRelations, queryRows, REPO, removeTempDirs, sortedRows, taskOf, tempDir } from './helpers.js';
import { runIn, testIn } from '../support/in-process.js';

afterAll(removeTempDirs);

/**
 * A dbt project in the shape of dbt's own jaffle shop example (dbt_project.yml, profiles.yml,
 * properties files with 20 tests, seeds, a docs block), run by pipe as it is, unmodified.
 * test/dbt-compat/compare.sh builds the same project with dbt-duckdb and compares the two.
 */

const FIXTURE = join(REPO, 'test/fixtures/dbt/jaffle');
const DATE = '2024-01-02';

/** The tests declared in models/schema.yml and models/staging/schema.yml, per model. */
const TESTS_PER_MODEL = { customers: 2, orders: 10, stg_customers: 2, stg_orders: 3, stg_payments: 3 };

function jaffleCopy(): string {
  const dir = tempDir();
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

/** The warehouse profiles.yml names (`path: 'jaffle_shop.duckdb'`, relative to the project). */
const warehouse = (dir: string) => join(dir, 'jaffle_shop.duckdb');

async function count(dir: string, relation: string): Promise<number> {
  const rows = await queryRows(warehouse(dir), `SELECT count(*)::INTEGER AS n FROM ${relation}`);
  return Number(rows[0].n);
}

/** The checks one run recorded, with the model each ran for and the command of the run. */
async function checksOfRun(dir: string, runId: string): Promise<{ model: string; check: string; status: string; command: string }[]> {
  const rows = await queryRows(
    warehouse(dir),
    `SELECT t.node AS model, c.check_name AS "check", c.status, r.command
       FROM _pipe.check_results c
       JOIN _pipe.tasks t USING (run_id, task_id)
       JOIN _pipe.runs r USING (run_id)
      WHERE c.run_id = '${runId}'
      ORDER BY 1, 2`,
  );
  return rows.map((r) => ({ model: String(r.model), check: String(r.check), status: String(r.status), command: String(r.command) }));
}

function runIdOf(events: readonly { type: string; runId?: unknown }[]): string {
  const started = events.find((e) => e.type === 'run-started');
  return String(started?.runId);
}

function perModel(checks: readonly { model: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of checks) out[c.model] = (out[c.model] ?? 0) + 1;
  return out;
}

describe('a dbt project run unmodified (jaffle shop)', () => {
  it('builds staging views and mart tables into the profile’s warehouse, checking the 20 tests before publishing', async () => {
    const dir = jaffleCopy();
    const r = await runIn(dir, { date: DATE });
    expect(r.code, explain(r)).toBe(0);

    // `materialized: table` for the project, `materialized: view` for models/staging/
    expect(await publishedRelations(warehouse(dir))).toEqual({
      tables: ['customers', 'orders', 'raw_customers', 'raw_orders', 'raw_payments'],
      views: ['stg_customers', 'stg_orders', 'stg_payments'],
    });
    expect(await count(dir, 'customers')).toBe(100);
    expect(await count(dir, 'orders')).toBe(99);

    // The properties files' tests ran as the models' checks, inside the run, and passed.
    const checks = await checksOfRun(dir, runIdOf(r.events));
    expect(checks).toHaveLength(20);
    expect(perModel(checks)).toEqual(TESTS_PER_MODEL);
    expect(checks.every((c) => c.status === 'passed' && c.command === 'run'), JSON.stringify(checks, null, 2)).toBe(true);
    expect(eventsOfType(r.events, 'check-failed')).toEqual([]);

    // pipe test runs the same 20 against the published relations.
    const t = await testIn(dir, { date: DATE });
    expect(t.code, explain(t)).toBe(0);
    const tested = await checksOfRun(dir, runIdOf(t.events));
    expect(perModel(tested)).toEqual(TESTS_PER_MODEL);
    expect(tested.every((c) => c.status === 'passed')).toBe(true);
  });

  it('a duplicate customer id fails stg_customers’ unique test and customers keeps its previous rows', async () => {
    const dir = jaffleCopy();
    const first = await runIn(dir, { date: DATE });
    expect(first.code, explain(first)).toBe(0);
    const before = await sortedRows(warehouse(dir), 'customers');
    expect(before).toHaveLength(100);

    // Customer 2 arrives with the id of customer 1.
    const seed = join(dir, 'seeds/raw_customers.csv');
    writeFileSync(seed, readFileSync(seed, 'utf8').replace(/^2,/m, '1,'));

    const r = await runIn(dir, { date: DATE });
    expect(r.code, explain(r)).toBe(1);
    const failed = eventsOfType(r.events, 'check-failed').map((e) => ({
      model: taskOf(e).model,
      check: String((e.failure as { check: string }).check),
      severity: (e.failure as { severity: string }).severity,
    }));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ model: 'stg_customers', severity: 'error' });
    expect(failed[0].check).toMatch(/unique/);
    expect(failed[0].check).toMatch(/customer_id/);
    expect(eventsOfType(r.events, 'task-failed').map((e) => taskOf(e).model)).toEqual(['stg_customers']);
    expect(eventsOfType(r.events, 'task-skipped').map((e) => taskOf(e).model)).toContain('customers');

    // The bad row reached the raw seed, not the mart: customers is the table of the first run.
    expect(await queryRows(warehouse(dir), 'SELECT count(*)::INTEGER AS n FROM raw_customers WHERE id = 1')).toEqual([{ n: 2 }]);
    expect(await sortedRows(warehouse(dir), 'customers')).toEqual(before);
  });
});
