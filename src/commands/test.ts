import { dateVariables, intervalLabel } from '../dates/dates.js';
import type { EventSink } from '../events/events.js';
import { planTest } from '../plan/plan.js';
import type { ProjectOptions, SelectionOptions } from './context.js';
import { openProject } from './open-project.js';
import { runInterval } from './run.js';
import { hasErrors } from '../diagnostics/diagnostics.js';
import { launch, letGoUnused, newRunId, pipeCommandFor, planContext, prepare, retryCommandFor, shellQuote, type RunOutcome } from './lifecycle.js';
import { commonParams, flagParam } from './stored-params.js';
import { resolveThreads } from './threads.js';
import { testFilter } from './test-selection.js';
import { unpublishedFailures } from './unpublished-failures.js';

export interface TestOptions extends ProjectOptions, SelectionOptions {
  /** The interval whose partition incremental models' checks read; default yesterday (an hourly pipeline's previous hour). */
  readonly date?: string;
  /** An hour of `date`: the checks read that hour's rows of the models kept in intervals. */
  readonly hour?: number;
  readonly threads?: number;
  /** dbt's `--store-failures`: every dbt test whose config does not say otherwise keeps its failing rows. */
  readonly storeFailures?: boolean;
  readonly signal?: AbortSignal;
  readonly emit: EventSink;
}

/** `pipe test`: runs the selected models' checks against their published data; nothing, and no run recorded, when none has any. */
export async function test(options: TestOptions): Promise<RunOutcome | { readonly nothingToDo: string }> {
  const project = openProject(options);
  const { interval, hour, isDefault, hourIsDefault } = runInterval(options, options.pipeline === undefined ? undefined : project.pipelines.get(options.pipeline));
  const runId = newRunId();
  const prepared = await prepare({ ...options, tests: true, interval, invocation: { id: runId, startedAt: Date.now(), command: 'test', ...(options.storeFailures ? { storeFailures: true } : {}) } }, project);
  const ds = dateVariables(interval).ds;
  // The hint for a node not built yet runs it as this command sees the project: its flags and --vars.
  const command = pipeCommandFor(options);
  const vars = options.vars && Object.keys(options.vars).length > 0 ? ` --vars ${shellQuote(JSON.stringify(options.vars))}` : '';
  const plan = planTest(planContext(prepared, runId), interval, testFilter(options.select, prepared.analysis, { exclude: options.exclude, excluded: prepared.excluded }), { runCommand: (args) => `${command(args)}${vars}` });
  if (plan.tasks.length === 0 && !hasErrors(plan.diagnostics)) {
    letGoUnused(prepared);
    return { nothingToDo: 'nothing to test: no selected model, seed or source has checks, dbt tests or unit tests' };
  }
  const said = prepared.warehouse ? await prepared.warehouse.engine.withSession((s) => unpublishedFailures(s, prepared.analysis, plan.tasks)) : undefined;
  if (said) options.emit({ type: 'notice', message: said });
  return launch(prepared, {
    runId,
    pipeline: options.pipeline,
    params: { kind: 'test', ds, hour, ...commonParams(options, prepared.analysis.vars, prepared.pipeline, prepared.analysis.settings.targetName), ...flagParam('store_failures', options.storeFailures) },
    plan,
    threads: resolveThreads({ flag: options.threads, pipeline: prepared.pipeline, settings: prepared.analysis.settings }),
    emit: options.emit,
    signal: options.signal,
    header: { ds: intervalLabel(interval), dateIsDefault: isDefault, ...(hourIsDefault ? { hourIsDefault } : {}) },
    retryCommand: retryCommandFor(options),
    pipeCommand: pipeCommandFor(options),
    // As dbt test: the project's on-run-start and on-run-end run around the checks, the end hooks with their results.
    runHooks: { interval, fullRefresh: false },
  });
}
