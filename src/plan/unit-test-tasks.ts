import type { Analysis, ModelNode } from '../analyze/analyze.js';
import type { UnitTest } from '../analyze/dbt/unit-tests.js';
import { error, type Diagnostic } from '../diagnostics/diagnostics.js';
import type { Interval } from '../dates/dates.js';
import { quoteIdent } from '../sql/sql-text.js';
import { isBuilt } from './materializations.js';
import type { UnitTestInput } from './strategies/unit-test.js';
import type { Task } from './task.js';

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

export function unitTestTasks(
  node: ModelNode,
  analysis: Analysis,
  interval: Interval,
  ds: string,
  upstream: readonly string[],
  diagnostics: Diagnostic[],
): Task[] {
  const tasks: Task[] = [];
  for (const test of node.unitTests ?? []) {
    const task = unitTestTask(node, test, analysis, interval, ds, upstream, diagnostics);
    if (task) tasks.push(task);
  }
  return tasks;
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
  if (analysis.renderer.rendersAtRun(node.name)) {
    return problem(`${node.name} reads the warehouse while it renders; unit tests of such a model are not supported yet`);
  }
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
  const rendered = analysis.renderer.unitTestSql(
    node.name,
    interval,
    test.isIncremental ?? false,
    new Map(test.given.map((g) => [g.node, quoteIdent(inputName(g.node))])),
    { vars: test.vars, envVars: test.envVars, macros: test.macros },
  );
  if ('severity' in rendered) return problem(rendered.message, rendered.location ?? test.location);
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
    steps: [
      { kind: 'unit-test', name: test.name, model: node.name, location: test.location, sql: rendered.sql, inputs, expect: test.expect },
      // Records the test's result; nothing is written.
      { kind: 'publish', statements: [] },
    ],
    lockKey: `unit-test:${node.name}:${test.name}`,
  };
}
