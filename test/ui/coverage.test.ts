import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UiServer } from '../../src/ui/server/server.js';
import type { UiCoverage, UiCoverageUnit } from '../../src/ui/api.js';
import { eventsOfType, holdWarehouse } from '../e2e/helpers.js';
import { runIn, statusIn } from '../support/in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';
import { readCoverage } from '../../src/ui/server/coverage-data.js';
import { COVERAGE_RANGE, datedProject, serve, stubAssets } from './ui-fixture.js';
import { constants } from 'node:os';
import { isAlive, isStopped, processesWith, signalPending } from '../processes.js';

/**
 * The coverage behind the UI's heatmap is `pipe status` itself: the same standings, the same
 * records as `--json`, with the task and the run each cell opens; and a message, not an error,
 * while another process holds the warehouse.
 */

const RANGE = COVERAGE_RANGE;

let dir: string;
let server: UiServer;

beforeAll(async () => {
  dir = await datedProject();
  server = await serve(dir, stubAssets());
});
afterAll(async () => {
  await server?.close();
  removeProjects();
});

async function coverage(query = `?start=${RANGE.start}&end=${RANGE.end}`): Promise<UiCoverage> {
  const res = await fetch(new URL(`/api/coverage${query}`, server.url));
  expect(res.status).toBe(200);
  return (await res.json()) as UiCoverage;
}

/** A cell as `pipe status --json` prints it: without what only the page needs. */
const asStatus = ({ task_id: _t, open_run: _r, ...rest }: UiCoverageUnit) => rest;

describe('coverage endpoint', () => {
  it('says what pipe status --json says, per model and date', async () => {
    const body = await coverage();
    if (body.kind !== 'read') throw new Error(`not read: ${JSON.stringify(body)}`);
    // A range given is judged whole: no history left out to say (pipe status --json's history_start).
    expect(body.history_start).toBeNull();
    const status = eventsOfType((await statusIn(dir, { ...RANGE, json: true })).events, 'node');
    expect(body.nodes.map((n) => n.node)).toEqual(status.map((n) => n.node));
    for (const n of body.nodes) {
      const s = status.find((x) => x.node === n.node)!;
      expect([n.kind, n.dated, n.ever_built]).toEqual([s.kind, s.dated, s.ever_built]);
      if (n.dated) expect(n.units.map(asStatus)).toEqual(s.intervals);
      else {
        const { type: _type, node: _node, kind: _kind, dated: _dated, ever_built: _ever, ...unit } = s;
        expect(n.units.map(asStatus)).toEqual([unit]);
      }
    }
    const daily = body.nodes.find((n) => n.node === 'daily')!;
    expect(daily.units.map((u) => [u.interval, u.state])).toEqual([
      ['2024-01-01', 'current'],
      ['2024-01-02', 'failed'],
      ['2024-01-03', 'current'],
      ['2024-01-04', 'never-built'],
    ]);
    // A failed date opens the run that failed it; a built one the run that built it.
    expect(daily.units[1].open_run).toEqual(expect.any(String));
    expect(daily.units[0].open_run).toBe(daily.units[0].run_id);
    expect(daily.units[3].open_run).toBeNull();
    expect(daily.units[1].task_id).toContain('daily');
  });

  it("opens a table's cell at the task of the run that built or failed it, of the date that run was for", async () => {
    const tables = tempProject({ 'models/ok.sql': 'select 1 as a\n', 'models/bad.sql': "select error('boom') as e\n" }, 'pipe-ui-coverage-');
    expect((await runIn(tables, { date: '2024-01-02' })).code).toBe(1);
    const read = await readCoverage({ project: tables }, {});
    if (read.kind !== 'read') throw new Error(`not read: ${JSON.stringify(read)}`);
    expect(read.nodes.map((n) => [n.node, n.units[0].state, n.units[0].task_id])).toEqual([
      ['bad', 'failed', 'bad@2024-01-02'],
      ['ok', 'current', 'ok@2024-01-02'],
    ]);
  });

  it('answers a bad range with the message pipe status gives', async () => {
    const res = await fetch(new URL('/api/coverage?start=2024-01-01', server.url));
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: string }).error).toMatch(/--end needs --start|--start/);
  });

  it('says who holds the warehouse instead of judging', async () => {
    const holder = await holdWarehouse(join(dir, 'warehouse.duckdb'));
    try {
      const body = await coverage();
      expect(body).toMatchObject({ kind: 'held', held_by: expect.stringContaining(`pid ${holder.pid}`) });
    } finally {
      await holder.release();
    }
  });

  it('is judged by a pipe process of its own: the server answers other pages meanwhile, and stops it as it closes', async () => {
    const own = await serve(dir, stubAssets());
    const judging = () => processesWith(['ui-coverage', '--project', dir]);
    /**
     * Asks for the coverage and stops (SIGSTOP) the process that judges it, where it is; asked
     * again when that process ended before it could be stopped (it takes half a second here).
     */
    const askAndStop = async (query: string): Promise<{ asked: Promise<Response>; judge: number }> => {
      for (let attempt = 1; ; attempt++) {
        const asked = fetch(new URL(`/api/coverage${query}`, own.url));
        await expect.poll(() => judging().length).toBe(1);
        const judge = judging()[0];
        try {
          process.kill(judge, 'SIGSTOP');
          // Stopped, or gone: one that was exiting as the signal came exits all the same.
          await expect.poll(() => isStopped(judge) || !isAlive(judge)).toBe(true);
          if (isStopped(judge)) return { asked, judge };
        } catch {
          // gone already
        }
        if (attempt === 5) throw new Error(`the judging process ended before it could be stopped, ${attempt} times`);
        await asked;
      }
    };
    let judge: number | undefined;
    let closed: Promise<void> | undefined;
    try {
      const first = await askAndStop(`?start=${RANGE.start}&end=${RANGE.end}`);
      judge = first.judge;
      // Stopped where it is: what the server answers now, it answers without it.
      const runs = await fetch(new URL('/api/runs', own.url));
      expect(runs.status).toBe(200);
      expect(((await runs.json()) as { runs: unknown[] }).runs.length).toBeGreaterThan(0);
      process.kill(judge, 'SIGCONT');
      const res = await first.asked;
      expect(res.status).toBe(200);
      const body = (await res.json()) as UiCoverage;
      expect(body).toEqual(await readCoverage({ project: dir }, RANGE));
      await expect.poll(() => isAlive(judge!)).toBe(false);

      // Closing the server stops a judgement under way, and ends once it has (held stopped, it takes the signal once continued).
      const second = await askAndStop('');
      second.asked.catch(() => undefined);
      judge = second.judge;
      closed = own.close();
      await expect.poll(() => signalPending(judge!, constants.signals.SIGTERM)).toBe(true);
      expect(isAlive(judge)).toBe(true);
      process.kill(judge, 'SIGCONT');
      await closed;
      expect(isAlive(judge)).toBe(false);
    } finally {
      if (judge !== undefined && isAlive(judge)) process.kill(judge, 'SIGCONT');
      await (closed ?? own.close());
    }
  });
});
