import { join } from 'node:path';
import { PIPE_BUILD } from '../version.js';
import { PackStore, sha256 } from './pack-store.js';

/**
 * Seeds whose every value was found to load as it reads (see preflight.ts's value check), kept
 * between processes in `<project>/.pipe/seeds/verdicts/`: the check reads the whole file (0.4 s
 * for 134 MB) and its outcome is a fact of the file's content, how it is read and what it is
 * checked against, not of a warehouse: a seed loaded into a new warehouse (a CI run, another
 * date's file) is not read again for it. The key holds the seed's content hash, how the engine
 * reads it, the checks (each column's type, declared or as the engine infers it), pipe's build (its version and sources, see version.ts)
 * and the engine's, so a change of any of them checks the file again. Only a seed that passed
 * is kept: one refused is checked, and refused at its line, every time.
 *
 * Kept the same way: the columns the engine reads a seed as (its CSV sniffer's types), a fact of
 * the file's content, how it is read and the engine's version, which describing a large file
 * takes tens of milliseconds to find at every run. Only columns the engine gave are kept; a
 * file it could not read is described, and refused, every time.
 */

const FORMAT = 'pipe-seed-verdict 1';

export function seedVerdictsDir(root: string): string {
  return join(root, '.pipe', 'seeds', 'verdicts');
}

/** The stores of this process by folder: a process that runs again (watch, schedule) reads the packs once. */
const stores = new Map<string, SeedVerdicts>();

/** The verdicts kept in the project at `root`. */
export function seedVerdictsOf(root: string): SeedVerdicts {
  const dir = seedVerdictsDir(root);
  let store = stores.get(dir);
  if (!store) stores.set(dir, (store = new SeedVerdicts(dir)));
  return store;
}

const PASSED = 'passed';

/** A seed's columns as the engine reads the file. */
export interface SeedColumn {
  readonly name: string;
  readonly type: string;
}

export class SeedVerdicts extends PackStore {
  constructor(dir: string, now: () => number = Date.now) {
    super(dir, FORMAT, now);
  }

  /** The key of a seed's check: see the module comment; `what` is plain data (JSON). */
  static key(engineVersion: string, what: unknown): string {
    return sha256(JSON.stringify([FORMAT, PIPE_BUILD, engineVersion, what]));
  }

  /** Checks this process passed: its packs are read once, so what it wrote since is found here. */
  private readonly made = new Set<string>();

  /** Whether a check under `key` passed before. */
  passed(key: string): boolean {
    return this.made.has(key) || this.read(key) === PASSED;
  }

  /** Keeps that the check under `key` passed. */
  pass(key: string): void {
    this.made.add(key);
    this.write(key, PASSED);
  }

  /** Calls of `together` under way, and whether what they kept waits to be written. */
  private holding = 0;
  private held = false;

  /** Runs `work`, writing what it keeps as one pack when it ends (not one per pause of its work). */
  async together<T>(work: () => Promise<T>): Promise<T> {
    this.holding += 1;
    try {
      return await work();
    } finally {
      this.holding -= 1;
      if (this.holding === 0 && this.held) {
        this.held = false;
        super.scheduleFlush();
      }
    }
  }

  protected override scheduleFlush(): void {
    if (this.holding > 0) this.held = true;
    else super.scheduleFlush();
  }

  /** Columns described this process, by key: its packs are read once. */
  private readonly described = new Map<string, readonly SeedColumn[]>();

  /** The columns kept under `key`; an entry that is not a list of columns is refused (and described again). */
  columns(key: string): readonly SeedColumn[] | undefined {
    const made = this.described.get(key);
    if (made) return made;
    const text = this.read(key);
    if (text === undefined) return undefined;
    const value = parsedColumns(text);
    if (!value) this.reject(key);
    return value;
  }

  /** Keeps the columns the engine read the seed under `key` as. */
  keepColumns(key: string, columns: readonly SeedColumn[]): void {
    this.described.set(key, columns);
    this.write(key, JSON.stringify(columns.map((c) => [c.name, c.type])));
  }
}

function parsedColumns(text: string): SeedColumn[] | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value) || value.length === 0) return undefined;
    const columns: SeedColumn[] = [];
    for (const c of value) {
      if (!Array.isArray(c) || c.length !== 2 || typeof c[0] !== 'string' || typeof c[1] !== 'string') return undefined;
      columns.push({ name: c[0], type: c[1] });
    }
    return columns;
  } catch {
    return undefined;
  }
}
