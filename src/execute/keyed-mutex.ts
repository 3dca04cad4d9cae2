/**
 * Locks by key: publishing to one table is serialized, publishing to different tables is
 * not. The heavy staging work of tasks runs concurrently regardless. `shared` lets holders of
 * one key in together (the partitions of one table, each written by a transaction of its own)
 * while an exclusive holder (a swap, a schema change, a check of the whole table) waits for
 * them to leave and keeps them out; waiters are let in in the order they came, so a stream of
 * shared holders never starves an exclusive one.
 */
export class KeyedMutex {
  private readonly keys = new Map<string, KeyState>();

  /** Runs `fn` while no one else holds `key`. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.hold(key, true, fn);
  }

  /** Runs `fn` while no one holds `key` exclusively; other shared holders may hold it too. */
  shared<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.hold(key, false, fn);
  }

  /** Holds `key` (alone, or shared with other shared holders) once it may, until the returned function is called. */
  async acquire(key: string, exclusive: boolean): Promise<() => void> {
    let state = this.keys.get(key);
    if (!state) this.keys.set(key, (state = { holders: 0, exclusive: false, waiting: [] }));
    const s = state;
    // A waiter is counted as a holder by whoever lets it in, so that the next one is judged against it.
    if (s.waiting.length > 0 || !admits(s, exclusive)) await new Promise<void>((enter) => s.waiting.push({ exclusive, enter }));
    else enter(s, exclusive);
    return this.releaser(key, s);
  }

  /**
   * Holds `key` as `acquire` does when that needs no wait; undefined (and nothing held)
   * otherwise. It never waits, so a holder of other keys can take it without risking a deadlock.
   */
  tryAcquire(key: string, exclusive: boolean): (() => void) | undefined {
    const found = this.keys.get(key);
    if (found && (found.waiting.length > 0 || !admits(found, exclusive))) return undefined;
    const s = found ?? { holders: 0, exclusive: false, waiting: [] };
    if (!found) this.keys.set(key, s);
    enter(s, exclusive);
    return this.releaser(key, s);
  }

  /** Whether someone waits for `key`. */
  wanted(key: string): boolean {
    return (this.keys.get(key)?.waiting.length ?? 0) > 0;
  }

  private async hold<T>(key: string, exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire(key, exclusive);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private releaser(key: string, s: KeyState): () => void {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.leave(key, s);
    };
  }

  private leave(key: string, s: KeyState): void {
    s.holders--;
    while (s.waiting.length > 0 && admits(s, s.waiting[0].exclusive)) {
      const next = s.waiting.shift()!;
      enter(s, next.exclusive);
      next.enter();
    }
    if (s.holders === 0) this.keys.delete(key);
  }
}

interface KeyState {
  holders: number;
  exclusive: boolean;
  readonly waiting: { readonly exclusive: boolean; readonly enter: () => void }[];
}

function enter(s: KeyState, exclusive: boolean): void {
  s.exclusive = s.holders === 0 ? exclusive : s.exclusive;
  s.holders++;
}

const admits = (s: KeyState, exclusive: boolean) => s.holders === 0 || (!exclusive && !s.exclusive);
