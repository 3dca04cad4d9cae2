/**
 * The distributed backfill case: dates per second of `pipe backfill --distributed` with 1, 2
 * and 4 `pipe worker` processes on heavy partitions, and a one-process backfill of the same
 * project on a DuckDB file and on the DuckLake. One machine cannot hold several machines'
 * cores, so each worker stands for a one-core machine: one task at a time, DuckDB on one
 * thread (`settings: threads: 1`); the workers scale up to the cores this machine has. It needs Postgres's binaries (a throwaway
 * cluster is started and stopped here) and the ducklake and postgres_scanner extensions;
 * without them the case is skipped, saying why.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { jsonLines } from './proc.mjs';

function pgBin() {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const v = readdirSync(base).filter((x) => existsSync(join(base, x, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))[0];
  return v && join(base, v, 'bin');
}

async function loads(ext) {
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false' });
  const c = await instance.connect();
  try {
    await c.run(`LOAD ${ext}`);
    return true;
  } catch {
    return false;
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

const freePort = () =>
  new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });

/** Why the case cannot run here, or undefined. */
export async function distributedUnavailable() {
  if (!pgBin()) return 'no Postgres binaries (initdb) found';
  for (const ext of ['ducklake', 'postgres_scanner']) if (!(await loads(ext))) return `the DuckDB extension ${ext} is not installed`;
  return undefined;
}

/** A throwaway Postgres cluster; `stop()` removes it. */
async function startCluster() {
  const bin = pgBin();
  const dir = mkdtempSync(join(tmpdir(), 'pipe-bench-pg-'));
  const root = process.getuid?.() === 0;
  const as = (cmd, args) => execFileSync(root ? 'runuser' : cmd, root ? ['-u', 'postgres', '--', cmd, ...args] : args, { stdio: 'pipe' });
  if (root) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), 0);
  const port = await freePort();
  as(join(bin, 'initdb'), ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres']);
  as(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-w', '-o', `-h 127.0.0.1 -p ${port} -k ${dir}`, '-l', join(dir, 'log'), 'start']);
  let n = 0;
  return {
    database() {
      const name = `bench_${++n}`;
      execFileSync(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', name], { stdio: 'pipe' });
      return `dbname=${name} host=127.0.0.1 port=${port} user=postgres`;
    },
    stop() {
      try {
        as(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** An incremental model whose dates each cost real work: `rows` hashed and grouped to 10,000 rows. */
function writeHeavyProject(dir, rows) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'models'), { recursive: true });
  writeFileSync(join(dir, 'pipe.yaml'), 'name: heavy\n');
  writeFileSync(
    join(dir, 'models', 'facts.sql'),
    `{{ config(materialized='incremental', partition_by='d') }}\nselect cast('{{ ds }}' as date) as d, i % 10000 as k, sum(hash(i, '{{ ds }}') % 1000) as v, count(*) as n\nfrom range(${rows}) t(i) group by all\n`,
  );
}

function start(pipeBin, args, env) {
  const child = spawn(process.execPath, [pipeBin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters = [];
  child.stdout.on('data', (d) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise((res) => child.on('close', (code) => res({ code, stdout: out })));
  const waitFor = async (pred) => {
    for (;;) {
      if (jsonLines(out).some(pred)) return;
      if (child.exitCode !== null) throw new Error(`pipe ${args[0]} exited: ${out.slice(-2000)}`);
      await Promise.race([new Promise((r) => waiters.push(r)), exited]);
    }
  };
  return { child, exited, waitFor };
}

/** Execution ms of a finished backfill's output, or an error. */
function execMs(r, what) {
  const finished = jsonLines(r.stdout).find((e) => e.type === 'run-finished');
  if (r.code !== 0 || !finished || finished.status !== 'succeeded') throw new Error(`${what} did not succeed: ${r.stdout.slice(-2000)}`);
  return finished.ms;
}

/**
 * @param {{ pipeBin: string, work: string, days: number, rows: number, parallel: number, start: string, end: string, log: (s: string) => void }} o
 */
export async function benchDistributed(o) {
  const cluster = await startCluster();
  const dir = join(o.work, 'heavy');
  writeHeavyProject(dir, o.rows);
  const range = ['--start', o.start, '--end', o.end, '--parallel', String(o.parallel), '--json'];
  const lakeDb = (catalog, name) => ({ catalog, dataPath: join(o.work, 'lakes', name) });
  const out = { days: o.days, rowsPerDate: o.rows, parallel: o.parallel, cores: availableParallelism(), workers: [], single: {} };
  try {
    // One process, a DuckDB file and the lake.
    const file = join(o.work, 'heavy.duckdb');
    rmSync(file, { force: true });
    o.log(`distributed: one process on a DuckDB file, ${o.days} dates of ${o.rows.toLocaleString('en-US')} rows`);
    out.single.duckdbMs = execMs(await start(o.pipeBin, ['backfill', ...range, '--project', dir, '--db', file]).exited, 'backfill on a DuckDB file');
    const lakeArgs = (name, duckdbThreads) => {
      const l = lakeDb(cluster.database(), name);
      rmSync(l.dataPath, { recursive: true, force: true });
      const settings = duckdbThreads === undefined ? '' : `settings:\n  threads: ${duckdbThreads}\n`;
      writeFileSync(join(dir, 'pipe.yaml'), `name: heavy\n${settings}warehouse:\n  type: ducklake\n  catalog: postgres:${l.catalog}\n  data_path: ${l.dataPath}/\n`);
      return ['--project', dir];
    };
    o.log('distributed: one process on the DuckLake');
    out.single.ducklakeMs = execMs(await start(o.pipeBin, ['backfill', ...range, ...lakeArgs('single')]).exited, 'backfill on the DuckLake');
    for (const n of [1, 2, 4]) {
      o.log(`distributed: ${n} worker${n === 1 ? '' : 's'}`);
      const args = lakeArgs(`w${n}`, 1);
      const workers = Array.from({ length: n }, (_, i) => start(o.pipeBin, ['worker', ...args, '--concurrency', '1', '--json', '--name', `w${i + 1}`]));
      try {
        await Promise.all(workers.map((w) => w.waitFor((e) => e.type === 'notice' && String(e.message).includes('ready'))));
        const ms = execMs(await start(o.pipeBin, ['backfill', ...range, '--distributed', ...args]).exited, `distributed backfill with ${n} workers`);
        out.workers.push({ workers: n, execMs: ms, datesPerSecond: o.days / (ms / 1000) });
      } finally {
        for (const w of workers) w.child.kill('SIGTERM');
        await Promise.all(workers.map((w) => w.exited));
      }
    }
  } finally {
    writeHeavyProject(dir, o.rows);
    cluster.stop();
  }
  const one = out.workers[0]?.datesPerSecond;
  for (const w of out.workers) w.speedup = w.datesPerSecond / one;
  out.single.duckdbDatesPerSecond = o.days / (out.single.duckdbMs / 1000);
  out.single.ducklakeDatesPerSecond = o.days / (out.single.ducklakeMs / 1000);
  return out;
}
