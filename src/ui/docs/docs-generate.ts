import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { errnoReason, FolderError, isFileSystemError, makeFolders } from '../../util/folders.js';
import { join, relative, resolve } from 'node:path';
import type { PipeNode } from '../../analyze/analyze.js';
import { resolveInterval, unblocked, type ProjectOptions } from '../../commands/context.js';
import { dateVariables } from '../../dates/dates.js';
import { compile } from '../../commands/inspect.js';
import { DiagnosticError, error, warning, type Diagnostic } from '../../diagnostics/diagnostics.js';
import { relationName } from '../../sql/sql-text.js';
import { PIPE_VERSION } from '../../version.js';
import type { StateSource, UiColumn, UiModel, UiProject } from '../api.js';
import { DOCS_INDEX_FILE, DOCS_MODEL_CALLBACK, DOCS_GLOBAL, docsModelFile, type DocsIndex } from '../docs-format.js';
import { asProblem, checksOf, configOf, columnsOf, descriptionOf, openAnalyzed, uiNode, type Opened } from '../server/project-data.js';
import { BUILT_ASSETS } from '../server/server.js';
import { heldBy, readWarehouse } from '../server/warehouse-access.js';
import { pushTo } from '../../util/multi-map.js';
import { secrets } from '../../secrets/secrets.js';

/**
 * `pipe docs generate`: the lineage and model pages of `pipe ui` as files, to open from disk or
 * put on any static host. The page is the one `pipe ui` serves; the data it would ask the
 * server for is written beside it as scripts (a page opened from file:// may load scripts,
 * not fetch JSON): one index of the graph, loaded at once, and one file per node, loaded when
 * its page is opened, so a project of thousands of models opens as fast as a small one.
 */

/** Where the site is written unless told otherwise: beside the project's other build output, as `dbt docs generate` does. */
export const DEFAULT_DOCS_DIR = 'target/docs';
/** The file that marks a folder as written by pipe docs generate, so that only such a folder is replaced. */
export const DOCS_MARKER = '.pipe-docs';

export interface DocsOptions extends ProjectOptions {
  /** The folder to write; relative to the project (default DEFAULT_DOCS_DIR). */
  readonly out?: string;
  /** The folder of the built page (tests). */
  readonly assets?: string;
}

export interface DocsResult {
  readonly out: string;
  readonly nodes: number;
  readonly columnsFrom: 'warehouse' | 'project';
  readonly warnings: readonly Diagnostic[];
}

export async function docsGenerate(options: DocsOptions): Promise<DocsResult> {
  const opened = openAnalyzed(options);
  // A site is written whole or not at all: a project with errors is refused, as a run is; an
  // error that only stops its own node being built (a Python model, a bad config) is a warning,
  // as for the other commands that build nothing.
  const refused = opened.problems.filter((d) => d.blocks === undefined);
  if (refused.length > 0) throw new DiagnosticError([...refused]);
  const out = resolve(opened.project.root, options.out ?? DEFAULT_DOCS_DIR);
  const assets = options.assets ?? BUILT_ASSETS;
  checkTarget(out, assets);
  const warnings: Diagnostic[] = opened.problems.map(unblocked);
  const compiled = await compileAll(options, warnings);
  const compiledFor = dateVariables(resolveInterval(undefined, options.clock).interval).ds;
  const columns = await warehouseColumns(opened, warnings);
  const source: StateSource = { kind: 'none', why: `These pages were written by pipe docs generate: they show no runs` };
  const nodes = [...opened.analysis.nodes.values()];
  const index: DocsIndex = {
    generated_at: new Date().toISOString(),
    pipe_version: PIPE_VERSION,
    graph: { project: siteProject(opened), source, nodes: nodes.map((n) => uiNode(n, undefined)), problems: [] },
  };
  const downstream = new Map<string, string[]>();
  for (const n of nodes) for (const u of n.upstream) pushTo(downstream, u, n.name);
  const files = new Map<string, string>([
    [DOCS_MARKER, `${JSON.stringify({ pipe_version: PIPE_VERSION, generated_at: index.generated_at })}\n`],
    ['index.html', indexHtml(opened.info.name)],
    // A site to be copied to any host: masked as printed text is (a compiled query holds what env_var() and secret_vars rendered).
    [DOCS_INDEX_FILE, `${DOCS_GLOBAL}=${JSON.stringify(secrets.maskDeep(index))};\n`],
    ...nodes.map((n, i): [string, string] => [docsModelFile(i), `${DOCS_MODEL_CALLBACK}(${i},${JSON.stringify(secrets.maskDeep(modelOf(opened, n, downstream, source, compiled, columns.value, compiledFor)))});\n`]),
  ]);
  try {
    writeSite(out, assets, files);
  } catch (e) {
    // A folder that cannot be made or written: said in words, naming it, as for a warehouse.
    if (e instanceof FolderError) throw new DiagnosticError([error('docs-out', `cannot write the docs to ${out}: ${e.message}`, undefined, { hint: 'pass another --out' })]);
    if (isFileSystemError(e)) throw new DiagnosticError([error('docs-out', `cannot write the docs to ${out}: ${errnoReason(e)}${e.path ? ` (${e.path})` : ''}`, undefined, { hint: 'pass another --out' })]);
    throw e;
  }
  return { out, nodes: nodes.length, columnsFrom: columns.from, warnings };
}

/** Refuses a folder this command did not write, and a page that was never built. */
function checkTarget(out: string, assets: string): void {
  if (!existsSync(join(assets, 'app.js'))) {
    throw new DiagnosticError([error('ui-not-built', `the page of pipe docs is not built: ${join(assets, 'app.js')} is missing (npm run build makes it)`)]);
  }
  if (!existsSync(out)) return;
  let entries: string[];
  try {
    entries = readdirSync(out);
  } catch {
    throw new DiagnosticError([error('docs-out', `${out} is not a folder`, undefined, { hint: 'pass another --out' })]);
  }
  if (entries.length > 0 && !entries.includes(DOCS_MARKER)) {
    throw new DiagnosticError([
      error('docs-out', `${out} is not empty and was not written by pipe docs generate: pipe does not replace it`, undefined, { hint: 'pass an empty or new folder as --out, or remove it' }),
    ]);
  }
}

/**
 * Writes the site over the previous one (files of the same name are replaced, those it no
 * longer has removed) rather than removing the folder first: on a large project, most of the
 * time of writing anew went to deleting the previous files one by one. The marker goes first,
 * so a folder left half written is still known as this command's.
 */
function writeSite(out: string, assets: string, files: ReadonlyMap<string, string>): void {
  makeFolders(join(out, 'data', 'models'));
  writeFileSync(join(out, DOCS_MARKER), files.get(DOCS_MARKER)!);
  // The server's index.html names its files from the root; the site has its own.
  const pageFiles = readdirSync(assets).filter((f) => f !== 'index.html');
  rmSync(join(out, 'assets'), { recursive: true, force: true });
  mkdirSync(join(out, 'assets'));
  for (const f of pageFiles) cpSync(join(assets, f), join(out, 'assets', f));
  for (const [name, text] of files) writeFileSync(join(out, name), text);
  // Whatever else is in the folder (a model's page no longer there, a file put there since) goes: the site is replaced whole.
  const folders = new Set([...files.keys()].flatMap((f) => f.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))));
  const prune = (dir: string, under: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = under === '' ? entry : `${under}/${entry}`;
      if (path === 'assets' || files.has(path)) continue;
      if (folders.has(path)) prune(join(dir, entry), path);
      else rmSync(join(dir, entry), { recursive: true, force: true });
    }
  };
  prune(out, '');
}

function indexHtml(project: string): string {
  const title = `${project} · pipe docs`.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${title}</title>
    <link rel="stylesheet" href="assets/style.css" />
  </head>
  <body>
    <div id="app"></div>
    <script src="${DOCS_INDEX_FILE}"></script>
    <script src="assets/app.js"></script>
  </body>
</html>
`;
}

type Compiled = ReadonlyMap<string, { sql: string } | { problem: string }> | { problem: string };

/** Every model's query for the default date, compiled at once (one model at a time would analyze the project again for each). */
async function compileAll(options: ProjectOptions, warnings: Diagnostic[]): Promise<Compiled> {
  try {
    const { models, warnings: w } = await compile({ ...options });
    warnings.push(...w);
    return new Map(models.map((m) => [m.model, { sql: m.sql }]));
  } catch (e) {
    const problem = asProblem(e).message;
    warnings.push(warning('docs-not-compiled', `the models are shown without their compiled SQL: ${problem}`));
    return { problem };
  }
}

/** Each built relation's columns, read in one query from the warehouse opened read-only; none when it cannot be read. */
async function warehouseColumns(opened: Opened, warnings: Diagnostic[]): Promise<{ from: 'warehouse' | 'project'; value: ReadonlyMap<string, UiColumn[]> }> {
  const { at } = opened;
  const read = await readWarehouse(at.warehouse, at.setup, async (session) => {
    const table = await session.table(
      'SELECT table_catalog, table_schema, table_name, column_name, data_type FROM information_schema.columns ORDER BY table_catalog, table_schema, table_name, ordinal_position',
    );
    const byRelation = new Map<string, UiColumn[]>();
    for (const [catalog, schema, name, column, type] of table.rows as string[][]) {
      const columns: UiColumn[] = byRelation.get(relationName(catalog, schema, name)) ?? [];
      columns.push({ name: column, type });
      byRelation.set(relationName(catalog, schema, name), columns);
      byRelation.set(relationName(schema, name), columns);
    }
    return byRelation;
  });
  switch (read.kind) {
    case 'read':
      return { from: 'warehouse', value: read.value };
    case 'held':
      warnings.push(warning('warehouse-locked', `the warehouse is in use (${heldBy(read.locked)}): columns are shown as the project declares them`));
      return { from: 'project', value: new Map() };
    case 'empty':
      return { from: 'project', value: new Map() };
    default: {
      const never: never = read;
      throw new Error(`internal error: read ${JSON.stringify(never)}`);
    }
  }
}

/** The project as a site tells it: its paths relative to the project, since the site is read elsewhere (no one's home folder on a host). */
function siteProject(opened: Opened): UiProject {
  return { name: opened.info.name, root: '.', warehouse: relative(opened.project.root, opened.info.warehouse) || opened.info.warehouse };
}

function modelOf(
  opened: Opened,
  n: PipeNode,
  downstream: ReadonlyMap<string, string[]>,
  source: StateSource,
  compiled: Compiled,
  columns: ReadonlyMap<string, UiColumn[]>,
  /** The date the SQL is compiled for (the default run date as the site is written). */
  compiledFor: string,
): UiModel {
  const { analysis, project } = opened;
  const built = columns.get(n.relation);
  return {
    project: siteProject(opened),
    source,
    node: uiNode(n, undefined),
    relation: n.relation,
    downstream: downstream.get(n.name) ?? [],
    source_sql: n.kind === 'model' ? readFileSync(resolve(project.root, n.file), 'utf8') : null,
    compiled: n.kind !== 'model' ? { problem: `a ${n.kind} has no query of its own` } : compiled instanceof Map ? (compiled.get(n.name) ?? { problem: 'not compiled' }) : (compiled as { problem: string }),
    compiled_for: compiledFor,
    config: configOf(n),
    checks: checksOf(analysis, n),
    description: descriptionOf(n),
    columns: columnsOf(n, built),
    columns_from: built ? 'warehouse' : 'project',
    tasks: [],
  };
}
