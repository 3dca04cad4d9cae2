import { spawn } from 'node:child_process';
import pRetry from 'p-retry';
import type { NotifyTarget } from '../analyze/project-settings.js';

/**
 * Telling people what happened. A notification that cannot be delivered is retried a few
 * times and reported, and never fails or blocks the run beyond its time limit.
 */

export type NotifyEvent = 'on_failure' | 'on_success' | 'on_retry';

/** What every target receives: the webhook body, and PIPE_* variables for commands. */
export interface RunReport {
  readonly event: NotifyEvent;
  readonly pipeline: string;
  readonly run_id: string;
  readonly command: string;
  readonly status: string;
  readonly ds?: string;
  readonly start?: string;
  readonly end?: string;
  readonly warehouse: string;
  readonly counts: { readonly succeeded: number; readonly failed: number; readonly skipped: number; readonly cancelled: number; readonly pending: number };
  readonly failed_tasks: readonly { readonly task: string; readonly model: string; readonly ds?: string; readonly error: string }[];
  readonly retry_command?: string;
}

export interface DeliveryOptions {
  readonly timeoutMs?: number;
  readonly attempts?: number;
  /** Reports a delivery that failed for good. */
  readonly onGiveUp: (target: string, error: string) => void;
  /** Where commands run: the project directory. */
  readonly cwd?: string;
}

function describe(t: NotifyTarget): string {
  return 'webhook' in t ? `webhook ${t.webhook}` : `command ${t.command}`;
}

async function postWebhook(url: string, report: RunReport, timeoutMs: number): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'pipe' },
    body: JSON.stringify(report),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}

export function reportEnv(report: RunReport): Record<string, string> {
  return {
    PIPE_EVENT: report.event,
    PIPE_PIPELINE: report.pipeline,
    PIPE_RUN_ID: report.run_id,
    PIPE_COMMAND: report.command,
    PIPE_STATUS: report.status,
    PIPE_DS: report.ds ?? '',
    PIPE_START: report.start ?? '',
    PIPE_END: report.end ?? '',
    PIPE_WAREHOUSE: report.warehouse,
    PIPE_FAILED_COUNT: String(report.failed_tasks.length),
    PIPE_FAILED_TASKS: JSON.stringify(report.failed_tasks),
    PIPE_RETRY_COMMAND: report.retry_command ?? '',
    PIPE_REPORT: JSON.stringify(report),
  };
}

function runCommand(command: string, report: RunReport, timeoutMs: number, cwd: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, { shell: true, cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...reportEnv(report) } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`exited with ${code}${stderr ? `: ${stderr.trim().split('\n')[0]}` : ''}`));
    });
  });
}

/** Delivers a report to every target, in parallel; resolves when all are delivered or given up. */
export async function deliver(targets: readonly NotifyTarget[], report: RunReport, options: DeliveryOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  await Promise.all(
    targets.map(async (t) => {
      try {
        await pRetry(() => ('webhook' in t ? postWebhook(t.webhook, report, timeoutMs) : runCommand(t.command, report, timeoutMs, options.cwd)), {
          retries: (options.attempts ?? 3) - 1,
          minTimeout: 500,
          factor: 2,
          randomize: true,
        });
      } catch (e) {
        options.onGiveUp(describe(t), e instanceof Error ? e.message : String(e));
      }
    }),
  );
}
