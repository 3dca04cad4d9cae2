import { afterAll, describe, expect, it } from 'vitest';
import { queryRows, removeTempDirs, tempDir, warehouseOf, writeProjectFiles } from '../e2e/helpers.js';
import { runIn } from '../support/in-process.js';

afterAll(removeTempDirs);

/**
 * persist_docs and enforced contracts on a real warehouse, compared with what dbt-duckdb 1.9
 * leaves: the same comments in duckdb_tables() and duckdb_columns() (an undescribed column
 * with an empty one), the same table of differences for a broken contract, and the table
 * created with the contract's column order and constraints.
 */

function project(files: Record<string, string>): string {
  const dir = tempDir();
  writeProjectFiles(dir, { 'pipe.yaml': 'warehouse: warehouse.duckdb\n', 'dbt_project.yml': 'name: shop\nmodels:\n  +materialized: table\n  +persist_docs: {relation: true, columns: true}\n', ...files });
  return dir;
}

const PROPERTIES = `version: 2
models:
  - name: orders
    description: "Every order, once"
    columns:
      - name: id
        description: "The order's id"
      - name: amount
      - name: not_a_column
        description: "passed over"
  - name: order_view
    description: "Orders as a view"
    columns:
      - name: id
        description: "The id, again"
`;

describe('persist_docs', () => {
  it("comments a table and a view and their columns, as dbt-duckdb does", async () => {
    const dir = project({
      'models/orders.sql': 'select 1 as id, 2.5 as amount',
      'models/order_view.sql': "{{ config(materialized='view') }}\nselect id from {{ ref('orders') }}",
      'models/schema.yml': PROPERTIES,
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    // A column documented that the table has not is passed over, with a warning at its entry, as dbt-duckdb warns of it.
    expect(r.stderr.split('\n').filter((l) => /warning|error/.test(l))).toEqual(['models/schema.yml:9: warning: orders: persist_docs documents a column its relation does not have, passed over: not_a_column']);
    expect(r.code).toBe(0);
    const db = warehouseOf(dir);
    expect(await queryRows(db, "SELECT table_name AS name, comment FROM duckdb_tables() WHERE schema_name = 'main' UNION ALL SELECT view_name, comment FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal ORDER BY name")).toEqual([
      { name: 'order_view', comment: 'Orders as a view' },
      { name: 'orders', comment: 'Every order, once' },
    ]);
    expect(await queryRows(db, "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = 'main' AND database_name = current_database() AND table_name IN ('orders', 'order_view') ORDER BY table_name, column_index")).toEqual([
      { table_name: 'order_view', column_name: 'id', comment: 'The id, again' },
      { table_name: 'orders', column_name: 'id', comment: "The order's id" },
      { table_name: 'orders', column_name: 'amount', comment: '' },
    ]);
  });
});

describe('contracts', () => {
  const contract = (columns: string) => `version: 2
models:
  - name: orders
    config:
      contract: {enforced: true}
    columns:
${columns}`;

  it("a query whose columns differ from the contract's fails with dbt's table of differences, and publishes nothing", async () => {
    const dir = project({
      'models/orders.sql': "select 1 as id, 'x' as code, 3 as extra",
      'models/orders.yml': contract('      - name: id\n        data_type: bigint\n      - name: code\n        data_type: text\n      - name: missing\n        data_type: date\n'),
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`| column_name | definition_type | contract_type | mismatch_reason       |
    | ----------- | --------------- | ------------- | --------------------- |
    | id          | INTEGER         | BIGINT        | data type mismatch    |
    | extra       | INTEGER         |               | missing in contract   |
    | missing     |                 | DATE          | missing in definition |`);
    // At the first column whose type differs, its data_type line (the contract's own line where none does).
    expect(r.stdout).toContain('at models/orders.yml:8');
    expect(await queryRows(warehouseOf(dir), "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'orders'")).toEqual([{ n: '0' }]);
  });

  it("a query's own error is told at its line of the model's file, as without a contract", async () => {
    const dir = project({
      'models/orders.sql': "{{ config(\n  materialized='table'\n) }}\nwith o as (select 1 as id)\nselect\n  id,\n  nosuch\nfrom o\n",
      'models/orders.yml': contract('      - name: id\n        data_type: int\n      - name: nosuch\n        data_type: int\n'),
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Referenced column "nosuch" not found');
    expect(r.stdout).toContain('models/orders.sql:7:   nosuch');
    expect(r.stdout).not.toContain('LINE ');
  });

  it("a table keeps the contract's column order and enforces its constraints", async () => {
    const dir = project({
      'models/orders.sql': "select 'x' as code, id from (values (1), (NULL)) t(id)",
      // A data_type is rendered, as dbt renders it (projects pick a type per adapter).
      'models/orders.yml': contract(
        "      - name: id\n        data_type: \"{{ 'UInt8' if target.type == 'clickhouse' else 'int' }}\"\n        constraints: [{type: not_null}]\n      - name: code\n        data_type: varchar\n",
      ),
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('NOT NULL constraint failed');
    writeProjectFiles(dir, { 'models/orders.sql': "select 'x' as code, 1 as id" });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    expect(await queryRows(warehouseOf(dir), "SELECT column_name, is_nullable FROM duckdb_columns() WHERE table_name = 'orders' ORDER BY column_index")).toEqual([
      { column_name: 'id', is_nullable: false },
      { column_name: 'code', is_nullable: true },
    ]);
  });

  it('a data_type DuckDB does not know is reported at its column before anything runs', async () => {
    const dir = project({
      'models/orders.sql': 'select 1 as id',
      'models/orders.yml': contract('      - name: id\n        data_type: integr\n'),
    });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("models/orders.yml:8: error: data_type 'integr' of column id is not a DuckDB type: Type with name integr does not exist!");
  });
});
