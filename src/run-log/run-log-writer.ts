import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PipeEvent } from '../events/events.js';
import { secrets } from '../secrets/secrets.js';
import { runWithTasks } from '../warehouse/run-state.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';
import { rotateRunLogs, runLogPath } from './run-log-files.js';
import { RUN_LOG_VERSION, type ReconciledLine, type RunLogHeader, type RunLogLine } from './run-log-lines.js';

/**
 * Appends a run's lines to its log, each with one write call before the event is told to
 * anyone, so that a reader in another process sees whole lines as soon as they are written.
 * Skipped tasks (found current, or below a failure) are the exception: those of one turn of
 * the event loop are written with one call as it ends, or with the next line (a run of 10,000
 * tasks found current made 10,000 calls, a tenth of a second). A log is a courtesy: one that
 * cannot be written never fails the run; the writer stops and says why once (`problem`).
 */
export class RunLogWriter {
  private fd: number | undefined;
  problem: string | undefined;
  /** Lines of skipped tasks not written yet, and whether their write is scheduled. */
  private pending: string[] = [];
  private scheduled = false;

  private constructor(
    readonly path: string,
    fd: number | undefined,
    problem?: string,
  ) {
    this.fd = fd;
    this.problem = problem;
  }

  /**
   * Starts the log of a run with its header, after the warehouse recorded the run, and deletes
   * the oldest logs beyond `keep`.
   */
  static start(warehousePath: string, header: Omit<RunLogHeader, 'type' | 'version'>, keep: number): RunLogWriter {
    const path = runLogPath(warehousePath, header.runId);
    let writer: RunLogWriter;
    try {
      mkdirSync(dirname(path), { recursive: true });
      writer = new RunLogWriter(path, openSync(path, 'a'));
    } catch (e) {
      return new RunLogWriter(path, undefined, `cannot write the run log ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    writer.append({ type: 'run-log', version: RUN_LOG_VERSION, ...header });
    rotateRunLogs(warehousePath, keep, header.runId);
    return writer;
  }

  /** An event of the run, written once it has happened (see run-log-lines.ts). */
  event(e: PipeEvent): void {
    this.append({ ...e, time: new Date().toISOString() }, e.type !== 'task-skipped');
  }

  /** The run as the warehouse recorded its end; the log's last line. */
  async reconcile(session: WarehouseSession, runId: string): Promise<void> {
    const line = await reconciledLine(session, runId);
    if (line) this.append(line);
  }

  close(): void {
    this.flush();
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  /** Writes `line` (with the lines pending before it), or keeps it for later when not `now`. */
  private append(line: RunLogLine, now = true): void {
    if (this.fd === undefined) return;
    this.pending.push(`${JSON.stringify(secrets.maskDeep(line))}\n`);
    if (now) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /** Writes the pending lines. */
  private flush(): void {
    if (this.pending.length === 0 || this.fd === undefined) return;
    const text = this.pending.join('');
    this.pending = [];
    try {
      writeSync(this.fd, text);
    } catch (e) {
      this.problem = `cannot write the run log ${this.path}: ${e instanceof Error ? e.message : String(e)}`;
      this.close();
    }
  }
}

async function reconciledLine(session: WarehouseSession, runId: string): Promise<ReconciledLine | undefined> {
  const read = await runWithTasks(session, runId);
  if (!read) return undefined;
  return { type: 'reconciled', time: new Date().toISOString(), run: read.run, tasks: read.tasks };
}

/**
 * Brings the logs of runs that the warehouse has just recovered after a crash (see
 * recoverAfterCrash) in line with it: each gets the warehouse's record as its last line, in
 * a log of its own when the run died before writing one. Never fails the opening: the logs
 * are a view.
 */
export async function reconcileRunLogs(warehousePath: string, session: WarehouseSession, runIds: readonly string[]): Promise<void> {
  for (const runId of runIds) {
    try {
      const line = await reconciledLine(session, runId);
      if (!line) continue;
      const path = runLogPath(warehousePath, runId);
      mkdirSync(dirname(path), { recursive: true });
      const fd = openSync(path, 'a');
      try {
        // A line the dead process left half-written ends here, and stays unreadable alone.
        writeSync(fd, `\n${JSON.stringify(secrets.maskDeep(line))}\n`);
      } finally {
        closeSync(fd);
      }
    } catch {
      // a view only: the warehouse holds the run as recovered
    }
  }
}
