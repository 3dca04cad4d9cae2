import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { explain, killRunning, ModelGate, removeTempDirs, RunningPipe, taskIdsOf, taskOf, tempDir, warehouseOf, writeProjectFiles, type PipeEventJson } from './helpers.js';
import { backfillIn } from '../support/in-process.js';
import { Random } from '../support/random.js';
import { edit, initialFiles, type Files } from '../support/random-edits.js';
import { notCurrentAgreed } from '../support/status-standings.js';

afterEach(killRunning);
afterAll(removeTempDirs);

/**
 * Skipping never changes what a run leaves. A warehouse goes through seeded random edits
 * (models whose rendered SQL changes or not, a macro, seed rows), runs that fail for one date,
 * and runs of a `pipe` process killed (kill -9) at a random task event; after every step:
 *
 * - before its run, `pipe status` and `backfill --missing --dry-run` name the same tasks as not
 *   current, and the run starts exactly those (and none a killed run reported committed);
 * - after it, status shows everything current and --missing plans nothing;
 * - its tables equal, column types and rows, those of a warehouse built from nothing with
 *   --force from the same files, all but the model merged by key: merging keeps the rows of
 *   earlier runs (a customer whose orders all moved away keeps its row), which a build from
 *   nothing does not have. That table, and the one that reads it, are compared with a
 *   warehouse that went through the same edits and failures running everything (--force) at
 *   every step.
 *
 * The killed run has one worker and its last task waits on a FIFO, so it is still running at
 * whichever event it is killed. `npm test` runs one short sequence with one kill;
 * PIPE_RANDOM_SEED replays a sequence, PIPE_RANDOM_STEPS lengthens each, PIPE_RANDOM_SEQUENCES
 * runs that many from the seed on (each killing at random steps).
 */

const DATES = { start: '2024-01-01', end: '2024-01-02' };
/** The model merged by key, and the one that counts its rows. */
const MERGED = ['customer_latest', 'finale'];
const REBUILDABLE = ['fct_orders', 'daily_totals', 'customer_totals', 'region_names'];

/** Reads every other model; with `gate` it waits on that FIFO first, and always runs (it reads a file). */
const FINALE = `{{ config(materialized='table') }}
select (select count(*) from {{ ref('daily_totals') }}) + (select count(*) from {{ ref('customer_totals') }})
  + (select count(*) from {{ ref('region_names') }}) + (select count(*) from {{ ref('customer_latest') }}) as n
{% if var('gate', '') %}where (select count(*) from read_csv('{{ var('gate') }}', columns={'line': 'VARCHAR'}, header=false, auto_detect=false)) >= 0{% endif %}
`;

const seed0 = Number(process.env.PIPE_RANDOM_SEED ?? 10);
const sequences = Number(process.env.PIPE_RANDOM_SEQUENCES ?? 1);
const steps = Number(process.env.PIPE_RANDOM_STEPS ?? (sequences > 1 ? 8 : 3));

const sorted = (ids: readonly string[]) => [...ids].sort();
const started = (events: readonly PipeEventJson[]) => sorted(taskIdsOf(events, 'task-started'));

/** Each table's column types and rows, in order, read through one connection. */
async function tablesOf(db: string, tables: readonly string[]): Promise<Record<string, unknown>> {
  const instance = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
  const c = await instance.connect();
  const out: Record<string, unknown> = {};
  for (const t of tables) {
    const columns = (await c.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE ${t})`)).getRowObjectsJson();
    out[t] = { columns, rows: (await c.runAndReadAll(`SELECT * FROM ${t} ORDER BY ALL`)).getRowObjectsJson() };
  }
  c.closeSync();
  instance.closeSync();
  return out;
}

/**
 * A `pipe backfill` process killed (kill -9) at its `at`-th task event, or when its last task
 * starts (it waits there on the gate); the ids of the tasks it reported committed.
 */
async function killedRun(dir: string, gate: ModelGate, at: number): Promise<string[]> {
  const running = new RunningPipe(['backfill', '--start', DATES.start, '--end', DATES.end, '--threads', '1', '--var', `gate=${gate.path}`, '--json', '--project', dir]);
  const atEvent = running.waitFor((e) => e.type.startsWith('task-'), at);
  const atGate = running.waitFor((e) => e.type === 'task-started' && taskOf(e).model === 'finale');
  // The other one rejects when the process is gone.
  void atEvent.catch(() => undefined);
  void atGate.catch(() => undefined);
  await Promise.race([atEvent, atGate]);
  running.child.kill('SIGKILL');
  const killed = await running.exited;
  expect(killed.signal, explain(killed)).toBe('SIGKILL');
  return taskIdsOf(killed.events, 'task-succeeded');
}

/** A run of everything from nothing on the files of now. */
async function fromScratch(files: Files): Promise<string> {
  const dir = tempDir();
  writeProjectFiles(dir, files);
  const r = await backfillIn(dir, { ...DATES, force: true });
  expect(r.code, explain(r)).toBe(0);
  return warehouseOf(dir);
}

async function sequence(seed: number, killAt: (rnd: Random, i: number) => boolean): Promise<{ skipped: number; kills: number }> {
  const rnd = new Random(seed);
  const files: Files = { ...initialFiles(), 'models/finale.sql': FINALE };
  const skipping = tempDir();
  const forced = tempDir();
  const gate = new ModelGate(skipping);
  const history: string[] = [];
  let skipped = 0;
  let kills = 0;
  for (let i = 0; i < steps; i++) {
    const what = i === 0 ? 'first build' : edit(rnd, files);
    const broken = i > 0 && rnd.chance(0.2) ? rnd.pick([DATES.start, DATES.end]) : undefined;
    const kill = killAt(rnd, i) ? 1 + rnd.int(24) : undefined;
    history.push(`${i}: ${what}${broken ? `, daily_totals fails for ${broken}` : ''}${kill ? `, killed at task event ${kill}` : ''}`);
    const context = `seed ${seed} (replay with PIPE_RANDOM_SEED=${seed}), after:\n${history.join('\n')}`;

    writeProjectFiles(skipping, files);
    writeProjectFiles(forced, files);
    for (const [dir, force] of [[skipping, false], [forced, true]] as const) {
      if (broken === undefined) continue;
      const r = await backfillIn(dir, { ...DATES, force, vars: { break: broken } });
      expect(r.code, `${context}\n${explain(r)}`).toBe(1);
    }
    const committed = kill === undefined ? [] : await killedRun(skipping, gate, kill);
    kills += kill === undefined ? 0 : 1;

    const due = await notCurrentAgreed(skipping, DATES, `${context}\nbefore the run`);
    const r = await backfillIn(skipping, DATES);
    expect(r.code, `${context}\n${explain(r)}`).toBe(0);
    expect(started(r.events), `${context}\nwhat ran against what status showed not current`).toEqual(due);
    // finale ran with the gate: its SQL differs from the next run's.
    for (const id of committed.filter((c) => !c.startsWith('finale'))) expect(started(r.events), `${context}\n${id} was committed by the killed run`).not.toContain(id);
    skipped += r.events.filter((e) => e.type === 'task-skipped' && e.reason === 'current').length;
    expect(await notCurrentAgreed(skipping, DATES, `${context}\nafter the run`)).toEqual([]);

    const f = await backfillIn(forced, { ...DATES, force: true });
    expect(f.code, `${context}\n${explain(f)}`).toBe(0);
    const scratch = await fromScratch(files);
    expect(await tablesOf(warehouseOf(skipping), REBUILDABLE), `${context}\nagainst a build from nothing`).toEqual(await tablesOf(scratch, REBUILDABLE));
    expect(await tablesOf(warehouseOf(skipping), MERGED), `${context}\nagainst the same history run with --force`).toEqual(await tablesOf(warehouseOf(forced), MERGED));
  }
  return { skipped, kills };
}

describe('skipping what is current, over random edits, failures and kill -9', () => {
  const seeds = Array.from({ length: sequences }, (_, k) => seed0 + k);
  it(`leaves the tables a run of everything leaves (seeds ${seed0}…${seed0 + sequences - 1}, ${steps} steps each)`, async () => {
    let skipped = 0;
    let kills = 0;
    for (const seed of seeds) {
      // One sequence kills at its second step; more kill at random steps, a third of them.
      const r = await sequence(seed, sequences === 1 ? (_rnd, i) => i === 1 : (rnd) => rnd.chance(1 / 3));
      skipped += r.skipped;
      kills += r.kills;
    }
    // Most steps leave most tasks current: the comparison is of skipping, not of runs of everything.
    expect(skipped).toBeGreaterThan(seeds.length * steps * 2);
    expect(kills).toBeGreaterThan(0);
  }, 120_000 * sequences);
});
