import { afterAll, describe, expect, it } from 'vitest';
import { diagnosticsOf, eventsOfType, explain, removeTempDirs, startedModels, taskIdsOf, tempDir, writeProjectFiles } from '../e2e/helpers.js';
import { backfillIn, nodesIn, retryIn, runIn } from '../support/in-process.js';

/**
 * `result:<status>`: what a node's tasks ended with in the latest build that had a task for
 * it, with graph operators, intersections and exclusions, in --select, --exclude and
 * selectors.yml; nothing, with a notice, where there is no build to read.
 */

afterAll(removeTempDirs);

/**
 * raw → a → b → c, and a → d. `b` fails while the var `break` is set (it reads a column that
 * is not there), so `c` is skipped; `d` has a failing check while `bad_d` is set, and a
 * warning check always.
 */
function project(): string {
  const dir = tempDir();
  writeProjectFiles(dir, {
    'pipe.yaml': 'name: shop\n',
    'seeds/raw.csv': 'id,amount\n1,10\n2,20\n',
    'models/a.sql': `select id, amount from {{ ref('raw') }}`,
    'models/b.sql': `select id, {{ 'no_such_column' if var('break', false) else 'amount' }} as amount from {{ ref('a') }}`,
    'models/c.sql': `select sum(amount) as total from {{ ref('b') }}`,
    'models/d.sql': `select id, {{ '-1' if var('bad_d', false) else 'amount' }} as amount from {{ ref('a') }}`,
    'models/d.yaml': 'checks:\n  expression: ["amount >= 0"]\n  warn:\n    row_count: {min: 100}\n',
    'pipelines/repair.yaml': 'select: [result:error+]\n',
  });
  return dir;
}

const built = (r: Awaited<ReturnType<typeof runIn>>) => startedModels(r.events).sort();

describe('result: selection', () => {
  it("selects what failed last time and what reads it, through --select, --exclude and a pipeline's select:", async () => {
    const dir = project();
    // No warehouse yet: nothing is selected, and the notice says why.
    const none = await nodesIn(dir, { select: ['result:failed'] });
    expect(none.code, explain(none)).toBe(0);
    expect(none.nodes).toEqual([]);
    expect(eventsOfType(none.events, 'notice').map((e) => e.message)).toContain("selector 'result:failed' selects nothing: there is no warehouse yet, so no build to read");

    const broken = await runIn(dir, { date: '2024-01-02', vars: { break: true } });
    expect(broken.code).toBe(1);
    expect(taskIdsOf(broken.events, 'task-failed')).toEqual(['b@2024-01-02']);

    const names = async (options: Parameters<typeof nodesIn>[1]) => {
      const r = await nodesIn(dir, options);
      expect(r.code, explain(r)).toBe(0);
      return r.nodes.map((n) => n.name).sort();
    };
    expect(await names({ select: ['result:failed'] })).toEqual(['b']);
    expect(await names({ select: ['result:error+'] })).toEqual(['b', 'c']);
    expect(await names({ select: ['result:skipped'] })).toEqual(['c']);
    expect(await names({ select: ['result:success'] })).toEqual(['a', 'd', 'raw']);
    expect(await names({ select: ['+result:failed'] })).toEqual(['a', 'b', 'raw']);
    // Intersections and exclusions.
    expect(await names({ select: ['result:failed+,result:skipped'] })).toEqual(['c']);
    expect(await names({ select: ['result:failed+'], exclude: ['result:skipped'] })).toEqual(['b']);
    expect(await names({ exclude: ['result:succeeded'] })).toEqual(['b', 'c']);
    expect(await names({ pipeline: 'repair' })).toEqual(['b', 'c']);
    // A warning check counts as warn, and the model succeeded.
    expect(await names({ select: ['result:warn'] })).toEqual(['d']);

    // Fixed: the re-run builds exactly what failed and what it skipped.
    const rerun = await runIn(dir, { date: '2024-01-02', select: ['result:failed+'] });
    expect(rerun.code, explain(rerun)).toBe(0);
    expect(built(rerun)).toEqual(['b', 'c']);
    // Nothing failed in the latest builds now: an empty selection, said so, is not an error.
    const nothing = await nodesIn(dir, { select: ['result:failed'] });
    expect(nothing.code).toBe(0);
    expect(eventsOfType(nothing.events, 'notice').map((e) => e.message)).toContain("selector 'result:failed' selects nothing: no node's latest build ended failed");
    const noRun = await runIn(dir, { date: '2024-01-02', select: ['result:failed+'] });
    expect(noRun.code, explain(noRun)).toBe(0);
    expect(noRun.stdout).toContain("selector 'result:failed+' selects nothing: no node's latest build ended failed");
    expect(startedModels(noRun.events)).toEqual([]);
  });

  it('reads the latest build of each node, a backfill and a failing check included', async () => {
    const dir = project();
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const failing = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-02', select: ['d'], vars: { bad_d: true } });
    expect(failing.code).toBe(1);
    // d's latest build is the backfill, where its check failed; the others' is the run.
    expect((await nodesIn(dir, { select: ['result:fail'] })).nodes.map((n) => n.name)).toEqual(['d']);
    expect((await nodesIn(dir, { select: ['result:error'] })).nodes.map((n) => n.name)).toEqual(['d']);
    expect((await nodesIn(dir, { select: ['result:success'] })).nodes.map((n) => n.name).sort()).toEqual(['a', 'b', 'c', 'raw']);
  });

  it('a retry selects what its run selected, not what failed since', async () => {
    const dir = project();
    expect((await runIn(dir, { date: '2024-01-02', vars: { break: true } })).code).toBe(1);
    // Everything but what failed and what it skipped; d fails now.
    const D = `select id, amount from {{ ref('a') }}`;
    writeProjectFiles(dir, { 'models/d.sql': D.replace('amount', 'no_such_column') });
    // Forced: `a` is current since the first run, and the selection is what is looked at.
    const partial = await runIn(dir, { date: '2024-01-02', exclude: ['result:failed+'], force: true });
    expect(partial.code).toBe(1);
    expect(built(partial)).toEqual(['a', 'd']);
    // Fixed, the retry evaluates --exclude result:failed+ as its run did, before d failed.
    writeProjectFiles(dir, { 'models/d.sql': D });
    const retried = await retryIn(dir, {});
    expect(retried.code, explain(retried)).toBe(0);
    expect(built(retried)).toEqual(['d']);
    expect(eventsOfType(retried.events, 'notice').map((e) => String(e.message)).filter((m) => m.includes('not retried'))).toEqual([]);
  });

  it("works in a dbt project's selectors.yml", async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'dbt_project.yml': 'name: shop\n',
      'seeds/raw.csv': 'id\n1\n',
      'models/a.sql': `select id from {{ ref('raw') }}`,
      'models/b.sql': `select nope from {{ ref('a') }}`,
      'models/c.sql': `select * from {{ ref('b') }}`,
      'selectors.yml': 'selectors:\n  - name: broken\n    definition:\n      union:\n        - method: result\n          value: error\n          children: true\n',
    });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(1);
    const r = await nodesIn(dir, { selector: 'broken' });
    expect(r.code, explain(r)).toBe(0);
    expect(r.nodes.map((n) => n.name)).toEqual(['b', 'c']);
  });

  it('refuses a status dbt and pipe do not have, with the closest', async () => {
    const dir = project();
    const r = await nodesIn(dir, { select: ['result:faild'] });
    expect(r.code).toBe(2);
    expect(diagnosticsOf(r.events)).toEqual([expect.objectContaining({ message: expect.stringContaining("'faild' is not a result"), hint: expect.stringContaining("did you mean 'failed'?") })]);
  });
});
