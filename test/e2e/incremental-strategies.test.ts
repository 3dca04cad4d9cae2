import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { eventsOfType, explain, killRunning, ModelGate, queryRows, removeTempDirs, RunningPipe, snapshotTables, taskOf, warehouseOf } from './helpers.js';
import { backfillIn, historyIn, retryIn, runIn } from '../support/in-process.js';
import { DAILY, eventsProject } from '../support/incremental-project.js';

afterEach(killRunning);
afterAll(removeTempDirs);

/**
 * A merge or microbatch model's process killed (kill -9) in the middle of its run: what only a process
 * shows. How merge, delete+insert and microbatch models build, re-run and retry is tested
 * in-process (test/commands/incremental-strategies.test.ts, microbatch.test.ts).
 */

/**
 * Per user, the events up to the run's date, merged by user_id. Given a gate (--var gate=FIFO),
 * its query is held reading it (see ModelGate) before it stages a row.
 */
const MERGED_USERS = `{{ config(materialized='incremental', unique_key='user_id', incremental_strategy='merge') }}
select user_id, count(*) as events, sum(amount) as spent, max(event_at) as last_event_at
from {{ ref('events') }}
where event_at < '{{ interval_end }}'
{% if var('gate', '') %}and (select count(*) from read_csv('{{ var("gate") }}', columns={'line': 'VARCHAR'}, header=false, auto_detect=false)) >= 0{% endif %}
group by user_id
`;

describe('a merge run killed with kill -9', () => {
  it('leaves the table as the run before left it, and pipe retry gives the table of a clean run', async () => {
    const clean = eventsProject({ 'models/users.sql': MERGED_USERS });
    for (const date of ['2024-01-02', '2024-01-03']) expect((await runIn(clean, { date })).code).toBe(0);
    const reference = await snapshotTables(warehouseOf(clean), ['users']);

    const dir = eventsProject({ 'models/users.sql': MERGED_USERS });
    const db = warehouseOf(dir);
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const before = await snapshotTables(db, ['users']);
    expect(before).not.toEqual(reference);

    const gate = new ModelGate(dir);
    const running = new RunningPipe(['run', '--date', '2024-01-03', '--var', `gate=${gate.path}`, '--json', '--project', dir]);
    const started = await running.waitFor((e) => e.type === 'task-started' && taskOf(e).model === 'users');
    running.child.kill('SIGKILL');
    const killed = await running.exited;
    expect(killed.signal).toBe('SIGKILL');
    expect(eventsOfType(killed.events, 'task-succeeded').some((e) => taskOf(e).model === 'users')).toBe(false);
    expect(await snapshotTables(db, ['users'])).toEqual(before);

    // The retry runs with the run's vars, gate included: an empty file in its place lets it through.
    gate.open();
    const retried = await retryIn(dir);
    expect(retried.code, explain(retried)).toBe(0);
    expect(eventsOfType(retried.events, 'task-succeeded').map((e) => taskOf(e).id)).toEqual(['users@2024-01-03']);
    expect(await snapshotTables(db, ['users'])).toEqual(reference);
    expect(await queryRows(db, "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name LIKE '__pipe_stage__%'")).toEqual([{ n: '0' }]);
    const runs = (await historyIn(dir, { json: true })).events.filter((e) => e.type === 'run');
    expect(runs.find((r) => r.run_id === started.runId)).toMatchObject({ status: 'interrupted' });
  });
});

/** The daily microbatch model, its batch of 2024-01-03 held on a gate when one is given. */
const GATED_DAILY = DAILY('').replace(
  'group by 1',
  `{% if var('gate', '') and ds == '2024-01-03' %}where (select count(*) from read_csv('{{ var("gate") }}', columns={'line': 'VARCHAR'}, header=false, auto_detect=false)) >= 0{% endif %}
group by 1`,
);

describe('a microbatch backfill killed with kill -9', () => {
  it('keeps every batch whole, and pipe retry gives the table of a clean backfill', async () => {
    const clean = eventsProject({ 'models/daily.sql': GATED_DAILY });
    expect((await runIn(clean, { date: '2024-01-01' })).code).toBe(0);
    const cleanRun = await backfillIn(clean, { start: '2024-01-02', end: '2024-01-04' });
    expect(cleanRun.code, explain(cleanRun)).toBe(0);
    const reference = await queryRows(warehouseOf(clean), 'SELECT day::VARCHAR AS day, events::INT AS events FROM main.daily ORDER BY day');
    expect(reference.map((r) => r.day)).toEqual(['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04']);

    const dir = eventsProject({ 'models/daily.sql': GATED_DAILY });
    const db = warehouseOf(dir);
    expect((await runIn(dir, { date: '2024-01-01' })).code).toBe(0);
    const gate = new ModelGate(dir);
    const running = new RunningPipe(['backfill', '--start', '2024-01-02', '--end', '2024-01-04', '--parallel', '2', '--var', `gate=${gate.path}`, '--json', '--project', dir]);
    await running.waitFor((e) => e.type === 'task-started' && taskOf(e).id === 'daily@2024-01-03');
    running.child.kill('SIGKILL');
    expect((await running.exited).signal).toBe('SIGKILL');
    // Each batch is all there or not at all: the held one is not.
    const after = await queryRows(db, 'SELECT day::VARCHAR AS day, events::INT AS events FROM main.daily ORDER BY day');
    expect(after.map((r) => r.day)).not.toContain('2024-01-03');
    for (const row of after) expect(reference).toContainEqual(row);

    gate.open();
    const retried = await retryIn(dir);
    expect(retried.code, explain(retried)).toBe(0);
    expect(await queryRows(db, 'SELECT day::VARCHAR AS day, events::INT AS events FROM main.daily ORDER BY day')).toEqual(reference);
    expect(await queryRows(db, "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name LIKE '__pipe_stage__%'")).toEqual([{ n: '0' }]);
  });
});
