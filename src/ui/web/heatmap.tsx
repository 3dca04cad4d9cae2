import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { UiCoverageNode, UiCoverageUnit } from '../api.js';

/**
 * The coverage heatmap: a row per model, a column per date, each cell coloured by the standing
 * `pipe status` gives that model's interval; a model built whole is one cell across the row.
 * Drawn on one canvas, so that a hundred models by a year of dates stays quick; a click is
 * mapped back to its cell (`cellAt`).
 */

export const CELL = 12;
export const LABEL = 220;
export const HEAD = 22;

/** The standings of `pipe status`, in its words, with their colours. */
export const STATES: readonly { readonly state: string; readonly label: string; readonly colour: string }[] = [
  { state: 'current', label: 'current', colour: '#2e9e44' },
  { state: 'stale', label: 'stale', colour: '#c9a227' },
  { state: 'modified', label: 'modified', colour: '#8a55c9' },
  { state: 'failed', label: 'failed', colour: '#d73a3a' },
  { state: 'never-built', label: 'never built', colour: '#c8ccd2' },
  { state: 'dropped', label: 'dropped', colour: '#59636e' },
  { state: 'untracked', label: 'always runs', colour: '#2f7bd8' },
];
const COLOUR = new Map(STATES.map((s) => [s.state, s.colour]));
export const stateLabel = (state: string) => STATES.find((s) => s.state === state)?.label ?? state;

export interface Columns {
  /** Each date's interval label, oldest first. */
  readonly labels: readonly string[];
  readonly index: ReadonlyMap<string, number>;
}

/** The dates of the dated models' intervals, oldest first. */
export function columnsOf(nodes: readonly UiCoverageNode[]): Columns {
  const starts = new Map<string, string>();
  for (const n of nodes) if (n.dated) for (const u of n.units) if (u.interval !== undefined) starts.set(u.interval, u.start ?? u.interval);
  const labels = [...starts.keys()].sort((a, b) => starts.get(a)!.localeCompare(starts.get(b)!));
  return { labels, index: new Map(labels.map((l, i) => [l, i])) };
}

export type Hit = { readonly kind: 'model'; readonly node: UiCoverageNode } | { readonly kind: 'cell'; readonly node: UiCoverageNode; readonly unit: UiCoverageUnit };

/** What is at a point of the canvas (CSS pixels): a model's name, one of its cells, or nothing. */
export function cellAt(rows: readonly UiCoverageNode[], columns: Columns, x: number, y: number): Hit | undefined {
  const row = Math.floor((y - HEAD) / CELL);
  const node = rows[row];
  if (y < HEAD || !node) return undefined;
  if (x < LABEL) return { kind: 'model', node };
  if (!node.dated) return node.units[0] && x < LABEL + Math.max(1, columns.labels.length) * CELL ? { kind: 'cell', node, unit: node.units[0] } : undefined;
  const label = columns.labels[Math.floor((x - LABEL) / CELL)];
  const unit = node.units.find((u) => u.interval === label);
  return unit ? { kind: 'cell', node, unit } : undefined;
}

/** A place on the heatmap a keyboard can be at: a row, and a column (-1: the model's name). */
interface Spot {
  readonly row: number;
  readonly col: number;
}

/** What is at a spot: a model's name, one of its cells, or nothing (a date it has no record for). */
export function hitAt(rows: readonly UiCoverageNode[], columns: Columns, spot: Spot): Hit | undefined {
  const node = rows[spot.row];
  if (!node) return undefined;
  if (spot.col < 0) return { kind: 'model', node };
  if (!node.dated) return node.units[0] && { kind: 'cell', node, unit: node.units[0] };
  const unit = node.units.find((u) => u.interval === columns.labels[spot.col]);
  return unit && { kind: 'cell', node, unit };
}

/** The columns a row has: a model built whole has one cell across its row. */
const lastCol = (node: UiCoverageNode | undefined, columns: Columns) => (node && !node.dated ? 0 : Math.max(0, columns.labels.length - 1));

/** Where a key moves the keyboard's spot to; undefined for a key that does not move it. */
export function moved(rows: readonly UiCoverageNode[], columns: Columns, at: Spot, key: string): Spot | undefined {
  const clamp = (row: number, col: number): Spot => {
    const r = Math.min(rows.length - 1, Math.max(0, row));
    return { row: r, col: Math.min(lastCol(rows[r], columns), Math.max(-1, col)) };
  };
  switch (key) {
    case 'ArrowLeft':
      return clamp(at.row, at.col - 1);
    case 'ArrowRight':
      return clamp(at.row, at.col + 1);
    case 'ArrowUp':
      return clamp(at.row - 1, at.col);
    case 'ArrowDown':
      return clamp(at.row + 1, at.col);
    case 'PageUp':
      return clamp(at.row - 10, at.col);
    case 'PageDown':
      return clamp(at.row + 10, at.col);
    case 'Home':
      return clamp(at.row, -1);
    case 'End':
      return clamp(at.row, lastCol(rows[at.row], columns));
    default:
      return undefined;
  }
}

export function Heatmap({ rows, columns, state, onPick }: { rows: readonly UiCoverageNode[]; columns: Columns; state?: string; onPick: (hit: Hit) => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const focus = useRef<HTMLButtonElement>(null);
  const [hover, setHover] = useState<Hit | undefined>();
  // The keyboard's place: one button over the canvas, moved by the arrow keys (one stop of Tab, not one per cell).
  const [spot, setSpot] = useState<Spot>({ row: 0, col: 0 });
  const [focused, setFocused] = useState(false);
  const at = useMemo(() => {
    const row = Math.min(spot.row, rows.length - 1);
    return { row, col: Math.min(spot.col, lastCol(rows[row], columns)) };
  }, [spot, rows, columns]);
  const here = hitAt(rows, columns, at);
  useEffect(() => {
    if (focused) focus.current?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }, [at, focused]);
  // Room for the first date's label however few dates there are.
  const width = LABEL + Math.max(80, columns.labels.length * CELL) + 8;
  const height = HEAD + rows.length * CELL + 4;
  const cells = useMemo(() => rows.reduce((n, r) => n + r.units.length, 0), [rows]);
  useEffect(() => {
    const c = canvas.current!;
    const ratio = window.devicePixelRatio || 1;
    c.width = width * ratio;
    c.height = height * ratio;
    const g = c.getContext('2d')!;
    g.scale(ratio, ratio);
    g.clearRect(0, 0, width, height);
    g.font = '11px system-ui, sans-serif';
    g.textBaseline = 'middle';
    // A date label where there is room for one: about every 80 px.
    const every = Math.max(1, Math.ceil(80 / CELL));
    g.fillStyle = '#6a737d';
    for (let i = 0; i < columns.labels.length; i += every) {
      g.fillRect(LABEL + i * CELL, HEAD - 6, 1, 5);
      g.fillText(columns.labels[i], LABEL + i * CELL, HEAD / 2 - 2);
    }
    rows.forEach((r, i) => {
      const y = HEAD + i * CELL;
      g.globalAlpha = 1;
      g.fillStyle = '#1d2329';
      g.textAlign = 'right';
      g.fillText(r.node.length > 34 ? `${r.node.slice(0, 33)}…` : r.node, LABEL - 8, y + CELL / 2);
      g.textAlign = 'left';
      for (const u of r.units) {
        const col = r.dated ? columns.index.get(u.interval ?? '') : 0;
        if (col === undefined) continue;
        const w = r.dated ? CELL - 1 : Math.max(1, columns.labels.length) * CELL - 1;
        g.globalAlpha = state === undefined || u.state === state ? 1 : 0.2;
        g.fillStyle = COLOUR.get(u.state) ?? '#000';
        g.fillRect(LABEL + col * CELL, y, w, CELL - 1);
      }
    });
  }, [rows, columns, state, width, height]);
  const pointed = (e: MouseEvent) => {
    const box = (e.target as HTMLCanvasElement).getBoundingClientRect();
    return cellAt(rows, columns, e.clientX - box.left, e.clientY - box.top);
  };
  const left = at.col < 0 ? 0 : LABEL + at.col * CELL;
  const cellWidth = at.col < 0 ? LABEL - 4 : rows[at.row]?.dated ? CELL : Math.max(1, columns.labels.length) * CELL;
  const said = focused ? (here ? describe(here) : `${rows[at.row]?.node ?? ''} ${columns.labels[at.col] ?? ''}: nothing judged`) : undefined;
  return (
    <>
      <p class="muted heat-hover" data-testid="heatmap-hover" aria-live="polite">
        {hover ? describe(hover) : (said ?? 'Point at a cell for its standing; click it to open the run that built or failed it.')}
      </p>
      <div class="scroll heatmap">
        <canvas
          ref={canvas}
          data-testid="heatmap"
          data-rows={rows.length}
          data-cols={columns.labels.length}
          data-cells={cells}
          style={{ width: `${width}px`, height: `${height}px`, cursor: hover ? 'pointer' : 'default' }}
          aria-hidden="true"
          onMouseMove={(e) => setHover(pointed(e))}
          onMouseLeave={() => setHover(undefined)}
          onClick={(e) => {
            const hit = pointed(e);
            if (hit) onPick(hit);
          }}
        />
        <button
          ref={focus}
          type="button"
          class="heat-focus"
          data-testid="heat-cell"
          aria-label={`${here ? describe(here) : `${rows[at.row]?.node ?? ''} ${columns.labels[at.col] ?? ''}: nothing judged`}; row ${at.row + 1} of ${rows.length}`}
          aria-disabled={here ? undefined : 'true'}
          aria-describedby="heat-keys"
          style={{ left: `${left}px`, top: `${HEAD + at.row * CELL - 1}px`, width: `${cellWidth + 1}px`, height: `${CELL + 1}px` }}
          onFocus={() => setFocused(true)}
          onBlur={() => setFocused(false)}
          onKeyDown={(e) => {
            const next = moved(rows, columns, at, e.key);
            if (!next) return;
            e.preventDefault();
            setSpot(next);
          }}
          onClick={() => {
            if (here) onPick(here);
          }}
        />
      </div>
      <p class="muted" id="heat-keys">
        By keyboard: Tab to the heatmap, arrow keys to move (Home: the name, End: the last date, Page Up/Down: ten models), Enter to open.
      </p>
    </>
  );
}

function describe(hit: Hit): string {
  if (hit.kind === 'model') return `${hit.node.node} (${hit.node.kind}): open the model`;
  const u = hit.unit;
  const when = u.interval ?? 'built whole';
  // A failed date's reason names its run already.
  const run = u.open_run && u.state !== 'failed' ? ` · run ${u.open_run}` : '';
  return `${hit.node.node} ${when}: ${stateLabel(u.state)}${u.reason ? ` (${u.reason})` : ''}${run}`;
}
