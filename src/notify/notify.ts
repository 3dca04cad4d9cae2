import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pRetry from 'p-retry';
import type { NotifyTarget } from '../analyze/project-settings.js';
import { redactUrl, secrets } from '../secrets/secrets.js';

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
  /**
   * `up_to_date`: of the succeeded, the tasks not run because their output was current;
   * `superseded`: those that left their output to a newer build (the run's summary says both apart).
   */
  readonly counts: { readonly succeeded: number; readonly up_to_date: number; readonly superseded: number; readonly failed: number; readonly skipped: number; readonly cancelled: number; readonly pending: number };
  readonly failed_tasks: readonly { readonly task: string; readonly model: string; readonly ds?: string; readonly error: string }[];
  readonly retry_command?: string;
}

export interface DeliveryOptions {
  /** Each attempt's time limit, for targets without a `timeout` of their own. */
  readonly timeoutMs?: number;
  readonly attempts?: number;
  /** Reports a delivery that failed for good. */
  readonly onGiveUp: (target: string, error: string) => void;
  /** Where commands run: the project directory. */
  readonly cwd?: string;
}

export const DEFAULT_NOTIFY_TIMEOUT_MS = 10_000;

/** A target as pipe shows it: a webhook without the parts of its URL that carry tokens. */
export function describeTarget(t: NotifyTarget): string {
  return 'webhook' in t ? `webhook ${redactUrl(t.webhook)}` : `command ${t.command}`;
}

/**
 * fetch refuses a URL with credentials in it: they go apart, as basic authentication (as curl
 * sends them).
 */
function credentialsApart(url: string): { readonly url: string; readonly authorization?: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { url };
  }
  if (!u.username && !u.password) return { url };
  const authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
  u.username = '';
  u.password = '';
  return { url: u.href, authorization };
}

async function postWebhook(webhook: string, report: RunReport, timeoutMs: number): Promise<void> {
  const { url, authorization } = credentialsApart(webhook);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'pipe', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(report),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new Error(fetchFailure(e, timeoutMs));
  }
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}

/** Why a request got no answer, in words, where Node's fetch says 'fetch failed' or 'The operation was aborted due to timeout'. */
function fetchFailure(e: unknown, timeoutMs: number): string {
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) return `timed out after ${timeoutMs} ms`;
  const cause = e instanceof Error ? (e.cause as { code?: string; message?: string } | undefined) : undefined;
  const words: Record<string, string> = {
    ECONNREFUSED: 'the connection was refused (nothing listens there)',
    ENOTFOUND: 'no such host',
    EAI_AGAIN: 'the host name could not be looked up now',
    ECONNRESET: 'the connection was reset',
    ETIMEDOUT: 'the connection timed out',
    EHOSTUNREACH: 'the host cannot be reached',
    ENETUNREACH: 'the network cannot be reached',
  };
  if (cause?.code !== undefined) return `${words[cause.code] ?? cause.message ?? 'no answer'} (${cause.code})`;
  if (cause?.message) return cause.message;
  return e instanceof Error ? e.message : String(e);
}

/**
 * The most bytes of one environment variable's value: Linux refuses to start a program with a
 * longer one (128 KiB with its name, E2BIG), and a backfill's failures say more than that.
 */
const ENV_VALUE_LIMIT = 96 * 1024;

/**
 * `report` as JSON, its failed tasks cut to the first that fit in `limit` bytes (a valid JSON
 * all the same), with how many were left out; the whole of it is in PIPE_REPORT_FILE.
 */
function fitted<T>(value: (tasks: RunReport['failed_tasks'], leftOut: number) => T, tasks: RunReport['failed_tasks'], limit: number): string {
  const whole = JSON.stringify(value(tasks, 0));
  if (Buffer.byteLength(whole) <= limit) return whole;
  let lo = 0;
  let hi = tasks.length;
  // The most tasks that fit, found by halving: each try is one stringify.
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (Buffer.byteLength(JSON.stringify(value(tasks.slice(0, mid), tasks.length - mid))) <= limit) lo = mid;
    else hi = mid - 1;
  }
  return JSON.stringify(value(tasks.slice(0, lo), tasks.length - lo));
}

export function reportEnv(report: RunReport, reportFile?: string): Record<string, string> {
  const failedTasks = fitted((tasks) => tasks, report.failed_tasks, ENV_VALUE_LIMIT);
  const whole = fitted((failed_tasks, leftOut) => (leftOut === 0 ? { ...report, failed_tasks } : { ...report, failed_tasks, failed_tasks_left_out: leftOut }), report.failed_tasks, ENV_VALUE_LIMIT);
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
    PIPE_FAILED_TASKS: failedTasks,
    PIPE_RETRY_COMMAND: report.retry_command ?? '',
    PIPE_REPORT: whole,
    ...(reportFile === undefined ? {} : { PIPE_REPORT_FILE: reportFile }),
  };
}

/** Notify commands still running, killed with their process groups if pipe exits first (a second Ctrl-C). */
const running = new Set<ChildProcess>();

/** The command and everything it started: its process group, or the process alone where there are none. */
function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

const STDERR_LIMIT = 4096;

/**
 * Runs a shell command in a process group of its own, so that at its time limit (or when it
 * exits) the shell and whatever it started die together: a background process left holding the
 * command's stderr would otherwise keep pipe from exiting. Settles at once either way, reading
 * nothing more from the command.
 */
function runCommand(command: string, report: RunReport, timeoutMs: number, cwd: string | undefined): Promise<void> {
  // The whole report in a file of its own, which the environment's variables may not hold.
  const folder = mkdtempSync(join(tmpdir(), 'pipe-report-'));
  const reportFile = join(folder, 'report.json');
  writeFileSync(reportFile, JSON.stringify(report));
  const removeFile = () => rmSync(folder, { recursive: true, force: true });
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command, { shell: true, detached: true, cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...reportEnv(report, reportFile) } });
    if (running.size === 0) process.once('exit', killRunning);
    running.add(child);
    let stderr = '';
    let exited: string | null | undefined;
    const settle = (problem: string | undefined) => {
      clearTimeout(timer);
      if (!running.delete(child)) return;
      if (running.size === 0) process.off('exit', killRunning);
      // Still running: at its time limit. Once it has exited, its group went with it (below).
      if (exited === undefined) killGroup(child);
      child.stderr!.destroy();
      if (problem === undefined) resolve();
      else reject(new Error(problem));
    };
    const outcome = (code: number | null, signal: NodeJS.Signals | null) =>
      code === 0 ? undefined : `exited with ${code ?? signal}${stderr ? `: ${stderr.trim().split('\n')[0]}` : ''}`;
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < STDERR_LIMIT) stderr += d.toString();
    });
    const timer = setTimeout(() => settle(exited === undefined ? `timed out after ${timeoutMs} ms` : (exited ?? undefined)), timeoutMs);
    child.on('error', (e) => settle(e.message));
    child.on('exit', (code, signal) => {
      exited = outcome(code, signal) ?? null;
      // What it left behind goes with it, so that its stderr closes and the rest can be read.
      killGroup(child);
    });
    child.on('close', (code, signal) => settle(outcome(code, signal)));
  }).finally(removeFile);
}

function killRunning(): void {
  for (const child of running) killGroup(child);
}

/** An error message that may quote the URL (as given, or as fetched), with the URL as pipe shows it. */
function withoutUrl(message: string, url: string): string {
  return message.replaceAll(url, redactUrl(url)).replaceAll(credentialsApart(url).url, redactUrl(url));
}

/**
 * Delivers a report to every target, in parallel; resolves when all are delivered or given up.
 * What is sent is masked here, once: the webhook body and the PIPE_* variables come from it.
 */
export async function deliver(targets: readonly NotifyTarget[], report: RunReport, options: DeliveryOptions): Promise<void> {
  const masked = secrets.maskDeep(report);
  await Promise.all(
    targets.map(async (t) => {
      const timeoutMs = t.timeout_ms ?? options.timeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_MS;
      try {
        await pRetry(() => ('webhook' in t ? postWebhook(t.webhook, masked, timeoutMs) : runCommand(t.command, masked, timeoutMs, options.cwd)), {
          retries: (options.attempts ?? 3) - 1,
          minTimeout: 500,
          factor: 2,
          randomize: true,
        });
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        options.onGiveUp(describeTarget(t), 'webhook' in t ? withoutUrl(message, t.webhook) : message);
      }
    }),
  );
}
