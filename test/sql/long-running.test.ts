import { getEventListeners } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PipeEvent } from '../../src/events/events.js';
import { schedule } from '../../src/schedule/scheduler.js';
import { watch } from '../../src/watch/watch.js';
import { removeProjects, tempProject } from '../support/projects.js';

/**
 * `pipe watch` and `pipe schedule` in-process, on real files and warehouses, where what
 * matters is what they do over many saves or rounds (the CLI's side of them is in test/e2e).
 */

afterAll(removeProjects);

const project = (files: Record<string, string>) => tempProject(files, 'pipe-long-running-');

const listeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;

/** The warnings Node gives while `work` runs (a leak shows as MaxListenersExceededWarning). */
async function warningsDuring(work: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const onWarning = (w: Error) => seen.push(w.name);
  process.on('warning', onWarning);
  try {
    await work();
    // Node hands warnings over on a later turn of its loop.
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', onWarning);
  }
  return seen;
}

/** Resolves each time `count` events matching `pred` have been seen in all. */
function counter(pred: (e: PipeEvent) => boolean) {
  let seen = 0;
  const waiters: { n: number; res: () => void }[] = [];
  return {
    see(e: PipeEvent) {
      if (!pred(e)) return;
      seen++;
      for (const w of waiters.filter((w) => w.n <= seen)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.res();
      }
    },
    reach(n: number): Promise<void> {
      return n <= seen ? Promise.resolve() : new Promise((res) => waiters.push({ n, res }));
    },
  };
}

/**
 * `pipe watch` on `dir`, in-process: the events it emits, a wait for the end of its `n`th
 * build (each ends in watch-waiting), and its stop. `onEvent` sees each event as it is emitted.
 */
function watching(dir: string, options: { debounceMs?: number; onEvent?: (e: PipeEvent) => void } = {}) {
  const controller = new AbortController();
  const events: PipeEvent[] = [];
  const waiting = counter((e) => e.type === 'watch-waiting');
  const done = watch({
    project: dir,
    date: '2024-01-02',
    debounceMs: options.debounceMs,
    signal: controller.signal,
    emit: (e) => {
      options.onEvent?.(e);
      events.push(e);
      waiting.see(e);
    },
  });
  return {
    signal: controller.signal,
    events,
    built: (n: number) => waiting.reach(n),
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

const ROUNDS = 12;

/**
 * They live as long as their user wants: whatever they add to the stop signal while waiting
 * must go when the wait ends, or every save (every round) leaves one listener behind and Node
 * warns of a leak after ten.
 */
describe('the stop signal of a long-lived command', () => {
  it('watch: a save leaves no listener behind', async () => {
    const dir = project({ 'pipe.yaml': 'name: t\n', 'models/a.sql': 'select 1 as n', 'macros/m0.sql': '' });
    const counts: number[] = [];
    const w = watching(dir, {
      debounceMs: 0,
      onEvent: (e) => {
        if (e.type === 'watch-waiting') counts.push(listeners(w.signal));
      },
    });
    const warnings = await warningsDuring(async () => {
      await w.built(1);
      // A new macro that no model calls: each save is a round with nothing to build. (A file of
      // its own each time: the file watcher drops a second change of one file within 50 ms.)
      for (let i = 1; i <= ROUNDS; i++) {
        writeFileSync(join(dir, `macros/m${i}.sql`), `{% macro m${i}() %}${i}{% endmacro %}`);
        await w.built(i + 1);
      }
      await w.stop();
    });
    expect(warnings).not.toContain('MaxListenersExceededWarning');
    expect(counts.length).toBeGreaterThan(ROUNDS);
    expect(new Set(counts)).toEqual(new Set([counts[0]]));
  });

  it('schedule: a round leaves no listener behind', async () => {
    const dir = project({
      'pipe.yaml': 'name: t\n',
      'models/a.sql': "select '{{ ds }}' as ds",
      'pipelines/nightly.yaml': `schedule: "0 2 * * *"\ncatchup: true\nmax_catchup: ${ROUNDS}\n`,
    });
    const quiet = () => undefined;
    const first = await schedule({ project: dir, once: true, clock: { now: () => Date.parse('2024-01-01T03:00:00Z') }, signal: new AbortController().signal, emit: quiet });
    expect(first).toEqual({ runs: 1, failed: 0 });

    // Down for ROUNDS days: one catch-up run at a time, each ending a wait of the scheduler.
    const controller = new AbortController();
    const counts: number[] = [];
    const finished = counter((e) => e.type === 'run-finished');
    const done = schedule({
      project: dir,
      clock: { now: () => Date.parse('2024-01-01T03:00:00Z') + ROUNDS * 86_400_000 },
      signal: controller.signal,
      emit: (e) => {
        if (e.type === 'run-started') counts.push(listeners(controller.signal));
        finished.see(e);
      },
    });
    const warnings = await warningsDuring(async () => {
      await finished.reach(ROUNDS);
      controller.abort();
      expect(await done).toEqual({ runs: ROUNDS, failed: 0 });
    });
    expect(warnings).not.toContain('MaxListenersExceededWarning');
    expect(counts).toHaveLength(ROUNDS);
    expect(new Set(counts)).toEqual(new Set([counts[0]]));
  });
});

describe('watch, while the project does not analyze', () => {
  it('holds what was saved, and builds it with the save that fixes the project', async () => {
    const broken = "select n from {{ ref('a') }} {{ oops( }}";
    const dir = project({ 'pipe.yaml': 'name: t\n', 'models/a.sql': 'select 1 as n', 'models/b.sql': broken, 'models/c.sql': 'select 3 as n' });
    const w = watching(dir);
    await w.built(1);
    writeFileSync(join(dir, 'models/c.sql'), 'select 4 as n');
    await w.built(2);
    writeFileSync(join(dir, 'models/b.sql'), "select n from {{ ref('a') }}");
    await w.built(3);
    await w.stop();

    const changes = w.events.filter((e) => e.type === 'watch-change');
    expect(changes).toEqual([
      { type: 'watch-change', files: ['models/c.sql'], rebuild: [], removed: [], blocked: true },
      // The first build never got through: the fix builds the whole selection.
      { type: 'watch-change', files: ['models/b.sql', 'models/c.sql'], rebuild: ['a', 'b', 'c'], removed: [] },
    ]);
    const built = w.events.flatMap((e) => (e.type === 'task-succeeded' ? [e.task.id] : []));
    expect(built.sort()).toEqual(['a@2024-01-02', 'b@2024-01-02', 'c@2024-01-02']);
  });
});
