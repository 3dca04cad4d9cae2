#!/usr/bin/env node
/**
 * pipe's benchmark: `npm run bench` (everything) or `npm run bench -- --quick` (a smoke run
 * of a minute or two). Prints a markdown table and writes every figure to
 * bench/results/latest.json and latest.md. See bench/README.md for what each figure means.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, cpSync, existsSync, fsyncSync, openSync, renameSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, lstatSync, readlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { addDays, writeHeavyProject, pipeModelPath, syntheticSpec, withTemplateShape, writeChainProject, writeDbtProject, writePipeProject, writeRealisticProject, writeSqlmeshDbtConfig, writeSqlmeshProject } from './lib/generate.mjs';
import { describeMachine } from './lib/machine.mjs';
import { GNU_TIME, jsonLines, median, runChecked, runTimed } from './lib/proc.mjs';
import { renderMarkdown, fmtMs, fmtMb, fmtX } from './lib/report.mjs';
import { benchLineagePage, uiUnavailable } from './lib/ui.mjs';
import { benchDistributed, distributedUnavailable } from './lib/distributed.mjs';
import { differingRelations } from './lib/same-tables.mjs';
import { dbtBuild, dbtCompile, dbtParse, ensureAnchors, sqlmeshLoad, sqlmeshRun } from './lib/anchors.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, '..');
const PROBE = join(BENCH, 'lib', 'probe.mjs');
const BASELINE = join(BENCH, 'lib', 'baseline.mjs');
const HISTORY = join(BENCH, 'lib', 'history.mjs');
const RESULTS = join(BENCH, 'results');

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    'run-sizes': { type: 'string' },
    reps: { type: 'string' },
    'no-anchors': { type: 'boolean', default: false },
    venv: { type: 'string' },
    only: { type: 'string' },
    'ui-models': { type: 'string' },
    'watch-sizes': { type: 'string' },
    pipe: { type: 'string' },
    'pipe-before': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
const PIPE = opt.pipe ? resolve(opt.pipe) : join(ROOT, 'dist', 'cli', 'main.js');
if (opt.help) {
  console.log(`npm run bench [-- options]
  --quick            smoke run of a minute or two: 100 models, small data, no dbt/SQLMesh, fewer repetitions
  --sizes 100,1000   model counts for compile, recompile and anchors (default 100,1000,10000)
  --run-sizes 100    model counts for pipe run vs raw DuckDB (default 100,1000)
  --reps N           repetitions of each timed command (default 5 for compiles, 3 for runs)
  --no-anchors       skip dbt and SQLMesh
  --venv DIR         a virtualenv that has dbt-duckdb (and SQLMesh) already, used as it is, instead of bench/.venv
  --ui-models N      models of the project whose lineage page is opened in chromium (default 10000; 1000 with --quick)
  --watch-sizes 100  model counts of the watch section (default 100,10000; 100 with --quick)
  --pipe FILE        the pipe to measure (a dist/cli/main.js), instead of this checkout's: two builds compared on one machine
  --pipe-before DIR  another build's dist/ folder: run, realistic and the heavy backfill time it too,
                     alternating with this one (A/B), for a before/after comparison
  --only a,b         sections: compile,run,realistic,backfill (with heavy),heavy,plan,distributed,watch,ui,anchors`);
  process.exit(0);
}

const quick = opt.quick;
const list = (s) => s.split(',').map((x) => Number(x.trim())).filter((n) => n > 0);
const cfg = {
  sizes: opt.sizes ? list(opt.sizes) : quick ? [100] : [100, 1000, 10000],
  runSizes: opt['run-sizes'] ? list(opt['run-sizes']) : quick ? [100] : [100, 1000],
  compileReps: Number(opt.reps ?? (quick ? 3 : 5)),
  recompileReps: quick ? 5 : 15,
  runReps: Number(opt.reps ?? (quick ? 1 : 3)),
  realistic: quick ? { events: 200_000, users: 10_000, days: 10 } : { events: 3_000_000, users: 100_000, days: 30 },
  realisticReps: Number(opt.reps ?? (quick ? 1 : 3)),
  backfillDays: quick ? 30 : 365,
  backfillReps: quick ? 1 : 2,
  /** Rows a date of the chain whose built backfill is re-run: enough that building a date outweighs starting pipe. */
  rerunRowsPerDay: quick ? 200 : 200_000,
  /** A heavy partitioned backfill: dates × rows a date, pipe against plain SQL. */
  heavy: quick ? { days: 5, rowsPerDay: 200_000 } : { days: 30, rowsPerDay: 1_000_000 },
  heavyReps: Number(opt.reps ?? (quick ? 1 : 3)),
  parallels: [1, 2, 4],
  /** The distributed backfill: dates, and rows hashed per date (enough that a date's work outweighs handing it to a worker). */
  distributed: quick ? { days: 8, rows: 1_000_000 } : { days: 24, rows: 6_000_000 },
  watchSizes: opt['watch-sizes'] ? list(opt['watch-sizes']) : quick ? [100] : [100, 10_000],
  watchEdits: quick ? 2 : 5,
  uiModels: Number(opt['ui-models'] ?? (quick ? 1000 : 10_000)),
  uiReps: quick ? 1 : 3,
  anchors: !quick && !opt['no-anchors'],
  anchorReps: quick ? 1 : 3,
  /** An anchor size is skipped when its projected time (from the size below it) passes this. */
  anchorBudgetMs: 4 * 60_000,
};
const sections = new Set(opt.only ? opt.only.split(',') : ['compile', 'run', 'realistic', 'backfill', 'plan', 'distributed', 'watch', 'ui', 'anchors']);
// The heavy partitioned backfill is part of the backfill section, and can be run alone (--only heavy).
if (sections.has('backfill')) sections.add('heavy');

// Projects are generated under bench/.work. pipe leaves out any file whose absolute path has a
// folder starting with a dot, so the projects are given to pipe through a symlink without one,
// named after the checkout: two checkouts benchmarked at once would point one link elsewhere
// under the other's feet.
const WORK = join(BENCH, '.work');
mkdirSync(WORK, { recursive: true });
mkdirSync(RESULTS, { recursive: true });
const ALIAS = join(tmpdir(), `pipe-bench-${process.getuid?.() ?? 'user'}-${createHash('sha256').update(WORK).digest('hex').slice(0, 8)}-work`);
if (!existsSync(ALIAS) || !lstatSync(ALIAS).isSymbolicLink() || readlinkSync(ALIAS) !== WORK) {
  rmSync(ALIAS, { force: true, recursive: false });
  symlinkSync(WORK, ALIAS);
}
const at = (name) => join(ALIAS, name);

/** Yesterday (UTC): SQLMesh plans up to now, so one daily interval is exactly this date. */
const DATE = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);

const log = (s) => process.stderr.write(`${s}\n`);
const t0 = performance.now();
const notes = [];
const results = {
  mode: quick ? 'quick' : 'full',
  startedAt: new Date().toISOString(),
  date: DATE,
  config: cfg,
  machine: await describeMachine(ROOT),
  compile: [],
  recompile: [],
  run: [],
  realistic: undefined,
  backfill: undefined,
  plan: undefined,
  heavyBackfill: undefined,
  distributed: undefined,
  watch: undefined,
  upToDate: undefined,
  ui: undefined,
  anchors: undefined,
  targets: [],
  notes,
};
log(`pipe bench (${results.mode}) · ${results.machine.cpu} · ${results.machine.cores} cores · Node ${results.machine.node} · DuckDB ${results.machine.duckdb}`);
if (!GNU_TIME) notes.push('/usr/bin/time is not installed: peak RSS is the in-process figure (process.resourceUsage().maxRSS) of the probe, not of `pipe compile`; `apt-get install time` gives the child-process figure.');

const pipe = (args, o = {}) => runTimed(process.execPath, [o.bin ?? PIPE, ...args], o);
/** Another build of pipe, timed alternately with this one (--pipe-before). */
const PIPE_BEFORE = opt['pipe-before'] ? join(resolve(opt['pipe-before']), 'cli', 'main.js') : undefined;
if (PIPE_BEFORE && !existsSync(PIPE_BEFORE)) throw new Error(`--pipe-before: no ${PIPE_BEFORE}`);
const node = (script, args, o = {}) => runChecked(process.execPath, [script, ...args], o);
const parseLast = (stdout) => JSON.parse(stdout.trim().split('\n').pop());

/** Runs `fn` `reps` times (each gets a fresh warehouse path) and returns the results. */
async function repeat(reps, fn) {
  const out = [];
  for (let i = 0; i < reps; i++) out.push(await fn(i));
  return out;
}

/** A warehouse path with nothing at it: no file, and no compiled templates or programs kept beside it. */
function freshDb(name) {
  const p = join(WORK, 'db', `${name}.duckdb`);
  mkdirSync(dirname(p), { recursive: true });
  for (const f of [p, `${p}.wal`, `${p}.pipe-holder.json`]) rmSync(f, { force: true });
  rmSync(join(dirname(p), '.pipe', `${name}.duckdb`), { recursive: true, force: true });
  return p;
}

async function pipeOk(args, o = {}) {
  const r = await pipe(args, o);
  if (r.code !== 0) throw new Error(`pipe ${args.join(' ')} exited with ${r.code}\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-3000)}`);
  return r;
}

// ---------------------------------------------------------------------------------------
// Synthetic projects, generated once per size and shape from one spec.
const SHAPES = {
  /** Loops, set, is_incremental(), macros with arguments, checks (see withTemplateShape). */
  realistic: { label: 'realistic templates', dir: (n) => `templated-${n}`, spec: (n) => withTemplateShape(syntheticSpec({ models: n, date: DATE })) },
  /** ref(), config() and the date only: what pipe renders without Nunjucks. */
  plain: { label: 'plain templates', dir: (n) => `synthetic-${n}`, spec: (n) => syntheticSpec({ models: n, date: DATE }) },
};
const specs = new Map();
function synthetic(n, shape = 'plain') {
  const name = SHAPES[shape].dir(n);
  if (!specs.has(name)) {
    const spec = SHAPES[shape].spec(n);
    writePipeProject(spec, join(WORK, name));
    specs.set(name, spec);
  }
  return { spec: specs.get(name), dir: at(name), name };
}

// ---------------------------------------------------------------------------------------
async function benchCompile() {
  for (const n of cfg.sizes) {
    for (const shape of ['realistic', 'plain']) await benchCompileShape(n, shape);
    const { spec } = synthetic(n);
    const dir = at(SHAPES.plain.dir(n));
    // A leaf of the last layer: the edit rebuilds one model, as most saves do.
    const leaf = spec.models[spec.models.length - 1];
    const file = relative(join(WORK, `synthetic-${n}`), pipeModelPath(join(WORK, `synthetic-${n}`), leaf));
    const re = parseLast((await node(PROBE, ['recompile', '--project', dir, '--date', DATE, '--file', file, '--reps', String(cfg.recompileReps)])).stdout);
    results.recompile.push({ models: n, file, ms: median(re.times), times: re.times, coldInProcessMs: re.coldMs, rebuild: re.rebuild });
    log(`  recompile ${fmtMs(median(re.times))}`);
  }
}

/**
 * `pipe compile` of one project: cold (no warehouse, nothing kept), then warm
 * (the templates compiled by a first run are kept beside the warehouse), alternating.
 */
async function benchCompileShape(n, shape) {
  const { dir } = synthetic(n, shape);
  log(`compile: ${n} models, ${SHAPES[shape].label}`);
  const compile = (db) => runChecked(process.execPath, [PIPE, 'compile', '--json', '--date', DATE, '--project', dir, '--db', db], { measureRss: true, keepStdout: false });
  const warmDb = freshDb('compile-warm');
  // The first compile keeps the compiled templates; the first to load them keeps V8's code
  // cache of them: a warm compile is one after both.
  await compile(warmDb);
  await compile(warmDb);
  const cold = [];
  const warm = [];
  // Cold: the parsed YAML kept in the project's .pipe/yaml goes too (the warm run reads what the cold one kept).
  const coldCompile = () => {
    rmSync(join(dir, '.pipe', 'yaml'), { recursive: true, force: true });
    return compile(freshDb('compile'));
  };
  for (let i = 0; i < cfg.compileReps; i++) {
    cold.push(await coldCompile());
    warm.push(await compile(warmDb));
  }
  const inProcess = await repeat(cfg.compileReps, async () => parseLast((await node(PROBE, ['compile', '--project', dir, '--date', DATE])).stdout));
  const pick = (k) => median(inProcess.map((x) => x[k]));
  const rss = (runs) => (GNU_TIME ? median(runs.map((r) => r.rssMb)) : undefined);
  results.compile.push({
    models: n,
    shape,
    wallMs: median(cold.map((r) => r.ms)),
    rssMb: rss(cold) ?? pick('maxRssMb'),
    walls: cold.map((r) => r.ms),
    cpuMs: median(cold.map((r) => r.cpuMs)),
    warmMs: median(warm.map((r) => r.ms)),
    warmCpuMs: median(warm.map((r) => r.cpuMs)),
    warmRssMb: rss(warm),
    warmWalls: warm.map((r) => r.ms),
    inProcess: { importMs: pick('importMs'), loadMs: pick('loadMs'), analyzeMs: pick('analyzeMs'), sqlMs: pick('sqlMs'), maxRssMb: pick('maxRssMb') },
  });
  const c = results.compile.at(-1);
  log(`  cold ${fmtMs(c.wallMs)} (CPU ${fmtMs(c.cpuMs)}), ${fmtMb(c.rssMb)}; warm ${fmtMs(c.warmMs)} (CPU ${fmtMs(c.warmCpuMs)}), ${fmtMb(c.warmRssMb)}`);
}

/**
 * The plain SQL a user would run without pipe for a project on an empty warehouse (see
 * probe.mjs plain), for the baseline.
 */
async function planStatements(dir, name) {
  const out = join(WORK, `${name}.statements.json`);
  const r = parseLast((await node(PROBE, ['plain', '--project', dir, '--date', DATE, '--db', freshDb(`${name}-plan`), '--out', out])).stdout);
  return { file: out, tasks: r.tasks, statements: r.statements };
}

/**
 * pipe run (--threads 1 and default threads) vs the plain-SQL baseline, alternating, on fresh
 * warehouses; with --pipe-before, the other build's `pipe run --threads 1` too.
 */
async function pipeVsBaseline(dir, name, reps, withDefaultThreads) {
  const plan = await planStatements(dir, name);
  const pipeMs = [];
  const baseMs = [];
  const beforeMs = [];
  const defaultMs = [];
  const phases = [];
  // A fresh warehouse for every run: on a built one every task is current and nothing runs.
  const args = () => ['run', '--date', DATE, '--project', dir, '--db', freshDb(`${name}-pipe`), '--threads', '1', '--json'];
  for (let i = 0; i < reps; i++) {
    const r = await pipeOk(args());
    pipeMs.push(r.ms);
    phases.push(runPhases(r));
    const b = await node(BASELINE, [plan.file, freshDb(`${name}-baseline`)]);
    baseMs.push(b.ms);
    if (PIPE_BEFORE) beforeMs.push((await pipeOk(args(), { bin: PIPE_BEFORE, keepStdout: false })).ms);
    if (withDefaultThreads) defaultMs.push((await pipeOk(['run', '--date', DATE, '--project', dir, '--db', freshDb(`${name}-pipe`), '--json'], { keepStdout: false })).ms);
  }
  await assertSameResult(join(WORK, 'db', `${name}-pipe.duckdb`), join(WORK, 'db', `${name}-baseline.duckdb`), name);
  const p = median(pipeMs);
  const b = median(baseMs);
  const phase = (k) => median(phases.map((x) => x[k]));
  return {
    tasks: plan.tasks,
    statements: plan.statements,
    pipeMs: p,
    baselineMs: b,
    ratio: p / b,
    ...(PIPE_BEFORE ? { beforeMs: median(beforeMs), beforeRatio: median(beforeMs) / b, beforeRuns: beforeMs } : {}),
    pipeDefaultThreadsMs: median(defaultMs),
    pipePhases: { setupMs: phase('setupMs'), executeMs: phase('executeMs'), closeMs: phase('closeMs') },
    pipeRuns: pipeMs,
    baselineRuns: baseMs,
  };
}

/** A time against plain SQL compares like with like only if both built the same rows: the measurement fails otherwise. */
async function assertSameResult(pipeDb, plainDb, what) {
  const differences = await differingRelations(pipeDb, plainDb);
  if (differences.length > 0) throw new Error(`${what}: pipe's warehouse differs from the plain SQL's:\n  ${differences.slice(0, 10).join('\n  ')}`);
  log(`  same rows as plain SQL in every relation`);
}

/**
 * Where a `pipe run` spent its time, from its events: before run-started (start-up, load,
 * analyze, plan, opening the warehouse, recording the run), executing the tasks (run-finished's
 * own figure), and after (recording the outcome, closing the warehouse, exiting).
 */
function runPhases(r) {
  const events = jsonLines(r.stdout);
  const started = events.find((e) => e.type === 'run-started');
  const finished = events.find((e) => e.type === 'run-finished');
  if (!started || !finished) return {};
  const setupMs = Date.parse(started.time) - r.startedAt;
  return { setupMs, executeMs: finished.ms, closeMs: r.ms - (Date.parse(finished.time) - r.startedAt) };
}

async function benchRun() {
  for (const n of cfg.runSizes) {
    const { dir } = synthetic(n);
    log(`run: ${n} trivial models, pipe vs plain SQL`);
    const x = await pipeVsBaseline(dir, `run-${n}`, cfg.runReps, true);
    results.run.push({ models: n, ...x, overheadPerModelMs: (x.pipeMs - x.baselineMs) / n });
    log(`  pipe ${fmtMs(x.pipeMs)}, plain SQL ${fmtMs(x.baselineMs)}, ${fmtX(x.ratio)}, ${fmtMs((x.pipeMs - x.baselineMs) / n)} per model${before(x)}`);
  }
}

/**
 * A `pipe run` with nothing to do, as a schedule or a developer meets it between changes: the
 * largest watch size's project on a warehouse `pipe run` built (every task current), once as
 * built and once after 50 earlier runs that each built every model (history.mjs), alternating,
 * each on a fresh copy. What a run reads of the run state must grow with the models, not with
 * the history. The first command on the history moves the builds it superseded to the archive
 * (see src/warehouse/builds-archive.ts), once: timed on its own, and the runs after it are the
 * history's steady cost.
 */
async function benchUpToDate() {
  const n = Math.max(...cfg.watchSizes);
  const historyRuns = 50;
  log(`up-to-date run: ${n} models, on a new warehouse and after ${historyRuns} runs of history`);
  const built = await builtWarehouse(n);
  const withHistory = freshDb(`up-to-date-history-${n}`);
  copyWarehouse(built, withHistory);
  const made = parseLast((await node(HISTORY, [withHistory, String(historyRuns)])).stdout);
  const upToDate = async (db) => {
    const r = await pipeOk(['run', '--date', DATE, '--project', at(`synthetic-${n}`), '--db', db, '--json']);
    const finished = jsonLines(r.stdout).find((e) => e.type === 'run-finished');
    if (!finished || finished.status !== 'succeeded' || jsonLines(r.stdout).some((e) => e.type === 'task-started')) throw new Error(`an up-to-date run ran tasks or failed: ${r.stdout.slice(-2000)}`);
    return r.ms;
  };
  const time = async (base) => {
    const db = freshDb(`up-to-date-${n}`);
    copyWarehouse(base, db);
    return upToDate(db);
  };
  // The first run on the history, which moves what it superseded aside; the history's copies are of that warehouse.
  const moveMs = await upToDate(withHistory);
  const fresh = [];
  const history = [];
  for (let i = 0; i < cfg.runReps; i++) {
    fresh.push(await time(built));
    history.push(await time(withHistory));
  }
  results.upToDate = { models: n, historyRuns, historyRows: made.rows, moveMs, freshMs: median(fresh), historyMs: median(history), freshRuns: fresh, historyRunsMs: history };
  log(`  new warehouse ${fmtMs(median(fresh))}, after ${historyRuns} runs ${fmtMs(median(history))} (the first of them, moving superseded builds aside, ${fmtMs(moveMs)})`);
}

async function benchRealistic() {
  log(`realistic: generating ${cfg.realistic.events.toLocaleString('en-US')} events with DuckDB`);
  const g0 = performance.now();
  const meta = await writeRealisticProject(join(WORK, 'realistic'), { date: DATE, ...cfg.realistic });
  const generateMs = performance.now() - g0;
  const x = await pipeVsBaseline(at('realistic'), 'realistic', cfg.realisticReps, true);
  results.realistic = { ...meta, generateMs, ...x };
  log(`  pipe ${fmtMs(x.pipeMs)}, plain SQL ${fmtMs(x.baselineMs)}, ${fmtX(x.ratio)}${before(x)}`);
}

const before = (x) => (x.beforeMs === undefined ? '' : `; before: ${fmtMs(x.beforeMs)}, ${fmtX(x.beforeRatio)}`);

/**
 * A heavy partitioned backfill (tens of millions of rows over about 30 dates, one incremental
 * model) on a fresh warehouse: pipe backfill --parallel 1 and 2 against the plain SQL a user
 * would run (per date, DELETE of the date and INSERT … SELECT in one transaction, on one
 * connection), alternating; with --pipe-before, the other build too.
 */
async function benchHeavyBackfill() {
  const { days, rowsPerDay } = cfg.heavy;
  const start = addDays(DATE, -(days - 1));
  log(`heavy backfill: ${days} dates × ${rowsPerDay.toLocaleString('en-US')} rows`);
  const { query, relation } = await writeHeavyProject(join(WORK, 'heavy'), { start, days, rowsPerDay });
  const dates = Array.from({ length: days }, (_, i) => addDays(start, i));
  const plain = join(WORK, 'heavy.statements.json');
  const statements = [
    `CREATE TABLE IF NOT EXISTS ${relation} AS SELECT * FROM (${query(start)}) LIMIT 0`,
    ...dates.flatMap((ds) => ['BEGIN TRANSACTION', `DELETE FROM ${relation} WHERE event_date = '${ds}'`, `INSERT INTO ${relation}\n${query(ds)}`, 'COMMIT']),
  ];
  writeFileSync(plain, JSON.stringify({ statements, queries: [] }));
  const builds = [['after', undefined], ...(PIPE_BEFORE ? [['before', PIPE_BEFORE]] : [])];
  const times = { plain: [] };
  for (let i = 0; i < cfg.heavyReps; i++) {
    times.plain.push((await node(BASELINE, [plain, freshDb('heavy-plain')])).ms);
    for (const parallel of [1, 2]) {
      for (const [name, bin] of builds) {
        const r = await pipeOk(['backfill', '--start', start, '--end', DATE, '--parallel', String(parallel), '--project', at('heavy'), '--db', freshDb('heavy-pipe'), '--json'], { bin });
        const finished = jsonLines(r.stdout).find((e) => e.type === 'run-finished');
        if (!finished || finished.status !== 'succeeded') throw new Error(`heavy backfill did not succeed: ${r.stdout.slice(-2000)}`);
        (times[`${name} p${parallel}`] ??= []).push(r.ms);
      }
    }
  }
  await assertSameResult(join(WORK, 'db', 'heavy-pipe.duckdb'), join(WORK, 'db', 'heavy-plain.duckdb'), 'heavy backfill');
  const plainMs = median(times.plain);
  const out = Object.entries(times).map(([name, runs]) => ({ name, ms: median(runs), ratio: median(runs) / plainMs, runs }));
  results.heavyBackfill = { days, rowsPerDay, rows: days * rowsPerDay, results: out };
  log(`  ${out.map((x) => `${x.name} ${fmtMs(x.ms)} (${fmtX(x.ratio)})`).join(', ')}`);
}

async function benchBackfill() {
  const depth = 4;
  const rowsPerDay = 200;
  writeChainProject(join(WORK, 'chain'), { depth, rowsPerDay });
  const start = addDays(DATE, -(cfg.backfillDays - 1));
  const out = [];
  for (const parallel of cfg.parallels) {
    log(`backfill: ${cfg.backfillDays} days, --parallel ${parallel}`);
    const runs = await repeat(cfg.backfillReps, async () => {
      const r = await pipeOk(['backfill', '--start', start, '--end', DATE, '--parallel', String(parallel), '--project', at('chain'), '--db', freshDb('backfill'), '--json']);
      const finished = jsonLines(r.stdout).find((e) => e.type === 'run-finished');
      if (!finished || finished.status !== 'succeeded') throw new Error(`backfill did not succeed: ${r.stdout.slice(-2000)}`);
      return { wallMs: r.ms, execMs: finished.ms };
    });
    const execMs = median(runs.map((r) => r.execMs));
    out.push({ parallel, wallMs: median(runs.map((r) => r.wallMs)), execMs, datesPerSecond: cfg.backfillDays / (execMs / 1000), runs });
  }
  const base = out.find((x) => x.parallel === 1);
  for (const x of out) x.speedup = x.datesPerSecond / base.datesPerSecond;
  results.backfill = { days: cfg.backfillDays, models: depth + 1, rowsPerDay, results: out, rerun: await benchRerun() };
  log(`  ${out.map((x) => `p${x.parallel} ${x.datesPerSecond.toFixed(1)}/s`).join(', ')}`);
}

/**
 * Planning a long backfill, as `pipe backfill --dry-run` does it before anything runs: wall time
 * and peak RSS over a year of dates (a task per date of each model kept by date), against one
 * date, for two shapes of model: the plain generated project, and the repository's example
 * (its models carry checks). What each task holds bounds the range one plan can take: the plan
 * is refused once it fills 75% of node's heap (see src/plan/plan-room.ts).
 */
async function benchBackfillPlan() {
  const example = join(WORK, 'example');
  rmSync(example, { recursive: true, force: true });
  for (const part of ['models', 'seeds', 'macros', 'pipelines', 'pipe.yaml']) cpSync(join(ROOT, part), join(example, part), { recursive: true });
  const n = quick ? 100 : 1000;
  // The example has two models kept by date: ten years give it as many tasks as a year gives the generated one a tenth of.
  const projects = [
    { project: `generated, plain templates (${n.toLocaleString('en-US')} models)`, dir: synthetic(n).dir, days: quick ? 30 : 365 },
    { project: 'the example (models with checks)', dir: at('example'), days: quick ? 300 : 3650 },
  ];
  results.plan = { projects: [] };
  for (const { project, dir, days } of projects) {
    const start = addDays(DATE, -(days - 1));
    log(`plan: ${project}, a backfill of ${days} dates, dry run`);
    const plan = async (from) => {
      const r = await pipeOk(['backfill', '--dry-run', '--start', from, '--end', DATE, '--project', dir, '--db', freshDb('plan')], { measureRss: true });
      const tasks = Number(/: ([\d,]+) tasks?,/.exec(r.stdout)?.[1].replaceAll(',', ''));
      if (!Number.isFinite(tasks)) throw new Error(`plan: no task count in\n${r.stdout.slice(0, 2000)}`);
      return { ms: r.ms, rssMb: r.rssMb, tasks };
    };
    const one = [];
    const year = [];
    for (let i = 0; i < cfg.runReps; i++) {
      one.push(await plan(DATE));
      year.push(await plan(start));
    }
    const [base, whole] = [one, year].map((runs) => ({ tasks: runs[0].tasks, ms: median(runs.map((r) => r.ms)), rssMb: median(runs.map((r) => r.rssMb)) }));
    const more = whole.tasks - base.tasks;
    const x = { project, days, oneDate: base, range: whole, msPerTask: (whole.ms - base.ms) / more, kbPerTask: whole.rssMb === undefined ? undefined : ((whole.rssMb - base.rssMb) * 1024) / more };
    results.plan.projects.push(x);
    log(`  ${whole.tasks} tasks: ${fmtMs(whole.ms)}, ${fmtMb(whole.rssMb)} (one date ${fmtMs(base.ms)}, ${fmtMb(base.rssMb)}): ${x.msPerTask.toFixed(3)} ms and ${x.kbPerTask?.toFixed(1) ?? '–'} KB a task`);
  }
}

/** A backfill over `pipe worker` processes (see lib/distributed.mjs); skipped, saying why, without Postgres or the extensions. */
async function benchDistributedCase() {
  const why = await distributedUnavailable();
  if (why) {
    notes.push(`The distributed backfill was skipped: ${why}.`);
    log(`distributed: skipped (${why})`);
    return;
  }
  const { days, rows } = cfg.distributed;
  results.distributed = await benchDistributed({ pipeBin: PIPE, work: WORK, days, rows, parallel: 4, start: addDays(DATE, -(days - 1)), end: DATE, log });
  log(`  ${results.distributed.workers.map((x) => `${x.workers} worker(s) ${x.datesPerSecond.toFixed(2)}/s`).join(', ')}`);
}

/**
 * Re-running a fully built backfill: every task is current, so nothing is rebuilt. The first
 * backfill and its re-run of 30 dates of a chain on one warehouse, per repetition. Its dates
 * are larger than the backfill's above (cfg.rerunRowsPerDay): with tiny ones, starting the
 * process is most of either run's wall time, and the ratio says little.
 */
async function benchRerun() {
  const days = 30;
  const rowsPerDay = cfg.rerunRowsPerDay;
  writeChainProject(join(WORK, 'rerun-chain'), { depth: 4, rowsPerDay });
  const start = addDays(DATE, -(days - 1));
  log(`backfill: ${days} days of ${rowsPerDay} rows, then the same again`);
  const backfill = async (db) => {
    const r = await pipeOk(['backfill', '--start', start, '--end', DATE, '--project', at('rerun-chain'), '--db', db, '--json']);
    const finished = jsonLines(r.stdout).find((e) => e.type === 'run-finished');
    if (!finished || finished.status !== 'succeeded') throw new Error(`backfill did not succeed: ${r.stdout.slice(-2000)}`);
    return { wallMs: r.ms, execMs: finished.ms, upToDate: finished.upToDate ?? 0, started: jsonLines(r.stdout).filter((e) => e.type === 'task-started').length };
  };
  const runs = await repeat(cfg.backfillReps, async () => {
    const db = freshDb('rerun');
    return { first: await backfill(db), again: await backfill(db) };
  });
  const m = (pick) => median(runs.map(pick));
  // A task of a fully built backfill that runs again is a wrong judgement, not a slow run.
  const rebuilt = runs.filter((r) => r.again.started > 0);
  if (rebuilt.length > 0) throw new Error(`re-running a built backfill ran ${rebuilt[0].again.started} tasks; every one is current`);
  const rerun = {
    days,
    rowsPerDay,
    firstWallMs: m((r) => r.first.wallMs),
    firstExecMs: m((r) => r.first.execMs),
    againWallMs: m((r) => r.again.wallMs),
    againExecMs: m((r) => r.again.execMs),
    upToDate: runs[0].again.upToDate,
    rebuilt: runs[0].again.started,
    runs,
  };
  log(`  first ${fmtMs(rerun.firstExecMs)}, again ${fmtMs(rerun.againExecMs)} (${rerun.upToDate} up to date, ${rerun.rebuilt} rebuilt)`);
  return rerun;
}

/** How many models read `name`, directly or through others. */
function downstreamCount(spec, name) {
  const readers = new Map();
  for (const m of spec.models) for (const r of m.refs) readers.set(r, [...(readers.get(r) ?? []), m.name]);
  const seen = new Set();
  const stack = [name];
  while (stack.length > 0) {
    for (const d of readers.get(stack.pop()) ?? []) {
      if (seen.has(d)) continue;
      seen.add(d);
      stack.push(d);
    }
  }
  return seen.size;
}

/**
 * Times saves in `pipe watch --json`, as the user meets them: from the write of the file to
 * the `watch-change` event and to the rebuilt model's `run-finished`, at each of the watch
 * sizes. Watch starts on a warehouse `pipe run` built already (copied for each size), so its
 * first build finds every model current and the 10,000-model case does not wait minutes.
 * Each size twice: as watch runs by default (the file let go of between builds, opened again
 * at each save) and with --keep-open (kept open between builds).
 */
async function benchWatch() {
  results.watch = { debounceMs: 150, sizes: [] };
  for (const n of cfg.watchSizes) for (const keepOpen of [false, true]) results.watch.sizes.push(await benchWatchSize(n, keepOpen));
}

/**
 * A warehouse of the `n`-model project fully built once, kept between bench runs of the same
 * date and the same build of pipe (how a build writes the file, not only what, is what
 * opening it costs); those of other dates and builds are removed.
 */
/**
 * Copies a warehouse and waits for the copy to reach the disk: the 10,000-model warehouse is
 * 1.7 GB, and the kernel writing a fresh copy back while pipe ran on it made the up-to-date run
 * of it take 15.3 s against 12.4 s on copies synced first (medians of 3, the same hour; its
 * commits and checkpoint wait behind that writeback).
 */
function copyWarehouse(from, to) {
  copyFileSync(from, to);
  const fd = openSync(to, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function builtWarehouse(n) {
  const build = createHash('sha256').update(readFileSync(join(dirname(PIPE), 'cli.cjs'))).digest('hex').slice(0, 10);
  const name = `watch-base-${n}-${DATE}-${build}.duckdb`;
  // The first section of a fresh checkout to need the folder may be this one (--only watch).
  mkdirSync(join(WORK, 'db'), { recursive: true });
  for (const f of readdirSync(join(WORK, 'db'))) if (f.startsWith(`watch-base-${n}-`) && f !== name) rmSync(join(WORK, 'db', f), { force: true });
  const base = join(WORK, 'db', name);
  if (!existsSync(base)) {
    log(`watch: building the ${n}-model warehouse once (pipe run)`);
    const tmp = freshDb(`watch-base-${n}-building`);
    await pipeOk(['run', '--date', DATE, '--project', at(`synthetic-${n}`), '--db', tmp, '--json'], { keepStdout: false });
    // Checkpointed on close: the file alone is the warehouse.
    renameSync(tmp, base);
  }
  const db = freshDb(`watch-${n}`);
  copyWarehouse(base, db);
  return db;
}

/**
 * The model's text with a change that computes the same rows but is a change of its SQL: a
 * comment appended is no change to pipe (see *Data versions* in the README), and its save
 * would be judged current and skipped, timing no build. Each edit `k` differs from the last.
 */
function editedModel(text, k) {
  const head = 'select r0.id, r0.ds, ';
  if (!text.includes(head)) throw new Error(`watch: the model has no "${head}" to edit`);
  return text.replace(head, `${head}${k + 1} * 0 + `);
}

async function benchWatchSize(n, keepOpen) {
  const { spec } = synthetic(n);
  const realDir = join(WORK, `synthetic-${n}`);
  const leaf = spec.models[spec.models.length - 1];
  // The model of the middle layer with the most models downstream: a save that rebuilds a
  // part of the graph.
  const mid = spec.models
    .filter((m) => m.layer === Math.floor(spec.layers / 2))
    .map((m) => ({ m, down: downstreamCount(spec, m.name) }))
    .sort((a, b) => b.down - a.down)[0].m;
  const db = await builtWarehouse(n);
  const child = spawn(process.execPath, [PIPE, 'watch', '--json', '--date', DATE, '--project', at(`synthetic-${n}`), '--db', db, ...(keepOpen ? ['--keep-open'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  const waiters = [];
  let buffer = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => {
    buffer += d;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      const e = { ...JSON.parse(line), at: performance.now() };
      for (const w of [...waiters]) if (w.test(e)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(e); }
    }
  });
  const exited = new Promise((res) => child.on('close', res));
  const next = (type, timeoutMs = 600_000) =>
    new Promise((resolveEvent, reject) => {
      const w = { test: (e) => e.type === type, resolve: (e) => { clearTimeout(timer); resolveEvent(e); } };
      const timer = setTimeout(() => reject(new Error(`watch: no ${type} within ${timeoutMs} ms\n${stderr.slice(-2000)}`)), timeoutMs);
      waiters.push(w);
    });
  const cases = [];
  try {
    log(`watch${keepOpen ? ' --keep-open' : ''}: first build of ${n} models`);
    await next('watch-waiting');
    for (const model of [leaf, mid]) {
      const path = pipeModelPath(realDir, model);
      const original = readFileSync(path, 'utf8');
      const change = [];
      const rebuilt = [];
      let count;
      try {
        for (let k = 0; k < cfg.watchEdits; k++) {
          await new Promise((r) => setTimeout(r, 300)); // let the watcher settle between saves
          const changed = next('watch-change');
          // Whether the saved model itself ran: a save pipe found current (skipped) would time no build.
          let built = false;
          waiters.push({ test: (e) => e.type === 'task-succeeded' && e.task?.model === model.name, resolve: () => (built = true) });
          const finished = next('run-finished');
          const idle = next('watch-waiting');
          const saved = performance.now();
          writeFileSync(path, editedModel(original, k));
          const c = await changed;
          const f = await finished;
          await idle;
          if (f.status !== 'succeeded') throw new Error(`watch rebuild failed: ${JSON.stringify(f)}`);
          if (!built) throw new Error(`watch: the save of ${model.name} built nothing (found current?)`);
          change.push(c.at - saved);
          rebuilt.push(f.at - saved);
          count = c.rebuild.length;
        }
      } finally {
        writeFileSync(path, original);
        await next('watch-waiting').catch(() => undefined);
      }
      cases.push({ model: `${model.name} (layer ${model.layer})`, rebuilt: count, changeMs: median(change), rebuiltMs: median(rebuilt), changeTimes: change, rebuiltTimes: rebuilt });
      log(`  ${n} models${keepOpen ? ', --keep-open' : ''}, ${model.name}: ${count} rebuilt, save → watch-change ${fmtMs(median(change))}, save → rebuilt ${fmtMs(median(rebuilt))}`);
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return { models: n, keepOpen, cases, loadAverage: loadavg() };
}

async function benchAnchors() {
  const anchors = { problems: [], skipped: [], sizes: [], versions: {} };
  results.anchors = anchors;
  // A virtualenv given with --venv is used as it is: nothing is installed into it.
  const tools = await ensureAnchors(opt.venv ? resolve(opt.venv) : join(BENCH, '.venv'), log, { install: !opt.venv });
  anchors.versions = tools.versions;
  anchors.problems.push(...tools.problems);
  if (!tools.dbt && !tools.sqlmesh) {
    anchors.problems.push('no anchor could be installed: the ratios are not measured');
    return;
  }
  let previous;
  for (const n of cfg.sizes) {
    if (previous && previous.slowestMs * (n / previous.models) * 1.2 > cfg.anchorBudgetMs) {
      anchors.skipped.push(
        `${n.toLocaleString('en-US')} models: skipped; at ${previous.models.toLocaleString('en-US')} models the slowest anchor command took ${fmtMs(previous.slowestMs)}, so ${n.toLocaleString('en-US')} would take about ${fmtMs((previous.slowestMs * n) / previous.models)} per repetition`,
      );
      continue;
    }
    log(`anchors: ${n} models`);
    const spec = syntheticSpec({ models: n, date: DATE });
    const { dir } = synthetic(n);
    const dbtDir = join(WORK, `dbt-${n}`);
    const smDir = join(WORK, `sqlmesh-${n}`);
    const reps = n >= 10_000 ? 1 : cfg.anchorReps;
    const row = { models: n, ratios: {} };
    const timed = async (label, fn, reset) => {
      const runs = [];
      for (let i = 0; i < reps; i++) {
        reset?.();
        const r = await fn();
        if (r.code !== 0) {
          anchors.problems.push(`${label} at ${n} models exited with ${r.code}: ${(r.stdout + r.stderr).trim().split('\n').slice(-3).join(' / ')}`);
          return undefined;
        }
        runs.push(r.ms);
      }
      return median(runs);
    };
    const compiled = results.compile.find((c) => c.models === n && c.shape === 'plain');
    row.pipeCompileMs = compiled?.wallMs ?? median((await repeat(reps, () => runChecked(process.execPath, [PIPE, 'compile', '--json', '--date', DATE, '--project', dir, '--db', freshDb('compile')], { keepStdout: false }))).map((r) => r.ms));
    row.pipeRunMs = median(
      (await repeat(reps, () => pipeOk(['run', '--date', DATE, '--project', dir, '--db', freshDb(`anchor-pipe-${n}`), '--json'], { keepStdout: false }))).map((r) => r.ms),
    );
    if (tools.dbt) {
      const dbtDb = join(dbtDir, 'dbt.duckdb');
      writeDbtProject(spec, dbtDir, dbtDb);
      row.dbtParseMs = await timed('dbt parse', () => dbtParse(tools, dbtDir));
      row.dbtCompileMs = await timed('dbt compile', () => dbtCompile(tools, dbtDir), () => rmSync(dbtDb, { force: true }));
      row.dbtBuildMs = await timed('dbt build', () => dbtBuild(tools, dbtDir), () => rmSync(dbtDb, { force: true }));
    }
    if (tools.dbt || tools.sqlmesh) {
      // The realistic template shape, in dbt's syntax: compiled by dbt, and loaded by SQLMesh's dbt loader (SQLMesh's own model format has no such Jinja shape).
      const shaped = join(WORK, `dbt-templated-${n}`);
      writeDbtProject(withTemplateShape(spec), shaped, join(shaped, 'dbt.duckdb'));
      row.realistic = { pipeCompileMs: results.compile.find((c) => c.models === n && c.shape === 'realistic')?.wallMs };
      if (tools.dbt) {
        row.realistic.dbtParseMs = await timed('dbt parse (realistic templates)', () => dbtParse(tools, shaped));
        row.realistic.dbtCompileMs = await timed('dbt compile (realistic templates)', () => dbtCompile(tools, shaped), () => rmSync(join(shaped, 'dbt.duckdb'), { force: true }));
      }
      if (tools.sqlmesh) {
        writeSqlmeshDbtConfig(spec, shaped);
        row.realistic.sqlmeshLoadMs = await timed('SQLMesh load (realistic templates, its dbt loader)', () => sqlmeshLoad(tools, shaped), () => rmSync(join(shaped, '.cache'), { recursive: true, force: true }));
      }
    }
    if (tools.sqlmesh) {
      // Not sqlmesh.duckdb: the file's name is the catalog's, and SQLMesh keeps its state in a schema named sqlmesh.
      const smDb = join(smDir, 'warehouse.duckdb');
      writeSqlmeshProject(spec, smDir, smDb);
      const resetSm = () => {
        rmSync(smDb, { force: true });
        rmSync(`${smDb}.wal`, { force: true });
        rmSync(join(smDir, '.cache'), { recursive: true, force: true });
      };
      row.sqlmeshLoadMs = await timed('SQLMesh load', () => sqlmeshLoad(tools, smDir), () => rmSync(join(smDir, '.cache'), { recursive: true, force: true }));
      row.sqlmeshRunMs = await timed('sqlmesh plan --auto-apply', () => sqlmeshRun(tools, smDir), resetSm);
    }
    const ratio = (a, b) => (a !== undefined && b !== undefined ? a / b : undefined);
    row.ratios = {
      dbtParse: ratio(row.pipeCompileMs, row.dbtParseMs),
      dbtCompile: ratio(row.pipeCompileMs, row.dbtCompileMs),
      sqlmeshLoad: ratio(row.pipeCompileMs, row.sqlmeshLoadMs),
      dbtBuild: ratio(row.pipeRunMs, row.dbtBuildMs),
      sqlmeshRun: ratio(row.pipeRunMs, row.sqlmeshRunMs),
    };
    anchors.sizes.push(row);
    const slowestMs = Math.max(...[row.dbtParseMs, row.dbtCompileMs, row.dbtBuildMs, row.sqlmeshLoadMs, row.sqlmeshRunMs, row.realistic?.dbtCompileMs, row.realistic?.sqlmeshLoadMs].filter((x) => x !== undefined));
    previous = { models: n, slowestMs };
    log(`  pipe compile ${fmtMs(row.pipeCompileMs)} · dbt parse ${fmtMs(row.dbtParseMs)} · dbt compile ${fmtMs(row.dbtCompileMs)} · SQLMesh load ${fmtMs(row.sqlmeshLoadMs)}`);
    log(`  pipe run ${fmtMs(row.pipeRunMs)} · dbt build ${fmtMs(row.dbtBuildMs)} · sqlmesh plan ${fmtMs(row.sqlmeshRunMs)}`);
  }
}

// ---------------------------------------------------------------------------------------
/** The lineage page of the plain synthetic project in headless chromium, served by pipe ui and written by pipe docs generate. */
async function benchUi() {
  const why = await uiUnavailable();
  if (why) {
    notes.push(`The lineage page was not opened in a browser: ${why}.`);
    log(`ui skipped: ${why}`);
    return;
  }
  const n = cfg.uiModels;
  log(`ui: the lineage page of ${n.toLocaleString('en-US')} models in chromium`);
  const { spec, dir } = synthetic(n);
  // Nodes from the start, the middle and the end of the graph: few, many and no readers.
  const focusOn = [0.1, 0.3, 0.5, 0.7, 0.9].map((f) => spec.models[Math.floor(f * n)].name);
  results.ui = await benchLineagePage({ root: ROOT, project: dir, models: n, focusOn, reps: cfg.uiReps, log });
}

// ---------------------------------------------------------------------------------------
function evaluateTargets() {
  const t = [];
  const real = results.compile.find((c) => c.models === 10_000 && c.shape === 'realistic');
  t.push({
    name: 'cold compile of 10,000 models, realistic templates (nothing kept)',
    goal: '< 2 s and < 300 MB peak RSS',
    measured: real ? `${fmtMs(real.wallMs)}, ${fmtMb(real.rssMb)}` : undefined,
    met: real ? real.wallMs < 2000 && real.rssMb < 300 : undefined,
  });
  t.push({
    name: 'warm compile of 10,000 models, realistic templates (templates and renders kept)',
    goal: '< 1 s',
    measured: real ? fmtMs(real.warmMs) : undefined,
    met: real ? real.warmMs < 1000 : undefined,
  });
  const c10k = results.compile.find((c) => c.models === 10_000 && c.shape === 'plain');
  t.push({
    name: 'cold compile of 10,000 models, plain templates',
    goal: '< 2 s and < 400 MB peak RSS',
    measured: c10k ? `${fmtMs(c10k.wallMs)}, ${fmtMb(c10k.rssMb)}` : undefined,
    met: c10k ? c10k.wallMs < 2000 && c10k.rssMb < 400 : undefined,
  });
  const re = [...results.recompile].sort((a, b) => b.models - a.models)[0];
  t.push({
    name: `one-file recompile, in-process${re ? ` (${re.models.toLocaleString('en-US')} models)` : ''}`,
    goal: '< 20 ms',
    measured: re ? fmtMs(re.ms) : undefined,
    met: re ? re.ms < 20 : undefined,
  });
  // From the write of the file to the rebuild's run-finished, less the quiet period watch waits for.
  for (const keepOpen of [false, true]) {
    const watched = [...(results.watch?.sizes ?? [])].filter((s) => Boolean(s.keepOpen) === keepOpen).sort((a, b) => b.models - a.models)[0];
    const leaf = watched?.cases.find((c) => c.rebuilt === 1);
    const afterDebounce = leaf ? leaf.rebuiltMs - results.watch.debounceMs : undefined;
    t.push({
      name: `pipe watch${keepOpen ? ' --keep-open' : ''}, save of a leaf model to rebuilt, after the ${results.watch?.debounceMs ?? 150} ms debounce${watched ? ` (${watched.models.toLocaleString('en-US')} models)` : ''}`,
      goal: '< 100 ms',
      measured: afterDebounce === undefined ? undefined : fmtMs(afterDebounce),
      met: afterDebounce === undefined ? undefined : afterDebounce < 100,
    });
  }
  const run = [...results.run].sort((a, b) => b.models - a.models)[0];
  t.push({
    name: `overhead per trivial model over plain SQL${run ? ` (${run.models.toLocaleString('en-US')} models)` : ''}`,
    goal: '< 1 ms',
    measured: run ? fmtMs(run.overheadPerModelMs) : undefined,
    met: run ? run.overheadPerModelMs < 1 : undefined,
  });
  const r = results.realistic;
  t.push({ name: 'realistic project vs plain SQL', goal: '≤ 1.1×', measured: r ? fmtX(r.ratio) : undefined, met: r ? r.ratio <= 1.1 : undefined });
  const heavy = results.heavyBackfill?.results.find((x) => x.name === 'after p1');
  t.push({
    name: `heavy partitioned backfill vs plain SQL, --parallel 1${results.heavyBackfill ? ` (${results.heavyBackfill.days} dates × ${results.heavyBackfill.rowsPerDay.toLocaleString('en-US')} rows)` : ''}`,
    goal: '≤ 1.05×',
    measured: heavy ? fmtX(heavy.ratio) : undefined,
    met: heavy ? heavy.ratio <= 1.05 : undefined,
  });
  const p4 = results.backfill?.results.find((x) => x.parallel === 4);
  t.push({
    name: 'backfill dates per second, --parallel 4 vs 1',
    goal: '≥ 1.5×',
    measured: p4 ? fmtX(p4.speedup) : undefined,
    met: p4 ? p4.speedup >= 1.5 : undefined,
  });
  const ui = results.ui;
  t.push({
    name: `lineage page${ui ? ` of ${ui.models.toLocaleString('en-US')} models` : ''} drawn in chromium, pipe ui, first load`,
    goal: '< 2 s',
    measured: ui ? `${fmtMs(ui.ui.firstOpenMs)} (median of ${ui.reps} loads ${fmtMs(ui.ui.openMs)})` : undefined,
    met: ui ? ui.ui.firstOpenMs < 2000 : undefined,
  });
  results.targets = t;
}

const steps = [
  ['compile', benchCompile],
  ['run', benchRun],
  ['run', benchUpToDate],
  ['realistic', benchRealistic],
  ['backfill', benchBackfill],
  ['plan', benchBackfillPlan],
  ['heavy', benchHeavyBackfill],
  ['distributed', benchDistributedCase],
  ['watch', benchWatch],
  ['ui', benchUi],
  ['anchors', cfg.anchors ? benchAnchors : undefined],
];
let failed = false;
for (const [name, fn] of steps) {
  if (!sections.has(name)) continue;
  if (!fn) {
    if (name === 'anchors') notes.push(quick ? 'dbt and SQLMesh anchors are not run with --quick.' : 'dbt and SQLMesh anchors were skipped (--no-anchors).');
    continue;
  }
  try {
    await fn();
  } catch (e) {
    failed = true;
    const message = e instanceof Error ? e.message : String(e);
    notes.push(`${name} failed: ${message.split('\n').slice(0, 6).join(' / ')}`);
    log(`${name} failed:\n${message}`);
  }
}
evaluateTargets();
notes.push(
  `Timings come from one machine shared with other work (load average at start ${results.machine.loadAverageAtStart}); medians of ${cfg.compileReps} compiles and ${cfg.runReps} runs.`,
);
results.totalMs = performance.now() - t0;
const md = renderMarkdown(results);
writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(RESULTS, 'latest.md'), md);
console.log(md);
log(`wrote ${relative(process.cwd(), join(RESULTS, 'latest.json'))} and latest.md in ${fmtMs(results.totalMs)}`);
process.exitCode = failed ? 1 : 0;
