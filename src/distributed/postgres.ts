import { sleep } from '../util/sleep.js';
import type pg from 'pg';
import { DiagnosticError, error } from '../diagnostics/diagnostics.js';
import { secrets } from '../secrets/secrets.js';
import { loadedPgDriver, pgDriver } from './drivers.js';
import type { LakeTarget } from '../warehouse/warehouse-setup.js';

/**
 * The Postgres that holds a DuckLake's catalog, as the job queue of a distributed backfill
 * and its workers' heartbeats: the connection is read from the lake's catalog string (a libpq
 * `key=value` string or a `postgresql://` URI), with its credentials filled in from the
 * environment as the lake's are (see analyze/lake-config.ts); what the string leaves out, the
 * driver reads from PGHOST, PGPORT, PGUSER, PGPASSWORD and ~/.pgpass as libpq does. A
 * password is never shown: errors name the host, port and database only.
 */

export type PgConfig = pg.PoolConfig;

/** libpq's keys, as the driver names them. */
const KEYS: Readonly<Record<string, keyof pg.PoolConfig>> = {
  host: 'host',
  hostaddr: 'host',
  port: 'port',
  dbname: 'database',
  user: 'user',
  password: 'password',
  connect_timeout: 'connectionTimeoutMillis',
  application_name: 'application_name',
};

/** The connection of a lake with a Postgres catalog; a lake with a file catalog has no Postgres, and is refused. */
export function pgConfigOf(lake: LakeTarget | undefined, why: string): PgConfig {
  if (!lake || lake.catalog.kind !== 'postgres') {
    throw new DiagnosticError([
      error('not-distributable', `${why} needs a DuckLake warehouse with a Postgres catalog, which queues the tasks and lets several machines write; this project's warehouse is ${lake ? 'a DuckLake with a local catalog file' : 'a DuckDB file'}, which one process holds at a time`, lake?.source.at, {
        hint: 'set warehouse: {type: ducklake, catalog: postgres:..., data_path: ...} in pipe.yaml, or pass --db ducklake:postgres:...',
      }),
    ]);
  }
  return parseConnection(lake.catalog.connection);
}

/** A libpq connection string as the driver's configuration. */
export function parseConnection(text: string): PgConfig {
  if (/^postgres(ql)?:\/\//.test(text)) return { connectionString: text };
  const config: Record<string, unknown> = {};
  for (const m of text.matchAll(/([A-Za-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/g)) {
    const key = KEYS[m[1].toLowerCase()];
    const raw = m[2].startsWith("'") ? m[2].slice(1, -1).replace(/\\(.)/g, '$1') : m[2];
    if (key === 'port') config.port = Number(raw);
    else if (key === 'connectionTimeoutMillis') config.connectionTimeoutMillis = Number(raw) * 1000;
    else if (key !== undefined) config[key] = raw;
    if (m[1].toLowerCase() === 'sslmode' && raw !== 'disable') config.ssl = raw === 'require' || raw === 'prefer' ? { rejectUnauthorized: false } : true;
  }
  return config as PgConfig;
}

/** Where a configuration connects, for messages: host, port and database, never a password. */
export function describeConnection(config: PgConfig): string {
  if (config.connectionString) {
    try {
      const url = new URL(config.connectionString);
      return `${url.hostname || 'localhost'}:${url.port || '5432'}${url.pathname}`;
    } catch {
      return 'the catalog database';
    }
  }
  const env = process.env;
  return `${config.host ?? env.PGHOST ?? 'localhost'}:${config.port ?? env.PGPORT ?? 5432}/${config.database ?? env.PGDATABASE ?? config.user ?? env.PGUSER ?? ''}`;
}

/** A pool on the catalog's Postgres, tried once: an error to connect is a DiagnosticError naming where. */
export async function openPool(config: PgConfig, max: number): Promise<pg.Pool> {
  const { Pool } = await pgDriver();
  const pool = new Pool({ connectionTimeoutMillis: 10_000, ...config, max });
  // An idle connection that the server drops is told here (and on the client); the next query opens another.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  try {
    const client = await pool.connect();
    client.release();
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw unreachable(config, e);
  }
  return pool;
}

/** A Postgres error as a diagnostic that names where pipe connected and why it failed, with no secret in it. */
export function unreachable(config: PgConfig, e: unknown): DiagnosticError {
  const message = secrets.mask(e instanceof Error ? e.message : String(e)).replace(/password=\S+/g, 'password=***');
  return new DiagnosticError([
    error('postgres-unreachable', `cannot connect to the catalog's Postgres at ${describeConnection(config)}: ${message || (e as { code?: string }).code || 'no answer'}`, undefined, {
      hint: 'check that Postgres runs there and that the catalog connection (and PGPASSWORD or ~/.pgpass) is right',
    }),
  ]);
}

/** An error of the driver: the server refused a statement, or the connection failed or broke. */
export function isPostgresError(e: unknown): boolean {
  const driver = loadedPgDriver();
  if (driver && e instanceof driver.DatabaseError) return true;
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === 'string' && /^(E[A-Z]+|[0-9A-Z]{5})$/.test(code) && (e as { syscall?: unknown }).syscall !== 'open';
}

/**
 * An error of a connection to Postgres that failed or broke (refused, reset, closed by a
 * server going down), after which the same statement may well succeed on a new connection.
 */
export function isConnectionLoss(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && (/^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)$/.test(code) || /^(08...|57P0[123])$/.test(code))) return true;
  // A Postgres reached by its Unix socket (host /tmp or /var/run/postgresql): a server that
  // stopped took its socket file with it, and connecting says the file is not there.
  if ((code === 'ENOENT' || code === 'ECONNABORTED') && (e as { syscall?: unknown }).syscall === 'connect') return true;
  return /^Connection terminated|connection error and is not queryable/.test(e.message);
}

/** Sends with `send` until it succeeds or fails other than by a lost connection, waiting a little longer after each failure (up to 5 s); given up once `signal` aborts. */
export async function untilSent(send: () => Promise<void>, signal: AbortSignal): Promise<void> {
  for (let wait = 100; ; wait = Math.min(wait * 2, 5_000)) {
    try {
      return await send();
    } catch (e) {
      if (signal.aborted || !isConnectionLoss(e)) throw e;
    }
    // Its listener goes when the wait ends: one per wait, on a worker's signal, would leak through a long outage.
    await sleep(wait, signal);
  }
}
