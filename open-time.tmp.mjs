import { DuckDBInstance } from '@duckdb/node-api';
const p = process.argv[2];
for (let i = 0; i < 4; i++) {
  const t = performance.now();
  const inst = await DuckDBInstance.create(p);
  const t1 = performance.now();
  const c = await inst.connect();
  const r = await c.runAndReadAll('select count(*) from duckdb_tables()');
  const t2 = performance.now();
  c.closeSync(); inst.closeSync();
  console.log('open', (t1 - t).toFixed(0), 'ms; first query', (t2 - t1).toFixed(0), 'ms', r.getRows()[0]);
}
