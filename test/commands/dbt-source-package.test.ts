import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/execute/engine.js';
import { runIn } from '../support/in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * A dbt source package in the shape of Fivetran's, installed and configured by a project, run
 * in-process on a real DuckDB file: the fixture test/dbt-compat/compare.sh builds with
 * dbt-duckdb too, with the same tables as the outcome.
 */

describe('a source package configured by the project that installs it', () => {
  it('builds from the tables the project points it at, with its vars (test/fixtures/dbt/package-vars, which dbt-duckdb builds the same)', async () => {
    const dir = tempProject();
    const fixture = fileURLToPath(new URL('../fixtures/dbt/package-vars', import.meta.url));
    cpSync(fixture, dir, { recursive: true });
    const warehouse = await Engine.open(join(dir, 'crm.duckdb'));
    const setup = await warehouse.session();
    await setup.exec(readFileSync(join(dir, 'setup.sql'), 'utf8'));
    setup.close();
    warehouse.close();

    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, r.stderr).toBe(0);
    const built = await Engine.open(join(dir, 'crm.duckdb'), { readOnly: true });
    const s = await built.session();
    try {
      // Deal i (1 to 20, amount 10 i) belongs to account 1 + i % 5.
      expect(await s.query('select * from main.account_revenue order by account_id')).toEqual([
        { account_id: '1', account_name: 'ACCOUNT 1', currency: 'USD', revenue: '500', deals: '4' },
        { account_id: '2', account_name: 'ACCOUNT 2', currency: 'USD', revenue: '340', deals: '4' },
        { account_id: '3', account_name: 'ACCOUNT 3', currency: 'USD', revenue: '380', deals: '4' },
        { account_id: '4', account_name: 'ACCOUNT 4', currency: 'USD', revenue: '420', deals: '4' },
        { account_id: '5', account_name: 'ACCOUNT 5', currency: 'USD', revenue: '460', deals: '4' },
      ]);
    } finally {
      s.close();
      built.close();
    }
  });
});
