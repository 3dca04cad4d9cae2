import type { ModelNode } from '../analyze/analyze.js';
import { canonical, checksShape } from '../analyze/checks.js';
import { hashOf } from '../state/data-version.js';
import { PIPE_VERSION } from '../version.js';
import type { SettingValue } from '../warehouse/warehouse-setup.js';
import type { RunHook } from '../analyze/dbt/dbt-project.js';

/**
 * The hash of what of a model's config shapes what is written: its materialization and
 * everything that goes with it (partition_by, unique_key, strategy, schema, alias, hooks,
 * contract, on_schema_change…), and its checks (a changed check runs the model again, so that
 * it is checked). Left out, as they change no data: tags, descriptions, retries, enabled,
 * depends_on_past (an order of runs, not of data). Any other key counts: a key pipe does not
 * know makes the model run again, never skip wrongly.
 *
 * The DuckDB settings a run sets that may change what a query computes (`integer_division`,
 * `default_order`: ProjectSettings.querySettings) count too, for every model, and so do the
 * on-run-start statements that may change what queries compute (see shapingStartHooks).
 *
 * So does pipe's own version: another pipe may write the same SQL's result differently (a
 * materialization, a seed's types, a fix), so a build by another version is not taken for
 * current, and each task runs once after an upgrade or a downgrade.
 */

const NOT_DATA = new Set(['tags', 'description', 'retries', 'retry_delay_ms', 'enabled', 'depends_on_past', 'meta', 'docs', 'group']);

export function configHash(node: ModelNode, querySettings: Readonly<Record<string, SettingValue>> = {}, pipeVersion: string = PIPE_VERSION): string {
  return hashOf(modelConfigHash(node), settingsText(querySettings), pipeVersion);
}

const settingsTexts = new WeakMap<object, string>();

function settingsText(settings: Readonly<Record<string, SettingValue>>): string {
  let text = settingsTexts.get(settings);
  if (text === undefined) {
    text = JSON.stringify(Object.entries(settings).map(([name, value]) => [name, String(value)]));
    settingsTexts.set(settings, text);
  }
  return text;
}

/**
 * What of the project's on-run-start statements may change what every model computes: those
 * that set DuckDB's settings (`SET GLOBAL integer_division = true`), load or attach something,
 * or define a macro, a function or a type models may use, as written in dbt_project.yml (a
 * statement a macro call renders is not seen). Empty when there is none, so that the hash of a
 * project without them is unchanged.
 */
export function shapingStartHooks(hooks: readonly RunHook[]): string {
  let text = shapingTexts.get(hooks);
  if (text === undefined) {
    const shaping = hooks.filter((h) => !h.call && SHAPES_QUERIES.test(h.sql)).map((h) => h.sql);
    text = shaping.length === 0 ? '' : JSON.stringify(shaping);
    shapingTexts.set(hooks, text);
  }
  return text;
}

const SHAPES_QUERIES = /\b(?:set|reset|pragma|load|install|attach|detach|use)\b|\bcreate\s+(?:or\s+replace\s+)?(?:temp(?:orary)?\s+)?(?:macro|function|type)\b/i;
const shapingTexts = new WeakMap<readonly RunHook[], string>();

const memo = new WeakMap<ModelNode, string>();

function modelConfigHash(node: ModelNode): string {
  const known = memo.get(node);
  if (known !== undefined) return known;
  const persisted = node.config.persist_docs.columns || node.config.contract;
  const shape = {
    relation: node.relation,
    config: Object.fromEntries(Object.entries(node.config).filter(([k]) => !NOT_DATA.has(k))),
    // A dbt test's graph metadata (dbt) describes it; its SQL and threshold are what it checks.
    checks: checksShape(node.checks),
    contract: node.contract,
    columns: persisted ? node.columns : undefined,
    comment: node.config.persist_docs.relation ? node.config.description : undefined,
  };
  const hash = hashOf(JSON.stringify(shape, canonical));
  memo.set(node, hash);
  return hash;
}
