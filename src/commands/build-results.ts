import type { EngineHandle } from '../execute/engine.js';
import type { NodeResult } from '../graph/selector-methods.js';
import { latestNodeResults, stateExists } from '../warehouse/run-state.js';
import type { BuildResults } from './choose-selection.js';

/**
 * What `result:` selects by, read from the run state: per node, how its tasks ended in the
 * latest build that had a task for it. `before`: a retry's run, whose selection is evaluated
 * as it was when the run it retries started, so that retrying does not change what it selects.
 */
export async function readBuildResults(warehouse: EngineHandle | undefined, before?: string): Promise<BuildResults> {
  if (!warehouse) return { kind: 'unknown', why: 'there is no warehouse yet, so no build to read' };
  const session = await warehouse.session();
  try {
    if (!(await stateExists(session))) return { kind: 'unknown', why: 'no build has been recorded yet' };
    const results = new Map<string, Set<NodeResult>>();
    const add = (node: string, r: NodeResult) => results.set(node, (results.get(node) ?? new Set<NodeResult>()).add(r));
    for (const row of await latestNodeResults(session, before)) {
      if (row.status !== 'pending') add(row.node, row.status);
      if (row.checks !== null) add(row.node, row.checks === 'failed' ? 'check-failed' : 'check-warned');
    }
    return { kind: 'read', results };
  } finally {
    session.close();
  }
}
