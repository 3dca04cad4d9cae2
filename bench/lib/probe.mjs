/**
 * Runs pipe's own analysis and planning code (from dist/) inside a child process, so each
 * measurement starts from a fresh process and its memory is its own. Prints one JSON object.
 *
 *   node probe.mjs compile   --project P --date D
 *       load + analyze + the plan of every model's final SQL, phase by phase (what `pipe compile`
 *       does on an empty warehouse)
 *   node probe.mjs recompile --project P --date D --file models/x.sql --reps K
 *       one-file re-analysis as watch mode does it: CachedFs + AnalysisCache, one file changed
 *   node probe.mjs plan      --project P --date D --db W --out statements.json
 *       the statements `pipe run` would execute on the warehouse W (absent = a first run)
 *   node probe.mjs plain     --project P --date D --db W --out statements.json
 *       the plain SQL a user would write for the same models without pipe: CREATE OR REPLACE
 *       TABLE/VIEW … AS for tables, views and seeds; for a partitioned model, its table created
 *       once from the query's shape, then per date DELETE of the date and INSERT … SELECT in
 *       one transaction
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const started = performance.now();
const dist = new URL('../../dist/', import.meta.url);
const load = (p) => import(new URL(p, dist).href);
const [{ analyzeAndSelect, resolveInterval }, { openProject }, { AnalysisCache }, { CachedFs }, { downstreamClosure }, { planRun }, { Catalog }] = await Promise.all([
  load('commands/context.js'),
  load('commands/open-project.js'),
  load('analyze/analyze.js'),
  load('project/project-fs.js'),
  load('graph/graph.js'),
  load('plan/plan.js'),
  load('warehouse/run-state.js'),
]);
const importMs = performance.now() - started;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    project: { type: 'string' },
    date: { type: 'string' },
    file: { type: 'string' },
    reps: { type: 'string', default: '10' },
    db: { type: 'string' },
    out: { type: 'string' },
  },
});
const mode = positionals[0];
const project = values.project;
const { interval } = resolveInterval(values.date);
const maxRssMb = () => process.resourceUsage().maxRSS / 1024;

function lap(fn) {
  const t = performance.now();
  const value = fn();
  return [value, performance.now() - t];
}

if (mode === 'compile') {
  const [opened, loadMs] = lap(() => openProject({ project }));
  const [{ analysis, selected }, analyzeMs] = lap(() => analyzeAndSelect(opened.files, { interval, existingRelations: new Set(), validated: opened }));
  const [count, sqlMs] = lap(() => {
    const ctx = { analysis, selected, catalog: new Catalog(), seedHashes: new Map(), fullRefresh: false, runId: 'bench' };
    const plan = planRun(ctx, interval);
    const problems = plan.diagnostics.filter((d) => d.severity === 'error');
    if (problems.length > 0) throw new Error(problems.map((d) => d.message).join('\n'));
    return plan.tasks.filter((t) => analysis.nodes.get(t.node).kind === 'model').length;
  });
  console.log(JSON.stringify({ models: count, importMs, loadMs, analyzeMs, sqlMs, totalMs: performance.now() - started, maxRssMb: maxRssMb() }));
} else if (mode === 'recompile') {
  // Exactly the steps of a watch cycle before building: reload through the cache, re-analyze
  // with the cache, find what to rebuild.
  const fs = new CachedFs();
  const cache = new AnalysisCache();
  const path = resolve(project, values.file);
  const name = path.split('/').pop().replace(/\.sql$/, '');
  const cycle = () => {
    const opened = openProject({ project }, fs);
    const { analysis, selected } = analyzeAndSelect(opened.files, { interval, existingRelations: new Set(), validated: opened }, cache);
    const rebuild = [...downstreamClosure(analysis.graph, [name])].filter((n) => selected.has(n));
    return { models: analysis.nodes.size, rebuild: rebuild.length };
  };
  const [first, firstMs] = lap(cycle);
  const original = readFileSync(path, 'utf8');
  const times = [];
  let last = first;
  try {
    for (let k = 0; k < Number(values.reps); k++) {
      // A save that changes the model's SQL, as an edit would.
      appendFileSync(path, `-- edit ${k}\n`);
      fs.update(path, 'change');
      const [r, ms] = lap(cycle);
      times.push(ms);
      last = r;
    }
  } finally {
    writeFileSync(path, original);
  }
  console.log(JSON.stringify({ models: first.models, rebuild: last.rebuild, coldMs: firstMs, times, maxRssMb: maxRssMb() }));
} else if (mode === 'plan') {
  const [{ prepare, planContext }, { planRun }] = await Promise.all([load('commands/lifecycle.js'), load('plan/plan.js')]);
  // Read-only preparation reads the catalog and seed hashes as `pipe run` would, and writes nothing.
  const prepared = await prepare({ project, db: values.db, interval, access: 'read' });
  prepared.warehouse?.close();
  const plan = planRun(planContext(prepared, 'bench'), interval);
  if (plan.diagnostics.some((d) => d.severity === 'error')) throw new Error(plan.diagnostics.map((d) => d.message).join('\n'));
  const statements = [...new Set(plan.tasks.map((t) => t.schema))].map((s) => `CREATE SCHEMA IF NOT EXISTS "${s}"`);
  const queries = new Set();
  for (const task of plan.tasks) {
    if (task.upToDate !== undefined) continue;
    for (const step of task.steps) {
      switch (step.kind) {
        case 'statement':
          statements.push(step.sql);
          break;
        case 'assert-empty':
          // pipe reads this query's rows; the baseline does too.
          queries.add(statements.length);
          statements.push(step.sql);
          break;
        case 'publish':
          // The data statements of the publishing transaction, without pipe's own state records.
          statements.push('BEGIN TRANSACTION', ...step.statements, 'COMMIT');
          break;
        case 'cleanup':
          break; // runs only after a failure
        case 'schema-change':
          // Compares the staged columns with the target table's; on an empty warehouse there
          // is no table yet and nothing to alter. The comparison itself is pipe's overhead.
          if (prepared.catalog.has(typeof step.target === 'string' ? step.target : step.target.relation)) {
            throw new Error('the bench plans first runs only (an empty warehouse)');
          }
          break;
        default:
          throw new Error(`the bench does not handle ${step.kind} steps (checks): use projects without checks`);
      }
    }
  }
  writeFileSync(values.out, JSON.stringify({ tasks: plan.tasks.length, statements, queries: [...queries] }));
  console.log(JSON.stringify({ tasks: plan.tasks.length, statements: statements.length }));
} else if (mode === 'plain') {
  const [{ prepare, planContext }, { planRun }, { perInterval }] = await Promise.all([load('commands/lifecycle.js'), load('plan/plan.js'), load('plan/materializations.js')]);
  const prepared = await prepare({ project, db: values.db, interval, access: 'read' });
  prepared.warehouse?.close();
  const plan = planRun(planContext(prepared, 'bench'), interval);
  if (plan.diagnostics.some((d) => d.severity === 'error')) throw new Error(plan.diagnostics.map((d) => d.message).join('\n'));
  const statements = [...new Set(plan.tasks.map((t) => t.schema))].map((s) => `CREATE SCHEMA IF NOT EXISTS "${s}"`);
  const iso = (ms) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
  for (const task of plan.tasks) {
    if (task.upToDate !== undefined || task.noop !== undefined) continue;
    const node = prepared.analysis.nodes.get(task.node);
    const intervals = node && node.kind === 'model' ? perInterval(node.config) : undefined;
    if (task.kind === 'seed' || task.kind === 'table') statements.push(`CREATE OR REPLACE TABLE ${task.relation} AS\n${task.sql}`);
    else if (task.kind === 'view') statements.push(`CREATE OR REPLACE VIEW ${task.relation} AS\n${task.sql}`);
    else if (intervals && task.interval) {
      const column = `"${intervals.partitionBy(node.config)}"`;
      statements.push(
        `CREATE TABLE IF NOT EXISTS ${task.relation} AS SELECT * FROM (\n${task.sql}\n) LIMIT 0`,
        'BEGIN TRANSACTION',
        // As a user writes it: the literals take the column's type, so DuckDB skips other dates' row groups.
        `DELETE FROM ${task.relation} WHERE ${column} >= '${iso(task.interval.start)}' AND ${column} < '${iso(task.interval.end)}'`,
        `INSERT INTO ${task.relation} BY NAME\n${task.sql}`,
        'COMMIT',
      );
    } else throw new Error(`the plain baseline does not write ${task.kind} models`);
  }
  writeFileSync(values.out, JSON.stringify({ tasks: plan.tasks.length, statements, queries: [] }));
  console.log(JSON.stringify({ tasks: plan.tasks.length, statements: statements.length }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
