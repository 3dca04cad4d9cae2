import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, constants, readdirSync, readFileSync, readSync, statSync, symlinkSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import {
  diagnosticsOf,
  eventsOfType,
  explain,
  PIPE_BIN,
  REPO,
  removeTempDirs,
  RunningPipe,
  tempDir,
  warehouseOf,
  writeProjectFiles,
} from './helpers.js';
import { cliIn } from '../support/cli-in-process.js';

afterAll(removeTempDirs);

/**
 * How pipe meets its warehouse file: another process holding it (pipe waits for it), a path
 * that cannot be a warehouse (a clear refusal, exit 2, nothing created), and a signal before
 * anything is written (exit 130, no warehouse). Where no process of pipe's own is at stake (a
 * refusal), the CLI parses and runs the command line in the test's process.
 */

const RUN = ['run', '--date', '2024-01-02', '--json'];

/** A project of one table model: quick to analyze and to build. */
function smallProject(): string {
  const dir = tempDir();
  writeProjectFiles(dir, { 'models/one.sql': "{{ config(materialized='table') }}\nselect 1 as x\n" });
  return dir;
}

/** An empty DuckDB database at `path`, closed again. */
async function createDatabase(path: string): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  instance.closeSync();
}

/** A node process running `script` (an ES module) with `args`, from the repository (where @duckdb/node-api resolves). */
class Helper {
  readonly child: ChildProcess;
  private out = '';
  private readonly waiters: (() => void)[] = [];
  readonly exited: Promise<string>;

  constructor(script: string, args: readonly string[]) {
    this.child = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], { cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.stdout!.on('data', (c: Buffer) => {
      this.out += c.toString();
      for (const w of this.waiters.splice(0)) w();
    });
    this.exited = new Promise((res) => this.child.on('close', () => res(this.out)));
  }

  /** Resolves once the helper has printed `line`; rejects if it exits first. */
  said(line: string): Promise<void> {
    return new Promise((res, rej) => {
      const check = () => {
        if (this.out.split('\n').includes(line)) res();
        else if (this.child.exitCode !== null) rej(new Error(`the helper exited before saying ${line}:\n${this.out}`));
        else this.waiters.push(check);
      };
      this.child.once('close', check);
      check();
    });
  }

  tell(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }
}

/** Opens the warehouse read-only (as `pipe history` or a notebook would) and keeps it open until told `close`. */
const HOLDER = `
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(process.argv[1], { access_mode: 'READ_ONLY' });
  process.stdout.write('holding\\n');
  process.stdin.once('data', () => {
    instance.closeSync();
    process.stdout.write('closed\\n');
    process.exit(0);
  });
`;

/** A small project whose warehouse another process holds open, read-only. */
async function heldProject(): Promise<{ dir: string; db: string; holder: Helper }> {
  const dir = smallProject();
  const db = warehouseOf(dir);
  await createDatabase(db);
  const holder = new Helper(HOLDER, [db]);
  await holder.said('holding');
  return { dir, db, holder };
}

const isNotice = (e: { type: string; message?: unknown }) => e.type === 'notice' && String(e.message).includes('in use by another process');

describe('a warehouse another process holds', () => {
  it('pipe run --wait says once who holds it, and runs as soon as it is closed', async () => {
    const dir = smallProject();
    const db = warehouseOf(dir);
    await createDatabase(db);
    // This process holds it, read-only, as a notebook would.
    const holder = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
    let running: RunningPipe;
    try {
      running = new RunningPipe([...RUN, '--wait', '10s', '--project', dir]);
      const notice = await running.waitFor(isNotice);
      expect(notice.message).toContain(db);
      expect(notice.message).toContain(`PID ${process.pid}`);
    } finally {
      holder.closeSync();
    }

    const r = await running.exited;
    expect(r.code, explain(r)).toBe(0);
    expect(r.events.filter(isNotice)).toHaveLength(1);
    expect(eventsOfType(r.events, 'run-finished')[0]).toMatchObject({ status: 'succeeded', succeeded: 1 });
  });

  it('--wait 0 refuses at once naming the holder; Ctrl-C while waiting ends the wait with 130', async () => {
    const { dir, db, holder } = await heldProject();
    try {
      // Parsed and run by the CLI in this process: the holder is still another process.
      const refused = await cliIn([...RUN, '--wait', '0', '--project', dir]);
      expect(refused.code, explain(refused)).toBe(2);
      expect(refused.events.filter(isNotice)).toEqual([]);
      const [d] = diagnosticsOf(refused.events);
      expect(d.code).toBe('warehouse-locked');
      expect(d.message).toContain(db);
      expect(d.message).toContain(`PID ${holder.child.pid}`);

      // A number alone is seconds, as `timeout 10` reads it.
      const waiting = new RunningPipe([...RUN, '--wait', '10', '--project', dir]);
      expect((await waiting.waitFor(isNotice)).message).toContain('waiting up to 10 seconds');
      waiting.child.kill('SIGINT');
      const stopped = await waiting.exited;
      expect(stopped.code, explain(stopped)).toBe(130);
      expect(eventsOfType(stopped.events, 'run-started')).toEqual([]);
      // Nothing had run: the notice says the wait ends, not that tasks are rolled back.
      const told = stopped.events.filter((e) => e.type === 'notice' && String(e.message).startsWith('stopping'));
      expect(told.map((e) => e.message)).toEqual([expect.stringContaining('no longer waiting for the warehouse; nothing was run')]);
    } finally {
      holder.tell('close');
      await holder.exited;
    }
  });

  it('a reader opening and closing it every few milliseconds does not keep pipe run out', async () => {
    const dir = smallProject();
    const db = warehouseOf(dir);
    await createDatabase(db);
    // This process is the reader; it loops until pipe has exited.
    let told = false;
    let opened = 0;
    let refused = 0;
    let looping!: () => void;
    const firstOpen = new Promise<void>((res) => (looping = res));
    const reading = (async () => {
      while (!told && opened + refused < 4000) {
        try {
          const instance = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
          const connection = await instance.connect();
          await connection.run('SELECT 1');
          connection.closeSync();
          instance.closeSync();
          if (++opened === 1) looping();
        } catch {
          refused++;
        }
        await new Promise((r) => setTimeout(r, 3));
      }
    })();
    await firstOpen;

    const r = await new RunningPipe([...RUN, '--wait', '10s', '--project', dir]).exited;
    const stillLooping = opened + refused < 4000;
    told = true;
    await reading;

    expect(r.code, explain(r)).toBe(0);
    expect(eventsOfType(r.events, 'run-finished')[0]).toMatchObject({ status: 'succeeded' });
    // The reader was still looping when pipe finished, and pipe held the file in between.
    expect(stillLooping).toBe(true);
    expect(opened).toBeGreaterThan(1);
    expect(refused).toBeGreaterThan(0);
  });

  it('two pipe retry of one run waiting for it: the first retries, the second finds nothing left and records no run', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      // An append re-run would offer rows its table holds: a task run twice would not go unseen.
      'models/landed.sql': `{{ config(materialized='incremental', incremental_strategy='append') }}\nselect * from read_csv('${join(dir, 'data.csv')}')\n`,
    });
    const db = warehouseOf(dir);
    const failed = await cliIn([...RUN, '--project', dir]);
    expect(failed.code).toBe(1);
    writeFileSync(join(dir, 'data.csv'), 'y\n1\n');
    // Both read what is left of the run, then wait for the file this process holds, as a notebook would.
    const holder = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
    const retries = [0, 1].map(() => new RunningPipe(['retry', '--json', '--wait', '30s', '--project', dir]));
    try {
      await Promise.all(retries.map((r) => r.waitFor(isNotice)));
    } finally {
      holder.closeSync();
    }
    const [a, b] = await Promise.all(retries.map((r) => r.exited));
    expect([a.code, b.code], explain(a) + explain(b)).toEqual([0, 0]);
    const ran = [a, b].filter((r) => eventsOfType(r.events, 'run-finished').length > 0);
    expect(ran).toHaveLength(1);
    expect(eventsOfType(ran[0].events, 'run-finished')[0]).toMatchObject({ status: 'succeeded', succeeded: 1 });
    const other = a === ran[0] ? b : a;
    expect(other.stdout + other.stderr).toMatch(/nothing to retry: every task of run \S+ is done \(succeeded, or superseded by a later run\), those it left undone in a retry of it, while this one waited for the warehouse/);
    const reader = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
    try {
      const c = await reader.connect();
      expect((await c.runAndReadAll('SELECT y FROM landed')).getRowObjectsJson()).toEqual([{ y: '1' }]);
      expect((await c.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM _pipe.runs WHERE parent_run_id IS NOT NULL`)).getRowObjectsJson()).toEqual([{ n: 1 }]);
    } finally {
      reader.closeSync();
    }
  });
});

describe('a path that cannot be a warehouse', () => {
  it('is refused with exit 2, a message naming the path and the problem, and nothing created', async () => {
    const dir = smallProject();
    mkdirSync(join(dir, 'folder'));
    writeFileSync(join(dir, 'orders.csv'), 'order_id,amount\n1,10\n');
    writeFileSync(join(dir, 'plain'), 'a file\n');
    // A folder pipe may not write in: root may write anywhere but in /sys.
    let locked = join(dir, 'locked');
    if (process.getuid?.() === 0) {
      locked = '/sys';
    } else {
      mkdirSync(locked, { mode: 0o555 });
    }
    const yamlProject = smallProject();
    writeFileSync(join(yamlProject, 'pipe.yaml'), 'name: numbered\nwarehouse: 123\n');
    // A DuckDB file cut short, as a copy that did not finish leaves it.
    const cut = join(dir, 'cut.duckdb');
    const instance = await DuckDBInstance.create(cut);
    const connection = await instance.connect();
    await connection.run('create table t as select range as i from range(100000)');
    connection.closeSync();
    instance.closeSync();
    truncateSync(cut, 20_000);
    const newer = await fileOfStorageVersion(join(dir, 'newer.duckdb'), 999);

    const cases = [
      { db: join(dir, 'folder'), says: 'is a folder, not a DuckDB file' },
      { db: join(dir, 'orders.csv'), says: 'is not a DuckDB database' },
      { db: cut, says: 'the file is cut short or damaged' },
      { db: newer, says: "a newer DuckDB wrote it (its storage version is 999; pipe's DuckDB v" },
      { db: join(dir, 'plain', 'sub.duckdb'), says: `${join(dir, 'plain')} is a file, not a folder` },
      { db: '/proc/nope/x.duckdb', says: 'cannot create the folder /proc/nope' },
      { db: join(locked, 'pipe-warehouse.duckdb'), says: 'permission denied' },
    ];
    const before = readdirSync(dir).sort();
    // The command line parsed and run by the CLI in this process, one after the other (each
    // catches what the process would print): a refusal needs no process of its own.
    const results = [];
    for (const c of cases) results.push(await cliIn([...RUN, '--wait', '0', '--db', c.db, '--project', dir]));
    results.push(await cliIn([...RUN, '--project', yamlProject]));

    cases.forEach((c, i) => {
      const r = results[i];
      expect(r.code, explain(r)).toBe(2);
      const diagnostics = diagnosticsOf(r.events);
      expect(diagnostics, explain(r)).toHaveLength(1);
      expect(diagnostics[0].message).toContain(c.db);
      expect(diagnostics[0].message).toContain(c.says);
      expect(eventsOfType(r.events, 'run-started')).toEqual([]);
    });
    expect(diagnosticsOf(results[cases.findIndex((c) => c.db === newer)].events)[0].hint).toMatch(/^with the DuckDB that wrote it, copy it into a file this one reads: ATTACH '.*newer\.duckdb' AS src; ATTACH '.*newer-v1_\d+\.duckdb' AS dst \(STORAGE_VERSION 'v1\.\d+\.0'\); COPY FROM DATABASE src TO dst/);
    const yaml = results[cases.length];
    expect(yaml.code, explain(yaml)).toBe(2);
    expect(diagnosticsOf(yaml.events)).toEqual([
      expect.objectContaining({ message: 'warehouse must be the path of a DuckDB file or a DuckLake (type: ducklake), got 123', location: { file: 'pipe.yaml', line: 2 } }),
    ]);

    expect(readdirSync(dir).sort()).toEqual(before);
    expect(readdirSync(join(dir, 'folder'))).toEqual([]);
    expect(readFileSync(join(dir, 'orders.csv'), 'utf8')).toBe('order_id,amount\n1,10\n');
    expect(statSync(cut).size).toBe(20_000);
    expect(existsSync('/proc/nope')).toBe(false);
    expect(existsSync(join(locked, 'pipe-warehouse.duckdb'))).toBe(false);
    expect(readdirSync(yamlProject).sort()).toEqual(['models', 'pipe.yaml']);
  });
});

/**
 * A DuckDB file as a DuckDB of another storage version writes it: one written by pipe's, its
 * header's version number set to `version` and the header's checksum made again (DuckDB's: the
 * XOR of each 8-byte word after the checksum times 0xbf58476d1ce4e5b9; the version is in the first).
 */
async function fileOfStorageVersion(path: string, version: number): Promise<string> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  await connection.run('create table t as select 1 as a');
  connection.closeSync();
  instance.closeSync();
  const fd = openSync(path, 'r+');
  try {
    const head = Buffer.alloc(16);
    readSync(fd, head, 0, 16, 0);
    const word = (b: Buffer) => (b.readBigUInt64LE(8) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
    const patched = Buffer.from(head);
    patched.writeUInt32LE(version, 12);
    patched.writeBigUInt64LE(head.readBigUInt64LE(0) ^ word(head) ^ word(patched), 0);
    writeSync(fd, patched, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  return path;
}

describe('a warehouse folder that does not exist', () => {
  it('is made inside the project and for --db, and refused elsewhere where a config file names it, said at its line', async () => {
    const outside = tempDir();
    const dir = join(outside, 'shop');
    const missing = join(outside, '<YOUR_NAME>', 'data');
    writeProjectFiles(dir, {
      'dbt_project.yml': "name: shop\nversion: '1.0'\nprofile: shop\n",
      'profiles.yml': `shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: ${join(missing, 'dev.duckdb')}\n`,
      'models/one.sql': 'select 1 as x\n',
    });
    const profile = await cliIn([...RUN, '--project', dir]);
    expect(profile.code, explain(profile)).toBe(2);
    expect(diagnosticsOf(profile.events)).toEqual([
      expect.objectContaining({
        message: `the warehouse ${join(missing, 'dev.duckdb')} is in a folder that does not exist, ${missing} (<YOUR_NAME> looks like a placeholder to fill in)`,
        location: { file: 'profiles.yml', line: 6 },
        hint: 'pipe makes missing folders inside the project only: set path: to a file in the project or in a folder that exists, or create the folder',
      }),
    ]);
    // Read only, the same: the path is wrong whatever the command.
    expect((await cliIn(['ls', '--project', dir])).code).toBe(2);
    // A Windows path, on another system: refused at its line, nothing made in the project.
    writeProjectFiles(dir, { 'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: "T:/lake/dev.duckdb"\n' });
    const windows = await cliIn([...RUN, '--project', dir]);
    expect(windows.code, explain(windows)).toBe(2);
    expect(diagnosticsOf(windows.events).map((d) => [d.message, d.location])).toEqual([
      ['the warehouse T:/lake/dev.duckdb is a Windows path (a drive letter), which this machine would read as a folder named T: in the project', { file: 'profiles.yml', line: 6 }],
    ]);
    expect(existsSync(join(dir, 'T:'))).toBe(false);
    writeProjectFiles(dir, { 'pipe.yaml': 'warehouse: ../elsewhere/w.duckdb\n' });
    const own = await cliIn([...RUN, '--project', dir]);
    expect(own.code, explain(own)).toBe(2);
    expect(diagnosticsOf(own.events)).toEqual([expect.objectContaining({ message: `the warehouse ${join(outside, 'elsewhere', 'w.duckdb')} is in a folder that does not exist, ${join(outside, 'elsewhere')}`, location: { file: 'pipe.yaml', line: 1 } })]);
    expect(readdirSync(outside).sort()).toEqual(['shop']);
    // Inside the project, and on the command line, the folders are made.
    writeProjectFiles(dir, { 'pipe.yaml': 'warehouse: target/w.duckdb\n' });
    const inside = await cliIn([...RUN, '--project', dir]);
    expect(inside.code, explain(inside)).toBe(0);
    expect(existsSync(join(dir, 'target', 'w.duckdb'))).toBe(true);
    const flag = await cliIn([...RUN, '--project', dir, '--db', join(outside, 'made', 'w.duckdb')]);
    expect(flag.code, explain(flag)).toBe(0);
    expect(existsSync(join(outside, 'made', 'w.duckdb'))).toBe(true);
    // Inside, though named through a link to the project, or in a folder whose name starts with two dots,
    // or through a link the project holds to a folder elsewhere.
    symlinkSync(dir, join(outside, 'link'));
    mkdirSync(join(outside, 'kept'));
    symlinkSync(join(outside, 'kept'), join(dir, 'data'));
    writeProjectFiles(dir, { 'pipe.yaml': 'warehouse: data/wh/w.duckdb\n' });
    const through = await cliIn([...RUN, '--project', dir]);
    expect(through.code, explain(through)).toBe(0);
    expect(existsSync(join(outside, 'kept', 'wh', 'w.duckdb'))).toBe(true);
    for (const [warehouse, made] of [[join(outside, 'link', 'linked', 'w.duckdb'), join(dir, 'linked', 'w.duckdb')], ['..cache/w.duckdb', join(dir, '..cache', 'w.duckdb')]]) {
      writeProjectFiles(dir, { 'pipe.yaml': `warehouse: ${warehouse}\n` });
      const r = await cliIn([...RUN, '--project', dir]);
      expect(r.code, explain(r)).toBe(0);
      expect(existsSync(made), warehouse).toBe(true);
    }
  });
});

describe('a warehouse path that names no local file', () => {
  it('is refused, on the command line and in pipe.yaml, and no file of that name is created', async () => {
    const dir = smallProject();
    const results = [];
    for (const db of [':memory:', 'md:shop?motherduck_token=secret', 's3://bucket/w.duckdb']) results.push(await cliIn([...RUN, '--db', db, '--project', dir]));
    const says = ['--db :memory: is a database in memory', '--db md:… is a MotherDuck database', '--db s3:… is not a local file'];
    results.forEach((r, i) => {
      expect(r.code, explain(r)).toBe(2);
      expect(diagnosticsOf(r.events).map((d) => d.message).join('\n')).toContain(says[i]);
      expect(r.stdout + r.stderr).not.toContain('secret');
    });
    writeFileSync(join(dir, 'pipe.yaml'), "name: shop\nwarehouse: ':memory:'\n");
    const yaml = await cliIn([...RUN, '--project', dir]);
    expect(yaml.code, explain(yaml)).toBe(2);
    expect(diagnosticsOf(yaml.events)).toEqual([expect.objectContaining({ location: { file: 'pipe.yaml', line: 2 } })]);
    expect(readdirSync(dir).filter((f) => f.includes(':'))).toEqual([]);
  });
});

/** A FIFO at `path`. */
function fifo(path: string): string {
  execFileSync('mkfifo', [path]);
  return path;
}

/**
 * Opens a FIFO for writing, which completes once `child` has opened it for reading (it is
 * blocked reading it then); fails if the child exits first.
 */
async function whenReading(path: string, child: ChildProcess, exited: Promise<unknown>) {
  const writer = open(path, 'w');
  const first = await Promise.race([writer, exited.then(() => 'exited' as const)]);
  if (first === 'exited') {
    // Let the pending open complete, then report.
    closeSync(openSync(path, constants.O_RDONLY | constants.O_NONBLOCK));
    await (await writer).close();
    throw new Error(`pipe (PID ${child.pid}) exited before reading ${path}`);
  }
  return first;
}

describe('a signal before anything is written', () => {
  it('SIGTERM while pipe is still loading its code: exit 130, no event, no warehouse', async () => {
    const dir = smallProject();
    const hooks = tempDir();
    // A module hook that says when the CLI module is asked for and never lets it load: pipe
    // stays at its first lines (main.ts) until the signal comes. The interval keeps such a
    // process alive, as loading would.
    writeFileSync(
      join(hooks, 'hooks.mjs'),
      `import { writeSync } from 'node:fs';
export async function load(url, context, nextLoad) {
  if (url.endsWith('/dist/cli/load-cli.js')) {
    writeSync(2, 'loading the CLI\\n');
    await new Promise(() => {});
  }
  return nextLoad(url, context);
}
`,
    );
    writeFileSync(
      join(hooks, 'register.mjs'),
      "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\nsetInterval(() => {}, 1 << 30);\n",
    );
    const child = spawn(process.execPath, ['--import', join(hooks, 'register.mjs'), PIPE_BIN, ...RUN, '--project', dir], { cwd: REPO });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('close', (code, signal) => res({ code, signal })));
    await new Promise<void>((res, rej) => {
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        if (stderr.includes('loading the CLI')) res();
      });
      void exited.then(() => rej(new Error(`pipe exited before loading its CLI:\n${stderr}`)));
    });

    child.kill('SIGTERM');
    const end = await exited;

    expect(end, stderr).toEqual({ code: 130, signal: null });
    expect(stdout).toBe('');
    expect(existsSync(warehouseOf(dir))).toBe(false);
  });

  it('SIGTERM while the command reads the project: exit 130, nothing run, no warehouse', async () => {
    const dir = smallProject();
    // pipe blocks reading pipe.yaml until the test writes it: the signal arrives in between.
    const projectFile = fifo(join(dir, 'pipe.yaml'));
    const running = new RunningPipe([...RUN, '--project', dir]);

    const writer = await whenReading(projectFile, running.child, running.exited);
    running.child.kill('SIGTERM');
    await writer.write('name: gated\n');
    await writer.close();
    const r = await running.exited;

    expect(r.code, explain(r)).toBe(130);
    expect(eventsOfType(r.events, 'run-started')).toEqual([]);
    expect(eventsOfType(r.events, 'task-started')).toEqual([]);
    // What it read may be kept parsed in .pipe/ (see "Parsed YAML"); nothing else is written.
    expect(readdirSync(dir).filter((name) => name !== '.pipe').sort()).toEqual(['models', 'pipe.yaml']);
    expect(existsSync(warehouseOf(dir))).toBe(false);
  });

  it('pipe status, which only reads, ends by the signal itself at once, not when it is done computing', async () => {
    // Judging decades of dates keeps status from its event loop for seconds, where no handler of
    // its own could run: here it is kept from it by reading pipe.yaml, which the test writes late.
    const dir = smallProject();
    const projectFile = fifo(join(dir, 'pipe.yaml'));
    const running = new RunningPipe(['status', '--project', dir]);

    const writer = await whenReading(projectFile, running.child, running.exited);
    running.child.kill('SIGTERM');
    // A status that waited for its own handler would read on and end with 130 once written to.
    await writer.write('name: gated\n').catch(() => undefined);
    await writer.close().catch(() => undefined);
    const r = await running.exited;

    expect({ code: r.code, signal: r.signal }, explain(r)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(existsSync(warehouseOf(dir))).toBe(false);
  });
});
