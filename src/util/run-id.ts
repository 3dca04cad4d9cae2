import { randomBytes } from 'node:crypto';

/** A run's id: its start time to the second (UTC) and four random hex digits, e.g. `20240102T030405-3fa1`. */
export function newRunId(now = Date.now()): string {
  const t = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
  const id = `${t}-${randomBytes(2).toString('hex')}`;
  // A long-lived process (schedule, watch, worker) makes a run id a run: the oldest are let go.
  if (made.size >= MADE_LIMIT) made.delete(made.keys().next().value!);
  made.set(id, now);
  return id;
}

/** The runs this process made an id for, with the instant to the millisecond. */
const made = new Map<string, number>();
const MADE_LIMIT = 10_000;

/**
 * When the run of `runId` was asked for (ms since the epoch): to the millisecond for a run this
 * process made the id of, else to the second its id says; undefined for an id not made by newRunId.
 */
export function runStartOf(runId: string): number | undefined {
  const known = made.get(runId);
  if (known !== undefined) return known;
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})-/.exec(runId);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) : undefined;
}
