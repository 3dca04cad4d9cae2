import { sideFilesPath } from '../warehouse/warehouse-file.js';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { PackStore, sha256 } from '../project/pack-store.js';
import { PIPE_BUILD } from '../version.js';

/**
 * What a model's query reads, judged once and kept between processes (see query-reads.ts):
 * DuckDB parsing every query of a run again was about a second of every run of 10,000 models,
 * and the parse trees' text its largest garbage. Kept beside the warehouse as a pack store
 * (see pack-store.ts), found by the hash of everything that decides the judgement: the SQL
 * (by its hash), the relations pipe knows it reads, pipe's build (its version and sources, see version.ts), and the key of what else
 * the judgement depends on (query-reads.ts Reader: DuckDB's version, whose parser made the
 * tree, the warehouse's database name and the functions its catalog holds). Never trusted: an entry whose hash or shape is wrong is judged again.
 */

const FORMAT = 'pipe-query-reads 1';

export function queryReadsCacheDir(warehousePath: string): string {
  const side = sideFilesPath(warehousePath);
  return join(dirname(side), '.pipe', basename(side), 'reads');
}

/** The stores of this process by folder: a process that runs again (watch, schedule) reads the packs once. */
const stores = new Map<string, QueryReadsCache>();

/** The judgements kept beside the warehouse at `warehousePath`; none where there is no local folder (a lake in an object store). */
export function queryReadsCacheOf(warehousePath: string): QueryReadsCache | undefined {
  if (!isAbsolute(warehousePath)) return undefined;
  const dir = queryReadsCacheDir(warehousePath);
  let store = stores.get(dir);
  if (!store) stores.set(dir, (store = new QueryReadsCache(dir)));
  return store;
}

export class QueryReadsCache extends PackStore {
  constructor(dir: string, now: () => number = Date.now) {
    super(dir, FORMAT, now);
  }

  /** The key of a judgement: see the module comment. */
  static key(reader: string, sqlHash: string, known: readonly string[]): string {
    return sha256(JSON.stringify([FORMAT, PIPE_BUILD, reader, sqlHash, known]));
  }

  /** The key under which a text DuckDB's parser read without a syntax error is kept (a check's query, whose reads are not judged). */
  static parsesKey(engineVersion: string, sqlHash: string): string {
    return sha256(JSON.stringify([FORMAT, PIPE_BUILD, engineVersion, sqlHash, 'parses']));
  }

  /** Judgements this process made: its packs are read once, so what it wrote since is found here. */
  private readonly made = new Map<string, string | null>();

  /** The judgement kept under `key`: why the query reads something untracked, null when it does not; undefined when none is kept. */
  judgement(key: string): string | null | undefined {
    const made = this.made.get(key);
    if (made !== undefined) return made;
    for (let stored = this.read(key); stored !== undefined; stored = this.read(key)) {
      try {
        const value: unknown = JSON.parse(stored);
        if (value === null || typeof value === 'string') return value;
      } catch {
        // Not JSON: judged again.
      }
      this.reject(key);
    }
    return undefined;
  }

  keep(key: string, judgement: string | undefined): void {
    this.made.set(key, judgement ?? null);
    this.write(key, JSON.stringify(judgement ?? null));
  }
}
