import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DiagnosticError, error } from '../../diagnostics/diagnostics.js';
import { secrets } from '../../secrets/secrets.js';
import { quoteIdent, quoteLiteral } from '../../sql/sql-text.js';
import type { LakeTarget } from '../warehouse-setup.js';
import { DUCKDB } from '../duckdb/dialect.js';

/**
 * The DuckDB extensions a lake needs, loaded before it is attached. `@duckdb/node-api` bundles
 * none of them. Online, DuckDB installs them by name from its repository; offline, pipe loads
 * their files from a folder (`extension_dir:` of the lake, else PIPE_DUCKDB_EXTENSION_DIR),
 * which PyPI's wheels fill: an extension must be built for the DuckDB version that loads it,
 * and the wheels are named after both. A missing one is an error naming its wheel.
 */

/** Extension (as its file is named) -> the PyPI wheel that carries it. */
const WHEELS: Readonly<Record<string, string>> = {
  ducklake: 'duckdb-extension-ducklake',
  postgres_scanner: 'duckdb-extension-postgres-scanner',
  httpfs: 'duckdb-extension-httpfs',
};

export const EXTENSION_DIR_ENV = 'PIPE_DUCKDB_EXTENSION_DIR';

/** ducklake, and what reaches its catalog (Postgres) and its data (httpfs for s3://, https://, …). */
export function lakeExtensions(lake: LakeTarget): string[] {
  const remote = lake.dataPath !== undefined && /^[a-z][a-z0-9+.-]*:\/\//i.test(lake.dataPath);
  return ['ducklake', ...(lake.catalog.kind === 'postgres' ? ['postgres_scanner'] : []), ...(remote ? ['httpfs'] : [])];
}

function missing(lake: LakeTarget, name: string, version: string, why: string): DiagnosticError {
  const wheel = WHEELS[name] ?? `duckdb-extension-${name.replaceAll('_', '-')}`;
  return new DiagnosticError([
    error('warehouse-setup', `the DuckLake warehouse needs the DuckDB extension '${name}', ${why} (${lake.source.owner})`, lake.source.at, {
      hint:
        `online, DuckDB installs it by itself; offline, take ${name}.duckdb_extension from the PyPI wheel ${wheel}==${version.replace(/^v/, '')} ` +
        `(pip download --no-deps ${wheel}==${version.replace(/^v/, '')}, then unzip it) and put the file in a folder named by extension_dir: or ${EXTENSION_DIR_ENV}`,
    }),
  ]);
}

/** Loads every extension `lake` needs on `connection` (they then serve the whole instance). */
export async function loadLakeExtensions(connection: DuckDBConnection, lake: LakeTarget, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const dir = lake.extensionDir ?? (env[EXTENSION_DIR_ENV] || undefined);
  const version = String((await connection.runAndReadAll('SELECT version() AS v')).getRowObjectsJson()[0].v);
  for (const name of lakeExtensions(lake)) {
    if (dir !== undefined) {
      const file = join(dir, `${name}.duckdb_extension`);
      if (!existsSync(file)) throw missing(lake, name, version, `and ${file} does not exist`);
      await run(connection, `LOAD ${quoteLiteral(file)}`).catch((e: unknown) => {
        throw missing(lake, name, version, `and DuckDB ${version} refuses ${file}: ${DUCKDB.headline(messageOf(e))}`);
      });
      continue;
    }
    try {
      await run(connection, `LOAD ${quoteIdent(name)}`);
    } catch {
      try {
        await run(connection, `INSTALL ${quoteIdent(name)}`);
        await run(connection, `LOAD ${quoteIdent(name)}`);
      } catch (e) {
        throw missing(lake, name, version, `which is not installed here and DuckDB could not install: ${secrets.mask(DUCKDB.headline(messageOf(e)))}`);
      }
    }
  }
}

async function run(connection: DuckDBConnection, sql: string): Promise<void> {
  await connection.run(sql);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
