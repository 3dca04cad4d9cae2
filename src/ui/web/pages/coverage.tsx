import type { ComponentChildren } from 'preact';
import { useMemo, useRef, useState } from 'preact/hooks';
import type { UiCoverage, UiCoverageLive, UiCoverageNode } from '../../api.js';
import { count } from '../format.js';
import { columnsOf, Heatmap, STATES, type Hit } from '../heatmap.js';
import { Loading } from '../parts.js';
import { go, type Route } from '../router.js';
import { useData, useLive } from '../use-data.js';

/**
 * How current every model is, date by date: `pipe status` as a heatmap, with filters by name,
 * by standing and by dates (the dates are judged by the server; the others filter what it sent).
 */

type CoverageRoute = Extract<Route, { page: 'coverage' }>;

type Read = Extract<UiCoverage, { kind: 'read' }>;

export function CoveragePage({ route }: { route: CoverageRoute }) {
  const query = route.start && route.end ? `?start=${encodeURIComponent(route.start)}&end=${encodeURIComponent(route.end)}` : '';
  const path = `/api/coverage${query}`;
  const [loaded, reload] = useData<UiCoverage>(path);
  // While a run holds the warehouse, the heatmap read before it stays on the page.
  const last = useRef<{ path: string; data: Read } | null>(null);
  if (loaded.state === 'ready' && loaded.data.kind === 'read') last.current = { path, data: loaded.data };
  const held = loaded.state === 'ready' && loaded.data.kind === 'held' ? loaded.data : null;
  // Live as the runs pages are: read again when the run logs change, and, while another
  // process holds the warehouse, once that process is gone (status cannot read it before).
  useLive(held?.held_pid ? `free=${held.held_pid}` : '', reload, { catchUp: Boolean(held?.held_pid) });
  const before = last.current?.path === path ? last.current.data : null;
  return (
    <Loading loaded={loaded}>
      {(data) => {
        switch (data.kind) {
          case 'held': {
            const note = (
              <p class="note" data-testid="held">
                The warehouse is in use ({data.held_by}): pipe status reads it to judge each date, so coverage{' '}
                {before
                  ? `is shown as it was before${data.live ? `, with what run ${data.live.run_id} has built or failed so far,` : ''} and is read again`
                  : 'shows'}{' '}
                once it is free.{' '}
                <button onClick={reload}>Try again</button>
              </p>
            );
            return before ? (
              <Coverage data={data.live ? withLive(before, data.live) : before} route={route} reload={reload} note={note} />
            ) : (
              <>
                <h1>Coverage of {data.project.name}</h1>
                {note}
              </>
            );
          }
          case 'read':
            return <Coverage data={data} route={route} reload={reload} />;
          default: {
            const never: never = data;
            throw new Error(`internal error: coverage ${JSON.stringify(never)}`);
          }
        }
      }}
    </Loading>
  );
}

function Coverage({ data, route, reload, note }: { data: Read; route: CoverageRoute; reload: () => void; note?: ComponentChildren }) {
  const set = (change: Partial<CoverageRoute>) => go({ ...route, ...change });
  const columns = useMemo(() => columnsOf(data.nodes), [data]);
  const rows = useMemo(() => shown(data.nodes, route.q, route.state), [data, route.q, route.state]);
  const tally = useMemo(() => {
    const out = new Map<string, number>();
    for (const n of rows) for (const u of n.units) out.set(u.state, (out.get(u.state) ?? 0) + 1);
    return out;
  }, [rows]);
  const pick = (hit: Hit) =>
    go(hit.kind === 'cell' && hit.unit.open_run ? { page: 'run', runId: hit.unit.open_run, task: hit.unit.task_id } : { page: 'model', name: hit.node.node });
  return (
    <>
      <h1>Coverage of {data.project.name}</h1>
      {note}
      {data.nothing_built && <p class="note">Nothing is built in {data.project.warehouse} yet: no model or seed has been published there.</p>}
      {data.history_start !== null && (
        <p class="note" data-testid="cut">
          Dates before {data.start} are not judged: the history on record reaches back to {data.history_start}. Choose the dates to judge them.
        </p>
      )}
      <div class="controls">
        <input type="search" placeholder={`search ${count(data.nodes.length)} models and seeds`} value={route.q ?? ''} data-testid="coverage-search" onInput={(e) => go({ ...route, q: (e.target as HTMLInputElement).value || undefined }, { replace: true })} />
        <select data-testid="coverage-state" value={route.state ?? ''} onChange={(e) => set({ state: (e.target as HTMLSelectElement).value || undefined })}>
          <option value="">any standing</option>
          {STATES.map((s) => (
            <option value={s.state}>{s.label}</option>
          ))}
        </select>
        <DateRange start={route.start ?? data.start} end={route.end ?? data.end} chosen={route.start !== undefined} onApply={(start, end) => set({ start, end })} />
        <button onClick={reload}>Reload</button>
      </div>
      <p class="legend" data-testid="legend">
        {STATES.map((s) => (
          <button
            type="button"
            class="swatch"
            aria-pressed={route.state === s.state}
            title={route.state === s.state ? 'show every standing' : `show only the models with a ${s.label} date`}
            style={{ background: s.colour, color: s.state === 'never-built' || s.state === 'stale' ? '#1d2329' : '#fff', opacity: route.state && route.state !== s.state ? 0.35 : 1, cursor: 'pointer' }}
            onClick={() => set({ state: route.state === s.state ? undefined : s.state })}
          >
            {s.label} {count(tally.get(s.state) ?? 0)}
          </button>
        ))}
      </p>
      {rows.length === 0 ? <p class="muted">No model matches.</p> : <Heatmap rows={rows} columns={columns} state={route.state} onPick={pick} />}
      <p class="muted">
        Dates {data.start}…{data.end}
        {route.start === undefined ? " (each model from its begin or first build to yesterday, as pipe status's default)" : ''}; {count(rows.length)} of {count(data.nodes.length)} shown.
      </p>
    </>
  );
}

/**
 * What was read before a run took the warehouse, with the dates that run has finished since as
 * its log tells: built (current) or failed. A model built whole is matched by its name, a dated
 * one by its name and date.
 */
export function withLive(before: Read, live: UiCoverageLive): Read {
  const done = new Map(live.finished.map((t) => [`${t.node}@${t.ds ?? ''}`, t.status]));
  const byNode = new Map(live.finished.map((t) => [t.node, t.status]));
  const nodes = before.nodes.map((n) => ({
    ...n,
    units: n.units.map((u) => {
      const status = n.dated ? done.get(`${n.node}@${u.interval ?? ''}`) : byNode.get(n.node);
      // A model that always runs (it reads files pipe cannot date) stays so once built.
      if (status === undefined || (status === 'succeeded' && u.state === 'untracked')) return u;
      return { ...u, state: status === 'succeeded' ? 'current' : 'failed', reason: `${status} in run ${live.run_id}, which goes on`, open_run: live.run_id };
    }),
  }));
  return { ...before, nothing_built: before.nothing_built && !live.finished.some((t) => t.status === 'succeeded'), nodes };
}

/** The models whose name has the search text and that have a date of the chosen standing. */
function shown(nodes: readonly UiCoverageNode[], q: string | undefined, state: string | undefined): UiCoverageNode[] {
  const text = (q ?? '').trim().toLowerCase();
  return nodes.filter((n) => (!text || n.node.toLowerCase().includes(text)) && (!state || n.units.some((u) => u.state === state)));
}

/** The dates judged: both or neither, as `pipe status --start/--end`. */
function DateRange({ start, end, chosen, onApply }: { start: string; end: string; chosen: boolean; onApply: (start?: string, end?: string) => void }) {
  const [from, setFrom] = useState(start);
  const [to, setTo] = useState(end);
  return (
    <span>
      <input type="date" value={from} data-testid="coverage-start" onInput={(e) => setFrom((e.target as HTMLInputElement).value)} /> to{' '}
      <input type="date" value={to} data-testid="coverage-end" onInput={(e) => setTo((e.target as HTMLInputElement).value)} />{' '}
      <button disabled={!from || !to || from > to} onClick={() => onApply(from, to)}>
        Show dates
      </button>
      {from && to && from > to && (
        <span class="note" data-testid="coverage-range-problem">
          {' '}
          the first date is after the last
        </span>
      )}
      {chosen && <button onClick={() => onApply(undefined, undefined)}>Default dates</button>}
    </span>
  );
}
