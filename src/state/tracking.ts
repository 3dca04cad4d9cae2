import type { Interval } from '../dates/dates.js';
import type { SourceNode } from '../analyze/sources.js';

/**
 * What a planned task's data is made of, as far as pipe can see it: decided when the task is
 * planned (no warehouse at hand), resolved into versions when it is about to run.
 */
export interface Tracking {
  /** `''` for a model built whole; the interval's label for one kept in intervals. */
  readonly key: string;
  /**
   * The hash of its SQL as a build records it: without its comments and layout, and over the
   * published relations where it reads a full refresh's staging tables instead (the data is
   * the same once the staging table is swapped in, and a later run renders the published name).
   */
  readonly sqlHash: string;
  /** The hash of the config that shapes what is written (see config-hash.ts). */
  readonly configHash: string;
  /** What its query reads. */
  readonly inputs: readonly InputRef[];
  /** Set when pipe cannot tell its data from its inputs: it always runs, and this says why. */
  readonly untracked?: string;
  /** The relations its SQL may name (what ref(), source() and seeds give it, and its own): any other makes it untracked. */
  readonly reads: readonly string[];
  /** Its relation stood in the warehouse when the run was planned (a dropped table is rebuilt). */
  readonly relationExists: boolean;
  /**
   * Its publication is the model's data: false for a date of a full refresh, built into a
   * staging table that another task swaps in (nothing about it is recorded).
   */
  readonly records: boolean;
  /** The run builds the model's table from nothing (absent, or fully refreshed): its earlier builds stop counting. */
  readonly resets: boolean;
}

/**
 * One input of a task, resolved to a version when it is about to run (input-versions.ts).
 * Its `key` names it in the recorded inputs.
 */
export type InputRef =
  /** A seed: the hash of the file it was loaded from, with what of its config shapes the table. */
  | { readonly kind: 'seed'; readonly key: string; readonly name: string }
  /** A model built whole (a table, a model merged by key): its latest build. */
  | { readonly kind: 'model'; readonly key: string; readonly name: string }
  /** A model kept in intervals, read for one: its builds of the intervals that overlap it. */
  | { readonly kind: 'partitions'; readonly key: string; readonly name: string; readonly interval: Interval }
  /** A model kept in intervals, read whole: all its current builds. */
  | { readonly kind: 'all-partitions'; readonly key: string; readonly name: string }
  /** A view: read live, so its build and, always anew, what it reads. */
  | { readonly kind: 'view'; readonly key: string; readonly name: string; readonly inputs: readonly InputRef[] }
  /** A source: its fingerprint (source-fingerprint.ts), taken once per run. */
  | { readonly kind: 'source'; readonly key: string; readonly source: SourceNode }
  /**
   * The model's own table before it runs (a model merged by key): part of its data version,
   * not of whether it is current, since merging the same rows again changes nothing.
   */
  | { readonly kind: 'self'; readonly key: typeof SELF_KEY; readonly name: string };

export const SELF_KEY = 'this';

/** The version of an input pipe cannot know (built before builds were recorded, or by something else): never equal to any. */
export const UNKNOWN = 'unknown';
