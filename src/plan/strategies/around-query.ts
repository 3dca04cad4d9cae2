import type { Location } from '../../diagnostics/diagnostics.js';
import type { ContractColumn } from '../../analyze/dbt/contract.js';
import type { RenderAtRun, Step, TemplateMessage } from '../task.js';
import { SQL } from './strategy.js';

/**
 * What a model of a dbt project runs around its query, placed among the steps of its
 * materialization as dbt places it:
 *
 *   pre-hooks with transaction: false                   before anything, outside the transaction
 *   ┌ pre-hooks (transaction: true)                     the transaction opens before them, and the
 *   │ sql_header, contract, the query (staged), checks  model is built inside it (see Step publish.inside)
 *   │ publish (the swap, the partition replace, the view)
 *   │ post-hooks (transaction: true), persist_docs     reading the relation as the transaction left it
 *   └ commit
 *   post-hooks with transaction: false                  after the commit: the model is published already
 *
 * Without in-transaction pre-hooks, the query is staged before the transaction opens, as for
 * any model: nothing the transaction must see comes before it. A failure anywhere up to the
 * commit rolls the model back; a failing post-hook after it fails a published task. A hook
 * DuckDB cannot run in a transaction that has written (CHECKPOINT) comes here as one with
 * transaction: false (see around-of.ts).
 */

/** A hook rendered for one task. */
export interface RenderedHook {
  readonly sql: string;
  readonly transaction: boolean;
  /** `pre-hook 1`, `post-hook 2`. */
  readonly label: string;
  readonly location: Location;
  /** Rendered as it runs: it reads the warehouse while it renders. */
  readonly renderAtRun?: RenderAtRun<string>;
  /** What its render said, told as it runs (see HookStep.said). */
  readonly said?: readonly TemplateMessage[];
}

export interface AroundQuery {
  readonly pre: readonly RenderedHook[];
  readonly post: readonly RenderedHook[];
  readonly header?: RenderedHook;
  readonly contract?: {
    /** The model's query, whose columns are compared before it is built. */
    readonly sql: string;
    readonly columns: readonly ContractColumn[];
    readonly location: Location;
    /**
     * A table's staging table, created with the contract's columns (in its order, with its
     * constraints) before the query's rows are inserted by name, as dbt-duckdb creates it.
     */
    readonly table?: { readonly staging: string; readonly constraints: ReadonlyMap<string, readonly string[]>; readonly tableConstraints: readonly string[] };
  };
  readonly docs?: Extract<Step, { kind: 'persist-docs' }>;
}

export const NOTHING_AROUND: AroundQuery = { pre: [], post: [] };

export function hasAnything(a: AroundQuery): boolean {
  return a.pre.length + a.post.length > 0 || a.header !== undefined || a.contract !== undefined || a.docs !== undefined;
}

const hookStep = (h: RenderedHook, published = false): Step => ({
  kind: 'hook',
  sql: h.sql,
  label: h.label,
  location: h.location,
  ...(published ? { published } : {}),
  ...(h.renderAtRun ? { renderAtRun: h.renderAtRun } : {}),
  ...(h.said ? { said: h.said } : {}),
});

/** `steps`, a materialization's, with what runs around the query in its place. */
export function aroundQuery(steps: readonly Step[], around: AroundQuery): Step[] {
  if (!hasAnything(around)) return [...steps];
  const at = steps.findIndex((s) => s.kind === 'publish');
  const publish = steps[at];
  if (publish?.kind !== 'publish') throw new Error('internal error: a strategy without a publishing step');
  const before = steps.slice(0, at);
  // The query runs in the step that stages it (a table, an incremental model), else in the publishing step (a view).
  const query = before.findIndex((s) => s.kind === 'statement' && s.countsRows === true);
  const header: Step[] = around.header ? [hookStep({ ...around.header, label: 'sql_header' })] : [];
  const contract: Step[] = [];
  let staging = query >= 0 ? [before[query]] : [];
  if (around.contract) {
    const { sql, columns, location, table } = around.contract;
    contract.push({ kind: 'contract', sql, columns, location });
    if (table && query >= 0) {
      const stage = before[query];
      const ddl = SQL.createTableOf(
        table.staging,
        columns.map((c) => ({ name: c.name, dataType: c.dataType, constraints: table.constraints.get(c.name) ?? [] })),
        table.tableConstraints,
      );
      staging = [
        { kind: 'statement', sql: ddl },
        { ...stage, kind: 'statement', sql: SQL.insertByName(table.staging, sql), countsRows: true, rowsOf: table.staging },
      ];
    }
  }
  const built =
    query >= 0 ? [...before.slice(0, query), ...header, ...contract, ...staging, ...before.slice(query + 1)] : [...header, ...contract, ...before];
  const preIn = around.pre.filter((h) => h.transaction).map((h) => hookStep(h));
  const after = [...(publish.after ?? []), ...around.post.filter((h) => h.transaction).map((h) => hookStep(h)), ...(around.docs ? [around.docs] : [])];
  const published: Step = {
    ...publish,
    ...(after.length > 0 ? { after } : {}),
    ...(preIn.length > 0 ? { inside: [...preIn, ...built] } : {}),
  };
  return [
    ...around.pre.filter((h) => !h.transaction).map((h) => hookStep(h)),
    ...(preIn.length > 0 ? [] : built),
    published,
    ...around.post.filter((h) => !h.transaction).map((h) => hookStep(h, true)),
    ...steps.slice(at + 1),
  ];
}
