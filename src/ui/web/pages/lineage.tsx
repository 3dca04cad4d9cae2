import { docsIndex } from '../static-data.js';
import { useMemo } from 'preact/hooks';
import type { UiGraph, UiNode } from '../../api.js';
import { count } from '../format.js';
import { downstreamOf, edgesAmong, neighbourhood, search } from '../lineage/neighbourhood.js';
import { useLayout } from '../lineage/use-layout.js';
import { ChangedNote, Loading, SourceNote } from '../parts.js';
import { go, href, type Route } from '../router.js';
import { useData, useRunsChanged } from '../use-data.js';

/** Nodes drawn at most: enough to read a neighbourhood, few enough to draw and lay out at once. */
export const LINEAGE_CAP = 150;
const SEARCH_HITS = 20;
const NODE_W = 180;
const NODE_H = 30;

type LineageRoute = Extract<Route, { page: 'lineage' }>;

export function LineagePage({ route }: { route: LineageRoute }) {
  const [loaded, reload] = useData<UiGraph>('/api/graph');
  // Not read again as runs go on (the graph of a large project is costly): it says when they did.
  const [changed, seen] = useRunsChanged(!docsIndex());
  const again = () => {
    seen();
    reload();
  };
  return (
    <Loading loaded={loaded}>
      {(data) => (
        <>
          <ChangedNote changed={changed} onReload={again} />
          <Lineage data={data} route={route} />
        </>
      )}
    </Loading>
  );
}

function Lineage({ data, route }: { data: UiGraph; route: LineageRoute }) {
  const downstream = useMemo(() => downstreamOf(data.nodes), [data]);
  const byName = useMemo(() => new Map(data.nodes.map((n) => [n.name, n])), [data]);
  // In the URL, as the focus is: Back and Forward bring back the text with the graph it went with.
  const text = route.q ?? '';
  const hits = useMemo(() => search(data.nodes, text, SEARCH_HITS), [data, text]);
  const hood = useMemo(() => neighbourhood(data.nodes, downstream, route.focus, route.up, route.down, LINEAGE_CAP), [data, downstream, route.focus, route.up, route.down]);
  const request = useMemo(
    () => ({ nodes: hood.names.map((name) => ({ name, width: NODE_W, height: NODE_H })), edges: edgesAmong(data.nodes, hood.names) }),
    [data, hood],
  );
  const layout = useLayout(request);
  const focus = route.focus !== undefined ? byName.get(route.focus) : undefined;
  const set = (change: Partial<LineageRoute>) => go({ ...route, ...change });
  return (
    <>
      <h1>Lineage of {data.project.name}</h1>
      <SourceNote source={data.source} live={false} />
      {data.problems.length > 0 && (
        <div class="note problems" data-testid="problems">
          <p>
            The project has {count(data.problems.length)} error{data.problems.length === 1 ? '' : 's'} (a run refuses it until they are fixed); the graph is the rest of it:
          </p>
          <ul>
            {data.problems.map((p) => (
              <li>
                <code>{p}</code>
              </li>
            ))}
          </ul>
        </div>
      )}
      <div class="controls">
        <input
          type="search"
          placeholder={`search ${count(data.nodes.length)} models, seeds and sources`}
          value={text}
          data-testid="search"
          // Typing is one step of the history, not one a letter (as the coverage search).
          onInput={(e) => go({ ...route, q: (e.target as HTMLInputElement).value || undefined }, { replace: true })}
        />
        <label>
          up <input type="number" min={0} max={20} value={route.up} onChange={(e) => set({ up: Number((e.target as HTMLInputElement).value) })} />
        </label>
        <label>
          down <input type="number" min={0} max={20} value={route.down} onChange={(e) => set({ down: Number((e.target as HTMLInputElement).value) })} />
        </label>
        {focus && (
          <span>
            focus <strong>{focus.name}</strong> · <a href={href({ page: 'model', name: focus.name })}>open</a> ·{' '}
            <a href={href({ ...route, focus: undefined })}>clear</a>
          </span>
        )}
      </div>
      {hits.length > 0 && (
        <ul class="hits" data-testid="hits">
          {hits.map((name) => (
            <li>
              <button
                onClick={() => set({ focus: name, q: undefined })}
              >
                {name}
              </button>
            </li>
          ))}
        </ul>
      )}
      {route.focus !== undefined && !focus && <p class="error">No node named {route.focus}.</p>}
      <p class="muted" data-testid="shown">
        {count(hood.names.length)} of {count(data.nodes.length)} nodes
        {hood.more > 0 && (
          <span data-testid="more">
            {' '}
            · {count(hood.more)} more not drawn: {focus ? 'fewer hops' : 'search and focus on a node'} to see them
          </span>
        )}
      </p>
      <Legend />
      {layout ? <Drawing layout={layout} byName={byName} focus={route.focus} onPick={(name) => set({ focus: name })} /> : <p class="muted">Laying out…</p>}
    </>
  );
}

function Drawing({
  layout,
  byName,
  focus,
  onPick,
}: {
  layout: NonNullable<ReturnType<typeof useLayout>>;
  byName: ReadonlyMap<string, UiNode>;
  focus?: string;
  onPick: (name: string) => void;
}) {
  return (
    <div class="scroll lineage">
      <svg width={layout.width} height={layout.height} data-testid="lineage">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" class="arrow" />
          </marker>
        </defs>
        {layout.edges.map((e) => (
          <polyline class="edge" points={e.points.map((p) => `${p.x},${p.y}`).join(' ')} marker-end="url(#arrow)" />
        ))}
        {Object.entries(layout.positions).map(([name, p]) => {
          const n = byName.get(name);
          return (
            <g
              class={`node kind-${n?.kind ?? 'model'} last-${n?.last_status ?? 'never'}${name === focus ? ' focus' : ''}`}
              data-node={name}
              transform={`translate(${p.x - NODE_W / 2},${p.y - NODE_H / 2})`}
              onClick={() => onPick(name)}
              // Reached with Tab and focused with Enter or Space, as a button is.
              tabindex={0}
              role="button"
              aria-label={`focus on ${name}`}
              onKeyDown={(e) => {
                if (e.key !== 'Enter' && e.key !== ' ') return;
                e.preventDefault();
                onPick(name);
              }}
            >
              <title>{`${name} (${n?.kind ?? '?'}${docsIndex() ? '' : `, ${n?.last_status ?? 'never run'}`}) ${n?.file ?? ''}`}</title>
              <rect width={NODE_W} height={NODE_H} rx={5} />
              <text x={8} y={19}>
                {name.length > 24 ? `${name.slice(0, 23)}…` : name}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}

function Legend() {
  return (
    <p class="legend">
      {['table', 'view', 'incremental', 'ephemeral', 'seed', 'source'].map((k) => (
        <span class={`swatch kind-${k}`}>{k}</span>
      ))}
      {/* The static docs show no runs: their borders say nothing of them. */}
      {!docsIndex() && <span class="muted"> · border: last status (green succeeded, red failed, grey never run)</span>}
    </p>
  );
}
