import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Alarm, sleep } from '../../src/util/sleep.js';

const listeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;

describe('sleep', () => {
  it('takes its listener off the signal when the time runs out, so that a loop can sleep on one signal for ever', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 20; i++) {
      const sleeping = sleep(0, controller.signal);
      expect(listeners(controller.signal)).toBe(1);
      await sleeping;
      expect(listeners(controller.signal)).toBe(0);
    }
    expect(controller.signal.aborted).toBe(false);
  });

  it('ends at once when the signal is aborted, and takes its listener off', async () => {
    const controller = new AbortController();
    const sleeping = sleep(3_600_000, controller.signal);
    controller.abort();
    await sleeping;
    expect(listeners(controller.signal)).toBe(0);
  });

  it('does not wait on a signal aborted already', async () => {
    const controller = new AbortController();
    controller.abort();
    await sleep(3_600_000, controller.signal);
    expect(listeners(controller.signal)).toBe(0);
  });
});

describe('Alarm', () => {
  it('rings once for the last time it was set; a cancelled one never rings', async () => {
    const rung: string[] = [];
    const alarm = new Alarm();
    const last = new Promise<void>((res) => {
      alarm.set(0, () => rung.push('first'));
      alarm.set(0, () => rung.push('second'));
      alarm.cancel();
      alarm.set(0, () => {
        rung.push('third');
        res();
      });
    });
    await last;
    // The timers of the first two were due before the third's: had they rung, it would show.
    expect(rung).toEqual(['third']);
  });
});
