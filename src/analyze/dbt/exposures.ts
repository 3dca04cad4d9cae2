import { error, type Diagnostic, type Location } from '../../diagnostics/diagnostics.js';

/**
 * dbt's exposures (`exposures:` of a properties file): what uses the project's models
 * downstream (a dashboard, an application), with what it depends on. pipe builds nothing for
 * them: `--select +exposure:name` selects what one depends on, and templates find them in
 * `graph.exposures`.
 */

export interface ExposureSpec {
  readonly name: string;
  readonly type: string;
  readonly description: string;
  readonly label?: string;
  readonly maturity?: string;
  readonly url?: string;
  readonly owner: { readonly name?: string; readonly email?: string };
  readonly meta: Readonly<Record<string, unknown>>;
  readonly tags: readonly string[];
  /** What it depends on, as written: `ref('orders')` (with a package or version), `source('raw', 'orders')`. */
  readonly dependsOn: readonly { readonly call: DependsOnCall; readonly location: Location }[];
  readonly location: Location;
}

export type DependsOnCall =
  | { readonly kind: 'ref'; readonly name: string; readonly package?: string; readonly version?: string }
  | { readonly kind: 'source'; readonly source: string; readonly table: string }
  /** A metric, a semantic model or a saved query: pipe has none, so it adds nothing. */
  | { readonly kind: 'other' };

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
const TYPES = ['dashboard', 'notebook', 'analysis', 'ml', 'application'];

const REF = /^\s*ref\s*\(\s*(['"])([^'"]+)\1\s*(?:,\s*(['"])([^'"]+)\3\s*)?(?:,\s*(?:v|version)\s*=\s*(?:(['"])([^'"]*)\5|([\w.]+))\s*)?\)\s*$/;
const SOURCE = /^\s*source\s*\(\s*(['"])([^'"]+)\1\s*,\s*(['"])([^'"]+)\3\s*\)\s*$/;
const OTHER = /^\s*(?:metric|semantic_model|saved_query)\s*\(/;

/** The exposures under one properties file's `exposures:`; every problem is reported at its line. */
export function readExposures(list: readonly unknown[], at: (path: (string | number)[]) => Location, diagnostics: Diagnostic[]): ExposureSpec[] {
  const out: ExposureSpec[] = [];
  list.forEach((entry, i) => {
    const path = ['exposures', i];
    if (!isMapping(entry) || typeof entry.name !== 'string' || entry.name === '') {
      diagnostics.push(error('bad-properties', 'each exposure needs a name:', at(path)));
      return;
    }
    const name = entry.name;
    const type = text(entry.type);
    if (type === undefined || !TYPES.includes(type)) {
      diagnostics.push(error('bad-properties', `exposure ${name} needs a type: one of ${TYPES.join(', ')}`, at([...path, 'type'])));
      return;
    }
    const dependsOn: ExposureSpec['dependsOn'][number][] = [];
    const deps = entry.depends_on ?? [];
    (Array.isArray(deps) ? deps : [deps]).forEach((d, j) => {
      const location = at([...path, 'depends_on', j]);
      const call = typeof d === 'string' ? dependsOnCall(d) : undefined;
      if (call) dependsOn.push({ call, location });
      else diagnostics.push(error('bad-properties', `exposure ${name}: depends_on holds ref('model'), source('source', 'table') or metric('name'), got ${JSON.stringify(d)}`, location));
    });
    const owner = isMapping(entry.owner) ? entry.owner : {};
    const config = isMapping(entry.config) ? entry.config : {};
    const tags = entry.tags ?? config.tags ?? [];
    out.push({
      name,
      type,
      description: text(entry.description) ?? '',
      ...(text(entry.label) === undefined ? {} : { label: text(entry.label) }),
      ...(text(entry.maturity) === undefined ? {} : { maturity: text(entry.maturity) }),
      ...(text(entry.url) === undefined ? {} : { url: text(entry.url) }),
      owner: { ...(text(owner.name) === undefined ? {} : { name: text(owner.name) }), ...(text(owner.email) === undefined ? {} : { email: text(owner.email) }) },
      meta: isMapping(entry.meta) ? entry.meta : isMapping(config.meta) ? config.meta : {},
      tags: (Array.isArray(tags) ? tags : [tags]).filter((t): t is string => typeof t === 'string'),
      dependsOn,
      location: at(path),
    });
  });
  return out;
}

function dependsOnCall(s: string): DependsOnCall | undefined {
  const ref = REF.exec(s);
  if (ref) {
    const [name, pkg] = ref[4] === undefined ? [ref[2], undefined] : [ref[4], ref[2]];
    const version = ref[6] ?? ref[7];
    return { kind: 'ref', name, ...(pkg === undefined ? {} : { package: pkg }), ...(version === undefined ? {} : { version }) };
  }
  const source = SOURCE.exec(s);
  if (source) return { kind: 'source', source: source[2], table: source[4] };
  return OTHER.test(s) ? { kind: 'other' } : undefined;
}

/** An exposure with the nodes of the graph it depends on (models, seeds, source tables). */
export interface Exposure extends ExposureSpec {
  readonly nodes: readonly string[];
}

/**
 * Each exposure's depends_on as nodes of the graph: `ref('m')` (`m`'s latest version, or the
 * one `v=` names) and `source('s', 't')`; one that names nothing is an error at its line, as
 * dbt refuses it.
 */
export function resolveExposures(
  specs: readonly ExposureSpec[],
  target: (name: string, version: string | undefined) => string | { readonly problem: string },
  node: (name: string) => 'model' | 'source' | undefined,
  diagnostics: Diagnostic[],
): ReadonlyMap<string, Exposure> {
  const out = new Map<string, Exposure>();
  for (const e of specs) {
    const nodes: string[] = [];
    for (const { call, location } of e.dependsOn) {
      if (call.kind === 'other') continue;
      if (call.kind === 'source') {
        const name = `${call.source}.${call.table}`;
        if (node(name) === 'source') nodes.push(name);
        else diagnostics.push(error('unknown-source', `exposure ${e.name}: source('${call.source}', '${call.table}'): no source table of that name is declared`, location));
        continue;
      }
      const name = target(call.name, call.version);
      if (typeof name !== 'string') diagnostics.push(error('unknown-ref', `exposure ${e.name}: ${name.problem}`, location));
      else if (node(name) === 'model') nodes.push(name);
      else diagnostics.push(error('unknown-ref', `exposure ${e.name}: ref('${call.name}'): no model or seed is named '${call.name}'`, location));
    }
    out.set(e.name, { ...e, nodes: [...new Set(nodes)] });
  }
  return out;
}
