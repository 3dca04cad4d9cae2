import type { Interval } from '../../dates/dates.js';
import type { StrategySql } from '../../warehouse/dialect.js';
import { DUCKDB } from '../../warehouse/duckdb/dialect.js';
import type { RelationType } from '../../warehouse/run-state.js';
import type { Step } from '../task.js';
import type { SchemaChangePolicy } from '../../analyze/model-config.js';
import type { Location } from '../../diagnostics/diagnostics.js';

/**
 * The SQL the strategies write. Planning happens before any warehouse is open (a dry run
 * opens none), so strategies write in the default dialect rather than a session's.
 */
export const SQL: StrategySql = DUCKDB;

/** What every materialization strategy is given: names, the final SQL and what exists now. */
export interface StrategyInput {
  readonly schema: string;
  readonly name: string;
  /** `"schema"."name"` */
  readonly relation: string;
  /** Staging table in the same schema, so publishing is a rename, not a copy. */
  readonly stagingName: string;
  readonly stagingRelation: string;
  /** What currently stands under the relation's name, if anything. */
  readonly existing?: RelationType;
  readonly sql: string;
  readonly interval?: Interval;
  readonly partitionBy?: string;
  readonly fullRefresh: boolean;
  /** Incremental models: what a change of the query's columns does. */
  readonly onSchemaChange?: SchemaChangePolicy;
  /** The project folder, which an external model's file location is read from. */
  readonly root?: string;
  /** The folder of an external model's file when its location is not set (dbt-duckdb's external_root), from `root`. */
  readonly externalRoot?: string;
  /** The run's id: an external model's file is written under a name of its own run first. */
  readonly runId?: string;
  /** The model's query reads its own table (`{{ this }}`). */
  readonly readsItself?: boolean;
  /** Where the model's unique_key is set: staged rows that break it are reported there. */
  readonly uniqueKeyAt?: Location;
  /** Where the column that dates its rows is set: rows outside the interval are reported there. */
  readonly partitionByAt?: Location;
  /** Where a snapshot's updated_at is set: a column its query does not give is reported there. */
  readonly snapshotTimeAt?: Location;
  /** Where on_schema_change is set (else config()): a query whose columns no longer match the table is reported there. */
  readonly schemaChangeAt?: Location;
  /**
   * Other processes write the same tables (a DuckLake on Postgres): a partition's rows are
   * staged before its publishing transaction, which another writer's commit can refuse and
   * make run again, so that the transaction stays short (see incremental.ts, stagesRowsFirst).
   */
  readonly stagePartitions?: boolean;
  /**
   * An enforced contract creates the table from its own columns and constraints before the
   * query's rows go in (see around-query.ts): a table model's rows are then staged.
   */
  readonly contractTable?: boolean;
  /** Partitioned models: how the model keeps its rows inside its interval, said when it does not. */
  readonly keepInside?: string;
}

export type Strategy = (input: StrategyInput) => Step[];
