import type { Analysis } from '../analyze/analyze.js';
import { perInterval } from '../plan/materializations.js';
import type { Task } from '../plan/task.js';
import { readLatestBuilds, type FailureRecord } from '../warehouse/build-records.js';
import { stateExists } from '../warehouse/run-state.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';

/**
 * `pipe test` reads the tables as they are published. A node whose latest build failed (its
 * query, or its checks before publishing) left the table an earlier build published: its
 * checks read that one, and pass or fail on it, not on what the failed build made. Said once,
 * so that checks that pass are not taken for the failed build's.
 */
export async function unpublishedFailures(session: WarehouseSession, analysis: Analysis, tasks: readonly Task[]): Promise<{ readonly said?: string; readonly neverPublished: ReadonlyMap<string, FailureRecord> }> {
  const tested = new Map(tasks.flatMap((t) => (t.kind === 'test' ? [[t.node, t.ds] as const] : [])));
  const neverPublished = new Map<string, FailureRecord>();
  if (tested.size === 0 || !(await stateExists(session))) return { neverPublished };
  const latest = await readLatestBuilds(session, [...tested.keys()]);
  const failed: string[] = [];
  const never: string[] = [];
  for (const [name, ds] of tested) {
    const node = analysis.nodes.get(name);
    // A model kept in intervals is tested on the interval's rows; any other whole.
    const key = node?.kind === 'model' && perInterval(node.config) && ds !== undefined ? ds : '';
    const build = latest.build(name, key);
    const failure = latest.failure(name, key);
    const label = `${name}${key ? ` ${key}` : ''}`;
    // Nothing of it ever published (no date either, for a model kept by date): it has no table.
    if (failure && !build && latest.buildsOf(name).length === 0) neverPublished.set(name, failure);
    else if (failure && !build) never.push(`${label} (run ${failure.runId})`);
    else if (failure && build && failure.at > build.builtAt) failed.push(`${label} (run ${failure.runId}; published by run ${build.runId})`);
  }
  const list = (items: string[]) => (items.length > 5 ? [...items.slice(0, 5), `and ${items.length - 5} more`] : items).join(', ');
  const said = [
    ...(failed.length > 0 ? [`the latest build of ${list(failed)} failed and was not published: the checks here read what an earlier build published`] : []),
    ...(never.length > 0 ? [`the build of ${list(never)} failed, and none of that date was published before: its checks read no rows of it`] : []),
  ];
  return { ...(said.length === 0 ? {} : { said: `${said.join('; ')} (pipe status says why the build failed)` }), neverPublished };
}

/**
 * The test task of a node whose every build failed, none published (its checks kept it out, or
 * its query failed): refused as a node never built is, but said as the failure it is, with the
 * run that says why; running it again as it is fails again.
 */
export function failedNeverPublished(task: Task, failure: FailureRecord): Task {
  const why = failure.error === undefined ? '' : ` (${failure.error.split('\n')[0]})`;
  return {
    ...task,
    steps: task.steps.map((s) => {
      if (s.kind !== 'refuse') return s;
      // Its checks as the refusal counts them (those the selection runs).
      const checks = /so its (check|\d+ checks) cannot run/.exec(s.message)?.[1] ?? 'checks';
      return { ...s, message: `${task.node} has no table for its ${checks}: its build in run ${failure.runId} failed and published nothing${why}; pipe history ${failure.runId} says why, and a build publishes it once its checks pass` };
    }),
  };
}
