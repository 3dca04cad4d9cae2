import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyExample, explain, removeTempDirs, sortedRows, warehouseOf, writeProjectFiles } from './helpers.js';
import { cliIn } from '../support/cli-in-process.js';

afterAll(removeTempDirs);

/**
 * A malformed seed or seed config stops `pipe run` with exit 2 before anything runs, at the file's
 * line (the command line parsed and run by the CLI in the test's process).
 */
describe('pipe run with a malformed seed', () => {
  it('refuses a broken CSV and a misspelt column type at their lines, keeping the loaded seeds', async () => {
    const dir = copyExample();
    const loaded = await cliIn(['run', '--date', '2024-01-02', '--project', dir]);
    expect(loaded.code, explain(loaded)).toBe(0);
    const customers = await sortedRows(warehouseOf(dir), 'raw_customers');

    const csv = readFileSync(join(dir, 'seeds/raw_customers.csv'), 'utf8').split('\n');
    csv[2] = csv[2].replace(',', ',"');
    writeProjectFiles(dir, {
      'seeds/raw_customers.csv': csv.join('\n'),
      'seeds/raw_products.yaml': 'description: The product catalogue, prices in cents.\ncolumn_types:\n  price_cents: INTEGR\n',
    });
    const r = await cliIn(['run', '--date', '2024-01-02', '--project', dir]);
    expect(r.code, explain(r)).toBe(2);
    expect(r.stdout).not.toContain('START');
    const errors = r.stderr.split('\n').filter((l) => l.includes(': error: '));
    expect(errors.sort()).toEqual([
      'seeds/raw_customers.csv:3: error: a quoted field is never closed (a " opens it and no " ends it)',
      "seeds/raw_products.yaml:3: error: column_types: 'INTEGR' (column price_cents) is not a DuckDB type",
    ]);
    expect(r.stderr).not.toMatch(/Possible fixes|sniffing|Invalid Input Error/);
    expect(await sortedRows(warehouseOf(dir), 'raw_customers')).toEqual(customers);
  });
});
