import type { WarehouseSession } from './warehouse.js';

/**
 * The columns of pipe's own state relations (`_pipe.builds`, `_pipe.task_outcomes`, ...) as
 * described, none for one that does not exist. Commands ask them to know which later columns
 * an older warehouse lacks, and a run asked the same few a dozen times (each DESCRIBE 1-8 ms
 * of DuckDB's planning). Where one process alone writes the warehouse (see
 * WarehouseSession.stateScope), they are asked once per open of it and kept until that
 * process changes them itself (forgetStateShape, as it creates or migrates the state);
 * elsewhere (a lake other processes migrate too) every question is asked.
 */
const described = new WeakMap<object, Map<string, Promise<Set<string>>>>();

/** The columns of `relation` (a state relation, schema-qualified), none when it does not exist. */
export function stateRelationColumns(session: WarehouseSession, relation: string): Promise<Set<string>> {
  const scope = (session.sessionOfConnection ?? session).stateScope;
  if (scope === undefined) return ask(session, relation);
  let known = described.get(scope);
  if (known === undefined) {
    known = new Map();
    described.set(scope, known);
  }
  const held = known.get(relation);
  if (held !== undefined) return held;
  const asked = ask(session, relation);
  known.set(relation, asked);
  // A failed question is asked again next time, not answered with its failure.
  const kept = known;
  asked.catch(() => {
    if (kept.get(relation) === asked) kept.delete(relation);
  });
  return asked;
}

/** Forgets what was described of the state of `session`'s warehouse: it is about to change. */
export function forgetStateShape(session: WarehouseSession): void {
  const scope = (session.sessionOfConnection ?? session).stateScope;
  if (scope !== undefined) described.delete(scope);
}

async function ask(session: WarehouseSession, relation: string): Promise<Set<string>> {
  return new Set((await session.dialect.describeRelation(session, relation)).map((c) => c.name));
}
