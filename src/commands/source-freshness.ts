import { existsSync } from 'node:fs';
import { warning, type Diagnostic } from '../diagnostics/diagnostics.js';
import type { SourceNode } from '../analyze/sources.js';
import { systemClock } from '../dates/dates.js';
import { Engine } from '../execute/engine.js';
import { analyzeAndSelect, heldWait, resolveInterval, type ProjectOptions, type SelectionOptions, type WaitOptions } from './context.js';
import { isMeasurable, measureFreshness, type FreshnessResult } from './freshness.js';
import { openProject, templateCacheOf } from './open-project.js';

/**
 * `pipe source freshness`: how fresh each selected source table is that declares `freshness:`
 * and `loaded_at_field:`, as dbt's command of that name reports it. Reads the warehouse,
 * writes nothing; the command fails (exit 1) when a table is past its `error_after` or cannot
 * be measured, as dbt's does.
 */

export interface FreshnessOptions extends ProjectOptions, SelectionOptions, WaitOptions {}

export interface FreshnessReport {
  readonly results: readonly FreshnessResult[];
  /** The analysis' warnings, and the tables that declare freshness but cannot be measured. */
  readonly warnings: readonly Diagnostic[];
}

export async function sourceFreshness(options: FreshnessOptions): Promise<FreshnessReport> {
  const project = openProject(options);
  const clock = options.clock ?? systemClock;
  // Templates render at an interval; which one does not change a source.
  const { interval } = resolveInterval(undefined, clock);
  const { analysis, selected, unbuilt } = analyzeAndSelect(project.files, { ...options, interval, validated: project, templateCache: templateCacheOf(project), buildsNothing: true });
  const warnings = [...analysis.diagnostics.filter((d) => d.severity === 'warning'), ...unbuilt];
  const sources = [...analysis.nodes.values()]
    .filter((n): n is SourceNode => n.kind === 'source' && selected.has(n.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const s of sources) {
    if (s.freshness !== undefined && !isMeasurable(s)) {
      warnings.push(warning('no-loaded-at-field', `source ${s.name} declares freshness: but no loaded_at_field: (nor loaded_at_query:), so its freshness is not checked`, s.location, {
        hint: 'name the timestamp column that says when each row was loaded: loaded_at_field: _loaded_at',
      }));
    }
  }
  const measurable = sources.filter(isMeasurable);
  if (measurable.length === 0) {
    warnings.push(warning('nothing-to-check', `no selected source declares freshness: and loaded_at_field: (or loaded_at_query:), so there is nothing to check`, undefined, {
      hint: 'e.g. loaded_at_field: _loaded_at and freshness: {warn_after: {count: 12, period: hour}, error_after: {count: 1, period: day}}',
    }));
    return { results: [], warnings };
  }
  // A source read from files needs no warehouse: without one, an empty database reads them.
  const path = project.warehousePath;
  const warehouse = existsSync(path) ? await Engine.openWhenFree(path, { readOnly: true, setup: project.warehouseSetup }, heldWait(options)) : await Engine.inMemory();
  try {
    const now = clock.now();
    const results = await warehouse.engine.withSession(async (session) => {
      const out: FreshnessResult[] = [];
      for (const s of measurable) out.push(await measureFreshness(session, s, now));
      return out;
    });
    return { results, warnings };
  } finally {
    warehouse.close();
  }
}
