import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { copyExample, PIPE_BIN, pipe, queryRows, removeTempDirs, writeProjectFiles } from './helpers.js';

afterAll(removeTempDirs);

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A webhook receiver on 127.0.0.1 that records every body it is sent. */
async function receiver(): Promise<{ url: string; bodies: Record<string, unknown>[] }> {
  const bodies: Record<string, unknown>[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(data) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies };
}

/** pipe as a child process that does not block the test's own event loop (the receiver lives there). */
function pipeAsync(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [PIPE_BIN, ...args], { env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => res({ code, stdout, stderr }));
  });
}

function scheduledProject(pipeline: string): string {
  const dir = copyExample();
  writeProjectFiles(dir, { 'pipelines/nightly.yaml': pipeline });
  return dir;
}

async function scheduledRuns(dir: string): Promise<{ ds: string; status: string }[]> {
  return (await queryRows(
    join(dir, 'warehouse.duckdb'),
    `SELECT r.params->>'ds' AS ds, r.status FROM _pipe.schedule s JOIN _pipe.runs r USING (run_id) ORDER BY s.fire_at`,
  )) as { ds: string; status: string }[];
}

describe('pipe schedule', () => {
  it('runs the due interval, catches up when on, and never repeats a succeeded interval after a restart', async () => {
    const dir = scheduledProject(`schedule: "0 2 * * *"
timezone: Europe/Amsterdam
catchup: true
max_catchup: 5
`);
    const once = (now: string) => pipe(['schedule', '--once', '--project', dir], { env: { PIPE_NOW: now } });
    expect(once('2024-01-05T03:00:00Z').code).toBe(0);
    expect(await scheduledRuns(dir)).toEqual([{ ds: '2024-01-04', status: 'succeeded' }]);

    // A restart at the same time: nothing to do.
    const again = once('2024-01-05T05:00:00Z');
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('starting');
    expect(await scheduledRuns(dir)).toHaveLength(1);

    // Down for three days: the missed intervals run, oldest first.
    expect(once('2024-01-08T03:00:00Z').code).toBe(0);
    expect((await scheduledRuns(dir)).map((r) => r.ds)).toEqual(['2024-01-04', '2024-01-05', '2024-01-06', '2024-01-07']);
    const rows = await queryRows(join(dir, 'warehouse.duckdb'), 'SELECT count(DISTINCT order_date) AS days FROM fct_orders');
    expect(rows).toEqual([{ days: '4' }]);
  });

  it('without catch-up runs only the latest missed interval', async () => {
    const dir = scheduledProject(`schedule: "0 2 * * *"
timezone: UTC
`);
    pipe(['schedule', '--once', '--project', dir], { env: { PIPE_NOW: '2024-01-05T03:00:00Z' } });
    // What a start now would leave out is named before, and when, it happens.
    const dropped = 'nightly: not running 3 missed intervals (2024-01-05 … 2024-01-07): catchup is off; pipe backfill nightly --start 2024-01-05 --end 2024-01-07 builds them';
    const list = pipe(['schedule', '--list', '--project', dir], { env: { PIPE_NOW: '2024-01-09T03:00:00Z' } });
    expect(list.stdout).toContain('due now: 2024-01-08');
    expect(list.stdout).toContain(dropped);
    const second = pipe(['schedule', '--once', '--project', dir], { env: { PIPE_NOW: '2024-01-09T03:00:00Z' } });
    expect(second.stdout.split(dropped).length - 1).toBe(1);
    expect((await scheduledRuns(dir)).map((r) => r.ds)).toEqual(['2024-01-04', '2024-01-08']);
  });

  it('resumes an interval whose run was interrupted', async () => {
    const dir = scheduledProject(`schedule: "0 2 * * *"
timezone: UTC
`);
    writeProjectFiles(dir, {
      'models/marts/slow.sql': "select count(*) as n from range(4000000000) t(i) where i % 7 = 3 and '{{ ds }}' = '{{ var(\"slow_ds\", ds) }}'",
    });
    const child = spawn(process.execPath, [PIPE_BIN, 'schedule', '--once', '--json', '--project', dir], {
      env: { ...process.env, PIPE_NOW: '2024-01-05T03:00:00Z' },
    });
    await new Promise<void>((res) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('"id":"slow@2024-01-04"') && out.includes('task-started')) res();
      });
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    writeProjectFiles(dir, { 'models/marts/slow.sql': "select 1 as n, '{{ ds }}' as ds" });
    const resumed = pipe(['schedule', '--once', '--project', dir], { env: { PIPE_NOW: '2024-01-05T04:00:00Z' } });
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('2024-01-04 (resume');
    const runs = await scheduledRuns(dir);
    expect(runs.map((r) => r.ds)).toEqual(['2024-01-04', '2024-01-04']);
    expect(runs.at(-1)!.status).toBe('succeeded');
    // The resume is linked to the run it took over: that run is not retried again.
    const linked = await queryRows(join(dir, 'warehouse.duckdb'), "SELECT count(*)::INTEGER AS n FROM _pipe.runs WHERE parent_run_id IS NOT NULL AND (params->>'resume_of') = parent_run_id");
    expect(linked).toEqual([{ n: 1 }]);
    const retry = pipe(['retry', '--project', dir]);
    expect(retry.code).toBe(0);
    expect(retry.stdout + retry.stderr).toContain('nothing to retry');
  });

  it('posts the failure report to a webhook and gives a command target the facts in its environment', async () => {
    const hook = await receiver();
    const dir = scheduledProject(`schedule: "0 2 * * *"
timezone: UTC
notify:
  on_failure:
    - webhook: ${hook.url}
    - command: 'env | grep ^PIPE_ > notified.env'
`);
    writeProjectFiles(dir, { 'models/marts/broken.sql': "select 'x'::INTEGER as n" });
    const r = await pipeAsync(['schedule', '--once', '--project', dir], { PIPE_NOW: '2024-01-05T03:00:00Z' });
    expect(r.code).toBe(1);
    expect(hook.bodies).toHaveLength(1);
    const body = hook.bodies[0] as { pipeline: string; status: string; ds: string; run_id: string; failed_tasks: { task: string; error: string }[]; retry_command: string };
    expect(body).toMatchObject({ pipeline: 'nightly', status: 'failed', ds: '2024-01-04' });
    expect(body.failed_tasks).toEqual([expect.objectContaining({ task: 'broken@2024-01-04', error: expect.stringContaining('Conversion Error') })]);
    expect(body.retry_command).toContain(`pipe retry ${body.run_id}`);
    const env = readFileSync(join(dir, 'notified.env'), 'utf8');
    expect(env).toContain('PIPE_PIPELINE=nightly');
    expect(env).toContain('PIPE_STATUS=failed');
    expect(env).toContain(`PIPE_RUN_ID=${body.run_id}`);
    expect(env).toContain('PIPE_FAILED_COUNT=1');
  });

  it('an unreachable webhook does not fail the run', async () => {
    const hook = await receiver();
    const port = new URL(hook.url).port;
    servers.splice(0).forEach((s) => s.close());
    const dir = copyExample();
    writeProjectFiles(dir, {
      'pipelines/daily.yaml': `select: [+tag:daily]
notify:
  on_success:
    - webhook: http://127.0.0.1:${port}/gone
`,
    });
    const r = pipe(['run', 'daily', '--date', '2024-01-02', '--project', dir]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('could not be delivered');
    expect(existsSync(join(dir, 'warehouse.duckdb'))).toBe(true);
  });

  it('a backfill sends one summary listing every failure', async () => {
    const hook = await receiver();
    const dir = copyExample();
    writeProjectFiles(dir, {
      'pipelines/daily.yaml': `notify:
  on_failure:
    - webhook: ${hook.url}
`,
      'models/marts/bad_days.sql': `{{ config(materialized='incremental', partition_by='d') }}
select '{{ ds }}'::DATE as d, {% if ds.endsWith('3') or ds.endsWith('6') %}'x'::INTEGER{% else %}1{% endif %} as v`,
    });
    const r = await pipeAsync(['backfill', 'daily', '--start', '2024-01-01', '--end', '2024-01-07', '--project', dir], {});
    expect(r.code).toBe(1);
    expect(hook.bodies).toHaveLength(1);
    const body = hook.bodies[0] as { failed_tasks: { task: string }[]; start: string; end: string; command: string };
    expect(body).toMatchObject({ command: 'backfill', start: '2024-01-01', end: '2024-01-07' });
    expect(body.failed_tasks.map((f) => f.task).sort()).toEqual(['bad_days@2024-01-03', 'bad_days@2024-01-06']);
  });

  it('while a scheduled run holds the warehouse, other commands say which run and process hold it', async () => {
    const dir = scheduledProject(`schedule: "0 2 * * *"
timezone: UTC
`);
    writeProjectFiles(dir, { 'models/marts/slow.sql': "select count(*) as n from range(4000000000) t(i) where i % 7 = 3" });
    const child = spawn(process.execPath, [PIPE_BIN, 'schedule', '--once', '--json', '--project', dir], {
      env: { ...process.env, PIPE_NOW: '2024-01-05T03:00:00Z' },
    });
    let out = '';
    await new Promise<void>((res) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('"id":"slow@2024-01-04"')) res();
      });
    });
    const runId = /"runId":"([^"]+)"/.exec(out)![1];
    const history = pipe(['history', '--project', dir]);
    child.kill('SIGINT');
    const code = await new Promise((r) => child.on('close', r));
    // Stopped by a signal: 130, like every command.
    expect(code).toBe(130);
    expect(history.code).toBe(2);
    expect(history.stderr).toContain(`pipe run nightly (run ${runId})`);
    expect(history.stderr).toContain(`PID ${child.pid}`);
    expect(history.stderr).not.toContain('Conflicting lock');
  });

  it('--list prints the next run times; a bad cron is an error pointing at the file', () => {
    const dir = scheduledProject(`schedule: "0 2 * * *"
timezone: Europe/Amsterdam
`);
    const list = pipe(['schedule', '--list', '--project', dir], { env: { PIPE_NOW: '2024-03-29T12:00:00Z' } });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('2024-03-31T01:00:00.000Z');
    expect(list.stdout).toContain('covers 2024-03-30');
    writeProjectFiles(dir, { 'pipelines/nightly.yaml': 'schedule: "61 2 * * *"\n' });
    const bad = pipe(['schedule', '--list', '--project', dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('pipelines/nightly.yaml:1');
  });
});
