import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { untilSent } from '../../src/distributed/postgres.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('sending through a Postgres outage', () => {
  it('tries again until it goes through, leaving no listener on the signal it lives by, however many tries it takes', async () => {
    vi.useFakeTimers();
    const signal = new AbortController().signal;
    let tries = 0;
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const sent = untilSent(async () => {
      tries++;
      // A listener per wait was left behind: Node warns of a leak after ten.
      expect(getEventListeners(signal, 'abort').length).toBe(0);
      if (tries <= 12) throw refused;
    }, signal);
    await vi.advanceTimersByTimeAsync(60_000);
    await sent;
    expect(tries).toBe(13);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });
});
