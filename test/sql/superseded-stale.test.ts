import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import type { Task } from '../../src/plan/task.js';
import { ProjectRuleError } from '../../src/execute/task-errors.js';
import { newRunId } from '../../src/util/run-id.js';
import { TestWarehouse } from './helpers.js';

/**
 * Runs of one process that overlap (a scheduler's catch-up, max_active_runs > 1): a table a run
 * for a newer interval published stands for an older run's build of it, unless it was built
 * before the older run wrote what it reads. A slow older date makes it so: the newer build
 * misses that date's rows. Built again from the same query, the table is what the newer run
 * would build now; from another query (one that reads the date) it cannot be, and the task
 * fails saying so, never leaving a table that misses rows as done.
 */

let w: TestWarehouse;
beforeAll(async () => {
  w = await TestWarehouse.open('pipe-stale-');
  await w.session.exec('CREATE TABLE fct (d DATE, n INTEGER); CREATE TABLE agg (days BIGINT, n BIGINT)');
});
afterAll(() => w.close());

const day = (ds: string) => dayInterval(parseDate(ds)!);

function task(node: 'fct' | 'agg', ds: string, sqlHash: string): Task {
  return {
    id: `${node}@${ds}`,
    node,
    kind: node === 'fct' ? 'incremental' : 'table',
    file: `models/${node}.sql`,
    relation: node,
    schema: 'main',
    ds,
    interval: day(ds),
    upstream: node === 'agg' ? [`fct@${ds}`] : [],
    steps: [],
    lockKey: node,
    sqlHash,
  };
}

const writeDate = (ds: string, n: number) => () => w.session.exec(`DELETE FROM fct WHERE d = '${ds}'; INSERT INTO fct VALUES ('${ds}', ${n})`);
const rebuildAgg = () => w.session.exec('DELETE FROM agg; INSERT INTO agg SELECT count(*), sum(n) FROM fct');
const agg = async () => (await w.query('SELECT days::INTEGER AS days, n::INTEGER AS n FROM agg'))[0];

describe('a table a newer interval published, in overlapping runs of one process', () => {
  it('is left to the newer build when the older run wrote nothing it reads since; built again when it did, from the same query', async () => {
    await w.session.exec('DELETE FROM fct; DELETE FROM agg');
    const older = newRunId();
    const middle = newRunId();
    const newer = newRunId();
    const { engine } = w.warehouse;
    // The newest date is built first: the older dates are still running.
    await engine.publish(newer, task('fct', '2024-06-03', 'f'), writeDate('2024-06-03', 3));
    expect((await engine.publish(newer, task('agg', '2024-06-03', 'a'), rebuildAgg, undefined, undefined, engine.moment())).kind).toBe('published');
    expect(await agg()).toEqual({ days: 1, n: 3 });
    // The slow older date lands after it: the newer table misses it, and is built again.
    await engine.publish(older, task('fct', '2024-06-01', 'f'), writeDate('2024-06-01', 1));
    const again = await engine.publish(older, task('agg', '2024-06-01', 'a'), rebuildAgg, undefined, undefined, engine.moment());
    expect(again.kind).toBe('published');
    expect(await agg()).toEqual({ days: 2, n: 4 });
    // A run whose date's rows the table holds already leaves it: it stands for the newest interval still.
    const left = await engine.publish(middle, task('agg', '2024-06-02', 'a'), async () => {
      throw new Error('not to be published');
    }, undefined, undefined, engine.moment());
    expect(left).toMatchObject({ kind: 'superseded', by: { ds: '2024-06-03' } });
  });

  it('is built again down a chain of tables: one over a table the older run built again misses it too', async () => {
    await w.session.exec('DELETE FROM fct; DELETE FROM agg; CREATE OR REPLACE TABLE top (days BIGINT)');
    const older = newRunId();
    const newer = newRunId();
    const { engine } = w.warehouse;
    const top = (ds: string): Task => ({ ...task('agg', ds, 't'), id: `top@${ds}`, node: 'top', relation: 'top', lockKey: 'top', upstream: [`agg@${ds}`] });
    const rebuildTop = () => w.session.exec('DELETE FROM top; INSERT INTO top SELECT days FROM agg');
    await engine.publish(newer, task('fct', '2024-08-03', 'f'), writeDate('2024-08-03', 3));
    await engine.publish(newer, task('agg', '2024-08-03', 'a'), rebuildAgg, undefined, undefined, engine.moment());
    await engine.publish(newer, top('2024-08-03'), rebuildTop, undefined, undefined, engine.moment());
    await engine.publish(older, task('fct', '2024-08-01', 'f'), writeDate('2024-08-01', 1));
    expect((await engine.publish(older, task('agg', '2024-08-01', 'a'), rebuildAgg, undefined, undefined, engine.moment())).kind).toBe('published');
    expect((await engine.publish(older, top('2024-08-01'), rebuildTop, undefined, undefined, engine.moment())).kind).toBe('published');
    expect(await w.query('SELECT days::INTEGER AS days FROM top')).toEqual([{ days: 2 }]);
  });

  it('fails the older run’s task, saying which build to make, when its query is another than the newer build’s', async () => {
    await w.session.exec('DELETE FROM fct; DELETE FROM agg');
    const older = newRunId();
    const newer = newRunId();
    const { engine } = w.warehouse;
    await engine.publish(newer, task('fct', '2024-07-03', 'f'), writeDate('2024-07-03', 3));
    await engine.publish(newer, task('agg', '2024-07-03', 'a-of-07-03'), rebuildAgg, undefined, undefined, engine.moment());
    await engine.publish(older, task('fct', '2024-07-01', 'f'), writeDate('2024-07-01', 1));
    const failed = engine.publish(older, task('agg', '2024-07-01', 'a-of-07-01'), rebuildAgg, undefined, undefined, engine.moment());
    await expect(failed).rejects.toBeInstanceOf(ProjectRuleError);
    await expect(failed).rejects.toThrow(
      `agg was published by run ${newer} for a newer interval (2024-07-03) before fct was written here, so that build misses it; rebuilding it for 2024-07-01 would replace it with an older interval's query: once the runs of later intervals have ended, if pipe status -s agg does not find it current, pipe run --select agg --date D rebuilds it, D the newest interval it was built for (2024-07-03 now)`,
    );
    // Nothing was written: the table is the newer build's.
    expect(await agg()).toEqual({ days: 1, n: 3 });
  });
});
