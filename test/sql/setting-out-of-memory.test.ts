import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DiagnosticError } from '../../src/diagnostics/diagnostics.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { NO_SETUP, type WarehouseSetup } from '../../src/warehouse/warehouse-setup.js';

/**
 * A memory_limit under what DuckDB holds as a connection takes the setting (pipe sets it on
 * every connection, and a run's other connections may be running queries): DuckDB out of
 * memory, to be said as such (report.ts: what to raise, whether anything ran), not a setting
 * DuckDB refuses. Which of the two a run with a tiny memory_limit met first depended on when
 * its connections opened.
 */

const dirs: string[] = [];
let warehouse: DuckDBWarehouse | undefined;
afterEach(() => {
  warehouse?.close();
  warehouse = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const setup = (settings: WarehouseSetup['settings']): WarehouseSetup => ({ ...NO_SETUP, settings });
const at = { owner: 'pipe.yaml', at: { file: 'pipe.yaml', line: 4 } };

describe('a setting DuckDB cannot take', () => {
  it('for want of memory is DuckDB out of memory, not a refused setting', async () => {
    warehouse = await DuckDBWarehouse.open(':memory:', { setup: setup([{ name: 'memory_limit', value: '1KB', source: at }]) });
    // Memory held beyond the limit as a connection takes the setting (a run's other connections
    // busy with queries do that): here a table in memory, made under a limit raised for it.
    const s = await warehouse.session();
    await s.exec("SET memory_limit = '1GB'");
    await s.exec('CREATE TABLE t AS SELECT range AS id, range::VARCHAR AS v FROM range(1000000)');
    const failure = await warehouse.session().then(
      (other) => {
        other.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    s.close();
    expect(failure).toBeInstanceOf(Error);
    expect(failure).not.toBeInstanceOf(DiagnosticError);
    expect((failure as Error).message).toMatch(/^Out of Memory Error: /);
  });

  it('that it refuses is still said at the line that asks for it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipe-setting-oom-'));
    dirs.push(dir);
    const failure = await DuckDBWarehouse.open(join(dir, 'w.duckdb'), { setup: setup([{ name: 'memory_limt', value: '1GB', source: at }]) }).then(
      (w) => {
        warehouse = w;
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(DiagnosticError);
    const [d] = (failure as DiagnosticError).diagnostics;
    expect(d.message).toContain("settings: DuckDB refuses the setting 'memory_limt'");
    expect(d.location).toEqual({ file: 'pipe.yaml', line: 4 });
    expect(d.hint).toBe("did you mean 'memory_limit'?");
  });
});
