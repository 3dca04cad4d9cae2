import { describe, expect, it } from 'vitest';
import { StateMachine, type Step } from '../../src/util/state-machine.js';

/** A promise with its resolve at hand. */
function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((res) => (resolve = res));
  return { promise, resolve };
}

/** Lets every already-queued promise callback run. */
const settle = () => new Promise((r) => setImmediate(r));

type Event = { readonly kind: 'go' | 'boom'; readonly n: number };

/** The state counts events; each event asks for a 'slow' effect, then a 'fast' one. */
const transition = (state: number, e: Event): Step<number, string> => ({ state: state + 1, effects: e.kind === 'boom' ? ['boom'] : [`slow ${e.n}`, `fast ${e.n}`] });

describe('StateMachine', () => {
  it('takes one event at a time: an event sent while effects are performed waits for them', async () => {
    const log: string[] = [];
    const gate = deferred();
    const machine = new StateMachine<number, Event, string>(0, transition, async (effect) => {
      log.push(`start ${effect}`);
      if (effect === 'slow 1') await gate.promise;
      log.push(`end ${effect}`);
    }, () => undefined);
    machine.send({ kind: 'go', n: 1 });
    machine.send({ kind: 'go', n: 2 });
    await settle();
    expect(log).toEqual(['start slow 1']);
    expect(machine.state).toBe(1);
    gate.resolve();
    await settle();
    expect(log).toEqual(['start slow 1', 'end slow 1', 'start fast 1', 'end fast 1', 'start slow 2', 'end slow 2', 'start fast 2', 'end fast 2']);
    expect(machine.state).toBe(2);
  });

  it('stops taking events after an effect throws, and says why', async () => {
    const crashes: unknown[] = [];
    const performed: string[] = [];
    const machine = new StateMachine<number, Event, string>(0, transition, (effect) => {
      if (effect === 'boom') throw new Error('boom');
      performed.push(effect);
    }, (e) => crashes.push(e));
    machine.send({ kind: 'boom', n: 1 });
    machine.send({ kind: 'go', n: 2 });
    await settle();
    machine.send({ kind: 'go', n: 3 });
    await settle();
    expect(crashes).toEqual([new Error('boom')]);
    expect(performed).toEqual([]);
    expect(machine.state).toBe(1);
  });
});
