import { sleep } from '../util/sleep.js';
import type pg from 'pg';

/**
 * A connection of the pool held to LISTEN on one channel, for as long as the process needs
 * its notifications. The connection dies with a Postgres restart or a network cut, and a
 * notification sent meanwhile is lost to it: the listener then takes another connection once
 * Postgres answers, LISTENs again, and calls `heard` once, so that what was told meanwhile is
 * read at once rather than at its caller's next look.
 */
export class Listener {
  private held: { readonly client: pg.PoolClient; lost: boolean; readonly detach: () => void } | undefined;
  private readonly closed = new AbortController();
  /** The reconnection under way, after the connection was lost. */
  private again: Promise<void> | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly channel: string,
    private readonly heard: (payload: string | undefined) => void,
  ) {}

  /** Listens on `channel` (a plain identifier) from now on; an error of the first LISTEN is thrown. */
  static async open(pool: pg.Pool, channel: string, heard: (payload: string | undefined) => void): Promise<Listener> {
    const l = new Listener(pool, channel, heard);
    await l.connect();
    return l;
  }

  private async connect(): Promise<void> {
    const client = await this.pool.connect();
    const notified = (n: pg.Notification) => this.heard(n.payload);
    const lose = (e?: Error) => {
      if (held.lost) return;
      held.lost = true;
      if (this.held === held) this.held = undefined;
      // Released with an error, the broken connection is closed rather than pooled again.
      client.release(e ?? new Error('the listening connection ended'));
      if (!this.closed.signal.aborted) this.again ??= this.reconnect();
    };
    const ended = () => lose();
    const held = {
      client,
      lost: false,
      detach: () => {
        client.off('notification', notified);
        client.off('error', lose);
        client.off('end', ended);
      },
    };
    client.on('notification', notified);
    client.on('error', lose);
    client.on('end', ended);
    this.held = held;
    try {
      await client.query(`LISTEN ${this.channel}`);
    } catch (e) {
      if (this.held === held) this.held = undefined;
      if (!held.lost) {
        held.lost = true;
        client.release(e instanceof Error ? e : new Error(String(e)));
      }
      throw e;
    }
    if (held.lost) throw new Error('the listening connection ended');
  }

  /** Listens again once Postgres answers, waiting a little longer after each failure (up to 5 s), until closed. */
  private async reconnect(): Promise<void> {
    const { signal } = this.closed;
    for (let wait = 100; !signal.aborted; wait = Math.min(wait * 2, 5_000)) {
      // Its listener goes when the wait ends: one per wait, on a signal that lives as long as the process, would leak.
      await sleep(wait, signal);
      if (signal.aborted) break;
      try {
        await this.connect();
        this.again = undefined;
        this.heard(undefined);
        return;
      } catch {
        // Not yet: tried again.
      }
    }
    this.again = undefined;
  }

  /** Stops listening and gives the connection back. */
  async close(): Promise<void> {
    this.closed.abort();
    await this.again;
    const held = this.held;
    this.held = undefined;
    if (!held || held.lost) return;
    await held.client.query(`UNLISTEN ${this.channel}`).catch(() => undefined);
    if (held.lost) return;
    held.lost = true;
    // Back in the pool, the connection serves others: what listened here no longer does.
    held.detach();
    held.client.release();
  }
}
