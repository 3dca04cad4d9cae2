import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { eventsOfType, explain, killRunning, ModelGate, removeTempDirs, RunningPipe, snapshotTables, stagingTables, taskOf, tempDir, warehouseOf, writeProjectFiles } from './helpers.js';
import { runIn } from '../support/in-process.js';

afterEach(killRunning);
afterAll(removeTempDirs);

/**
 * A snapshot's process killed (kill -9) while it stages its query: the snapshot is as the run
 * before left it, and the next run records what a run that was never killed records. Only the
 * killed run is a process; the runs around it are in-process.
 */

const V1 = 'id,status,updated_at\n1,new,2024-01-01 10:00:00\n2,new,2024-01-01 11:00:00\n';
const V2 = 'id,status,updated_at\n1,shipped,2024-01-02 10:00:00\n2,new,2024-01-01 11:00:00\n3,new,2024-01-02 12:00:00\n';

/** With `--var gate=PATH`, the snapshot's query reads that FIFO (see ModelGate) before any row. */
const SNAPSHOT = `{% snapshot orders_history %}
{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at') }}
select * from {{ ref('orders') }}
{% if var('gate', '') %}where (select count(*) from read_csv('{{ var("gate") }}', columns={'line': 'VARCHAR'}, header=false, auto_detect=false)) >= 0{% endif %}
{% endsnapshot %}
`;

function project(): string {
  const dir = tempDir();
  writeProjectFiles(dir, {
    'seeds/orders.csv': V1,
    'snapshots/orders_history.sql': SNAPSHOT,
    'models/current_orders.sql': "select id, status from {{ ref('orders_history') }} where dbt_valid_to is null",
  });
  return dir;
}

const TABLES = ['orders_history', 'current_orders'];

describe('a snapshot run killed', () => {
  it('kill -9 while the snapshot stages its query: the snapshot is intact, and the next run gives what a clean run gives', async () => {
    const dir = project();
    const db = warehouseOf(dir);
    const first = await runIn(dir, { date: '2024-01-02' });
    expect(first.code, explain(first)).toBe(0);
    const before = await snapshotTables(db, TABLES);
    expect(before.orders_history).toHaveLength(2);

    writeProjectFiles(dir, { 'seeds/orders.csv': V2 });
    const gate = new ModelGate(dir);
    const running = new RunningPipe(['run', '--date', '2024-01-02', '--var', `gate=${gate.path}`, '--json', '--project', dir]);
    await running.waitFor((e) => e.type === 'task-started' && taskOf(e).model === 'orders_history');
    running.child.kill('SIGKILL');
    const killed = await running.exited;
    expect(killed.signal).toBe('SIGKILL');
    expect(eventsOfType(killed.events, 'task-succeeded').map((e) => taskOf(e).model)).toEqual(['orders']);
    expect(await snapshotTables(db, TABLES)).toEqual(before);

    const next = await runIn(dir, { date: '2024-01-02' });
    expect(next.code, explain(next)).toBe(0);
    expect(await stagingTables(db)).toEqual([]);

    const clean = project();
    for (const seed of [V1, V2]) {
      writeProjectFiles(clean, { 'seeds/orders.csv': seed });
      const r = await runIn(clean, { date: '2024-01-02' });
      expect(r.code, explain(r)).toBe(0);
    }
    const after = await snapshotTables(db, TABLES);
    expect(after).toEqual(await snapshotTables(warehouseOf(clean), TABLES));
    expect(after.orders_history).toHaveLength(4);
  });
});
