import type { ProjectOptions } from '../../commands/context.js';
import { openProject, projectName } from '../../commands/open-project.js';
import { Engine } from '../../execute/engine.js';
import { secrets } from '../../secrets/secrets.js';
import { status } from '../../commands/status.js';
import { unitJson } from '../../commands/standing-text.js';
import { WarehouseLockedError } from '../../warehouse/warehouse.js';
import { readRunLogs } from '../../run-log/run-log-reader.js';
import { processAlive } from '../../util/process-alive.js';
import type { UiCoverage, UiCoverageLive, UiCoverageUnit } from '../api.js';
import { aliveAs, heldBy, UI_READER } from './warehouse-access.js';
import { coverageText } from './coverage-process.js';
import { asProblem, UiProblem } from './project-data.js';

/**
 * The coverage heatmap's data: `pipe status` itself (the same judgement and the same records as
 * `--json`), read-only and for this request only. While another process holds the warehouse,
 * status cannot judge (the builds on record are in it): the page says so, with what the run
 * that holds it has finished so far (from its log, which the page lays over what it read before).
 */
export async function readCoverage(options: ProjectOptions, range: { start?: string; end?: string }): Promise<UiCoverage> {
  const project = openProject(options);
  const info = { name: projectName(project), root: project.root, warehouse: project.warehousePath };
  try {
    const s = await status({ ...options, ...range });
    const nodes = s.nodes.map((n) => ({
      node: n.node,
      kind: n.kind,
      dated: n.dated,
      ever_built: n.everBuilt,
      units: n.units.map(
        (u): UiCoverageUnit => ({
          ...(unitJson(u) as Omit<UiCoverageUnit, 'task_id' | 'open_run'>),
          // The task of the run the cell opens: a table's, of the date that run built it for.
          task_id: (u.standing.kind === 'failed' ? u.standing.taskId : u.built?.taskId) ?? u.task.id,
          open_run: u.standing.kind === 'failed' ? u.standing.runId : (u.built?.runId ?? null),
        }),
      ),
    }));
    return { kind: 'read', project: info, start: s.range.start, end: s.range.end, history_start: s.cut?.history ?? null, nothing_built: s.nothingBuilt, nodes };
  } catch (e) {
    if (e instanceof WarehouseLockedError) return { kind: 'held', project: info, held_by: heldBy(e), held_pid: e.holderPid ?? null, live: liveRun(project.warehousePath, e) };
    throw e;
  }
}

/**
 * `pipe ui-coverage`: the coverage as pipe ui's server asks it of a process of its own (see
 * coverage-process.ts): the status to answer with, then the answer, masked as the server masks
 * what it sends; a problem (a bad range, a plan too large for the heap) as the server answers
 * it. The warehouse is read as the server's pages read it: not while a pipe command waits to
 * write it.
 */
export async function coverageAnswer(options: ProjectOptions, range: { start?: string; end?: string }): Promise<string> {
  let stopYielding = () => undefined as void;
  try {
    stopYielding = Engine.readsBetweenWriters(openProject(options).warehousePath, UI_READER);
    return coverageText(200, secrets.maskDeep(await readCoverage(options, range)));
  } catch (e) {
    let problem: UiProblem;
    try {
      problem = asProblem(e);
    } catch {
      problem = new UiProblem(`internal error: ${e instanceof Error ? e.message : String(e)}`, 500);
    }
    return coverageText(problem.status, { error: secrets.mask(problem.message) });
  } finally {
    stopYielding();
  }
}

/** The holder's running run and the tasks it has finished, if its log is there. */
function liveRun(warehouse: string, locked: WarehouseLockedError): UiCoverageLive | null {
  const run = readRunLogs(warehouse, { alive: aliveAs(locked, processAlive), limit: 5 }).find((r) => r.status === 'running');
  if (!run) return null;
  const finished: UiCoverageLive['finished'][number][] = [];
  for (const t of run.task_rows) if (t.status === 'succeeded' || t.status === 'failed') finished.push({ node: t.node, ds: t.ds, status: t.status });
  return { run_id: run.run_id, finished };
}
