import type { Notify } from '../analyze/project-settings.js';
import type { EventSink, PipeEvent } from '../events/events.js';
import type { ExecuteResult } from '../execute/executor.js';
import { deliver, type NotifyEvent, type RunReport } from './notify.js';

/**
 * The notifications of one run, batched per event type: one `on_retry` message listing every
 * task that was retried, and one `on_success` or `on_failure` message with the outcome (a
 * backfill's lists every failure), both sent when the run has ended. Delivery runs on its
 * own: `finish` returns at once, and `delivered` settles when every message is delivered or
 * given up, so a slow or dead target never holds the next run.
 */

export interface RunFacts {
  readonly runId: string;
  readonly pipeline?: string;
  readonly command: string;
  readonly ds?: string;
  readonly start?: string;
  readonly end?: string;
  readonly warehouse: string;
  /** Where commands run: the project directory. */
  readonly cwd: string;
  readonly retryCommand: (runId: string) => string;
}

type TaskLine = RunReport['failed_tasks'][number];

export class RunNotifier {
  private readonly failures: TaskLine[] = [];
  /** Retried tasks, each once, with how often and the latest error. */
  private readonly retries = new Map<string, TaskLine & { attempts: number }>();
  private readonly deliveries: Promise<void>[] = [];

  constructor(
    private readonly notify: Notify | undefined,
    private readonly facts: RunFacts,
    private readonly emit: EventSink,
  ) {}

  /** Notes what a message will need to say about an event of the run. */
  observe(e: PipeEvent): void {
    if (e.type === 'task-failed') this.failures.push({ task: e.task.id, model: e.task.model, ds: e.task.ds, error: e.error.message });
    if (e.type === 'task-retrying') this.retries.set(e.task.id, { task: e.task.id, model: e.task.model, ds: e.task.ds, error: e.error.message, attempts: e.attempt });
  }

  /** Sends the run's messages, without waiting for them; `retryable` false when no task is left for pipe retry (an end hook alone failed). */
  finish(result: ExecuteResult, retryable = result.status !== 'succeeded'): void {
    if (!this.notify) return;
    const { succeeded, failed, skipped, cancelled, pending } = result;
    const counts = { succeeded, up_to_date: result.upToDate ?? 0, superseded: result.superseded ?? 0, failed, skipped, cancelled, pending };
    if (this.retries.size > 0) {
      // A retried task that failed in the end failed one attempt more than it was retried, and its last error is that attempt's.
      const failedAt = new Map(this.failures.map((f) => [f.task, f.error]));
      const retried = [...this.retries.values()].map(({ attempts, error, ...t }) => {
        const last = failedAt.get(t.task);
        const times = `${attempts} time${attempts === 1 ? '' : 's'}`;
        return { ...t, error: last === undefined ? `retried ${times}, succeeded at attempt ${attempts + 1}; last error: ${error}` : `retried ${times}, failed all ${attempts + 1} attempts; last error: ${last}` };
      });
      this.send('on_retry', result.status, counts, retried, retryable);
    }
    this.send(result.status === 'succeeded' ? 'on_success' : 'on_failure', result.status, counts, this.failures, retryable);
  }

  /** Settles when every message has been delivered or given up. */
  get delivered(): Promise<void> {
    return Promise.all(this.deliveries).then(() => undefined);
  }

  private send(event: NotifyEvent, status: string, counts: RunReport['counts'], tasks: readonly TaskLine[], retryable: boolean): void {
    const targets = this.notify![event];
    if (targets.length === 0) return;
    const f = this.facts;
    const report: RunReport = {
      event,
      pipeline: f.pipeline ?? '',
      run_id: f.runId,
      command: f.command,
      status,
      ds: f.start ? undefined : f.ds,
      start: f.start,
      end: f.end,
      warehouse: f.warehouse,
      counts,
      failed_tasks: [...tasks],
      retry_command: retryable ? f.retryCommand(f.runId) : undefined,
    };
    const onGiveUp = (target: string, error: string) =>
      this.emit({ type: 'notice', message: `notification to ${target} could not be delivered (${error}); the run is not affected` });
    this.deliveries.push(deliver(targets, report, { onGiveUp, cwd: f.cwd }));
  }
}
