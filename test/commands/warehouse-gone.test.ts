import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { copyExample, eventsOfType, explain, removeTempDirs, warehouseOf } from '../e2e/helpers.js';
import { runIn } from '../support/in-process.js';

afterAll(removeTempDirs);

/**
 * DuckDB goes on writing the file it opened when its path is deleted or given to another file:
 * a run that wrote into such a file wrote nothing anyone can read, and says so.
 */
describe('a warehouse file deleted or replaced while a run writes it', () => {
  it('fails the run with pipe\'s words, offering no history or retry of a record that went with the file', async () => {
    const dir = copyExample();
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    let removed = false;
    const r = await runIn(dir, {
      date: '2024-01-02',
      force: true,
      onEvent: (e) => {
        if (e.type !== 'task-started' || removed) return;
        removed = true;
        rmSync(warehouseOf(dir));
      },
    });
    expect(r.code, explain(r)).toBe(1);
    const said = eventsOfType(r.events, 'diagnostic').map((e) => e.diagnostic as { code: string; message: string; location: { file: string } });
    expect(said).toEqual([
      expect.objectContaining({ code: 'warehouse-gone', message: 'the warehouse file was deleted while this process wrote it: what the run wrote went into that file and is lost', location: { file: warehouseOf(dir) } }),
    ]);
    const finished = eventsOfType(r.events, 'run-finished')[0];
    expect(finished).toMatchObject({ status: 'failed' });
    expect(finished.retryCommand).toBeUndefined();
    expect(finished.historyCommand).toBeUndefined();
    expect(r.stdout).not.toContain('pipe history');
    expect(existsSync(warehouseOf(dir))).toBe(false);
    // As the hint says: the command again builds into the file the path names now.
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    expect(existsSync(warehouseOf(dir))).toBe(true);
  });

  it('says so of a file put in its place too (a copy restored over it)', async () => {
    const dir = copyExample();
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const copy = `${warehouseOf(dir)}.copy`;
    copyFileSync(warehouseOf(dir), copy);
    let replaced = false;
    const r = await runIn(dir, {
      date: '2024-01-02',
      force: true,
      onEvent: (e) => {
        if (e.type !== 'task-started' || replaced) return;
        replaced = true;
        renameSync(copy, warehouseOf(dir));
      },
    });
    expect(r.code, explain(r)).toBe(1);
    expect(r.stderr + r.stdout).toContain('the warehouse file was replaced by another file while this process wrote it');
  });

  it('leaves a run whose file stays where it is as it was', async () => {
    const dir = copyExample();
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(eventsOfType(r.events, 'diagnostic').filter((e) => (e.diagnostic as { code: string }).code === 'warehouse-gone')).toEqual([]);
  });
});
