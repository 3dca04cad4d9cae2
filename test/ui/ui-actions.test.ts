import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UiActions, UiRunDetail, UiStarted } from '../../src/ui/api.js';
import { startUiServer, type UiServer } from '../../src/ui/server/server.js';
import { holdWarehouse, PIPE_BIN } from '../e2e/helpers.js';
import { removeProjects } from '../support/projects.js';
import { ended } from '../processes.js';
import { builtProject, serve, stubAssets, type Fixture } from './ui-fixture.js';

/**
 * The actions of `pipe ui --allow-actions`: refused without the flag and without the page's
 * token; with both, a retry runs the pipe binary (dist/cli/main.js: build first), and the run
 * it starts completes the failed one; refused while another process holds the warehouse.
 */

let fx: Fixture;
let readOnly: UiServer;
let acting: UiServer;
const assets = stubAssets();

beforeAll(async () => {
  fx = await builtProject();
  readOnly = await serve(fx.dir, assets);
  acting = await startUiServer({ project: fx.dir, port: 0, assets, allowActions: true, pipeBin: PIPE_BIN });
});
afterAll(async () => {
  await readOnly?.close();
  await acting?.close();
  // The runs the actions started go on after their requests: their files go once they have ended.
  if (fx) await ended(['--project', fx.dir]);
  removeProjects();
});

async function call<T>(server: UiServer, path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(new URL(path, server.url), init);
  return { status: res.status, body: (await res.json()) as T };
}

async function tokenOf(server: UiServer): Promise<string> {
  const { body } = await call<UiActions>(server, '/api/actions');
  expect(body.allowed).toBe(true);
  return body.token!;
}

const post = (token: string, body: unknown = {}, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-pipe-token': token, ...headers },
  body: JSON.stringify(body),
});

describe('pipe ui actions', () => {
  it('answers 403 without --allow-actions, and tells the page so', async () => {
    expect((await call<UiActions>(readOnly, '/api/actions')).body).toEqual({ allowed: false, token: null });
    const retry = await call<{ error: string }>(readOnly, `/api/runs/${fx.failed}/retry`, post('anything'));
    expect(retry.status).toBe(403);
    expect(retry.body.error).toMatch(/--allow-actions/);
    expect((await call(readOnly, '/api/backfill', post('anything', { select: ['a'], start: '2024-01-01', end: '2024-01-02' }))).status).toBe(403);
  });

  it("refuses a request without the page's token, or from another site's page", async () => {
    const token = await tokenOf(acting);
    expect((await call(acting, `/api/runs/${fx.failed}/retry`, post('wrong'))).status).toBe(403);
    const crossSite = await call<{ error: string }>(acting, `/api/runs/${fx.failed}/retry`, post(token, {}, { origin: 'http://evil.example' }));
    expect(crossSite.status).toBe(403);
    expect(crossSite.body.error).toBe('a page of http://evil.example may not act on this pipe ui');
    // A run id is no option of pipe retry's.
    for (const id of ['--distributed', '--threads', '-h']) expect((await call(acting, `/api/runs/${id}/retry`, post(token))).status).toBe(404);
  });

  it('checks a backfill before running anything', async () => {
    const token = await tokenOf(acting);
    const noDate = await call<{ error: string }>(acting, '/api/backfill', post(token, { select: ['a'], start: 'yesterday', end: '2024-01-02' }));
    expect(noDate).toEqual({ status: 400, body: { error: 'a backfill needs a start date, YYYY-MM-DD' } });
    const flag = await call<{ error: string }>(acting, '/api/backfill', post(token, { select: ['--full-refresh'], start: '2024-01-01', end: '2024-01-02' }));
    expect(flag).toEqual({ status: 400, body: { error: "'--full-refresh' is not a selector" } });
  });

  it("backfills a model's dates: the run it starts is pipe backfill's", async () => {
    const token = await tokenOf(acting);
    const started = await call<UiStarted>(acting, '/api/backfill', post(token, { select: ['b'], start: '2024-01-03', end: '2024-01-04' }));
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const runId = (started.body as { run_id: string }).run_id;
    await expect.poll(() => call<UiRunDetail>(acting, `/api/runs/${runId}`).then((r) => r.body.run?.status), { timeout: 20_000 }).toBe('succeeded');
    const { run } = (await call<UiRunDetail>(acting, `/api/runs/${runId}`)).body;
    expect([run.command, run.dates]).toEqual(['backfill', '2024-01-03..2024-01-04']);
  });

  it('refuses a retry while another process holds the warehouse, saying who', async () => {
    const token = await tokenOf(acting);
    const holder = await holdWarehouse(join(fx.dir, 'warehouse.duckdb'));
    try {
      const refused = await call<{ error: string }>(acting, `/api/runs/${fx.failed}/retry`, post(token));
      expect(refused.status).toBe(409);
      expect(refused.body.error).toContain(`${holder.pid}`);
    } finally {
      await holder.release();
    }
  });

  it('retries a failed run: the run it starts completes it', async () => {
    const token = await tokenOf(acting);
    writeFileSync(join(fx.dir, 'models/bad.sql'), "{{ config(materialized='table') }}\nselect id\nfrom {{ ref('a') }}\n");
    writeFileSync(join(fx.dir, 'models/checked.yaml'), 'checks:\n  expression: ["id < 3"]\n');
    const started = await call<UiStarted>(acting, `/api/runs/${fx.failed}/retry`, post(token));
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const runId = (started.body as { run_id: string }).run_id;
    expect(runId).not.toBe(fx.failed);
    const run = () => call<UiRunDetail>(acting, `/api/runs/${runId}`).then((r) => r.body.run?.status);
    await expect.poll(run, { timeout: 20_000 }).toBe('succeeded');
    const detail = (await call<UiRunDetail>(acting, `/api/runs/${runId}`)).body;
    expect(detail.run.parent_run_id).toBe(fx.failed);
    expect(detail.tasks.map((t) => t.node).sort()).toEqual(['bad', 'c', 'checked']);
  });
});
