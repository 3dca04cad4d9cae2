import { existsSync, watch } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyExample, eventsOfType, explain, removeTempDirs, warehouseOf, writeProjectFiles, type PipeResult } from '../e2e/helpers.js';
import { runIn } from '../support/in-process.js';

afterAll(removeTempDirs);

/** Stopped, with no run recorded and no warehouse file (nor its log) left in the project. */
function expectNothingLeft(dir: string, r: PipeResult, controller: AbortController): void {
  expect(controller.signal.aborted, explain(r)).toBe(true);
  expect(eventsOfType(r.events, 'run-started')).toEqual([]);
  expect(existsSync(warehouseOf(dir))).toBe(false);
  expect(existsSync(`${warehouseOf(dir)}.wal`)).toBe(false);
}

/**
 * Ctrl-C before a command has recorded anything ends it leaving no warehouse file behind (see
 * the README's *Guarantees*): the stop is given at a known point, in-process, not after a delay.
 */
describe('a first run stopped before it is recorded', () => {
  it('stopped as the project is analyzed (before the warehouse opens) leaves no warehouse file', async () => {
    const dir = copyExample();
    // An empty model file: its warning is told as the project is analyzed, before the warehouse opens.
    writeProjectFiles(dir, { 'models/marts/empty.sql': '' });
    const controller = new AbortController();
    const r = await runIn(dir, {
      date: '2024-01-02',
      signal: controller.signal,
      onEvent: (e) => e.type === 'diagnostic' && controller.abort(),
    });
    expectNothingLeft(dir, r, controller);
  });

  it('stopped once DuckDB has made the file, before the run is recorded, leaves no warehouse file', async () => {
    const dir = copyExample();
    const controller = new AbortController();
    // A latch on the file itself: the stop comes as soon as the open has made it (told by the folder's watch).
    const watcher = watch(dirname(warehouseOf(dir)), () => {
      if (existsSync(warehouseOf(dir))) controller.abort();
    });
    const r = await runIn(dir, { date: '2024-01-02', signal: controller.signal }).finally(() => watcher.close());
    expectNothingLeft(dir, r, controller);
  });

  it('stopped before it starts leaves no warehouse file', async () => {
    const dir = copyExample();
    const controller = new AbortController();
    controller.abort();
    const r = await runIn(dir, { date: '2024-01-02', signal: controller.signal });
    expect(existsSync(warehouseOf(dir))).toBe(false);
  });
});

/** A run of the example's 9 tasks, stopped as the last of them succeeds. */
async function stoppedAfterLastTask(dir: string): Promise<{ r: PipeResult; controller: AbortController }> {
  const controller = new AbortController();
  let ended = 0;
  const r = await runIn(dir, {
    date: '2024-01-02',
    signal: controller.signal,
    onEvent: (e) => {
      if (e.type === 'task-succeeded' && ++ended === 9) controller.abort();
    },
  });
  return { r, controller };
}

describe('a stop that comes once every task has ended', () => {
  it('stops nothing: the run succeeded, exit 0, and no pipe retry is offered for it', async () => {
    const { r, controller } = await stoppedAfterLastTask(copyExample());
    expect(controller.signal.aborted).toBe(true);
    expect(r.code, explain(r)).toBe(0);
    expect(eventsOfType(r.events, 'run-finished')[0]).toMatchObject({ status: 'succeeded', succeeded: 9 });
    expect(r.stdout).not.toContain('pipe retry');
  });

  it('in a dbt project with on-run-end, is still a stop: the end hooks it kept from running leave the run cancelled', async () => {
    const dir = copyExample();
    writeProjectFiles(dir, {
      'dbt_project.yml': 'name: shop\nprofile: shop\nmodel-paths: [models]\nseed-paths: [seeds]\non-run-end: "select 1"\n',
      'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n',
    });
    const { r } = await stoppedAfterLastTask(dir);
    expect(eventsOfType(r.events, 'run-finished')[0], explain(r)).toMatchObject({ status: 'cancelled', succeeded: 9 });
  });
});
