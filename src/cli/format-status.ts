import type { NodeCoverage } from '../commands/assess-coverage.js';
import type { Status } from '../commands/status.js';
import { formatTimestamp, intervalLabel } from '../dates/dates.js';
import type { Standing, StandingKind, TaskCoverage } from '../commands/task-coverage.js';
import { standingReason, unitJson } from '../commands/standing-text.js';
import { textTable as table } from '../logging/width.js';

/** Runs of dates shown per model before the rest is counted (`--json` lists every interval). */
const MAX_RUNS = 12;

const LABEL: Record<StandingKind, string> = {
  current: 'current',
  'never-built': 'never built',
  failed: 'failed',
  modified: 'modified',
  stale: 'stale',
  dropped: 'dropped',
  untracked: 'always runs',
};


function described(s: Standing): string {
  const why = standingReason(s);
  return why === undefined ? LABEL[s.kind] : `${LABEL[s.kind]} (${why})`;
}

/** Consecutive intervals of the same standing as one run: `stale 2024-01-29…2024-01-30 (customers changed)`. */
function runsOf(units: readonly TaskCoverage[]): string[] {
  const runs: { standing: Standing; text: string; first: string; last: string; end: number }[] = [];
  for (const u of units) {
    const interval = u.task.interval!;
    const text = described(u.standing);
    const prev = runs[runs.length - 1];
    if (prev && prev.text === text && prev.end === interval.start) {
      prev.last = intervalLabel(interval);
      prev.end = interval.end;
    } else runs.push({ standing: u.standing, text, first: intervalLabel(interval), last: intervalLabel(interval), end: interval.end });
  }
  return runs.map((r) => {
    const why = standingReason(r.standing);
    return `${LABEL[r.standing.kind]} ${r.first === r.last ? r.first : `${r.first}…${r.last}`}${why === undefined ? '' : ` (${why})`}`;
  });
}

function nodeLine(n: NodeCoverage): string {
  if (n.dated) {
    if (n.units.length === 0) return n.everBuilt ? 'no date in the range' : 'never built (no begin and no build to start from: give --start and --end)';
    const runs = runsOf(n.units);
    const shown = runs.slice(0, MAX_RUNS).join(' · ');
    return runs.length > MAX_RUNS ? `${shown} · … ${runs.length - MAX_RUNS} more runs` : shown;
  }
  const u = n.units[0];
  if (!u) return 'not judged';
  const built = u.built ? ` · built ${formatTimestamp(u.built.at)} by run ${u.built.runId}` : '';
  return `${described(u.standing)}${built}`;
}

/** Counts per standing over every interval and whole build shown. */
function counts(nodes: readonly NodeCoverage[]): Map<StandingKind, number> {
  const out = new Map<StandingKind, number>();
  for (const n of nodes) for (const u of n.units) out.set(u.standing.kind, (out.get(u.standing.kind) ?? 0) + 1);
  return out;
}

/** Models kept by date with no date to judge (never built, no begin, and no --start): in no count. */
const unjudged = (s: Status) => s.nodes.filter((n) => n.dated && n.units.length === 0).length;

/** The records `pipe status --json` prints, a line each: a `node` record per node, then a `summary`. */
export function statusRecords(s: Status): Record<string, unknown>[] {
  const tally = counts(s.nodes);
  const total = [...tally.values()].reduce((a, b) => a + b, 0);
  const nodes = s.nodes.map((n) => ({
    type: 'node',
    node: n.node,
    kind: n.kind,
    dated: n.dated,
    ever_built: n.everBuilt,
    ...(n.dated ? { intervals: n.units.map(unitJson) } : n.units[0] ? unitJson(n.units[0]) : {}),
  }));
  const summary = {
    type: 'summary',
    start: s.range.start,
    end: s.range.end,
    ...(s.cut ? { history_start: s.cut.history } : {}),
    nothing_built: s.nothingBuilt,
    nodes: s.nodes.length,
    total,
    unjudged: unjudged(s),
    ...Object.fromEntries([...tally].map(([k, v]) => [k.replace('-', '_'), v])),
  };
  return [...nodes, summary];
}

export function formatStatus(s: Status, json: boolean): string {
  if (json) return statusRecords(s).map((r) => JSON.stringify(r)).join('\n');
  const tally = counts(s.nodes);
  const total = [...tally.values()].reduce((a, b) => a + b, 0);
  const current = tally.get('current') ?? 0;
  const lines: string[] = [];
  if (s.nothingBuilt) lines.push(`nothing is built in ${s.warehouse} yet: no model or seed has been published there`, '');
  if (s.nodes.length === 0) return [...lines, 'nothing selected'].join('\n');
  lines.push(table(['NODE', 'KIND', 'STATUS'], s.nodes.map((n) => [n.node, n.kind, nodeLine(n)])));
  const notCurrent = (Object.keys(LABEL) as StandingKind[]).filter((k) => k !== 'current' && tally.has(k)).map((k) => `${tally.get(k)} ${LABEL[k]}`);
  const range = s.defaultRange ? `to ${s.range.end}` : `${s.range.start}…${s.range.end}`;
  const apart = unjudged(s) > 0 ? `; ${unjudged(s)} model${unjudged(s) === 1 ? '' : 's'} kept by date with no date to judge` : '';
  lines.push('', `${current} of ${total} current${notCurrent.length > 0 ? `, ${notCurrent.join(', ')}` : ''}${apart} (${s.nodes.length} node${s.nodes.length === 1 ? '' : 's'}, dates ${range})`);
  if (s.cut) {
    const { models } = s.cut;
    const why = models === undefined ? '' : ` for ${models.count.toLocaleString('en-US')} models kept by date (${models.tasks.toLocaleString('en-US')} model-dates at most)`;
    lines.push(`dates before ${s.cut.from} are not judged: the history on record reaches back to ${s.cut.history}, past the ${s.cut.most.toLocaleString('en-US')} dates pipe judges at once${why}; give --start and --end to judge them`);
  }
  return lines.join('\n');
}

