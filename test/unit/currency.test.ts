import { describe, expect, it } from 'vitest';
import { LatestBuilds, type BuildRecord } from '../../src/warehouse/build-records.js';
import { changedInputs, evaluate, type Candidate } from '../../src/state/currency.js';
import { dataVersion } from '../../src/state/data-version.js';
import { judge } from '../../src/state/query-reads.js';
import { volatileWhy } from '../../src/state/volatile.js';
import { inputVersions, ViewVersions } from '../../src/state/input-versions.js';
import type { InputRef } from '../../src/state/tracking.js';
import { Random } from '../support/random.js';
import { UNKNOWN } from '../../src/state/tracking.js';

const volatileCall = (sqlHash: string, sql: string) => volatileWhy(sqlHash, sql)?.replace('its query calls ', '');

/** The evaluation of currency, pure: builds on record against a task as it is now. */

const build = (over: Partial<BuildRecord> = {}): BuildRecord => ({
  runId: 'r1',
  taskId: 'm@2024-01-02',
  node: 'm',
  key: '2024-01-02',
  interval: { start: Date.UTC(2024, 0, 2), end: Date.UTC(2024, 0, 3) },
  sqlHash: 's1',
  configHash: 'c1',
  inputs: { 'seed:a': 'seed:h1', this: 'v0' },
  version: 'v1',
  builtAt: 1000,
  ...over,
});

const candidate = (over: Partial<Candidate> = {}): Candidate => ({
  node: 'm',
  key: '2024-01-02',
  sqlHash: 's1',
  configHash: 'c1',
  inputs: { 'seed:a': 'seed:h1', this: 'v1' },
  relationExists: true,
  ...over,
});

const latest = (...builds: BuildRecord[]) => {
  const l = new LatestBuilds();
  for (const b of builds) l.add(b);
  return l;
};

describe('evaluate', () => {
  it('is current when SQL, config and inputs are those of the latest build; its own table before it is not compared', () => {
    expect(evaluate(candidate(), latest(build())).kind).toBe('current');
  });

  it('says what differs, in order: failed, untracked, never built, dropped, modified, stale', () => {
    const l = latest(build());
    expect(evaluate(candidate({ untracked: 'its query calls now()' }), l)).toEqual({ kind: 'untracked', why: 'its query calls now()' });
    expect(evaluate(candidate({ key: '2024-01-03' }), l).kind).toBe('never-built');
    expect(evaluate(candidate({ relationExists: false }), l).kind).toBe('dropped');
    expect(evaluate(candidate({ sqlHash: 's2', configHash: 'c2' }), l)).toMatchObject({ kind: 'modified', changed: ['sql', 'config'] });
    expect(evaluate(candidate({ inputs: { 'seed:a': 'seed:h2', 'ref:b': 'x' } }), l)).toMatchObject({ kind: 'stale', changed: ['ref:b', 'seed:a'] });
    l.fail('m', '2024-01-02', { runId: 'r2', taskId: 'm@2024-01-02', at: 2000 });
    expect(evaluate(candidate(), l)).toMatchObject({ kind: 'failed', failure: { runId: 'r2' } });
    // One that always runs (its query reads its own table) and failed last: failed, with its run.
    expect(evaluate(candidate({ untracked: 'its query reads its own table' }), l)).toMatchObject({ kind: 'failed', failure: { runId: 'r2' } });
  });

  it('a failure before the latest build does not count; a later build of the same key wins', () => {
    const l = latest(build(), build({ runId: 'r3', sqlHash: 's3', builtAt: 3000 }));
    l.fail('m', '2024-01-02', { runId: 'r2', taskId: 'm@2024-01-02', at: 2000 });
    expect(evaluate(candidate({ sqlHash: 's3' }), l)).toMatchObject({ kind: 'current', build: { runId: 'r3' } });
  });

  it('a build of the whole model replaces every build of it; a reset forgets them', () => {
    const l = latest(build(), build({ key: '2024-01-03', builtAt: 1500 }));
    expect(l.buildsOf('m')).toHaveLength(2);
    l.add(build({ key: '', interval: undefined, builtAt: 2000 }));
    expect(l.buildsOf('m').map((b) => b.key)).toEqual(['']);
    l.reset('m');
    expect(evaluate(candidate({ key: '' }), l).kind).toBe('never-built');
  });

  it('an input of unknown version is never equal, not even to itself', () => {
    expect(changedInputs({ 'ref:b': UNKNOWN }, { 'ref:b': UNKNOWN })).toEqual(['ref:b']);
    expect(changedInputs({ 'ref:b': 'x', this: '1' }, { 'ref:b': 'x', this: '2' })).toEqual([]);
  });

  it('a recorded build of an untracked task is never current', () => {
    expect(evaluate(candidate(), latest(build({ untracked: 'its query calls random()' }))).kind).toBe('untracked');
  });
});

describe('data versions', () => {
  it('are content-addressed: the same SQL, config and inputs in any order give the same version', () => {
    const unique = { runId: 'r1', taskId: 't' };
    expect(dataVersion('s', 'c', { a: '1', b: '2' }, unique)).toBe(dataVersion('s', 'c', { b: '2', a: '1' }, { runId: 'r2', taskId: 'u' }));
    expect(dataVersion('s', 'c', { a: '1' }, unique)).not.toBe(dataVersion('s', 'c', { a: '2' }, unique));
  });

  it('of an untracked task or one with an unknown input are their run and task alone', () => {
    const a = dataVersion('s', 'c', { a: UNKNOWN }, { runId: 'r1', taskId: 't' });
    expect(a).not.toBe(dataVersion('s', 'c', { a: UNKNOWN }, { runId: 'r2', taskId: 't' }));
    expect(dataVersion('s', 'c', {}, { runId: 'r1', taskId: 't', untracked: 'why' })).toBe(a);
  });
});

describe('input versions', () => {
  it('of a dated input are its builds of the overlapping intervals; of a view, its build and what it reads now', async () => {
    const day = (d: number) => ({ start: Date.UTC(2024, 0, d), end: Date.UTC(2024, 0, d + 1) });
    const l = latest(
      build({ node: 'up', key: '2024-01-01', interval: day(1), version: 'u1' }),
      build({ node: 'up', key: '2024-01-02', interval: day(2), version: 'u2' }),
      build({ node: 'v', key: '', interval: undefined, version: 'view1' }),
    );
    const from = { builds: l, seedHashes: new Map([['s', 'h']]), source: async () => 'fp' };
    const one = await inputVersions([{ kind: 'partitions', key: 'p', name: 'up', interval: day(2) }], from);
    l.add(build({ node: 'up', key: '2024-01-01', interval: day(1), version: 'u1b', builtAt: 5000 }));
    expect(await inputVersions([{ kind: 'partitions', key: 'p', name: 'up', interval: day(2) }], from)).toEqual(one);
    const all = await inputVersions([{ kind: 'all-partitions', key: 'p', name: 'up' }], from);
    expect(all.p).not.toBe(UNKNOWN);
    const view = (seed: string) => inputVersions([{ kind: 'view', key: 'ref:v', name: 'v', inputs: [{ kind: 'seed', key: 'seed:s', name: seed }] }], from);
    expect((await view('s'))['ref:v']).not.toBe(UNKNOWN);
    expect((await view('gone'))['ref:v']).toBe(UNKNOWN);
    expect(await inputVersions([{ kind: 'model', key: 'ref:x', name: 'x' }, { kind: 'self', key: 'this', name: 'x' }], from)).toEqual({ 'ref:x': UNKNOWN, this: 'none' });
  });
});

describe("views' versions kept between publications", () => {
  it('are what a fresh resolution gives after every publication, kept for what the publication does not reach', async () => {
    const day = (d: number) => ({ start: Date.UTC(2024, 0, d), end: Date.UTC(2024, 0, d + 1) });
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = new Random(seed);
      // A project: seeds, tables, a dated model, and views over any of them, views over views included.
      const nodes: { name: string; kind: 'seed' | 'table' | 'dated' | 'view'; ref?: InputRef }[] = [];
      const refOf = (n: (typeof nodes)[number]): InputRef => n.ref!;
      for (let i = 0; i < 14; i++) {
        const kind = i < 2 ? 'seed' : i < 5 ? 'table' : i === 5 ? 'dated' : 'view';
        const name = `n${i}`;
        const ref: InputRef =
          kind === 'seed'
            ? { kind: 'seed', key: `seed:${name}`, name }
            : kind === 'table'
              ? { kind: 'model', key: `ref:${name}`, name }
              : kind === 'dated'
                ? { kind: 'all-partitions', key: `ref:${name}[*]`, name }
                : { kind: 'view', key: `ref:${name}`, name, inputs: [...new Set(Array.from({ length: 1 + rnd.int(3) }, () => refOf(nodes[rnd.int(nodes.length)])))] };
        nodes.push({ name, kind, ref });
      }
      const builds = new LatestBuilds();
      const seedHashes = new Map<string, string>();
      const kept = new ViewVersions();
      const views = nodes.filter((n) => n.kind === 'view').map(refOf);
      let keptSeen = 0;
      for (let step = 0; step < 60; step++) {
        // Every view asked, through the kept versions and anew, after each publication.
        const withKept = await inputVersions(views, { builds, seedHashes, source: async () => 'fp', views: kept });
        const fresh = await inputVersions(views, { builds, seedHashes, source: async () => 'fp' });
        expect(withKept, `seed ${seed} step ${step}`).toEqual(fresh);
        const before = views.map((v) => kept.get(v.key));
        // A publication: a build of any node (a view's own too), a seed loaded, or a model reset.
        const n = rnd.pick(nodes);
        if (n.kind === 'seed') seedHashes.set(n.name, `h${step}`);
        else if (n.kind === 'dated' && rnd.chance(0.2)) builds.reset(n.name);
        else builds.add(build({ node: n.name, key: n.kind === 'dated' ? String(rnd.int(3)) : '', interval: n.kind === 'dated' ? day(1 + rnd.int(3)) : undefined, version: `${n.name}.${step}`, builtAt: 1000 + step }));
        kept.changed(n.name);
        // A view that neither is nor reads the node published keeps its version.
        const reaches = (v: InputRef): boolean => v.kind !== 'source' && (v.name === n.name || (v.kind === 'view' && v.inputs.some(reaches)));
        views.forEach((v, i) => {
          if (!reaches(v) && before[i] !== undefined) {
            expect(kept.get(v.key), `seed ${seed} step ${step}: ${v.key} kept`).toBe(before[i]);
            keptSeen++;
          }
        });
      }
      expect(keptSeen).toBeGreaterThan(0);
    }
  });
});

describe('builds over an interval', () => {
  /** What buildsOver must give: every build of the node, looked at one by one. */
  const scanned = (l: LatestBuilds, node: string, start: number, end: number) =>
    l
      .buildsOf(node)
      .filter((b) => b.key !== '' && b.interval !== undefined && b.interval.start < end && start < b.interval.end)
      .map((b) => b.taskId)
      .sort();

  it('are those a scan of every build finds, as days, hours and longer intervals are published, replaced, built whole and reset', () => {
    const HOUR = 3_600_000;
    const t0 = Date.UTC(2024, 0, 1);
    // A seeded generator: the same sequence every run.
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const l = new LatestBuilds();
    let asked = 0;
    for (let step = 0; step < 4000; step++) {
      const node = `m${next(3)}`;
      const action = next(100);
      if (action < 2) l.add(build({ node, key: '', interval: undefined, taskId: `whole${step}`, builtAt: step }));
      else if (action < 3) l.reset(node);
      else {
        // A day, an hour of it, or a week starting on that day: the labels keys are made of.
        const day = next(60);
        const kind = next(10);
        const start = t0 + day * 24 * HOUR + (kind < 3 ? next(24) * HOUR : 0);
        const end = start + (kind < 3 ? HOUR : kind < 9 ? 24 * HOUR : 7 * 24 * HOUR);
        const key = `${kind < 3 ? 'h' : kind < 9 ? 'd' : 'w'}${start}`;
        l.add(build({ node, key, interval: { start, end }, taskId: `t${step}`, builtAt: step }));
      }
      const start = t0 + next(70 * 24) * HOUR - 5 * 24 * HOUR;
      const end = start + (1 + next(72)) * HOUR;
      const over = l.buildsOver(node, start, end).map((b) => b.taskId).sort();
      expect(over).toEqual(scanned(l, node, start, end));
      asked += over.length;
    }
    // The overlaps were not all empty.
    expect(asked).toBeGreaterThan(1000);
  });
});

describe('what a query reads', () => {
  const tree = (from: unknown, ctes: string[] = []) => ({ error: false, statements: [{ node: { cte_map: { map: ctes.map((key) => ({ key })) }, from_table: from } }] });
  const table = (schema: string, name: string) => ({ type: 'BASE_TABLE', schema_name: schema, table_name: name, catalog_name: '' });

  it('knows the relations ref(), source() and seeds render, and the CTEs of the query', () => {
    expect(judge(tree(table('main', 'orders')), ['"main"."orders"'])).toBeUndefined();
    expect(judge(tree(table('', 'x'), ['x']), [])).toBeUndefined();
    expect(judge(tree(table('', 'orders')), ['"main"."orders"'])).toBeUndefined();
    expect(judge(tree(table('raw', 'orders')), ['"main"."orders"'])).toBe('its query reads raw.orders, which no ref(), source() or seed gives it');
    // A plain name is in the current schema, or one of several of a search_path.
    expect(judge(tree(table('', 'orders')), ['"raw"."orders"'], { schemas: ['raw'] })).toBeUndefined();
    expect(judge(tree(table('', 'orders')), ['"main"."orders"'], { schemas: ['raw'] })).toBe('its query reads orders, which no ref(), source() or seed gives it');
    expect(judge(tree(table('', 'orders')), ['"main"."orders"'], { schemas: ['raw', 'main'] })).toBe(
      'its query reads orders by its plain name, which DuckDB looks for in the schemas of its search_path (raw, main) in turn',
    );
  });

  it("takes a table of another database for that database's, not for the warehouse's of the same schema and name", () => {
    const at = (catalog: string, schema: string, name: string) => ({ ...table(schema, name), catalog_name: catalog });
    expect(judge(tree(at('prod', 'main', 'orders')), ['"main"."orders"'], { catalog: 'wh' })).toBe('its query reads prod.main.orders, which no ref(), source() or seed gives it');
    expect(judge(tree(at('prod', 'main', 'orders')), ['"prod"."main"."orders"'], { catalog: 'wh' })).toBeUndefined();
    // The warehouse's own database, named or not, on either side.
    expect(judge(tree(at('WH', 'main', 'orders')), ['"main"."orders"'], { catalog: 'wh' })).toBeUndefined();
    expect(judge(tree(table('main', 'orders')), ['"wh"."main"."orders"'], { catalog: 'wh' })).toBeUndefined();
    expect(judge(tree(table('main', 'orders')), ['"prod"."main"."orders"'], { catalog: 'wh' })).toBe('its query reads main.orders, which no ref(), source() or seed gives it');
  });

  it("takes a call of a function that is not DuckDB's own, or that a macro shadows, for a read it cannot track", () => {
    const fn = (name: string, ...children: unknown[]) => ({ class: 'FUNCTION', type: 'FUNCTION', function_name: name, schema: '', catalog: '', children });
    const select = (...list: unknown[]) => ({ error: false, statements: [{ node: { type: 'SELECT_NODE', select_list: list, from_table: { type: 'EMPTY_FROM' } } }] });
    const functions = { builtin: new Set(['abs', 'upper', '+']), defined: new Set(['fx', 'upper']) };
    expect(judge(select(fn('abs', fn('+'))), [], { functions })).toBeUndefined();
    // A macro, defined now (by a hook, by hand) or not yet.
    expect(judge(select(fn('abs', fn('fx'))), [], { functions })).toBe("its query calls fx(), a macro or function that is not DuckDB's own, whose definition pipe cannot track");
    expect(judge(select(fn('FY')), [], { functions })).toMatch(/calls fy\(\), a macro/);
    // A macro of the name of DuckDB's own function is what the query calls.
    expect(judge(select(fn('upper')), [], { functions })).toMatch(/calls upper\(\), a macro/);
    // A table macro is a table function: judged as one, by its name as written.
    const tableMacro = { type: 'TABLE_FUNCTION', function: fn('tm') };
    expect(judge(tree(tableMacro), [], { functions })).toBe('its query calls tm(), which pipe cannot track');
  });

  it('takes a table function for a read it cannot track, unless a source renders it or it reads nothing', () => {
    const call = (name: string, arg: string) => ({ type: 'TABLE_FUNCTION', function: { function_name: name, children: [{ class: 'CONSTANT', value: { type: { id: 'VARCHAR' }, is_null: false, value: arg } }] } });
    expect(judge(tree(call('read_csv', 'x.csv')), [])).toBe('its query calls read_csv(), which pipe cannot track');
    expect(judge(tree(call('read_csv', 'x.csv')), ["read_csv('x.csv')"])).toBeUndefined();
    // Another function of the same file, or a file whose path is part of the source's, is not the source's call.
    expect(judge(tree(call('read_json', 'x.csv')), ["read_csv('x.csv')"])).toBe('its query calls read_json(), which pipe cannot track');
    expect(judge(tree(call('read_csv', 'data/clicks.csv')), ["read_csv('data/clicks.csv.gz')"])).toBe('its query calls read_csv(), which pipe cannot track');
    expect(judge(tree(call('range', '4')), [])).toBeUndefined();
    expect(judge({ error: true }, [])).toBe('its query could not be parsed to see what it reads');
  });

  it('finds a sample of rows, which is drawn anew each run, in the code', () => {
    expect(volatileWhy('s1', 'select * from t using sample 10%')).toBe('its query samples rows with USING SAMPLE, another sample each run');
    expect(volatileWhy('s2', 'select * from t tablesample 5 rows')).toBe('its query samples rows with TABLESAMPLE, another sample each run');
    expect(volatileWhy('s3', "select 'using sample' as s, sample from t -- tablesample")).toBeUndefined();
  });

  it('finds volatile functions by name', () => {
    expect(volatileCall('h1', 'select now() as at')).toBe('now()');
    expect(volatileCall('h2', 'select CURRENT_DATE')).toBe('current_date()');
    expect(volatileCall('h3', 'select nowhere from t')).toBeUndefined();
    // A session's variable (SET VARIABLE) is no input of the query.
    expect(volatileCall('h4', "select getvariable('rate') * amount from t")).toBe('getvariable()');
    // After a -- comment ended by a carriage return (DuckDB's parser ends it there too).
    expect(volatileCall('h5', 'select 1 as x, -- the factor\rnow() as built_at')).toBe('now()');
    // age() of one timestamp is its age as of now; of two, the time between them.
    expect(volatileWhy('h6', 'select age(hired_at) as tenure from staff')).toBe('its query calls age() of one timestamp, its age as of now');
    expect(volatileWhy('h7', "select age(coalesce(left_at, hired_at + interval 1 day)) from staff")).toBe('its query calls age() of one timestamp, its age as of now');
    expect(volatileWhy('h8', "select age(left_at, hired_at), 'age(x)' as s, stage(1) from staff")).toBeUndefined();
  });

  it('finds them in the code alone: not in comments, strings, or a column of the name', () => {
    let n = 0;
    const call = (sql: string) => volatileCall(`v${n++}`, sql);
    // What is not code, or not a call.
    for (const sql of [
      '-- reads the seed as it is now\nselect 1',
      '/* now() */ select 1',
      '/* a /* nested */ now() */ select 1',
      "select 'now()' as s",
      "select 'it''s now()' as s",
      "select E'it\\'s now()' as s",
      'select $$now()$$ as s',
      'select $t$ random() $t$ as s',
      'select now from t',
      'select "now" from t',
      'select t.random, t.uuid from t',
    ]) expect(call(sql), sql).toBeUndefined();
    // Calls, whatever is around them.
    const calls: [string, string][] = [
      ["select '--', now()", 'now()'],
      ["select E'a\\'', now()", 'now()'],
      ['select "a\'b", now()', 'now()'],
      ['select "x -- y", random()', 'random()'],
      ["select $t$ x $t$, uuid() from t", 'uuid()'],
      ['select main.now ( ) as at', 'now()'],
      ['select "now"() as at', 'now()'],
      ['select now /* when */ () as at', 'now()'],
      ['select current_timestamp as at', 'current_timestamp()'],
      ['select * from t where d > today() - 1', 'today()'],
      ["select ago(interval 1 day)", 'ago()'],
      // Left open: the text is looked at whole.
      ["select 'open now()", 'now()'],
      ['select 1 /* open now()', 'now()'],
    ];
    for (const [sql, found] of calls) expect(call(sql), sql).toBe(found);
  });
});
