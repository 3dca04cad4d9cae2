import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extensionAvailable } from './extensions.js';

/**
 * A throwaway Postgres for the DuckLake tests: one cluster for the whole test run, on the
 * loopback address, started by the first test file that asks for it and stopped by the
 * global teardown (test/support/postgres-teardown.ts). Test files run in several worker
 * processes: `flock` on a file of the cluster's folder lets one of them start it while the
 * others wait for it, without polling. Each caller gets a database of its own.
 *
 * Without Postgres's binaries (or the ducklake and postgres_scanner extensions) the DuckLake
 * tests are skipped, except where PIPE_REQUIRE_POSTGRES=1 (CI): there they fail.
 */

/** The folder of the run's cluster: one per vitest run (its main process's pid). */
export const clusterDir = (runPid: number) => join(tmpdir(), `pipe-test-postgres-${runPid}`);

export interface TestPostgres {
  readonly port: number;
  /** A libpq connection string of database `dbname` (without `host`'s secrets: trust authentication). */
  connection(dbname: string): string;
}

function binDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(base, versions[0], 'bin');
  }
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/** A port of the loopback address nothing listens on, found by listening on it a moment. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function unavailable(why: string): undefined {
  if (process.env.PIPE_REQUIRE_POSTGRES === '1') throw new Error(`Postgres is required here (PIPE_REQUIRE_POSTGRES=1): ${why}`);
  return undefined;
}

/** Runs a command as the `postgres` user when this process is root (initdb refuses root). */
function asOwner(command: string, args: readonly string[]): void {
  const root = process.getuid?.() === 0;
  if (root) execFileSync('runuser', ['-u', 'postgres', '--', command, ...args], { stdio: 'pipe' });
  else execFileSync(command, args, { stdio: 'pipe' });
}

/**
 * Settings of a cluster no test crashes: a commit waits for no write to disk (each DuckLake
 * commit is one, and the catalog of every test is thrown away with the cluster).
 */
const THROWAWAY = '-c fsync=off -c synchronous_commit=off -c full_page_writes=off';

/** The DuckDB extensions of a lake on Postgres. */
export const LAKE_EXTENSIONS = ['ducklake', 'postgres_scanner'] as const;

let started: Promise<TestPostgres | undefined> | undefined;

/** The run's Postgres (started if needed), or undefined when the DuckLake tests cannot run here. */
export function testPostgres(): Promise<TestPostgres | undefined> {
  started ??= start();
  return started;
}

async function start(): Promise<TestPostgres | undefined> {
  const bin = binDir();
  if (!bin) return unavailable('no initdb found (apt-get install postgresql)');
  for (const ext of LAKE_EXTENSIONS) {
    if (!(await extensionAvailable(ext))) return unavailable(`the DuckDB extension ${ext} is not installed (.ci/install-duckdb-extensions.sh ducklake postgres_scanner)`);
  }
  const runPid = Number(process.env.PIPE_TEST_RUN_PID ?? process.ppid);
  const dir = clusterDir(runPid);
  mkdirSync(dir, { recursive: true });
  const root = process.getuid?.() === 0;
  if (root) {
    const pgUid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    if (statSync(dir).uid !== pgUid) chownSync(dir, pgUid, pgUid);
  }
  const ready = join(dir, 'ready.json');
  const port = await freePort();
  // Under the lock: the first worker starts the cluster and records its port; the others find it.
  const script = `[ -f ${ready} ] || { ` + [
    `${join(bin, 'initdb')} -D ${dir}/data -A trust -U postgres --no-sync >/dev/null`,
    `${join(bin, 'pg_ctl')} -D ${dir}/data -w -o "-h 127.0.0.1 -p ${port} -k ${dir} ${THROWAWAY}" -l ${dir}/log start >/dev/null`,
    `echo '{"port": ${port}}' > ${ready}`,
  ].join(' && ') + '; }';
  const lock = join(dir, 'lock');
  writeFileSync(lock, '');
  if (root) chownSync(lock, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()), 0);
  // -o: the server pg_ctl leaves running must not inherit the lock, or it would hold it for
  // good and the next worker's flock would wait for ever.
  asOwner('flock', ['-o', lock, 'sh', '-c', script]);
  const found = JSON.parse(readFileSync(ready, 'utf8')) as { port: number };
  return {
    port: found.port,
    connection: (dbname) => `dbname=${dbname} host=127.0.0.1 port=${found.port} user=postgres`,
  };
}

/** A new, empty database of the run's cluster. */
export function createDatabase(pg: TestPostgres, name: string): string {
  const bin = binDir()!;
  execFileSync(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', name], { stdio: 'pipe' });
  return name;
}

/** Stops the run's cluster, if a test file started one, and removes it. */
export function stopPostgres(runPid: number): void {
  const dir = clusterDir(runPid);
  if (!existsSync(dir)) return;
  const bin = binDir();
  if (bin && existsSync(join(dir, 'ready.json'))) {
    try {
      asOwner(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', 'stop']);
    } catch {
      // already stopped
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
