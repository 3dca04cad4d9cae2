import { it } from 'vitest';
import { DuckDBSession } from '../src/warehouse/duckdb/duckdb-warehouse.js';
import { copyExample } from './e2e/helpers.js';
import { runIn } from './support/in-process.js';
import { writeFileSync } from 'node:fs';

const stats = new Map<string, { n: number; t: number }>();
let on = false;
for (const m of ['exec', 'query', 'table'] as const) {
  const orig = (DuckDBSession.prototype as any)[m];
  (DuckDBSession.prototype as any)[m] = async function (sql: string) {
    const t0 = performance.now();
    const stack = (new Error().stack ?? '').split('\n').slice(2, 7).map((l) => l.trim().replace(/.*\/src\//, '').replace(/\)$/, '')).filter((l) => !l.includes('node_modules') && !l.includes('node:')).join(' < ');
    try { return await orig.call(this, sql); } finally {
      if (on && /^DESCRIBE|change_0|duckdb_functions/.test(sql.replace(/^\s+/, '').slice(0, 300).replace(/.*(change_0|duckdb_functions).*/s, '$1'))) {
        const key = sql.replace(/\s+/g, ' ').slice(0, 50) + ' @ ' + stack;
        const s = stats.get(key) ?? { n: 0, t: 0 }; s.n++; s.t += performance.now() - t0; stats.set(key, s);
      }
    }
  };
}
it('trace', async () => {
  await runIn(copyExample(), { date: '2024-01-02' });
  on = true;
  await runIn(copyExample(), { date: '2024-01-02' });
  const all = [...stats].sort((a, b) => b[1].t - a[1].t);
  writeFileSync('/tmp/trace2.txt', all.map(([k, v]) => `${v.t.toFixed(1).padStart(6)} ${v.n} ${k}`).join('\n'));
}, 120000);
