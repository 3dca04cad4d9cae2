import { describe, expect, it } from 'vitest';
import { TaskQueue, type QueueOptions, type QueuedTask, type TaskOutcome } from '../../src/execute/task-queue.js';
import { Random } from '../support/random.js';

/** A task on an edge list: `t('b', ['a'])` reads from a. */
const t = (id: string, upstream: string[] = [], more: Partial<QueuedTask> = {}): QueuedTask => ({ id, upstream, ...more });

/** Ids of everything the queue hands out now. */
function takeAll(q: TaskQueue<QueuedTask>): string[] {
  const out: string[] = [];
  for (let taken = q.take(); taken; taken = q.take()) out.push(taken.task.id);
  return out;
}

function queue(tasks: QueuedTask[], options: Partial<QueueOptions> = {}) {
  const q = new TaskQueue(tasks, { threads: 8, ...options });
  const byId = new Map(tasks.map((x) => [x.id, x]));
  const settle = (id: string, outcome: TaskOutcome) => q.settle(byId.get(id)!, outcome);
  return { q, settle };
}

describe('TaskQueue', () => {
  it('hands out a task only once every task it reads from has succeeded', () => {
    const { q, settle } = queue([t('a'), t('b', ['a']), t('c', ['b']), t('d', ['a', 'c'])]);
    expect(takeAll(q)).toEqual(['a']);
    settle('a', 'succeeded');
    expect(takeAll(q)).toEqual(['b']);
    settle('b', 'succeeded');
    expect(takeAll(q)).toEqual(['c']);
    settle('c', 'succeeded');
    expect(takeAll(q)).toEqual(['d']);
    settle('d', 'succeeded');
    expect(takeAll(q)).toEqual([]);
    expect(q.counts).toEqual({ succeeded: 4, failed: 0, skipped: 0, cancelled: 0 });
    expect(q.pending).toBe(0);
  });

  it('a parked task frees its thread, and what reads it waits until it is settled', () => {
    const { q, settle } = queue([t('a'), t('b'), t('c', ['a'])], { threads: 1 });
    expect(takeAll(q)).toEqual(['a']);
    q.park({ id: 'a', upstream: [] });
    expect(takeAll(q)).toEqual(['b']);
    q.park({ id: 'b', upstream: [] });
    expect(takeAll(q)).toEqual([]);
    expect(q.pending).toBe(3);
    settle('a', 'succeeded');
    expect(takeAll(q)).toEqual(['c']);
    settle('b', 'succeeded');
    settle('c', 'succeeded');
    expect(q.pending).toBe(0);
    expect(() => q.park({ id: 'c', upstream: [] })).toThrow(/parked without being taken/);
  });

  it('a parked task that runs again holds a thread again until it is settled', () => {
    const { q, settle } = queue([t('a'), t('b'), t('c')], { threads: 1 });
    expect(takeAll(q)).toEqual(['a']);
    q.park({ id: 'a', upstream: [] });
    expect(takeAll(q)).toEqual(['b']);
    settle('b', 'failed');
    // a's batch was rolled back: it runs again, alone, on the run's one thread.
    q.resume({ id: 'a', upstream: [] });
    expect(takeAll(q)).toEqual([]);
    settle('a', 'succeeded');
    expect(takeAll(q)).toEqual(['c']);
    expect(() => q.resume({ id: 'c', upstream: [] })).toThrow(/resumed without being parked/);
  });

  it('ignores upstream ids outside the queue (built earlier, or not selected)', () => {
    const { q } = queue([t('b', ['a']), t('c', [], { after: ['z'] })]);
    expect(takeAll(q)).toEqual(['b', 'c']);
  });

  it('starts the earliest ready task first, whenever it became ready', () => {
    // c becomes ready after b, but comes before it in priority.
    const { q, settle } = queue([t('a'), t('c', ['a']), t('b')], { threads: 1 });
    expect(takeAll(q)).toEqual(['a']);
    settle('a', 'succeeded');
    expect(takeAll(q)).toEqual(['c']);
    settle('c', 'succeeded');
    expect(takeAll(q)).toEqual(['b']);
  });

  it('hands out at most `threads` tasks at once', () => {
    const { q, settle } = queue([t('a'), t('b'), t('c'), t('d'), t('e')], { threads: 2 });
    expect(takeAll(q)).toEqual(['a', 'b']);
    expect(q.running).toBe(2);
    settle('b', 'succeeded');
    expect(takeAll(q)).toEqual(['c']);
    settle('a', 'failed');
    settle('c', 'succeeded');
    expect(takeAll(q)).toEqual(['d', 'e']);
  });

  for (const outcome of ['succeeded', 'failed', 'skipped', 'cancelled'] as const) {
    it(`releases an ordering-only edge when the task before ${outcome === 'skipped' ? 'is skipped' : outcome}`, () => {
      const { q, settle } = queue([t('a'), t('b', [], { after: ['a'] }), t('c', ['a'])]);
      expect(takeAll(q)).toEqual(['a']);
      const settled = settle('a', outcome);
      expect(takeAll(q)).toEqual(outcome === 'succeeded' ? ['b', 'c'] : ['b']);
      expect(settled.skipped.map((s) => s.task.id)).toEqual(outcome === 'failed' || outcome === 'skipped' ? ['c'] : []);
    });
  }

  it('skips everything downstream of a failure, once each, and lets independent branches run', () => {
    // a → b → c, a → d, b → e ← d (a diamond), f on its own.
    const { q, settle } = queue([t('a'), t('b', ['a']), t('c', ['b']), t('d', ['a']), t('e', ['b', 'd']), t('f')]);
    expect(takeAll(q)).toEqual(['a', 'f']);
    const settled = settle('a', 'failed');
    expect(settled.skipped.map((s) => s.task.id).sort()).toEqual(['b', 'c', 'd', 'e']);
    expect(settled.skipped.every((s) => s.cause.id === 'a')).toBe(true);
    expect(takeAll(q)).toEqual([]);
    settle('f', 'succeeded');
    expect(q.counts).toEqual({ succeeded: 1, failed: 1, skipped: 4, cancelled: 0 });
    expect(q.pending).toBe(0);
  });

  it('skips what reads a skipped task (depends_on_past), naming the skipped one as the cause', () => {
    const { q, settle } = queue([t('a'), t('b', ['a']), t('c', ['b'])]);
    takeAll(q);
    settle('a', 'succeeded');
    expect(takeAll(q)).toEqual(['b']);
    const settled = settle('b', 'skipped');
    expect(settled.skipped.map((s) => [s.task.id, s.cause.id])).toEqual([['c', 'b']]);
    expect(q.counts.skipped).toBe(2);
  });

  it('leaves downstream of a cancelled task pending, not skipped', () => {
    const { q, settle } = queue([t('a'), t('b', ['a'])]);
    takeAll(q);
    expect(settle('a', 'cancelled').skipped).toEqual([]);
    expect(takeAll(q)).toEqual([]);
    expect(q.pending).toBe(1);
    expect(q.counts.cancelled).toBe(1);
  });

  it('stops handing out tasks once max failures is reached; tasks out may still end', () => {
    const { q, settle } = queue([t('a'), t('b'), t('c'), t('d'), t('e')], { threads: 3, maxFailures: 2 });
    expect(takeAll(q)).toEqual(['a', 'b', 'c']);
    expect(settle('a', 'failed').stopped).toBeUndefined();
    expect(takeAll(q)).toEqual(['d']);
    expect(settle('b', 'failed').stopped).toEqual({ failed: 2, maxFailures: 2 });
    expect(q.stopped).toBe(true);
    expect(takeAll(q)).toEqual([]);
    settle('c', 'succeeded');
    expect(settle('d', 'failed').stopped).toBeUndefined();
    expect(takeAll(q)).toEqual([]);
    expect(q.pending).toBe(1);
  });

  describe('dates (groups)', () => {
    const dates = (n: number, perDate = 1): QueuedTask[] =>
      Array.from({ length: n }, (_, d) => Array.from({ length: perDate }, (_, k) => t(`m${k}@d${d + 1}`, [], { group: `2024-01-0${d + 1}` }))).flat();

    it('admits one date, then doubles the dates in flight as dates succeed, up to --parallel', () => {
      const { q, settle } = queue(dates(7), { parallel: 4 });
      expect(takeAll(q)).toEqual(['m0@d1']);
      expect(settle('m0@d1', 'succeeded').progress).toEqual({ total: 7, done: 1, failed: 0, cancelled: 0, inFlight: 0, window: 2, limit: 4 });
      expect(takeAll(q)).toEqual(['m0@d2', 'm0@d3']);
      settle('m0@d2', 'succeeded');
      expect(takeAll(q)).toEqual(['m0@d4', 'm0@d5', 'm0@d6']);
      expect(q.progress()).toEqual({ total: 7, done: 2, failed: 0, cancelled: 0, inFlight: 4, window: 4, limit: 4 });
      settle('m0@d3', 'succeeded');
      expect(takeAll(q)).toEqual(['m0@d7']);
    });

    it('admits the next date past the window when a date in flight waits for a task of one not admitted, and nothing out could free it', () => {
      // a@d1..d3 by date; t once, after every date of a; b@dN reads t: date 1 cannot end before date 3's a.
      const group = (d: number) => ({ group: `2024-01-0${d}` });
      const tasks = [
        t('a@d1', [], group(1)),
        t('a@d2', [], group(2)),
        t('a@d3', [], group(3)),
        t('t@d3', ['a@d1', 'a@d2', 'a@d3'], group(3)),
        t('b@d1', ['t@d3'], group(1)),
        t('b@d2', ['t@d3'], group(2)),
        t('b@d3', ['t@d3'], group(3)),
      ];
      const { q, settle } = queue(tasks, { parallel: 1, threads: 1 });
      const order: string[] = [];
      for (let taken = q.take(); taken; taken = q.take()) {
        order.push(taken.task.id);
        settle(taken.task.id, 'succeeded');
      }
      expect(order).toEqual(['a@d1', 'a@d2', 'a@d3', 't@d3', 'b@d1', 'b@d2', 'b@d3']);
      expect(q.pending).toBe(0);
      // While a task is out, the window holds: it may free the date in flight.
      const again = queue(tasks, { parallel: 1, threads: 2 });
      expect(takeAll(again.q)).toEqual(['a@d1']);
      again.settle('a@d1', 'succeeded');
      expect(takeAll(again.q)).toEqual(['a@d2']);
    });

    it('starts every task of a date in flight, whatever the window', () => {
      const { q } = queue(dates(3, 2), { parallel: 2 });
      expect(takeAll(q)).toEqual(['m0@d1', 'm1@d1']);
    });

    it('halves the window on a failure, counts the date failed, and grows again after as many successes as the window', () => {
      const { q, settle } = queue(dates(7), { parallel: 4, slowStart: false });
      expect(takeAll(q)).toEqual(['m0@d1', 'm0@d2', 'm0@d3', 'm0@d4']);
      expect(settle('m0@d1', 'failed').progress).toMatchObject({ done: 0, failed: 1, inFlight: 3, window: 2 });
      expect(takeAll(q)).toEqual([]);
      expect(settle('m0@d2', 'succeeded').progress).toMatchObject({ done: 1, inFlight: 2, window: 2 });
      expect(takeAll(q)).toEqual([]);
      expect(settle('m0@d3', 'succeeded').progress).toMatchObject({ done: 2, inFlight: 1, window: 4 });
      expect(takeAll(q)).toEqual(['m0@d5', 'm0@d6', 'm0@d7']);
    });

    it('reports when a date starts, and does not gate tasks without a date', () => {
      const { q } = queue([...dates(2), t('table')], { parallel: 1 });
      const first = q.take();
      expect(first?.task.id).toBe('m0@d1');
      expect(first?.progress).toMatchObject({ total: 2, inFlight: 1, window: 1 });
      expect(q.take()?.task.id).toBe('table');
      expect(q.take()).toBeUndefined();
    });

    it('counts a date stopped with nothing failed as cancelled, not failed', () => {
      const tasks = [t('a@d1', [], { group: 'd1' }), t('a@d2', [], { group: 'd2' })];
      const { q, settle } = queue(tasks, { parallel: 2, slowStart: false });
      expect(takeAll(q)).toEqual(['a@d1', 'a@d2']);
      expect(settle('a@d1', 'failed').progress).toMatchObject({ failed: 1, cancelled: 0 });
      expect(settle('a@d2', 'cancelled').progress).toMatchObject({ done: 0, failed: 1, cancelled: 1, inFlight: 0 });
    });

    it('counts a date done when its last task is skipped, and does not gate without --parallel', () => {
      const tasks = [t('a@d1', [], { group: 'd1' }), t('b@d1', ['a@d1'], { group: 'd1' }), t('a@d2', [], { group: 'd2' })];
      const gated = queue(tasks, { parallel: 2, slowStart: false });
      expect(takeAll(gated.q)).toEqual(['a@d1', 'a@d2']);
      expect(gated.settle('a@d1', 'skipped').progress).toMatchObject({ done: 1, failed: 0 });
      const free = queue(tasks);
      expect(takeAll(free.q)).toEqual(['a@d1', 'a@d2']);
      expect(free.settle('a@d1', 'failed').progress).toBeUndefined();
    });
  });

  it('hands out each task once, and takes each back once, over a random graph in random order', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 20; round++) {
      const tasks = Array.from({ length: 30 }, (_, i) =>
        t(
          `t${i}`,
          Array.from({ length: i }, (_, j) => `t${j}`).filter(() => random() < 0.1),
          { after: Array.from({ length: i }, (_, j) => `t${j}`).filter(() => random() < 0.05), group: `d${i % 4}` },
        ),
      );
      const { q, settle } = queue(tasks, { threads: 3, parallel: 2 });
      const handedOut: string[] = [];
      const out: string[] = [];
      const ended = new Set<string>();
      for (;;) {
        for (const id of takeAll(q)) {
          expect(ended.has(id)).toBe(false);
          handedOut.push(id);
          out.push(id);
        }
        if (out.length === 0) break;
        const [id] = out.splice(Math.floor(random() * out.length), 1);
        const outcome = (['succeeded', 'succeeded', 'succeeded', 'failed', 'skipped', 'cancelled'] as const)[Math.floor(random() * 6)];
        const settled = settle(id, outcome);
        ended.add(id);
        for (const s of settled.skipped) {
          expect(ended.has(s.task.id)).toBe(false);
          ended.add(s.task.id);
        }
        expect(() => settle(id, 'succeeded')).toThrow(/settled without being taken/);
      }
      expect(new Set(handedOut).size).toBe(handedOut.length);
      const c = q.counts;
      expect(c.succeeded + c.failed + c.skipped + c.cancelled + q.pending).toBe(tasks.length);
      expect(q.running).toBe(0);
    }
  });
  it('hands out, at every step, the earliest ready task the window admits, as the rules say, over random dated graphs', () => {
    const rng = new Random(11);
    const random = () => rng.next();
    for (let round = 0; round < 40; round++) {
      const n = 10 + Math.floor(random() * 50);
      const dates = 1 + Math.floor(random() * 8);
      const tasks = Array.from({ length: n }, (_, i) =>
        t(
          `t${i}`,
          // Now and then an edge to a later task: a date waiting for a task planned after it.
          Array.from({ length: n }, (_, j) => `t${j}`).filter((_, j) => j !== i && random() < (j < i ? 0.08 : 0.01)),
          { after: Array.from({ length: i }, (_, j) => `t${j}`).filter(() => random() < 0.03), group: random() < 0.85 ? `d${Math.floor(random() * dates)}` : undefined },
        ),
      );
      // Edges to later tasks may close a cycle: keep those whose every edge points back, plus acyclic forward ones checked below.
      const acyclic = tasks.map((x, i) => ({ ...x, upstream: x.upstream.filter((u) => Number(u.slice(1)) < i || random() < 0.5 && !reaches(tasks, u, x.id)) }));
      const options = { threads: 1 + Math.floor(random() * 4), parallel: random() < 0.8 ? 1 + Math.floor(random() * 4) : undefined };
      const { q, settle } = queue(acyclic, options);
      const byIndex = acyclic.map((x) => x.id);
      const outcomeOf = new Map<string, TaskOutcome>();
      const out = new Set<string>();
      const started = new Set<string>();
      for (;;) {
        // What the rules say comes next.
        const ready = acyclic.filter(
          (x) =>
            !out.has(x.id) && !outcomeOf.has(x.id) &&
            x.upstream.every((u) => outcomeOf.get(u) === 'succeeded') &&
            (x.after ?? []).every((a) => outcomeOf.has(a)),
        );
        const { inFlight, window } = q.progress();
        const gated = options.parallel !== undefined && acyclic.some((x) => x.group !== undefined);
        const admitted = ready.filter((x) => !gated || x.group === undefined || started.has(x.group) || inFlight < window);
        const expected = out.size >= options.threads ? undefined : (admitted[0] ?? (out.size === 0 && ready.length > 0 ? ready[0] : undefined));
        const taken = q.take();
        expect(taken?.task.id, `round ${round}`).toBe(expected?.id);
        if (taken) {
          out.add(taken.task.id);
          if (taken.task.group !== undefined) started.add(taken.task.group);
          continue;
        }
        if (out.size === 0) break;
        const id = [...out].sort((a, b) => byIndex.indexOf(a) - byIndex.indexOf(b))[Math.floor(random() * out.size)];
        out.delete(id);
        const outcome = (['succeeded', 'succeeded', 'succeeded', 'succeeded', 'failed', 'skipped'] as const)[Math.floor(random() * 6)];
        outcomeOf.set(id, outcome);
        for (const s of settle(id, outcome).skipped) outcomeOf.set(s.task.id, 'skipped');
      }
      expect(q.running).toBe(0);
    }
  });
});

/** Whether `to` is reached from `from` following upstream edges. */
function reaches(tasks: readonly QueuedTask[], from: string, to: string): boolean {
  const byId = new Map(tasks.map((x) => [x.id, x]));
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (id === to) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(byId.get(id)?.upstream ?? []), ...(byId.get(id)?.after ?? []));
  }
  return false;
}
