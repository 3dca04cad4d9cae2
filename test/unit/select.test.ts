import { describe, expect, it } from 'vitest';
import { makeGraph } from '../../src/graph/graph.js';
import { select, type SelectableNode } from '../../src/graph/select.js';
import { isProblem, parseCliSelection, parseTerm, type Criterion, type SpecProblem } from '../../src/graph/selection-spec.js';

/**
 * dbt's selection syntax on a tiny dbt-shaped project `shop`: a seed, a source, staging and
 * mart models (one in a nested folder), and a model alone in a folder whose name starts like
 * another's.
 */
const upstream: Record<string, string[]> = {
  raw_orders: [],
  'raw.payments': [],
  stg_orders: ['raw_orders'],
  stg_payments: ['raw.payments'],
  fct_orders: ['stg_orders', 'stg_payments'],
  daily: ['fct_orders'],
  dim: ['stg_orders'],
  lonely: [],
};
const g = makeGraph(new Map(Object.entries(upstream)));

const model = (file: string, config: Record<string, unknown>): SelectableNode => {
  const folders = file.split('/').slice(1, -1);
  const name = file.slice(file.lastIndexOf('/') + 1, -'.sql'.length);
  const tags = (config.tags as string[] | undefined) ?? [];
  return { name, resourceType: 'model', fqn: ['shop', ...folders, name], file, tags, config: { enabled: true, tags, ...config } };
};
const nodes: SelectableNode[] = [
  { name: 'raw_orders', resourceType: 'seed', fqn: ['shop', 'raw_orders'], file: 'seeds/raw_orders.csv', tags: [], config: { materialized: 'seed', enabled: true } },
  {
    name: 'raw.payments',
    resourceType: 'source',
    source: 'raw',
    table: 'payments',
    fqn: ['shop', 'staging', 'raw', 'payments'],
    file: 'models/staging/_sources.yml',
    tags: ['raw'],
    config: { enabled: true },
  },
  model('models/staging/stg_orders.sql', { materialized: 'view', tags: ['staging'], meta: { owner: 'ana' } }),
  model('models/staging/stg_payments.sql', { materialized: 'view', tags: ['staging'], meta: { owner: 'bo' } }),
  model('models/marts/fct_orders.sql', { materialized: 'incremental', tags: ['daily'], retries: 3 }),
  model('models/marts/finance/daily.sql', { materialized: 'table', tags: ['daily', 'finance'], group: 'finance', access: 'public' }),
  model('models/marts/dim.sql', { materialized: 'table', enabled: true, severity: 'error' }),
  model('models/staging_old/lonely.sql', { materialized: 'ephemeral', depends_on_past: false }),
];

const ALL = Object.keys(upstream).sort();

function sel(include: string[], exclude: string[] = []) {
  const i = parseCliSelection(include);
  const x = parseCliSelection(exclude);
  expect([...i.problems, ...x.problems]).toEqual([]);
  const r = select(g, nodes, i.spec, x.spec, { projectName: 'shop' });
  return { selected: [...r.selected].sort(), problems: r.problems.map((p) => [p.criterion.text, p.message]) };
}
const picked = (...include: string[]) => sel(include).selected;

function term(text: string): Criterion {
  const t = parseTerm(text);
  if (isProblem(t)) throw new Error(t.message);
  return t;
}
function refused(text: string): SpecProblem {
  const t = parseTerm(text);
  if (!isProblem(t)) throw new Error(`${text} was accepted`);
  return t;
}

describe('the forms of a term', () => {
  it('reads graph operators with and without depths', () => {
    expect(term('+tag:daily+')).toMatchObject({ method: 'tag', value: 'daily', parents: Infinity, children: Infinity, childrensParents: false });
    expect(term('2+fct_orders+3')).toMatchObject({ method: 'fqn', value: 'fct_orders', parents: 2, children: 3 });
    expect(term('@stg_orders')).toMatchObject({ value: 'stg_orders', childrensParents: true, parents: 0, children: 0 });
    expect(term('config.meta.owner:ana')).toMatchObject({ method: 'config', args: ['meta', 'owner'], value: 'ana' });
  });

  it('guesses the method of a bare value as dbt does: a path, a file name or a qualified name', () => {
    expect(term('models/staging')).toMatchObject({ method: 'path', value: 'models/staging' });
    expect(term('./models/staging/')).toMatchObject({ method: 'path', value: 'models/staging' });
    expect(term('stg_orders.sql')).toMatchObject({ method: 'file', value: 'stg_orders.sql' });
    expect(term('jaffle_shop.staging.stg_*')).toMatchObject({ method: 'fqn', value: 'jaffle_shop.staging.stg_*' });
  });

  it('names the method pipe does not support instead of looking for a model of that name', () => {
    for (const m of ['metric:revenue', 'source_status:fresher', 'semantic_model:orders']) {
      const p = refused(m);
      expect(p.code).toBe('unsupported-selector');
      expect(p.message).toContain(`does not support the ${m.split(':')[0]}: method`);
    }
  });

  it('version: takes the kinds dbt knows, and refuses another with the list', () => {
    expect(term('version:prerelease')).toMatchObject({ method: 'version', value: 'prerelease' });
    const p = refused('version:newest');
    expect(p.message).toContain("'newest' is not a version kind: version: takes latest, prerelease, old, none");
  });

  it('state: selects by the states the warehouse gives each node, with the graph operators; none matched is no problem', () => {
    const states = new Map([
      ['stg_orders', new Set(['modified' as const])],
      ['daily', new Set(['stale' as const])],
      ['lonely', new Set(['new' as const])],
    ]);
    const by = (include: string[], exclude: string[] = []) => {
      const r = select(g, nodes, parseCliSelection(include).spec, parseCliSelection(exclude).spec, { projectName: 'shop', states });
      return { selected: [...r.selected].sort(), problems: r.problems };
    };
    expect(by(['state:modified'])).toEqual({ selected: ['stg_orders'], problems: [] });
    expect(by(['state:modified+']).selected).toEqual(['daily', 'dim', 'fct_orders', 'stg_orders']);
    expect(by(['state:modified+'], ['state:stale']).selected).toEqual(['dim', 'fct_orders', 'stg_orders']);
    expect(by(['state:new,config.materialized:ephemeral']).selected).toEqual(['lonely']);
    expect(by(['state:stale', 'state:new']).selected).toEqual(['daily', 'lonely']);
    expect(by(['tag:none', 'state:stale']).problems.map((p) => p.criterion.text)).toEqual(['tag:none']);
    expect(refused('state:modified.body')).toMatchObject({ code: 'bad-selector', hint: "state:modified covers a model's SQL and its config" });
    expect(refused('state:stal').hint).toContain("did you mean 'stale'?");
  });

  it('refuses unknown methods with the closest one, and values no project could match', () => {
    expect(refused('tags:daily')).toMatchObject({ code: 'bad-selector', message: "'tags' is not a selector method", hint: expect.stringContaining("did you mean 'tag'?") });
    expect(refused('selector:nightly').hint).toContain('--selector NAME');
    expect(refused('resource_type:models').hint).toContain("did you mean 'model'?");
    expect(refused('@stg_orders+').message).toContain("'@' before a selector and '+' after it cannot be combined");
    expect(refused('tag:').message).toContain('names nothing');
    // A comma with nothing on a side: left out, `orders,` would select orders and `a,,b` less than meant.
    for (const text of ['orders,', ',orders', 'orders,,b']) {
      expect(parseCliSelection([text]).problems).toMatchObject([{ text, message: 'has a comma with no term on one side (a,b selects what a and b both select)' }]);
    }
    // A path outside the project is no mistake, as in dbt: it selects nothing (said as any term that matches nothing).
    for (const outside of ['path:../elsewhere', 'path:/etc', '../elsewhere/m.sql']) {
      expect(isProblem(parseTerm(outside))).toBe(false);
      expect(sel([outside]).selected, outside).toEqual([]);
      expect(sel([], [outside]).selected, outside).toEqual(ALL);
    }
    expect(refused('source:a.b.c.d').message).toContain('source_name.table_name');
    expect(refused('config:table').message).toContain('config.materialized:table');
    expect(refused('tag.x:daily').message).toContain('takes no key');
    expect(refused('access:everyone').hint).toContain('private, protected, public');
  });
});

describe('combining terms', () => {
  it('selects everything when nothing is selected', () => {
    expect(sel([]).selected).toEqual(ALL);
  });

  it('unites terms given as arguments or separated by spaces, and intersects those joined by commas', () => {
    expect(picked('dim', 'lonely')).toEqual(['dim', 'lonely']);
    expect(picked('dim lonely')).toEqual(['dim', 'lonely']);
    expect(picked('tag:daily,path:models/marts')).toEqual(['daily', 'fct_orders']);
    expect(picked('tag:finance,path:models/marts', 'lonely')).toEqual(['daily', 'lonely']);
    expect(picked('+daily,path:models/staging')).toEqual(['raw.payments', 'stg_orders', 'stg_payments']);
    expect(picked('dim,lonely')).toEqual([]);
  });

  it('removes excluded nodes, and an excluded comma group only where every term agrees', () => {
    expect(sel(['stg_orders+'], ['dim']).selected).toEqual(['daily', 'fct_orders', 'stg_orders']);
    expect(sel(['+daily'], ['+stg_orders']).selected).toEqual(['daily', 'fct_orders', 'raw.payments', 'stg_payments']);
    expect(sel([], ['tag:daily,path:models/marts/finance']).selected).toEqual(ALL.filter((n) => n !== 'daily'));
    expect(sel(['tag:daily'], ['tag:daily']).selected).toEqual([]);
  });
});

describe('graph operators', () => {
  it('adds every ancestor or descendant, or as many generations as the number says', () => {
    expect(picked('+fct_orders')).toEqual(['fct_orders', 'raw.payments', 'raw_orders', 'stg_orders', 'stg_payments']);
    expect(picked('1+fct_orders')).toEqual(['fct_orders', 'stg_orders', 'stg_payments']);
    expect(picked('0+fct_orders')).toEqual(['fct_orders']);
    expect(picked('stg_orders+')).toEqual(['daily', 'dim', 'fct_orders', 'stg_orders']);
    expect(picked('stg_orders+1')).toEqual(['dim', 'fct_orders', 'stg_orders']);
    expect(picked('1+fct_orders+1')).toEqual(['daily', 'fct_orders', 'stg_orders', 'stg_payments']);
  });

  it('@ adds the descendants and every ancestor of each of them', () => {
    // stg_payments' descendants are fct_orders and daily; fct_orders also reads stg_orders, from raw_orders.
    expect(picked('@stg_payments')).toEqual(['daily', 'fct_orders', 'raw.payments', 'raw_orders', 'stg_orders', 'stg_payments']);
    expect(picked('@dim')).toEqual(['dim', 'raw_orders', 'stg_orders']);
  });

  it('applies to every method', () => {
    expect(picked('source:raw+')).toEqual(['daily', 'fct_orders', 'raw.payments', 'stg_payments']);
    expect(picked('+config.materialized:table')).toEqual(ALL.filter((n) => n !== 'lonely'));
  });
});

describe('methods', () => {
  it('fqn: the name itself, or a prefix of the qualified name with or without the project', () => {
    expect(picked('fct_orders')).toEqual(['fct_orders']);
    expect(picked('staging')).toEqual(['stg_orders', 'stg_payments']);
    expect(picked('marts')).toEqual(['daily', 'dim', 'fct_orders']);
    expect(picked('marts.finance')).toEqual(['daily']);
    expect(picked('shop.marts.finance.daily')).toEqual(['daily']);
    expect(picked('fqn:staging')).toEqual(['stg_orders', 'stg_payments']);
    // The project's name selects all it holds but its sources, which are selected with source:.
    expect(picked('shop')).toEqual(ALL.filter((n) => n !== 'raw.payments'));
    // A prefix of whole parts only: staging is not staging_old.
    expect(picked('staging_old')).toEqual(['lonely']);
  });

  it('fqn with wildcards: the rest of the qualified name from the first part with one', () => {
    expect(picked('fct_*')).toEqual(['fct_orders']);
    expect(picked('*_orders')).toEqual(['fct_orders', 'raw_orders', 'stg_orders']);
    expect(picked('staging.stg_*')).toEqual(['stg_orders', 'stg_payments']);
    expect(picked('shop.staging.stg_?ayments')).toEqual(['stg_payments']);
    expect(picked('shop.*.daily')).toEqual(['daily']);
    expect(picked('marts.*')).toEqual(['daily', 'dim', 'fct_orders']);
  });

  it('tag: equal or matching a glob', () => {
    expect(picked('tag:daily')).toEqual(['daily', 'fct_orders']);
    expect(picked('tag:fin*')).toEqual(['daily']);
    expect(picked('tag:raw')).toEqual(['raw.payments']);
  });

  it("tag: a data test's own tag selects the node it runs with, and excludes nothing", () => {
    const withTest = nodes.map((n) => (n.name === 'dim' ? { ...n, dataTestNames: [{ name: 'dim_is_fresh', tags: ['critical'] }] } : n));
    const run = (include: string[], exclude: string[] = []) => {
      const r = select(g, withTest, parseCliSelection(include).spec, parseCliSelection(exclude).spec, { projectName: 'shop' });
      return { selected: [...r.selected].sort(), problems: r.problems.map((p) => p.message) };
    };
    expect(run(['tag:critical'])).toEqual({ selected: ['dim'], problems: [] });
    // Excluding it would build dim without its test: an exclusion matches nodes by their own tags, and says so.
    expect(run(['path:models/marts'], ['tag:critical'])).toEqual({
      selected: ['daily', 'dim', 'fct_orders'],
      problems: ["only tests have the tag 'critical', and a test runs in the build of the node it tests: an exclusion leaves out nodes by their own tags"],
    });
  });

  it('path: a file or folder relative to the project, or a glob, selecting sources by their properties file', () => {
    expect(picked('path:models/staging')).toEqual(['raw.payments', 'stg_orders', 'stg_payments']);
    expect(picked('path:models/staging/')).toEqual(['raw.payments', 'stg_orders', 'stg_payments']);
    expect(picked('models/marts/dim.sql')).toEqual(['dim']);
    expect(picked('path:models/marts/*')).toEqual(['daily', 'dim', 'fct_orders']);
    expect(picked('path:models/*/stg_*.sql')).toEqual(['stg_orders', 'stg_payments']);
    expect(picked('path:models/**/daily.sql')).toEqual(['daily']);
    expect(picked('path:seeds')).toEqual(['raw_orders']);
    expect(picked('path:.')).toEqual(ALL);
  });

  it('file: the file name, with or without its extension', () => {
    expect(picked('file:dim.sql')).toEqual(['dim']);
    expect(picked('file:dim')).toEqual(['dim']);
    expect(picked('stg_orders.sql')).toEqual(['stg_orders']);
    expect(picked('file:stg_*')).toEqual(['stg_orders', 'stg_payments']);
    expect(picked('file:_sources.yml')).toEqual(['raw.payments']);
  });

  it('config.KEY: equal values, nested keys, lists containing the value, booleans and numbers', () => {
    expect(picked('config.materialized:view')).toEqual(['stg_orders', 'stg_payments']);
    expect(picked('config.materialized:seed')).toEqual(['raw_orders']);
    expect(picked('config.tags:daily')).toEqual(['daily', 'fct_orders']);
    expect(picked('config.meta.owner:ana')).toEqual(['stg_orders']);
    expect(picked('config.depends_on_past:false')).toEqual(['lonely']);
    expect(picked('config.enabled:TRUE')).toEqual(ALL);
    expect(picked('config.retries:3')).toEqual(['fct_orders']);
    expect(picked('config.severity:ERROR')).toEqual(['dim']);
    expect(sel(['config.materialized:View']).problems).toEqual([['config.materialized:View', "no model has config materialized = 'View'"]]);
    expect(sel(['config.meta.missing:x']).selected).toEqual([]);
  });

  it('source: a source, one of its tables, or globs of them', () => {
    expect(picked('source:raw')).toEqual(['raw.payments']);
    expect(picked('source:raw.payments')).toEqual(['raw.payments']);
    expect(picked('source:raw.pay*')).toEqual(['raw.payments']);
    expect(picked('source:shop.raw.*')).toEqual(['raw.payments']);
    expect(picked('source:*')).toEqual(['raw.payments']);
    expect(sel(['source:raw.orders']).problems).toEqual([['source:raw.orders', "no source matches 'raw.orders'"]]);
  });

  it('resource_type:, package:, group: and access:', () => {
    expect(picked('resource_type:seed')).toEqual(['raw_orders']);
    expect(picked('resource_type:source')).toEqual(['raw.payments']);
    expect(picked('resource_type:model,tag:daily')).toEqual(['daily', 'fct_orders']);
    expect(sel(['resource_type:snapshot']).problems).toEqual([['resource_type:snapshot', "the project has no node of resource type 'snapshot'"]]);
    // A project may define dbt's metrics, semantic models and saved queries: what selects none says why, not that there are none.
    expect(sel(['resource_type:metric']).problems).toEqual([['resource_type:metric', "resource type 'metric' selects nothing: pipe has no metrics"]]);
    expect(sel(['resource_type:semantic_model']).problems).toEqual([['resource_type:semantic_model', "resource type 'semantic_model' selects nothing: pipe has no semantic models"]]);
    expect(picked('package:shop')).toEqual(ALL);
    expect(picked('package:this')).toEqual(ALL);
    expect(picked('package:sh*')).toEqual(ALL);
    expect(picked('group:finance')).toEqual(['daily']);
    expect(picked('access:public')).toEqual(['daily']);
    expect(picked('access:protected')).toEqual(['dim', 'fct_orders', 'lonely', 'stg_orders', 'stg_payments']);
  });
});

describe('terms that match nothing', () => {
  it('are reported with what the method could have matched', () => {
    const i = parseCliSelection(['fct_ordrs', 'tag:daly', 'path:models/nowhere', 'shop.mart.*']);
    const r = select(g, nodes, i.spec, parseCliSelection(['nope']).spec);
    expect(r.problems.map((p) => [p.criterion.text, p.message])).toEqual([
      ['fct_ordrs', "no model, seed or test named 'fct_ordrs'"],
      ['tag:daly', "no model, seed or test has the tag 'daly'"],
      ['path:models/nowhere', "no model file under 'models/nowhere'"],
      ['shop.mart.*', "no model or seed matches 'shop.mart.*'"],
      ['nope', "no model, seed or test named 'nope'"],
    ]);
    expect(r.problems[0].candidates).toContain('fct_orders');
    expect([...r.problems[1].candidates].sort()).toEqual(['daily', 'finance', 'raw', 'staging']);
    expect(r.problems[3].candidates).toContain('shop.marts.dim');
    expect(r.selected.size).toBe(0);
  });

  it("suggest no path outside the project, which a selector may not name (a package linked from a folder above it)", () => {
    const linked = [...nodes, { ...model('models/staging/stg_pkg.sql', { materialized: 'view' }), name: 'stg_pkg', file: '../models/staging/stg_pkg.sql' }];
    const r = select(makeGraph(new Map([...Object.entries(upstream), ['stg_pkg', []]])), linked, parseCliSelection(['path:models/stagin']).spec, undefined);
    expect(r.problems[0].candidates).toContain('models/staging');
    expect(r.problems[0].candidates.filter((c) => c.startsWith('../'))).toEqual([]);
  });

  it('are reported once, however often a selection uses them', () => {
    const t = term('tag:nope');
    const r = select(g, nodes, { kind: 'union', parts: [t, { kind: 'intersection', parts: [t, term('dim')] }] }, t);
    expect(r.problems).toHaveLength(1);
  });
});
