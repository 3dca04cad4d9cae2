import type { Interval } from '../dates/dates.js';
import type { RetryPolicy } from './retry-policy.js';

/**
 * A task is one node built for one interval, with every statement it will run already
 * decided: the executor runs steps and never renders or plans.
 */
export type TaskKind = 'seed' | 'table' | 'view' | 'incremental';

export type Step =
  /** A statement outside the publishing transaction (building the staging table). */
  | { readonly kind: 'statement'; readonly sql: string; readonly countsRows?: boolean }
  /** A query that must return no rows; any row it returns fails the task with `message`. */
  | { readonly kind: 'assert-empty'; readonly sql: string; readonly countSql: string; readonly message: string }
  /**
   * The publishing transaction. The executor appends the task's success record to it and
   * runs it while holding the lock of `lockKey`, so commits to one table never race.
   */
  | { readonly kind: 'publish'; readonly statements: readonly string[]; readonly countsRowsAt?: number }
  /** Best-effort cleanup after a failure (dropping the staging table). */
  | { readonly kind: 'cleanup'; readonly sql: string };

export interface Task {
  /** `model@2024-01-02`, or the seed's name. */
  readonly id: string;
  readonly node: string;
  readonly kind: TaskKind;
  readonly file: string;
  readonly relation: string;
  /** Schema of the relation; created before any task runs, never concurrently. */
  readonly schema: string;
  readonly ds?: string;
  readonly interval?: Interval;
  /** Ids of the tasks that must succeed first. */
  readonly upstream: readonly string[];
  readonly sql?: string;
  readonly sqlHash?: string;
  readonly steps: readonly Step[];
  /** Serializes publishing per relation. */
  readonly lockKey: string;
  /** Set when the task has nothing to do (an unchanged seed): reported as skipped with this reason. */
  readonly upToDate?: string;
  /** The backfill date this task belongs to; the executor admits a limited number of dates at once. */
  readonly group?: string;
  /** Automatic retries for transient errors; none when absent. */
  readonly retry?: RetryPolicy;
  /** Extra statements for the publishing transaction that record task-specific state. */
  readonly stateStatements?: readonly string[];
}
