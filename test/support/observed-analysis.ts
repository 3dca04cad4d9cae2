import type { Analysis } from '../../src/analyze/analyze.js';
import type { Interval } from '../../src/dates/dates.js';
import { NO_TABLE } from '../../src/plan/materializations.js';

/**
 * The parts of an analysis a run depends on, as plain data, to compare an analysis made from
 * caches with a fresh one: nodes, graph edges, diagnostics and messages, and each model's render
 * (its SQL, refs and config() calls), final SQL at `interval`, and which are rendered again as
 * their tasks run.
 */
export function observedAnalysis(a: Analysis, interval: Interval): unknown {
  const nodes = [...a.nodes.values()].sort((x, y) => x.name.localeCompare(y.name));
  const models = nodes.filter((n) => n.kind === 'model');
  const sql = Object.fromEntries(
    models.map((n) => {
      const r = a.renderer.renderRaw(n.name, interval, NO_TABLE);
      return [n.name, 'sql' in r ? { sql: r.sql, refs: r.refs, config: r.configCalls } : r];
    }),
  );
  const final = Object.fromEntries(models.map((n) => [n.name, a.renderer.sql(n.name, interval, NO_TABLE)]));
  const rendersAtRun = models.filter((n) => a.renderer.rendersAtRun(n.name)).map((n) => n.name);
  return JSON.parse(
    JSON.stringify({
      nodes,
      edges: [...a.graph.upstream].map(([n, up]) => [n, [...up].sort()]).sort(),
      graphNodes: a.graph.nodes,
      diagnostics: a.diagnostics,
      messages: a.messages,
      disabled: [...a.disabled].sort(),
      vars: a.vars,
      sql,
      final,
      rendersAtRun,
    }),
  );
}
