import { spawn, type ChildProcess } from 'node:child_process';
import type { ProjectOptions } from '../../commands/context.js';
import { projectArgs } from './actions.js';
import { UiProblem } from './project-data.js';

/**
 * The coverage heatmap's data, judged in a pipe process of its own (`pipe ui-coverage`, see
 * coverage-data.ts): judging every date of every model is `pipe status`, seconds of work that
 * never waits (15 s and 1.1 GB for 2,000 models over three months). In the server's process it
 * held every other request until it ended (the runs page answered after 10 s), and kept its
 * memory; a process of its own runs beside the server, on another core, and gives its memory
 * back as it exits. Its answer is sent on as it printed it (20 MB of JSON for those 2,000
 * models, read and written again in 0.5 s otherwise). Requests for the same dates while one is
 * judged share its answer; the processes still judging stop with the server, which waits for them.
 */
export class CoverageProcesses {
  private readonly judging = new Map<string, Promise<CoverageText>>();
  private readonly children = new Set<ChildProcess>();
  private stopped = false;

  constructor(
    private readonly bin: string,
    private readonly options: ProjectOptions,
  ) {}

  /** The answer: a UiCoverage, or `{ error }` with the status of the problem (a bad range, a plan too large). */
  read(range: { readonly start?: string; readonly end?: string }): Promise<CoverageText> {
    const key = JSON.stringify([range.start ?? null, range.end ?? null]);
    let answer = this.judging.get(key);
    if (!answer) {
      answer = this.judge(range).finally(() => this.judging.delete(key));
      this.judging.set(key, answer);
    }
    return answer;
  }

  /** Stops the processes still judging (their answers are for requests the server no longer serves); resolves once they have exited. */
  stop(): Promise<void> {
    this.stopped = true;
    const exits = [...this.children].map((child) => new Promise<void>((res) => (child.exitCode !== null || child.signalCode !== null ? res() : child.once('exit', () => res()))));
    for (const child of this.children) child.kill('SIGTERM');
    return Promise.all(exits).then(() => undefined);
  }

  private judge(range: { readonly start?: string; readonly end?: string }): Promise<CoverageText> {
    if (this.stopped) return Promise.reject(new UiProblem('pipe ui is stopping', 503));
    // `--start=VALUE`: a value as the page sent it, even one that starts with a dash, is the option's.
    const args = [
      this.bin,
      'ui-coverage',
      ...projectArgs(this.options),
      ...(range.start === undefined ? [] : [`--start=${range.start}`]),
      ...(range.end === undefined ? [] : [`--end=${range.end}`]),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    return new Promise((res, rej) => {
      const out: Buffer[] = [];
      let err = '';
      child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr!.on('data', (chunk: Buffer) => {
        // The end of what it said is enough to tell why it stopped.
        err = (err + chunk.toString()).slice(-4000);
      });
      child.on('error', (e) => {
        this.children.delete(child);
        rej(new UiProblem(`could not start pipe to judge the coverage (${this.bin}): ${e.message}`, 500));
      });
      child.on('close', (code, signal) => {
        this.children.delete(child);
        // Its answer is whole once it has exited by itself: a process stopped while printing leaves less.
        const said = code === 0 ? answerOf(Buffer.concat(out).toString()) : undefined;
        if (said) res(said);
        else {
          const how = signal ? `was stopped by ${signal}` : `exited with status ${code}`;
          const why = err.trim().split('\n').slice(-3).join(' ').trim();
          rej(new UiProblem(`judging the coverage ${how}${why ? `: ${why}` : ''}`, this.stopped ? 503 : 500));
        }
      });
    });
  }
}

/** What `pipe ui-coverage` prints: the HTTP status of its answer on a line, then the answer's JSON text. */
export interface CoverageText {
  readonly status: number;
  readonly text: string;
}

export function coverageText(status: number, body: unknown): string {
  return `${status}\n${JSON.stringify(body)}`;
}

/** The answer as printed; undefined when it is not one (a failure before it, told on stderr). */
function answerOf(printed: string): CoverageText | undefined {
  const line = printed.indexOf('\n');
  const status = Number(printed.slice(0, line));
  if (line === -1 || !Number.isInteger(status) || status < 200 || status > 599) return undefined;
  const text = printed.slice(line + 1);
  return text.startsWith('{') && text.endsWith('}') ? { status, text } : undefined;
}
