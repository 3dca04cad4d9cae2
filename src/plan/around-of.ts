import type { ModelNode, RelationOverrides } from '../analyze/analyze.js';
import type { Hook } from '../analyze/model-config.js';
import type { Diagnostic } from '../diagnostics/diagnostics.js';
import type { Interval } from '../dates/dates.js';
import type { ModelRenderer } from '../analyze/analyze.js';
import type { TableState } from './materializations.js';
import type { Step } from './task.js';
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

export function aroundOf(
  node: ModelNode,
  renderer: ModelRenderer,
  database: string,
  interval: Interval,
  state: TableState,
  parts: AroundParts,
  diagnostics: Diagnostic[],
  relations?: RelationOverrides,
): AroundQuery {
  const { config } = node;
  if (!parts.publishes && parts.query === undefined) return NOTHING_AROUND;
  const relation = { schema: config.schema, identifier: config.alias ?? node.name, database };
  const render = (h: Hook, label: string): RenderedHook[] => {
    const r = renderer.hook(node.name, h, interval, state, relation, relations);
    if ('severity' in r) {
      diagnostics.push(r);
      return [];
    }
    return [{ sql: r.sql, transaction: h.transaction, label, location: h.location }];
  };
  const hooks = (list: readonly Hook[], kind: string) => (parts.publishes ? list.flatMap((h, i) => render(h, `${kind} ${i + 1}`)) : []);
  const header = parts.query !== undefined && config.sql_header ? render({ ...config.sql_header, transaction: true }, 'sql_header')[0] : undefined;
  const contract = node.contract;
  const kind = config.materialized === 'view' || config.materialized === 'external' ? 'view' : 'table';
  const described = config.persist_docs.relation && config.description ? config.description : undefined;
  // As dbt: every column of the properties file, an undescribed one with an empty comment.
  const columns = config.persist_docs.columns ? node.columns.map((c) => ({ name: c.name, description: c.description ?? '' })) : [];
  const docs: Extract<Step, { kind: 'persist-docs' }> | undefined =
    parts.publishes && (described !== undefined || columns.length > 0)
      ? { kind: 'persist-docs', relation: node.relation, relationKind: kind, ...(described === undefined ? {} : { description: described }), columns }
      : undefined;
  return {
    pre: hooks(config.pre_hook, 'pre-hook'),
    post: hooks(config.post_hook, 'post-hook'),
    ...(header ? { header: { sql: header.sql, location: header.location } } : {}),
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
