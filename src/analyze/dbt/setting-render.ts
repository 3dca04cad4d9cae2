import type { Diagnostic, Location } from '../../diagnostics/diagnostics.js';
import { dateVariables, type Interval } from '../../dates/dates.js';
import { RenderFailure, type TemplateEngine } from '../template-engine.js';
import { TemplateFunctionError } from '../jinja/errors.js';
import type { RenderPhase } from '../jinja/introspection.js';
import type { RenderSetting } from './node-config.js';
import { hasJinja, isFalse, readFreshness, type ColumnProperties, type Freshness, type FreshnessSpec, type NodeProperties, type Properties } from './properties.js';

/**
 * Renders the Jinja of a config value set in YAML, as dbt does, with var(), env_var() and
 * target; a value that is one expression keeps its type (`{{ var('load', false) }}` is false).
 * Each text is rendered once per analysis.
 */
export function settingRenderer(
  engine: TemplateEngine,
  vars: Readonly<Record<string, unknown>>,
  interval: Interval,
  diagnostics: Diagnostic[],
  /** The render phase the text is rendered in; none: dbt's parse (`execute` false), as a config value is read. */
  phase?: RenderPhase,
): RenderSetting {
  // A text renders to one value wherever it is written (the same vars, the same dates): a
  // setting repeated in every model's properties is rendered once, and one that fails is
  // reported at each place it is written.
  const done = new Map<string, { readonly value: unknown; readonly problem?: Diagnostic }>();
  const told = new Set<string>();
  const tell = (problem: Diagnostic, text: string, location: Location) => {
    const key = `${location.file}:${location.line}\u0000${text}`;
    if (told.has(key)) return;
    told.add(key);
    diagnostics.push({ ...problem, location });
  };
  return (text, location) => {
    const known = done.get(text);
    if (known) {
      if (known.problem) tell(known.problem, text, location);
      return known.value;
    }
    let value: unknown = text;
    let problem: Diagnostic | undefined;
    // Jinja drops one newline that ends a template (keep_trailing_newline is off in dbt): a
    // folded YAML block (`identifier: >`) ends in one, and dbt's value has none.
    const compiled = engine.compile(location.file, text.endsWith('\n') ? text.slice(0, text.endsWith('\r\n') ? -2 : -1) : text);
    if ('severity' in compiled) problem = compiled;
    else {
      try {
        const out = engine.render(compiled, {
          variables: { ...dateVariables(interval) },
          ref: () => {
            throw new TemplateFunctionError('ref() cannot be used in a config value');
          },
          source: () => {
            throw new TemplateFunctionError('source() cannot be used in a config value');
          },
          config: () => {
            throw new TemplateFunctionError('config() cannot be used in a config value');
          },
          var: (n, fallback, hasFallback) => {
            if (Object.hasOwn(vars, n)) return vars[n];
            if (hasFallback) return fallback;
            throw new TemplateFunctionError(`var '${n}' is not set and has no default`);
          },
          isIncremental: () => false,
          ...(phase ? { phase } : {}),
        });
        value = renderedValue(text, out);
      } catch (e) {
        if (!(e instanceof RenderFailure)) throw e;
        problem = e.diagnostic;
      }
    }
    if (problem) tell(problem, text, location);
    done.set(text, { value, problem });
    return value;
  };
}

/**
 * What a rendered setting stands for: a value that is one expression keeps its type (`{{
 * var('load', false) }}` is false), and so does one that says so with dbt's as_bool,
 * as_number or as_native (`{% if x %}{{ true | as_bool }}{% else %}...`); else its text.
 */
export function renderedValue(template: string, out: string): unknown {
  return /^\s*\{\{[^{}]*\}\}\s*$/.test(template) || /\|\s*as_(bool|number|native)\b/.test(template) ? nativeValue(out.trim()) : out;
}

/** What one rendered expression stands for: true/false, a number, none, else the text. */
function nativeValue(text: string): unknown {
  if (/^(true|false)$/i.test(text)) return text.toLowerCase() === 'true';
  if (/^(none|null)$/i.test(text)) return null;
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

/**
 * The properties with the Jinja of each column's `data_type:` rendered, as dbt renders it
 * (`data_type: "{{ 'UInt8' if target.type == 'clickhouse' else 'integer' }}"`).
 */
export function withRenderedDataTypes(properties: Properties, render: RenderSetting): Properties {
  const templated = (c: ColumnProperties) => c.dataType !== undefined && /\{[{%#]/.test(c.dataType);
  const columns = (list: readonly ColumnProperties[]) =>
    list.some(templated) ? list.map((c) => (templated(c) ? { ...c, dataType: String(render(c.dataType!, c.location) ?? '') } : c)) : list;
  const nodes = (map: ReadonlyMap<string, NodeProperties>) => {
    if (![...map.values()].some((n) => n.columns.some(templated))) return map;
    return new Map([...map].map(([name, n]) => [name, n.columns.some(templated) ? { ...n, columns: columns(n.columns) } : n]));
  };
  const sources = properties.sources.some((t) => t.columns.some(templated)) ? properties.sources.map((t) => ({ ...t, columns: columns(t.columns) })) : properties.sources;
  return { ...properties, models: nodes(properties.models), seeds: nodes(properties.seeds), snapshots: nodes(properties.snapshots), sources };
}

/**
 * The properties with each source freshness that has Jinja in it rendered and read, as dbt
 * renders it (`warn_after: {count: "{{ env_var('WARN_DAYS', '2') | int }}", period: day}`):
 * a problem is said once for a source's freshness, at its key, however many tables take it.
 */
export function withRenderedFreshness(properties: Properties, render: RenderSetting, diagnostics: Diagnostic[]): Properties {
  if (!properties.sources.some((t) => t.freshnessTemplate)) return properties;
  const read = new Map<FreshnessSpec, Freshness | undefined>();
  const rendered = (v: unknown, at: Location): unknown => {
    if (typeof v === 'string') return hasJinja(v) ? render(v, at) : v;
    if (Array.isArray(v)) return v.map((x) => rendered(x, at));
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rendered(x, at)]));
    return v;
  };
  // Each key's Jinja is rendered at that key's line.
  const renderedSpec = ({ value, at }: FreshnessSpec): unknown =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).map(([k, x]) => [k, rendered(x, k === 'warn_after' || k === 'error_after' ? at[k] : at.self)]))
      : rendered(value, at.self);
  const sources = properties.sources.map((t) => {
    const template = t.freshnessTemplate;
    if (!template) return t;
    if (!read.has(template)) read.set(template, readFreshness(renderedSpec(template), template.at, diagnostics));
    const { freshnessTemplate: _template, ...rest } = t;
    const freshness = read.get(template);
    return freshness === undefined ? rest : { ...rest, freshness };
  });
  return { ...properties, sources };
}

/**
 * The properties with each source table's `enabled:` that has Jinja in it rendered, as dbt
 * renders it (`enabled: "{{ var('hubspot_marketing_enabled', true) }}"`): a table it renders
 * false for is switched off, as one written `enabled: false` is, said at that key. A
 * package's file is rendered with the package's vars (`renderOf`).
 */
export function withRenderedEnabled(properties: Properties, renderOf: (file: string) => RenderSetting): Properties {
  if (!properties.sources.some((t) => t.enabledTemplate)) return properties;
  const sources = properties.sources.map((t) => {
    const template = t.enabledTemplate;
    if (!template) return t;
    const { enabledTemplate: _template, ...rest } = t;
    const on = !isFalse(renderOf(t.location.file)(template.text, template.at));
    return { ...rest, enabled: on, ownEnabled: on, ...(on ? {} : { disabledAt: template.at }) };
  });
  return { ...properties, sources };
}
