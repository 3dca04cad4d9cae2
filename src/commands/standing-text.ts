import { intervalLabel } from '../dates/dates.js';
import type { Standing, TaskCoverage } from './task-coverage.js';

/**
 * A task's standing in words and as `pipe status --json` gives it: one wording for the
 * terminal, the JSON and `pipe ui`'s coverage.
 */

/** What made it not current, in a few words; undefined for current and never built. */
export function standingReason(s: Standing): string | undefined {
  switch (s.kind) {
    case 'current':
    case 'never-built':
      return undefined;
    case 'failed':
      return `run ${s.runId}`;
    case 'modified': {
      if (s.writtenBy !== undefined) return `its table was written since by ${s.writtenBy}`;
      if (s.builtElsewhere) return 'its latest build wrote another relation (another target, another schema)';
      if (s.hours !== undefined) return `built by the hour (${s.hours} of its 24 hours), never as the whole day, whose SQL differs`;
      // Its SQL is the render: the file, a macro it calls or a var it reads may have changed it.
      const what = s.changed.includes('file') ? 'its file or config changed' : s.changed.length === 2 ? 'its SQL and config changed' : s.changed[0] === 'sql' ? 'its SQL changed: its file, a macro or a var' : 'config changed';
      // The SQL of another date, not another model: say which date it was built for.
      if (s.builtFor === undefined || s.changed.length !== 1 || s.changed[0] !== 'sql') return what;
      // A day one of whose hours was built on its own after it: that hour holds the hour's rows.
      if (s.judgedFor !== undefined && s.builtFor.startsWith(`${s.judgedFor}T`)) return `its hour ${s.builtFor} was built on its own since`;
      // An hour written by its day's build: said alike for every hour, so that a day of them reads as one run.
      if (s.judgedFor !== undefined && s.judgedFor.startsWith(`${s.builtFor}T`)) return `built with its day ${s.builtFor}, whose SQL differs from the hour's`;
      return `built for ${s.builtFor}; its SQL for ${s.judgedFor} differs`;
    }
    case 'stale': {
      if (s.afterAlwaysRuns) return `runs again after ${s.inputs.join(', ')}, which always runs`;
      const changed = s.inputs.filter((i) => !s.unknown.includes(i));
      return [changed.length > 0 ? `${changed.join(', ')} changed` : '', s.unknown.length > 0 ? `cannot tell what ${s.unknown.join(', ')} ${s.unknown.length === 1 ? 'holds' : 'hold'} now (gone, or unreadable)` : '']
        .filter(Boolean)
        .join('; ');
    }
    case 'dropped':
      return 'its relation is gone';
    case 'untracked':
      return s.why;
    default: {
      const never: never = s;
      throw new Error(`internal error: standing ${JSON.stringify(never)}`);
    }
  }
}

/** One interval (or a whole build) as `pipe status --json` tells it. */
export function unitJson(u: TaskCoverage): Record<string, unknown> {
  const i = u.task.interval;
  return {
    ...(u.task.tracking?.key ? { interval: intervalLabel(i!), start: new Date(i!.start).toISOString(), end: new Date(i!.end).toISOString() } : {}),
    state: u.standing.kind,
    ...(standingReason(u.standing) !== undefined ? { reason: standingReason(u.standing) } : {}),
    ...(u.standing.kind === 'stale' ? { inputs: u.standing.inputs } : {}),
    ...(u.standing.kind === 'modified' ? { changed: u.standing.changed } : {}),
    built_at: u.built ? new Date(u.built.at).toISOString() : null,
    run_id: u.built?.runId ?? null,
  };
}
