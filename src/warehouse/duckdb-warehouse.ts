import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import {
  WarehouseError,
  WarehouseLockedError,
  type ErrorClass,
  type Row,
  type Warehouse,
  type WarehouseSession,
} from './warehouse.js';

/**
 * DuckDB as the warehouse: one instance per process (DuckDB's own rule: one process owns
 * the file), a connection per worker.
 */

const LOCK_RE = /Could not set lock on file "([^"]*)": Conflicting lock is held in (.*?) \(PID (\d+)\)/;

/** DuckDB error kinds that a retry may cure; everything else is a fact about the SQL or the data. */
const TRANSIENT_KINDS = new Set(['IO', 'Interrupt', 'Out of Memory', 'TransactionContext', 'Transaction', 'Connection', 'HTTP']);
const TRANSIENT_TEXT = /write-write conflict|conflict on|could not set lock|out of memory|interrupted/i;

export function classifyDuckDBError(e: unknown): WarehouseError {
  if (e instanceof WarehouseError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const m = /^([A-Za-z ]+?) Error: /.exec(message);
  const kind = m ? m[1] : 'Unknown';
  const errorClass: ErrorClass = TRANSIENT_KINDS.has(kind) || TRANSIENT_TEXT.test(message) ? 'transient' : 'permanent';
  return new WarehouseError(message, kind, errorClass);
}

class DuckDBSession implements WarehouseSession {
  constructor(private readonly connection: DuckDBConnection) {}

  async exec(sql: string): Promise<number | undefined> {
    try {
      const result = await this.connection.run(sql);
      // CREATE TABLE AS and INSERT report a "Count" column; rowsChanged covers DELETE/UPDATE.
      const names = result.columnNames();
      if (names.length === 1 && names[0] === 'Count') {
        const rows = await result.getRows();
        const v = rows[0]?.[0];
        if (typeof v === 'bigint' || typeof v === 'number') return Number(v);
      }
      return result.rowsChanged;
    } catch (e) {
      throw classifyDuckDBError(e);
    }
  }

  async query(sql: string): Promise<Row[]> {
    try {
      const reader = await this.connection.runAndReadAll(sql);
      return reader.getRowObjectsJson() as Row[];
    } catch (e) {
      throw classifyDuckDBError(e);
    }
  }

  async transaction(statements: readonly string[]): Promise<(number | undefined)[]> {
    await this.exec('BEGIN TRANSACTION');
    const out: (number | undefined)[] = [];
    try {
      for (const s of statements) out.push(await this.exec(s));
      await this.exec('COMMIT');
      return out;
    } catch (e) {
      await this.exec('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  interrupt(): void {
    this.connection.interrupt();
  }

  close(): void {
    this.connection.closeSync();
  }
}

export class DuckDBWarehouse implements Warehouse {
  private constructor(
    readonly location: string,
    private readonly instance: DuckDBInstance,
  ) {}

  static async open(path: string, options: { readOnly?: boolean; threads?: number } = {}): Promise<DuckDBWarehouse> {
    if (!options.readOnly) mkdirSync(dirname(path), { recursive: true });
    const config: Record<string, string> = {};
    if (options.readOnly) config.access_mode = 'READ_ONLY';
    try {
      return new DuckDBWarehouse(path, await DuckDBInstance.create(path, config));
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const lock = LOCK_RE.exec(message);
      if (lock) throw new WarehouseLockedError(path, Number(lock[3]), lock[2]);
      throw classifyDuckDBError(e);
    }
  }

  async session(): Promise<WarehouseSession> {
    return new DuckDBSession(await this.instance.connect());
  }

  close(): void {
    this.instance.closeSync();
  }
}
