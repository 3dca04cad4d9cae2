import type { Check } from '../analyze/checks.js';
import type { ModelNode, PipeNode } from '../analyze/analyze.js';
import { compareVersions, type VersionOf } from '../analyze/dbt/model-versions.js';
import { modelKind } from '../analyze/model-kinds.js';
import { INCREMENTAL_STRATEGIES } from '../analyze/model-config.js';
import type { SelectableNode } from '../graph/select.js';
import { isSingular } from '../graph/selection-spec.js';

/** A project's nodes as selection sees them (see graph/selector-methods.ts). */

/** Nodes as selection saw them: watch mode keeps the nodes of unchanged models across saves. */
const selectable = new WeakMap<PipeNode, SelectableNode>();

/** The node as selection sees it; a new kind of node fails to compile here until it is mapped. */
export function selectableNode(n: PipeNode): SelectableNode {
  let s = selectable.get(n);
  if (!s) {
    s = toSelectable(n);
    selectable.set(n, s);
  }
  return s;
}

/** A version as `version:` selects it: the latest, one after it (a prerelease) or one before it. */
function selectableVersion(v: VersionOf): NonNullable<SelectableNode['version']> {
  const order = compareVersions(v.v, v.latest);
  return { model: v.model, v: v.v, is: order === 0 ? 'latest' : order > 0 ? 'prerelease' : 'old' };
}

/** A node's data tests as selection names them: dbt's by their names, generic tests and tags, pipe's checks by their names. */
function dataTestNames(checks: readonly Check[]): NonNullable<SelectableNode['dataTestNames']> {
  return checks.map((c) => ({
    name: c.name,
    ...(c.dbt?.generic ? { generic: c.dbt.generic.test } : {}),
    ...(isSingular(c.kind) ? { singular: true as const, file: c.location.file } : {}),
    ...(c.tags ? { tags: c.tags } : {}),
  }));
}

/** A model's config as dbt's selectors read it: in a dbt project, its schema and alias as set (`config.schema:marts`), not as its naming macros made them. */
function selectableConfig(n: ModelNode): Record<string, unknown> {
  const { kind, refusedMaterialized, ...config } = n.config;
  // A materialization pipe refuses is selected by its name as written, not as the default kind the node stands in as.
  const shown = refusedMaterialized === undefined ? config : { ...config, materialized: refusedMaterialized };
  if (n.configuredNames) return { ...shown, ...n.configuredNames };
  // In a pipe project, an incremental model's strategy is its kind.
  return (INCREMENTAL_STRATEGIES as readonly string[]).includes(kind) ? { ...shown, incremental_strategy: kind } : shown;
}

function toSelectable(n: PipeNode): SelectableNode {
  const base = { name: n.name, fqn: n.fqn, file: n.file, tags: n.tags, ...(n.kind !== 'source' && n.propertiesFile ? { propertiesFile: n.propertiesFile } : {}) };
  switch (n.kind) {
    case 'model': {
      // Selectors read a model's config as dbt's (`config.materialized:incremental`, `group:`,
      // `access:`, `config.meta.owner:ana`); its kind is pipe's.
      return {
        ...base,
        resourceType: modelKind(n.config.kind).resource,
        config: Object.assign(selectableConfig(n), n.access === undefined ? {} : { access: n.access }, n.group === undefined ? {} : { group: n.group }, n.meta === undefined ? {} : { meta: n.meta }),
        unitTests: (n.unitTests ?? []).map((t) => t.name),
        unitTestTags: (n.unitTests ?? []).flatMap((t) => t.tags),
        dataTests: n.checks.length > 0,
        dataTestNames: dataTestNames(n.checks),
        ...(n.version ? { version: selectableVersion(n.version) } : {}),
      };
    }
    case 'seed':
      return {
        ...base,
        dataTests: n.checks.length > 0,
        dataTestNames: dataTestNames(n.checks),
        resourceType: 'seed',
        // As a model's: in a dbt project, its schema and alias as set.
        config: {
          materialized: 'seed',
          enabled: true,
          schema: n.schema,
          ...(n.alias === undefined ? {} : { alias: n.alias }),
          tags: n.tags,
          column_types: n.columnTypes,
          ...(n.delimiter ? { delimiter: n.delimiter } : {}),
          ...n.configuredNames,
        },
      };
    case 'source':
      return { ...base, resourceType: 'source', source: n.source, table: n.table, config: { enabled: true, tags: n.tags } };
    default: {
      const never: never = n;
      throw new Error(`internal error: node ${JSON.stringify(never)}`);
    }
  }
}
