import { error, type Diagnostic, type Location } from '../../diagnostics/diagnostics.js';
import type { YamlSource } from '../../project/yaml-file.js';
import type { Threshold } from '../../sql/test-threshold.js';
import { levelsFor, mergeSettings, type ConfigSetting } from './config-tree.js';
import { renderedValue } from './setting-render.js';

/**
 * A dbt test's config, combined and checked as dbt does it: the folder configs of
 * dbt_project.yml (`data_tests:`, or the older `tests:`) along the test's qualified name,
 * then the test's own config in its properties file, then the `config()` its SQL calls. The
 * defaults are dbt's: severity error, `count(*)` as the failures, an error or a warning when
 * they are `!= 0`.
 */
export interface TestConfig {
  readonly enabled: boolean;
  readonly severity: 'error' | 'warn';
  /** A condition the tested node's rows are filtered by before the test reads them. */
  readonly where?: string;
  /** The most failing rows counted. */
  readonly limit?: number;
  readonly threshold: Threshold;
  readonly tags: readonly string[];
  /**
   * Whether its failing rows are kept in the warehouse, as dbt settles it: `store_failures_as`
   * wins wherever it is set (`ephemeral` keeps none), else `store_failures`; undefined when
   * neither is set, and then `--store-failures` decides (see shouldStoreFailures).
   */
  readonly storeFailures?: boolean;
  /** What they are kept as: a table unless `store_failures_as: view`. */
  readonly storeFailuresAs: FailuresKind;
  /** The schema they are kept in, before generate_schema_name: `schema:`, else dbt's `dbt_test__audit`. */
  readonly schema: string;
  /** The relation's name, when `alias:` sets it (else the test's, or its short form). */
  readonly alias?: string;
}

/** What a test's failing rows are kept as. */
export type FailuresKind = 'table' | 'view';

/** The schema dbt keeps failing rows in when a test sets none, before generate_schema_name. */
export const AUDIT_SCHEMA = 'dbt_test__audit';

/**
 * What should_store_failures() answers for a test, and so whether its failing rows are kept:
 * its config's `store_failures` when set, else `--store-failures` (dbt's flags.STORE_FAILURES).
 */
export function shouldStoreFailures(config: Pick<TestConfig, 'storeFailures'> | undefined, flag: boolean): boolean {
  return config?.storeFailures ?? flag;
}

export const DEFAULT_THRESHOLD: Threshold = { failCalc: 'count(*)', warnIf: '!= 0', errorIf: '!= 0' };

/** What dbt's config of a test holds for a key nothing sets: its TestConfig's defaults. */
const TEST_CONFIG_DEFAULTS: Readonly<Record<string, unknown>> = {
  enabled: true,
  materialized: 'test',
  severity: 'ERROR',
  fail_calc: DEFAULT_THRESHOLD.failCalc,
  warn_if: DEFAULT_THRESHOLD.warnIf,
  error_if: DEFAULT_THRESHOLD.errorIf,
  schema: AUDIT_SCHEMA,
  tags: [],
  meta: {},
};

/**
 * What `config.get(key)` reads in a test: the value its settings give the key as written
 * (dbt_project.yml's folders, then its config() calls so far), else dbt's default, else
 * undefined (None).
 */
export function testConfigValue(settings: ReadonlyMap<string, ConfigSetting>, key: string): unknown {
  const set = settings.get(key) ?? settings.get(key.replaceAll('-', '_'));
  if (set !== undefined && set.value !== undefined && set.value !== null) return set.value;
  return Object.hasOwn(TEST_CONFIG_DEFAULTS, key) ? structuredClone(TEST_CONFIG_DEFAULTS[key]) : undefined;
}

/** What a test's render read of its config, and what its config() calls set. */
interface ConfigRender {
  readonly config: Readonly<Record<string, unknown>>;
  readonly configReads?: readonly { readonly key: string; readonly value: unknown }[];
}

/**
 * config.get() in a test's renders: what `settingsAfter` gives (the test's settings with its
 * config() calls so far), as dbt compiles a node, the final value once a later call is known
 * to change one read before it (see answerFinal), and the refusal of a read that changes what
 * the call sets.
 */
export class TestConfigReads {
  private known: ReadonlyMap<string, unknown> | undefined;

  constructor(private readonly settingsAfter: (calls: Readonly<Record<string, unknown>>) => ReadonlyMap<string, ConfigSetting>) {}

  readonly value = (calls: Readonly<Record<string, unknown>>, key: string): unknown => (this.known?.has(key) ? this.known.get(key) : testConfigValue(this.settingsAfter(calls), key));

  /** The keys `r` read before a config() call changed them, with the value they end with. */
  private stale(r: ConfigRender): Map<string, unknown> {
    const stale = new Map<string, unknown>();
    for (const { key, value } of r.configReads ?? []) {
      const final = testConfigValue(this.settingsAfter(r.config), key);
      if (value !== final && JSON.stringify(value) !== JSON.stringify(final)) stale.set(key, final);
    }
    return stale;
  }

  /** Whether `r` read a value a later call changed: the next render is answered the final values. */
  answerFinal(r: ConfigRender): boolean {
    const stale = this.stale(r);
    if (stale.size === 0) return false;
    this.known = stale;
    return true;
  }

  /** The error of a read whose answer changes what a config() call sets, at `at`; undefined when none did. */
  conflict(r: ConfigRender, at: Location): Diagnostic | undefined {
    const [still] = this.stale(r);
    if (!still) return undefined;
    const [key, final] = still;
    const read = r.configReads!.find((x) => x.key === key)!.value;
    const shown = (v: unknown) => (typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v)));
    return error('config-conflict', `config.get('${key}') is read before config() sets '${key}', and what it reads changes what config() sets (${shown(read)} read, ${shown(final)} set): set '${key}' without reading it first`, at);
  }
}

/** The folder configs of dbt_project.yml that apply to a test of qualified name `fqn`. */
export function folderTestSettings(dbtProject: YamlSource | undefined, fqn: readonly string[]): Map<string, ConfigSetting> {
  let settings = new Map<string, ConfigSetting>();
  if (!dbtProject) return settings;
  for (const section of ['tests', 'data_tests']) {
    for (const level of levelsFor(dbtProject, section, fqn)) settings = mergeSettings(settings, level);
  }
  return settings;
}

/** Where a test's config is read, for its messages and for the notice. */
export interface TestConfigContext {
  /** The test, as messages name it. */
  readonly test: string;
  /** A config value written with Jinja (`where: "day > '{{ var('start') }}'"`), rendered. */
  readonly renderText: (text: string, at: Location) => string | Diagnostic;
  /** A key pipe reads past, for the one notice. */
  readonly unused: (key: string, at: Location) => void;
}

/** The test's config from its settings, every bad value reported at its line; undefined when one is bad. */
export function testConfig(settings: ReadonlyMap<string, ConfigSetting>, ctx: TestConfigContext, diagnostics: Diagnostic[]): TestConfig | undefined {
  let ok = true;
  const bad = (key: string, message: string) => {
    diagnostics.push(error('bad-test-config', `test ${ctx.test}: ${message}`, settings.get(key)!.location));
    ok = false;
  };
  const value = (key: string): unknown => {
    const s = settings.get(key);
    if (s === undefined || s.value === null) return undefined;
    if (typeof s.value !== 'string' || !/\{[{%]/.test(s.value)) return s.value;
    const rendered = ctx.renderText(s.value, s.location);
    if (typeof rendered === 'string') return rendered;
    diagnostics.push(rendered);
    ok = false;
    return undefined;
  };
  const text = (key: string, example: string): string | undefined => {
    const v = value(key);
    if (v === undefined || typeof v === 'string') return v;
    bad(key, `${key} must be text, e.g. ${example}, got ${JSON.stringify(v)}`);
    return undefined;
  };
  const condition = (key: string): string | undefined => {
    const v = text(key, `"> 10"`);
    if (v !== undefined && v.trim() === '') bad(key, `${key} must be a condition on the failures, e.g. "> 10" or "!= 0"`);
    return v;
  };

  /** A value of a type other than text: a template that is one expression gives its type (`enabled: "{{ target.type != 'bigquery' }}"`), as in dbt. */
  const typed = (key: string): unknown => {
    const raw = settings.get(key)?.value;
    const v = value(key);
    return typeof raw === 'string' && typeof v === 'string' && raw !== v ? renderedValue(raw, v) : v;
  };
  const enabledValue = typed('enabled');
  if (enabledValue !== undefined && typeof enabledValue !== 'boolean') bad('enabled', 'enabled must be true or false');
  const severityValue = value('severity');
  let severity: 'error' | 'warn' = 'error';
  if (severityValue !== undefined) {
    if (typeof severityValue === 'string' && /^(error|warn)$/i.test(severityValue)) severity = severityValue.toLowerCase() as 'error' | 'warn';
    else bad('severity', `severity must be error or warn, got ${JSON.stringify(severityValue)}`);
  }
  const limitValue = typed('limit');
  if (limitValue !== undefined && !(typeof limitValue === 'number' && Number.isInteger(limitValue) && limitValue >= 0)) {
    bad('limit', `limit must be a whole number of rows, got ${JSON.stringify(limitValue)}`);
  }
  const tagsValue = value('tags');
  let tags: string[] = [];
  if (typeof tagsValue === 'string') tags = [tagsValue];
  else if (Array.isArray(tagsValue) && tagsValue.every((t) => typeof t === 'string')) tags = tagsValue as string[];
  else if (tagsValue !== undefined) bad('tags', 'tags must be a tag or a list of tags');
  const where = text('where', `"status != 'test'"`);
  const failCalc = text('fail_calc', `"sum(n_records)"`);
  const warnIf = condition('warn_if');
  const errorIf = condition('error_if');
  if (failCalc !== undefined && failCalc.trim() === '') bad('fail_calc', 'fail_calc must be an aggregate over the failing rows, e.g. "count(*)" or "sum(n_records)"');
  const storeValue = typed('store_failures');
  if (storeValue !== undefined && typeof storeValue !== 'boolean') bad('store_failures', 'store_failures must be true or false');
  const asValue = value('store_failures_as');
  let storeAs: FailuresKind | 'ephemeral' | undefined;
  if (asValue !== undefined) {
    // dbt refuses another value as the test runs; here it is refused with the rest of the project's mistakes.
    if (typeof asValue === 'string' && /^(table|view|ephemeral)$/.test(asValue)) storeAs = asValue as FailuresKind | 'ephemeral';
    else bad('store_failures_as', `store_failures_as must be table, view or ephemeral, got ${JSON.stringify(asValue)}`);
  }
  const schema = text('schema', '"audit"');
  if (schema !== undefined && schema.trim() === '') bad('schema', 'schema must name a schema, e.g. audit');
  const alias = text('alias', '"orders_id_nulls"');
  if (alias !== undefined && alias.trim() === '') bad('alias', 'alias must name the relation the failures are kept in');
  // The rest (database, ...) changes neither a verdict nor where failures are kept; nor does
  // meta, which describes the test in dbt too: no notice of it.
  for (const [key, s] of settings) {
    if (!READ.has(key) && key !== 'meta') ctx.unused(key, s.location);
  }
  if (!ok) return undefined;
  return {
    enabled: enabledValue !== false,
    severity,
    where: where === undefined || where.trim() === '' ? undefined : where,
    limit: limitValue as number | undefined,
    threshold: {
      failCalc: failCalc ?? DEFAULT_THRESHOLD.failCalc,
      warnIf: warnIf ?? DEFAULT_THRESHOLD.warnIf,
      errorIf: errorIf ?? DEFAULT_THRESHOLD.errorIf,
    },
    tags: [...new Set(tags)],
    // As dbt's TestConfig.finalize_and_validate: store_failures_as, where set, says whether too.
    storeFailures: storeAs !== undefined ? storeAs !== 'ephemeral' : (storeValue as boolean | undefined),
    storeFailuresAs: storeAs === 'view' ? 'view' : 'table',
    schema: schema?.trim() ?? AUDIT_SCHEMA,
    ...(alias === undefined ? {} : { alias: alias.trim() }),
  };
}

/** Keys the config above reads. */
const READ = new Set(['enabled', 'severity', 'where', 'limit', 'fail_calc', 'warn_if', 'error_if', 'tags', 'store_failures', 'store_failures_as', 'schema', 'alias']);

/**
 * A test's failing-rows query as its task runs it: `where` applied by the caller to the
 * relation tested, `limit` here, as dbt's test materialization adds it.
 */
export function limited(sql: string, limit: number | undefined): string {
  return limit === undefined ? sql : `${sql}\nlimit ${limit}`;
}

/**
 * A test's config as dbt's node holds it when generate_schema_name names the schema its
 * failures are kept in (`node.tags`, `node.config.severity`): the keys dbt sets, from the
 * config as merged (folders', the definition's, its properties').
 */
export function testNodeConfig(config: TestConfig): Readonly<Record<string, unknown>> {
  return {
    enabled: config.enabled,
    materialized: 'test',
    severity: config.severity.toUpperCase(),
    tags: [...config.tags],
    schema: config.schema,
    ...(config.alias === undefined ? {} : { alias: config.alias }),
    ...(config.where === undefined ? {} : { where: config.where }),
    ...(config.limit === undefined ? {} : { limit: config.limit }),
    ...(config.storeFailures === undefined ? {} : { store_failures: config.storeFailures }),
  };
}
