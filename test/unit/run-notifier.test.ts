import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PipeEvent, TaskRef } from '../../src/events/events.js';
import { NO_NOTIFY } from '../../src/analyze/project-settings.js';
import { RunNotifier } from '../../src/notify/run-notifier.js';

/** A run's notifications: one message per event type, sent without holding anything up. */

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const task = (id: string): TaskRef => ({ id, model: id.split('@')[0], kind: 'table', file: `models/${id}.sql`, ds: id.split('@')[1] });
const retrying = (id: string, attempt: number): PipeEvent => ({
  type: 'task-retrying',
  runId: 'r',
  task: task(id),
  attempt,
  error: { message: `IO Error: busy ${attempt}`, kind: 'IO', errorClass: 'transient' },
});
const result = { status: 'succeeded' as const, succeeded: 2, failed: 0, skipped: 0, cancelled: 0, pending: 0, upToDate: 1 };

function notifier(dir: string, gate?: string) {
  const log = join(dir, 'log.ndjson');
  const command = `${gate ? `cat ${gate} > /dev/null; ` : ''}printf '%s\\n' "$PIPE_REPORT" >> ${log}`;
  const notices: string[] = [];
  const n = new RunNotifier(
    { ...NO_NOTIFY, on_retry: [{ command }], on_success: [{ command }] },
    { runId: 'r', command: 'run', ds: '2024-01-02', warehouse: join(dir, 'w.duckdb'), cwd: dir, retryCommand: (id) => `pipe retry ${id}` },
    (e) => e.type === 'notice' && notices.push(e.message),
  );
  const reports = () => readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  return { n, reports, notices };
}

describe('RunNotifier', () => {
  it('sends one on_retry message listing each retried task once, then the outcome', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipe-notifier-'));
    dirs.push(dir);
    const { n, reports } = notifier(dir);
    for (const e of [retrying('a@2024-01-02', 1), retrying('b@2024-01-02', 1), retrying('a@2024-01-02', 2), retrying('b@2024-01-02', 2)]) n.observe(e);
    // b's third attempt failed too: the run failed.
    n.observe({ type: 'task-failed', runId: 'r', task: { id: 'b@2024-01-02', model: 'b', kind: 'table', file: 'models/b.sql', ds: '2024-01-02' }, error: { message: 'IO Error: busy 3', kind: 'IO', errorClass: 'transient' }, attempts: 3, ms: 1 });
    n.finish(result);
    await n.delivered;
    const sent = reports();
    expect(sent.map((r) => r.event).sort()).toEqual(['on_retry', 'on_success']);
    // The counts as the run's summary tells them apart: of the 2 succeeded, 1 was up to date.
    expect(sent.find((r) => r.event === 'on_success')!.counts).toEqual({ succeeded: 2, up_to_date: 1, superseded: 0, failed: 0, skipped: 0, cancelled: 0, pending: 0 });
    const onRetry = sent.find((r) => r.event === 'on_retry')!;
    expect(onRetry.failed_tasks).toEqual([
      { task: 'a@2024-01-02', model: 'a', ds: '2024-01-02', error: 'retried 2 times, succeeded at attempt 3; last error: IO Error: busy 2' },
      { task: 'b@2024-01-02', model: 'b', ds: '2024-01-02', error: 'retried 2 times, failed all 3 attempts; last error: IO Error: busy 3' },
    ]);
  });

  it('returns at once from finish while a target is still busy: delivery never holds the next run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipe-notifier-'));
    dirs.push(dir);
    const gate = join(dir, 'gate');
    execFileSync('mkfifo', [gate]);
    const { n, reports } = notifier(dir, gate);
    n.finish(result);
    let settled = false;
    void n.delivered.then(() => (settled = true));
    // The command is blocked on the FIFO: nothing has been delivered, and finish has returned.
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    writeFileSync(gate, 'go\n');
    await n.delivered;
    expect(reports().map((r) => r.event)).toEqual(['on_success']);
  });
});
