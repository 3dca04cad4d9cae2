import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { QueryReadsCache } from '../../src/state/query-reads-cache.js';
import { readAll, readerOf, untrackedReads } from '../../src/state/query-reads.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import type { WarehouseSession } from '../../src/warehouse/warehouse.js';
import { removeTempDirs, tempDir } from '../e2e/helpers.js';

/**
 * What a query reads is judged once and kept beside the warehouse: a later process takes the
 * judgement from there instead of parsing the query again, and an entry that was damaged is
 * judged again, never believed.
 */

let warehouse: DuckDBWarehouse | undefined;
let s: WarehouseSession | undefined;
afterEach(() => {
  s?.close();
  warehouse?.close();
  removeTempDirs();
});

async function open(): Promise<WarehouseSession> {
  warehouse = await DuckDBWarehouse.open(':memory:');
  s = await warehouse.session();
  return s;
}

const readerKey = async (session: WarehouseSession) => (await readerOf(session)).key;
// Every test uses SQL hashes of its own: the judgements of this process are remembered by hash too.
const unique = (name: string) => `${name}-${process.hrtime.bigint()}`;

describe('judgements of what a query reads, kept between processes', () => {
  it('keeps what a run judged, for the next process to read back', async () => {
    const session = await open();
    const dir = tempDir();
    const tracked = { sqlHash: unique('tracked'), sql: 'select * from "main"."orders"', known: ['"main"."orders"'] };
    const untracked = { sqlHash: unique('untracked'), sql: 'select * from "main"."orders" join main.customers using (id)', known: ['"main"."orders"'] };
    const broken = { sqlHash: unique('broken'), sql: 'select from where', known: [] };
    const cache = new QueryReadsCache(dir);
    await readAll(session, [tracked, untracked, broken], cache);
    cache.flush();
    expect(await untrackedReads(session, tracked.sqlHash, tracked.sql, tracked.known)).toBeUndefined();
    expect(await untrackedReads(session, untracked.sqlHash, untracked.sql, untracked.known)).toMatch(/reads main\.customers/);
    const reader = await readerKey(session);
    const later = new QueryReadsCache(dir);
    expect(later.judgement(QueryReadsCache.key(reader, tracked.sqlHash, tracked.known))).toBeNull();
    expect(later.judgement(QueryReadsCache.key(reader, untracked.sqlHash, untracked.known))).toMatch(/reads main\.customers/);
    // A query DuckDB cannot parse is not kept: it is parsed again next time.
    expect(later.judgement(QueryReadsCache.key(reader, broken.sqlHash, broken.known))).toBeUndefined();
    // Another reader (DuckDB, warehouse database, functions: see readerOf), or other known relations, is another judgement.
    expect(later.judgement(QueryReadsCache.key('another', tracked.sqlHash, tracked.known))).toBeUndefined();
    expect(later.judgement(QueryReadsCache.key(reader, tracked.sqlHash, []))).toBeUndefined();
  });

  it("tracks a source's table function call as written, an argument with a backslash too (delim = '\\t')", async () => {
    const session = await open();
    const call = "read_csv('/data/ranks.txt.gz', delim = '\\t', header = true, columns = {'#pos': 'BIGINT'})";
    const query = { sqlHash: unique('tab'), sql: `with source as (select * from ${call}) select * from source`, known: [call] };
    expect(await untrackedReads(session, query.sqlHash, query.sql, query.known)).toBeUndefined();
    const other = { sqlHash: unique('other'), sql: "select * from read_csv('/data/other.csv', delim = '\\t')", known: [call] };
    expect(await untrackedReads(session, other.sqlHash, other.sql, other.known)).toMatch(/calls read_csv\(\), which pipe cannot track/);
    // A file whose path is part of the source's is another file; a keyword argument (header = true) is no text of the call.
    const gz = "read_csv('/data/clicks.csv.gz', header = true)";
    const part = { sqlHash: unique('part'), sql: `select * from ${gz} union all select * from read_csv('/data/clicks.csv', header = true)`, known: [gz] };
    expect(await untrackedReads(session, part.sqlHash, part.sql, part.known)).toMatch(/calls read_csv\(\), which pipe cannot track/);
    const same = { sqlHash: unique('same'), sql: `-- les clics, déjà chargés\nselect * from ${gz}`, known: [gz] };
    expect(await untrackedReads(session, same.sqlHash, same.sql, same.known)).toBeUndefined();
  });

  it('judges a query whose constants are not finite numbers, which DuckDB writes into its tree as no JSON has them', async () => {
    const session = await open();
    for (const constant of ['1e400', '-1e400', "'nan'::double", "'Infinity' as \"NaN\""]) {
      const query = { sqlHash: unique('inf'), sql: `select ${constant}, 'Infinity' as t, * from "main"."orders"`, known: ['"main"."orders"'] };
      expect(await untrackedReads(session, query.sqlHash, query.sql, query.known), constant).toBeUndefined();
    }
  });

  it('takes a kept judgement without parsing the query, and judges again an entry that was damaged', async () => {
    const session = await open();
    const reader = await readerKey(session);
    const dir = tempDir();
    const query = { sqlHash: unique('kept'), sql: 'select 1 as x', known: [] as string[] };
    const damaged = { sqlHash: unique('damaged'), sql: 'select 2 as x', known: [] as string[] };
    // Judgements no parse of these queries would give: a run that reads them read them from the store.
    const store = new QueryReadsCache(dir);
    store.keep(QueryReadsCache.key(reader, query.sqlHash, query.known), 'kept: its query reads main.elsewhere');
    store.keep(QueryReadsCache.key(reader, damaged.sqlHash, damaged.known), 'kept: damaged');
    store.flush();
    const [pack] = readdirSync(dir).filter((f) => f.endsWith('.pack'));
    writeFileSync(join(dir, pack), readFileSync(join(dir, pack), 'utf8').replace('kept: damaged', 'kept: DAMAGED'));
    await readAll(session, [query, damaged], new QueryReadsCache(dir));
    expect(await untrackedReads(session, query.sqlHash, query.sql, query.known)).toBe('kept: its query reads main.elsewhere');
    expect(await untrackedReads(session, damaged.sqlHash, damaged.sql, damaged.known)).toBeUndefined();
  });

  it('asks the engine for what it knows once per connection: a view of the connection (a batch of commits) shares it', async () => {
    const session = await open();
    let asked = 0;
    const counting = (over: WarehouseSession): WarehouseSession => ({ ...over, query: (sql) => (asked++, over.query(sql)), sessionOfConnection: session });
    await readerOf(session);
    const before = asked;
    // Two batches' views of the connection, one after the other: neither asks again (duckdb_functions() takes some 20 ms).
    await readerOf(counting(session));
    await readerOf(counting(session));
    expect(asked).toBe(before);
  });

  it("judges each query by its own tree, whatever order a project's settings make the default", async () => {
    const session = await open();
    await session.exec("SET default_order = 'desc'");
    const tracked = { sqlHash: unique('tracked'), sql: 'select * from "main"."orders"', known: ['"main"."orders"'] };
    const untracked = { sqlHash: unique('untracked'), sql: 'select * from main.elsewhere', known: ['"main"."orders"'] };
    await readAll(session, [tracked, untracked]);
    expect(await untrackedReads(session, tracked.sqlHash, tracked.sql, tracked.known)).toBeUndefined();
    expect(await untrackedReads(session, untracked.sqlHash, untracked.sql, untracked.known)).toMatch(/reads main\.elsewhere/);
  });

  it("judges a query again once the catalog's functions change: a macro it calls may now be defined, or shadow DuckDB's own", async () => {
    const session = await open();
    const before = await readerKey(session);
    await session.exec('CREATE MACRO abs(x) AS 42');
    const later = await warehouse!.session();
    try {
      const reader = await readerOf(later);
      expect(reader.key).not.toBe(before);
      expect(reader.functions.defined.has('abs')).toBe(true);
      const query = { sqlHash: unique('shadowed'), sql: 'select abs(-1) as x', known: [] as string[] };
      expect(await untrackedReads(later, query.sqlHash, query.sql, query.known)).toMatch(/calls abs\(\)/);
    } finally {
      later.close();
    }
  });

  it('asks once for all the sessions of an instance, and again after a statement of any of them may have changed the functions', async () => {
    const first = await open();
    const second = await warehouse!.session();
    const third = await warehouse!.session();
    try {
      const asked = readerOf(first);
      expect(readerOf(second)).toBe(asked);
      await asked;
      // A persistent macro made by another session: every session's next judgement sees it.
      await second.exec('CREATE OR REPLACE MACRO upper(x) AS 42');
      const after = await readerOf(first);
      expect(after.key).not.toBe((await asked).key);
      expect(after.functions.defined.has('upper')).toBe(true);
      const query = { sqlHash: unique('upper'), sql: "select upper('a') as x", known: [] as string[] };
      expect(await untrackedReads(third, query.sqlHash, query.sql, query.known)).toMatch(/calls upper\(\)/);
    } finally {
      second.close();
      third.close();
    }
  });

  it("takes a session's temporary macro from its own reader, which the other sessions do not share", async () => {
    const first = await open();
    const second = await warehouse!.session();
    try {
      await readerOf(first);
      // Named like the function the question for the functions itself calls: it still lists them.
      await second.exec('CREATE TEMP MACRO lower(x) AS 43');
      expect((await readerOf(second)).functions.defined.has('lower')).toBe(true);
      const query = { sqlHash: unique('lower'), sql: "select lower('a') as x", known: [] as string[] };
      expect(await untrackedReads(second, query.sqlHash, query.sql, query.known)).toMatch(/calls lower\(\)/);
      // The first session has no such macro: DuckDB's own lower() is what its queries call.
      expect((await readerOf(first)).functions.defined.has('lower')).toBe(false);
      expect(await untrackedReads(first, query.sqlHash, query.sql, query.known)).toBeUndefined();
    } finally {
      second.close();
    }
  });
});

describe('what a query reads, as DuckDB parses it', () => {
  it("a SHOW of the catalog (tables, all tables, databases) reads what pipe cannot track; DESCRIBE and SUMMARIZE of a relation it knows read that relation", async () => {
    const session = await open();
    for (const [sql, shown] of [
      ['select name from (show tables)', 'TABLES'],
      ['select name from (show all tables)', 'ALL TABLES'],
      ['select * from (show databases)', 'DATABASES'],
    ]) {
      expect(await untrackedReads(session, unique('show'), sql, [])).toBe(`its query reads the warehouse's catalog (SHOW ${shown}), which pipe cannot track`);
    }
    for (const sql of ['select column_name from (describe "main"."orders")', 'select * from (summarize "main"."orders")']) {
      expect(await untrackedReads(session, unique('described'), sql, ['"main"."orders"'])).toBeUndefined();
    }
  });
});

describe("the queries of a model's dates", () => {
  const dated = (day: string, sql: string, known: string[]) => ({ sqlHash: unique(day), sql: sql.replaceAll('DAY', day), known });
  const DAYS = ['2024-01-01', '2024-01-02', '2024-01-03'];

  it('that differ in their dates alone are judged alike, the dates in their literals or their comments', async () => {
    const session = await open();
    const tracked = DAYS.map((d) => dated(d, "-- built for DAY\nselect * from \"main\".\"orders\" where day = 'DAY'", ['"main"."orders"']));
    const untracked = DAYS.map((d) => dated(d, "select * from \"main\".\"orders\" join main.customers using (id) where day = 'DAY'", ['"main"."orders"']));
    await readAll(session, [...tracked, ...untracked]);
    for (const q of tracked) expect(await untrackedReads(session, q.sqlHash, q.sql, q.known)).toBeUndefined();
    for (const q of untracked) expect(await untrackedReads(session, q.sqlHash, q.sql, q.known)).toMatch(/reads main\.customers/);
  });

  it("are judged each when a table's name or a table function's argument holds the date: another date reads another table", async () => {
    const session = await open();
    // The first date's table is a known input; the others' are not.
    const tables = DAYS.map((d) => dated(d, 'select * from "raw"."events_DAY"', ['"raw"."events_2024-01-01"']));
    const files = DAYS.map((d) => dated(d, "select * from read_csv('/landing/DAY.csv')", ["read_csv('/landing/2024-01-01.csv')"]));
    await readAll(session, [...tables, ...files]);
    const verdicts = async (qs: typeof tables) => Promise.all(qs.map((q) => untrackedReads(session, q.sqlHash, q.sql, q.known)));
    expect(await verdicts(tables)).toEqual([undefined, expect.stringMatching(/reads raw\.events_2024-01-02, which no ref/), expect.stringMatching(/reads raw\.events_2024-01-03, which no ref/)]);
    expect(await verdicts(files)).toEqual([undefined, expect.stringMatching(/calls read_csv\(\)/), expect.stringMatching(/calls read_csv\(\)/)]);
  });
});

describe("a warehouse file's functions, kept between processes", () => {
  /** A session of a warehouse of `path` that counts the questions for the functions it is asked. */
  async function counted(path: string): Promise<{ session: WarehouseSession; asked: () => number }> {
    warehouse = await DuckDBWarehouse.open(path);
    const inner = await warehouse.session();
    s = inner;
    let asked = 0;
    // Its scope is the session's own (a getter of the instance it shares): only its questions are counted.
    const session = Object.create(inner) as WarehouseSession;
    Object.defineProperty(session, 'query', { value: (sql: string) => (/duckdb_functions\(\)/.test(sql) && asked++, inner.query(sql)) });
    return { session, asked: () => asked };
  }
  const reopen = async (path: string) => {
    s?.close();
    warehouse?.close();
    return counted(path);
  };

  it('are read back by the next open of the file unless anything wrote it since: a macro another program made there is asked again', async () => {
    // A name of its own: a new file of a name this process made before is not asked (see below).
    const path = join(tempDir(), `${unique('w')}.duckdb`);
    let { session, asked } = await counted(path);
    expect((await readerOf(session)).functions.builtin.has('upper')).toBe(true);
    expect(asked()).toBe(1);
    // Closed with nothing changed: the next process asks nothing, and judges alike.
    ({ session, asked } = await reopen(path));
    const kept = await readerOf(session);
    expect(asked()).toBe(0);
    expect(kept.functions.builtin.has('upper')).toBe(true);
    expect(kept.functions.defined.has('upper')).toBe(false);
    // Another program writes a macro into the file: the file's stamp is not the kept one.
    s?.close();
    warehouse?.close();
    const other = await DuckDBWarehouse.open(path);
    const raw = await other.session();
    await raw.exec('CREATE MACRO main.upper(x) AS 42');
    raw.close();
    other.close();
    ({ session, asked } = await counted(path));
    const after = await readerOf(session);
    expect(asked()).toBe(1);
    expect(after.functions.defined.has('upper')).toBe(true);
    expect(after.key).not.toBe(kept.key);
    const query = { sqlHash: unique('kept-upper'), sql: "select upper('a') as x", known: [] as string[] };
    expect(await untrackedReads(session, query.sqlHash, query.sql, query.known)).toMatch(/calls upper\(\)/);
  });

  it('are not kept by a process that may have changed them (a macro dropped), and a damaged keep is asked again', async () => {
    const path = join(tempDir(), `${unique('w')}.duckdb`);
    let { session, asked } = await counted(path);
    await session.exec('CREATE MACRO main.twice(x) AS x * 2');
    expect((await readerOf(session)).functions.defined.has('twice')).toBe(true);
    ({ session, asked } = await reopen(path));
    expect((await readerOf(session)).functions.defined.has('twice')).toBe(true);
    // Dropped: what the process found before is not kept for the next one.
    await session.exec('DROP MACRO main.twice');
    ({ session, asked } = await reopen(path));
    expect((await readerOf(session)).functions.defined.has('twice')).toBe(false);
    expect(asked()).toBe(1);
    // A keep cut short, or one whose lists are not lists, is asked again, never read.
    s?.close();
    warehouse?.close();
    const keep = join(dirname(path), '.pipe', basename(path), 'functions.json');
    const whole = readFileSync(keep, 'utf8');
    for (const damaged of [whole.slice(0, 200), whole.replace(/"builtin":\[/, '"builtin":7,"x":[')]) {
      s?.close();
      warehouse?.close();
      expect(damaged).not.toBe(whole);
      writeFileSync(keep, damaged);
      ({ session, asked } = await counted(path));
      expect((await readerOf(session)).functions.builtin.has('upper')).toBe(true);
      expect(asked()).toBe(1);
    }
    // A write whose words may make a macro, read loosely (here only a comment's): what the
    // process took over from the last is not kept again for the next.
    ({ session, asked } = await reopen(path));
    await readerOf(session);
    expect(asked()).toBe(0);
    await session.exec('create table notes as select 1 as x -- to drop when the function is ready');
    ({ session, asked } = await reopen(path));
    await readerOf(session);
    expect(asked()).toBe(1);
  });

  it("of a file this process creates are DuckDB's alone: asked once for the new files of one name, never for a file that was there", async () => {
    const name = `${unique('fresh')}.duckdb`;
    let { session, asked } = await counted(join(tempDir(), name));
    const first = await readerOf(session);
    expect(asked()).toBe(1);
    // Another new file of that name, elsewhere: nothing asked, the same functions and database.
    ({ session, asked } = await reopen(join(tempDir(), name)));
    const second = await readerOf(session);
    expect(asked()).toBe(0);
    expect(second.key).toBe(first.key);
    expect(second.catalog).toBe(first.catalog);
    // One of another name is another database: asked.
    ({ session, asked } = await reopen(join(tempDir(), `${unique('other')}.duckdb`)));
    await readerOf(session);
    expect(asked()).toBe(1);
    // A file of that name another program made, with a macro in it, is not a new one: asked, and its macro found.
    s?.close();
    warehouse?.close();
    const made = join(tempDir(), name);
    const other = await DuckDBWarehouse.open(made);
    const raw = await other.session();
    await raw.exec('CREATE MACRO main.upper(x) AS 42');
    raw.close();
    other.close();
    rmSync(join(dirname(made), '.pipe'), { recursive: true, force: true });
    ({ session, asked } = await counted(made));
    const found = await readerOf(session);
    expect(asked()).toBe(1);
    expect(found.functions.defined.has('upper')).toBe(true);
    // A new file whose first process made a macro in it: the next new file of that name has none.
    ({ session, asked } = await reopen(join(tempDir(), name)));
    await session.exec('CREATE MACRO main.twice(x) AS x * 2');
    expect((await readerOf(session)).functions.defined.has('twice')).toBe(true);
    ({ session, asked } = await reopen(join(tempDir(), name)));
    expect((await readerOf(session)).functions.defined.has('twice')).toBe(false);
    expect(asked()).toBe(0);
  });

  it('answers from memory every query a call looked at, more than it keeps in a generation, and after the next call too', async () => {
    const session = await open();
    let round = 0;
    const counted = new Proxy(session, {
      get: (target, p) => (p === 'query' ? (...args: Parameters<WarehouseSession['query']>) => (round++, target.query(...args)) : Reflect.get(target, p, target)),
    });
    // Over 100,000 queries of one shape (the dates of a model), and some hundreds of others: more than a generation holds.
    const run = unique('many');
    const day = (i: number) => new Date(Date.UTC(1900, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
    const dated = Array.from({ length: 100_050 }, (_, i) => ({ sqlHash: `${run}-d${i}`, sql: `select * from "main"."orders" where ds = '${day(i)}'`, known: ['"main"."orders"'] }));
    const others = Array.from({ length: 250 }, (_, i) => ({ sqlHash: `${run}-o${i}`, sql: `select ${i} as n from "main"."orders"`, known: ['"main"."orders"'] }));
    await readAll(counted, [...dated, ...others]);
    const asked = round;
    const sample = [...dated.slice(0, 50), ...dated.slice(-50), ...others.slice(0, 20)];
    for (const q of sample) expect(await untrackedReads(counted, q.sqlHash, q.sql, q.known)).toBeUndefined();
    expect(round - asked).toBe(0);
    // Another call starts a new generation: what the one before looked at is still known.
    const next = { sqlHash: `${run}-next`, sql: 'select * from "main"."orders" join main.customers using (id)', known: ['"main"."orders"'] };
    expect(await untrackedReads(counted, next.sqlHash, next.sql, next.known)).toMatch(/reads main\.customers/);
    const after = round;
    for (const q of sample) expect(await untrackedReads(counted, q.sqlHash, q.sql, q.known)).toBeUndefined();
    expect(round - after).toBe(0);
  });
});
