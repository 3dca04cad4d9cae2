import { afterAll, describe, expect, it } from 'vitest';
import { copyExample, explain, pipe, removeTempDirs } from './helpers.js';

afterAll(removeTempDirs);

/**
 * A plan larger than node's heap holds: only a process shows how it ends (V8 stops one that
 * runs out of heap with a stack trace of its own). The heap is made small here, as a project of
 * thousands of models kept by date backfilled over years meets the default one.
 */
describe('a backfill whose plan does not fit in memory', () => {
  const heap = { NODE_OPTIONS: '--max-old-space-size=64' };
  // The example's two models kept by date, over 35 years: 25,575 tasks, ~400 MB of plan.
  const range = ['--start', '1990-01-01', '--end', '2024-12-31'];
  const refusal = /^error: the plan of 12,784 dates of 2 models kept by date \(25,575 tasks\) needs more memory than node gives pipe: \d+ MB of its \d+ MB held [\d,]+ of them; plan fewer dates at once \(about ([\d,]+) fit: 1990-01-01 to (\d{4}-\d\d-\d\d)\), or give node more with NODE_OPTIONS=--max-old-space-size=(\d+)$/m;

  it('is refused before anything runs, saying how many dates fit and how to give node more; the dates said fit are planned', () => {
    const dir = copyExample();
    const refused = pipe(['backfill', ...range, '--dry-run', '--project', dir], { env: heap });
    expect(refused.code, explain(refused)).toBe(2);
    expect(refused.stderr).not.toMatch(/FATAL ERROR|heap out of memory/);
    const said = refusal.exec(refused.stderr);
    expect(said, refused.stderr).not.toBeNull();
    const [, fit, end, mb] = said!;
    expect(Number(fit.replaceAll(',', ''))).toBeGreaterThan(100);
    expect(Number(mb)).toBeGreaterThan(64);

    const planned = pipe(['backfill', '--start', '1990-01-01', '--end', end, '--dry-run', '--project', dir], { env: heap });
    expect(planned.code, explain(planned)).toBe(0);
    expect(planned.stdout).toContain(`backfill 1990-01-01 → ${end}: `);
    expect(planned.stdout).toContain('nothing was written (--dry-run)');
  });

  it('a backfill and pipe status are refused alike, and the backfill records no run', () => {
    const dir = copyExample();
    const backfill = pipe(['backfill', ...range, '--project', dir], { env: heap });
    expect(backfill.code, explain(backfill)).toBe(2);
    expect(backfill.stderr).toMatch(refusal);
    const history = pipe(['history', '--project', dir]);
    expect(history.stdout, explain(history)).toContain('no runs yet');

    const status = pipe(['status', ...range, '--project', dir], { env: heap });
    expect(status.code, explain(status)).toBe(2);
    expect(status.stderr).toMatch(refusal);
  });
});
