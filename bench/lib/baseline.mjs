/**
 * The raw-DuckDB baseline: runs a list of SQL statements (written by `probe.mjs plan`, i.e.
 * exactly what pipe executes, less its own run-state records) in order on ONE connection.
 *
 *   node baseline.mjs statements.json warehouse.duckdb
 *
 * Prints {"ms": …}: the time from opening the database to closing it.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '@duckdb/node-api';

const [file, dbPath] = process.argv.slice(2);
const { statements, queries } = JSON.parse(readFileSync(file, 'utf8'));
const reads = new Set(queries);
const started = performance.now();
const instance = await DuckDBInstance.create(dbPath);
const connection = await instance.connect();
for (let i = 0; i < statements.length; i++) {
  if (reads.has(i)) await connection.runAndReadAll(statements[i]);
  else await connection.run(statements[i]);
}
connection.closeSync();
instance.closeSync();
console.log(JSON.stringify({ ms: performance.now() - started, statements: statements.length }));
