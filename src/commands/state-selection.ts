import type { EventSink } from '../events/events.js';
import type { Clock } from '../dates/dates.js';
import type { NodeState } from '../graph/selection-spec.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';
import { assessCoverage, nodeStates } from './assess-coverage.js';
import type { Prepared } from './lifecycle.js';

/**
 * A selection with `state:` terms, made once the warehouse is open: every node of the project
 * is judged over the default range (as `pipe status` judges it), so that a model is stale when
 * an upstream it reads would be rebuilt, selected or not.
 */
export async function selectByState(
  prepared: Prepared,
  withStates: (states: ReadonlyMap<string, ReadonlySet<NodeState>>) => { readonly selected: Set<string>; readonly notes: readonly string[] },
  options: { readonly clock?: Clock; readonly emit?: EventSink },
): Promise<Set<string>> {
  const { analysis, catalog, seedHashes, pipeline } = prepared;
  // Not the nodes an error stops, whose query may not be made (a var nobody sets): they are no state, and what selects them is refused.
  const stopped = new Set(analysis.diagnostics.flatMap((d) => (d.severity === 'error' ? (d.blocks ?? []) : [])));
  const judged = new Set([...analysis.nodes.keys()].filter((n) => !stopped.has(n)));
  const judge = (session: WarehouseSession | undefined) => assessCoverage({ analysis, selected: judged, catalog, seedHashes, pipeline, session, clock: options.clock });
  const coverage = prepared.warehouse ? await prepared.warehouse.engine.withSession(judge) : await judge(undefined);
  if (coverage.nothingBuilt) {
    const why = prepared.access === 'none' ? `the warehouse ${prepared.dbPath} was not read` : `nothing is built in ${prepared.dbPath} yet`;
    options.emit?.({ type: 'notice', message: `state: ${why}: every model and seed is new and modified` });
  }
  const { selected, notes } = withStates(nodeStates(coverage));
  for (const message of notes) options.emit?.({ type: 'notice', message });
  return selected;
}
