import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../src/plan/task.js';
import { newRunId } from '../../src/util/run-id.js';
import { ensureState, seedLoadedSql } from '../../src/warehouse/run-state.js';
import { TestWarehouse } from './helpers.js';

/**
 * A command reads the seeds' hashes as it prepares the warehouse and again as its run starts;
 * the engine answers the second from the first only while nothing was published since, so a
 * seed loaded in between (by another run of the process) is never taken for unloaded.
 */

let w: TestWarehouse;
beforeAll(async () => {
  w = await TestWarehouse.open('pipe-seed-hashes-');
  await w.session.exec('CREATE TABLE countries (code VARCHAR)');
  await ensureState(w.session);
});
afterAll(() => w.close());

const seed: Task = { id: 'countries', node: 'countries', kind: 'seed', file: 'seeds/countries.csv', relation: 'countries', schema: 'main', upstream: [], steps: [], lockKey: 'countries' };

describe("the seeds' hashes an engine reads", () => {
  it('are read again once a publication began or ended since, and not before', async () => {
    const { engine } = w.warehouse;
    const hashes = () => engine.withSession((s) => engine.seedHashes(s));
    expect(await hashes()).toEqual(new Map());
    // Another session writes behind the engine's back (nothing pipe does): the read is the first one's.
    await w.session.exec(seedLoadedSql('countries', 'countries', 'by-hand', 'r0', Date.now()));
    expect(await hashes()).toEqual(new Map());
    const loaded = await engine.publish(newRunId(), seed, () => w.session.exec(seedLoadedSql('countries', 'countries', 'loaded', 'r1', Date.now() + 1000)));
    expect(loaded.kind).toBe('published');
    expect(await hashes()).toEqual(new Map([['countries', 'loaded']]));
    // What a caller does with its copy is its own.
    const copy = await hashes();
    copy.set('countries', 'changed');
    expect(await hashes()).toEqual(new Map([['countries', 'loaded']]));
  });
});
