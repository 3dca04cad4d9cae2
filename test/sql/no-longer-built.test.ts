import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/commands/run.js';
import type { PipeEvent } from '../../src/events/events.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { readCatalog, readRelationsOfRecordedNodes } from '../../src/warehouse/run-state.js';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function write(root: string, files: Record<string, string | null>): void {
  for (const [path, text] of Object.entries(files)) {
    if (text === null) {
      rmSync(join(root, path));
      continue;
    }
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

/** `pipe run` in-process; its events. */
async function runDay(root: string, date: string): Promise<PipeEvent[]> {
  const events: PipeEvent[] = [];
  const outcome = await run({ project: root, date, threads: 1, emit: (e) => events.push(e) });
  expect(outcome.status).toBe('succeeded');
  return events;
}

const notices = (events: readonly PipeEvent[]) => events.flatMap((e) => (e.type === 'notice' ? [e.message] : []));

describe('relations pipe no longer builds', () => {
  it('are named in one notice per run after the run starts, and never dropped', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pipe-no-longer-built-'));
    roots.push(root);
    write(root, {
      'models/a.sql': 'select 1 as id',
      'models/b.sql': 'select 2 as id',
      'models/c.sql': "{{ config(materialized='view') }}\nselect 3 as id",
      'seeds/s.csv': 'id\n1\n',
    });
    expect(notices(await runDay(root, '2024-01-01'))).toEqual([]);

    write(root, { 'models/b.sql': '{{ config(enabled=false) }}\nselect 2 as id', 'models/c.sql': null, 'seeds/s.csv': null });
    const message =
      'these are no longer built, and they are not dropped: table "main"."b" (b is disabled), view "main"."c" (c left the project), ' +
      'table "main"."s" (s left the project); drop each if nothing reads it';
    const events = await runDay(root, '2024-01-02');
    expect(notices(events)).toEqual([message]);
    expect(events.findIndex((e) => e.type === 'notice')).toBe(events.findIndex((e) => e.type === 'run-started') + 1);
    // Every run says it again, until the relations are dropped.
    expect(notices(await runDay(root, '2024-01-03'))).toEqual([message]);

    const warehouse = await DuckDBWarehouse.open(join(root, 'warehouse.duckdb'));
    const session = await warehouse.session();
    try {
      const catalog = await readCatalog(session);
      expect(['"main"."a"', '"main"."b"', '"main"."c"', '"main"."s"'].map((r) => catalog.get(r))).toEqual(['table', 'table', 'view', 'table']);
      // A run finds them in the listing its analysis read, as the query that lists them finds them.
      await session.exec('CREATE TABLE main."Other" AS SELECT 1 AS id');
      const listed = (await readCatalog(session)).listed;
      expect(listed).toBeDefined();
      const queried = await readRelationsOfRecordedNodes(session);
      expect(queried.map((r) => `${r.type} ${r.schema}.${r.name}`)).toEqual(['table main.a', 'table main.b', 'view main.c', 'table main.s']);
      expect(await readRelationsOfRecordedNodes(session, listed)).toEqual(queried);
      await session.exec('DROP TABLE main."Other"');
      await session.exec('DROP TABLE main.b');
      await session.exec('DROP VIEW main.c');
    } finally {
      session.close();
      warehouse.close();
    }
    expect(notices(await runDay(root, '2024-01-04'))).toEqual([
      'table "main"."s" (s left the project) is no longer built, and it is not dropped: drop it if nothing reads it',
    ]);
  });

  it("count a model's aliased relation as built", async () => {
    const root = mkdtempSync(join(tmpdir(), 'pipe-no-longer-built-'));
    roots.push(root);
    write(root, { 'models/orders.sql': "{{ config(alias='orders_v2') }}\nselect 1 as id" });
    expect(notices(await runDay(root, '2024-01-01'))).toEqual([]);
    expect(notices(await runDay(root, '2024-01-02'))).toEqual([]);
  });
});
