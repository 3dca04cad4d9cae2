import type { Warehouse, WarehouseSession } from '../warehouse/warehouse.js';

/** A fixed set of connections, one per worker; a task borrows one for its whole life. */
export class SessionPool {
  private readonly idle: WarehouseSession[] = [];
  private readonly all: WarehouseSession[] = [];

  static async create(warehouse: Warehouse, size: number): Promise<SessionPool> {
    const pool = new SessionPool();
    for (let i = 0; i < size; i++) {
      const s = await warehouse.session();
      pool.idle.push(s);
      pool.all.push(s);
    }
    return pool;
  }

  acquire(): WarehouseSession {
    const s = this.idle.pop();
    if (!s) throw new Error('internal error: more concurrent tasks than connections');
    return s;
  }

  release(s: WarehouseSession): void {
    this.idle.push(s);
  }

  close(): void {
    for (const s of this.all) s.close();
  }
}
