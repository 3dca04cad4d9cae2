import { existsSync, mkdirSync } from 'node:fs';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { duckdbClient } from '../duckdb/duckdb-client.js';
import { DiagnosticError, error } from '../../diagnostics/diagnostics.js';
import { secrets } from '../../secrets/secrets.js';
import { quoteIdent, quoteLiteral } from '../../sql/sql-text.js';
import { setUpConnection } from '../duckdb/duckdb-setup.js';
import { DuckDBSession, setUp, type OpenOptions } from '../duckdb/duckdb-warehouse.js';
import { NO_SETUP, type LakeTarget, type WarehouseSetup } from '../warehouse-setup.js';
import { WarehouseLockedError, WarehouseOpenError, type Warehouse, type WarehouseSession } from '../warehouse.js';
import { catalogProblem, DUCKLAKE } from './dialect.js';
import { loadLakeExtensions } from './lake-extensions.js';
import { GUARDED_OPTIMIZERS } from '../duckdb/optimizer-guard.js';

/**
 * A DuckLake as the warehouse: DuckDB in memory with the lake attached and made the default
 * database, so that every statement pipe writes for a DuckDB file runs on the lake unchanged.
 * Each transaction commits a snapshot of the lake's catalog; readers see the snapshot they
 * started with, in this process or any other.
 *
 * With a Postgres catalog several processes (and machines) write at once: the catalog
 * serializes their commits, and a commit that another's made impossible fails with a
 * conflict (transient: see dialect.ts). With a local `.ducklake` catalog, DuckDB's file lock
 * lets one process at a time open it, as with a DuckDB file.
 */

/** The name the lake is attached under; `current_database()` in models. */
export const LAKE_ALIAS = 'lake';

const LOCK_RE = /Could not set lock on file "[^"]*": Conflicting lock is held in (.*?) \(PID (\d+)\)/;

/** `ATTACH 'ducklake:…' AS lake (DATA_PATH …, METADATA_SCHEMA …, READ_ONLY)`. */
export function attachLakeSql(lake: LakeTarget, readOnly: boolean): string {
  const catalog = lake.catalog.kind === 'postgres' ? `postgres:${lake.catalog.connection}` : lake.catalog.path;
  const options = [
    ...(lake.dataPath === undefined ? [] : [`DATA_PATH ${quoteLiteral(lake.dataPath)}`]),
    ...(lake.metadataSchema === undefined ? [] : [`METADATA_SCHEMA ${quoteLiteral(lake.metadataSchema)}`]),
    ...(readOnly ? ['READ_ONLY'] : []),
  ];
  return `ATTACH ${quoteLiteral(`ducklake:${catalog}`)} AS ${quoteIdent(LAKE_ALIAS)}${options.length > 0 ? ` (${options.join(', ')})` : ''}`;
}

export class DuckLakeWarehouse implements Warehouse {
  readonly dialect = DUCKLAKE;
  readonly sharedWriters: boolean;
  /**
   * Shared by its sessions (see DuckDBSession.functionsScope), on a lake only this process
   * writes: where other processes write it too, each session asks for itself as it starts.
   */
  private readonly functionChanges = { count: 0 };

  private constructor(
    readonly location: string,
    private readonly instance: DuckDBInstance,
    private readonly setup: WarehouseSetup,
    lake: LakeTarget,
  ) {
    this.sharedWriters = lake.catalog.kind === 'postgres';
  }

  /**
   * Loads the extensions, attaches the lake (creating it, and its local data folder, when
   * writing to a new one) and runs the rest of the setup. A missing extension or a catalog
   * that cannot be reached is a DiagnosticError at the pipe.yaml line of the lake; its
   * credentials never appear in it.
   */
  static async open(location: string, lake: LakeTarget, options: OpenOptions = {}): Promise<DuckLakeWarehouse> {
    const readOnly = Boolean(options.readOnly);
    const instance = await (await duckdbClient()).DuckDBInstance.create(':memory:', GUARDED_OPTIMIZERS);
    try {
      const connection = await instance.connect();
      try {
        await loadLakeExtensions(connection, lake);
        if (!readOnly && lake.dataPath !== undefined && !/^[a-z][a-z0-9+.-]*:\/\//i.test(lake.dataPath) && !existsSync(lake.dataPath)) {
          try {
            mkdirSync(lake.dataPath, { recursive: true });
          } catch (e) {
            throw new WarehouseOpenError(location, `cannot create the DuckLake data folder ${lake.dataPath}: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
        await attach(connection, lake, location, readOnly);
      } finally {
        connection.closeSync();
      }
      const setup = options.setup ?? NO_SETUP;
      await setUp(instance, { ...setup, lake: undefined }, readOnly);
    } catch (e) {
      instance.closeSync();
      throw e;
    }
    return new DuckLakeWarehouse(location, instance, options.setup ?? NO_SETUP, lake);
  }

  /** A connection in UTC (see DuckDBWarehouse.session) whose default database is the lake. */
  async session(): Promise<WarehouseSession> {
    const connection = await this.instance.connect();
    try {
      await connection.run(`SET TimeZone = 'UTC'; USE ${quoteIdent(LAKE_ALIAS)}`);
    } catch (e) {
      connection.closeSync();
      throw DUCKLAKE.classify(e);
    }
    try {
      await setUpConnection(connection, this.setup);
    } catch (e) {
      connection.closeSync();
      throw e;
    }
    return new DuckDBSession(connection, DUCKLAKE, this.sharedWriters ? { count: 0 } : this.functionChanges);
  }

  /** Other processes read the lake's snapshots and never wait for this one: nothing to tell them. */
  announce(): void {}

  close(): void {
    this.instance.closeSync();
  }
}

async function attach(connection: DuckDBConnection, lake: LakeTarget, location: string, readOnly: boolean): Promise<void> {
  if (lake.catalog.kind === 'file' && readOnly && !existsSync(lake.catalog.path)) {
    throw new WarehouseOpenError(location, `the DuckLake catalog ${lake.catalog.path} does not exist yet`, 'a run creates it');
  }
  try {
    await connection.run(attachLakeSql(lake, readOnly));
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const lock = LOCK_RE.exec(message);
    if (lock) throw new WarehouseLockedError(location, Number(lock[2]), lock[1]);
    // The catalog keeps the data folder it was made with: a checkout elsewhere resolves data_path: lake/ to another.
    const moved = /DATA_PATH parameter "([^"]*)" does not match existing data path in the catalog "([^"]*)"/.exec(message);
    if (moved) {
      throw new DiagnosticError([
        error('warehouse-setup', `the DuckLake ${lake.shown} keeps its data in ${moved[2]}, and data_path: names ${moved[1]} here (${lake.source.owner})`, lake.source.at, {
          hint: `give every machine and folder the same data_path, an absolute path or a shared location (data_path: ${moved[2]})`,
        }),
      ]);
    }
    const lost = catalogProblem(message);
    const why = lost ? `its catalog's Postgres${lost.where} cannot be reached: ${lost.why}` : DUCKLAKE.headline(message);
    throw new DiagnosticError([
      error('warehouse-setup', `cannot attach the DuckLake ${lake.shown}: ${secrets.mask(why)} (${lake.source.owner})`, lake.source.at, {
        hint: lake.catalog.kind === 'postgres' ? 'check that Postgres runs and that the catalog connection (and PGPASSWORD or ~/.pgpass) is right' : undefined,
      }),
    ]);
  }
}
