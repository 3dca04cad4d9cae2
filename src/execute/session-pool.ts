import type { WarehouseSession } from '../warehouse/warehouse.js';

/**
 * Connections that tasks borrow for their whole life and give back, shared by the runs of a
 * process: a connection is opened when none is idle and kept until the pool closes, so the
 * pool holds as many as were ever busy at once.
 */
export class SessionPool {
  private readonly idle: WarehouseSession[] = [];
  private readonly all = new Set<WarehouseSession>();
  private closed = false;

  constructor(private readonly open: () => Promise<WarehouseSession>) {}

  async acquire(): Promise<WarehouseSession> {
    if (this.closed) throw new Error('internal error: a connection asked of a closed pool');
    const idle = this.idle.pop();
    if (idle) return idle;
    const s = await this.open();
    this.all.add(s);
    return s;
  }

  release(s: WarehouseSession): void {
    // One whose settings or default database a hook (or a statement a template ran) may have
    // changed is not lent again: the next task would run in its time zone, or write elsewhere.
    if (s.changedState === true) {
      this.all.delete(s);
      s.close();
      return;
    }
    if (!this.closed) this.idle.push(s);
  }

  close(): void {
    this.closed = true;
    for (const s of this.all) s.close();
    this.all.clear();
    this.idle.length = 0;
  }
}
