import { DuckDBInstance } from '@duckdb/node-api';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ui } from '../../src/ui/ui-command.js';
import type { PipeEvent } from '../../src/events/events.js';
import { runLogPath } from '../../src/run-log/run-log-files.js';
import { isLoopback, startUiServer, type UiServer } from '../../src/ui/server/server.js';
import type { UiChanges, UiGraph, UiModel, UiPreview, UiRunDetail, UiRuns } from '../../src/ui/api.js';
import { eventsOfType, execOn, explain, holdWarehouse, pipe, PIPE_BIN } from '../e2e/helpers.js';
import { cliIn } from '../support/cli-in-process.js';
import { historyIn, retryIn, runIn } from '../support/in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';
import { builtProject, DAY, FILES, serve, stubAssets, type Fixture } from './ui-fixture.js';

/**
 * The server of `pipe ui`, in-process, on a project built by real runs: its JSON says what the
 * run state says, read from the warehouse when it is free and from the run logs while another
 * process holds it; it never keeps the warehouse from a run. The page itself: ui-browser.test.ts.
 */

let fx: Fixture;
let server: UiServer;
const assets = stubAssets();

beforeAll(async () => {
  fx = await builtProject();
  server = await serve(fx.dir, assets);
});
afterAll(async () => {
  await server?.close();
  removeProjects();
});

async function get<T>(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(new URL(path, server.url), { headers });
  return { status: res.status, body: (await res.json()) as T };
}

describe('pipe ui server', () => {
  it('lists the runs as pipe history does, with a cell per task', async () => {
    const { status, body } = await get<UiRuns>('/api/runs');
    expect(status).toBe(200);
    expect(body.source).toEqual({ kind: 'warehouse' });
    const history = eventsOfType((await historyIn(fx.dir, { json: true })).events, 'run');
    expect(body.runs.map((r) => [r.run_id, r.status, r.tasks, r.succeeded, r.failed, r.skipped])).toEqual(
      history.map((r) => [r.run_id, r.status, r.tasks, r.succeeded, r.failed, r.skipped]),
    );
    const failed = body.runs.find((r) => r.run_id === fx.failed)!;
    expect(failed.status).toBe('failed');
    expect(failed.dates).toBe(DAY);
    expect(failed.duration_ms).toBeGreaterThanOrEqual(0);
    expect(Object.fromEntries(failed.cells.map((c) => [c.node, c.status]))).toMatchObject({ a: 'succeeded', bad: 'failed', c: 'skipped', checked: 'failed' });
  });

  it('tells a run: tasks with times, failures grouped with file:line, check samples, the retry command', async () => {
    const { body } = await get<UiRunDetail>(`/api/runs/${fx.failed}`);
    const tasks = eventsOfType((await historyIn(fx.dir, { runId: fx.failed, json: true })).events, 'task');
    expect(body.tasks.map((t) => [t.task_id, t.status])).toEqual(tasks.map((t) => [t.task_id, t.status]));
    for (const t of body.tasks.filter((t) => t.status === 'succeeded' || t.status === 'failed')) {
      expect(t.start_ms).toBeLessThanOrEqual(t.end_ms!);
    }
    expect(body.failures.find((g) => g.tasks.some((t) => t.node === 'bad'))?.tasks).toEqual([{ task_id: `bad@${DAY}`, node: 'bad', at: 'models/bad.sql:3' }]);
    expect(body.failures.find((g) => g.tasks.some((t) => t.node === 'bad'))?.error).toMatch(/nosuchcolumn/);
    expect(body.checks).toEqual([
      { task_id: `checked@${DAY}`, check: 'expression(id < 2)', severity: 'error', status: 'failed', failing_rows: 1, sample: [{ id: 2, name: 'bob' }] },
    ]);
    expect(body.retry).toBe(`pipe retry ${fx.failed} --project ${fx.dir}`);
    expect((await get<UiRunDetail>(`/api/runs/${fx.good}`)).body.retry).toBeNull();
    const unknown = await get<{ error: string }>('/api/runs/20200101T000000-dead');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatch(/^no run '20200101T000000-dead'/);
  });

  it("offers no retry of a run whose recorded parameters pipe retry cannot read, and says why", async () => {
    const own = await builtProject();
    await execOn(join(own.dir, 'warehouse.duckdb'), `UPDATE _pipe.run_starts SET params = '{"vars": 5}' WHERE run_id = '${own.failed}'`);
    const other = await serve(own.dir, assets);
    try {
      const detail = (await (await fetch(new URL(`/api/runs/${own.failed}`, other.url))).json()) as UiRunDetail;
      expect([detail.retry, detail.retry_run]).toEqual([null, null]);
      expect(detail.run.params_problem).toMatch(/its recorded parameters cannot be read/);
      const refused = await retryIn(own.dir, { runId: own.failed });
      expect(refused.code).toBe(2);
    } finally {
      await other.close();
    }
  });

  it('follows a run to its retries: the original says by whom and how, and completing it means the latest retry', async () => {
    const own = await builtProject();
    const retried = await retryIn(own.dir, { runId: own.failed });
    expect(retried.code).toBe(1);
    const retryId = eventsOfType(retried.events, 'run-started')[0].runId as string;
    const other = await serve(own.dir, assets);
    const read = async <T>(path: string) => (await (await fetch(new URL(path, other.url))).json()) as T;
    try {
      const original = await read<UiRunDetail>(`/api/runs/${own.failed}`);
      expect(original.run).toMatchObject({ retried_by: retryId, retry_status: 'failed', completed_by: null });
      // What a bare pipe retry would pick: the retry, not a second retry of the original.
      expect([original.retry, original.retry_run]).toEqual([`pipe retry ${retryId} --project ${own.dir}`, retryId]);
      const runs = await read<UiRuns>('/api/runs');
      expect(runs.runs.find((r) => r.run_id === own.failed)).toMatchObject({ retried_by: retryId, retry_status: 'failed' });
      // The run logs tell the same while another process holds the warehouse.
      const holder = await holdWarehouse(join(own.dir, 'warehouse.duckdb'));
      try {
        expect((await read<UiRuns>('/api/runs')).runs.find((r) => r.run_id === own.failed)).toMatchObject({ retried_by: retryId, retry_status: 'failed' });
        const logged = await read<UiRunDetail>(`/api/runs/${own.failed}`);
        expect(logged.source.kind).toBe('run-log');
        expect([logged.run.retried_by, logged.retry_run]).toEqual([retryId, retryId]);
      } finally {
        await holder.release();
      }
      // A retry whose process died (marked running, nobody holding the file) was interrupted, as its own row says.
      const instance = await DuckDBInstance.create(join(own.dir, 'warehouse.duckdb'));
      const connection = await instance.connect();
      await connection.run(`DELETE FROM _pipe.run_ends WHERE run_id = '${retryId}'`);
      await connection.run(`UPDATE _pipe.run_starts SET status = 'running', ended_at = NULL WHERE run_id = '${retryId}'`);
      connection.closeSync();
      instance.closeSync();
      expect((await read<UiRunDetail>(`/api/runs/${own.failed}`)).run.retry_status).toBe('interrupted');
      const history = (await historyIn(own.dir)).stdout.split('\n').find((l) => l.startsWith(own.failed));
      expect(history).toContain('failed, retried (interrupted)');
      // Mended, the retry of the retry succeeds: nothing is left to complete.
      writeFileSync(join(own.dir, 'models/bad.sql'), "{{ config(materialized='table') }}\nselect id\nfrom {{ ref('a') }}\n");
      writeFileSync(join(own.dir, 'models/checked.yaml'), 'checks:\n  expression: ["id < 3"]\n');
      expect((await retryIn(own.dir, { runId: retryId })).code).toBe(0);
      const done = await read<UiRunDetail>(`/api/runs/${own.failed}`);
      expect(done.run.retry_status).toBe('succeeded');
      expect([done.retry, done.retry_run]).toEqual([null, null]);
    } finally {
      await other.close();
    }
  });

  it('offers no retry of a run whose on-run-end alone failed: a retry would find nothing to run', async () => {
    const dir = tempProject({
      'dbt_project.yml': 'name: hooked\non-run-end: "select error(\'no end\')"\n',
      'pipe.yaml': 'warehouse: warehouse.duckdb\n',
      'models/a.sql': 'select 1 as id\n',
    });
    const r = await runIn(dir, { date: DAY });
    expect(r.code).toBe(1);
    const runId = eventsOfType(r.events, 'run-started')[0].runId as string;
    const own = await serve(dir, assets);
    try {
      const detail = (await (await fetch(new URL(`/api/runs/${runId}`, own.url))).json()) as UiRunDetail;
      expect(detail.run.status).toBe('failed');
      expect([detail.retry, detail.retry_run]).toEqual([null, null]);
      // A dbt project goes by the name in its dbt_project.yml, as its nodes do, not by its folder's.
      const pages = await Promise.all(['/api/runs', '/api/coverage'].map(async (p) => ((await (await fetch(new URL(p, own.url))).json()) as { project: { name: string } }).project.name));
      expect(pages).toEqual(['hooked', 'hooked']);
    } finally {
      await own.close();
    }
  });

  it('answers with secrets masked, as pipe compile prints them: env_var() values and secret_vars in a compiled query', async () => {
    const dir = tempProject({
      'pipe.yaml': 'name: sec\nsecret_vars: [api_key]\nvars:\n  api_key: supersecretvalue123\n',
      'models/s.sql': `select '{{ env_var("PIPE_UI_TOKEN") }}' as tok, '{{ var("api_key") }}' as k\n`,
    });
    process.env.PIPE_UI_TOKEN = 'sk_live_SUPERSECRET42';
    const own = await serve(dir, assets);
    try {
      const res = await fetch(new URL('/api/models/s', own.url));
      const text = await res.text();
      expect(res.status, text).toBe(200);
      expect((JSON.parse(text) as UiModel).compiled).toEqual({ sql: "select '****' as tok, '****' as k" });
      expect(text).not.toMatch(/SUPERSECRET|supersecretvalue/);
    } finally {
      delete process.env.PIPE_UI_TOKEN;
      await own.close();
    }
  });

  it('shows the rest of a project one model of which is broken, and what is wrong with it', async () => {
    const dir = tempProject({ ...FILES, 'models/broken.sql': "select * from {{ ref('nonexistent') }} where {{ dss }}\n" });
    const other = await serve(dir, assets);
    const read = async <T>(path: string) => {
      const res = await fetch(new URL(path, other.url));
      return { status: res.status, body: (await res.json()) as T };
    };
    try {
      const graph = await read<UiGraph>('/api/graph');
      expect(graph.status).toBe(200);
      expect(graph.body.nodes.map((n) => n.name).sort()).toEqual(['a', 'b', 'bad', 'c', 'checked', 'people']);
      expect(graph.body.problems).toEqual(["models/broken.sql:1: 'dss' is undefined (or null) in template output"]);
      expect((await read<UiModel>('/api/models/a')).status).toBe(200);
      const broken = await read<{ error: string }>('/api/models/broken');
      expect(broken.status).toBe(422);
      expect(broken.body.error).toBe("broken cannot be shown: models/broken.sql:1: 'dss' is undefined (or null) in template output");
    } finally {
      await other.close();
    }
  });

  it('gives the graph with each node kind and last status, and a model in full', async () => {
    const { body } = await get<UiGraph>('/api/graph');
    const byName = Object.fromEntries(body.nodes.map((n) => [n.name, n]));
    expect(byName.people).toMatchObject({ type: 'seed', kind: 'seed', last_status: 'succeeded' });
    expect(byName.b).toMatchObject({ kind: 'view', upstream: ['a'], last_status: 'succeeded' });
    expect(byName.bad).toMatchObject({ kind: 'table', file: 'models/bad.sql', last_status: 'failed' });
    expect(byName.c.last_status).toBe('skipped');

    const model = (await get<UiModel>('/api/models/a')).body;
    expect(model.source_sql).toBe(FILES['models/a.sql']);
    expect(model.compiled).toEqual({ sql: expect.stringContaining('"main"."people"') });
    // The date it is compiled for, said with it: a failed task of another date ran other SQL.
    expect(model.compiled_for).toBe(new Date(Date.now() - 86_400_000).toISOString().slice(0, 10));
    expect(model.columns_from).toBe('warehouse');
    expect(model.columns).toEqual([{ name: 'id', type: 'BIGINT' }, { name: 'name', type: 'VARCHAR' }]);
    expect(model.downstream.sort()).toEqual(['b', 'bad', 'checked']);
    // The second run found `a` current: done, writing no rows.
    expect(model.tasks.map((t) => [t.run_id, t.status, t.rows])).toEqual([
      [fx.failed, 'succeeded', null],
      [fx.good, 'succeeded', 2],
    ]);
    expect(model.config).toMatchObject({ materialized: 'table' });
    expect((await get<UiModel>('/api/models/checked')).body.checks).toEqual([{ name: 'expression(id < 2)', severity: 'error', at: 'models/checked.yaml:2' }]);
    // Never built: the project's word for its columns, and no rows.
    expect((await get<UiModel>('/api/models/c')).body.columns_from).toBe('project');
    expect((await get<UiModel>('/api/models/nope')).status).toBe(404);
  });

  it('previews the rows as pipe show reads them', async () => {
    const { body } = await get<UiPreview>('/api/models/b/preview');
    expect(body).toEqual({ columns: [{ name: 'id', type: 'BIGINT' }, { name: 'name', type: 'VARCHAR' }], rows: [['1', 'ann'], ['2', 'bob']], more: false });
    const notBuilt = await get<{ error: string }>('/api/models/c/preview');
    expect(notBuilt.status).toBe(422);
    expect(notBuilt.body.error).toMatch(/c is not built yet/);
  });

  it('never holds the warehouse: a pipe run started after a read writes at once', async () => {
    expect((await get<UiRuns>('/api/runs')).status).toBe(200);
    expect((await get<UiModel>('/api/models/a')).status).toBe(200);
    const run = pipe(['run', '--date', DAY, '--select', 'a', '--wait', '0', '--project', fx.dir]);
    expect(run.code, explain(run)).toBe(0);
  });

  it('reads the run logs while another process holds the warehouse', async () => {
    const holder = await holdWarehouse(join(fx.dir, 'warehouse.duckdb'));
    try {
      const runs = await get<UiRuns>('/api/runs');
      expect(runs.status).toBe(200);
      // The holder's process too: a page follows it, and reads again once it is gone.
      expect(runs.body.source).toEqual({ kind: 'run-log', heldBy: expect.stringContaining(`pid ${holder.pid}`), heldPid: holder.pid });
      expect(runs.body.runs.find((r) => r.run_id === fx.failed)).toMatchObject({ status: 'failed', failed: 2, skipped: 1 });
      const run = await get<UiRunDetail>(`/api/runs/${fx.failed}`);
      expect(run.body.source.kind).toBe('run-log');
      expect(run.body.tasks.find((t) => t.node === 'bad')).toMatchObject({ status: 'failed', start_ms: expect.any(Number), end_ms: expect.any(Number) });
      expect(run.body.failures.flatMap((g) => g.tasks).find((t) => t.node === 'bad')?.at).toBe('models/bad.sql:3');
      expect(run.body.checks.map((c) => [c.check, c.sample])).toEqual([['expression(id < 2)', [{ id: 2, name: 'bob' }]]]);
      const graph = await get<UiGraph>('/api/graph');
      expect(graph.body.nodes.find((n) => n.name === 'bad')?.last_status).toBe('failed');
      const model = await get<UiModel>('/api/models/a');
      expect(model.body.columns_from).toBe('project');
      expect(model.body.tasks.length).toBeGreaterThan(0);
      const preview = await get<{ error: string }>('/api/models/a/preview');
      expect(preview.status).toBe(503);
      expect(preview.body.error).toMatch(/in use by another process/);
    } finally {
      await holder.release();
    }
  });

  it('streams a run log as server-sent events, and ends after the warehouse record of the run', async () => {
    const res = await fetch(new URL(`/api/live?run=${fx.failed}`, server.url));
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await res.text();
    const events = [...text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map((m) => [m[1], m[1] === 'line' ? (JSON.parse(m[2]) as { type: string }).type : m[2]]);
    expect(events[0]).toEqual(['line', 'run-log']);
    expect(events.at(-2)).toEqual(['line', 'reconciled']);
    expect(events.at(-1)).toEqual(['end', fx.failed]);
    expect(events.filter(([, t]) => t === 'task-failed')).toHaveLength(2);
  });

  it('follows a log that is still written to', async () => {
    const dir = tempProject(FILES, 'pipe-ui-live-');
    const live = await serve(dir, assets);
    try {
      const log = runLogPath(join(dir, 'warehouse.duckdb'), '20240102T000000-abcd');
      mkdirSync(join(log, '..'), { recursive: true });
      writeFileSync(log, `${JSON.stringify({ type: 'run-log', version: 1, runId: '20240102T000000-abcd', command: 'run', params: {}, pid: process.pid, startedAt: new Date().toISOString(), tasks: [] })}\n`);
      const res = await fetch(new URL('/api/live?run=20240102T000000-abcd', live.url));
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let seen = '';
      const until = async (text: string) => {
        while (!seen.includes(text)) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`stream ended before ${text}: ${seen}`);
          seen += decoder.decode(value);
        }
      };
      await until('"type":"run-log"');
      // Half a line is held back until its end is written.
      appendFileSync(log, '{"type":"notice","message":"half');
      appendFileSync(log, ' and whole","time":"2024-01-02T00:00:01Z"}\n');
      await until('half and whole');
      appendFileSync(log, `${JSON.stringify({ type: 'reconciled', time: new Date().toISOString(), run: {}, tasks: [] })}\n`);
      await until('event: end');
      expect(seen).not.toMatch(/data: \{"type":"notice","message":"half"?\n/);
    } finally {
      await live.close();
    }
  });

  it('tells once a process holding the warehouse is gone, without opening it', async () => {
    // A process that stays until its input ends.
    const holder = spawn('cat', [], { stdio: ['pipe', 'ignore', 'ignore'] });
    const exited = new Promise((res) => holder.once('exit', res));
    const res = await fetch(new URL(`/api/live?free=${holder.pid}`, server.url));
    const text = res.text();
    // What the page asks each second instead: the same answer, at once.
    const changes = async () => (await get<UiChanges>(`/api/changes?free=${holder.pid}`)).body;
    expect((await changes()).free).toBe(false);
    holder.stdin.end();
    await exited;
    expect((await changes()).free).toBe(true);
    expect([...(await text).matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map((m) => [m[1], m[2]])).toEqual([
      ['free', String(holder.pid)],
      ['end', String(holder.pid)],
    ]);
    expect((await get<{ error: string }>('/api/live?free=0; rm')).body.error).toBe("'0; rm' is not a process id");
    expect((await get<{ error: string }>('/api/changes?free=0; rm')).body.error).toBe("'0; rm' is not a process id");
    expect((await get<{ error: string }>('/api/changes?run=../x')).body.error).toBe("'../x' is not a run id");
  });

  it('lists the runs a page at a time, each page after the last run of the one before, with a status filter, from the warehouse or the logs alike', async () => {
    const dir = tempProject(FILES, 'pipe-ui-pages-');
    const ids: string[] = [];
    for (const select of [['people', 'a'], ['bad'], ['a'], ['bad'], ['people']]) {
      const r = await runIn(dir, { date: DAY, select });
      ids.unshift(eventsOfType(r.events, 'run-started')[0].runId as string);
    }
    const own = await serve(dir, assets);
    const list = async (query: string) => {
      const res = await fetch(new URL(`/api/runs?${query}`, own.url));
      return { status: res.status, body: (await res.json()) as UiRuns & { error?: string } };
    };
    /** Every page, following `older`, as lists of run ids. */
    const pages = async (query: string) => {
      const out: string[][] = [];
      for (let before: string | null = null, n = 0; n < 10; n++) {
        const { body } = await list(`limit=2&${query}${before ? `&before=${before}` : ''}`);
        out.push(body.runs.map((r) => r.run_id));
        before = body.older;
        if (before === null) break;
      }
      return out;
    };
    try {
      const all = [ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)];
      const failed = [[ids[1], ids[3]]];
      expect(await pages('')).toEqual(all);
      expect(await pages('status=failed')).toEqual(failed);
      expect(await pages('status=succeeded')).toEqual([[ids[0], ids[2]], [ids[4]]]);
      const holder = await holdWarehouse(join(dir, 'warehouse.duckdb'));
      try {
        expect(await pages('')).toEqual(all);
        expect(await pages('status=failed')).toEqual(failed);
      } finally {
        await holder.release();
      }
      expect(await list('status=nope')).toMatchObject({ status: 400, body: { error: "'nope' is not a run status (running, succeeded, failed, cancelled, interrupted)" } });
      for (const bad of ['-1', 'abc', '0', '2.5']) expect(await list(`limit=${bad}`), bad).toMatchObject({ status: 400, body: { error: `'${bad}' is not a number of runs (a whole number from 1; at most 200 are given)` } });
      expect(await list('before=../x')).toMatchObject({ status: 400, body: { error: "'../x' is not a run id" } });
      expect((await list('before=20240101T000000-none')).body.error).toMatch(/^no run '20240101T000000-none' in .*warehouse\.duckdb to list the runs before$/);
    } finally {
      await own.close();
    }
  });

  it('gives a run one duration: its own last line, pipe history and the UI, from the warehouse and from its log while another process holds it', async () => {
    const dir = tempProject(FILES, 'pipe-ui-duration-');
    const done = await runIn(dir, { date: DAY, select: ['people', 'a'] });
    expect(done.code, done.stderr).toBe(0);
    const { runId, ms } = eventsOfType(done.events, 'run-finished')[0];
    const own = await serve(dir, assets);
    try {
      const duration = async () => ((await (await fetch(new URL('/api/runs', own.url))).json()) as UiRuns).runs.find((r) => r.run_id === runId)?.duration_ms;
      expect(await duration()).toBe(ms);
      const listed = async () => eventsOfType((await historyIn(dir, { json: true })).events, 'run').find((r) => r.run_id === runId);
      expect((await listed())?.duration_ms).toBe(ms);
      const holder = await holdWarehouse(join(dir, 'warehouse.duckdb'));
      try {
        expect(await duration()).toBe(ms);
        expect((await listed())?.elapsed_ms).toBe(ms);
      } finally {
        await holder.release();
      }
    } finally {
      await own.close();
    }
  });

  it('shows the lineage and a model of a project whose warehouse is no DuckDB file, saying why, and refuses its runs', async () => {
    const dir = tempProject(FILES, 'pipe-ui-damaged-');
    writeFileSync(join(dir, 'warehouse.duckdb'), 'not a database');
    const own = await serve(dir, assets);
    try {
      const read = async <T,>(path: string) => {
        const res = await fetch(new URL(path, own.url));
        return { status: res.status, body: (await res.json()) as T };
      };
      const why = expect.stringMatching(/warehouse\.duckdb exists but is not a DuckDB database.*; no run state is shown$/);
      const graph = await read<UiGraph>('/api/graph');
      expect(graph.status).toBe(200);
      expect(graph.body.source).toEqual({ kind: 'none', why });
      expect(graph.body.nodes.map((n) => n.name).sort()).toEqual(['a', 'b', 'bad', 'c', 'checked', 'people']);
      const model = await read<UiModel>('/api/models/a');
      expect(model.status).toBe(200);
      expect(model.body).toMatchObject({ source: { kind: 'none', why }, columns_from: 'project', compiled: { problem: expect.stringMatching(/is not a DuckDB database/) } });
      expect(await read('/api/runs')).toMatchObject({ status: 503, body: { error: expect.stringMatching(/is not a DuckDB database/) } });
    } finally {
      await own.close();
    }
  });

  it('analyzes the project as its files are now at each request', async () => {
    const dir = tempProject(FILES, 'pipe-ui-edit-');
    const edited = await serve(dir, assets);
    try {
      const graph = async () => ((await (await fetch(new URL('/api/graph', edited.url))).json()) as UiGraph).nodes.find((n) => n.name === 'b')?.upstream;
      expect(await graph()).toEqual(['a']);
      writeFileSync(join(dir, 'models/b.sql'), "{{ config(materialized='view') }}\nselect id, name from {{ ref('people') }}\n");
      expect(await graph()).toEqual(['people']);
    } finally {
      await edited.close();
    }
  });

  it('answers only reads, and only for a loopback name', async () => {
    const post = await fetch(new URL('/api/runs', server.url), { method: 'POST' });
    expect(post.status).toBe(405);
    expect(((await post.json()) as { error: string }).error).toMatch(/only reads/);
    // fetch() sets Host itself: a page of another site whose name resolves to 127.0.0.1 sends its own.
    const rebound = await new Promise<number>((res, rej) =>
      request(new URL('/api/runs', server.url), { headers: { host: 'attacker.example' } }, (r) => {
        r.resume();
        res(r.statusCode ?? 0);
      })
        .on('error', rej)
        .end(),
    );
    expect(rebound).toBe(403);
    expect((await get('/api/nothing')).status).toBe(404);
    expect((await get('/api/models/%E0%A4%A')).status).toBe(400);
    expect((await fetch(new URL('/runs/x', server.url))).status).toBe(200); // a page of the app
    expect([isLoopback('127.0.0.1'), isLoopback('localhost'), isLoopback('::1'), isLoopback('[::1]'), isLoopback('0.0.0.0'), isLoopback('192.168.1.2')]).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
  });

  it('listening beyond loopback, answers the names of this machine and refuses any other', async () => {
    const wide = await startUiServer({ project: fx.dir, host: '0.0.0.0', port: 0, assets, pipeBin: PIPE_BIN });
    const statusFor = (host: string) =>
      new Promise<number>((res, rej) =>
        request(new URL('/api/runs', `http://127.0.0.1:${new URL(wide.url).port}/`), { headers: { host } }, (r) => {
          r.resume();
          res(r.statusCode ?? 0);
        })
          .on('error', rej)
          .end(),
      );
    try {
      // A page of another site that points its name at this machine's address sends its own name.
      expect(await statusFor('attacker.example')).toBe(403);
      expect(await statusFor(`${hostname()}.attacker.example`)).toBe(403);
      expect(await statusFor('127.0.0.1')).toBe(200);
      expect(await statusFor(hostname())).toBe(200);
      const address = Object.values(networkInterfaces()).flatMap((a) => a ?? []).find((a) => a.family === 'IPv4' && !a.internal);
      if (address) expect(await statusFor(`${address.address}:80`)).toBe(200);
    } finally {
      await wide.close();
    }
  });

  it('warns when it listens beyond loopback, and refuses a port in use', async () => {
    const events: PipeEvent[] = [];
    const stop = new AbortController();
    const served = ui({ project: fx.dir, host: '0.0.0.0', port: 0, assets, signal: stop.signal, emit: (e) => {
      events.push(e);
      if (e.type === 'notice') stop.abort();
    } });
    await served;
    expect(events.map((e) => (e.type === 'diagnostic' ? e.diagnostic.code : e.type))).toEqual(['ui-exposed', 'notice']);
    const port = new URL(server.url).port;
    await expect(ui({ project: fx.dir, port: Number(port), assets, signal: stop.signal })).rejects.toMatchObject({
      diagnostics: [{ code: 'ui-port', message: `port ${port} on 127.0.0.1 is in use` }],
    });
  });

  it('refuses bad input before listening, exit status 2', async () => {
    // The command lines are parsed and run by the CLI in this process.
    const port = await cliIn(['ui', '--port', '99999', '--project', fx.dir]);
    expect([port.code, port.stderr.trim()]).toEqual([2, "error: --port must be a port number, 0 to 65535, got '99999'"]);
    const nowhere = await cliIn(['ui', '--project', join(fx.dir, 'nowhere')]);
    expect(nowhere.code, explain(nowhere)).toBe(2);
    expect(nowhere.stderr).toMatch(/project directory .*nowhere does not exist/);
    // An unset variable is no address: Node would listen on every interface.
    const empty = await cliIn(['ui', '--host', '', '--project', fx.dir]);
    expect(empty.code, explain(empty)).toBe(2);
    expect(empty.stderr).toContain('error: --host is empty: pipe ui would listen on every interface');
    // An address that is not this machine's: refused, with no warning that anyone can reach it.
    const elsewhere = await cliIn(['ui', '--host', '10.99.99.99', '--port', '0', '--project', fx.dir]);
    expect(elsewhere.code, explain(elsewhere)).toBe(2);
    expect(elsewhere.stderr).toContain('cannot listen on 10.99.99.99');
    expect(elsewhere.stderr).not.toContain('anyone who can reach');
  });
});
