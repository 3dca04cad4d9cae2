import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { explain, killRunning, ModelGate, removeTempDirs, RunningPipe, snapshotTables, taskIdsOf, taskOf, warehouseOf, writeProjectFiles } from './helpers.js';
import { backfillIn } from '../support/in-process.js';
import { ORDERS, versionsProject } from '../support/versions-project.js';

afterEach(killRunning);
afterAll(removeTempDirs);

/**
 * A run killed (kill -9) halfway: what it committed is current for the next run, what it was
 * running or had not started is not, and the next run leaves the tables a run of everything
 * leaves. The runs before and after are in-process; only the killed one is a process.
 */

const DATES = ['--start', '2024-01-01', '--end', '2024-01-05'];
const TABLES = ['fct_orders', 'daily_totals', 'customer_totals', 'region_names', 'slow', 'after_slow'];

const SLOW = (gate: ModelGate) => `{{ config(materialized='table') }}
select count(*) as n from {{ ref('fct_orders') }}
{% if var('gate', '') %}where ${gate.sql} >= 0{% endif %}
`;

describe('a run killed halfway', () => {
  it('leaves what it committed current and the rest to run', async () => {
    const files = (dir: string, gate: ModelGate) =>
      writeProjectFiles(dir, { 'models/slow.sql': SLOW(gate), 'models/after_slow.sql': "{{ config(materialized='table') }}\nselect n from {{ ref('slow') }}\n" });
    const dir = versionsProject();
    const gate = new ModelGate(dir);
    files(dir, gate);
    const first = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-05' });
    expect(first.code, explain(first)).toBe(0);

    writeProjectFiles(dir, { 'seeds/orders.csv': ORDERS.replace('4,1,7,2024-01-03', '4,1,70,2024-01-03') });
    const running = new RunningPipe(['backfill', ...DATES, '--threads', '1', '--var', `gate=${gate.path}`, '--json', '--project', dir]);
    await running.waitFor((e) => e.type === 'task-started' && taskOf(e).model === 'slow');
    running.child.kill('SIGKILL');
    const killed = await running.exited;
    expect(killed.signal).toBe('SIGKILL');
    const committed = taskIdsOf(killed.events, 'task-succeeded').filter((id) => id.includes('@'));
    expect(committed).toContain('fct_orders@2024-01-03');

    const next = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-05' });
    expect(next.code, explain(next)).toBe(0);
    const started = taskIdsOf(next.events, 'task-started');
    for (const id of committed) expect(started).not.toContain(id);
    expect(started).toEqual(expect.arrayContaining(['slow@2024-01-05', 'after_slow@2024-01-05']));

    const fresh = versionsProject({ 'seeds/orders.csv': ORDERS.replace('4,1,7,2024-01-03', '4,1,70,2024-01-03') });
    files(fresh, new ModelGate(fresh));
    const forced = await backfillIn(fresh, { start: '2024-01-01', end: '2024-01-05', force: true });
    expect(forced.code, explain(forced)).toBe(0);
    expect(await snapshotTables(warehouseOf(dir), TABLES)).toEqual(await snapshotTables(warehouseOf(fresh), TABLES));
  });
});
