import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, AnalysisCache, type Analysis, type AnalyzeOptions } from '../../src/analyze/analyze.js';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import { NO_TABLE } from '../../src/plan/materializations.js';
import { loadProject } from '../../src/project/load-project.js';
import { CachedFs } from '../../src/project/project-fs.js';
import { observedAnalysis } from '../support/observed-analysis.js';

/**
 * A save that changes only a model's query is analyzed from the last analysis: the saved model
 * alone is rendered and given its node again (AnalysisCache.reusedFrom says so), which keeps a
 * save's cost the same in a project of 100 models or 100,000. Whatever the save, the result is
 * what a fresh analysis of the same files gives; saves that may change other nodes (a ref
 * added or removed, a config changed in the model or in the YAML beside it, a file added or
 * deleted, a macro changed, an error made) are analyzed whole.
 */

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const INTERVAL = dayInterval(parseDate('2024-01-02')!);

const observed = (a: Analysis) => observedAnalysis(a, INTERVAL);

const models = (a: Analysis) => [...a.nodes.values()].filter((n) => n.kind === 'model').map((n) => n.name).sort();

class Project {
  readonly root = mkdtempSync(join(tmpdir(), 'pipe-saved-'));
  readonly fs = new CachedFs();
  readonly cache = new AnalysisCache();

  constructor(files: Record<string, string>) {
    dirs.push(this.root);
    for (const [rel, text] of Object.entries(files)) this.write(rel, text);
  }

  write(rel: string, text: string): void {
    const abs = join(this.root, rel);
    const existed = existsSync(abs);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, text);
    this.fs.update(abs, existed ? 'change' : 'add');
  }

  remove(rel: string): void {
    rmSync(join(this.root, rel));
    this.fs.update(join(this.root, rel), 'unlink');
  }

  /** The cached analysis, checked against a fresh one; and whether it took the saved models alone. */
  analyze(options: Partial<AnalyzeOptions> = {}): { analysis: Analysis; savedOnly: boolean } {
    const analysis = analyze(loadProject(this.root, this.fs), { interval: INTERVAL, ...options }, this.cache);
    const savedOnly = this.cache.reusedFrom !== undefined;
    expect(observed(analysis)).toEqual(observed(analyze(loadProject(this.root), { interval: INTERVAL, ...options })));
    return { analysis, savedOnly };
  }
}

const SHOP = {
  'pipe.yaml': 'name: shop\n',
  'seeds/raw_orders.csv': 'id,amount,d\n1,10,2024-01-02\n',
  'macros/money.sql': '{% macro cents(c) %}round({{ c }} / 100.0, 2){% endmacro %}\n',
  'models/stg_orders.sql': "select * from {{ ref('raw_orders') }}\n",
  'models/fct.sql': "{{ config(materialized='table') }}\nselect id, {{ cents('amount') }} as amount from {{ ref('stg_orders') }}\n",
  'models/daily.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect * from {{ ref('fct') }}{% if is_incremental() %} where d > '2024-01-01'{% endif %}\n",
  'models/weekly.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect * from {{ ref('fct') }}{% if is_incremental() %} join {{ ref('other') }} using (id){% endif %}\n",
  'models/other.sql': "select id from {{ ref('stg_orders') }}\n",
  'models/other.yaml': 'tags: [nightly]\n',
};

describe('a save analyzed from the last analysis', () => {
  it('takes the saved model alone when its query changes and its refs and config stay', () => {
    const p = new Project(SHOP);
    expect(p.analyze().savedOnly).toBe(false);
    p.write('models/fct.sql', "-- amounts in euros\n{{ config(materialized='table') }}\nselect id, {{ cents('amount') }} * 2 as amount from {{ ref('stg_orders') }}\n");
    const { analysis, savedOnly } = p.analyze();
    expect(savedOnly).toBe(true);
    // The ref's place moved with the line added above it.
    expect(analysis.nodes.get('fct')?.kind === 'model' && analysis.nodes.get('fct')!.refs[0].location.line).toBe(3);
    p.write('models/other.sql', "select id, 1 as n from {{ ref('stg_orders') }}\n");
    expect(p.analyze().savedOnly).toBe(true);
  });

  it('analyzes whole the saves that may change other nodes, and gives what a fresh analysis gives', () => {
    const p = new Project(SHOP);
    p.analyze();
    const saves: [string, () => void][] = [
      ['a ref added', () => p.write('models/other.sql', "select id from {{ ref('stg_orders') }} join {{ ref('fct') }} using (id)\n")],
      ['a ref removed', () => p.write('models/other.sql', "select id from {{ ref('stg_orders') }}\n")],
      ['a config changed', () => p.write('models/stg_orders.sql', "{{ config(materialized='view') }}\nselect * from {{ ref('raw_orders') }}\n")],
      ['the YAML beside a model', () => p.write('models/other.yaml', 'tags: [hourly]\nmaterialized: table\n')],
      ['a file added', () => p.write('models/extra.sql', "select * from {{ ref('other') }}\n")],
      ['a file deleted', () => p.remove('models/extra.sql')],
      ['a macro changed', () => p.write('macros/money.sql', '{% macro cents(c) %}({{ c }}) / 100{% endmacro %}\n')],
      ['an error made', () => p.write('models/other.sql', "select id from {{ ref('nope') }}\n")],
      ['the error fixed', () => p.write('models/other.sql', "select id from {{ ref('stg_orders') }}\n")],
    ];
    for (const [what, save] of saves) {
      save();
      expect(p.analyze().savedOnly, what).toBe(false);
    }
    // The file:line of an error made by a save of the query alone.
    p.write('models/other.sql', "select id from {{ ref('stg_orders') }}\n-- fine\n");
    expect(p.analyze().savedOnly).toBe(true);
    p.write('models/other.sql', "select id from {{ ref('stg_orders') }}\n{{ oops( }}\n");
    const broken = p.analyze();
    expect(broken.savedOnly).toBe(false);
    expect(broken.analysis.diagnostics.map((d) => `${d.location?.file}:${d.location?.line}`)).toContain('models/other.sql:2');
    // And the macro's change reached the model that calls it.
    p.write('models/other.sql', "select id from {{ ref('stg_orders') }}\n");
    const { analysis } = p.analyze();
    const fct = analysis.renderer.sql('fct', INTERVAL, NO_TABLE);
    expect('sql' in fct && fct.sql).toContain('(amount) / 100');
  });

  it("renders again a model that reads another's table name when that one's alias changes", () => {
    const p = new Project({ ...SHOP, 'models/named.sql': "select '{{ ref('other').identifier }}' as t\n" });
    const named = (a: Analysis) => {
      const r = a.renderer.sql('named', INTERVAL, NO_TABLE);
      return 'sql' in r && r.sql;
    };
    expect(named(p.analyze().analysis)).toBe("select 'other' as t");
    p.write('models/other.sql', "{{ config(alias='other_ids') }}\nselect id from {{ ref('stg_orders') }}\n");
    expect(named(p.analyze().analysis)).toBe("select 'other_ids' as t");
    p.write('models/other.yaml', 'tags: [nightly]\nalias: ids\n');
    p.write('models/other.sql', "select id from {{ ref('stg_orders') }}\n");
    expect(named(p.analyze().analysis)).toBe("select 'ids' as t");
    // A save of its own query alone still gives the other's name.
    p.write('models/named.sql', "select '{{ ref('other').identifier }}' as t -- saved\n");
    expect(named(p.analyze().analysis)).toBe("select 'ids' as t -- saved");
  });

  it('knows a saved model that now reads the warehouse while rendering is rendered as its task runs', () => {
    const p = new Project(SHOP);
    // Planning asks of every model; none renders at run time yet.
    const first = p.analyze().analysis;
    expect(models(first).filter((n) => first.renderer.rendersAtRun(n))).toEqual([]);
    p.write('models/other.sql', "select id from {{ ref('stg_orders') }}{% if execute %} where id > 0{% endif %}\n");
    const { analysis, savedOnly } = p.analyze();
    expect(savedOnly).toBe(true);
    expect(models(analysis).filter((n) => analysis.renderer.rendersAtRun(n))).toEqual(['other']);
    // Back to a query that does not: known again from the saved model alone.
    p.write('models/other.sql', "select id from {{ ref('stg_orders') }}\n");
    const after = p.analyze();
    expect(after.savedOnly).toBe(true);
    expect(models(after.analysis).filter((n) => after.analysis.renderer.rendersAtRun(n))).toEqual([]);
  });

  it('renders again a model that asks is_incremental() when its table appears', () => {
    const p = new Project(SHOP);
    p.analyze({ existingRelations: new Set() });
    // Its query alone changes: the saved pass renders it again.
    const appeared = p.analyze({ existingRelations: new Set(['"main"."daily"']) });
    expect(appeared.savedOnly).toBe(true);
    const daily = appeared.analysis.renderer.renderRaw('daily', INTERVAL, { tableExists: true, fullRefresh: false });
    expect('sql' in daily && daily.sql).toContain("where d > '2024-01-01'");
    // Its upstream changes: analyzed whole.
    const refs = p.analyze({ existingRelations: new Set(['"main"."daily"', '"main"."weekly"']) });
    expect(refs.savedOnly).toBe(false);
    expect(refs.analysis.nodes.get('weekly')?.upstream).toEqual(['fct', 'other']);
    expect(p.analyze({ existingRelations: new Set() }).analysis.nodes.get('weekly')?.upstream).toEqual(['fct']);
  });

  it('analyzes whole a save of a file whose name another file, the one enabled, builds', () => {
    const p = new Project({
      'pipe.yaml': 'name: shop\n',
      'models/v1/orders.sql': 'select 1 as version\n',
      'models/v1/orders.yaml': 'enabled: false\n',
      'models/v2/orders.sql': 'select 2 as version\n',
      'models/report.sql': "select * from {{ ref('orders') }}\n",
    });
    p.analyze();
    p.write('models/v1/orders.sql', 'select 3 as version\n');
    const { analysis, savedOnly } = p.analyze();
    expect(savedOnly).toBe(false);
    expect(analysis.nodes.get('orders')?.file).toBe('models/v2/orders.sql');
  });
});
