/**
 * Waits `ms`, or less if `signal` is aborted meanwhile; it resolves either way (the caller
 * reads `signal.aborted` to tell which). The abort listener goes when the wait ends, however
 * it ends: a long-lived loop that sleeps on one signal would otherwise leave one listener
 * behind per sleep, and Node warns of a leak after ten.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** One timer at a time (a quiet period, a sleep until the next round): setting it again, or cancelling it, forgets the one before. */
export class Alarm {
  private current: AbortController | undefined;

  /** Calls `ring` after `ms`, unless set again or cancelled first. */
  set(ms: number, ring: () => void): void {
    this.cancel();
    const timer = (this.current = new AbortController());
    void sleep(ms, timer.signal).then(() => {
      if (!timer.signal.aborted) ring();
    });
  }

  cancel(): void {
    this.current?.abort();
    this.current = undefined;
  }
}
