import { param } from '../../jinja/macro-args.js';
import { sql, type BuiltinContext, type BuiltinMacro } from './builtin.js';

/**
 * dbt's naming macros as a template calls them (`{{ generate_schema_name('raw') }}`), with
 * dbt's default behaviour: a custom schema is `<target schema>_<custom>`, a custom alias or
 * database is itself, and none gives the target's schema or database, or the node's name;
 * `generate_schema_name_for_env`, which a project's own generate_schema_name often calls, gives
 * the custom schema as it is in the target named prod. A
 * project's own macro of the name is the one called, by templates as by pipe when it names a
 * node's relation (analyze.ts).
 */

/** A custom name as dbt's defaults read it: `{{ custom | trim }}`, or nothing for none or blank. */
function custom(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  const text = sql(value).trim();
  return text === '' ? undefined : text;
}

const target = (ctx: BuiltinContext, key: 'schema' | 'database') => sql(ctx.target()[key]);

/** A node's field (`node.name`), or nothing when there is no node, as Jinja prints an undefined one. */
function field(node: unknown, key: string): unknown {
  return node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
}

export const NAMING_MACROS: readonly BuiltinMacro[] = [
  {
    name: 'generate_schema_name',
    params: [param('custom_schema_name', null), param('node', null)],
    impl: 'default',
    render: (a, ctx) => {
      const c = custom(a.custom_schema_name);
      return c === undefined ? target(ctx, 'schema') : `${target(ctx, 'schema')}_${c}`;
    },
  },
  {
    // A custom schema as it is in the target named prod, the target's schema in every other.
    name: 'generate_schema_name_for_env',
    params: [param('custom_schema_name', null), param('node', null)],
    impl: 'default',
    render: (a, ctx) => {
      const c = custom(a.custom_schema_name);
      return c !== undefined && ctx.target().name === 'prod' ? c : target(ctx, 'schema');
    },
  },
  {
    name: 'generate_alias_name',
    params: [param('custom_alias_name', null), param('node', null)],
    impl: 'default',
    render: (a) => {
      const c = custom(a.custom_alias_name);
      if (c !== undefined) return c;
      const name = field(a.node, 'name');
      const version = field(a.node, 'version');
      return `${name ?? ''}${version === null || version === undefined || version === '' ? '' : `_v${sql(version)}`}`;
    },
  },
  {
    name: 'generate_database_name',
    params: [param('custom_database_name', null), param('node', null)],
    impl: 'default',
    render: (a, ctx) => custom(a.custom_database_name) ?? target(ctx, 'database'),
  },
];
