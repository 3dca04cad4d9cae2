/**
 * What the compiler refuses about materializations. test/unit/materializations.test.ts
 * compiles this file: every `@ts-expect-error` below must meet an error that names what
 * its comment quotes, and nothing else may fail.
 */
import type { IncrementalConfig, Materialization, MergeConfig } from '../../src/analyze/model-config.js';
import { MATERIALIZATIONS, type BuiltMaterialization, type MaterializationSpec, type MaterializationTable } from '../../src/plan/materializations.js';
import type { TaskKind } from '../../src/plan/task.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | undefined {
  return undefined;
}

// One entry per materialization of ModelConfig, and no other.
assertType<Equal<keyof typeof MATERIALIZATIONS, Materialization>>();
// An ephemeral model has no task.
assertType<Equal<BuiltMaterialization, 'table' | 'view' | 'incremental' | 'merge' | 'delete+insert' | 'append' | 'microbatch' | 'external' | 'snapshot'>>();
assertType<Equal<TaskKind, 'seed' | 'table' | 'view' | 'incremental' | 'merge' | 'delete+insert' | 'append' | 'microbatch' | 'external' | 'snapshot' | 'test' | 'unit-test' | 'run-hook'>>();

const { ephemeral: _ephemeral, ...withoutEphemeral } = MATERIALIZATIONS;
// @ts-expect-error -- a materialization without its entry: 'ephemeral'
void (withoutEphemeral satisfies MaterializationTable);

// @ts-expect-error -- an entry for a kind ModelConfig does not have: 'materialized_view'
void ({ ...MATERIALIZATIONS, materialized_view: MATERIALIZATIONS.table } satisfies MaterializationTable);

const { strategy: _snapshotStrategy, ...snapshotWithoutStrategy } = MATERIALIZATIONS.snapshot;
// @ts-expect-error -- a snapshot without its strategy: 'strategy'
export const noSnapshotStrategy: MaterializationSpec<'snapshot'> = snapshotWithoutStrategy;

const { strategy: _strategy, ...viewWithoutStrategy } = MATERIALIZATIONS.view;
// @ts-expect-error -- a built kind without one of its facets: 'strategy'
export const noStrategy: MaterializationSpec<'view'> = viewWithoutStrategy;

const { intervals: _intervals, ...incrementalWithoutIntervals } = MATERIALIZATIONS.incremental;
// @ts-expect-error -- a built kind that does not say how it is written over intervals: 'intervals'
export const noIntervals: MaterializationSpec<'incremental'> = incrementalWithoutIntervals;

export const noPartition: MaterializationSpec<'incremental'> = {
  ...MATERIALIZATIONS.incremental,
  // @ts-expect-error -- an incremental config without its partition column: 'partition_by'
  config: ({ on_schema_change }) => ({ kind: 'incremental', materialized: 'incremental', on_schema_change, lookback: 0 }),
};

const common = {
  tags: [],
  depends_on_past: false,
  schema: 'main',
  enabled: true,
  pre_hook: [],
  post_hook: [],
  persist_docs: { relation: false, columns: false },
  contract: false,
} as const;

// @ts-expect-error -- the config type requires it too: 'partition_by'
export const config: IncrementalConfig = { ...common, kind: 'incremental', materialized: 'incremental', on_schema_change: 'fail', lookback: 0 };

// @ts-expect-error -- a merge model without the columns it merges by: 'unique_key'
export const merge: MergeConfig = { ...common, kind: 'merge', materialized: 'incremental', on_schema_change: 'fail' };

const { batches: _batches, ...intervalsWithoutBatches } = MATERIALIZATIONS.microbatch.intervals;
export const noBatches: MaterializationSpec<'microbatch'> = {
  ...MATERIALIZATIONS.microbatch,
  // @ts-expect-error -- a microbatch model that does not say which batches a run builds: 'batches'
  intervals: intervalsWithoutBatches,
};
