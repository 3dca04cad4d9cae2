import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CoverageProcesses } from '../../src/ui/server/coverage-process.js';
import { UiProblem } from '../../src/ui/server/project-data.js';
import { removeProjects, tempProject } from '../support/projects.js';

/**
 * How pipe ui's server hands the coverage to processes of their own (coverage-process.ts), with
 * a program in place of `pipe ui-coverage` that says when it started and answers once let go:
 * what the page asks while one judges the same dates is that one's answer; a process that
 * fails is a problem, told with what it said; a server that stops stops them.
 */

const dir = tempProject({}, 'pipe-ui-coverage-process-');
const bin = join(dir, 'judge.cjs');
// Logs its arguments, waits for its gate (a FIFO named after its --start), then answers as --start says.
writeFileSync(
  bin,
  `const fs = require('fs');
const start = (process.argv.find((a) => a.startsWith('--start=')) ?? '--start=none').slice('--start='.length);
fs.appendFileSync(${JSON.stringify(`${bin}.log`)}, JSON.stringify(process.argv.slice(2)) + '\\n');
fs.readFileSync(${JSON.stringify(`${bin}.`)} + start + '.gate');
if (start === 'bad') process.stdout.write('422\\n{"error":"bad range"}');
else if (start === 'cut') { process.stdout.write('200\\n{"kind":"read","nodes":['); process.stderr.write('FATAL ERROR: out of memory\\n'); process.exit(134); }
else process.stdout.write('200\\n{"kind":"read","start":"' + start + '"}');
`,
);
for (const start of ['2024-01-01', '2024-02-01', 'bad', 'cut', 'none']) execFileSync('mkfifo', [`${bin}.${start}.gate`]);

afterAll(() => removeProjects());

const started = () => readFileSync(`${bin}.log`, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]);
/** Lets the judgement of `start` answer: blocks until it has opened its gate. */
const letGo = (start: string) => writeFileSync(`${bin}.${start}.gate`, 'go');

describe("the coverage's processes", () => {
  const processes = new CoverageProcesses(bin, { project: dir, db: join(dir, 'w.duckdb') });
  writeFileSync(`${bin}.log`, '');

  it('share one judgement between the requests for the same dates while it runs; other dates have their own', async () => {
    const first = processes.read({ start: '2024-01-01', end: '2024-01-31' });
    const again = processes.read({ start: '2024-01-01', end: '2024-01-31' });
    const other = processes.read({ start: '2024-02-01', end: '2024-02-29' });
    await expect.poll(() => started().length).toBe(2);
    letGo('2024-01-01');
    letGo('2024-02-01');
    const answers = await Promise.all([first, again, other]);
    expect(answers).toEqual([
      { status: 200, text: '{"kind":"read","start":"2024-01-01"}' },
      { status: 200, text: '{"kind":"read","start":"2024-01-01"}' },
      { status: 200, text: '{"kind":"read","start":"2024-02-01"}' },
    ]);
    // The two start side by side: in either order.
    expect(started().sort((a, b) => a.join(' ').localeCompare(b.join(' ')))).toEqual([
      ['ui-coverage', '--project', dir, '--db', join(dir, 'w.duckdb'), '--start=2024-01-01', '--end=2024-01-31'],
      ['ui-coverage', '--project', dir, '--db', join(dir, 'w.duckdb'), '--start=2024-02-01', '--end=2024-02-29'],
    ]);
    // Once answered, the same dates are judged again: the page asks for what holds now.
    const later = processes.read({ start: '2024-01-01', end: '2024-01-31' });
    await expect.poll(() => started().length).toBe(3);
    letGo('2024-01-01');
    expect(await later).toEqual(answers[0]);
  });

  it("passes a problem on as it was answered, and takes a process that failed as the server's problem, with what it said", async () => {
    const bad = processes.read({ start: 'bad' });
    letGo('bad');
    expect(await bad).toEqual({ status: 422, text: '{"error":"bad range"}' });
    const cut = processes.read({ start: 'cut' });
    letGo('cut');
    const failed = await cut.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(UiProblem);
    expect(failed).toMatchObject({ status: 500, message: 'judging the coverage exited with status 134: FATAL ERROR: out of memory' });
  });

  it('stop the judgements under way when the server stops, ending once they have, and start none after', async () => {
    const before = started().length;
    const running = processes.read({});
    await expect.poll(() => started().length).toBe(before + 1);
    await processes.stop();
    await expect(running).rejects.toMatchObject({ status: 503, message: expect.stringMatching(/^judging the coverage was stopped by SIGTERM/) });
    await expect(processes.read({ start: '2024-01-01' })).rejects.toMatchObject({ status: 503, message: 'pipe ui is stopping' });
    expect(started().length).toBe(before + 1);
  });
});
