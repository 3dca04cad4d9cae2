import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { expect } from 'vitest';

/**
 * Shared helpers of the end-to-end tests: they drive the built `pipe` binary as a child
 * process on temporary projects, and read the warehouse file with DuckDB only after the pipe
 * process has exited (DuckDB lets one process hold a database file).
 */

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const PIPE_BIN = join(REPO, 'dist/cli/main.js');

export type PipeEventJson = Record<string, unknown> & { readonly type: string };

export interface PipeResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Every line of stdout that parses as a JSON object (the `--json` stream). */
  readonly events: PipeEventJson[];
}

export interface SpawnOptions {
  /** Extra environment variables for the child. */
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /** The user (and its group) the child runs as: a test run by root reads files as another would. */
  readonly user?: { readonly uid: number; readonly gid: number };
}

function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  // A fixed clock from the outer environment would change the default date under test.
  if (!('PIPE_NOW' in extra)) delete env.PIPE_NOW;
  delete env.PIPE_DEBUG;
  return env;
}

export function parseJsonLines(text: string): PipeEventJson[] {
  const out: PipeEventJson[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    out.push(JSON.parse(line) as PipeEventJson);
  }
  return out;
}

/** Runs `pipe ARGS` to completion. */
export function pipe(args: readonly string[], options: SpawnOptions = {}): PipeResult {
  const r = spawnSync(process.execPath, [PIPE_BIN, ...args], {
    cwd: options.cwd ?? REPO,
    env: childEnv(options.env),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    ...options.user,
  });
  if (r.error) throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, events: parseJsonLines(r.stdout) };
}

/** Everything a failed expectation should show about a pipe invocation. */
export function explain(r: PipeResult): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** Processes a test started in the background and has not seen end yet. */
const running = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.on('close', () => running.delete(child));
  return child;
}

/**
 * Ends (SIGKILL) every background process a test started that is still there: a test that
 * failed half-way leaves none behind, blocked on a gate that nothing will open.
 */
export async function killRunning(): Promise<void> {
  const left = [...running];
  await Promise.all(
    left.map(
      (child) =>
        new Promise<void>((res) => {
          if (child.exitCode !== null || child.signalCode !== null) return res();
          child.on('close', () => res());
          child.kill('SIGKILL');
        }),
    ),
  );
}

/**
 * A pipe process running in the background; `waitFor` resolves on the first `--json` event
 * matching a predicate, so a test can act at a known point of a run.
 */
export class RunningPipe {
  readonly child: ChildProcess;
  private stdout = '';
  private stderr = '';
  private readonly listeners = new Set<() => void>();
  readonly exited: Promise<PipeResult>;

  constructor(args: readonly string[], options: SpawnOptions = {}) {
    this.child = track(spawn(process.execPath, [PIPE_BIN, ...args], { cwd: options.cwd ?? REPO, env: childEnv(options.env) }));
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
      for (const l of [...this.listeners]) l();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((res) => {
      this.child.on('close', (code, signal) => {
        const result = { code, signal, stdout: this.stdout, stderr: this.stderr, events: parseJsonLines(this.stdout) };
        for (const l of [...this.listeners]) l();
        res(result);
      });
    });
  }

  private completeEvents(): PipeEventJson[] {
    return parseJsonLines(this.stdout.slice(0, this.stdout.lastIndexOf('\n') + 1));
  }

  /** Resolves with the `nth` (from 1) event matching `pred`; rejects if pipe exits first. */
  waitFor(pred: (e: PipeEventJson) => boolean, nth = 1): Promise<PipeEventJson> {
    return new Promise((res, rej) => {
      const check = () => {
        const hit = this.completeEvents().filter(pred)[nth - 1];
        if (hit) {
          this.listeners.delete(check);
          res(hit);
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          this.listeners.delete(check);
          rej(new Error(`pipe exited before the awaited event\n--- stdout\n${this.stdout}\n--- stderr\n${this.stderr}`));
        }
      };
      this.listeners.add(check);
      check();
    });
  }
}

/**
 * The events of a long-running command (watch) as they come, from a spawned pipe's `--json`
 * or from the command in this process: `next` waits for the first matching event after the
 * previous one it returned.
 */
export class EventCursor {
  readonly events: Record<string, unknown>[] = [];
  private cursor = 0;
  private waiters: (() => void)[] = [];

  /** `ended` says why no more events will come (the process exited), or undefined while they may. */
  constructor(private readonly ended: () => string | undefined) {}

  protected push(event: Record<string, unknown>): void {
    this.events.push(event);
    this.wake();
  }

  protected wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits (up to `timeoutMs`) for the next event matching `pred`; returns it and the events skipped on the way. */
  async next(pred: (e: Record<string, unknown>) => boolean, timeoutMs = 30_000): Promise<{ event: Record<string, unknown>; passed: Record<string, unknown>[] }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = this.cursor; i < this.events.length; i++) {
        if (pred(this.events[i])) {
          const passed = this.events.slice(this.cursor, i + 1);
          this.cursor = i + 1;
          return { event: this.events[i], passed };
        }
      }
      const ended = this.ended();
      if (ended !== undefined) throw new Error(ended);
      if (Date.now() > deadline) throw new Error(`timed out waiting; events so far:\n${this.events.map((e) => JSON.stringify(e)).join('\n')}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  /** Waits for the end of the current build: the watcher is idle and the warehouse closed. */
  idle(timeoutMs?: number) {
    return this.next((e) => e.type === 'watch-waiting', timeoutMs);
  }
}

/** A long-running pipe process (watch) whose `--json` events are read as they come. */
export class Live extends EventCursor {
  readonly child: ChildProcess;
  stderr = '';
  private buffer = '';
  readonly exited: Promise<number | null>;

  constructor(args: readonly string[], options: SpawnOptions = {}) {
    super(() => (this.child.exitCode !== null ? `pipe exited (${this.child.exitCode}) while waiting\n${this.stderr}` : undefined));
    this.child = track(spawn(process.execPath, [PIPE_BIN, ...args], { cwd: options.cwd ?? REPO, env: childEnv(options.env) }));
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString();
      const lines = this.buffer.split('\n');
      this.buffer = lines.pop()!;
      for (const l of lines) if (l.startsWith('{')) this.push(JSON.parse(l) as Record<string, unknown>);
      this.wake();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((res) =>
      this.child.on('close', (code) => {
        this.wake();
        res(code);
      }),
    );
  }
}

const tempDirs: string[] = [];

/** A fresh empty directory, removed by `removeTempDirs`. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pipe-e2e-'));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export const EXAMPLE_PARTS = ['models', 'seeds', 'macros', 'pipelines', 'pipe.yaml'] as const;

/** A copy of the repository's example project (the shop) in a temporary directory. */
export function copyExample(): string {
  const dir = tempDir();
  for (const part of EXAMPLE_PARTS) cpSync(join(REPO, part), join(dir, part), { recursive: true });
  return dir;
}

/** Writes files (paths relative to `root`), creating folders as needed. */
export function writeProjectFiles(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

export function warehouseOf(project: string): string {
  return join(project, 'warehouse.duckdb');
}

export type Query = (sql: string) => Promise<Record<string, unknown>[]>;

/**
 * Opens a warehouse file read-only once for several queries: opening a DuckDB file costs more
 * than the small queries a test reads back with it.
 */
export async function readingWarehouse<T>(dbPath: string, body: (query: Query) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' });
  try {
    const connection = await instance.connect();
    try {
      return await body(async (sql) => (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[]);
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/** Runs statements on a warehouse file, as a user's own DuckDB would between pipe's commands. */
export async function execOn(dbPath: string, sql: string): Promise<void> {
  const instance = await DuckDBInstance.create(dbPath);
  try {
    const connection = await instance.connect();
    try {
      await connection.run(sql);
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/** Runs one query on a warehouse file, read-only, and returns its rows as JSON-friendly objects. */
export function queryRows(dbPath: string, sql: string): Promise<Record<string, unknown>[]> {
  return readingWarehouse(dbPath, (query) => query(sql));
}

function sortedRowsSql(relation: string): string {
  return `SELECT * FROM ${relation} ORDER BY ALL`;
}

/** Every row of one relation, sorted on all columns. */
export function sortedRows(dbPath: string, relation: string): Promise<Record<string, unknown>[]> {
  return queryRows(dbPath, sortedRowsSql(relation));
}

/** Every row of the given relations, sorted, for comparing two warehouses. */
export function snapshotTables(dbPath: string, relations: readonly string[]): Promise<Record<string, Record<string, unknown>[]>> {
  return readingWarehouse(dbPath, async (query) => {
    const out: Record<string, Record<string, unknown>[]> = {};
    for (const r of relations) out[r] = await query(sortedRowsSql(r));
    return out;
  });
}

export const STAGING_PREFIX = '__pipe_stage__';

const PUBLISHED_RELATIONS_SQL = `SELECT table_name AS name, 'table' AS type FROM duckdb_tables()
       WHERE database_name = current_database() AND schema_name = 'main' AND NOT starts_with(table_name, '${STAGING_PREFIX}')
     UNION ALL
     SELECT view_name, 'view' FROM duckdb_views()
       WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal
     ORDER BY 1`;

async function publishedIn(query: Query): Promise<{ tables: string[]; views: string[] }> {
  const rows = await query(PUBLISHED_RELATIONS_SQL);
  return {
    tables: rows.filter((r) => r.type === 'table').map((r) => String(r.name)),
    views: rows.filter((r) => r.type === 'view').map((r) => String(r.name)),
  };
}

/** Names of the user tables and views (outside pipe's `_pipe` state and its staging tables). */
export function publishedRelations(dbPath: string): Promise<{ tables: string[]; views: string[] }> {
  return readingWarehouse(dbPath, publishedIn);
}

/** Staging tables anywhere in the warehouse (read with `query` of an open warehouse). */
export async function stagingTablesIn(query: Query): Promise<string[]> {
  const rows = await query(`SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, '${STAGING_PREFIX}')`);
  return rows.map((r) => String(r.table_name));
}

/** Staging tables anywhere in the warehouse. */
export function stagingTables(dbPath: string): Promise<string[]> {
  return readingWarehouse(dbPath, stagingTablesIn);
}

/** Every published table and view with all its rows, sorted: compares two states of a warehouse. */
export function snapshotWarehouse(dbPath: string): Promise<Record<string, Record<string, unknown>[]>> {
  return readingWarehouse(dbPath, async (query) => {
    const { tables, views } = await publishedIn(query);
    const out: Record<string, Record<string, unknown>[]> = {};
    for (const name of [...tables, ...views].sort()) out[name] = await query(sortedRowsSql(`"main"."${name}"`));
    return out;
  });
}

/** Rows of pipe's run log, to show that a command recorded no run. */
export async function runCount(dbPath: string): Promise<number> {
  const rows = await queryRows(dbPath, 'SELECT count(*)::INTEGER AS n FROM _pipe.runs');
  return Number(rows[0].n);
}

/** A CSV file (the simple dialect of the example's seeds: commas, optional double quotes) as objects of strings. */
export function readCsv(path: string): Record<string, string>[] {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/).filter((l) => l.length > 0);
  const split = (line: string): string[] => {
    const cells: string[] = [];
    let cell = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quoted) {
        if (c === '"' && line[i + 1] === '"') {
          cell += '"';
          i++;
        } else if (c === '"') quoted = false;
        else cell += c;
      } else if (c === '"') quoted = true;
      else if (c === ',') {
        cells.push(cell);
        cell = '';
      } else cell += c;
    }
    cells.push(cell);
    return cells;
  };
  const [header, ...rest] = lines.map(split);
  return rest.map((cells) => Object.fromEntries(header.map((h, i) => [h, cells[i]])));
}

/** A seed of the example project (or of `project`), parsed. */
export function seedRows(name: string, project = REPO): Record<string, string>[] {
  return readCsv(join(project, 'seeds', `${name}.csv`));
}

/** The example's orders of one day, from the seed file. */
export function ordersOn(day: string, project = REPO): Record<string, string>[] {
  return seedRows('raw_orders', project).filter((o) => o.ordered_at.slice(0, 10) === day);
}

export function eventsOfType(events: readonly PipeEventJson[], type: string): PipeEventJson[] {
  return events.filter((e) => e.type === type);
}

interface TaskJson {
  readonly id: string;
  readonly model: string;
  readonly kind: string;
  readonly file: string;
  readonly ds?: string;
}

export function taskOf(e: PipeEventJson): TaskJson {
  return e.task as TaskJson;
}

/** Task ids of the events of one type, sorted. */
export function taskIdsOf(events: readonly PipeEventJson[], type: string): string[] {
  return eventsOfType(events, type)
    .map((e) => taskOf(e).id)
    .sort();
}

/** Models (not seeds) that a run started, sorted. */
export function startedModels(events: readonly PipeEventJson[]): string[] {
  return eventsOfType(events, 'task-started')
    .map(taskOf)
    .filter((t) => t.kind !== 'seed')
    .map((t) => t.model)
    .sort();
}

export function diagnosticsOf(events: readonly PipeEventJson[]): { code: string; message: string; location?: { file: string; line?: number; column?: number }; hint?: string }[] {
  return eventsOfType(events, 'diagnostic').map((e) => e.diagnostic as { code: string; message: string });
}

/**
 * Another process holding the warehouse file open for writing, as a second pipe or a SQL
 * client would. Resolves once the file is held; `release` ends the process.
 */
export async function holdWarehouse(dbPath: string): Promise<{ pid: number; release: () => Promise<void> }> {
  const script = `
    const { DuckDBInstance } = await import('@duckdb/node-api');
    // A reader may hold the file for a moment (pipe ui reading a run): wait for it, as pipe would.
    let instance;
    for (let tries = 0; !instance; tries++) {
      try {
        instance = await DuckDBInstance.create(process.argv[1]);
      } catch (e) {
        if (tries >= 100 || !/Could not set lock/.test(String(e))) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const connection = await instance.connect();
    await connection.run('SELECT 1');
    // Reachable for good: a collected instance closes its file, and lets go of the lock.
    globalThis.held = [instance, connection];
    process.stdout.write('holding\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, dbPath], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const closed = new Promise<void>((res) => child.on('close', () => res()));
  await new Promise<void>((res, rej) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('holding')) res();
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    void closed.then(() => rej(new Error(`the holder process exited: ${err}`)));
  });
  return {
    pid: child.pid!,
    release: async () => {
      child.kill('SIGKILL');
      await closed;
    },
  };
}

/**
 * Holds a model at a known point without using CPU: the model reads a FIFO (`gate.sql` in its
 * query), and DuckDB waits in the operating system, opening it, until a writer comes.
 *
 * - `flood()` writes lines into it without end (`yes` holds it open): from then on the model
 *   can only stop by being interrupted, so a test that floods after Ctrl-C fails (by its time
 *   limit) if the interrupt never reaches DuckDB. DuckDB itself cannot interrupt the wait for a
 *   writer: its interrupt is a flag its operators check between chunks of rows.
 * - `open()` lets the model go on, reading no rows, whether it waits already or reads later.
 * - kill -9 needs neither.
 */
export class ModelGate {
  readonly path: string;
  /** A scalar subquery reading the gate: `where GATE >= 0` holds the query until the gate lets it go. */
  readonly sql: string;

  constructor(dir: string, name = 'gate') {
    this.path = join(dir, `${name}.fifo`);
    execFileSync('mkfifo', [this.path]);
    this.sql = `(select count(*) from read_csv('${this.path}', columns={'line': 'VARCHAR'}, header=false, auto_detect=false))`;
  }

  flood(): void {
    // Opened for reading and writing, a FIFO opens at once (Linux) and stays open for the readers.
    const fd = openSync(this.path, constants.O_RDWR);
    try {
      track(spawn('yes', ['1'], { stdio: ['ignore', fd, 'ignore'] }));
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Resolves once a query has opened the gate for reading, and holds it there (a writer that
   * writes nothing): the model is then in the middle of the statement that reads the gate.
   * What it resolves to lets that query go on (the writer leaves: the query reads no rows).
   */
  reached(): Promise<() => void> {
    const writer = track(spawn('sh', ['-c', 'exec 3>"$1"; echo open; exec sleep 600', 'sh', this.path], { stdio: ['ignore', 'pipe', 'ignore'] }));
    return new Promise((res, rej) => {
      writer.stdout!.once('data', () => res(() => writer.kill('SIGKILL')));
      writer.once('exit', () => rej(new Error('the gate writer ended before a reader came')));
    });
  }

  /**
   * Lets every read of the gate through, reading no rows: a model waiting on it now gets the end
   * of the file (a writer comes and goes), and a later one finds an empty file in its place.
   */
  open(): void {
    const fd = openSync(this.path, constants.O_RDWR);
    const empty = `${this.path}.empty`;
    writeFileSync(empty, '');
    renameSync(empty, this.path);
    closeSync(fd);
  }
}

/**
 * A command refused before it ran anything: exit 2, no task started, no stack trace (a mistake
 * of the user's never shows one), and no warehouse created in `project`.
 */
export function expectRefusedBeforeRunning(r: PipeResult, project: string): void {
  expect(r.code, explain(r)).toBe(2);
  expect(r.stdout).not.toContain('START');
  expect(r.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(existsSync(warehouseOf(project))).toBe(false);
}

/** Lines of printed diagnostics that start an error. */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /(^|: )error: /.test(l));
}

/** A copy of the example with a pipeline `nightly` of the given YAML. */
export function scheduledProject(pipeline: string): string {
  const dir = copyExample();
  writeProjectFiles(dir, { 'pipelines/nightly.yaml': pipeline });
  return dir;
}

/** The scheduler's runs, oldest fire time first: the interval each built and how it ended. */
export async function scheduledRuns(dir: string): Promise<{ ds: string; status: string }[]> {
  return (await queryRows(
    join(dir, 'warehouse.duckdb'),
    `SELECT r.params->>'ds' AS ds, r.status FROM _pipe.schedule s JOIN _pipe.runs r USING (run_id) ORDER BY s.fire_at`,
  )) as { ds: string; status: string }[];
}
