import type { SnapshotConfig } from '../../analyze/model-config.js';
import { uniqueKeyColumns, uniqueKeyParts, type HardDeletes, type SnapshotMetaColumns } from '../../analyze/snapshot-config.js';
import { quoteIdent } from '../../sql/sql-text.js';
import type { Column, CountedStatements, StrategySql } from '../../warehouse/dialect.js';
import type { RelationType } from '../../warehouse/run-state.js';
import type { Step } from '../task.js';
import { SQL, type StrategyInput } from './strategy.js';

/**
 * `snapshot` (dbt's snapshots, SCD type 2): every run compares the rows of the snapshot's
 * query with the current rows of its table, by unique key, and records what changed: a changed
 * row's current version is closed (`dbt_valid_to`) and its new version inserted; a new row is
 * inserted; a row gone from the query is kept, closed, or followed by a deletion record, as
 * `hard_deletes` says. The SQL does what dbt-adapters' snapshot materialization and
 * dbt-duckdb's merge do, column for column, so that a snapshot pipe keeps is the table dbt
 * would keep on the same data.
 *
 * The query is staged once, in a temporary table; a unique key held by two rows (or NULL) is
 * refused before anything is written, since dbt would record both rows as current (or insert a
 * NULL key's row again on every run). Which statements publish depends on the columns of the
 * staged rows and of the table, so they are decided while the task runs (the `snapshot-merge`
 * step): the changes are staged and applied inside the publishing transaction, under the
 * table's lock, so that two runs never apply changes computed from the same old rows.
 */

/** What the SQL of a snapshot needs of its config, typed by strategy. */
export interface SnapshotSpec {
  /** The unique key, one SQL expression per part; a list of columns is a composite key. */
  /** The key's SQL parts, and the columns it names as bare names (`columns`: what the table must have). */
  readonly key: { readonly parts: readonly string[]; readonly composite: boolean; readonly columns: readonly string[] };
  readonly change:
    | { readonly kind: 'timestamp'; readonly updatedAt: string }
    | { readonly kind: 'check'; readonly columns: 'all' | readonly string[]; readonly updatedAt?: string };
  readonly hardDeletes: HardDeletes;
  /** The SQL expression current rows hold in `dbt_valid_to` (NULL when absent). */
  readonly validToCurrent?: string;
  readonly meta: SnapshotMetaColumns;
}

export function snapshotSpec(config: SnapshotConfig): SnapshotSpec {
  const change: SnapshotSpec['change'] =
    config.strategy === 'timestamp'
      ? { kind: 'timestamp', updatedAt: config.updated_at ?? internal('a timestamp snapshot without updated_at') }
      : { kind: 'check', columns: config.check_cols ?? internal('a check snapshot without check_cols'), ...(config.updated_at === undefined ? {} : { updatedAt: config.updated_at }) };
  return {
    key: { ...uniqueKeyParts(config.unique_key), columns: uniqueKeyColumns(config.unique_key) },
    change,
    hardDeletes: config.hard_deletes,
    ...(config.dbt_valid_to_current === undefined ? {} : { validToCurrent: config.dbt_valid_to_current }),
    meta: config.snapshot_meta_column_names,
  };
}

function internal(what: string): never {
  throw new Error(`internal error: ${what}`);
}

/** The temporary tables of a snapshot's task: its query's rows, and the changes they make. */
export function snapshotStaging(input: Pick<StrategyInput, 'stagingName'>): { source: string; changes: string; changesName: string } {
  const changesName = `${input.stagingName}__changes`;
  return { source: SQL.tempRelation(input.stagingName), changes: SQL.tempRelation(changesName), changesName };
}

export function snapshotStrategy(input: StrategyInput, config: SnapshotConfig): Step[] {
  const spec = snapshotSpec(config);
  const { source, changes, changesName } = snapshotStaging(input);
  const keys = spec.key.parts;
  const keyText = typeof config.unique_key === 'string' ? config.unique_key : config.unique_key.join(', ');
  const nullKey = keys.map((k) => `(${k}) IS NULL`).join(' OR ');
  // The sample of duplicates names the key as the config does.
  const shown = spec.key.composite || keys[0].startsWith('"') ? keys : [`${keys[0]} AS ${quoteIdent(keyText)}`];
  const keyAt = input.uniqueKeyAt;
  const timeAt = input.snapshotTimeAt;
  const expected = [
    ...(keyAt ? spec.key.columns.map((column) => ({ column, namedBy: 'unique_key', location: keyAt })) : []),
    ...(timeAt && config.updated_at !== undefined ? [{ column: config.updated_at, namedBy: 'updated_at', location: timeAt }] : []),
  ];
  return [
    { kind: 'statement', sql: SQL.stageTempTable(input.stagingName, input.sql) },
    // A key column the rows lack would otherwise fail the next statement in the engine's words about pipe's own SQL.
    ...(expected.length > 0 ? [{ kind: 'columns' as const, relation: source, expected }] : []),
    {
      kind: 'assert-empty',
      sql: `SELECT * FROM ${source} WHERE ${nullKey} LIMIT 5`,
      countSql: `SELECT count(*) AS n FROM ${source} WHERE ${nullKey}`,
      message: `rows of the snapshot's query with a NULL unique_key (${keyText}); such a row matches none in the snapshot, so every run would record it again`,
      one: `row of the snapshot's query with a NULL unique_key (${keyText}); such a row matches none in the snapshot, so every run would record it again`,
      location: input.uniqueKeyAt,
    },
    {
      kind: 'assert-empty',
      sql: `SELECT ${shown.join(', ')}, count(*) AS "rows" FROM ${source} GROUP BY ${keys.join(', ')} HAVING count(*) > 1 ORDER BY ${keys.map((_, i) => i + 1).join(', ')} LIMIT 5`,
      countSql: `SELECT count(*) AS n FROM (SELECT 1 FROM ${source} GROUP BY ${keys.join(', ')} HAVING count(*) > 1)`,
      message: `unique_key values (${keyText}) held by more than one row of the snapshot's query; each of those rows that is new or changed would become a current row of the snapshot: make the key unique, or the query return one row per key`,
      one: `unique_key value (${keyText}) held by more than one row of the snapshot's query; each of those rows that is new or changed would become a current row of the snapshot: make the key unique, or the query return one row per key`,
      location: input.uniqueKeyAt,
    },
    { kind: 'snapshot-merge', target: input.relation, existing: input.existing, source, changes, changesName, spec },
    { kind: 'publish', statements: [] },
    { kind: 'cleanup', sql: SQL.dropTable(source) },
    { kind: 'cleanup', sql: SQL.dropTable(changes) },
  ];
}

/** The columns of a relation or a query, as the session running the task describes them. */
export interface Describe {
  relation(relation: string): Promise<readonly Column[]>;
  query(sql: string): Promise<readonly Column[]>;
}

/** The `snapshot-merge` step, as the plan gives it. */
export interface SnapshotMergeStep {
  readonly target: string;
  /** What stood under the snapshot's name when the run was planned. */
  readonly existing?: RelationType;
  /** The staged rows of the query, and the temporary table the changes are staged in. */
  readonly source: string;
  readonly changes: string;
  readonly changesName: string;
  readonly spec: SnapshotSpec;
}

export type SnapshotMerge = CountedStatements | { readonly error: string; readonly hint: string };

/**
 * The statements that open the publishing transaction: the table created from the staged rows
 * (the first run), or the changes staged and applied to it. `sql` is the dialect of the session.
 */
export async function snapshotMerge(step: SnapshotMergeStep, describe: Describe, sql: StrategySql = SQL): Promise<SnapshotMerge> {
  const { spec, target, source } = step;
  if (step.existing === 'view') {
    return { error: `${target} is a view, not a snapshot's table`, hint: 'drop the view (or give the snapshot another alias): a snapshot keeps its history in a table' };
  }
  const sourceColumns = await describe.relation(source);
  const clash = ownColumnsIn(spec, sourceColumns);
  if (clash.length > 0) {
    const [first] = clash;
    return {
      error: `the snapshot's query gives ${clash.length === 1 ? 'a column' : 'columns'} ${clash.join(', ')}, which the snapshot adds itself: its table would hold yours under ${clash.length === 1 ? 'that name' : 'those names'} and its own as ${first}_1, and what reads the snapshot would read yours`,
      hint: `rename ${clash.length === 1 ? 'it' : 'them'} in the query (or leave ${clash.length === 1 ? 'it' : 'them'} out: select * exclude (${clash.join(', ')})), or name the snapshot's own columns with snapshot_meta_column_names`,
    };
  }
  const targetColumns = await describe.relation(target);
  const drop = [sql.dropTable(source)];
  if (targetColumns.length === 0) {
    const created = sql.snapshotCreate(target, firstBuild(spec, source, sql));
    return { statements: [...created.statements, ...drop], countAt: created.countAt };
  }
  const have = new Set(targetColumns.map((c) => c.name.toLowerCase()));
  const { meta } = spec;
  const needed = [meta.dbt_scd_id, meta.dbt_valid_from, meta.dbt_valid_to, ...(spec.hardDeletes === 'new_record' ? [meta.dbt_is_deleted] : [])];
  const lacking = needed.filter((c) => !have.has(c.toLowerCase()));
  if (lacking.length > 0) {
    return {
      error: `${target} is not this snapshot's table: it has no column ${lacking.join(', ')}`,
      hint:
        spec.hardDeletes === 'new_record' && lacking.length === 1
          ? `hard_deletes: new_record records deletions in ${meta.dbt_is_deleted}, which a snapshot built with another hard_deletes does not have: rebuild the snapshot (drop its table), or keep its hard_deletes`
          : 'a snapshot adds these columns to its query\'s; drop the table if it is not the snapshot\'s, or give the snapshot another alias',
    };
  }
  // A unique_key changed since the snapshot was built: its rows would match no key, and each would stay current beside its new version.
  const unkeyed = spec.key.columns.filter((c) => !have.has(c.toLowerCase()));
  if (unkeyed.length > 0) {
    return {
      error: `${target} has no column ${unkeyed.join(', ')} of the snapshot's unique_key: its rows would match no row of the query, and every row would be recorded again as new, beside the versions it has`,
      hint: 'keep the unique_key the snapshot was built with, or start its history over (drop its table)',
    };
  }
  const checked = changeColumns(spec, sourceColumns, targetColumns);
  if ('error' in checked) return checked;
  const query = changesQuery(spec, source, target, sourceColumns, targetColumns, checked, sql);
  const staged = await describe.query(query);
  // The key columns of the changes only match rows; the others are the table's.
  const internalColumns = new Set(['dbt_change_type', 'DBT_CHANGE_TYPE', 'dbt_unique_key', 'DBT_UNIQUE_KEY', ...(spec.key.composite ? spec.key.parts.flatMap((_, i) => [`dbt_unique_key_${i + 1}`, `DBT_UNIQUE_KEY_${i + 1}`]) : [])]);
  const written = staged.filter((c) => !internalColumns.has(c.name));
  const added = written.filter((c) => !have.has(c.name.toLowerCase()));
  const insert = sql.snapshotInsert(target, step.changes, written.map((c) => c.name));
  return {
    statements: [
      sql.stageTempTable(step.changesName, query),
      ...added.map((c) => sql.addColumn(target, c)),
      sql.snapshotClose(target, step.changes, meta, spec.validToCurrent),
      insert,
      sql.dropTable(step.changes),
      ...drop,
    ],
    countAt: 1 + added.length + 1,
  };
}

/**
 * The query's columns named as a column the snapshot writes itself: its meta columns, and the
 * key and change columns of its changes. DuckDB would keep both, the snapshot's renamed
 * (`dbt_valid_from_1`), so the table's `dbt_valid_from` would be the query's.
 */
function ownColumnsIn(spec: SnapshotSpec, columns: readonly Column[]): string[] {
  const { meta, key } = spec;
  const own = [
    meta.dbt_scd_id,
    meta.dbt_updated_at,
    meta.dbt_valid_from,
    meta.dbt_valid_to,
    ...(spec.hardDeletes === 'new_record' ? [meta.dbt_is_deleted] : []),
    'dbt_change_type',
    ...(key.composite ? key.parts.map((_, i) => `dbt_unique_key_${i + 1}`) : ['dbt_unique_key']),
  ];
  const taken = new Set(own.map((c) => c.toLowerCase()));
  return columns.filter((c) => taken.has(c.name.toLowerCase())).map((c) => c.name);
}

/**
 * dbt's `snapshot_check_all_get_existing_columns`: the checked columns the table has, and
 * whether the query checks one it has not (then every row counts as changed, as in dbt).
 */
function changeColumns(
  spec: SnapshotSpec,
  source: readonly Column[],
  target: readonly Column[],
): { readonly columns: readonly string[]; readonly added: boolean } | { readonly error: string; readonly hint: string } {
  if (spec.change.kind === 'timestamp') return { columns: [], added: false };
  let names: string[];
  if (spec.change.columns === 'all') names = source.map((c) => c.name);
  else {
    names = [];
    for (const wanted of spec.change.columns) {
      // DuckDB names a column by the table's spelling, whatever the case it is written in.
      const found = source.find((c) => c.name.toLowerCase() === wanted.toLowerCase());
      if (!found) {
        return { error: `check_cols names column '${wanted}', which the snapshot's query does not produce (columns: ${source.map((c) => c.name).join(', ')})`, hint: 'name columns of the query in check_cols' };
      }
      names.push(found.name);
    }
  }
  const existing = new Set(target.map((c) => c.name));
  return { columns: names.filter((n) => existing.has(n)), added: names.some((n) => !existing.has(n)) };
}

/** The expression a snapshot takes a row's time from: its updated_at column, or the run's time (check without updated_at). */
function updatedAt(spec: SnapshotSpec, sql: StrategySql): string {
  return spec.change.updatedAt === undefined ? sql.snapshotTime() : quoteIdent(spec.change.updatedAt);
}

/** `dbt_valid_to` of a row current from now on: NULL, or the configured expression, typed as the row's time. */
function validToCurrent(spec: SnapshotSpec, time: string): string {
  return `coalesce(nullif(${time}, ${time}), ${spec.validToCurrent ?? 'null'})`;
}

/** The first build: every row of the query, current from its time. */
function firstBuild(spec: SnapshotSpec, source: string, sql: StrategySql): string {
  const { meta } = spec;
  const time = updatedAt(spec, sql);
  const q = quoteIdent;
  return [
    `SELECT *,`,
    `  ${sql.snapshotHash([...spec.key.parts, time])} AS ${q(meta.dbt_scd_id)},`,
    `  ${time} AS ${q(meta.dbt_updated_at)},`,
    `  ${time} AS ${q(meta.dbt_valid_from)},`,
    `  ${validToCurrent(spec, time)} AS ${q(meta.dbt_valid_to)}${spec.hardDeletes === 'new_record' ? `,\n  'False' AS ${q(meta.dbt_is_deleted)}` : ''}`,
    `FROM (SELECT * FROM ${source}) AS sbq`,
  ].join('\n');
}

/**
 * dbt's snapshot staging query: one row per change, `dbt_change_type` saying what it does
 * (`insert` a new version, `update` or `delete`: close the current one by its dbt_scd_id).
 */
function changesQuery(
  spec: SnapshotSpec,
  source: string,
  target: string,
  sourceColumns: readonly Column[],
  targetColumns: readonly Column[],
  checked: { readonly columns: readonly string[]; readonly added: boolean },
  sql: StrategySql,
): string {
  const q = quoteIdent;
  const { meta, key } = spec;
  const [scd, upd, from, to, deleted] = [meta.dbt_scd_id, meta.dbt_updated_at, meta.dbt_valid_from, meta.dbt_valid_to, meta.dbt_is_deleted].map(q);
  const now = sql.snapshotTime();
  const time = updatedAt(spec, sql);
  const keyName = (i: number) => (key.composite ? `dbt_unique_key_${i + 1}` : 'dbt_unique_key');
  const keyFields = key.parts.map((k, i) => `${k} AS ${keyName(i)}`).join(', ');
  const joinOn = (a: string, b: string) => key.parts.map((_, i) => `${a}.${keyName(i)} = ${b}.${keyName(i)}`).join(' AND ');
  const isNull = (alias: string) => `${alias}.${keyName(0)} IS NULL`;
  const isNotNull = (alias: string) => `${alias}.${keyName(0)} IS NOT NULL`;
  const current = spec.validToCurrent;
  const isCurrent = (column: string) => (current === undefined ? `${column} IS NULL` : `(${column} = ${current} OR ${column} IS NULL)`);
  const latest = `snapshotted_data.${to} ${current === undefined ? 'IS NULL' : `= ${current}`}`;
  const newRecord = spec.hardDeletes === 'new_record';
  const deletes = spec.hardDeletes !== 'ignore';
  const wasDeleted = newRecord ? ` OR snapshotted_data.${deleted} = 'True'` : '';

  let rowChanged: string;
  if (spec.change.kind === 'timestamp') {
    rowChanged = `(snapshotted_data.${from} < source_data.${q(spec.change.updatedAt)})`;
  } else if (checked.added) {
    rowChanged = '(TRUE)';
  } else {
    const differs = checked.columns.map((c) => {
      const [s, n] = [`snapshotted_data.${q(c)}`, `source_data.${q(c)}`];
      return `${s} != ${n} OR ((${s} IS NULL) AND NOT (${n} IS NULL)) OR ((NOT ${s} IS NULL) AND (${n} IS NULL))`;
    });
    rowChanged = `(${differs.join(' OR ')})`;
  }

  const ctes: string[] = [
    `snapshot_query AS (\n  SELECT * FROM ${source}\n)`,
    `snapshotted_data AS (\n  SELECT *, ${keyFields}\n  FROM ${target}\n  WHERE ${isCurrent(to)}\n)`,
    `insertions_source_data AS (\n  SELECT *, ${keyFields},\n    ${time} AS ${upd},\n    ${time} AS ${from},\n    ${validToCurrent(spec, time)} AS ${to},\n    ${sql.snapshotHash([...key.parts, time])} AS ${scd}\n  FROM snapshot_query\n)`,
    `updates_source_data AS (\n  SELECT *, ${keyFields},\n    ${time} AS ${upd},\n    ${time} AS ${from},\n    ${time} AS ${to}\n  FROM snapshot_query\n)`,
    ...(deletes ? [`deletes_source_data AS (\n  SELECT *, ${keyFields}\n  FROM snapshot_query\n)`] : []),
    [
      `insertions AS (`,
      `  SELECT 'insert' AS dbt_change_type, source_data.*${newRecord ? `, 'False' AS ${deleted}` : ''}`,
      `  FROM insertions_source_data AS source_data`,
      `  LEFT OUTER JOIN snapshotted_data ON ${joinOn('snapshotted_data', 'source_data')}`,
      `  WHERE ${isNull('snapshotted_data')} OR (${isNotNull('snapshotted_data')} AND (${rowChanged}${wasDeleted}))`,
      `)`,
    ].join('\n'),
    [
      `updates AS (`,
      `  SELECT 'update' AS dbt_change_type, source_data.*, snapshotted_data.${scd}${newRecord ? `, snapshotted_data.${deleted}` : ''}`,
      `  FROM updates_source_data AS source_data`,
      `  JOIN snapshotted_data ON ${joinOn('snapshotted_data', 'source_data')}`,
      `  WHERE (${rowChanged}${wasDeleted})`,
      `)`,
    ].join('\n'),
  ];
  // A row already recorded as deleted is neither closed nor recorded as deleted again.
  const notRecordedDeleted = newRecord ? `\n    AND NOT (snapshotted_data.${deleted} = 'True' AND ${latest})` : '';
  if (deletes) {
    ctes.push(
      [
        `deletes AS (`,
        `  SELECT 'delete' AS dbt_change_type, source_data.*, ${now} AS ${from}, ${now} AS ${upd}, ${now} AS ${to}, snapshotted_data.${scd}${newRecord ? `, snapshotted_data.${deleted}` : ''}`,
        `  FROM snapshotted_data`,
        `  LEFT JOIN deletes_source_data AS source_data ON ${joinOn('snapshotted_data', 'source_data')}`,
        `  WHERE ${isNull('source_data')}${notRecordedDeleted}`,
        `)`,
      ].join('\n'),
    );
  }
  if (newRecord) {
    // The deleted row's values as the snapshot has them; a column the table has not yet is NULL.
    const inTable = new Set(targetColumns.map((c) => c.name));
    const values = sourceColumns.map((c) => `${inTable.has(c.name) ? 'snapshotted_data' : 'source_data'}.${q(c.name)}`);
    const keys = key.composite ? key.parts.map((k, i) => `snapshotted_data.${k} AS ${keyName(i)}`) : ['snapshotted_data.dbt_unique_key AS dbt_unique_key'];
    ctes.push(
      [
        `deletion_records AS (`,
        `  SELECT 'insert' AS dbt_change_type, ${[...values, ...keys].join(', ')},`,
        `    ${now} AS ${from}, ${now} AS ${upd}, snapshotted_data.${to} AS ${to},`,
        `    ${sql.snapshotHash([`snapshotted_data.${scd}`, now])} AS ${scd}, 'True' AS ${deleted}`,
        `  FROM snapshotted_data`,
        `  LEFT JOIN deletes_source_data AS source_data ON ${joinOn('snapshotted_data', 'source_data')}`,
        `  WHERE ${isNull('source_data')}${notRecordedDeleted}`,
        `)`,
      ].join('\n'),
    );
  }
  const parts = ['insertions', 'updates', ...(deletes ? ['deletes'] : []), ...(newRecord ? ['deletion_records'] : [])];
  return `WITH ${ctes.join(',\n')}\n${parts.map((p) => `SELECT * FROM ${p}`).join('\nUNION ALL\n')}`;
}

/** The statements of a snapshot for the given columns, as text: what `--dry-run` and the expected SQL files show. */
export async function renderSnapshotMerge(step: SnapshotMergeStep, source: readonly Column[], target: readonly Column[], changes: readonly Column[]): Promise<string> {
  const merge = await snapshotMerge(step, {
    relation: async (r) => (r === step.source ? source : target),
    query: async () => changes,
  });
  return 'error' in merge ? `-- ${merge.error}\n` : `${merge.statements.map((s) => `${s};`).join('\n')}\n`;
}
