import { describe, expect, it } from 'vitest';
import { KeyedMutex } from '../../src/execute/keyed-mutex.js';
import { SlowStart } from '../../src/execute/slow-start.js';

/** A promise with its resolve and reject at hand. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every already-queued promise callback run. */
const settle = () => new Promise((r) => setImmediate(r));

describe('KeyedMutex', () => {
  it('runs work on one key one at a time, in the order it was asked for', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const gates = [deferred(), deferred(), deferred()];
    const runs = gates.map((g, i) =>
      m.run('t', async () => {
        log.push(`start ${i}`);
        await g.promise;
        log.push(`end ${i}`);
        return i;
      }),
    );
    await settle();
    expect(log).toEqual(['start 0']);
    // Finishing a later one first changes nothing: 1 has not started.
    gates[2].resolve();
    await settle();
    expect(log).toEqual(['start 0']);
    gates[0].resolve();
    await settle();
    expect(log).toEqual(['start 0', 'end 0', 'start 1']);
    gates[1].resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2]);
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('lets shared holders of a key in together; an exclusive one waits for them, and later shared ones wait for it', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const hold = (name: string, g: { promise: Promise<void> }) => async () => {
      log.push(`start ${name}`);
      await g.promise;
      log.push(`end ${name}`);
    };
    const runs = [
      m.shared('t', hold('s1', gates[0])),
      m.shared('t', hold('s2', gates[1])),
      m.run('t', hold('x', gates[2])),
      m.shared('t', hold('s3', gates[3])),
    ];
    await settle();
    expect(log).toEqual(['start s1', 'start s2']);
    gates[1].resolve();
    await settle();
    expect(log).toEqual(['start s1', 'start s2', 'end s2']);
    gates[0].resolve();
    await settle();
    expect(log.slice(3)).toEqual(['end s1', 'start x']);
    gates[3].resolve();
    await settle();
    expect(log.slice(5)).toEqual([]);
    gates[2].resolve();
    await Promise.all(runs);
    expect(log.slice(5)).toEqual(['end x', 'start s3', 'end s3']);
  });

  it('tryAcquire takes a free key at once, never waits, and takes nothing when the key is held or wanted', async () => {
    const m = new KeyedMutex();
    const first = m.tryAcquire('t', true)!;
    expect(first).toBeTypeOf('function');
    expect(m.tryAcquire('t', false)).toBeUndefined();
    const waiting = m.acquire('t', true);
    expect(m.wanted('t')).toBe(true);
    first();
    first(); // a second call lets go of nothing more
    const second = await waiting;
    expect(m.wanted('t')).toBe(false);
    second();
    const s1 = m.tryAcquire('t', false)!;
    const s2 = m.tryAcquire('t', false)!;
    expect(m.tryAcquire('t', true)).toBeUndefined();
    const exclusive = m.acquire('t', true);
    // Someone waits: a shared holder that comes later does not pass them.
    expect(m.tryAcquire('t', false)).toBeUndefined();
    s1();
    s2();
    (await exclusive)();
    expect(m.tryAcquire('t', true)).toBeTypeOf('function');
  });

  it('runs work on different keys at the same time', async () => {
    const m = new KeyedMutex();
    const gate = deferred();
    const started: string[] = [];
    const a = m.run('a', async () => {
      started.push('a');
      await gate.promise;
    });
    const b = m.run('b', async () => {
      started.push('b');
      await gate.promise;
    });
    await settle();
    expect(started.sort()).toEqual(['a', 'b']);
    gate.resolve();
    await Promise.all([a, b]);
  });

  it('passes a failure to its caller and lets the next work on the key run', async () => {
    const m = new KeyedMutex();
    const failing = m.run('t', async () => {
      throw new Error('publish failed');
    });
    const next = m.run('t', async () => 'ran');
    await expect(failing).rejects.toThrow('publish failed');
    expect(await next).toBe('ran');
  });

  it('is reusable after the queue of a key drains', async () => {
    const m = new KeyedMutex();
    expect(await m.run('t', async () => 1)).toBe(1);
    expect(await m.run('t', async () => 2)).toBe(2);
    // Never more than one at a time on a key, over many calls.
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        m.run('t', async () => {
          inside++;
          most = Math.max(most, inside);
          if (i % 3 === 0) await settle();
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
  });
});

describe('SlowStart', () => {
  it('starts at one and doubles per succeeded date up to the limit', () => {
    const w = new SlowStart(10);
    const seen = [w.current];
    for (let i = 0; i < 5; i++) {
      w.dateSucceeded();
      seen.push(w.current);
    }
    expect(seen).toEqual([1, 2, 4, 8, 10, 10]);
  });

  it('halves per failed task, never below one', () => {
    const w = new SlowStart(16, 16);
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      w.taskFailed();
      seen.push(w.current);
    }
    expect(seen).toEqual([8, 4, 2, 1, 1, 1]);
  });

  it('rounds an odd window down when halving, and doubles again only after as many successes in a row', () => {
    const w = new SlowStart(12, 7);
    w.taskFailed();
    expect(w.current).toBe(3);
    const seen: number[] = [];
    for (let i = 0; i < 9; i++) {
      w.dateSucceeded();
      seen.push(w.current);
    }
    expect(seen).toEqual([3, 3, 6, 6, 6, 6, 6, 6, 12]);
  });

  it('stays slow while errors are frequent: one success between failures does not undo a halving', () => {
    const w = new SlowStart(8);
    for (let i = 0; i < 3; i++) w.dateSucceeded();
    expect(w.current).toBe(8);
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      w.taskFailed();
      w.dateSucceeded();
      seen.push(w.current);
    }
    expect(seen).toEqual([4, 2, 2, 2, 2, 2]);
  });

  it('keeps a given start within 1 and the limit', () => {
    expect(new SlowStart(4, 9).current).toBe(4);
    expect(new SlowStart(4, 0).current).toBe(1);
    expect(new SlowStart(4, -3).current).toBe(1);
    expect(new SlowStart(4, 3).current).toBe(3);
  });

  it('stays at one with a limit of one', () => {
    const w = new SlowStart(1);
    w.dateSucceeded();
    expect(w.current).toBe(1);
    w.taskFailed();
    expect(w.current).toBe(1);
  });
});
