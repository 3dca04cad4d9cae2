import { expect } from 'vitest';
import { eventsOfType, explain, type PipeResult } from '../e2e/helpers.js';
import { dryRunIn, statusIn } from './in-process.js';

/** What `pipe status --json` prints, one line per node, read back by task id. */

export interface Unit {
  readonly interval?: string;
  readonly state: string;
  readonly reason?: string;
  readonly run_id: string | null;
}

export interface NodeLine extends Partial<Unit> {
  readonly node: string;
  readonly kind: string;
  readonly dated: boolean;
  readonly intervals?: Unit[];
}

/** The node lines of a `pipe status --json`, by node. */
export function statusNodes(r: PipeResult): Map<string, NodeLine> {
  return new Map(eventsOfType(r.events, 'node').map((e) => [String(e.node), e as unknown as NodeLine]));
}

/** The standing of each task as status shows it, by the id a backfill ending on `end` gives the task. */
export function standings(nodes: ReadonlyMap<string, NodeLine>, end: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of nodes.values()) {
    if (n.dated) for (const u of n.intervals ?? []) out.set(`${n.node}@${u.interval}`, u.state);
    else out.set(n.kind === 'seed' ? n.node : `${n.node}@${end}`, n.state!);
  }
  return out;
}

/** The ids of the tasks status shows as anything but current, sorted. */
export function notCurrent(nodes: ReadonlyMap<string, NodeLine>, end: string): string[] {
  return [...standings(nodes, end)]
    .filter(([, s]) => s !== 'current')
    .map(([id]) => id)
    .sort();
}

/**
 * What `pipe status --json` shows as not current over `dates`, checked against what
 * `pipe backfill --missing --dry-run` of the same dates would build: the same tasks.
 */
export async function notCurrentAgreed(dir: string, dates: { readonly start: string; readonly end: string }, context = ''): Promise<string[]> {
  const status = await statusIn(dir, { ...dates, json: true });
  expect(status.code, explain(status)).toBe(0);
  const shown = notCurrent(statusNodes(status), dates.end);
  const dry = await dryRunIn(dir, { ...dates, missing: true });
  expect(dry.code, explain(dry)).toBe(0);
  const planned = [...dry.stdout.matchAll(/^\s*\d+\. (\S+)/gm)].map((m) => m[1]);
  expect(planned.sort(), `${context}: --missing --dry-run against status`).toEqual(shown);
  return shown;
}
