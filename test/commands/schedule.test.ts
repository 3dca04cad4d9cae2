import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { copyExample, queryRows, removeTempDirs, scheduledProject, scheduledRuns, writeProjectFiles } from '../e2e/helpers.js';
import { backfillIn, runIn, scheduleIn } from '../support/in-process.js';

afterAll(removeTempDirs);

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/**
 * The scheduler in-process, with a fixed clock in place of PIPE_NOW: which intervals are due,
 * caught up or left out, and whom it notifies. A scheduler process killed in a run, or holding
 * the warehouse: test/e2e/schedule.test.ts.
 */

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

const at = (iso: string) => ({ now: () => Date.parse(iso) });

describe('pipe schedule', () => {
  it('runs the due interval, catches up when on, and never repeats a succeeded interval after a restart', async () => {
    // The orders alone: which intervals run is what counts here, not how much each builds.
    const dir = scheduledProject(`schedule: "0 2 * * *"
timezone: Europe/Amsterdam
catchup: true
max_catchup: 5
select: [+fct_orders]
`);
    const once = (now: string) => scheduleIn(dir, { clock: at(now) });
    expect((await once('2024-01-05T03:00:00Z')).code).toBe(0);
    expect(await scheduledRuns(dir)).toEqual([{ ds: '2024-01-04', status: 'succeeded' }]);

    // A restart at the same time: nothing to do.
    const again = await once('2024-01-05T05:00:00Z');
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('starting');
    expect(await scheduledRuns(dir)).toHaveLength(1);

    // Down for three days: the missed intervals run, oldest first.
    expect((await once('2024-01-08T03:00:00Z')).code).toBe(0);
    expect((await scheduledRuns(dir)).map((r) => r.ds)).toEqual(['2024-01-04', '2024-01-05', '2024-01-06', '2024-01-07']);
    const rows = await queryRows(join(dir, 'warehouse.duckdb'), 'SELECT count(DISTINCT order_date) AS days FROM fct_orders');
    expect(rows).toEqual([{ days: '4' }]);
  });

  it('without catch-up runs only the latest missed interval', async () => {
    const dir = scheduledProject(`schedule: "0 2 * * *"
timezone: UTC
select: [+fct_orders]
`);
    await scheduleIn(dir, { clock: at('2024-01-05T03:00:00Z') });
    // What a start now would leave out is named before, and when, it happens.
    const dropped = 'nightly: not running 3 missed intervals (2024-01-05 … 2024-01-07): catchup is off; pipe backfill nightly --start 2024-01-05 --end 2024-01-07 builds them';
    const list = await scheduleIn(dir, { list: true, clock: at('2024-01-09T03:00:00Z') });
    expect(list.stdout).toContain('due now: 2024-01-08');
    expect(list.stdout).toContain(dropped);
    // The same as JSON, a line per pipeline.
    const listed = (await scheduleIn(dir, { list: true, json: true, clock: at('2024-01-09T03:00:00Z') })).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(listed).toMatchObject([{ type: 'schedule', pipeline: 'nightly', cron: '0 2 * * *', catchup: false, due_now: [{ interval: '2024-01-08' }], said: [dropped] }]);
    expect((listed[0].next as { covers: string }[])[0].covers).toBe('2024-01-09');
    const second = await scheduleIn(dir, { clock: at('2024-01-09T03:00:00Z') });
    expect(second.stdout.split(dropped).length - 1).toBe(1);
    expect((await scheduledRuns(dir)).map((r) => r.ds)).toEqual(['2024-01-04', '2024-01-08']);
  });

  it('runs a pipeline named twice once per interval', async () => {
    const dir = scheduledProject('schedule: "0 2 * * *"\ntimezone: UTC\nselect: [+fct_orders]\n');
    const r = await scheduleIn(dir, { pipelines: ['nightly', 'nightly'], clock: at('2024-01-05T03:00:00Z') });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await scheduledRuns(dir)).toEqual([{ ds: '2024-01-04', status: 'succeeded' }]);
  });

  it('never builds a UTC day that has not ended: @daily in Amsterdam fires at 23:00 UTC and covers the day before', async () => {
    const dir = scheduledProject(`schedule: "@daily"
timezone: Europe/Amsterdam
select: [+fct_orders]
`);
    const list = await scheduleIn(dir, { list: true, clock: at('2024-01-08T22:00:00Z') });
    expect(list.stdout).toContain('2024-01-09 00:00 Europe/Amsterdam  (2024-01-08T23:00:00.000Z)  covers 2024-01-07');
    expect((await scheduleIn(dir, { clock: at('2024-01-08T23:30:00Z') })).code).toBe(0);
    expect(await scheduledRuns(dir)).toEqual([{ ds: '2024-01-07', status: 'succeeded' }]);
  });

  it('refuses a pipeline name that is none before the scheduler starts, and says which pipeline has no schedule', async () => {
    const dir = scheduledProject('schedule: "0 2 * * *"\n');
    const unknown = await scheduleIn(dir, { pipelines: ['nosuch'] });
    expect(unknown.code).toBe(2);
    expect(unknown.stdout + unknown.stderr).not.toContain('scheduler started');
    expect(unknown.stderr).toContain("error: no pipeline named 'nosuch' in pipelines/");
    expect(unknown.stderr).toContain('pipelines/ has daily, nightly');
    // A name near one is taken for a slip, as pipe run takes it.
    expect((await scheduleIn(dir, { list: true, pipelines: ['nightl'] })).stderr).toContain("hint: did you mean 'nightly'?");
    const unscheduled = await scheduleIn(dir, { list: true, pipelines: ['daily'] });
    expect(unscheduled.code).toBe(2);
    expect(unscheduled.stderr).toContain("error: pipeline 'daily' has no schedule\n");
    expect(existsSync(join(dir, 'warehouse.duckdb'))).toBe(false);
    // No pipeline has a schedule: refused alone, not after saying the scheduler started.
    const none = await scheduleIn(scheduledProject('select: [+fct_orders]\n'));
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no pipeline has a schedule');
    expect(none.stdout + none.stderr).not.toContain('scheduler started');
  });

  it('--list prints the next run times; a bad cron is an error pointing at the file', async () => {
    const dir = scheduledProject(`schedule: "0 2 * * *"
timezone: Europe/Amsterdam
`);
    const list = await scheduleIn(dir, { list: true, clock: at('2024-03-29T12:00:00Z') });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('2024-03-31T01:00:00.000Z');
    expect(list.stdout).toContain('covers 2024-03-30');
    writeProjectFiles(dir, { 'pipelines/nightly.yaml': 'schedule: "61 2 * * *"\n' });
    const bad = await scheduleIn(dir, { list: true });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('pipelines/nightly.yaml:1');
    // Read as seconds first, six fields would fire every hour; a date that never comes, never.
    for (const [cron, says] of [
      ['0 2 * * * *', "'0 2 * * * *' has 6 fields; a schedule has five fields: minute hour day-of-month month day-of-week"],
      ['0 2 30 2 *', "'0 2 30 2 *' never fires: no date matches it"],
      // A day none of three or more months has: croner, asked, searched until its stack was gone.
      ['0 2 31 4,6,9,11 *', "'0 2 31 4,6,9,11 *' never fires: no date matches it"],
      ['0 2 31 FEB,APR,JUN *', "'0 2 31 FEB,APR,JUN *' never fires: no date matches it"],
      // What pipe reads is said, never croner's 'five or six parts'.
      ['@reboot', "'@reboot' is not a schedule pipe reads: a nickname is one of @yearly, @annually, @monthly, @weekly, @daily, @hourly; or write five fields: minute hour day-of-month month day-of-week"],
      ['60 2 * * *', "'60 2 * * *': invalid value for minute: 60; a schedule has five fields: minute hour day-of-month month day-of-week"],
      // The value as written, of the fields croner counts from 0 inside too.
      ['0 2 32 * *', "'0 2 32 * *': invalid value for day: 32;"],
      ['0 2 * 13 *', "'0 2 * 13 *': invalid value for month: 13;"],
      ['0 2 * 0 *', "'0 2 * 0 *': invalid value for month: 0;"],
    ]) {
      writeProjectFiles(dir, { 'pipelines/nightly.yaml': `schedule: "${cron}"\n` });
      const refused = await scheduleIn(dir, { list: true });
      expect(refused.code, cron).toBe(2);
      expect(refused.stderr).toContain(says);
      expect(refused.stderr).not.toContain('six');
    }
    // A zone is an IANA name, canonical or an alias; anything else is refused at its line.
    for (const zone of ['US/Pacific', 'Etc/UTC', 'Asia/Kolkata', 'UTC']) {
      writeProjectFiles(dir, { 'pipelines/nightly.yaml': `schedule: "0 2 * * *"\ntimezone: ${zone}\n` });
      const listed = await scheduleIn(dir, { list: true, clock: at('2024-03-29T12:00:00Z') });
      expect(listed.code, zone).toBe(0);
      expect(listed.stdout + listed.stderr, zone).not.toContain('warning');
    }
    writeProjectFiles(dir, { 'pipelines/nightly.yaml': 'schedule: "0 2 * * *"\ntimezone: Mars/Olympus\n' });
    const zoneless = await scheduleIn(dir, { list: true });
    expect(zoneless.code).toBe(2);
    expect(zoneless.stderr).toContain('pipelines/nightly.yaml:2: error: timezone must be an IANA name such as Europe/Amsterdam or UTC, got "Mars/Olympus"');
  });

  it('a schedule that fires less often than its interval is warned of at its line: the intervals between would never be built', async () => {
    const dir = scheduledProject('schedule: "0 */2 * * *"\ninterval: hourly\n');
    const list = await scheduleIn(dir, { list: true, clock: at('2024-03-29T12:00:00Z') });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain("warning: schedule '0 */2 * * *' fires less often than every hour, and each fire builds only the UTC hour before it: the hours between fires are never built");
    const run = await runIn(dir, { pipeline: 'nightly', date: '2024-01-02', hour: 3 });
    expect(run.stderr).toMatch(/pipelines\/nightly\.yaml:1: warning: schedule '0 \*\/2 \* \* \*' fires less often than every hour/);
    // Weekdays only: the weekend's days would never be built.
    writeProjectFiles(dir, { 'pipelines/nightly.yaml': 'schedule: "0 2 * * 1-5"\n' });
    expect((await scheduleIn(dir, { list: true, clock: at('2024-03-29T12:00:00Z') })).stdout).toContain('fires less often than every day');
    // Every hour, and every day across daylight-saving changes, leave nothing out.
    for (const ok of ['schedule: "30 * * * *"\ninterval: hourly\ntimezone: Europe/Amsterdam\n', 'schedule: "0 2 * * *"\ntimezone: Europe/Amsterdam\n']) {
      writeProjectFiles(dir, { 'pipelines/nightly.yaml': ok });
      expect((await scheduleIn(dir, { list: true, clock: at('2024-03-29T12:00:00Z') })).stdout).not.toContain('warning');
    }
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
    const r = await scheduleIn(dir, { clock: at('2024-01-05T03:00:00Z') });
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
    const r = await runIn(dir, { pipeline: 'daily', date: '2024-01-02' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('could not be delivered');
    expect(existsSync(join(dir, 'warehouse.duckdb'))).toBe(true);
  });

  it('says it waits for notifications still being tried before it ends, rather than wait without a word', async () => {
    const hook = await receiver();
    const port = new URL(hook.url).port;
    servers.splice(0).forEach((s) => s.close());
    const dir = scheduledProject(`schedule: "0 2 * * *"\ntimezone: UTC\nselect: [stg_orders]\nnotify:\n  on_success:\n    - webhook: http://127.0.0.1:${port}/gone\n`);
    const r = await scheduleIn(dir, { clock: at('2024-01-05T03:00:00Z') });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('waiting for the notifications of its runs to be delivered or given up');
    expect(r.stdout).toContain('the connection was refused');
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
    const r = await backfillIn(dir, { pipeline: 'daily', start: '2024-01-01', end: '2024-01-07' });
    expect(r.code).toBe(1);
    expect(hook.bodies).toHaveLength(1);
    const body = hook.bodies[0] as { failed_tasks: { task: string }[]; start: string; end: string; command: string };
    expect(body).toMatchObject({ command: 'backfill', start: '2024-01-01', end: '2024-01-07' });
    expect(body.failed_tasks.map((f) => f.task).sort()).toEqual(['bad_days@2024-01-03', 'bad_days@2024-01-06']);
  });
});
