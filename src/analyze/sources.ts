import type { ColumnProperties } from './dbt/properties.js';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { error, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import { didYouMean } from '../diagnostics/suggest.js';
import { quoteIdent, quoteLiteral, relationName } from '../sql/sql-text.js';
import type { Freshness, SourceGraphFields, SourceTable } from './dbt/properties.js';

/**
 * dbt sources: tables pipe reads and never builds, declared under `sources:` in properties
 * files. Each enabled source table is a node of the graph (lineage and selection see it), and
 * `source('src', 'table')` renders what it reads: its relation, or, with dbt-duckdb's
 * `external_location`, a file or a table function.
 */

/** What a source reads, for the checks before a run. */
export type SourceRead =
  | {
      readonly kind: 'relation';
      /** An attached database; absent: the warehouse itself. */
      readonly database?: string;
      readonly schema: string;
      readonly identifier: string;
    }
  | {
      readonly kind: 'external';
      /** The location as the properties file gives it, placeholders filled in. */
      readonly location: string;
      /** The local files it names (absolute, no glob, no URL): each must exist before a run. */
      readonly files: readonly string[];
      /** The local glob patterns it names (absolute, as DuckDB reads them): each must match a file before a run. */
      readonly globs: readonly string[];
      /** Where its properties place it, as dbt's node names it (`graph.sources`): its schema (the source's name by default) and identifier, and a database when given. */
      readonly schema: string;
      readonly identifier: string;
      readonly database?: string;
    };

export interface SourceNode {
  readonly kind: 'source';
  /** `src.table`: its name in selection, lineage and diagnostics. */
  readonly name: string;
  readonly source: string;
  readonly table: string;
  /** The properties file that declares it. */
  readonly file: string;
  /** Its table's entry in that file. */
  readonly location: Location;
  /** What `source()` renders: `"schema"."identifier"`, `"database"."schema"."identifier"`, `'/path/file.parquet'` or a call. */
  readonly relation: string;
  readonly reads: SourceRead;
  readonly tags: readonly string[];
  /** dbt's qualified name of a source table: project, source, table. */
  readonly fqn: readonly string[];
  /** Empty, or the seed that loads the table it reads (`loadedBy`). */
  readonly upstream: readonly string[];
  /** The project's seed whose table this source reads: it is loaded before what reads the source. */
  readonly loadedBy?: string;
  readonly loadedAtField?: string;
  /**
   * A query whose result changes when the table's data does (`version_query:` in its `meta:`
   * or `config:`): its fingerprint instead of a scan of its rows (see state/source-fingerprint.ts).
   */
  readonly versionQuery?: string;
  readonly freshness?: Freshness;
  /** The table's and the source's descriptions, its loader and its columns, as its properties give them (for graph.sources and docs). */
  readonly description?: string;
  readonly sourceDescription?: string;
  readonly loader?: string;
  readonly columns: readonly ColumnProperties[];
  /** dbt's `event_time`: a microbatch model that reads the table reads the rows of its batch. */
  readonly eventTime?: string;
  /** What graph.sources gives of it beside the above (properties.ts's SourceGraphFields). */
  readonly graph?: SourceGraphFields;
}

/** `src.table`, the name `source('src', 'table')` reads. */
export const sourceName = (source: string, table: string) => `${source}.${table}`;

/** A `source('src', 'table')` call of a template. */
export interface SourceCall {
  readonly source: string;
  readonly table: string;
}

/** Records a call (once) and gives what the template renders for now: the ref token of its node (see analyze.ts). */
export function recordSource(calls: SourceCall[], source: string, table: string, token: (name: string) => string): string {
  if (!calls.some((c) => c.source === source && c.table === table)) calls.push({ source, table });
  return token(sourceName(source, table));
}

/**
 * Why a `source()` call at `at` reads nothing: no such source, no such table of it (with the
 * name it probably meant), or a table switched off with `enabled: false`.
 */
export function sourceCallProblem(
  call: SourceCall,
  at: Location,
  nodes: ReadonlyMap<string, { readonly kind: string }>,
  disabled: ReadonlyMap<string, Location>,
): Diagnostic | undefined {
  const name = sourceName(call.source, call.table);
  if (nodes.get(name)?.kind === 'source') return undefined;
  const text = `source('${call.source}', '${call.table}')`;
  const off = disabled.get(name);
  if (off) {
    return error('disabled-source', `${text}: ${name} is disabled (enabled: false)`, at, {
      related: [{ message: 'disabled here', location: off }],
      hint: `enable ${name} again, or stop reading it`,
    });
  }
  const declared = [...nodes.values()].filter((n): n is SourceNode => n.kind === 'source');
  const tables = declared.filter((n) => n.source === call.source).map((n) => n.table);
  if (tables.length > 0) {
    return error('unknown-source', `${text}: source '${call.source}' has no table '${call.table}'`, at, {
      hint: didYouMean(call.table, tables) ?? `its tables: ${tables.join(', ')}`,
    });
  }
  const sources = [...new Set(declared.map((n) => n.source))];
  return error('unknown-source', `${text}: no source is named '${call.source}'`, at, {
    hint:
      didYouMean(call.source, sources) ??
      (sources.length > 0 ? `sources: ${sources.join(', ')}` : 'declare it under sources: in a properties file (a .yml file among the models)'),
  });
}

/**
 * A source table whose database, schema, identifier, `external_location` or `meta:` texts are
 * templates (`schema: "{{ var('intercom_schema', 'intercom') }}"`, as Fivetran's packages write
 * them; `external_location: "read_json('{{ env_var('DATA') }}/a_*.json')"`) with those rendered,
 * as dbt renders properties files before dbt-duckdb formats the location: by `render`, with the
 * vars of the package that declares it.
 */
export function renderedPlace(t: SourceTable, render: (text: string, location: Location) => unknown): SourceTable {
  const templated = (v: unknown): v is string => typeof v === 'string' && (v.includes('{{') || v.includes('{%'));
  const one = (v: string | undefined, key: 'database' | 'schema' | 'identifier') => (templated(v) ? String(render(v, t.placeAt?.[key] ?? t.location)) : v);
  const [database, schema, identifier] = [one(t.database, 'database'), one(t.schema, 'schema'), one(t.identifier, 'identifier')];
  const externalLocation = templated(t.externalLocation) ? String(render(t.externalLocation, t.externalLocationAt ?? t.location)) : t.externalLocation;
  const metaKeys = Object.keys(t.meta).filter((k) => templated(t.meta[k]));
  // A single expression keeps its type, as dbt's native rendering of YAML does (`{{ 5 }}` is 5).
  // The location given in meta: rendered once, above (its error said once, at its line).
  const renderMeta = (k: string) => (k === 'external_location' && t.meta[k] === t.externalLocation ? externalLocation : render(t.meta[k] as string, t.location));
  const meta = metaKeys.length === 0 ? t.meta : { ...t.meta, ...Object.fromEntries(metaKeys.map((k) => [k, renderMeta(k)])) };
  if (database === t.database && schema === t.schema && identifier === t.identifier && externalLocation === t.externalLocation && meta === t.meta) return t;
  return { ...t, database, schema: schema!, identifier: identifier!, ...(externalLocation === undefined ? {} : { externalLocation }), meta };
}

/**
 * The node of an enabled source table, named from the project or package (`packageName`)
 * whose properties file declares it. A problem with its `external_location` is reported at
 * the table's entry; the node is made all the same, so that a model reading it is not told
 * the source is unknown as well.
 */
export function sourceNode(t: SourceTable, packageName: string, root: string, ownRelation: (schema: string, name: string) => string, diagnostics: Diagnostic[]): SourceNode {
  const base = {
    kind: 'source' as const,
    name: t.name,
    source: t.source,
    table: t.table,
    file: t.location.file,
    location: t.location,
    tags: t.tags,
    fqn: t.fqn ?? [packageName, t.source, t.table],
    upstream: [],
    loadedAtField: t.loadedAtField,
    ...(typeof t.meta.version_query === 'string' ? { versionQuery: t.meta.version_query } : {}),
    ...(t.eventTime === undefined ? {} : { eventTime: t.eventTime }),
    freshness: t.freshness,
    graph: t.graph,
    ...(t.description === undefined ? {} : { description: t.description }),
    ...(t.sourceDescription === undefined ? {} : { sourceDescription: t.sourceDescription }),
    ...(t.loader === undefined ? {} : { loader: t.loader }),
    columns: t.columns,
  };
  const asTable = (): SourceNode => ({
    ...base,
    relation: t.database === undefined ? ownRelation(t.schema, t.identifier) : relationName(t.database, t.schema, t.identifier),
    reads: { kind: 'relation', database: t.database, schema: t.schema, identifier: t.identifier },
  });
  const problem = (message: string, hint?: string) => {
    diagnostics.push(error('bad-source', `source ${t.name}: ${message}`, t.location, hint ? { hint } : undefined));
    return asTable();
  };
  if (t.meta.version_query !== undefined && typeof t.meta.version_query !== 'string') {
    return problem('version_query must be text: a query whose result changes when the data does', 'e.g. version_query: select max(updated_at) from raw.orders');
  }
  if (t.meta.plugin !== undefined) {
    return problem(`dbt-duckdb source plugins (plugin: ${String(t.meta.plugin)}) are not supported`, 'load the data into a table of the warehouse, or read the file with external_location');
  }
  if (t.externalLocation === undefined) {
    if (t.meta.external_location !== undefined) return problem('external_location must be text: a file path or a call such as read_parquet(...)');
    return asTable();
  }
  const values: Record<string, unknown> = { name: t.table, identifier: t.identifier, schema: t.schema, database: t.database ?? null, tags: t.tags, ...t.meta };
  const formatter = t.meta.formatter ?? 'newstyle';
  if (formatter !== 'newstyle' && formatter !== 'oldstyle' && formatter !== 'template') {
    return problem(`formatter must be newstyle, oldstyle or template, got ${JSON.stringify(formatter)}`);
  }
  const formatted = formatLocation(t.externalLocation, formatter, values);
  if (typeof formatted !== 'string') return problem(`external_location '${t.externalLocation}': ${formatted.problem}`, placeholderHint(formatter, values));
  const { expression, files, globs } = externalExpression(formatted, root);
  return { ...base, relation: expression, reads: { kind: 'external', location: formatted, files, globs, schema: t.schema, identifier: t.identifier, ...(t.database === undefined ? {} : { database: t.database }) } };
}

function placeholderHint(formatter: Formatter, values: Record<string, unknown>): string {
  const names = Object.keys(values).filter((k) => k !== 'external_location');
  const show = (k: string) => (formatter === 'newstyle' ? `{${k}}` : formatter === 'oldstyle' ? `%(${k})s` : `\${${k}}`);
  return `placeholders (${formatter}): ${names.map(show).join(', ')}; the keys of the source's and the table's meta: and config: count too`;
}

type Formatter = 'newstyle' | 'oldstyle' | 'template';

/** A value as Python's str() writes it, which dbt-duckdb formats with. */
function pythonText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (v === null) return 'None';
  if (Array.isArray(v)) {
    const items = v.map((x) => (typeof x === 'string' ? `'${x}'` : pythonText(x)));
    return items.every((x) => x !== undefined) ? `[${items.join(', ')}]` : undefined;
  }
  return undefined;
}

/**
 * `external_location` with its placeholders filled in, as dbt-duckdb formats it: Python's
 * `str.format_map` (newstyle, `{name}`, `{{` for a brace), `%` (oldstyle, `%(name)s`) or
 * `string.Template` (template, `$name` or `${name}`, `$$` for a dollar).
 */
export function formatLocation(text: string, formatter: Formatter, values: Readonly<Record<string, unknown>>): string | { problem: string } {
  const value = (key: string, written: string): string | { problem: string } => {
    if (!Object.hasOwn(values, key)) return { problem: `${written} names '${key}', which the source does not have` };
    const v = pythonText(values[key]);
    return v ?? { problem: `${written}: '${key}' is not a text or a number` };
  };
  const patterns: Record<Formatter, RegExp> = {
    newstyle: /\{\{|\}\}|\{([^{}]*)\}|[{}]/g,
    oldstyle: /%%|%\(([^)]*)\)s|%/g,
    template: /\$\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)|\$/g,
  };
  let out = '';
  let at = 0;
  for (const m of text.matchAll(patterns[formatter])) {
    out += text.slice(at, m.index);
    at = m.index + m[0].length;
    if (m[0] === '{{' || m[0] === '}}' || m[0] === '%%' || m[0] === '$$') {
      out += m[0][0];
      continue;
    }
    const key = m[1] ?? m[2];
    if (key === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      const how = { newstyle: "'{name}' (a brace itself is '{{' or '}}')", oldstyle: "'%(name)s' (a percent sign itself is '%%')", template: "'$name' or '${name}' (a dollar sign itself is '$$')" };
      return { problem: `'${m[0]}' at character ${m.index + 1} is not a placeholder: write ${how[formatter]}` };
    }
    const v = value(key, m[0]);
    if (typeof v !== 'string') return v;
    out += v;
  }
  return out + text.slice(at);
}

const URL_RE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const GLOB_RE = /[*?[]/;

/** A path as the location names it, read from the project folder when relative; and the local file to find before a run, if it is one. */
function fromRoot(path: string, root: string): { path: string; file?: string; glob?: string } {
  if (URL_RE.test(path)) return { path };
  // DuckDB reads `~` as the home folder.
  const home = path === '~' || path.startsWith('~/');
  const absolute = home ? path : isAbsolute(path) ? path : resolve(root, path);
  const local = home ? homedir() + path.slice(1) : absolute;
  return GLOB_RE.test(path) ? { path: absolute, glob: local } : { path: absolute, file: local };
}

const LITERAL = String.raw`'(?:[^']|'')*'`;
/**
 * A path as a call's argument: a string, or a name in double quotes, which DuckDB reads as a
 * string there (`read_parquet("data/x.parquet")`: a table function's arguments have no columns
 * in scope to name).
 */
const PATH_ARG = String.raw`(?:${LITERAL}|"(?:[^"]|"")*")`;
/** A call's name and its first argument when that is a string or a list of strings: `read_parquet('x'` or `read_csv(['a', 'b']`. */
const CALL_RE = new RegExp(String.raw`^(\s*[A-Za-z_][A-Za-z0-9_.]*\s*\(\s*)(${PATH_ARG}|\[\s*${PATH_ARG}(?:\s*,\s*${PATH_ARG})*\s*\])`);

/** The text of a string literal, or of a name in double quotes. */
const unquote = (quoted: string) => quoted.slice(1, -1).replaceAll(quoted[0] + quoted[0], quoted[0]);

/** The column DuckDB's `filename` option of a file read adds (`filename = true`, or `filename = 'name'`), if the call's other arguments set it. */
function filenameColumn(args: string): string | undefined {
  const m = new RegExp(String.raw`\bfilename\s*:?=\s*(?:(true|1)\b|(${LITERAL}))`, 'i').exec(args);
  if (!m) return undefined;
  return m[1] !== undefined ? 'filename' : unquote(m[2]);
}

/**
 * What `source()` renders for an external location, as dbt-duckdb does: text with `(` (a call
 * such as `read_parquet('...')`) as it is, other text as a quoted path DuckDB reads. Relative
 * paths are made absolute from the project folder, so that a run reads the same files from any
 * working directory: the path itself, or the paths of a call's first argument.
 */
export function externalExpression(location: string, root: string): { expression: string; files: string[]; globs: string[] } {
  const files: string[] = [];
  const globs: string[] = [];
  /** `asWritten`: a relative path kept as written after the project folder, not normalized (see below). */
  const literal = (text: string, asWritten = false) => {
    const p = fromRoot(text, root);
    if (p.file !== undefined) files.push(p.file);
    if (p.glob !== undefined) globs.push(p.glob);
    return quoteLiteral(asWritten ? prefix + text : p.path);
  };
  const prefix = root.endsWith('/') ? root : `${root}/`;
  if (location.includes('(')) {
    const call = CALL_RE.exec(location);
    if (!call) return { expression: location, files, globs };
    const rest = location.slice(call[0].length);
    const column = filenameColumn(rest);
    let relative = false;
    const args = call[2].replace(new RegExp(PATH_ARG, 'g'), (l) => {
      const text = unquote(l);
      if (column === undefined || URL_RE.test(text) || text === '~' || text.startsWith('~/') || isAbsolute(text)) return literal(text);
      // The path as written after the project folder, not normalized: DuckDB's filename
      // column then holds the folder and the text as written, and the folder is taken off.
      relative = true;
      return literal(text, true);
    });
    const expression = call[1] + args + rest;
    if (column === undefined || !relative) return { expression, files, globs };
    // A relative path's filename column holds the path as written, as where DuckDB runs in the
    // project folder (dbt-duckdb's): the table must not depend on where the project is checked out.
    const c = quoteIdent(column);
    // DuckDB counts characters (code points), not UTF-16 units.
    const written = `case when starts_with(${c}, ${quoteLiteral(prefix)}) then substr(${c}, ${[...prefix].length + 1}) else ${c} end`;
    return { expression: `(select * replace (${written} as ${c}) from ${expression})`, files, globs };
  }
  // dbt-duckdb leaves a location that is quoted already as it is.
  const quoted = location.trim();
  if (quoted.startsWith("'")) {
    return new RegExp(`^${LITERAL}$`).test(quoted) ? { expression: literal(unquote(quoted)), files, globs } : { expression: location, files, globs };
  }
  return { expression: literal(location), files, globs };
}
