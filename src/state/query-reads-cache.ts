import { basename, dirname, isAbsolute, join } from 'node:path';
import { PackStore, sha256 } from '../project/pack-store.js';
import { PIPE_VERSION } from '../version.js';

/**
 * What a model's query reads, judged once and kept between processes (see query-reads.ts):
 * DuckDB parsing every query of a run again was about a second of every run of 10,000 models,
 * and the parse trees' text its largest garbage. Kept beside the warehouse as a pack store
 * (see pack-store.ts), found by the hash of everything that decides the judgement: the SQL
 * (by its hash), the relations pipe knows it reads, pipe's version and DuckDB's, whose parser
 * made the tree. Never trusted: an entry whose hash or shape is wrong is judged again.
 */

const FORMAT = 'pipe-query-reads 1';

export function queryReadsCacheDir(warehousePath: string): string {
  return join(dirname(warehousePath), '.pipe', basename(warehousePath), 'reads');
}

/** The judgements kept beside the warehouse at `warehousePath`; none where there is no local folder (a lake in an object store). */
export function queryReadsCacheOf(warehousePath: string): QueryReadsCache | undefined {
  return isAbsolute(warehousePath) ? new QueryReadsCache(queryReadsCacheDir(warehousePath)) : undefined;
}

export class QueryReadsCache extends PackStore {
  constructor(dir: string, now: () => number = Date.now) {
    super(dir, FORMAT, now);
  }

  /** The key of a judgement: see the module comment. */
  static key(engineVersion: string, sqlHash: string, known: readonly string[]): string {
    return sha256(JSON.stringify([FORMAT, PIPE_VERSION, engineVersion, sqlHash, known]));
  }

  /** The judgement kept under `key`: why the query reads something untracked, null when it does not; undefined when none is kept. */
  judgement(key: string): string | null | undefined {
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
    this.write(key, JSON.stringify(judgement ?? null));
  }
}
