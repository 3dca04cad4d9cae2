import type { HookAsks, RenderedHookSql } from '../analyze/analyze.js';
import type { Diagnostic, Location } from '../diagnostics/diagnostics.js';
import type { Answer } from '../warehouse/introspection.js';
import type { RenderAtRun, TemplateMessage } from './task.js';

/**
 * A hook (a model's, or on-run-start/end) that queries the warehouse while it renders, as
 * rendered when it runs: each render with the answers so far gives its SQL, the next question
 * (asked at the hook's place), or why it cannot run, with what it said up to there (`report`
 * is where the render tells it); `check` refuses SQL the hook may not run.
 */
export function hookAtRun(
  render: (answers: ReadonlyMap<string, Answer>, report: (message: TemplateMessage) => void) => RenderedHookSql | string | Diagnostic | HookAsks,
  location: Location,
  check: (sql: string) => Diagnostic | undefined = () => undefined,
): RenderAtRun<string> {
  return {
    render: (answers) => {
      const said: TemplateMessage[] = [];
      const r = render(answers, (m) => said.push(m));
      if (typeof r !== 'string' && 'asks' in r) return { kind: 'asks', question: r.asks, location: r.at ?? location, said };
      if (typeof r !== 'string' && 'severity' in r) return { kind: 'failed', diagnostics: [r], said };
      const sql = typeof r === 'string' ? r : r.sql;
      const refused = check(sql);
      return refused ? { kind: 'failed', diagnostics: [refused], said } : { kind: 'rendered', value: sql, said };
    },
  };
}
