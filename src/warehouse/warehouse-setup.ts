import type { Location } from '../diagnostics/diagnostics.js';

/**
 * What a warehouse runs on itself when it opens, before pipe uses it: the extensions to load,
 * the settings to set and the other databases to attach (a dbt project's profile target
 * declares them). Every entry remembers where it was written, so that one the engine refuses
 * is reported at its file and line rather than as the engine's own error. The DuckDB
 * warehouse applies it in `duckdb/duckdb-setup.ts`.
 */

/** Where an entry was written: whose it is ("profile 'shop', target 'dev'") and its line. */
export interface SetupSource {
  readonly owner: string;
  readonly at?: Location;
}

export interface ExtensionToLoad {
  readonly name: string;
  /** The repository it is installed from (`community`, a URL), for the hint when it is missing. */
  readonly repo?: string;
  readonly source: SetupSource;
}

export type SettingValue = string | number | boolean;

export interface Setting {
  readonly name: string;
  readonly value: SettingValue;
  readonly source: SetupSource;
}

export interface Attachment {
  /** A file path (absolute) or a location the engine reads itself (`s3://…`, a connection string). */
  readonly path: string;
  readonly alias?: string;
  /** The engine of the attached database (`sqlite`, `postgres`); the warehouse's own when absent. */
  readonly type?: string;
  readonly readOnly: boolean;
  readonly options: Readonly<Record<string, SettingValue>>;
  readonly source: SetupSource;
}

/** Where a DuckLake keeps its catalog: a Postgres database (many writers) or a local DuckDB file (one). */
export type LakeCatalog =
  /** A libpq connection string (`dbname=pipe host=…`), its `${env:…}` already filled in. */
  | { readonly kind: 'postgres'; readonly connection: string }
  /** The absolute path of a `.ducklake` file. */
  | { readonly kind: 'file'; readonly path: string };

/**
 * A DuckLake warehouse: the same engine and SQL as a DuckDB file, its tables Parquet files in
 * `dataPath` and its catalog elsewhere (ducklake/ducklake-warehouse.ts opens it).
 */
export interface LakeTarget {
  readonly catalog: LakeCatalog;
  /** Absolute folder (or an `s3://…` prefix) of the data files; the catalog remembers it once created. */
  readonly dataPath?: string;
  /** The Postgres schema of the catalog's tables, when not the default. */
  readonly metadataSchema?: string;
  /** A folder holding the extension files (`ducklake.duckdb_extension`, …), for machines without DuckDB's repository. */
  readonly extensionDir?: string;
  /** What messages show of it: the catalog without its credentials. */
  readonly shown: string;
  readonly source: SetupSource;
}

export interface WarehouseSetup {
  /** Set when the warehouse is a DuckLake rather than a DuckDB file. */
  readonly lake?: LakeTarget;
  /** Loaded first: settings and attachments may need them. */
  readonly extensions: readonly ExtensionToLoad[];
  /** Set on the warehouse as it opens and again on every connection (some apply to one connection only). */
  readonly settings: readonly Setting[];
  /** Attached last, once the settings (credentials, say) are in place. */
  readonly attachments: readonly Attachment[];
}

export const NO_SETUP: WarehouseSetup = { extensions: [], settings: [], attachments: [] };
