import type { KindKeys, Materialization, Materialized, OwnConfig } from './model-config.js';

/**
 * What analysis knows of each materialization (how a model is written): whether a model of it
 * is written at all, the config it reads, and what is_incremental() answers in its template.
 * The planning facets (steps, check targets, intervals) extend these entries in
 * plan/materializations.ts; both tables are checked by the compiler, so a kind added to
 * ModelConfig compiles in neither until it has every facet.
 *
 * A model's config names what it is (`materialized: incremental`); which materialization
 * writes it follows from that and its keys (see MATERIALIZED): an incremental model replaces
 * date partitions (`partition_by`), rows by key (`unique_key`, merge or delete+insert), whole
 * batches of its event time (`incremental_strategy: microbatch`), or adds the rows its query
 * returns, none of which the table may hold already (`append`).
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

/** Why a model's keys make no materialization: reported at `key`, with what to do instead. */
export interface ConfigProblem {
  /** A config key: one of KindKeys, or `materialized`, `pre_hook`, `post_hook`. */
  readonly key: string;
  readonly problem: string;
  readonly hint?: string;
}

// Facets are declared as methods so that an entry, whose facets take the config of its own
// kind, can be handed out as the entry of any kind (TypeScript checks method parameters
// bivariantly); materializationOf() only ever gives it a config of its own kind.
export interface Facets<M extends Materialization> {
  /** The model's own config from the keys only some kinds read, or what its keys lack (see model-config.ts). */
  config(keys: KindKeys): OwnConfig<M> | ConfigProblem;
  /** What is_incremental() answers in the model's template. */
  isIncremental(state: TableState): boolean;
  /** A build reads, of what it ref()s that declares `event_time`, the rows of its interval only (dbt's microbatch). */
  readonly batchedInputs: boolean;
}

/** What kind of dbt node a model of a materialization is: a snapshot is declared apart from models, and selected as one. */
export type Resource = 'model' | 'snapshot';

/** A materialization as analysis sees it: written (`built`) or inlined into its readers. */
export type KindFacets<M extends Materialization = Materialization> = Facets<M> & { readonly built: boolean; readonly resource: Resource };

// The first build creates the table; --full-refresh rebuilds it from nothing.
const incrementalState = ({ tableExists, fullRefresh }: TableState) => tableExists && !fullRefresh;

/** The config of a kind that replaces rows by unique_key. */
function uniqueKeyConfig<K extends 'merge' | 'delete+insert'>(kind: K, { unique_key, on_schema_change }: KindKeys) {
  if (unique_key === undefined) throw new Error(`internal error: ${kind} chosen without unique_key`);
  return { kind, materialized: 'incremental' as const, unique_key, on_schema_change };
}

const missing = (key: keyof KindKeys, problem: string, hint: string): ConfigProblem => ({ key, problem, hint });

export const MODEL_KINDS = {
  table: {
    resource: 'model',
    built: true,
    batchedInputs: false,
    config: () => ({ kind: 'table', materialized: 'table' }),
    isIncremental: () => false,
  },
  view: {
    resource: 'model',
    built: true,
    batchedInputs: false,
    config: () => ({ kind: 'view', materialized: 'view' }),
    isIncremental: () => false,
  },
  incremental: {
    resource: 'model',
    built: true,
    batchedInputs: false,
    config: ({ partition_by, on_schema_change, lookback }) =>
      partition_by === undefined
        ? missing('partition_by', 'an incremental model needs partition_by: the column that places each row in a date', "e.g. config(materialized='incremental', partition_by='order_date')")
        : { kind: 'incremental', materialized: 'incremental', partition_by, on_schema_change, lookback: lookback ?? 0 },
    isIncremental: incrementalState,
  },
  merge: {
    resource: 'model',
    built: true,
    batchedInputs: false,
    config: (keys) => uniqueKeyConfig('merge', keys),
    isIncremental: incrementalState,
  },
  'delete+insert': {
    resource: 'model',
    built: true,
    batchedInputs: false,
    config: (keys) => uniqueKeyConfig('delete+insert', keys),
    isIncremental: incrementalState,
  },
  append: {
    resource: 'model',
    built: true,
    batchedInputs: false,
    config: ({ on_schema_change }) => ({ kind: 'append', materialized: 'incremental', on_schema_change }),
    isIncremental: incrementalState,
  },
  microbatch: {
    resource: 'model',
    built: true,
    batchedInputs: true,
    config: ({ event_time, batch_size, begin, lookback, concurrent_batches, on_schema_change, hooks }) => {
      if (hooks !== undefined) {
        return {
          key: hooks,
          problem: `a microbatch model cannot have a ${hooks}: dbt runs pre-hooks before its first batch and post-hooks after its last, and pipe builds each batch as a task of its own (retried and backfilled alone), with no first or last`,
          hint: 'run the statement in a model of its own, or use partition_by and no microbatch',
        };
      }
      if (event_time === undefined) return missing('event_time', 'a microbatch model needs event_time: the column that places each row in a batch', "e.g. config(incremental_strategy='microbatch', event_time='event_at', batch_size='day', begin='2024-01-01')");
      if (batch_size === undefined) return missing('batch_size', 'a microbatch model needs batch_size: day or hour', "e.g. batch_size='day'");
      if (begin === undefined) return missing('begin', 'a microbatch model needs begin: the first date its first build covers', "e.g. begin='2024-01-01'");
      return {
        kind: 'microbatch',
        materialized: 'incremental',
        event_time,
        batch_size,
        begin,
        // dbt's default: the batch before the run's own is rebuilt too, for late rows.
        lookback: lookback ?? 1,
        ...(concurrent_batches === undefined ? {} : { concurrent_batches }),
        on_schema_change,
      };
    },
    isIncremental: incrementalState,
  },
  external: {
    resource: 'model',
    built: true,
    batchedInputs: false,
    config: ({ location, format, delimiter }) => ({
      kind: 'external',
      materialized: 'external',
      format: format ?? 'parquet',
      ...(location === undefined ? {} : { location }),
      ...(delimiter === undefined ? {} : { delimiter }),
    }),
    isIncremental: () => false,
  },
  ephemeral: {
    resource: 'model',
    built: false,
    batchedInputs: false,
    config: () => ({ kind: 'ephemeral', materialized: 'ephemeral' }),
    isIncremental: () => false,
  },
  snapshot: {
    resource: 'snapshot',
    built: true,
    batchedInputs: false,
    // Its keys are read for snapshots alone (snapshot-config.ts); a model cannot be materialized as one.
    config: ({ snapshot }) =>
      snapshot === undefined
        ? {
            key: 'materialized',
            problem: 'a snapshot is declared in a {% snapshot %} block or a snapshots: entry with relation:, not as a model',
            hint: 'move the query into a {% snapshot %} block under the snapshot folders',
          }
        : { kind: 'snapshot', materialized: 'snapshot', ...snapshot },
    isIncremental: () => false,
  },
} as const satisfies { readonly [M in Materialization]: KindFacets<M> };

/**
 * Which materialization writes an incremental model. Every choice makes a re-run of an
 * interval give the same table (an append adds nothing the table holds); what would not (a
 * merge without a key, a key pipe would not use) is refused with the reason.
 */
function incrementalKind({ unique_key, incremental_strategy: strategy, partition_by, appendsByDefault }: KindKeys): Materialization | ConfigProblem {
  if (strategy === 'microbatch') {
    if (unique_key !== undefined) {
      return {
        key: 'unique_key',
        problem: 'a microbatch model replaces whole batches of its event_time: unique_key would not be used',
        hint: "remove unique_key, or use incremental_strategy='merge' to replace rows by key",
      };
    }
    if (partition_by !== undefined) {
      return { key: 'partition_by', problem: 'a microbatch model is partitioned by its event_time: partition_by would say it a second time', hint: 'remove partition_by' };
    }
    return 'microbatch';
  }
  if (unique_key !== undefined) {
    if (partition_by !== undefined) {
      return {
        key: 'partition_by',
        problem: 'unique_key and partition_by both say how a run replaces rows: by key, or by date partition',
        hint: 'keep unique_key to merge rows by key, or partition_by to replace the dates a run covers',
      };
    }
    // dbt's append ignores the key (validateModelConfig warns): a dbt project's model appends.
    if (strategy === 'append' && appendsByDefault === true) return 'append';
    if (strategy === 'append') {
      return {
        key: 'incremental_strategy',
        problem: "incremental_strategy 'append' inserts every row and ignores unique_key: a re-run would add the same rows again",
        hint: "use incremental_strategy 'merge' or 'delete+insert' (dbt-duckdb's default)",
      };
    }
    // dbt-duckdb's default with a unique_key is delete+insert.
    return strategy === 'merge' ? 'merge' : 'delete+insert';
  }
  if (strategy === 'merge' || strategy === 'delete+insert') {
    return {
      key: 'incremental_strategy',
      problem: `incremental_strategy '${strategy}' needs unique_key: without it every row is inserted, and a re-run would add the same rows again`,
      hint: "set unique_key to the columns that identify a row, or replace date partitions with partition_by (and no incremental_strategy)",
    };
  }
  if (partition_by !== undefined) return 'incremental';
  // The query chooses the rows a run adds (dbt's is_incremental() filter): what keeps a re-run
  // from adding them twice is the refusal of a staged row the table holds (strategies/append.ts).
  if (strategy === 'append' || appendsByDefault === true) return 'append';
  // A pipe project's incremental model replaces date partitions: one that says nothing more has
  // most likely left out its partition column, and appending would build a backfill's last date only.
  return {
    key: 'partition_by',
    problem: 'an incremental model needs partition_by (the column that places each row in a date), unique_key, or incremental_strategy microbatch or append',
    hint: "e.g. config(materialized='incremental', partition_by='order_date'); incremental_strategy='append' adds the rows the query returns once per run (a backfill builds it once), refusing any the table holds",
  };
}

/**
 * What a model's `materialized:` can say: which materialization each makes of its keys, what
 * is_incremental() answers while its template renders (before its keys are known), and of
 * which kind of dbt node.
 */
export const MATERIALIZED: {
  readonly [W in Materialized]: { kind(keys: KindKeys): Materialization | ConfigProblem; isIncremental(state: TableState): boolean; readonly resource: Resource };
} = {
  table: { kind: () => 'table', isIncremental: MODEL_KINDS.table.isIncremental, resource: MODEL_KINDS.table.resource },
  view: { kind: () => 'view', isIncremental: MODEL_KINDS.view.isIncremental, resource: MODEL_KINDS.view.resource },
  incremental: { kind: incrementalKind, isIncremental: incrementalState, resource: MODEL_KINDS.incremental.resource },
  external: { kind: () => 'external', isIncremental: MODEL_KINDS.external.isIncremental, resource: MODEL_KINDS.external.resource },
  ephemeral: { kind: () => 'ephemeral', isIncremental: MODEL_KINDS.ephemeral.isIncremental, resource: MODEL_KINDS.ephemeral.resource },
  snapshot: { kind: () => 'snapshot', isIncremental: MODEL_KINDS.snapshot.isIncremental, resource: MODEL_KINDS.snapshot.resource },
};

/** The materialization of a model whose config says `materialized`, given its keys. */
export function kindOf(materialized: Materialized, keys: KindKeys): Materialization | ConfigProblem {
  return MATERIALIZED[materialized].kind(keys);
}

/** What a model is when its config does not say. */
export const DEFAULT_MATERIALIZATION = 'table' satisfies Materialized & Materialization;

/** The materializations that write to the warehouse: what a model's task can be. */
export type BuiltMaterialization = {
  [M in Materialization]: (typeof MODEL_KINDS)[M] extends { readonly built: true } ? M : never;
}[Materialization];

export function isMaterialized(value: unknown): value is Materialized {
  return typeof value === 'string' && Object.hasOwn(MATERIALIZED, value);
}

export function isBuilt(kind: Materialization): kind is BuiltMaterialization {
  return MODEL_KINDS[kind].built;
}

/** The analysis facets of a materialization. */
export function modelKind(kind: Materialization): KindFacets {
  return MODEL_KINDS[kind];
}

/** What is_incremental() answers for a model whose config says `materialized` (not validated yet: anything else answers false). */
export function isIncrementalAs(materialized: unknown, state: TableState): boolean {
  return isMaterialized(materialized) && MATERIALIZED[materialized].isIncremental(state);
}
