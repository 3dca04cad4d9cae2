import { failureWords, type PipeEvent, type TaskRef } from '../events/events.js';
import { isHourLabel } from '../dates/dates.js';
import { firstLine } from '../util/first-line.js';
import { formatDiagnostic, type SourceReader } from './format-diagnostic.js';
import { masked, shown, type Logger, type Output } from './logger.js';
import { ERASE_LINE, type Style } from './style.js';
import { truncateDisplay } from './width.js';
import { lookbackReason } from './lookback-reason.js';
import { orList } from '../util/english.js';
import { pushTo } from '../util/multi-map.js';

/** A duration as a status line shows it: `42s`, `3m05s`, `2h10m`. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** What a task is of its model: its date (and why, for a date before the run's), or its part in a full refresh. */
function taskWhen(t: TaskRef): string | undefined {
  if (t.phase) return `full refresh ${t.phase}`;
  if (!t.ds || t.kind === 'seed') return undefined;
  return t.lookback ? `${t.ds} (${lookbackReason(t.lookback)})` : t.ds;
}

/**
 * Human-readable output. On a terminal (`live`), finished tasks scroll by and a status line
 * at the bottom shows what is running; elsewhere every event is one plain line.
 */
export class TextLogger implements Logger {
  private readonly running = new Map<string, { ref: TaskRef; since: number }>();
  private total = 0;
  private done = 0;
  private footerShown = false;
  private readonly failures: { task: TaskRef; message: string }[] = [];
  /** The checks each running task passed before it published: counted on its OK line. */
  private readonly passed = new Map<string, number>();
  /** The checks each running task found something with, at severity warn: counted on its OK line. */
  private readonly warned = new Map<string, number>();
  /** The checks of the run that warned: counted in its last line, as dbt's `WARN=`. */
  private warnings = 0;
  private timer: NodeJS.Timeout | undefined;
  private progress: Extract<PipeEvent, { type: 'progress' }> | undefined;

  private readonly out: Output;
  private readonly err: Output;
  /** The same output, for results kept exact (compiled SQL). */
  private readonly exact: Output;

  constructor(
    out: Output,
    err: Output,
    private readonly style: Style,
    private readonly live: boolean,
    private readonly read: SourceReader,
  ) {
    this.exact = masked(out);
    this.out = shown(this.exact);
    this.err = shown(masked(err));
  }

  private label(t: TaskRef): string {
    const when = taskWhen(t);
    return `${taskName(t)}${when ? this.style.dim(` ${when}`) : ''}`;
  }

  private clearFooter(): void {
    if (this.footerShown) {
      this.out.write(ERASE_LINE);
      this.footerShown = false;
    }
  }

  private readonly startedAt = Date.now();

  private drawFooter(): void {
    if (!this.live || (this.running.size === 0 && !this.progress)) return;
    const now = Date.now();
    const names = [...this.running.values()]
      .slice(0, 4)
      .map((r) => `${r.ref.model} ${((now - r.since) / 1000).toFixed(0)}s`)
      .join(', ');
    const more = this.running.size > 4 ? ` +${this.running.size - 4}` : '';
    const cols = process.stdout.columns || 100;
    const p = this.progress;
    const dates = p
      ? `${p.unit}s ${p.datesDone + p.datesFailed + (p.datesCancelled ?? 0)}/${p.datesTotal} (${p.datesFailed} failed, ${p.datesCancelled ? `${p.datesCancelled} cancelled, ` : ''}${p.datesInFlight} in flight, parallel ${p.parallel}/${p.maxParallel}) · ${formatDuration(now - this.startedAt)} elapsed${p.etaMs !== undefined ? ` · ETA ${formatDuration(p.etaMs)}` : ''} · `
      : '';
    const line = truncateDisplay(`${dates}[${this.done}/${this.total}] running: ${names}${more}`, cols - 1);
    this.out.write(`${ERASE_LINE}${this.style.dim(line)}`);
    this.footerShown = true;
  }

  /** Lets go of what a task's checks counted (its OK line said them, or it did not succeed). */
  private forget(task: string): void {
    this.passed.delete(task);
    this.warned.delete(task);
  }

  private line(text: string): void {
    this.clearFooter();
    this.out.write(`${text}\n`);
    this.drawFooter();
  }

  handle(e: PipeEvent): void {
    const s = this.style;
    switch (e.type) {
      case 'run-started': {
        // Watch mode runs many builds through one logger: each starts afresh.
        this.total = e.tasks;
        this.done = 0;
        this.failures.length = 0;
        this.warnings = 0;
        this.running.clear();
        this.progress = undefined;
        const date = e.start
          ? `${e.start} → ${e.end}`
          : `${e.ds}${e.dateIsDefault ? (e.hourIsDefault ? ' (the previous hour, the default)' : isHourLabel(e.ds) ? ' (an hour of yesterday, the default date)' : ' (yesterday, the default)') : ''}`;
        this.line(
          `${s.bold(`pipe ${e.command}${e.pipeline ? ` ${e.pipeline}` : ''}`)} · ${e.start ? 'dates' : 'date'} ${date} · ${e.tasks} task${e.tasks === 1 ? '' : 's'} · ${e.threads} thread${e.threads === 1 ? '' : 's'}`,
        );
        this.line(s.dim(`run ${e.runId}${e.retryOf ? ` (retry of ${e.retryOf})` : ''} · warehouse ${e.warehouse}`));
        if (this.live) this.timer = setInterval(() => this.drawFooter(), 1000).unref();
        break;
      }
      case 'task-started':
        this.running.set(e.task.id, { ref: e.task, since: Date.now() });
        if (this.live) this.drawFooter();
        else this.line(`START ${taskName(e.task)}${taskWhen(e.task) ? ` ${taskWhen(e.task)}` : ''} (${e.task.kind})${e.runner ? ` on ${e.runner}` : ''}`);
        break;
      case 'task-succeeded': {
        this.running.delete(e.task.id);
        this.done++;
        const rows = e.rows === undefined ? '' : `${e.rows.toLocaleString('en-US')} ${e.rows === 1 ? 'row' : 'rows'}`;
        const checks = this.passed.get(e.task.id) ?? 0;
        const warned = this.warned.get(e.task.id) ?? 0;
        this.forget(e.task.id);
        const passed =
          checks + warned === 0 ? '' : `· ${checks} check${checks === 1 ? '' : 's'} passed${warned > 0 ? `, ${s.yellow(`${warned} warned`)}` : ''}`;
        const prefix = this.live ? s.green('✓') : 'OK   ';
        this.line(`${prefix} ${this.label(e.task)} ${s.dim(e.task.kind)} ${rows} ${passed} ${s.dim(`${(e.ms / 1000).toFixed(2)}s`)}`.replace(/ +/g, ' '));
        break;
      }
      case 'task-failed': {
        this.running.delete(e.task.id);
        this.forget(e.task.id);
        this.done++;
        // A task's failed checks are each a line of its error: its summary names every one, not the first alone.
        this.failures.push({ task: e.task, message: e.error.kind === 'Check' ? e.error.message : firstLine(e.error.message) });
        const prefix = this.live ? s.red('✗') : 'FAIL ';
        this.line(`${prefix} ${this.label(e.task)} ${s.dim(e.task.kind)} ${s.dim(`${(e.ms / 1000).toFixed(2)}s`)}`);
        this.line(`    ${s.red(e.error.message.split('\n').join('\n    '))}`);
        if (!e.error.location && !e.error.sqlContext) this.line(`    ${s.dim(`in ${e.task.file}`)}`);
        if (e.error.location && e.error.message.includes(`${e.error.location.file}:${e.error.location.line}`)) {
          // the message already points at the file's line
        } else if (e.error.location) {
          const loc = e.error.location;
          this.line(`    at ${s.bold(`${loc.file}${loc.line ? `:${loc.line}` : ''}`)}`);
          const text = loc.line ? this.read(loc.file)?.[loc.line - 1] : undefined;
          if (text !== undefined) this.line(`    ${s.dim(`${loc.line} |`)} ${text}`);
        } else if (e.error.sqlContext) {
          const from = e.error.sqlFromLines ? ` (its line ${orList(e.error.sqlFromLines)}, whichever rendered)` : '';
          this.line(`    ${s.dim(`in the SQL rendered from ${e.task.file}${from}:`)}`);
          for (const l of e.error.sqlContext) this.line(`    ${s.dim(l)}`);
        }
        if (!e.error.checks) for (const row of e.error.sample ?? []) this.line(`    ${s.dim(JSON.stringify(row))}`);
        break;
      }
      case 'task-skipped': {
        // A task superseded at publishing was running.
        this.running.delete(e.task.id);
        this.done++;
        if (e.reason === 'current' || e.reason === 'up-to-date') {
          this.line(`= ${this.label(e.task)} up to date${e.reason === 'up-to-date' ? ` ${s.dim(`(${e.detail})`)}` : ''}`);
          break;
        }
        if (e.reason === 'superseded') {
          // Not built, and not to be: a newer build stands in its table (the detail starts with "superseded").
          this.line(`~ ${this.label(e.task)} ${e.detail}`);
          break;
        }
        const prefix = this.live ? s.yellow('-') : 'SKIP ';
        this.line(`${prefix} ${this.label(e.task)} ${s.dim(e.detail)}`);
        break;
      }
      case 'check-failed': {
        const f = e.failure;
        const where = `${f.location.file}${f.location.line ? `:${f.location.line}` : ''}`;
        const what = f.severity === 'warn' ? s.yellow('warning') : s.red('failed');
        const prefix = this.live ? (f.severity === 'warn' ? s.yellow('!') : s.red('✗')) : f.severity === 'warn' ? 'WARN ' : 'CHECK';
        if (f.severity === 'warn') {
          this.warnings++;
          // Counted on a build's OK line, as its passed checks are (`pipe test` names each).
          if (e.task.kind !== 'test' && e.task.kind !== 'unit-test') this.warned.set(e.task.id, (this.warned.get(e.task.id) ?? 0) + 1);
        }
        // A dbt test says what dbt says of it: its failures against the condition they met.
        this.line(`${prefix} ${this.label(e.task)} ${failureWords(f, what)} ${s.dim(where)}`);
        if (f.differences) {
          // As dbt says it: the rows that differ, +++ the model's, --- the expected ones.
          for (const line of differencesTable(f.sample)) this.line(`    ${line.startsWith('+++') ? s.green(line) : line.startsWith('---') ? s.red(line) : s.bold(line)}`);
          if (f.failingRows > f.sample.length) this.line(`    ${s.dim(`and ${(f.failingRows - f.sample.length).toLocaleString('en-US')} more`)}`);
          this.line(`    ${s.dim("+++ a row the model gives and the test does not expect, --- a row the test expects and the model does not give")}`);
          break;
        }
        // A row_count check's one failing row is the count, said above.
        if (f.rowCount === undefined) for (const row of f.sample) this.line(`    ${s.dim(JSON.stringify(row))}`);
        // As dbt says where it kept them.
        if (f.storedIn !== undefined) this.line(`    see its failures: select * from ${f.storedIn}`);
        break;
      }
      case 'check-passed':
        // A build names the checks that found something and counts the others on its OK line; `pipe test` names every one it ran, as dbt test does.
        if (e.task.kind === 'test' || e.task.kind === 'unit-test') {
          const where = `${e.location.file}${e.location.line ? `:${e.location.line}` : ''}`;
          this.line(`${this.live ? s.green('✓') : 'PASS '} ${this.label(e.task)} ${e.task.kind === 'unit-test' ? 'unit test ' : ''}${e.check} ${s.dim(where)}`);
        } else this.passed.set(e.task.id, (this.passed.get(e.task.id) ?? 0) + 1);
        break;
      case 'template-message': {
        // The message as the template said it, under the task that said it, with where.
        const where = e.location ? `${e.location.file}${e.location.line ? `:${e.location.line}` : ''}` : e.task.file;
        const warns = e.kind === 'warn';
        const prefix = this.live ? (warns ? s.yellow('!') : s.cyan('›')) : warns ? 'WARN ' : e.kind === 'log' ? 'LOG  ' : 'PRINT';
        const [first, ...more] = e.message.split('\n');
        this.line(`${prefix} ${this.label(e.task)} ${warns ? s.yellow(first) : first} ${s.dim(where)}`);
        for (const line of more) this.line(`    ${line}`);
        break;
      }
      case 'task-retrying': {
        // The next attempt runs its checks again.
        this.forget(e.task.id);
        const prefix = this.live ? s.yellow('↻') : 'RETRY';
        this.line(`${prefix} ${this.label(e.task)} ${s.dim(`attempt ${e.attempt} failed (${e.error.kind}, transient): ${firstLine(e.error.message)}`)}`);
        break;
      }
      case 'progress': {
        this.progress = e;
        if (!this.live) {
          this.line(
            `PROGRESS ${e.unit}s ${e.datesDone + e.datesFailed + (e.datesCancelled ?? 0)}/${e.datesTotal} done, ${e.datesFailed} failed, ${e.datesCancelled ? `${e.datesCancelled} cancelled, ` : ''}${e.datesInFlight} in flight, parallel ${e.parallel}/${e.maxParallel}`,
          );
        } else this.drawFooter();
        break;
      }
      case 'task-cancelled': {
        this.running.delete(e.task.id);
        this.forget(e.task.id);
        const prefix = this.live ? s.yellow('⊘') : 'CANCEL';
        this.line(`${prefix} ${this.label(e.task)} ${s.dim(e.started ? 'cancelled, rolled back' : 'cancelled before it started')}`);
        break;
      }
      case 'run-finished': {
        if (this.timer) clearInterval(this.timer);
        this.clearFooter();
        const current = e.upToDate ?? 0;
        const superseded = e.superseded ?? 0;
        const parts = [
          `${e.succeeded - current - superseded} succeeded`,
          ...(current ? [`${current} up to date`] : []),
          ...(superseded ? [`${superseded} superseded`] : []),
          e.failed ? s.red(`${e.failed} failed`) : '0 failed',
          `${e.skipped} skipped`,
          ...(this.warnings ? [s.yellow(`${this.warnings} check${this.warnings === 1 ? '' : 's'} warned`)] : []),
          ...(e.cancelled ? [s.yellow(`${e.cancelled} cancelled`)] : []),
          ...(e.pending ? [s.yellow(`${e.pending} not started`)] : []),
        ];
        const verdict = e.status === 'succeeded' ? s.green('Done') : e.status === 'failed' ? s.red('Failed') : e.status === 'interrupted' ? s.yellow('Interrupted') : s.yellow('Cancelled');
        this.line(`${verdict}: ${parts.join(', ')} in ${(e.ms / 1000).toFixed(2)}s`);
        if (e.interruptedBy !== undefined) this.line(s.yellow(`run ${e.runId} was taken as interrupted by ${e.interruptedBy} while this process could not reach Postgres; its end is recorded as that process recorded it`));
        if (e.pending > 0) this.line(s.yellow(`${e.pending} task${e.pending === 1 ? ' was' : 's were'} never started`));
        if (this.failures.length > 0) {
          // Grouped by error, so a hundred dates failing for one reason read as one problem.
          const groups = new Map<string, { task: TaskRef }[]>();
          for (const f of this.failures) pushTo(groups, f.message, f);
          this.line(`${s.bold(`Failures`)} (${this.failures.length}, ${groups.size} distinct error${groups.size === 1 ? '' : 's'}):`);
          for (const [message, list] of groups) {
            for (const line of message.split('\n')) this.line(`  ${s.red(line)}`);
            const shown = list.slice(0, 20);
            for (const f of shown) this.line(`    ${f.task.model}${taskWhen(f.task) ? ` ${taskWhen(f.task)}` : ''} ${s.dim(f.task.file)}`);
            if (list.length > shown.length) this.line(s.dim(`    … and ${list.length - shown.length} more`));
          }
        }
        if (e.retryCommand) this.line(`re-run what did not succeed: ${s.bold(e.retryCommand)}`);
        if (e.status !== 'succeeded' && !e.unrecorded) this.line(s.dim(`details: ${e.historyCommand ?? `pipe history ${e.runId}`}`));
        break;
      }
      case 'watch-started':
        this.line(`${s.bold('pipe watch')} · date ${e.ds} · ${e.project}`);
        this.line(s.dim(`watching ${e.watching.join(', ')}; press q or Ctrl-C to stop`));
        break;
      case 'watch-change':
        this.line('');
        this.line(`${s.cyan('changed')}: ${e.files.join(', ') || '(files)'}`);
        if (e.blocked) this.line(s.dim('not rebuilt: the project has errors'));
        else if (e.rebuild.length > 0) this.line(`${s.cyan('rebuilding')}: ${e.rebuild.join(', ')}`);
        else this.line(s.dim('nothing to rebuild'));
        break;
      case 'watch-waiting':
        this.line(
          s.dim(
            `[${new Date().toLocaleTimeString()}] waiting for changes (${e.keeps ? 'watch keeps the warehouse open: a pipe command that asks gets it, other programs cannot open it' : 'the warehouse is free to read'})…`,
          ),
        );
        break;
      case 'diagnostic':
        this.clearFooter();
        this.err.write(`${formatDiagnostic(e.diagnostic, this.read, s)}\n`);
        this.drawFooter();
        break;
      case 'notice':
        this.line(s.dim(e.message));
        break;
      default: {
        const never: never = e;
        throw new Error(`internal error: event ${JSON.stringify(never)}`);
      }
    }
  }

  result(text: string, exact?: boolean): void {
    this.clearFooter();
    (exact ? this.exact : this.out).write(text.endsWith('\n') ? text : `${text}\n`);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.clearFooter();
  }
}

/** What a task is of: its model, or a unit test named as dbt names it, model::test. */
function taskName(t: TaskRef): string {
  return t.kind === 'unit-test' ? t.id.replace(/@[^@]*$/, '') : t.model;
}

/** A unit test's differences as dbt prints them: a header line, then one line per row, the columns aligned. */
export function differencesTable(rows: readonly Record<string, unknown>[]): string[] {
  if (rows.length === 0) return [];
  const columns = Object.keys(rows[0]);
  const text = (v: unknown) => (v === null || v === undefined ? 'null' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const cells = [columns, ...rows.map((r) => columns.map((c) => text(r[c])))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i].length)));
  return cells.map((line) => line.map((cell, i) => cell.padEnd(widths[i])).join(' | ').trimEnd());
}
