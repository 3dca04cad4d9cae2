import type { Interval } from '../dates/dates.js';
import { error, type Diagnostic } from '../diagnostics/diagnostics.js';
import { nameKey, sameInCase, type ModelSource } from '../project/load-project.js';
import { CallSites } from './call-sites.js';
import { baseValue, type BaseConfig, type RenderSetting } from './dbt/node-config.js';
import { settingRenderer } from './dbt/setting-render.js';
import type { VarScopes } from './dbt/var-scopes.js';
import type { TemplateEngine } from './template-engine.js';

/** A model or seed file, with the package it is of. */
interface NamedFile {
  readonly name: string;
  readonly file: string;
  readonly package?: { readonly name: string };
}

/** Whether a file is enabled: true, false, or undecided before rendering, and why. */
export type Enabled = boolean | { readonly undecided: string };

/**
 * The model or seed files to build from, of all those loaded: of several files of one name
 * (case aside) in one project or package, the one its configs enable. dbt keeps such files
 * apart until their configs are read and builds the one enabled (Snowplow ships a model per
 * warehouse in `scratch/bigquery/`, `scratch/default/`, ..., each switched on by
 * `+enabled: "{{ target.type == ... }}"` or `config(enabled=target.type == ...)`). With none
 * enabled, the first stands for the name, disabled as each is; one undecided counts as
 * enabled (its render decides), and more than one enabled is an error at each file after the
 * first, never a choice between them.
 */
export function sameNamedFiles<F extends NamedFile>(
  kind: 'model' | 'seed',
  files: readonly F[],
  enabled: (file: F) => Enabled,
  dbt: boolean,
  diagnostics: Diagnostic[],
): readonly F[] {
  const byName = new Map<string, F[]>();
  let repeated = false;
  for (const file of files) {
    const key = nameKey(file.name);
    const group = byName.get(key);
    if (group) {
      group.push(file);
      repeated = true;
    } else byName.set(key, [file]);
  }
  if (!repeated) return files;
  const left = new Set<F>();
  for (const group of byName.values()) {
    if (group.length === 1) continue;
    const on = group.map((file) => ({ file, enabled: enabled(file) })).filter((f) => f.enabled !== false);
    const kept = on[0]?.file ?? group[0];
    for (const file of group) if (file !== kept) left.add(file);
    for (const { file, enabled } of on.slice(1)) {
      const undecided = [on[0], { file, enabled }].flatMap((f) => (typeof f.enabled === 'object' ? [`${f.file.file}: ${f.enabled.undecided}`] : []));
      diagnostics.push(
        error('duplicate-model', `${kind === 'model' ? 'model ' : ''}'${file.name}' is defined twice: ${kept.file} and ${file.file}${sameInCase(kept.file, file.name)}`, { file: file.file }, {
          related: [{ message: 'first defined here', location: { file: kept.file } }],
          hint: duplicateHint(kind, file, dbt, undecided),
        }),
      );
    }
  }
  return files.filter((f) => !left.has(f));
}

function duplicateHint(kind: 'model' | 'seed', file: NamedFile, dbt: boolean, undecided: readonly string[]): string {
  const where = file.package ? `the package ${file.package.name}` : 'the project';
  const off = dbt ? '`+enabled: false` under its folder in dbt_project.yml' : '`enabled: false` in the YAML beside it';
  const names = kind === 'model' ? 'model names are file names and' : 'seeds and models share one namespace, and names';
  const unread = undecided.length === 0 ? '' : `; pipe chooses between files of one name before rendering them, and could not read enabled from config() (${undecided.join('; ')})`;
  return `${names} must be unique in ${where}: rename one file, or switch all but one off with ${off}${unread}`;
}

/**
 * Whether a model file is enabled, as far as its text tells before it renders: the project's
 * config over a package's node, else the `enabled=` of its config() call rendered alone (with
 * its package's vars and the target), else its folder configs, properties and YAML. A config()
 * call the text cannot settle (in a branch, after a `set`, given twice) leaves it undecided.
 */
export function enabledBeforeRender(
  engine: TemplateEngine,
  scopes: VarScopes,
  interval: Interval,
  /** The file's config before render; `properties` false: without its name's properties entry. */
  baseOf: (source: ModelSource, properties: boolean) => BaseConfig,
): (source: ModelSource) => Enabled {
  const renders = new Map<string, { readonly render: RenderSetting; readonly problems: Diagnostic[] }>();
  const rendered = (source: ModelSource, text: string): Enabled => {
    const scope = source.package?.name ?? '';
    let known = renders.get(scope);
    if (!known) {
      const problems: Diagnostic[] = [];
      known = { render: settingRenderer(engine, scopes.of(source.package?.name), interval, problems), problems };
      renders.set(scope, known);
    }
    const told = known.problems.length;
    const value = known.render(`{{ (${text}) }}`, { file: source.file });
    if (typeof value === 'boolean') return value;
    const problem = known.problems[told];
    return { undecided: problem ? `enabled=${text}: ${problem.message}` : `enabled=${text} is not true or false` };
  };
  return (source) => {
    const base = baseOf(source, true);
    if (base.over?.has('enabled')) return base.over.get('enabled')!.value !== false;
    const written = new CallSites(source.sql).configKeywordText('enabled');
    if (written !== undefined) return 'why' in written ? { undecided: written.why } : rendered(source, written.text);
    // A properties entry is of the name, every file of it: its `enabled: true` chooses none of
    // them (the folder configs do, as dbt applies it to the node it enabled); its false, all.
    if (baseValue(base, 'enabled') === false) return false;
    return baseValue(baseOf(source, false), 'enabled') !== false;
  };
}
