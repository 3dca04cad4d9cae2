import { UI_RUN_STATUSES, type UiRuns, type UiTaskCell } from '../../api.js';
import { count } from '../format.js';
import { Elapsed, Loading, SourceNote, Status } from '../parts.js';
import { go, href, type Route } from '../router.js';
import { heldPid, useData, useLive } from '../use-data.js';

/** Rows of the grid shown at most: a project of thousands of models is narrowed on the lineage page. */
export const GRID_ROWS = 300;

type RunsRoute = Extract<Route, { page: 'runs' }>;

/**
 * The runs, a page at a time, newest first: "Older runs" lists those after the last of the
 * page, in the URL (so Back returns to the page before, and a page can be shared), as the
 * status filter is.
 */
export function RunsPage({ route }: { route: RunsRoute }) {
  const query = new URLSearchParams(Object.entries({ status: route.status, before: route.before }).filter((e): e is [string, string] => e[1] !== undefined)).toString();
  const [loaded, reload] = useData<UiRuns>(`/api/runs${query ? `?${query}` : ''}`);
  // Read again when the run logs change, and once the process holding the warehouse is gone (killed, it writes no log again).
  const holder = loaded.state === 'ready' ? heldPid(loaded.data.source) : undefined;
  useLive(holder === undefined ? '' : `free=${holder}`, reload, { catchUp: true });
  const filtered = route.status !== undefined;
  return (
    <>
      <StatusFilter route={route} />
      <Loading loaded={loaded}>
        {(data) => (
          <>
            <h1>
              Runs of {data.project.name}
              {route.before && <span class="muted"> (older than {route.before})</span>}
            </h1>
            <SourceNote source={data.source} />
            {data.runs.length === 0 ? (
              <p class="muted">{route.before ? 'No older runs.' : filtered ? `No ${route.status} runs.` : 'No runs yet: pipe run builds the project.'}</p>
            ) : (
              <RunsTable data={data} />
            )}
            <Pages route={route} older={data.older} />
            {data.runs.length > 0 && <Grid data={data} />}
          </>
        )}
      </Loading>
    </>
  );
}

/** Links to the newest runs and to the next older page, keeping the filter. */
function Pages({ route, older }: { route: RunsRoute; older: string | null }) {
  if (!route.before && older === null) return null;
  return (
    <nav class="pages" aria-label="Pages of runs" data-testid="run-pages">
      {route.before && <a href={href({ page: 'runs', status: route.status })}>← Newest runs</a>}
      {older !== null && (
        <a href={href({ page: 'runs', status: route.status, before: older })} data-testid="older-runs">
          Older runs →
        </a>
      )}
    </nav>
  );
}

function StatusFilter({ route }: { route: RunsRoute }) {
  return (
    <label class="filter">
      Status{' '}
      <select
        data-testid="run-status"
        value={route.status ?? ''}
        // A new filter lists its newest runs.
        onChange={(e) => go({ page: 'runs', status: (e.target as HTMLSelectElement).value || undefined })}
      >
        <option value="">any</option>
        {UI_RUN_STATUSES.map((s) => (
          <option value={s}>{s}</option>
        ))}
      </select>
    </label>
  );
}

function RunsTable({ data }: { data: UiRuns }) {
  return (
    <div class="scroll">
    <table class="list" data-testid="runs">
      <thead>
        <tr>
          <th>Status</th>
          <th>Run</th>
          <th>Command</th>
          <th>Dates</th>
          <th>Started (UTC)</th>
          <th>Duration</th>
          <th class="num">Tasks</th>
          <th class="num">Succeeded</th>
          <th class="num">Failed</th>
          <th class="num">Skipped</th>
          <th class="num">Not done</th>
        </tr>
      </thead>
      <tbody>
        {data.runs.map((r) => (
          <tr data-run={r.run_id} class={`run status-row-${r.status}`}>
            <td>
              <Status status={r.status} />
              {r.retried_by && <div class="muted aside"> retried ({r.retry_status})</div>}
              {!r.retried_by && r.completed_by && <div class="muted aside">completed by {r.completed_by}</div>}
            </td>
            <td>
              <a href={href({ page: 'run', runId: r.run_id })} class="nowrap">
                {r.run_id}
              </a>
              {r.parent_run_id && <span class="muted"> retry of {r.parent_run_id}</span>}
            </td>
            <td>
              {r.command}
              {r.pipeline ? ` ${r.pipeline}` : ''}
            </td>
            <td class="nowrap">{r.dates}</td>
            <td class="nowrap">{r.started_at}</td>
            <td>
              <Elapsed ms={r.duration_ms} running={r.status === 'running'} />
            </td>
            <td class="num">{count(r.tasks)}</td>
            <td class="num">{count(r.succeeded)}</td>
            <td class="num">{count(r.failed)}</td>
            <td class="num">{count(r.skipped)}</td>
            <td class="num">{count(r.cancelled + r.pending + r.running)}</td>
          </tr>
        ))}
      </tbody>
    </table>
    </div>
  );
}

/** Airflow's grid: a column per run (oldest left), a row per node, a cell per task coloured by status. */
function Grid({ data }: { data: UiRuns }) {
  const runs = [...data.runs].reverse();
  const nodes: string[] = [];
  const seen = new Set<string>();
  const cells = runs.map((r) => {
    const byNode = new Map<string, UiTaskCell[]>();
    for (const c of r.cells) {
      if (!seen.has(c.node)) {
        seen.add(c.node);
        nodes.push(c.node);
      }
      byNode.set(c.node, [...(byNode.get(c.node) ?? []), c]);
    }
    return byNode;
  });
  const shown = nodes.slice(0, GRID_ROWS);
  return (
    <section>
      <h2>Grid</h2>
      <div class="scroll">
        <table class="grid" data-testid="grid">
          <thead>
            <tr>
              <th />
              {runs.map((r) => (
                <th class="run-col" title={`${r.run_id} (${r.command}, ${r.status})`}>
                  <a href={href({ page: 'run', runId: r.run_id })} class={`head status-${r.status}`} />
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map((node) => (
              <tr>
                <th class="node-name">
                  <a href={href({ page: 'model', name: node })}>{node}</a>
                </th>
                {runs.map((r, i) => (
                  <td>
                    <div class="cells">
                      {(cells[i].get(node) ?? []).map((c) => (
                        <a
                          class={`cell status-${c.status}`}
                          data-cell={`${r.run_id}/${c.task_id}`}
                          title={`${c.task_id}: ${c.status} (run ${r.run_id})`}
                          href={href({ page: 'run', runId: r.run_id, task: c.task_id })}
                        />
                      ))}
                    </div>
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {nodes.length > shown.length && <p class="muted">{count(nodes.length - shown.length)} more nodes not shown.</p>}
    </section>
  );
}
