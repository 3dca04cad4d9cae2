import type { Analysis, ModelNode } from '../analyze/analyze.js';
import type { UnitTest } from '../analyze/dbt/unit-tests.js';
import { error, warning, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import type { Interval } from '../dates/dates.js';
import { quoteIdent } from '../sql/sql-text.js';
import { isBuilt } from './materializations.js';
import type { UnitTestInput } from './strategies/unit-test.js';
import type { RenderAtRun, Step, Task } from './task.js';
import type { Question } from '../warehouse/introspection.js';

/**
 * The tasks of a model's dbt unit tests. As in dbt, the given rows are typed by the columns of
 * each input as the warehouse holds it when the test runs: an input must be built by then (by
 * the same run, as dbt build builds a model's parents before its unit tests, or before it),
 * which preflight checks (see preflightUnitTests). A unit test writes nothing to the warehouse.
 */

/** The name an input's rows are read by in the model's query. */
const inputName = (node: string) => `__pipe_unit_test__${node}`;

/** The id of a unit test's task: dbt's name of the test, `model::test`, and the run's date. */
export const unitTestTaskId = (model: string, test: string, ds: string) => `${model}::${test}@${ds}`;

/**
 * `firstBuild`: the run builds the model's relation, which the warehouse does not hold. A test
 * that gives `this` rows to type has nothing to type them by until then: it is left out of
 * that run, said as a warning, and runs in the runs after, as the model's first build runs its
 * whole query, never the incremental one such a test checks (dbt fails the test and skips the
 * model, and `dbt run`, which runs no unit test, is how its users build it first).
 */
export function unitTestTasks(
  node: ModelNode,
  analysis: Analysis,
  interval: Interval,
  ds: string,
  upstream: readonly string[],
  diagnostics: Diagnostic[],
  firstBuild = false,
): Task[] {
  const tasks: Task[] = [];
  for (const test of node.unitTests ?? []) {
    const self = firstBuild ? test.given.find((g) => g.node === node.name && g.rows.kind !== 'sql') : undefined;
    if (self) {
      diagnostics.push(
        warning('unit-test', `unit test ${test.name} does not run in this run: the rows given for ${self.label} are typed by ${node.relation}, which this run builds for the first time`, self.location, {
          hint: `it runs in the runs after, once ${node.name} is built; give its rows as format: sql to run it now`,
        }),
      );
      continue;
    }
    const task = unitTestTask(node, test, analysis, interval, ds, upstream, diagnostics);
    if (task) tasks.push(task);
  }
  return tasks;
}

/**
 * A unit test that cannot run, as a task that fails with why, at the test's line: its model an
 * error keeps from being built (a macro nothing defines), which the test would render. The
 * other tests of the command run; this one fails it, as dbt's fails.
 */
export function refusedUnitTestTask(node: ModelNode, test: UnitTest, interval: Interval, ds: string, why: string): Task {
  return testTask(node, test, interval, ds, [], [
    { kind: 'refuse', message: `unit test ${test.name} cannot run: it renders ${node.name}, which is left out: ${why}`, location: test.location },
    { kind: 'publish', statements: [] },
  ]);
}

/** The task of one unit test of `node`, with its steps. */
function testTask(node: ModelNode, test: UnitTest, interval: Interval, ds: string, upstream: readonly string[], steps: Step[]): Task {
  return {
    id: unitTestTaskId(node.name, test.name, ds),
    node: node.name,
    kind: 'unit-test',
    file: test.location.file,
    relation: node.relation,
    schema: node.config.schema,
    ds,
    interval,
    upstream: [...upstream],
    steps,
    lockKey: `unit-test:${node.name}:${test.name}`,
  };
}

function unitTestTask(
  node: ModelNode,
  test: UnitTest,
  analysis: Analysis,
  interval: Interval,
  ds: string,
  upstream: readonly string[],
  diagnostics: Diagnostic[],
): Task | undefined {
  const problem = (message: string, at = test.location, hint?: string) => {
    diagnostics.push(error('unit-test', `unit test ${test.name}: ${message}`, at, hint ? { hint } : undefined));
    return undefined;
  };
  const inputs: UnitTestInput[] = [];
  for (const given of test.given) {
    const input = analysis.nodes.get(given.node);
    if (!input) throw new Error(`internal error: unit test input ${given.node} is not a node`);
    const ephemeral = input.kind === 'model' && !isBuilt(input.config.kind);
    if (ephemeral && given.rows.kind !== 'sql') {
      return problem(`${given.label} is ephemeral: it has no relation to type rows by; give its rows as format: sql`, given.location);
    }
    inputs.push({ cte: inputName(given.node), relation: input.relation, label: given.label, rows: given.rows, location: given.location });
  }
  const renders = analysis.renderer.unitTestRenders(
    node.name,
    interval,
    test.isIncremental ?? false,
    new Map(test.given.map((g) => [g.node, quoteIdent(inputName(g.node))])),
    { vars: test.vars, envVars: test.envVars, macros: test.macros },
  );
  const rendered = renders.parse();
  if ('severity' in rendered) return problem(rendered.message, rendered.location ?? test.location);
  const stepsOf = (sql: string): Step[] => [
    { kind: 'unit-test', name: test.name, model: node.name, location: test.location, sql, inputs, expect: test.expect },
    // Records the test's result; nothing is written.
    { kind: 'publish', statements: [] },
  ];
  const task = testTask(node, test, interval, ds, upstream, stepsOf(rendered.sql));
  if (!analysis.renderer.rendersAtRun(node.name)) return task;
  // As dbt runs a unit test: its model rendered when the test runs, execute true, the warehouse
  // answering what the render asks, the given rows standing for the inputs.
  const renderAtRun: RenderAtRun = {
    render: (answers) => {
      const r = renders.atRun(answers);
      if ('asked' in r) {
        const given = inputs.find((i) => asksOf(r.asked, i.cte));
        if (given) return { kind: 'failed', diagnostics: [unanswerable(test.name, r.asked, given.label, r.location)] };
        return { kind: 'asks', question: r.asked, location: r.location, related: r.related };
      }
      if ('severity' in r) return { kind: 'failed', diagnostics: [{ ...r, message: `unit test ${test.name}: ${r.message}` }] };
      return { kind: 'rendered', value: { ...task, steps: stepsOf(r.sql), renderAtRun: undefined } };
    },
  };
  return { ...task, renderAtRun };
}

/** Whether a question to the warehouse names an input of the unit test, which is given rows there, not a relation. */
function asksOf(q: Question, cte: string): boolean {
  switch (q.kind) {
    case 'query':
      return q.sql.includes(quoteIdent(cte));
    case 'columns':
      return q.relation.includes(quoteIdent(cte));
    case 'relation':
      return q.identifier === cte;
    default: {
      const never: never = q;
      throw new Error(`internal error: question ${JSON.stringify(never)}`);
    }
  }
}

/**
 * A question about an input the unit test gives as rows: the warehouse has no relation of them
 * to describe (dbt answers as if none existed, no columns, and renders a query other than the
 * model's), so the test fails at the call rather than comparing rows of another query.
 */
function unanswerable(test: string, q: Question, label: string, at: Location): Diagnostic {
  const call =
    q.kind === 'columns'
      ? `adapter.get_columns_in_relation() asks the warehouse for the columns of ${label}`
      : q.kind === 'relation'
        ? `adapter.get_relation() asks the warehouse for ${label}`
        : `a query run while rendering (run_query, statement) reads ${label}`;
  return error('unit-test-at-run', `unit test ${test}: ${call}, which the test gives as rows, not as a relation the warehouse has`, at, {
    hint: 'override the macro that asks, under overrides: macros: of the unit test, with the value it should give',
  });
}
