import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';

/** Drives the built `pipe` binary on temporary projects, as a user would. */

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const PIPE = join(REPO, 'dist/cli/main.js');

export interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly events: Record<string, unknown>[];
}

function parseEvents(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Runs pipe to completion. */
export function pipe(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Result {
  const r = spawnSync(process.execPath, [PIPE, ...args], {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, events: parseEvents(r.stdout) };
}

/** Starts pipe and resolves once an event matching `until` has been printed (with --json). */
export function start(
  args: readonly string[],
  until: (e: Record<string, unknown>) => boolean,
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ child: ChildProcess; done: Promise<Result> }> {
  const child = spawn(process.execPath, [PIPE, ...args], {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
  });
  let stdout = '';
  let stderr = '';
  const done = new Promise<Result>((res) => {
    child.on('close', (code) => res({ code, stdout, stderr, events: parseEvents(stdout) }));
  });
  return new Promise((res, rej) => {
    let seen = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!seen && parseEvents(stdout).some(until)) {
        seen = true;
        res({ child, done });
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    void done.then((r) => {
      if (!seen) rej(new Error(`pipe exited (${r.code}) before the awaited event:\n${r.stdout}\n${r.stderr}`));
    });
  });
}

/** A copy of the repository's example project in a temporary directory. */
export function exampleProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pipe-e2e-'));
  for (const part of ['models', 'seeds', 'macros', 'pipelines', 'pipe.yaml']) {
    cpSync(join(REPO, part), join(dir, part), { recursive: true });
  }
  return dir;
}

export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

/** Runs a query on a warehouse file (after pipe has exited) and returns rows as JSON objects. */
export async function query(dbPath: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' });
  try {
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll(sql);
      return reader.getRowObjectsJson() as Record<string, unknown>[];
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/** Every row of every user table, sorted, for comparing two warehouses. */
export async function snapshot(dbPath: string, tables: readonly string[]): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of tables) out[t] = await query(dbPath, `SELECT * FROM ${t} ORDER BY ALL`);
  return out;
}

export function eventsOf(r: Result, type: string): Record<string, unknown>[] {
  return r.events.filter((e) => e.type === type);
}

export function taskIds(events: readonly Record<string, unknown>[]): string[] {
  return events.map((e) => (e.task as { id: string }).id);
}

/**
 * A long-running pipe (watch) whose `--json` events are read as they come: `next` waits for
 * the first matching event after the previous one it returned.
 */
export class Live {
  readonly child: ChildProcess;
  readonly events: Record<string, unknown>[] = [];
  stderr = '';
  private buffer = '';
  private cursor = 0;
  private waiters: (() => void)[] = [];
  readonly exited: Promise<number | null>;

  constructor(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
    this.child = spawn(process.execPath, [PIPE, ...args], { cwd: options.cwd, env: { ...process.env, NO_COLOR: '1', ...options.env } });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString();
      const lines = this.buffer.split('\n');
      this.buffer = lines.pop()!;
      for (const l of lines) if (l.startsWith('{')) this.events.push(JSON.parse(l) as Record<string, unknown>);
      for (const w of this.waiters.splice(0)) w();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((res) =>
      this.child.on('close', (code) => {
        for (const w of this.waiters.splice(0)) w();
        res(code);
      }),
    );
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
      if (this.child.exitCode !== null) throw new Error(`pipe exited (${this.child.exitCode}) while waiting\n${this.stderr}`);
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
