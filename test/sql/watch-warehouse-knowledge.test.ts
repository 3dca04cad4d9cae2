import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, watch as watchFolder, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { PipeEvent } from '../../src/events/events.js';
import { watch } from '../../src/watch/watch.js';
import { DuckDBSession } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { askFor } from '../../src/warehouse/duckdb/hand-over.js';
import { WatchIn } from '../support/watch-in-process.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';
import { runIn } from '../support/in-process.js';
import { taskIdsOf } from '../e2e/helpers.js';

/**
 * Watch keeps what a build needs of the warehouse (tables, seeds loaded, latest builds)
 * between builds and lets go of the file meanwhile. These tests change the warehouse from
 * elsewhere between two saves and check that watch builds from what the warehouse holds then,
 * not from what it remembers: an incremental model whose table another writer dropped is
 * built whole again (built from memory, it would take the table for there and build it as
 * one that is). After its own build, watch reads again only the relations the build wrote, and
 * must know them as they are. And the file watch opens as soon as a save comes is let go of
 * when watching stops before the build.
 */

afterAll(removeProjects);

const watchers: WatchIn[] = [];
afterEach(async () => {
  for (const w of watchers.splice(0)) await w.stop();
});

const INC = "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::DATE as d, {% if is_incremental() %}'again'{% else %}'whole'{% endif %} as how\n";

const newProject = () => tempProject({ 'pipe.yaml': 'name: t\n', 'models/inc.sql': INC, 'models/other.sql': 'select 1 as n\n' }, 'pipe-watch-known-');

function watchProject(options: { readonly keepOpen?: boolean } = {}): { dir: string; w: WatchIn } {
  const dir = newProject();
  const w = new WatchIn(dir, '2024-01-02', options);
  watchers.push(w);
  return { dir, w };
}

/** Watches a project of `files`, built once. */
async function watching(files: Record<string, string>): Promise<{ dir: string; w: WatchIn }> {
  const dir = tempProject({ 'pipe.yaml': 'name: t\n', ...files }, 'pipe-watch-known-');
  const w = new WatchIn(dir, '2024-01-02');
  watchers.push(w);
  await w.idle();
  return { dir, w };
}

const ofType = (type: string) => (e: Record<string, unknown>) => e.type === type;

/** Saves inc.sql again and waits for its build; how it was built, as its table says. */
async function saveAndBuild(dir: string, w: WatchIn, edit: number): Promise<{ how: unknown; passed: Record<string, unknown>[] }> {
  appendFileSync(join(dir, 'models/inc.sql'), `-- edit ${edit}\n`);
  const { passed } = await w.idle();
  const [row] = await queryWarehouse(dir, 'SELECT how FROM inc');
  return { how: row?.how, passed };
}

async function dropInc(dir: string): Promise<void> {
  const db = await DuckDBInstance.create(join(dir, 'warehouse.duckdb'));
  const c = await db.connect();
  await c.run('DROP TABLE main.inc');
  c.closeSync();
  db.closeSync();
}

describe('pipe watch of a pipeline with notifications', () => {
  it('sends none: its builds follow saves, and one failing would page whoever on_failure calls', async () => {
    const dir = tempProject({ 'pipe.yaml': 'name: t\n', 'models/m.sql': 'select 1 as x\n' }, 'pipe-watch-notify-');
    const told = join(dir, 'told.txt');
    const target = `    - command: 'echo "$PIPE_COMMAND $PIPE_STATUS" >> ${told}'\n`;
    mkdirSync(join(dir, 'pipelines'));
    writeFileSync(join(dir, 'pipelines/nightly.yaml'), `select: [m]\nnotify:\n  on_success:\n${target}  on_failure:\n${target}`);
    const w = new WatchIn(dir, '2024-01-02', { pipeline: 'nightly' });
    watchers.push(w);
    await w.idle();
    writeFileSync(join(dir, 'models/m.sql'), "select error('work in progress') as x\n");
    await w.next(ofType('task-failed'));
    await w.idle();
    await w.stop();
    // The same pipeline run by pipe run notifies, once it has delivered: none of watch's builds had.
    const r = await runIn(dir, { pipeline: 'nightly', date: '2024-01-02' });
    expect(r.code).toBe(1);
    expect(readFileSync(told, 'utf8')).toBe('run failed\n');
  });
});

describe('watch between builds', () => {
  it('sees a table another writer dropped between two saves', async () => {
    const { dir, w } = watchProject();
    await w.idle();
    expect((await saveAndBuild(dir, w, 1)).how).toBe('again');
    // Another writer, after watch let go of the file.
    await dropInc(dir);
    const { how, passed } = await saveAndBuild(dir, w, 2);
    expect(passed.filter(ofType('task-failed'))).toEqual([]);
    expect(how).toBe('whole');
    // And the table it built is known to the next save.
    expect((await saveAndBuild(dir, w, 3)).how).toBe('again');
  });

  it('with --keep-open: moves nothing into the file between builds it keeps it for, and after lending it builds from what the borrower left', async () => {
    const checkpoints = vi.spyOn(DuckDBSession.prototype, 'exec');
    const counted = () => checkpoints.mock.calls.filter(([sql]) => /^\s*CHECKPOINT\b/i.test(sql)).length;
    try {
      const { dir, w } = watchProject({ keepOpen: true });
      await w.idle();
      const before = counted();
      expect((await saveAndBuild(dir, w, 1)).how).toBe('again');
      expect((await saveAndBuild(dir, w, 2)).how).toBe('again');
      // Kept: no other process can write it meanwhile, so what watch read of it stands without a checkpoint.
      expect(counted()).toBe(before);
      // A pipe command asks for it; watch lets go of it, and the borrower drops the table.
      askFor(join(dir, 'warehouse.duckdb'));
      expect(String((await w.next(ofType('notice'))).event.message)).toMatch(/asked for the warehouse/);
      await dropInc(dir);
      const { how, passed } = await saveAndBuild(dir, w, 3);
      expect(passed.filter(ofType('task-failed'))).toEqual([]);
      expect(how).toBe('whole');
      // Lent with nothing written: the next save after that builds as it would have.
      askFor(join(dir, 'warehouse.duckdb'));
      await w.next(ofType('notice'));
      expect((await saveAndBuild(dir, w, 4)).how).toBe('again');
    } finally {
      checkpoints.mockRestore();
    }
  });

  it('says what a save changes while another process holds the file, and builds from what that process left', async () => {
    const { dir, w } = watchProject();
    await w.idle();
    expect((await saveAndBuild(dir, w, 1)).how).toBe('again');
    // Another process holds the file until told to drop the table and let go.
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { DuckDBInstance } from '@duckdb/node-api';
         import { createInterface } from 'node:readline';
         const db = await DuckDBInstance.create(${JSON.stringify(join(dir, 'warehouse.duckdb'))});
         const c = await db.connect();
         console.log('held');
         for await (const _ of createInterface({ input: process.stdin })) break;
         await c.run('DROP TABLE main.inc');
         c.closeSync();
         db.closeSync();
         console.log('let go');`,
      ],
      { cwd: process.cwd(), stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const lines = createInterface({ input: holder.stdout })[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe('held');
    appendFileSync(join(dir, 'models/inc.sql'), '-- edit 2\n');
    // Analyzed from what watch knows, without the file: the change is told while it is held.
    const change = await w.next(ofType('watch-change'));
    expect(change.event).toMatchObject({ files: ['models/inc.sql'], rebuild: ['inc'] });
    const waiting = await w.next(ofType('notice'));
    expect(String(waiting.event.message)).toMatch(/waiting for it/);
    holder.stdin.write('go\n');
    expect((await lines.next()).value).toBe('let go');
    const { passed } = await w.idle();
    expect(passed.filter(ofType('task-failed'))).toEqual([]);
    expect(passed.filter(ofType('task-succeeded')).length).toBe(1);
    const [row] = await queryWarehouse(dir, 'SELECT how FROM inc');
    expect(row.how).toBe('whole');
  });

  it('knows after each build what it wrote: a model turned from a table into a view and back', async () => {
    const { dir, w } = watchProject();
    await w.idle();
    // Each build reads again only what it wrote; planned from a stale type, the next build would drop a view as a table.
    for (const kind of ['view', 'table', 'view', 'table']) {
      writeFileSync(join(dir, 'models/other.sql'), `{{ config(materialized='${kind}') }}\nselect 1 as n\n`);
      const { passed } = await w.idle();
      expect(passed.filter(ofType('task-failed')), kind).toEqual([]);
      const [row] = await queryWarehouse(dir, "SELECT table_type FROM information_schema.tables WHERE table_name = 'other'");
      expect(row.table_type).toBe(kind === 'view' ? 'VIEW' : 'BASE TABLE');
    }
    expect((await saveAndBuild(dir, w, 1)).how).toBe('again');
  });

  it('rebuilds what a save changes of a build but not of its SQL: a query setting in pipe.yaml, a macro only a query check reads', async () => {
    const { dir, w } = await watching({
      'macros/wanted.sql': "{% macro wanted() %}1{% endmacro %}\n",
      'models/ordered.sql': 'select list(x order by x) as l from (values (1), (null), (2)) t(x)\n',
      'models/checked.sql': 'select 1 as n\n',
      'models/checked.yaml': 'checks:\n  query: "select * from {{ this }} where n <> {{ wanted() }}"\n',
    });
    expect(await queryWarehouse(dir, 'SELECT l::VARCHAR AS l FROM ordered')).toEqual([{ l: '[1, 2, NULL]' }]);
    appendFileSync(join(dir, 'pipe.yaml'), 'settings:\n  default_null_order: nulls_first\n');
    await w.idle();
    expect(await queryWarehouse(dir, 'SELECT l::VARCHAR AS l FROM ordered')).toEqual([{ l: '[NULL, 1, 2]' }]);
    // The check now fails: the model is built again, and its check runs.
    writeFileSync(join(dir, 'macros/wanted.sql'), '{% macro wanted() %}2{% endmacro %}\n');
    const { passed } = await w.idle();
    expect(passed.filter(ofType('check-failed')).map((e) => (e.failure as { check: string }).check)).toEqual(['query(select * from {{ this }} where n <> {{ wanted() }})']);
  });

  it("builds at the next save what the warehouse lacks once the project names it anew: the profile's schema changed", async () => {
    const profile = (schema: string) => `p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: warehouse.duckdb, schema: ${schema}}\n`;
    const dir = tempProject(
      { 'dbt_project.yml': 'name: p\nprofile: p\n', 'profiles.yml': profile('main'), 'models/a.sql': 'select 1 as n\n', 'models/b.sql': "select n from {{ ref('a') }}\n" },
      'pipe-watch-known-',
    );
    const w = new WatchIn(dir, '2024-01-02');
    watchers.push(w);
    await w.idle();
    // The profile is no file watch watches: the next save of b is built with it, a as well, which b reads and the new schema lacks.
    writeFileSync(join(dir, 'profiles.yml'), profile('analytics'));
    appendFileSync(join(dir, 'models/b.sql'), '-- saved\n');
    const { passed } = await w.idle();
    expect(passed.filter(ofType('diagnostic'))).toEqual([]);
    expect(passed.filter(ofType('watch-change')).map((e) => [...(e.rebuild as string[])].sort())).toEqual([['a', 'b']]);
    expect(await queryWarehouse(dir, 'SELECT n FROM analytics.b')).toEqual([{ n: 1 }]);
  });

  it('does not build again at every save a model that failed and has no table: only when it or what it reads changes', async () => {
    const { dir, w } = await watching({ 'models/bad.sql': "select error('not yet') as x\n", 'models/other.sql': 'select 1 as y\n' });
    const rebuilt = (events: Record<string, unknown>[]) => events.filter(ofType('watch-change')).map((e) => [...(e.rebuild as string[])].sort());
    appendFileSync(join(dir, 'models/other.sql'), '-- saved\n');
    expect(rebuilt((await w.idle()).passed)).toEqual([['other']]);
    writeFileSync(join(dir, 'models/bad.sql'), 'select 2 as x\n');
    expect(rebuilt((await w.idle()).passed)).toEqual([['bad']]);
    expect(await queryWarehouse(dir, 'SELECT x FROM bad')).toEqual([{ x: 2 }]);
  });

  it("says the project's warnings as pipe run does, once until they change: a folder config that no longer applies", async () => {
    const dir = tempProject(
      { 'dbt_project.yml': 'name: p\nmodels:\n  p:\n    marts:\n      +materialized: table\n', 'models/marts/a.sql': 'select 1 as x\n', 'models/b.sql': 'select 2 as y\n' },
      'pipe-watch-known-',
    );
    const w = new WatchIn(dir, '2024-01-02');
    watchers.push(w);
    const warnings = (events: Record<string, unknown>[]) => events.filter(ofType('diagnostic')).map((e) => (e.diagnostic as { severity: string; message: string }).message);
    expect(warnings((await w.idle()).passed)).toEqual([]);
    renameSync(join(dir, 'models/marts'), join(dir, 'models/mart'));
    expect(warnings((await w.idle()).passed)).toEqual(['models.p.marts applies to no model: no qualified name begins p.marts (dbt warns of this unused configuration path too)']);
    appendFileSync(join(dir, 'models/b.sql'), '-- saved\n');
    expect(warnings((await w.idle()).passed)).toEqual([]);
  });

  it('records what a model reads through an ephemeral model made a table since, as pipe run would: current, not always run', async () => {
    const { dir, w } = await watching({
      'seeds/s.csv': 'id\n1\n2\n',
      'models/c1.sql': "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('s') }}\n",
      'models/c2.sql': "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('c1') }}\n",
    });
    // Renamed, its reader saved with the new name: then made a table.
    renameSync(join(dir, 'models/c1.sql'), join(dir, 'models/c1b.sql'));
    writeFileSync(join(dir, 'models/c2.sql'), "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('c1b') }}\n");
    await w.idle();
    writeFileSync(join(dir, 'models/c1b.sql'), "{{ config(materialized='table') }}\nselect * from {{ ref('s') }}\n");
    await w.idle();
    await w.stop();
    // What the watch build recorded of c2 is what a run finds: nothing to build again.
    const again = await runIn(dir, { date: '2024-01-02' });
    expect(taskIdsOf(again.events, 'task-succeeded')).toEqual([]);
  });

  it('lets go of the file it opened at a save when watching stops before the build', async () => {
    const dir = newProject();
    const controller = new AbortController();
    const events: PipeEvent[] = [];
    let idle!: () => void;
    const firstBuild = new Promise<void>((res) => (idle = res));
    // A quiet period that does not end in this test: the save opens the file, no build follows.
    const watching = watch({
      project: dir,
      date: '2024-01-02',
      signal: controller.signal,
      debounceMs: 3_600_000,
      emit: (e) => {
        events.push(e);
        if (e.type === 'watch-waiting') idle();
      },
    });
    await firstBuild;
    // pipe notes who holds the file beside it while it is open for writing.
    const note = join(dir, 'warehouse.duckdb.pipe-holder.json');
    expect(existsSync(note)).toBe(false);
    const opened = new Promise<void>((res) => {
      const folder = watchFolder(dir, (_, name) => {
        if (name !== basename(note) || !existsSync(note)) return;
        folder.close();
        res();
      });
    });
    appendFileSync(join(dir, 'models/inc.sql'), '-- edit\n');
    await opened;
    controller.abort();
    await watching;
    expect(existsSync(note)).toBe(false);
    expect(events.filter((e) => e.type === 'watch-change')).toEqual([]);
  });
});

describe("watch's command line", () => {
  it('a pipeline named that is none as watching starts ends watching, exit 2, as pipe run refuses it; no save is waited for', async () => {
    const dir = tempProject({ 'pipe.yaml': 'name: shop\n', 'models/a.sql': 'select 1 as id', 'pipelines/daily.yaml': 'select: [a]\n' });
    const events: PipeEvent[] = [];
    const controller = new AbortController();
    const watching = watch({ project: dir, date: '2024-01-02', pipeline: 'daly', signal: controller.signal, emit: (e) => events.push(e) });
    const outcome = await Promise.race([watching.then(() => 'watching ended', (e: unknown) => e), new Promise((resolve) => setTimeout(resolve, 20_000, 'still watching'))]);
    controller.abort();
    await watching.catch(() => undefined);
    expect(String(outcome)).toContain("no pipeline named 'daly' in pipelines/");
    expect(events.filter((e) => e.type === 'notice' && e.message.includes('watching goes on'))).toEqual([]);
  });
});
