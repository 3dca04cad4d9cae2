import type { Analysis } from '../analyze/analyze.js';
import { ownRelationName } from '../sql/sql-text.js';
import type { FoundRelation, RelationType } from '../warehouse/run-state.js';
import { isBuilt, type BuiltMaterialization } from '../plan/materializations.js';
import type { Materialization } from '../analyze/model-config.js';

/**
 * A model deleted or disabled (or made ephemeral) leaves its table or view in the warehouse:
 * pipe never drops what something else may read, but it says so once per run, so that the
 * relation does not stay unnoticed, ageing while dashboards keep reading it.
 */

/** The model left the project, is disabled, or is of a materialization that is not built (ephemeral). */
export type NoLongerBuiltReason = 'left-project' | 'disabled' | Exclude<Materialization, BuiltMaterialization>;

export interface NoLongerBuilt {
  readonly relation: string;
  readonly type: RelationType;
  /** The name of the model or seed that built it. */
  readonly node: string;
  readonly reason: NoLongerBuiltReason;
}

/**
 * Which of the relations named after a node pipe has run are built by nothing in the project
 * now. A relation of a name the project still builds, in another schema, is left alone: it
 * may be the raw data the model reads (`raw.orders` beside the model `orders`).
 */
export function noLongerBuilt(found: readonly FoundRelation[], analysis: Pick<Analysis, 'nodes' | 'disabled' | 'freeTests'>): NoLongerBuilt[] {
  // DuckDB does not tell `Orders` from `orders`.
  const nodes = new Map([...analysis.nodes.values()].map((n) => [n.name.toLowerCase(), n]));
  // A model with an alias writes a relation of another name than its own.
  const byRelation = new Map([...analysis.nodes.values()].map((n) => [n.relation.toLowerCase(), n]));
  const disabled = new Set([...analysis.disabled.keys()].map((n) => n.toLowerCase()));
  // A table a source reads is read: a model that once built it may have become that source.
  const read = new Set([...analysis.nodes.values()].flatMap((n) => (n.kind === 'source' ? [n.relation.toLowerCase()] : [])));
  // A test that names no node runs as a task of its name (see plan.ts freeTestTasks): it builds nothing of that name.
  const tests = new Set(analysis.freeTests.map((c) => c.name.toLowerCase()));
  const out: NoLongerBuilt[] = [];
  for (const r of found) {
    const relation = ownRelationName(r.database, r.schema, r.name);
    if (read.has(relation.toLowerCase()) || tests.has(r.name.toLowerCase())) continue;
    const node = byRelation.get(relation.toLowerCase()) ?? nodes.get(r.name.toLowerCase());
    let reason: NoLongerBuiltReason | undefined;
    if (!node) reason = disabled.has(r.name.toLowerCase()) ? 'disabled' : 'left-project';
    else if (node.kind === 'model' && node.relation.toLowerCase() === relation.toLowerCase()) {
      const kind = node.config.kind;
      if (!isBuilt(kind)) reason = kind;
    }
    if (reason) out.push({ relation, type: r.type, node: r.name, reason });
  }
  return out;
}

function why(r: NoLongerBuilt): string {
  switch (r.reason) {
    case 'left-project':
      return `${r.node} left the project`;
    case 'disabled':
      return `${r.node} is disabled`;
    case 'ephemeral':
      return `${r.node} is ephemeral now`;
    default: {
      const never: never = r.reason;
      throw new Error(`internal error: reason ${String(never)}`);
    }
  }
}

/** The one notice of a run about them. */
export function noLongerBuiltNotice(relations: readonly NoLongerBuilt[]): string {
  const list = relations.map((r) => `${r.type} ${r.relation} (${why(r)})`);
  return relations.length === 1
    ? `${list[0]} is no longer built, and it is not dropped: drop it if nothing reads it`
    : `these are no longer built, and they are not dropped: ${list.join(', ')}; drop each if nothing reads it`;
}
