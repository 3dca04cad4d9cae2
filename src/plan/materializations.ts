import { batchesCovering, batchMs, batchStart, HOUR_MS, MAX_INTERVALS, parseDate, type Interval } from '../dates/dates.js';
import type { ConfigOf, Materialization, MicrobatchConfig, ModelConfig, SchemaChangePolicy, UniqueKeyConfig } from '../analyze/model-config.js';
import { isBuilt, MODEL_KINDS, type BuiltMaterialization, type Facets } from '../analyze/model-kinds.js';
import type { Step, TaskKind } from './task.js';
import { SQL, type StrategyInput } from './strategies/strategy.js';
import { tableStrategy, writesTableOnce } from './strategies/table.js';
import { viewStrategy } from './strategies/view.js';
import { incrementalStaging, incrementalStrategy, partitionRows, writesOnce } from './strategies/incremental.js';
import { fullRefreshDateChecks, fullRefreshDateSteps } from './strategies/full-refresh.js';
import { externalStrategy } from './strategies/external.js';
import { snapshotStrategy } from './strategies/snapshot.js';
import { uniqueKeyStrategy } from './strategies/unique-key.js';
import { appendStrategy } from './strategies/append.js';

/**
 * Every materialization and what pipe does with a model of it, in one table the compiler
 * checks. A kind added to ModelConfig (analyze/model-config.ts) does not compile until its
 * entry here has every facet; the rest of pipe asks this table instead of comparing names.
 */

/**
 * What the checks of a task read, by scope: the data about to be published, never the
 * published table. A scope without a target is checked by another task of the model (a full
 * refresh checks each date's rows with the date, the whole table at the swap).
 */
export interface CheckTarget {
  /** The new data alone (the staged table, or a view's query). */
  readonly partition?: string;
  /** The table as it will be after publishing. */
  readonly table?: string;
  /**
   * The table as it will be is the published table itself, read inside the publishing
   * transaction: the other tasks that publish to it (an incremental model's other dates)
   * commit before or after, never in between.
   */
  readonly tableInPublish?: boolean;
  /**
   * The new data is the published table's rows of the partition, read inside the publishing
   * transaction that wrote them (see strategies/incremental.ts): the partition's checks run there too.
   */
  readonly partitionInPublish?: boolean;
  /** What the columns the checks name are looked up in, when not `partition`: the query's result. */
  readonly columns?: string;
}

/** Never written: the model is inlined, as a CTE, into every query that reads it. */
export interface InlinedSpec<M extends Materialization = Materialization> extends Facets<M> {
  readonly built: false;
}

export interface BuiltSpec<M extends Materialization = Materialization> extends Facets<M> {
  readonly built: true;
  /** The steps that build the model for an interval, as data: stage, check, publish in one transaction. */
  strategy(input: StrategyInput, config: ConfigOf<M>): Step[];
  /** What the checks of a build read. */
  checks(input: StrategyInput, config: ConfigOf<M>): CheckTarget;
  /** What `pipe test`'s checks of an interval read of the published relation. */
  publishedChecks(relation: string, interval: Interval, config: ConfigOf<M>): CheckTarget;
  /**
   * A build that a later run has published makes rebuilding it for an earlier run's date wrong
   * (older data over newer): `pipe retry` leaves it as it is. True of what every build replaces
   * whole; an incremental model's build replaces its own interval only.
   */
  readonly laterRunSupersedes: boolean;
  /**
   * Every build replaces the whole relation with what its query gives for its interval: what
   * reads it reads the last build alone (a table, a view, an external file), not rows that
   * builds for several intervals left.
   */
  readonly replacesWhole: boolean;
  /** How the model is written over many intervals, and so how a backfill plans it. */
  readonly intervals: Once | PerInterval<M>;
}

/**
 * Built once per backfill, with the range's last date as `ds`, after every date of its
 * upstream. `beforeDates`: among the tasks ready to start, it comes before the dates of
 * incremental models (a view costs nothing to build, and dates may read it).
 */
export interface Once {
  readonly per: 'run';
  readonly beforeDates: boolean;
}

/**
 * A table that keeps the rows of every interval, each build replacing its own: a backfill
 * builds it once per interval (the interval is the task's group), `depends_on_past` makes an
 * interval wait for the previous one, and `--full-refresh` rebuilds the range into one staging
 * table swapped in whole (strategies/full-refresh.ts). A full refresh that would delete the
 * intervals it does not rebuild is refused (Task.replacesTable).
 */
export interface PerInterval<M extends Materialization> {
  readonly per: 'interval';
  /** The column whose value places a row in an interval. */
  partitionBy(config: ConfigOf<M>): string;
  /**
   * The intervals a run or backfill builds the model for, oldest first: its batches. A
   * partitioned model's are the run's own; a microbatch model's are days or hours of its own
   * size, and a run adds its lookback or, for a first build, starts at its `begin`.
   */
  batches(config: ConfigOf<M>, request: BatchRequest): Interval[] | BatchProblem;
  /**
   * Where the model's own `lookback` (`n` intervals) takes a run of `interval` back to: the
   * start of its `n`-th interval before the run's (dates or hours as the run's interval is, a
   * microbatch model's batches); undefined without one.
   */
  lookback(config: ConfigOf<M>, interval: Interval): { readonly start: number; readonly n: number } | undefined;
  /**
   * Whether the model's intervals run one after another, oldest first, each only once the one
   * before it succeeded; `readsItself`: the model's query reads its own table.
   */
  chained(config: ConfigOf<M>, readsItself: boolean): boolean;
  /** One interval of a `--full-refresh` backfill, built into the model's staging table `stagingRelation`. */
  stagedDate(input: StrategyInput, config: ConfigOf<M>, stagingRelation: string): Step[];
  /** What the checks of such an interval read: its own rows (the whole table is checked at the swap). */
  stagedDateChecks(input: StrategyInput, config: ConfigOf<M>, stagingRelation: string): CheckTarget;
}

/** Why a model has no batches to build: the problem, the key of its config it comes from, and what to do. */
export interface BatchProblem {
  readonly problem: string;
  readonly key: string;
  readonly hint?: string;
}

/** What a plan asks a model's intervals for (see PerInterval.batches). */
export interface BatchRequest {
  /** The intervals the run or backfill covers, oldest first. */
  readonly intervals: readonly Interval[];
  /** `pipe run`, which builds a new microbatch table from its begin; a backfill builds its range. */
  readonly run: boolean;
  /**
   * A run's lookback: it rebuilds the model's intervals from this instant on too (its own
   * `lookback`, or that of a model it reads, see plan.ts). Never before a microbatch model's `begin`.
   */
  readonly from?: number;
  /** The table is built from nothing: it does not exist yet, or --full-refresh. */
  readonly fromNothing: boolean;
  /** `pipe run --event-time-start/--event-time-end`: the range whose batches a run builds instead. */
  readonly eventTime?: Interval;
}

export type MaterializationSpec<M extends Materialization = Materialization> = BuiltSpec<M> | InlinedSpec<M>;

/** Every materialization, each with every facet of its kind. */
export type MaterializationTable = { readonly [M in Materialization]: MaterializationSpec<M> };

/** An incremental build's input with the model's partition column and schema-change policy. */
function partitioned(input: StrategyInput, config: { readonly on_schema_change: SchemaChangePolicy }, partitionBy: string): StrategyInput {
  // Not a spread followed by properties, which V8 defines on a slow path (see stepsOf in plan.ts).
  return Object.assign({}, input, { partitionBy, onSchemaChange: config.on_schema_change });
}

/**
 * A microbatch build's input: its batch is a partition of its event_time. A row outside the
 * batch would survive the next re-run, so it fails the batch (dbt-duckdb would drop it unseen).
 */
function batched(input: StrategyInput, config: MicrobatchConfig): StrategyInput {
  return {
    ...partitioned(input, config, config.event_time),
    keepInside: `a microbatch model returns the rows of its batch only: declare event_time on the models it reads, so that each is read for the batch, or filter the rows with where ${config.event_time} >= '{{ interval_start }}' and ${config.event_time} < '{{ interval_end }}'`,
  };
}

/**
 * A microbatch model's batches: those of `--event-time-start/--event-time-end` when given (as
 * dbt builds them); in a run, from `begin` when the table is built from nothing (dbt's first
 * build), else the run's own and those of its lookback (request.from), none before `begin`;
 * in a backfill, its range.
 */
function microbatches(config: MicrobatchConfig, request: BatchRequest): Interval[] | BatchProblem {
  const size = config.batch_size;
  const first = request.intervals[0];
  const last = request.intervals[request.intervals.length - 1];
  // Planned before anything runs, one task per batch: begin a century back (a typo in a year)
  // with hourly batches would plan millions of tasks and run out of memory first.
  const covering = (start: number, end: number, what: string, key: string, hint: string): Interval[] | BatchProblem => {
    const n = Math.ceil((end - batchStart(start, size)) / batchMs(size));
    if (n <= MAX_INTERVALS) return batchesCovering(start, end, size);
    return { key, problem: `${what} is ${n.toLocaleString('en-US')} batches of ${size === 'hour' ? 'an hour' : 'a day'}: a build plans at most ${MAX_INTERVALS.toLocaleString('en-US')}`, hint };
  };
  if (request.eventTime) {
    const { start, end } = request.eventTime;
    return covering(start, end, `--event-time-start ${new Date(start).toISOString()} to --event-time-end ${new Date(end).toISOString()}`, 'event_time', 'build a shorter range, several ranges one after another');
  }
  if (request.run && request.fromNothing) {
    if (config.begin >= last.end) {
      return { key: 'begin', problem: `its first build starts at begin (${new Date(config.begin).toISOString()}), after the run's interval ends: there is no batch to build` };
    }
    return covering(config.begin, last.end, `its first build, from begin (${new Date(config.begin).toISOString()}) to the run's interval`, 'begin', 'check the year of begin; a longer history is built by backfills of several ranges, one after another');
  }
  const from = request.from === undefined ? first.start : Math.min(first.start, Math.max(request.from, config.begin));
  return covering(from, last.end, `the range from ${new Date(from).toISOString()} to ${new Date(last.end).toISOString()}`, 'batch_size', 'backfill a shorter range, several ranges one after another');
}

/**
 * A partitioned model's intervals: the run's or backfill's own, and in a run those of its
 * lookback (request.from), of the same length as the run's (days, or hours).
 */
function partitions(request: BatchRequest): Interval[] {
  const first = request.intervals[0];
  if (request.from === undefined || request.from >= first.start) return [...request.intervals];
  const size = first.end - first.start === HOUR_MS ? 'hour' : 'day';
  return [...batchesCovering(request.from, first.start, size), ...request.intervals];
}

/** `n` intervals of `length` before `start`; none when `n` is 0. */
/** The earliest date pipe plans (0100-01-01, as --date and --start take it): a lookback from near it reaches no further. */
const EARLIEST = parseDate('0100-01-01')!;

function back(start: number, n: number, length: number): { readonly start: number; readonly n: number } | undefined {
  const reach = Math.min(n, Math.floor((start - EARLIEST) / length));
  return reach > 0 ? { start: start - reach * length, n: reach } : undefined;
}

/** Where a microbatch model's lookback takes a run back to: never before the batch of its `begin`. */
function microbatchLookback(config: MicrobatchConfig, interval: Interval) {
  const own = batchStart(interval.start, config.batch_size);
  const reach = back(own, config.lookback, batchMs(config.batch_size));
  if (reach === undefined) return undefined;
  const start = Math.max(reach.start, batchStart(config.begin, config.batch_size));
  return start < own ? { start, n: config.lookback } : undefined;
}

/** The facets of the kinds that replace rows by unique_key, `merge` or `delete+insert`. */
function uniqueKeySpec<K extends 'merge' | 'delete+insert'>(how: K) {
  return {
    ...MODEL_KINDS[how],
    strategy: (input: StrategyInput, config: UniqueKeyConfig<K>) => uniqueKeyStrategy(Object.assign({}, input, { onSchemaChange: config.on_schema_change }), config.unique_key, how),
    checks: (input: StrategyInput): CheckTarget => ({ partition: incrementalStaging(input), table: input.relation, tableInPublish: true }),
    publishedChecks: wholeRelation,
    // A later run may have replaced the same keys with newer rows: a retry must not put older ones back.
    laterRunSupersedes: true,
    replacesWhole: false,
    // The query decides which rows a run merges (dbt's is_incremental() filter): built once per backfill.
    intervals: { per: 'run', beforeDates: false },
  } as const;
}

/**
 * What an incremental build's checks read: the partition's rows as its publishing transaction
 * wrote them, or as staged when it stages them; the table as that transaction leaves it.
 */
function partitionChecks(input: StrategyInput): CheckTarget {
  if (!writesOnce(input)) return { partition: incrementalStaging(input), table: input.relation, tableInPublish: true };
  return { partition: partitionRows(input), partitionInPublish: true, columns: `(\n${input.sql}\n)`, table: input.relation, tableInPublish: true };
}

/**
 * A table written once in its publishing transaction: both scopes read it there, before the
 * commit; the columns the checks name are looked up in the query's result, before it runs.
 */
const inPublish = (input: StrategyInput): CheckTarget => ({
  partition: input.relation,
  partitionInPublish: true,
  table: input.relation,
  tableInPublish: true,
  columns: `(\n${input.sql}\n)`,
});

/** The published relation as a whole, for both scopes. */
const wholeRelation = (relation: string): CheckTarget => ({ partition: relation, table: relation });

/** The published rows of an interval, by their partition column, and the whole relation. */
const inInterval = (relation: string, column: string, interval: Interval): CheckTarget => ({
  partition: `(SELECT * FROM ${relation} WHERE ${SQL.inInterval(column, interval.start, interval.end)})`,
  table: relation,
});

export const MATERIALIZATIONS = {
  table: {
    ...MODEL_KINDS.table,
    strategy: (input) => tableStrategy(input),
    checks: (input) => (writesTableOnce(input) ? inPublish(input) : { partition: input.stagingRelation, table: input.stagingRelation }),
    publishedChecks: wholeRelation,
    laterRunSupersedes: true,
    replacesWhole: true,
    intervals: { per: 'run', beforeDates: false },
  },
  view: {
    ...MODEL_KINDS.view,
    strategy: (input) => viewStrategy(input),
    checks: (input) => {
      const query = `(\n${input.sql}\n)`;
      return { partition: query, table: query };
    },
    publishedChecks: wholeRelation,
    laterRunSupersedes: true,
    replacesWhole: true,
    intervals: { per: 'run', beforeDates: true },
  },
  incremental: {
    ...MODEL_KINDS.incremental,
    strategy: (input, config) => incrementalStrategy(partitioned(input, config, config.partition_by)),
    checks: (input, config) => partitionChecks(partitioned(input, config, config.partition_by)),
    publishedChecks: (relation, interval, config) => inInterval(relation, config.partition_by, interval),
    laterRunSupersedes: false,
    replacesWhole: false,
    intervals: {
      per: 'interval',
      partitionBy: (config) => config.partition_by,
      batches: (_config, request) => partitions(request),
      lookback: (config, interval) => back(interval.start, config.lookback, interval.end - interval.start),
      // A query that reads its own table (a running total over earlier dates) reads what the dates before it wrote: they run first.
      chained: (config, readsItself) => config.depends_on_past || readsItself,
      stagedDate: (input, config, stagingRelation) => fullRefreshDateSteps(partitioned(input, config, config.partition_by), stagingRelation),
      stagedDateChecks: (input, config, stagingRelation) => fullRefreshDateChecks(partitioned(input, config, config.partition_by), stagingRelation),
    },
  },
  merge: uniqueKeySpec('merge'),
  'delete+insert': uniqueKeySpec('delete+insert'),
  append: {
    ...MODEL_KINDS.append,
    strategy: (input, config) => appendStrategy(Object.assign({}, input, { onSchemaChange: config.on_schema_change })),
    checks: (input) => ({ partition: incrementalStaging(input), table: input.relation, tableInPublish: true }),
    publishedChecks: wholeRelation,
    // The rows a later run added are held: a retry of an earlier run would find them there.
    laterRunSupersedes: true,
    replacesWhole: false,
    // The query decides which rows a run adds (dbt's is_incremental() filter): built once per backfill.
    intervals: { per: 'run', beforeDates: false },
  },
  microbatch: {
    ...MODEL_KINDS.microbatch,
    // Each batch is a partition of event_time, replaced as a partitioned model's interval is.
    strategy: (input, config) => incrementalStrategy(batched(input, config)),
    checks: (input, config) => partitionChecks(batched(input, config)),
    publishedChecks: (relation, interval, config) => inInterval(relation, config.event_time, interval),
    laterRunSupersedes: false,
    replacesWhole: false,
    intervals: {
      per: 'interval',
      partitionBy: (config) => config.event_time,
      batches: microbatches,
      lookback: microbatchLookback,
      // As dbt runs them: side by side, unless told not to or the query reads batches built before.
      chained: (config, readsItself) => config.depends_on_past || config.concurrent_batches === false || readsItself,
      stagedDate: (input, config, stagingRelation) => fullRefreshDateSteps(batched(input, config), stagingRelation),
      stagedDateChecks: (input, config, stagingRelation) => fullRefreshDateChecks(batched(input, config), stagingRelation),
    },
  },
  external: {
    ...MODEL_KINDS.external,
    strategy: (input, config) => externalStrategy(input, config),
    checks: (input) => ({ partition: input.stagingRelation, table: input.stagingRelation }),
    publishedChecks: wholeRelation,
    laterRunSupersedes: true,
    replacesWhole: true,
    intervals: { per: 'run', beforeDates: false },
  },
  ephemeral: MODEL_KINDS.ephemeral,
  snapshot: {
    ...MODEL_KINDS.snapshot,
    strategy: (input, config) => snapshotStrategy(input, config),
    // The table as the merge leaves it, inside its transaction: a snapshot's tests read its
    // history, which the query's rows alone are not.
    checks: (input) => ({ table: input.relation, tableInPublish: true }),
    publishedChecks: wholeRelation,
    // A later run's snapshot recorded the data as it was then, which is newer.
    laterRunSupersedes: true,
    replacesWhole: false,
    // Not a table of intervals: a backfill records one snapshot, after its upstream's dates.
    intervals: { per: 'run', beforeDates: false },
  },
} satisfies MaterializationTable;

export { DEFAULT_MATERIALIZATION, isBuilt, NO_TABLE, type BuiltMaterialization, type TableState } from '../analyze/model-kinds.js';

/** The entry of a materialization, as the table's type describes every entry. */
export function materialization(kind: Materialization): MaterializationSpec {
  return MATERIALIZATIONS[kind];
}

/** The entry of a model's materialization, its facets taking that model's config. */
export function materializationOf(config: ModelConfig): MaterializationSpec {
  return materialization(config.kind);
}

/** Whether a run builds a model from nothing: under --full-refresh, unless the model says `full_refresh: false` (dbt's should_full_refresh). */
export function fullRefreshOf(config: ModelConfig, runFullRefresh: boolean): boolean {
  return runFullRefresh && config.full_refresh !== false;
}

/** The entry of a model that is built, and its task's kind; a model that is not has no task. */
export function builtOf(config: ModelConfig): { readonly kind: BuiltMaterialization; readonly spec: BuiltSpec } {
  const kind = config.kind;
  if (!isBuilt(kind)) throw new Error(`internal error: a task for a model materialized as ${kind}`);
  return { kind, spec: MATERIALIZATIONS[kind] };
}

/** The entry of the materialization a task builds; seeds and `pipe test` build none. */
/** The task kinds whose build a later run's supersedes (see laterRunSupersedes). */
export function supersededKinds(): string[] {
  return Object.entries(MATERIALIZATIONS).flatMap(([kind, spec]) => (spec.built && spec.laterRunSupersedes ? [kind] : []));
}

/** The task kinds that build one interval of a model (a partition, a batch): a later run's task of the same interval supersedes it. */
export function intervalKinds(): string[] {
  return Object.entries(MATERIALIZATIONS).flatMap(([kind, spec]) => (spec.built && spec.intervals.per === 'interval' ? [kind] : []));
}

export function taskMaterialization(kind: TaskKind): BuiltSpec | undefined {
  return kind === 'seed' || kind === 'test' || kind === 'unit-test' || kind === 'run-hook' ? undefined : MATERIALIZATIONS[kind];
}

/** The per-interval facets of a model's materialization, when it keeps a table of intervals. */
export function perInterval(config: ModelConfig): PerInterval<Materialization> | undefined {
  const spec = materializationOf(config);
  return spec.built && spec.intervals.per === 'interval' ? spec.intervals : undefined;
}

/** The column that places an incremental model's rows in a date, if its partitions are dates. */
export function partitionColumn(config: ModelConfig): string | undefined {
  switch (config.kind) {
    case 'incremental':
      return config.partition_by;
    case 'microbatch':
      return config.event_time;
    case 'table':
    case 'view':
    case 'merge':
    case 'delete+insert':
    case 'append':
    case 'ephemeral':
    case 'external':
    case 'snapshot':
      return undefined;
    default: {
      const never: never = config;
      throw new Error(`internal error: config ${JSON.stringify(never)}`);
    }
  }
}
