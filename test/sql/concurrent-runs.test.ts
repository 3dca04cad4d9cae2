import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run, type RunOutcome } from '../../src/commands/run.js';
import type { PipeEvent } from '../../src/events/events.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

/**
 * Runs that one process starts at the same time (the scheduler's, watch's, a library user's)
 * share one engine: publishing to one table is serialized (a table's build with it, written in
 * its publishing transaction), and a run for an older date never puts its table or view over
 * the one a run for a newer date published.
 */

afterAll(removeProjects);

const project = () =>
  tempProject(
    {
      // Each run reads its number from the file its `src` var names: a FIFO blocks the run until the test writes to it.
      'models/snap.sql': "select '{{ ds }}' as ds, n from read_csv({{ var('src') | sqlstring }}, header = true, columns = {'n': 'INTEGER'})\n",
      'models/latest.sql': "select ds, n, '{{ ds }}' as built_for from {{ ref('snap') }}\n",
      'models/latest.yaml': 'materialized: view\n',
    },
    'pipe-concurrent-',
  );
const query = queryWarehouse;

const OLDER = '2024-01-03';
const NEWER = '2024-01-04';

/**
 * Opens the FIFO for writing, which returns once the run reading it has opened it: its query
 * is then running, inside its table's publishing transaction (a table is written from its query
 * there), which the table's other publishes of the process wait for. Writing `text` lets it go on.
 */
async function holding(fifo: string): Promise<{ release: (text: string) => Promise<void> }> {
  const handle = await open(fifo, 'w');
  return {
    release: async (text) => {
      await handle.writeFile(text);
      await handle.close();
    },
  };
}

describe('two runs in one process', () => {
  it('end with the newer date published, whichever publishes first; the older one reports its tables superseded', async () => {
    const dir = project();
    const fifo = join(dir, 'held.fifo');
    execFileSync('mkfifo', [fifo]);
    const file = join(dir, 'free.csv');

    // Each round is ordered by the FIFO, not by chance: the held run publishes first, the older one in even rounds.
    const rounds = 4;
    for (let round = 0; round < rounds; round++) {
      const held = round % 2 === 0 ? OLDER : NEWER;
      const free = held === OLDER ? NEWER : OLDER;
      const value = (date: string) => round * 10 + (date === NEWER ? 2 : 1);
      writeFileSync(file, `n\n${value(free)}\n`);
      const events: Record<string, PipeEvent[]> = { [OLDER]: [], [NEWER]: [] };
      const start = (date: string) =>
        run({ project: dir, date, threads: 2, vars: { src: date === held ? fifo : file }, emit: (e) => events[date].push(e) });
      const runs: Record<string, Promise<RunOutcome>> = {};
      runs[held] = start(held);
      const gate = await holding(fifo);
      // The other run starts while the held one is building its table: it publishes second.
      runs[free] = start(free);
      await gate.release(`n\n${value(held)}\n`);
      expect((await runs[held]).status).toBe('succeeded');
      expect((await runs[free]).status).toBe('succeeded');

      expect(await query(dir, 'select ds, n::INTEGER as n from snap')).toEqual([{ ds: NEWER, n: value(NEWER) }]);
      expect(await query(dir, 'select built_for from latest')).toEqual([{ built_for: NEWER }]);
      const all = [...events[OLDER], ...events[NEWER]];
      expect(all.filter((e) => e.type === 'task-failed' || e.type === 'diagnostic')).toEqual([]);
      expect(JSON.stringify(all)).not.toMatch(/conflict/i);

      const superseded = events[OLDER].flatMap((e) => (e.type === 'task-skipped' && e.reason === 'superseded' ? [e.task.model] : []));
      if (held === NEWER) {
        // The view of the older run may come before or after the newer one's: its table cannot.
        expect(superseded).toContain('snap');
        const skip = events[OLDER].find((e) => e.type === 'task-skipped' && e.task.model === 'snap');
        const newerRun = events[NEWER].find((e) => e.type === 'run-started')!.runId;
        expect(skip).toMatchObject({ detail: `superseded: run ${newerRun} published it for a newer interval (${NEWER}); pipe run --select snap --date ${OLDER} rebuilds it for this date` });
      } else {
        expect(superseded).toEqual([]);
      }
      expect(events[NEWER].some((e) => e.type === 'task-skipped')).toBe(false);
    }

    // Superseded tasks are done (a retry leaves them), and nothing staged is left.
    const records = await query(
      dir,
      `select t.node, r.status, r.detail from _pipe.task_results r join _pipe.tasks t using (run_id, task_id)
       where t.ds = '${OLDER}' and r.detail like 'superseded%' and t.node = 'snap' order by r.ended_at`,
    );
    // The table of the older run, in each of the rounds that held the newer one (every other one).
    expect(records).toHaveLength(rounds / 2);
    expect(records.every((r) => r.status === 'succeeded')).toBe(true);
    expect(await query(dir, "select table_name from duckdb_tables() where table_name like '__pipe_stage__%'")).toEqual([]);
  });

  it('a run asked for an older date after a newer one published builds it: only a run overlapping the newer publish is superseded', async () => {
    const dir = tempProject(
      {
        'models/snap.sql': "select '{{ ds }}' as ds\n",
        // Keeps the process's engine (and what it remembers of publishes) while the others run, as a worker does.
        'models/held.sql': "select n from read_csv({{ var('hold', 'none') | sqlstring }}, header = true, columns = {'n': 'INTEGER'})\n",
      },
      'pipe-concurrent-',
    );
    const fifo = join(dir, 'held.fifo');
    execFileSync('mkfifo', [fifo]);
    const quiet = () => undefined;
    const holder = run({ project: dir, date: '2024-01-01', select: ['held'], vars: { hold: fifo }, emit: quiet });
    const gate = await holding(fifo);
    expect((await run({ project: dir, date: NEWER, select: ['snap'], emit: quiet })).status).toBe('succeeded');
    const events: PipeEvent[] = [];
    expect((await run({ project: dir, date: OLDER, select: ['snap'], emit: (e) => events.push(e) })).status).toBe('succeeded');
    expect(events.filter((e) => e.type === 'task-skipped')).toEqual([]);
    expect(await query(dir, 'select ds from snap')).toEqual([{ ds: OLDER }]);
    await gate.release('n\n1\n');
    expect((await holder).status).toBe('succeeded');
  });

  it('load a changed seed side by side, each under a staging table of its own', async () => {
    const dir = tempProject({ 'seeds/codes.csv': 'code\n1\n', 'models/uses.sql': "select code, '{{ ds }}' as ds from {{ ref('codes') }}\n" }, 'pipe-concurrent-');
    for (let round = 2; round <= 4; round++) {
      writeFileSync(join(dir, 'seeds/codes.csv'), `code\n${'x'.repeat(round)}\n`);
      const events: PipeEvent[] = [];
      const outcomes = await Promise.all([OLDER, NEWER].map((date) => run({ project: dir, date, threads: 2, emit: (e) => events.push(e) })));
      expect(outcomes.map((o) => o.status), JSON.stringify(events.filter((e) => e.type === 'task-failed'))).toEqual(['succeeded', 'succeeded']);
      expect(await query(dir, 'select code from codes')).toEqual([{ code: 'x'.repeat(round) }]);
    }
    expect(await query(dir, "select table_name from duckdb_tables() where table_name like '__pipe_stage__%'")).toEqual([]);
  });

  it('two first builds of a table: the newer run, publishing second, replaces what the older one published meanwhile', async () => {
    const dir = project();
    const fifo = join(dir, 'held.fifo');
    execFileSync('mkfifo', [fifo]);
    const file = join(dir, 'free.csv');
    writeFileSync(file, 'n\n2\n');
    const events: PipeEvent[] = [];
    // Both are planned while no table exists; the older one is held building it, the newer one waits to publish.
    const older = run({ project: dir, date: OLDER, threads: 2, vars: { src: fifo }, emit: (e) => events.push(e) });
    const gate = await holding(fifo);
    let planned: () => void = () => undefined;
    const newerPlanned = new Promise<void>((resolve) => (planned = resolve));
    const newer = run({
      project: dir,
      date: NEWER,
      threads: 2,
      vars: { src: file },
      emit: (e) => {
        events.push(e);
        if (e.type === 'run-started') planned();
      },
    });
    await newerPlanned;
    await gate.release('n\n1\n');
    expect((await older).status).toBe('succeeded');
    expect((await newer).status).toBe('succeeded');
    expect(events.filter((e) => e.type === 'task-failed')).toEqual([]);
    expect(await query(dir, 'select ds, n::INTEGER as n from snap')).toEqual([{ ds: NEWER, n: 2 }]);
    expect(await query(dir, 'select built_for from latest')).toEqual([{ built_for: NEWER }]);
  });
});
