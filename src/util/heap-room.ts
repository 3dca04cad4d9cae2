import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** What is live on node's heap, and the most it may keep (see keptLimit), in bytes. */
export interface HeapUse {
  readonly live: number;
  readonly limit: number;
}

/**
 * Of node's heap limit, what the young generation keeps for new objects (three semi-spaces of
 * 16 MB on 64 bits): what is kept lives in the rest, which fills first.
 */
const YOUNG_GENERATION = 48 * 2 ** 20;

/** The most what is kept may hold: the heap's limit less its young generation. */
function keptLimit(): number {
  const { heap_size_limit: limit } = getHeapStatistics();
  return Math.max(limit - YOUNG_GENERATION, limit / 2);
}

/**
 * Whether work that grows with what it is asked (the plan of a long backfill) still has room
 * on node's heap. Past the heap's limit V8 stops the process with a stack trace of its own,
 * after minutes of collecting, and the user learns neither why nor what to do. Cheap to ask
 * often: the heap's used size is read, which counts garbage too; only once it passes a mark is
 * what is live measured, by a full collection, and the mark moved halfway to the limit.
 */
export class HeapRoom {
  private mark: number | undefined;

  /** `share`: of the heap's limit, what the work may fill with what it keeps. */
  constructor(private readonly share: number) {}

  /** The heap's use once what is live has passed the share; undefined while there is room. */
  full(): HeapUse | undefined {
    const used = getHeapStatistics().used_heap_size;
    const limit = keptLimit();
    this.mark ??= this.share * limit;
    if (used < this.mark) return undefined;
    collectGarbage();
    const live = getHeapStatistics().used_heap_size;
    if (live >= this.share * limit) return { live, limit };
    this.mark = Math.max(this.share * limit, live + (limit - live) / 2);
    return undefined;
  }
}

let gc: (() => void) | undefined;

/** A full collection: node's own, made callable for this (as --expose-gc would). */
function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}
