import type { Analysis } from '../analyze/analyze.js';
import { perInterval } from '../plan/materializations.js';
import type { Task } from '../plan/task.js';
import { readLatestBuilds } from '../warehouse/build-records.js';
import { stateExists } from '../warehouse/run-state.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';

/**
 * `pipe test` reads the tables as they are published. A node whose latest build failed (its
 * query, or its checks before publishing) left the table an earlier build published: its
 * checks read that one, and pass or fail on it, not on what the failed build made. Said once,
 * so that checks that pass are not taken for the failed build's.
 */
export async function unpublishedFailures(session: WarehouseSession, analysis: Analysis, tasks: readonly Task[]): Promise<string | undefined> {
  const tested = new Map(tasks.flatMap((t) => (t.kind === 'test' ? [[t.node, t.ds] as const] : [])));
  if (tested.size === 0 || !(await stateExists(session))) return undefined;
  const latest = await readLatestBuilds(session, [...tested.keys()]);
  const failed = [...tested].flatMap(([name, ds]) => {
    const node = analysis.nodes.get(name);
    // A model kept in intervals is tested on the interval's rows; any other whole.
    const key = node?.kind === 'model' && perInterval(node.config) && ds !== undefined ? ds : '';
    const build = latest.build(name, key);
    const failure = latest.failure(name, key);
    return build && failure && failure.at > build.builtAt ? [`${name}${key ? ` ${key}` : ''} (run ${failure.runId}; published by run ${build.runId})`] : [];
  });
  if (failed.length === 0) return undefined;
  const shown = failed.length > 5 ? [...failed.slice(0, 5), `and ${failed.length - 5} more`] : failed;
  return `the latest build of ${shown.join(', ')} failed and was not published: the checks here read what an earlier build published (pipe status says why the build failed)`;
}
