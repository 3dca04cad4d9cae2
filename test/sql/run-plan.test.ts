import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiagnosticError } from '../../src/diagnostics/diagnostics.js';
import { backfill } from '../../src/commands/backfill.js';
import { compile, history } from '../../src/commands/inspect.js';
import { retry } from '../../src/commands/retry.js';
import { run, runDryRun } from '../../src/commands/run.js';
import { test as pipeTest } from '../../src/commands/test.js';
import type { Clock } from '../../src/dates/dates.js';
import type { PipeEvent } from '../../src/events/events.js';
import { Engine } from '../../src/execute/engine.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

/**
 * `pipe run`, `pipe run --dry-run` and `pipe compile` give one answer: the plan the run
 * executes. And every command resolves threads, and reads what runs recorded, one way.
 */

afterAll(removeProjects);

const at = (iso: string): Clock => ({ now: () => Date.parse(iso) });
const quiet = () => undefined;

const MODELS = {
  'seeds/s.csv': 'id,amount\n1,10\n2,20\n',
  'models/v.sql': "{{ config(materialized='view') }}\nselect * from {{ ref('s') }}\n",
  'models/eph.sql': "{{ config(materialized='ephemeral') }}\nselect id from {{ ref('v') }}\n",
  'models/t.sql': "select count(*) as n, '{{ ds }}' as ds from {{ ref('eph') }}\n",
};

function dailyProject(): string {
  return tempProject({
    ...MODELS,
    'models/inc.sql': `{{ config(materialized='incremental', partition_by='d') }}
select cast('{{ ds }}' as date) as d, sum(amount) as total
from {{ ref('v') }}
{% if is_incremental() %}where amount > 0 -- appended to {{ this }}{% endif %}
`,
  });
}

function hourlyProject(): string {
  return tempProject({
    ...MODELS,
    'models/inc.sql': `{{ config(materialized='incremental', partition_by='ts') }}
select timestamp '{{ interval_start }}' as ts, sum(amount) as total from {{ ref('v') }}
`,
    'pipelines/hourly.yaml': "schedule: '5 * * * *'\ninterval: hourly\n",
  });
}

/** What a run recorded of its tasks: model → ds and the hash of the SQL it ran. */
async function recorded(dir: string, runId: string): Promise<Record<string, { ds: string; hash: string }>> {
  const rows = await queryWarehouse(dir, `SELECT node, ds, sql_hash FROM _pipe.tasks WHERE run_id = '${runId}' AND kind <> 'seed'`);
  return Object.fromEntries(rows.map((r) => [String(r.node), { ds: String(r.ds), hash: String(r.sql_hash) }]));
}

/** What compile shows, as the same model → ds and hash (of the SQL it prints). */
async function compiled(options: Parameters<typeof compile>[0]): Promise<Record<string, { ds: string; hash: string }>> {
  const { models } = await compile(options);
  for (const m of models) expect(createHash('sha256').update(m.sql).digest('hex').slice(0, 16)).toBe(m.sql_hash);
  return Object.fromEntries(models.map((m) => [m.model, { ds: m.ds, hash: m.sql_hash }]));
}

/** Every file under `dir` with a hash of its bytes. */
/**
 * Every file of the project and its warehouse, by hash; not the compiled templates pipe keeps
 * (`.pipe/<warehouse>/templates/`), which any command that reads the project may write, as
 * `dbt ls` writes its partial parse.
 */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!f.isFile()) continue;
    const path = join(f.parentPath, f.name);
    if (/[/\\]\.pipe[/\\][^/\\]+[/\\](templates|programs|renders)[/\\]/.test(path)) continue;
    out[path] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return out;
}

describe('pipe compile shows the SQL pipe run executes', () => {
  it('for a daily run: the first (is_incremental() false) and the next (true), by default date and by --date', async () => {
    const dir = dailyProject();
    const clock = at('2024-01-03T10:00:00Z');
    const first = await compiled({ project: dir, clock });
    expect(Object.keys(first).sort()).toEqual(['inc', 't', 'v']);
    expect(first.inc.ds).toBe('2024-01-02');
    const r1 = await run({ project: dir, clock, emit: quiet });
    expect(r1.status).toBe('succeeded');
    expect(await recorded(dir, r1.runId)).toEqual(first);

    const next = await compiled({ project: dir, date: '2024-01-05' });
    expect(next.inc.hash).not.toBe(first.inc.hash);
    const r2 = await run({ project: dir, date: '2024-01-05', emit: quiet });
    expect(await recorded(dir, r2.runId)).toEqual(next);
    // The second run's query appends: compile rendered is_incremental() as the run did.
    expect((await compile({ project: dir, date: '2024-01-05', model: 'inc' })).models[0].sql).toContain('where amount > 0 -- appended to "main"."inc"');
  });

  it('for an hourly pipeline: the previous hour by default, or --date with --hour', async () => {
    const dir = hourlyProject();
    const clock = at('2024-03-01T05:30:00Z');
    const byDefault = await compiled({ project: dir, pipeline: 'hourly', clock });
    expect(byDefault.inc.ds).toBe('2024-03-01T04');
    const r1 = await run({ project: dir, pipeline: 'hourly', clock, emit: quiet });
    expect(r1.status).toBe('succeeded');
    expect(await recorded(dir, r1.runId)).toEqual(byDefault);

    const given = await compiled({ project: dir, pipeline: 'hourly', date: '2024-02-10', hour: 23 });
    expect(given.inc.ds).toBe('2024-02-10T23');
    const r2 = await run({ project: dir, pipeline: 'hourly', date: '2024-02-10', hour: 23, emit: quiet });
    expect(await recorded(dir, r2.runId)).toEqual(given);
  });

  it('refuses a seed, which has no query; an ephemeral model named or selected is its own query, as dbt compiles it, and a compile of all leaves it inlined', async () => {
    const dir = dailyProject();
    const thrown = await compile({ project: dir, model: 's', date: '2024-01-02' }).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(DiagnosticError);
    expect((thrown as DiagnosticError).diagnostics).toMatchObject([{ code: 'no-query', message: 's is a seed: it is loaded from seeds/s.csv, with no query to compile' }]);
    const own = { model: 'eph', file: 'models/eph.sql', materialized: 'ephemeral', ds: '2024-01-02', refs: ['v'], sql: '\nselect id from "main"."v"' };
    expect((await compile({ project: dir, model: 'eph', date: '2024-01-02' })).models).toMatchObject([own]);
    // In dependency order: the ephemeral model before what reads it.
    expect((await compile({ project: dir, select: ['eph+'], date: '2024-01-02' })).models.map((m) => m.model)).toEqual(['eph', 't']);
    expect((await compile({ project: dir, date: '2024-01-02' })).models.map((m) => m.model)).not.toContain('eph');
  });

  it('compiles a selection the run would refuse for an upstream not built yet, warning at the ref() that needs it', async () => {
    const dir = dailyProject();
    const { models, warnings } = await compile({ project: dir, model: 'inc', date: '2024-01-02' });
    expect(models.map((m) => m.model)).toEqual(['inc']);
    expect(warnings).toMatchObject([{ severity: 'warning', code: 'upstream-not-built', message: 'inc reads v, which is not built yet and not selected: pipe run would refuse this selection', location: { file: 'models/inc.sql', line: 3 } }]);
  });
});

describe('pipe run --dry-run', () => {
  it('writes nothing: no warehouse is created, and an existing one is left as it was', async () => {
    const dir = dailyProject();
    const before = snapshot(dir);
    const dry = await runDryRun({ project: dir, date: '2024-01-02' });
    expect(dry.plan.tasks.map((t) => t.id)).toEqual(['s', 'v@2024-01-02', 'inc@2024-01-02', 't@2024-01-02']);
    expect(snapshot(dir)).toEqual(before);
    expect(existsSync(join(dir, 'warehouse.duckdb'))).toBe(false);

    expect((await run({ project: dir, date: '2024-01-02', emit: quiet })).status).toBe('succeeded');
    const built = snapshot(dir);
    const again = await runDryRun({ project: dir, date: '2024-01-03' });
    expect(snapshot(dir)).toEqual(built);
    // What it showed is what runs.
    const r = await run({ project: dir, date: '2024-01-03', emit: quiet });
    const shown = Object.fromEntries(again.plan.tasks.filter((t) => t.kind !== 'seed').map((t) => [t.node, { ds: t.ds, hash: t.sqlHash }]));
    expect(await recorded(dir, r.runId)).toEqual(shown);
  });

  it('refuses what the run would refuse before writing, on a warehouse not created yet too', async () => {
    const dir = tempProject({ 'models/m.sql': 'select 1 as a\n', 'models/m.yaml': 'checks:\n  not_null: [b]\n' });
    const thrown = await runDryRun({ project: dir, date: '2024-01-02' }).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(DiagnosticError);
    expect((thrown as DiagnosticError).diagnostics.map((d) => d.code)).toEqual(['unknown-column']);
    expect(existsSync(join(dir, 'warehouse.duckdb'))).toBe(false);
  });

  it("reads a warehouse that a run of this process is writing through that run's engine, and the run goes on", async () => {
    const dir = tempProject({ 'models/snap.sql': "select n from read_csv({{ var('src') | sqlstring }}, header = true, columns = {'n': 'INTEGER'})\n" });
    // The run reads its rows from a FIFO: it holds the warehouse until the test writes to it.
    const fifo = join(dir, 'held.fifo');
    execFileSync('mkfifo', [fifo]);
    const csv = join(dir, 'free.csv');
    writeFileSync(csv, 'n\n1\n');
    let started!: () => void;
    const taskStarted = new Promise<void>((res) => (started = res));
    const running = run({ project: dir, date: '2024-01-02', vars: { src: fifo }, emit: (e) => e.type === 'task-started' && started() });
    await taskStarted;

    const dry = await runDryRun({ project: dir, date: '2024-01-03', vars: { src: csv } });
    expect(dry.plan.tasks.map((t) => t.id)).toEqual(['snap@2024-01-03']);
    // One DuckDB instance per file in a process: the dry run was handed the run's engine.
    const held = await Engine.open(join(dir, 'warehouse.duckdb'), { readOnly: true });
    expect(dry.prepared.warehouse?.engine).toBe(held.engine);
    held.close();
    await writeFile(fifo, 'n\n2\n');
    expect((await running).status).toBe('succeeded');
    expect(await queryWarehouse(dir, 'select n::INTEGER as n from snap')).toEqual([{ n: 2 }]);
  });
});

describe('threads', () => {
  const threadsOf = (events: PipeEvent[]) => events.flatMap((e) => (e.type === 'run-started' ? [e.threads] : []));

  it("pipe test takes the pipeline's threads over pipe.yaml's, as pipe run does", async () => {
    const dir = tempProject({ 'models/m.sql': 'select 1 as a\n', 'models/m.yaml': 'checks:\n  not_null: [a]\n', 'pipe.yaml': 'threads: 2\n', 'pipelines/p.yaml': 'threads: 3\n' });
    const events: PipeEvent[] = [];
    await run({ project: dir, pipeline: 'p', date: '2024-01-02', emit: (e) => events.push(e) });
    await pipeTest({ project: dir, pipeline: 'p', date: '2024-01-02', emit: (e) => events.push(e) });
    await pipeTest({ project: dir, date: '2024-01-02', emit: (e) => events.push(e) });
    expect(threadsOf(events)).toEqual([3, 3, 2]);
  });

  it("a retry of a backfill keeps the backfill's --threads, even below its --parallel", async () => {
    const dir = tempProject({
      'models/m.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect cast('{{ ds }}' as date) as d, {{ var('v') }}::INTEGER as v\n",
    });
    const events: PipeEvent[] = [];
    const emit = (e: PipeEvent) => events.push(e);
    const failed = await backfill({ project: dir, start: '2024-01-01', end: '2024-01-03', parallel: 3, threads: 1, vars: { v: "'x'" }, emit });
    expect(failed.status).toBe('failed');
    await retry({ project: dir, runId: failed.runId, emit });
    expect(threadsOf(events)).toEqual([1, 1]);
  });
});

describe('what runs recorded', () => {
  it('a row that cannot be read is refused by pipe retry, naming the run, and listed by pipe history with a warning', async () => {
    const dir = tempProject({ 'models/m.sql': "select {{ var('v') }}::INTEGER as v\n" });
    const failed = await run({ project: dir, date: '2024-01-02', vars: { v: "'x'" }, emit: quiet });
    expect(failed.status).toBe('failed');
    const wh = await Engine.open(join(dir, 'warehouse.duckdb'));
    const s = await wh.session();
    await s.exec(`UPDATE _pipe.run_starts SET params = '{"ds": "2024-01-02", "select": "m"}' WHERE run_id = '${failed.runId}'`);
    s.close();
    wh.close();

    const thrown = await retry({ project: dir, runId: failed.runId, emit: quiet }).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(DiagnosticError);
    const [d] = (thrown as DiagnosticError).diagnostics;
    expect(d.message).toBe(`run ${failed.runId}: its recorded parameters cannot be read (select: expected a list of text, got "m")`);

    const listed = await history({ project: dir });
    if (listed.kind !== 'runs') throw new Error(listed.kind);
    expect(listed.runs.map((r) => [r.run.run_id, r.params])).toEqual([[failed.runId, undefined]]);
    expect(listed.problems.map((p) => [p.severity, p.message])).toEqual([['warning', d.message]]);
  });
});
