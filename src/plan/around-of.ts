import type { ModelNode, RelationOverrides, SeedNode } from '../analyze/analyze.js';
import type { Hook } from '../analyze/model-config.js';
import { error, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import { statementHeads } from '../sql/sql-text.js';
import type { Interval } from '../dates/dates.js';
import type { ModelRenderer } from '../analyze/analyze.js';
import type { TableState } from './materializations.js';
import type { Step, TemplateMessage } from './task.js';
import { hookAtRun } from './hook-at-run.js';
import { NOTHING_AROUND, type AroundQuery, type RenderedHook } from './strategies/around-query.js';

/**
 * What a model runs around its query in one task (see strategies/around-query.ts), its hooks
 * and header rendered for the task's interval. Each part is asked for by what the task does:
 * a task that publishes the model runs its hooks and comments; a task that builds its query
 * runs its header and checks its contract.
 */
export interface AroundParts {
  /** The task publishes the model's relation: hooks and persist_docs. */
  readonly publishes: boolean;
  /** The query the task builds (none for a full refresh's swap): sql_header and the contract. */
  readonly query?: string;
  /** Where a table's (or an external model's) query is staged, created with the contract's columns. */
  readonly staging?: string;
}

/** What of a node runs around its query: a model's config, or a seed's. */
interface Surrounded {
  readonly name: string;
  readonly relation: string;
  readonly schema: string;
  readonly identifier: string;
  readonly relationKind: 'table' | 'view';
  readonly pre: readonly Hook[];
  readonly post: readonly Hook[];
  readonly persistDocs: { readonly relation: boolean; readonly columns: boolean };
  readonly description?: string;
  readonly columns: readonly { readonly name: string; readonly description?: string; readonly location?: Location }[];
  readonly header?: { readonly sql: string; readonly location: Location };
  readonly contract?: ModelNode['contract'];
}

function surrounded(node: ModelNode | SeedNode): Surrounded {
  if (node.kind === 'seed') {
    const { name, relation, schema, pre_hook, post_hook, persist_docs, description, columns } = node;
    return { name, relation, schema, identifier: node.alias ?? name, relationKind: 'table', pre: pre_hook, post: post_hook, persistDocs: persist_docs, description, columns };
  }
  const { config } = node;
  return {
    name: node.name,
    relation: node.relation,
    schema: config.schema,
    identifier: config.alias ?? node.name,
    relationKind: config.materialized === 'view' || config.materialized === 'external' ? 'view' : 'table',
    pre: config.pre_hook,
    post: config.post_hook,
    persistDocs: config.persist_docs,
    description: config.description,
    columns: node.columns,
    header: config.sql_header,
    contract: node.contract,
  };
}

/** Statements that end or open a transaction. */
const TRANSACTION_CONTROL = /^(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT)\b/i;
/** Statements DuckDB refuses inside a transaction that has written anything. */
const OUTSIDE_TRANSACTION = /^(FORCE\s+)?CHECKPOINT\b/i;

export function aroundOf(
  node: ModelNode | SeedNode,
  renderer: ModelRenderer,
  database: string,
  interval: Interval,
  state: TableState,
  parts: AroundParts,
  diagnostics: Diagnostic[],
  relations?: RelationOverrides,
): AroundQuery {
  if (!parts.publishes && parts.query === undefined) return NOTHING_AROUND;
  const n = surrounded(node);
  const relation = { schema: n.schema, identifier: n.identifier, database };
  /** Why a hook's SQL cannot run in the model's transaction, if it cannot. */
  const controls = (sql: string, h: Hook, label: string): Diagnostic | undefined => {
    const control = statementHeads(sql).find((s) => TRANSACTION_CONTROL.test(s));
    if (control === undefined) return undefined;
    return error('bad-hook', `${label} of ${n.name} ends or opens a transaction (${control.split(/\s/)[0]}): it would commit or abandon the model's own midway`, h.location, {
      hint: 'pipe runs each hook inside the model\'s transaction, or around it with transaction: false; remove the statement',
    });
  };
  const render = (h: Hook, label: string): RenderedHook[] => {
    const said: TemplateMessage[] = [];
    const r = renderer.hook(node.name, h, interval, state, relation, relations, 'run', undefined, (m) => said.push(m));
    if ('severity' in r) {
      diagnostics.push(r);
      return [];
    }
    if ('asks' in r) {
      // It reads the warehouse while it renders (run_query, a statement block): rendered as it
      // runs, in its place among the steps, each question answered then, as dbt renders hooks.
      const renderAtRun = hookAtRun(
        (answers, report) => renderer.hook(node.name, h, interval, state, relation, relations, 'run', answers, report),
        h.location,
        (sql) => controls(sql, h, label),
      );
      return [{ sql: '', transaction: h.transaction, label, location: h.location, renderAtRun }];
    }
    const refused = controls(r.sql, h, label);
    if (refused) {
      diagnostics.push(refused);
      return [];
    }
    // DuckDB refuses these in a transaction that has written: they run around it, as with transaction: false.
    const outside = h.transaction && statementHeads(r.sql).some((s) => OUTSIDE_TRANSACTION.test(s));
    return [{ sql: r.sql, transaction: h.transaction && !outside, label, location: h.location, ...(said.length > 0 ? { said } : {}) }];
  };
  const hooks = (list: readonly Hook[], kind: string) => (parts.publishes ? list.flatMap((h, i) => render(h, `${kind} ${i + 1}`)) : []);
  const header = parts.query !== undefined && n.header ? render({ ...n.header, transaction: true }, 'sql_header')[0] : undefined;
  const contract = n.contract;
  const described = n.persistDocs.relation && n.description ? n.description : undefined;
  // As dbt: every column of the properties file, an undescribed one with an empty comment.
  const columns = n.persistDocs.columns ? n.columns.map((c) => ({ name: c.name, description: c.description ?? '', ...(c.location ? { location: c.location } : {}) })) : [];
  const docs: Extract<Step, { kind: 'persist-docs' }> | undefined =
    parts.publishes && (described !== undefined || columns.length > 0)
      ? { kind: 'persist-docs', relation: n.relation, relationKind: n.relationKind, ...(described === undefined ? {} : { description: described }), columns }
      : undefined;
  return {
    pre: hooks(n.pre, 'pre-hook'),
    post: hooks(n.post, 'post-hook'),
    ...(header ? { header } : {}),
    ...(contract && parts.query !== undefined
      ? {
          contract: {
            sql: parts.query,
            columns: contract.columns,
            location: contract.location,
            ...(parts.staging !== undefined ? { table: { staging: parts.staging, constraints: contract.constraints, tableConstraints: contract.tableConstraints } } : {}),
          },
        }
      : {}),
    ...(docs ? { docs } : {}),
  };
}
