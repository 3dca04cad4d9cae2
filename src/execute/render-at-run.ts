import type { Diagnostic } from '../diagnostics/diagnostics.js';
import { CALENDAR_KEPT } from '../warehouse/duckdb/session-changes.js';
import { GUARDED_SETTING } from '../warehouse/duckdb/optimizer-guard.js';
import type { CheckStep, HookStep, RenderAtRun, Step, Task, TemplateMessage } from '../plan/task.js';
import { answerQuestion, questionKey, type Answer, type Question } from '../warehouse/introspection.js';
import { statementsIn, WarehouseError, type WarehouseSession } from '../warehouse/warehouse.js';
import { absentRenderedSources } from '../state/source-presence.js';
import { RenderError } from './task-errors.js';

/**
 * dbt's execution render of a task or a dbt test (see RenderAtRun in plan/task.ts), on the
 * task's own connection once its upstream has published. Templates render synchronously and the
 * warehouse answers asynchronously: the template is rendered, stops at the first question
 * it has no answer to, the warehouse answers it, and the template is rendered again with
 * every answer so far, until a render asks nothing new. Each question is asked once, in the
 * order the template asks them, so a query built from an earlier one's result runs with that
 * result, never with an empty stand-in.
 *
 * What a template says with log(msg, info=True), print(msg) and exceptions.warn(msg) is told
 * through `tell` once the renders end, each call once and in order: what the last render said
 * (the one that stands, or the one that stopped at what failed), as dbt, which renders once,
 * prints it. Each render before it stopped at a question, having said the first part of the same.
 */

/** Where what a render said goes, once it is done. */
export type Tell = (said: readonly TemplateMessage[]) => void;

/** More questions than this from one render is a template asking in a loop. */
export const MAX_QUESTIONS = 200;

/** The task as it runs, its SQL rendered with the warehouse; a task that renders once is returned as it is. */
export async function renderAtRun(
  task: Task,
  session: WarehouseSession,
  tell: Tell,
  /**
   * What the warehouse said of its tables (their columns, what stands under a name) to the renders
   * before, while nothing changes it (a read-only compile): answered again without asking.
   */
  known?: Map<string, Answer>,
): Promise<Task> {
  if (!task.renderAtRun) return task;
  // A unit test's render is named by the test in what it reports.
  const unit = task.steps.find((s): s is Extract<Step, { kind: 'unit-test' }> => s.kind === 'unit-test');
  const what = unit ? `unit test ${unit.name}` : task.node;
  const rendered = await renderWithWarehouse(task.renderAtRun, what, session, tell, unit ? `${what}: ` : '', true, known);
  if (rendered.sql !== undefined) {
    await singleStatement(rendered.sql, task.node, { file: task.file }, session);
    const absent = await absentRenderedSources(session, rendered.sources ?? [], rendered.sql);
    if (absent.length > 0) throw failure(absent);
  }
  return rendered;
}

/**
 * A dbt test's query, rendered with the warehouse as its check runs: on the check's session
 * at that moment, so that the relation it checks is described as the check reads it.
 */
export async function checkSqlAtRun(step: CheckStep, session: WarehouseSession, tell: Tell): Promise<string> {
  if (!step.renderAtRun) return step.sql;
  const what = `test ${step.name}`;
  const sql = await renderWithWarehouse(step.renderAtRun, what, session, tell, `${what}: `, true);
  await singleStatement(sql, what, step.location, session);
  return sql;
}

/**
 * A hook that reads the warehouse while it renders, rendered as it runs: on the task's session,
 * in its place among the steps (a post-hook after the model's query), so that what its
 * statements do happens then, as in dbt. Its SQL, which may be several statements, runs after.
 * A hook rendered when planned tells now what it said then.
 */
export async function hookSqlAtRun(step: Pick<HookStep, 'sql' | 'label' | 'renderAtRun' | 'said'>, session: WarehouseSession, tell: Tell, ofTask = false): Promise<string> {
  if (!step.renderAtRun) {
    if (step.said) tell(step.said);
    return step.sql;
  }
  return renderWithWarehouse(step.renderAtRun, step.label, session, tell, `${step.label}: `, ofTask);
}

/**
 * Renders until the render asks nothing new, each question answered by the warehouse; `what`
 * names the renderer in errors, and `prefix` begins the message of a question the warehouse
 * refuses. `ofTask`: the render is of a task, which goes on on the session after it: a
 * statement that changes what pipe keeps of the session is refused (see ask).
 */
async function renderWithWarehouse<T>(
  render: RenderAtRun<T>,
  what: string,
  session: WarehouseSession,
  tell: Tell,
  prefix = '',
  ofTask = false,
  known?: Map<string, Answer>,
): Promise<T> {
  // A query's answer is its own: it may read the time or a random number.
  const answers = new Map<string, Answer>(known);
  let asked = 0;
  /** What the last render said. */
  let said: readonly TemplateMessage[] = [];
  try {
    for (;;) {
      const outcome = render.render(answers);
      said = outcome.said ?? [];
      switch (outcome.kind) {
        case 'rendered':
          return outcome.value;
        case 'failed':
          throw failure(outcome.diagnostics);
        case 'asks': {
          const key = questionKey(outcome.question);
          if (answers.has(key)) throw new Error(`internal error: ${what} asked an answered question again`);
          if (asked++ >= MAX_QUESTIONS) {
            throw new RenderError(`${what} asked the warehouse more than ${MAX_QUESTIONS} questions while rendering; is a query run in a loop?`, outcome.location);
          }
          const answer = await ask(session, outcome.question, outcome.location, prefix, ofTask);
          answers.set(key, answer);
          if (known && outcome.question.kind !== 'query') known.set(key, answer);
          break;
        }
        default: {
          const never: never = outcome;
          throw new Error(`internal error: render outcome ${JSON.stringify(never)}`);
        }
      }
    }
  } finally {
    if (said.length > 0) tell(said);
  }
}

/** The warehouse's answer; a query it refuses is the template's error, at the line that runs it. */
async function ask(session: WarehouseSession, q: Question, at: Diagnostic['location'], prefix: string, ofTask: boolean): Promise<Answer> {
  // As a hook may not (see step-runner.ts): the rest of the task runs on this session.
  const pinned = ofTask && q.kind === 'query' ? session.dialect.pinnedSessionChange?.(q.sql) : undefined;
  if (pinned !== undefined) {
    throw new RenderError(
      `${prefix}a statement the template runs changes ${
        pinned === 'TimeZone'
          ? "the session's TimeZone, which pipe keeps at UTC so that a timestamp lands in the same date on every machine"
          : pinned === 'Calendar'
            ? `the session's Calendar: ${CALENDAR_KEPT}`
            : pinned === 'USE'
            ? 'the session\'s default database (USE), under which pipe\'s names of the warehouse\'s tables ("schema"."name") would name another database\'s'
            : GUARDED_SETTING
      }`,
      at,
    );
  }
  try {
    return await answerQuestion(session, q);
  } catch (e) {
    if (!(e instanceof WarehouseError)) throw e;
    const where = at ? `${at.file}${at.line !== undefined ? `:${at.line}` : ''}` : 'the template';
    const what = q.kind === 'query' ? 'a query' : q.kind === 'columns' ? `the columns of ${q.relation}` : `the relation ${q.schema}.${q.identifier}`;
    throw new RenderError(`${prefix}${what} that ${where} asks the warehouse for failed: ${e.message}`, at, e.errorClass);
  }
}

/** The first diagnostic of a render as the task's error; the others are its consequences or of the same cause. */
function failure(diagnostics: readonly Diagnostic[]): RenderError {
  const [d] = diagnostics;
  if (!d) return new RenderError('internal error: a render failed without saying why', undefined);
  return new RenderError(d.hint ? `${d.message} (${d.hint})` : d.message, d.location);
}

/** A model or a test is one query: a render that gives several statements would run them all. */
async function singleStatement(sql: string, what: string, at: Diagnostic['location'], session: WarehouseSession): Promise<void> {
  const count = await statementsIn(session, sql);
  if (count !== undefined && count > 1) throw new RenderError(`${what} renders to ${count} SQL statements when it runs; pipe runs exactly one`, at);
}
