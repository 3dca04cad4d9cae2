import type { Interval } from '../dates/dates.js';
import type { ConfigOf, IncrementalConfig, KindKeys, Materialization, ModelConfig, OwnConfig } from '../analyze/model-config.js';
import type { Step, TaskKind } from './task.js';
import type { StrategyInput } from './strategies/strategy.js';
import { tableStrategy } from './strategies/table.js';
import { viewStrategy } from './strategies/view.js';
import { incrementalStaging, incrementalStrategy, inIntervalSql } from './strategies/incremental.js';
import { fullRefreshDateSteps } from './strategies/full-refresh.js';

/**
 * Every materialization and what pipe does with a model of it, in one table the compiler
 * checks. A kind added to ModelConfig (analyze/model-config.ts) does not compile until its
 * entry here has every facet; the rest of pipe asks this table instead of comparing names.
 */

/** What is_incremental() and a build of a model depend on. */
export interface TableState {
  /** A table (not a view) stands under the model's name. */
  readonly tableExists: boolean;
  /** `--full-refresh`: the model is rebuilt from nothing. */
  readonly fullRefresh: boolean;
}

/** Nothing built yet, no --full-refresh: how a model renders when the warehouse is not asked. */
export const NO_TABLE: TableState = { tableExists: false, fullRefresh: false };

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
}

/** A key a materialization cannot do without, missing from a model's config. */
export interface MissingKey {
  readonly missing: keyof KindKeys;
  readonly message: string;
  readonly hint: string;
}

// Facets are declared as methods so that an entry, whose facets take the config of its own
// kind, can be handed out as the entry of any kind (TypeScript checks method parameters
// bivariantly); materializationOf() only ever gives it a config of its own kind.
interface Facets<M extends Materialization> {
  /** The model's own config from the keys only some kinds read, or the key it cannot do without (see model-config.ts). */
  config(keys: KindKeys): OwnConfig<M> | MissingKey;
  /** What is_incremental() answers in the model's template. */
  isIncremental(state: TableState): boolean;
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
  checks(input: StrategyInput): CheckTarget;
  /** What `pipe test`'s checks of an interval read of the published relation. */
  publishedChecks(relation: string, interval: Interval, config: ConfigOf<M>): CheckTarget;
  /**
   * A build that a later run has published makes rebuilding it for an earlier run's date wrong
   * (older data over newer): `pipe retry` leaves it as it is. True of what every build replaces
   * whole; an incremental model's build replaces its own interval only.
   */
  readonly laterRunSupersedes: boolean;
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
  /** One interval of a `--full-refresh` backfill, built into the model's staging table `stagingRelation`. */
  stagedDate(input: StrategyInput, config: ConfigOf<M>, stagingRelation: string): Step[];
  /** What the checks of such an interval read: its own rows (the whole table is checked at the swap). */
  stagedDateChecks(input: StrategyInput): CheckTarget;
}

export type MaterializationSpec<M extends Materialization = Materialization> = BuiltSpec<M> | InlinedSpec<M>;

/** Every materialization, each with every facet of its kind. */
export type MaterializationTable = { readonly [M in Materialization]: MaterializationSpec<M> };

/** An incremental build's input with the model's partition column and schema-change policy. */
function partitioned(input: StrategyInput, config: IncrementalConfig): StrategyInput {
  return { ...input, partitionBy: config.partition_by, onSchemaChange: config.on_schema_change };
}

/** The published relation as a whole, for both scopes. */
const wholeRelation = (relation: string): CheckTarget => ({ partition: relation, table: relation });

export const MATERIALIZATIONS = {
  table: {
    built: true,
    config: () => ({ materialized: 'table' }),
    isIncremental: () => false,
    strategy: (input) => tableStrategy(input),
    checks: (input) => ({ partition: input.stagingRelation, table: input.stagingRelation }),
    publishedChecks: wholeRelation,
    laterRunSupersedes: true,
    intervals: { per: 'run', beforeDates: false },
  },
  view: {
    built: true,
    config: () => ({ materialized: 'view' }),
    isIncremental: () => false,
    strategy: (input) => viewStrategy(input),
    checks: (input) => {
      const query = `(\n${input.sql}\n)`;
      return { partition: query, table: query };
    },
    publishedChecks: wholeRelation,
    laterRunSupersedes: true,
    intervals: { per: 'run', beforeDates: true },
  },
  incremental: {
    built: true,
    config: ({ partition_by, on_schema_change }) =>
      partition_by === undefined
        ? {
            missing: 'partition_by',
            message: 'an incremental model needs partition_by: the column that places each row in a date',
            hint: "e.g. config(materialized='incremental', partition_by='order_date')",
          }
        : { materialized: 'incremental', partition_by, on_schema_change },
    // The first build creates the table; --full-refresh rebuilds it from nothing.
    isIncremental: ({ tableExists, fullRefresh }) => tableExists && !fullRefresh,
    strategy: (input, config) => incrementalStrategy(partitioned(input, config)),
    checks: (input) => ({ partition: incrementalStaging(input), table: input.relation, tableInPublish: true }),
    publishedChecks: (relation, interval, config) => ({
      partition: `(SELECT * FROM ${relation} WHERE ${inIntervalSql(config.partition_by, interval.start, interval.end)})`,
      table: relation,
    }),
    laterRunSupersedes: false,
    intervals: {
      per: 'interval',
      partitionBy: (config) => config.partition_by,
      stagedDate: (input, config, stagingRelation) => fullRefreshDateSteps(partitioned(input, config), stagingRelation),
      stagedDateChecks: (input) => ({ partition: incrementalStaging(input) }),
    },
  },
  ephemeral: {
    built: false,
    config: () => ({ materialized: 'ephemeral' }),
    isIncremental: () => false,
  },
} satisfies MaterializationTable;

/** What a model is when its config does not say. */
export const DEFAULT_MATERIALIZATION = 'table' satisfies Materialization;

/** The materializations that write to the warehouse: what a model's task can be. */
export type BuiltMaterialization = {
  [M in Materialization]: (typeof MATERIALIZATIONS)[M] extends { readonly built: true } ? M : never;
}[Materialization];

export function isMaterialization(value: unknown): value is Materialization {
  return typeof value === 'string' && Object.hasOwn(MATERIALIZATIONS, value);
}

export function isBuilt(kind: Materialization): kind is BuiltMaterialization {
  return MATERIALIZATIONS[kind].built;
}

/** The entry of a materialization, as the table's type describes every entry. */
export function materialization(kind: Materialization): MaterializationSpec {
  return MATERIALIZATIONS[kind];
}

/** The entry of a model's materialization, its facets taking that model's config. */
export function materializationOf(config: ModelConfig): MaterializationSpec {
  return materialization(config.materialized);
}

/** The entry of a model that is built, and its task's kind; a model that is not has no task. */
export function builtOf(config: ModelConfig): { readonly kind: BuiltMaterialization; readonly spec: BuiltSpec } {
  const kind = config.materialized;
  if (!isBuilt(kind)) throw new Error(`internal error: a task for a model materialized as ${kind}`);
  return { kind, spec: MATERIALIZATIONS[kind] };
}

/** The entry of the materialization a task builds; seeds and `pipe test` build none. */
export function taskMaterialization(kind: TaskKind): BuiltSpec | undefined {
  return kind === 'seed' || kind === 'test' ? undefined : MATERIALIZATIONS[kind];
}

/** The per-interval facets of a model's materialization, when it keeps a table of intervals. */
export function perInterval(config: ModelConfig): PerInterval<Materialization> | undefined {
  const spec = materializationOf(config);
  return spec.built && spec.intervals.per === 'interval' ? spec.intervals : undefined;
}
