import type { Analysis } from '../analyze/analyze.js';
import { PyDateTime } from '../analyze/jinja/datetime.js';
import { resourceType, testUniqueId, uniqueId } from '../analyze/jinja/graph-context.js';
import type { PipeEvent, TaskRef } from '../events/events.js';

/**
 * dbt's `results`, which the on-run-end hooks see: one per model, seed and snapshot the run
 * took up, and one per dbt test and unit test, with dbt's keys: `status` (success, error,
 * skipped, partial success; pass, warn, fail for a test), `message`, `execution_time`
 * (seconds), `adapter_response` (as dbt-duckdb's), `failures`, `thread_id` (`Thread-N
 * (worker)`, N the run's thread), `timing` (`compile` and `execute`, each with `started_at`
 * and `completed_at`, naive UTC datetimes as dbt's; pipe renders before the run, so its
 * compile starts and ends as the task starts; empty for a task that never started) and
 * `node`, the node as the graph has it (its own copy). A node built for several intervals
 * (the batches of a microbatch model, the dates of a backfill) is one result, as dbt's
 * microbatch model is: `partial success` when some of them failed, `SUCCESS` with no adapter
 * response when all succeeded, as dbt-duckdb says it. A test's timing is the moment its verdict
 * was known (it ran inside its model's build).
 */
export class RunResults {
  /** What each node's tasks came to, by node (dbt's results are per node). */
  private readonly nodes = new Map<string, NodeOutcome>();
  /** The dbt tests' and unit tests' results, by task and test. */
  private readonly tests = new Map<string, Record<string, unknown>>();
  /** When each task started, and on which of the run's threads. */
  private readonly starts = new Map<string, { readonly at: number; readonly worker: number }>();

  constructor(private readonly analysis: Analysis) {}

  observe(e: PipeEvent): void {
    switch (e.type) {
      case 'task-started':
        this.starts.set(e.task.id, { at: Date.now(), worker: e.worker ?? 1 });
        return;
      case 'check-passed':
        return this.addTest(e.task, e.check, 'pass', null, 0);
      case 'check-failed': {
        const { check, severity, failingRows, condition } = e.failure;
        const says = severity === 'warn' ? 'warn' : 'fail';
        const message = `Got ${failingRows} result${failingRows === 1 ? '' : 's'}, configured to ${says} if ${condition ?? '!= 0'}`;
        return this.addTest(e.task, check, says, message, failingRows);
      }
      case 'task-succeeded':
        return this.add(e.task, 'success', undefined, e.ms, e.rows);
      case 'task-failed':
        // A task failed by its checks has their results; one whose checks could not run, an error.
        if ((e.task.kind === 'test' || e.task.kind === 'unit-test') && e.error.checks?.length) return;
        this.add(e.task, 'error', e.error.message, e.ms, undefined);
        // As in dbt build: the tests of a model whose build failed before them did not run.
        return this.skipTests(e.task);
      case 'task-skipped': {
        const done = e.reason === 'up-to-date' || e.reason === 'current' || e.reason === 'superseded';
        this.add(e.task, done ? 'success' : 'skipped', e.detail, 0, undefined);
        if (!done) this.skipTests(e.task);
        return;
      }
      case 'task-cancelled':
        this.add(e.task, 'skipped', 'cancelled', 0, undefined);
        return this.skipTests(e.task);
      default:
        return;
    }
  }

  /** The results so far, in the order their nodes and tests were first heard of. */
  list(): Record<string, unknown>[] {
    return [...[...this.nodes.values()].map((n) => this.nodeResult(n)), ...this.tests.values()];
  }

  /** The names of the nodes whose every task succeeded (or was up to date). */
  succeeded(): ReadonlySet<string> {
    return new Set([...this.nodes].filter(([, n]) => n.tasks.every((t) => t.status === 'success')).map(([name]) => name));
  }

  private add(ref: TaskRef, status: string, message: string | undefined, ms: number, rows: number | undefined): void {
    if (ref.kind === 'run-hook') return;
    // `pipe test`'s task of a model stands for its checks, and a unit test's for its one check: each a result of its own.
    if (ref.kind === 'test' || ref.kind === 'unit-test') {
      if (status === 'error') this.addTest(ref, ref.model, status, message ?? null, null);
      return;
    }
    const outcome = this.nodes.get(ref.model) ?? { name: ref.model, kind: ref.kind, tasks: [] };
    this.nodes.set(ref.model, outcome);
    const started = this.starts.get(ref.id);
    outcome.tasks.push({ status, message, ms, rows, ...(started ? { started, ended: Date.now() } : {}) });
  }

  /** The dbt tests of the node of a task that did not run its checks: skipped, as dbt build says. */
  private skipTests(ref: TaskRef): void {
    if (ref.kind === 'test' || ref.kind === 'unit-test' || ref.kind === 'run-hook') return;
    const node = this.analysis.nodes.get(ref.model);
    if (node === undefined || node.kind === 'source') return;
    for (const c of node.checks) if (c.dbt && !this.tests.has(`${ref.id}\0${c.name}`)) this.addTest(ref, c.name, 'skipped', null, null);
  }

  private nodeResult(n: NodeOutcome): Record<string, unknown> {
    const node = this.analysis.nodes.get(n.name);
    const resource = node ? resourceType(node) : n.kind === 'seed' ? 'seed' : 'model';
    const id = node ? uniqueId(node, this.analysis.projectName) : `${resource}.${this.analysis.projectName}.${n.name}`;
    const statuses = new Set(n.tasks.map((t) => t.status));
    const status = statuses.size === 1 ? n.tasks[0].status : statuses.has('success') ? 'partial success' : statuses.has('error') ? 'error' : 'skipped';
    const rows = n.tasks.some((t) => t.rows !== undefined) ? n.tasks.reduce((sum, t) => sum + (t.rows ?? 0), 0) : undefined;
    // dbt-duckdb's microbatch model answers as dbt's batched run does: SUCCESS, no adapter response.
    const batched = node?.kind === 'model' && node.config.kind === 'microbatch';
    const ran = n.tasks.filter((t) => t.started !== undefined);
    // Up to date, nothing ran: no statement of it for the adapter to answer.
    const response = batched || ran.length === 0 ? {} : adapterResponse(resource, status, rows);
    const last = [...n.tasks].reverse().find((t) => t.status === status) ?? n.tasks[n.tasks.length - 1];
    const begun = Math.min(...ran.map((t) => t.started!.at));
    const ended = Math.max(...ran.map((t) => t.ended!));
    const stage = (name: string, from: number, to: number) => ({ name, started_at: PyDateTime.fromEpochMs(from, null), completed_at: PyDateTime.fromEpochMs(to, null) });
    return {
      status,
      message: last.message ?? (batched && status === 'success' ? 'SUCCESS' : typeof response._message === 'string' ? response._message : 'OK'),
      execution_time: n.tasks.reduce((sum, t) => sum + t.ms, 0) / 1000,
      adapter_response: response,
      failures: null,
      thread_id: `Thread-${ran[0]?.started?.worker ?? 1} (worker)`,
      timing: ran.length === 0 ? [] : [stage('compile', begun, begun), stage('execute', begun, ended)],
      node: this.analysis.renderer.resultNode(id) ?? { unique_id: id, name: n.name, resource_type: resource },
    };
  }

  /** A dbt test's result (a check's, as dbt names it): `pass`, `warn`, `fail` with its failures, `error` when it could not run, `skipped` when its model did not build. */
  private addTest(ref: TaskRef, name: string, status: string, message: string | null, failures: number | null): void {
    const resource = ref.kind === 'unit-test' ? 'unit_test' : 'test';
    const id = resource === 'test' ? testUniqueId(this.analysis.projectName, name, this.testNode(ref.model, name)) : `${resource}.${this.analysis.projectName}.${name}`;
    const started = this.starts.get(ref.id);
    const ran = status === 'pass' || status === 'warn' || status === 'fail';
    // It ran inside its task's build, its verdict known now: its stages are that moment.
    const at = PyDateTime.fromEpochMs(Date.now(), null);
    this.tests.set(`${ref.id}\0${name}`, {
      status,
      message,
      execution_time: 0,
      adapter_response: ran ? { _message: 'OK' } : {},
      failures,
      thread_id: `Thread-${started?.worker ?? 1} (worker)`,
      timing: ran ? [{ name: 'compile', started_at: at, completed_at: at }, { name: 'execute', started_at: at, completed_at: at }] : [],
      node: { ...(this.analysis.renderer.resultNode(id) ?? { unique_id: id, name, resource_type: resource }), attached_node: this.attachedNode(ref.model) },
    });
  }

  /** The dbt test `name` run with the node `model` (a model, a seed or a source's table), as the graph lists it. */
  private testNode(model: string, name: string) {
    const node = this.analysis.nodes.get(model);
    const checks = node?.kind === 'source' ? this.analysis.sourceChecks.get(model) : node?.checks;
    return checks?.find((c) => c.name === name)?.dbt;
  }

  /** The unique id of the node a test is attached to: a model's, a seed's or a snapshot's; none for a source's table, as in dbt. */
  private attachedNode(name: string): string | null {
    const node = this.analysis.nodes.get(name);
    if (node?.kind === 'source') return null;
    return node ? uniqueId(node, this.analysis.projectName) : `model.${this.analysis.projectName}.${name}`;
  }
}

/** How the tasks of one node ended. */
interface NodeOutcome {
  readonly name: string;
  readonly kind: TaskRef['kind'];
  readonly tasks: { readonly status: string; readonly message?: string; readonly ms: number; readonly rows?: number; readonly started?: { readonly at: number; readonly worker: number }; readonly ended?: number }[];
}

/**
 * What dbt-duckdb's adapter says of a node's statement: a seed's load `INSERT n` with its rows,
 * a model's or snapshot's `OK` and no row count (a hook's `adapter_response.get('rows_affected',
 * -1)` reads -1, as under dbt), nothing for one that failed or did not run.
 */
function adapterResponse(resource: string, status: string, rows: number | undefined): Record<string, unknown> {
  if (status !== 'success' && status !== 'partial success') return {};
  if (resource === 'seed' && rows !== undefined) return { _message: `INSERT ${rows}`, code: 'INSERT', rows_affected: rows };
  return { _message: 'OK' };
}
