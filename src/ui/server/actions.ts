import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProjectOptions } from '../../commands/context.js';
import { UiProblem } from './project-data.js';
import { distUrl } from '../../install-paths.js';

/**
 * What `pipe ui --allow-actions` does: start a retry or a backfill as the command line would,
 * by running the pipe binary itself. The run is then a process of its own, as if typed: it
 * takes the warehouse and lets go of it when it ends, writes its run log (which the run page
 * follows live), and stops on Ctrl-C with the UI, rolling back. The UI's process never opens
 * the warehouse for writing and never holds it while idle, and a failing run cannot take the
 * page down.
 */

/** The pipe binary in dist/. */
export const PIPE_MAIN = fileURLToPath(distUrl('cli/main.js'));

export interface Actions {
  readonly allowed: boolean;
  /** Sent back by the page with every action: a page of another site cannot read it (no CORS), so cannot act. */
  readonly token: string;
  /** The pipe binary to run (default PIPE_MAIN). */
  readonly bin: string;
}

export function makeActions(allowed: boolean, bin = PIPE_MAIN): Actions {
  return { allowed, token: randomBytes(24).toString('hex'), bin };
}

/** What an action answers: the run it started (the page opens it), or why there was nothing to run. */
export type Started = { readonly run_id: string } | { readonly nothing: string };

/** The same --project/--db (and dbt profile) flags the UI was started with. */
export function projectArgs(options: ProjectOptions): string[] {
  return [
    '--project',
    resolve(options.project ?? '.'),
    ...(options.db ? ['--db', options.db] : []),
    ...(options.profilesDir !== undefined ? ['--profiles-dir', options.profilesDir] : []),
    ...(options.target !== undefined ? ['--target', options.target] : []),
  ];
}

/**
 * Runs `pipe ARGS --json --wait 0` and answers once it has started its run, or ended without
 * one. Without waiting: a page's button should say at once that another process holds the
 * warehouse, rather than hang. The process then goes on; its output is read to its end.
 */
export function startPipe(actions: Actions, options: ProjectOptions, args: readonly string[]): Promise<Started> {
  const child = spawn(process.execPath, [actions.bin, ...args, ...projectArgs(options), '--json', '--wait', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((res, rej) => {
    let buffered = '';
    let answered = false;
    const notices: string[] = [];
    const errors: { code: string; text: string }[] = [];
    const answer = (settle: () => void) => {
      if (answered) return;
      answered = true;
      settle();
    };
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const event = parseEvent(line);
        if (event?.type === 'run-started' && typeof event.runId === 'string') answer(() => res({ run_id: event.runId as string }));
        if (event?.type === 'notice' && typeof event.message === 'string') notices.push(event.message);
        const d = event?.type === 'diagnostic' ? (event.diagnostic as { severity?: string; code?: string; message?: string; hint?: string } | undefined) : undefined;
        if (d?.severity === 'error') errors.push({ code: d.code ?? '', text: `${d.message ?? ''}${d.hint ? ` (${d.hint})` : ''}` });
      }
    });
    child.stderr.resume();
    child.on('error', (e) => answer(() => rej(new UiProblem(`could not start pipe (${actions.bin}): ${e.message}`, 500))));
    child.on('close', (code) =>
      answer(() => {
        if (errors.length > 0) rej(new UiProblem(errors.map((e) => e.text).join('\n'), errors.some((e) => e.code === 'warehouse-locked') ? 409 : 422));
        else if (code === 0) res({ nothing: notices.join('\n') || 'nothing to run' });
        else rej(new UiProblem(`pipe ${args[0]} exited with status ${code} before starting a run`, 500));
      }),
    );
  });
}

function parseEvent(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A backfill's request from the page, checked before anything runs. */
export function backfillArgs(body: unknown): string[] {
  const b = (body ?? {}) as { select?: unknown; start?: unknown; end?: unknown };
  const select = Array.isArray(b.select) ? b.select.filter((s): s is string => typeof s === 'string' && s.trim() !== '') : [];
  if (select.length === 0) throw new UiProblem('a backfill needs a selection: one or more models', 400);
  const flag = select.find((s) => s.startsWith('-'));
  if (flag !== undefined) throw new UiProblem(`'${flag}' is not a selector`, 400);
  if (typeof b.start !== 'string' || !DATE.test(b.start)) throw new UiProblem('a backfill needs a start date, YYYY-MM-DD', 400);
  if (typeof b.end !== 'string' || !DATE.test(b.end)) throw new UiProblem('a backfill needs an end date, YYYY-MM-DD', 400);
  return ['backfill', '--start', b.start, '--end', b.end, '--select', ...select];
}
