import type { ConfigOf, KindKeys, Materialization, OwnConfig } from './model-config.js';

/**
 * What analysis knows of each materialization: whether a model of it is written at all, the
 * config it reads, and what is_incremental() answers in its template. The planning facets
 * (steps, check targets, intervals) extend these entries in plan/materializations.ts; both
 * tables are checked by the compiler, so a kind added to ModelConfig compiles in neither until
 * it has every facet.
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

/** A key a materialization cannot do without, missing from a model's config. */
export interface MissingKey {
  readonly missing: keyof KindKeys;
  readonly message: string;
  readonly hint: string;
}

// Facets are declared as methods so that an entry, whose facets take the config of its own
// kind, can be handed out as the entry of any kind (TypeScript checks method parameters
// bivariantly); materializationOf() only ever gives it a config of its own kind.
export interface Facets<M extends Materialization> {
  /** The model's own config from the keys only some kinds read, or the key it cannot do without (see model-config.ts). */
  config(keys: KindKeys): OwnConfig<M> | MissingKey;
  /** What is_incremental() answers in the model's template. */
  isIncremental(state: TableState): boolean;
}

/** What kind of dbt node a model of a materialization is: a snapshot is declared apart from models, and selected as one. */
export type Resource = 'model' | 'snapshot';

/** A materialization as analysis sees it: written (`built`) or inlined into its readers. */
export type KindFacets<M extends Materialization = Materialization> = Facets<M> & { readonly built: boolean; readonly resource: Resource };

export const MODEL_KINDS = {
  table: {
    resource: 'model',
    built: true,
    config: () => ({ materialized: 'table' }),
    isIncremental: () => false,
  },
  view: {
    resource: 'model',
    built: true,
    config: () => ({ materialized: 'view' }),
    isIncremental: () => false,
  },
  incremental: {
    resource: 'model',
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
  },
  external: {
    resource: 'model',
    built: true,
    config: ({ location, format, delimiter }) => ({
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
    config: () => ({ materialized: 'ephemeral' }),
    isIncremental: () => false,
  },
  snapshot: {
    resource: 'snapshot',
    built: true,
    // Its keys are read for snapshots alone (snapshot-config.ts); a model cannot be materialized as one.
    config: ({ snapshot }) =>
      snapshot === undefined
        ? {
            missing: 'snapshot',
            message: 'a snapshot is declared in a {% snapshot %} block or a snapshots: entry with relation:, not as a model',
            hint: 'move the query into a {% snapshot %} block under the snapshot folders',
          }
        : { materialized: 'snapshot', ...snapshot },
    isIncremental: () => false,
  },
} as const satisfies { readonly [M in Materialization]: KindFacets<M> };

/** What a model is when its config does not say. */
export const DEFAULT_MATERIALIZATION = 'table' satisfies Materialization;

/** The materializations that write to the warehouse: what a model's task can be. */
export type BuiltMaterialization = {
  [M in Materialization]: (typeof MODEL_KINDS)[M] extends { readonly built: true } ? M : never;
}[Materialization];

export function isMaterialization(value: unknown): value is Materialization {
  return typeof value === 'string' && Object.hasOwn(MODEL_KINDS, value);
}

export function isBuilt(kind: Materialization): kind is BuiltMaterialization {
  return MODEL_KINDS[kind].built;
}

/** The analysis facets of a materialization. */
export function modelKind(kind: Materialization): KindFacets {
  return MODEL_KINDS[kind];
}
