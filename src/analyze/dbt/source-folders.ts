import type { Diagnostic } from '../../diagnostics/diagnostics.js';
import { packageOfFile, type InstalledPackage } from '../../project/load-packages.js';
import { fqnOf } from '../../project/layout.js';
import type { YamlSource } from '../../project/yaml-file.js';
import { levelsFor, mergeSettings, type ConfigSetting } from './config-tree.js';
import type { RenderSetting } from './node-config.js';
import { readFreshness, type Properties, type SourceTable } from './properties.js';

/**
 * The `sources:` configs of dbt_project.yml, applied to each source table along dbt's
 * qualified name of it: the project (or package) that declares it, the folders of its
 * properties file under the model folders, the source's name, the table's (a table declared in
 * `models/staging/sources.yml` is `shop.staging.raw.orders`). A package's own dbt_project.yml
 * comes first, the project's over it. `enabled`, `event_time`, `loaded_at_field` and
 * `freshness` apply where the properties file does not set them (it wins, as in dbt), `tags`
 * add up and `meta` merges under the table's own.
 */
export function withSourceFolderConfigs(
  properties: Properties,
  root: { readonly project: string; readonly file: YamlSource; readonly models: readonly string[] },
  packages: readonly InstalledPackage[],
  render: RenderSetting,
  diagnostics: Diagnostic[],
): { properties: Properties; fqns: string[][] } {
  const fqns: string[][] = [];
  const sources = properties.sources.map((t) => {
    const pkg = packageOfFile(packages, t.location.file);
    const fqn = sourceFqn(t, pkg, root);
    fqns.push(fqn);
    const settings = [...(pkg ? [pkg.project] : []), root.file]
      .flatMap((file) => levelsFor(file, 'sources', fqn))
      .reduce((out: Map<string, ConfigSetting>, level) => mergeSettings(out, level), new Map());
    return settings.size === 0 ? { ...t, fqn } : applied({ ...t, fqn }, settings, render, diagnostics);
  });
  return { properties: { ...properties, sources }, fqns };
}

/** dbt's qualified name of a source table (see withSourceFolderConfigs). */
function sourceFqn(t: SourceTable, pkg: InstalledPackage | undefined, root: { readonly project: string; readonly models: readonly string[] }): string[] {
  const file = pkg ? t.location.file.slice(pkg.dir.length + 1) : t.location.file;
  const folders = fqnOf(pkg?.name ?? root.project, file, pkg ? pkg.layout.models : root.models, '').slice(0, -1);
  return [...folders, t.source, t.table];
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function applied(t: SourceTable, settings: ReadonlyMap<string, ConfigSetting>, render: RenderSetting, diagnostics: Diagnostic[]): SourceTable {
  const value = (key: string): unknown => {
    const s = settings.get(key);
    if (s === undefined) return undefined;
    return typeof s.value === 'string' && (s.value.includes('{{') || s.value.includes('{%')) ? render(s.value, s.location) : s.value;
  };
  const enabled = value('enabled');
  const tags = value('tags');
  const meta = value('meta');
  const freshness = settings.get('freshness');
  const off = t.ownEnabled === undefined && enabled !== undefined && (enabled === false || String(enabled).toLowerCase() === 'false');
  const folderTags = typeof tags === 'string' ? [tags] : Array.isArray(tags) ? tags.filter((x): x is string => typeof x === 'string') : [];
  return {
    ...t,
    enabled: t.ownEnabled ?? !off,
    ...(off ? { disabledAt: settings.get('enabled')!.location } : {}),
    tags: [...new Set([...folderTags, ...t.tags])],
    loadedAtField: t.loadedAtField ?? text(value('loaded_at_field')),
    eventTime: t.eventTime ?? text(value('event_time')),
    ...(isMapping(meta) ? { meta: { ...meta, ...t.meta }, graph: { ...t.graph, meta: { ...meta, ...t.graph.meta } } } : {}),
    ...(freshness !== undefined && t.freshness === undefined && t.freshnessTemplate === undefined && !t.graph.noFreshness
      ? { freshness: readFreshness(freshness.value, { self: freshness.location, warn_after: freshness.location, error_after: freshness.location }, diagnostics) }
      : {}),
  };
}
