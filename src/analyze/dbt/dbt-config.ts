import { error, warning, type Diagnostic, type Location } from '../../diagnostics/diagnostics.js';
import { distance } from 'fastest-levenshtein';
import { suggest } from '../../diagnostics/suggest.js';
import type { ConfigSetting } from './config-tree.js';
import { INCREMENTAL_KEYS } from '../model-config.js';

/**
 * What pipe does with each config key a dbt project may set on a model or seed (in
 * dbt_project.yml, a properties file or config()). A key pipe reads is passed on to its own
 * validation; a key that only documents is named in the project's notice; a key that would
 * change what dbt builds, and that pipe cannot do yet, is an error: building without it would
 * give another table than dbt gives, silently.
 */

/** Keys pipe reads from a dbt project, as its own config or as dbt's (alias, column_types, ...). */
export const READ_KEYS = new Set([
  'materialized',
  'schema',
  'alias',
  'tags',
  'enabled',
  'description',
  'partition_by',
  'on_schema_change',
  'depends_on_past',
  'full_refresh',
  'retries',
  'retry_delay',
  'column_types',
  'delimiter',
  'quote_columns',
  'pre_hook',
  'post_hook',
  'sql_header',
  'persist_docs',
  'contract',
  // dbt-duckdb's external materialization
  'location',
  'format',
  'options',
  'plugin',
  'glue_register',
  ...INCREMENTAL_KEYS,
]);

/** Keys that describe a node without changing what is built. */
export const DOCUMENTATION_KEYS = new Set([
  'docs',
  'grants',
  'group',
  'access',
  'labels',
  'quoting',
  'packages',
  'store_failures',
  'store_failures_as',
  'bind',
  'file_format',
  'location_root',
  'copy_grants',
]);

/** Keys whose effect pipe does not have yet, with what to do instead. */
export const UNSUPPORTED_KEYS: Readonly<Record<string, string>> = {
  incremental_predicates: 'pipe replaces the rows a run stages, matched by unique_key or by date: remove incremental_predicates',
  predicates: 'pipe replaces the rows a run stages, matched by unique_key or by date: remove predicates',
  merge_update_columns: 'pipe merges every column of a matched row: remove merge_update_columns',
  merge_exclude_columns: 'pipe merges every column of a matched row: remove merge_exclude_columns',
  merge_update_condition: 'pipe updates every matched row: remove merge_update_condition',
  merge_insert_condition: 'pipe inserts every new row: remove merge_insert_condition',
  merge_update_set_expressions: 'pipe sets each column of a matched row to its staged value: remove merge_update_set_expressions',
  merge_on_using_columns: 'pipe matches rows by unique_key: remove merge_on_using_columns',
  merge_clauses: 'pipe updates matched rows and inserts new ones: remove merge_clauses',
  merge_returning_columns: 'remove merge_returning_columns',
  database:
    "pipe builds every node in the warehouse's own database, where the record of each build commits in one transaction with its data (DuckDB writes one database per transaction); remove database: (an attached database's tables are read as db.schema.table)",
  on_configuration_change: 'materialized views are not supported; use a table or a view',
};

/** Materializations a dbt project may name that pipe cannot build. */
export const UNSUPPORTED_MATERIALIZATIONS: Readonly<Record<string, string>> = {
  materialized_view: 'use materialized: table (rebuilt every run) or view',
  dynamic_table: 'use materialized: table or view',
  microbatch: "dbt's microbatch is materialized: incremental with incremental_strategy: microbatch",
};

export interface SortedConfig {
  /** The keys pipe reads, with their values and where each was set. */
  readonly read: ReadonlyMap<string, ConfigSetting>;
  /** Keys set that pipe does not use (documentation, or unknown to pipe), for the notice. */
  readonly unused: readonly { readonly key: string; readonly location: Location }[];
}

/**
 * Sorts a dbt node's merged config: keys pipe reads, keys it leaves aside (named in the
 * notice), and keys it cannot honour (errors). An unknown key one typo away from a key pipe
 * reads is an error too: dbt would accept it and build with the default, unseen.
 */
export function sortDbtConfig(
  settings: ReadonlyMap<string, ConfigSetting>,
  diagnostics: Diagnostic[],
  /** Keys this kind of node reads beside READ_KEYS (a snapshot's unique_key, strategy, ...). */
  ownKeys: ReadonlySet<string> = NO_KEYS,
  /** The warehouse's own database: `database:` naming it (`{{ target.database }}`) is where pipe builds anyway. */
  ownDatabase?: string,
  /** The databases the profile attaches, by name, where each is attached: `database:` naming one is told so. */
  attached?: ReadonlyMap<string, Location | undefined>,
): SortedConfig {
  const read = new Map<string, ConfigSetting>();
  const unused: { key: string; location: Location }[] = [];
  for (const [key, setting] of settings) {
    if (ownKeys.has(key)) read.set(key, setting);
    else if (READ_KEYS.has(key)) {
      if (key === 'materialized' && typeof setting.value === 'string' && Object.hasOwn(UNSUPPORTED_MATERIALIZATIONS, setting.value)) {
        diagnostics.push(
          error('unsupported', `materialized: ${setting.value} is not supported by pipe`, setting.location, {
            hint: UNSUPPORTED_MATERIALIZATIONS[setting.value],
          }),
        );
        continue;
      }
      read.set(key, setting);
    } else if (Object.hasOwn(UNSUPPORTED_KEYS, key)) {
      if (key === 'database' && (setting.value === null || setting.value === undefined)) continue;
      if (key === 'database' && typeof setting.value === 'string' && ownDatabase !== undefined && setting.value.toLowerCase() === ownDatabase.toLowerCase()) continue;
      // A database named as a file would name it: the warehouse's file of that name makes it the warehouse's own.
      // (DuckDB names a file of its own names otherwise: main.duckdb is main_db.)
      const named = key === 'database' && typeof setting.value === 'string' && /^[A-Za-z_][\w-]*$/.test(setting.value) && !['main', 'temp', 'system'].includes(setting.value) ? setting.value : undefined;
      // DuckDB's names of databases ignore case.
      const alias = named === undefined ? undefined : [...(attached?.keys() ?? [])].find((a) => a.toLowerCase() === named.toLowerCase());
      const attachedAt = alias !== undefined ? attached?.get(alias) : undefined;
      const hint =
        named === undefined
          ? UNSUPPORTED_KEYS[key]
          : alias !== undefined
            ? `${named} is a database the profile attaches${attachedAt?.line !== undefined ? ` (${attachedAt.file}:${attachedAt.line})` : ''}, which pipe reads (${named}.schema.table) and does not build in: pipe builds every node in the warehouse's own database, where the record of each build commits with its data; remove database:`
            : `${UNSUPPORTED_KEYS[key]}; or name the warehouse's file ${named}.duckdb (pipe.yaml's warehouse: or the profile's path:), as DuckDB names a database after its file: database: ${named} is then the warehouse's own`;
      diagnostics.push(error('unsupported', `config '${key}' is not supported by pipe`, setting.location, { hint }));
    } else if (key === 'meta' || key === 'docs') {
      // Read: a node's meta is model.meta and config.get('meta') in templates, and the graph's; no notice of it.
      // docs (show, node_color) is how dbt's docs site draws the node, in dbt too: nothing to tell of it either.
    } else if (DOCUMENTATION_KEYS.has(key)) {
      unused.push({ key, location: setting.location });
    } else {
      const close = typoOf(key, ownKeys);
      // A slip whose value is the default of the key meant (`+enable: true`) builds as meant, in dbt too: told, not refused.
      if (close && Object.hasOwn(TYPO_DEFAULTS, close) && TYPO_DEFAULTS[close] === setting.value) {
        diagnostics.push(warning('unknown-key', `unknown config key '${key}', which pipe and dbt leave aside; its value is ${close}'s default, so the node builds as meant`, setting.location, { hint: `did you mean '${close}'?` }));
      } else if (close) diagnostics.push(error('unknown-key', `unknown config key '${key}'`, setting.location, { hint: `did you mean '${close}'?` }));
      else unused.push({ key, location: setting.location });
    }
  }
  return { read, unused };
}

/**
 * The key pipe reads that an unknown key is a typo of. dbt accepts any key (a project's own
 * keys too, such as update_columns), so only a slip of a letter or two is refused: a looser
 * likeness would stop a model over a key dbt builds it with.
 */
function typoOf(key: string, ownKeys: ReadonlySet<string>): string | undefined {
  const close = suggest(key, [...READ_KEYS, ...ownKeys]);
  return close !== undefined && distance(key, close) <= MAX_TYPO ? close : undefined;
}

const MAX_TYPO = 2;

/** The defaults of keys a slip of which (see typoOf) is harmless when it holds the same value. */
const TYPO_DEFAULTS: Readonly<Record<string, unknown>> = { enabled: true };

const NO_KEYS: ReadonlySet<string> = new Set();

/** dbt's default `generate_schema_name`: the target schema, or `<target>_<custom>` for a custom schema. */
export function dbtSchemaName(targetSchema: string, custom: string | undefined): string {
  return custom === undefined || custom.trim() === '' ? targetSchema : `${targetSchema}_${custom.trim()}`;
}
