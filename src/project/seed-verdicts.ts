import { join } from 'node:path';
import { PIPE_VERSION } from '../version.js';
import { PackStore, sha256 } from './pack-store.js';

/**
 * Seeds whose every value was found to load as it reads (see preflight.ts's value check), kept
 * between processes in `<project>/.pipe/seeds/verdicts/`: the check reads the whole file (0.4 s
 * for 134 MB) and its outcome is a fact of the file's content, how it is read and what it is
 * checked against, not of a warehouse: a seed loaded into a new warehouse (a CI run, another
 * date's file) is not read again for it. The key holds the seed's content hash, how the engine
 * reads it, the checks (each column's type, declared or as the engine infers it), pipe's version
 * and the engine's, so a change of any of them checks the file again. Only a seed that passed
 * is kept: one refused is checked, and refused at its line, every time.
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

export class SeedVerdicts extends PackStore {
  constructor(dir: string, now: () => number = Date.now) {
    super(dir, FORMAT, now);
  }

  /** The key of a seed's check: see the module comment; `what` is plain data (JSON). */
  static key(engineVersion: string, what: unknown): string {
    return sha256(JSON.stringify([FORMAT, PIPE_VERSION, engineVersion, what]));
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
}
