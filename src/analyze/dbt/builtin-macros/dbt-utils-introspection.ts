import { TemplateFunctionError } from '../../jinja/errors.js';
import { param } from '../../jinja/macro-args.js';
import { quoteIdent } from '../../../sql/sql-text.js';
import { list, sql, truthy, type BuiltinContext, type BuiltinMacro } from './builtin.js';

/**
 * pipe's own dbt_utils macros that read the warehouse while rendering: star,
 * get_filtered_columns_in_relation, get_column_values, union_relations, unpivot and the test
 * equality. At parse time (`execute` false) each gives what dbt_utils gives
 * there (`*`, the default, nothing); a model calling one is rendered again when its task runs
 * (see jinja/introspection.ts), where the columns and values are those of the warehouse then.
 */

type Args = Readonly<Record<string, unknown>>;

/** A list of names argument, lower-cased for comparison as dbt_utils compares them; none is empty. */
const lowered = (macro: string, arg: string, value: unknown): Set<string> =>
  new Set(value === null || value === undefined ? [] : list(macro, arg, value).map((v) => sql(v).toLowerCase()));

/** The columns of a relation but those named in `except`: none at parse time. */
function filteredColumns(macro: string, a: Args, ctx: BuiltinContext) {
  if (!ctx.warehouse.execute()) return [];
  const except = lowered(macro, 'except', a.except);
  return ctx.warehouse.columns(a.from).filter((c) => !except.has(c.name.toLowerCase()));
}

function star(a: Args, ctx: BuiltinContext): string {
  if (!ctx.warehouse.execute()) return '*';
  const columns = filteredColumns('star', a, ctx);
  if (columns.length === 0) return '/* no columns returned from star() macro */';
  const rename = new Map(Object.entries((a.rename ?? {}) as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), sql(v)]));
  const quote = truthy(a.quote_identifiers);
  const affixed = sql(a.prefix) !== '' || sql(a.suffix) !== '';
  return columns
    .map(({ name }) => {
      const alias = `${sql(a.prefix)}${name}${sql(a.suffix)}`;
      const as = rename.has(name.toLowerCase())
        ? ` as ${rename.get(name.toLowerCase())}`
        : quote && truthy(a.unquote_aliases)
          ? ` as ${alias}`
          : affixed
            ? ` as ${quote ? quoteIdent(alias) : alias}`
            : '';
      return `${truthy(a.relation_alias) ? `${sql(a.relation_alias)}.` : ''}${quote ? quoteIdent(name) : name}${as}`;
    })
    .join(',\n  ');
}

/**
 * As dbt_utils: at parse time the default (or an empty list); at run time the values, a
 * relation that does not exist giving the default (an error when none is given), and a
 * query that finds no values the default too (none when none is given).
 */
function columnValues(a: Args, ctx: BuiltinContext): unknown {
  if (!ctx.warehouse.execute()) return truthy(a.default) ? a.default : [];
  // A relation has columns: none means there is no relation of that name.
  if (ctx.warehouse.columns(a.table).length === 0) {
    if (a.default === null || a.default === undefined) {
      throw new TemplateFunctionError(`In get_column_values(): relation ${ctx.warehouse.name(a.table)} does not exist and no default value was provided.`);
    }
    return a.default;
  }
  const where = a.where === null || a.where === undefined ? '' : `\nwhere ${sql(a.where)}`;
  const limit = a.max_records === null || a.max_records === undefined ? '' : `\nlimit ${sql(a.max_records)}`;
  const column = sql(a.column);
  const rows = ctx.warehouse.query(`select ${column} as value\nfrom ${sql(a.table)}${where}\ngroup by ${column}\norder by ${sql(a.order_by)}${limit}`);
  return rows.length > 0 ? rows.map((r) => r[0]) : a.default;
}

function unionRelations(a: Args, ctx: BuiltinContext): string {
  const include = lowered('union_relations', 'include', a.include);
  const exclude = lowered('union_relations', 'exclude', a.exclude);
  if (include.size > 0 && exclude.size > 0) throw new TemplateFunctionError('union_relations(): give include or exclude, not both');
  if (!ctx.warehouse.execute()) return '';
  const relations = list('union_relations', 'relations', a.relations);
  // Every column of any relation, in the order first seen, typed as where it was first seen.
  const superset = new Map<string, { quoted: string; data_type: string }>();
  const own = relations.map((relation) => {
    const kept = ctx.warehouse.columns(relation).filter((c) => !exclude.has(c.name.toLowerCase()) && (include.size === 0 || include.has(c.name.toLowerCase())));
    for (const c of kept) if (!superset.has(c.name)) superset.set(c.name, c);
    return new Set(kept.map((c) => c.name));
  });
  if ((include.size > 0 || exclude.size > 0) && superset.size === 0) {
    throw new TemplateFunctionError(`union_relations(): no columns found to union for relations ${relations.map(sql).join(', ')}`);
  }
  const override = (a.column_override ?? {}) as Record<string, unknown>;
  const typeString = sql(ctx.call('dbt', 'type_string'));
  // The source column holds the relation as dbt prints it: database, schema and name.
  const named = a.source_column_name === null || a.source_column_name === undefined ? undefined : threePartNames(ctx);
  return relations
    .map((relation, i) => {
      const source = named === undefined ? [] : [`cast(${sql(ctx.call('dbt', 'string_literal', named(relation)))} as ${typeString}) as ${sql(a.source_column_name)}`];
      const columns = [...superset].map(([name, c]) => `cast(${own[i].has(name) ? quoteIdent(name) : 'null'} as ${sql(override[name] ?? c.data_type)}) as ${c.quoted}`);
      const where = truthy(a.where) ? `\n    where ${sql(a.where)}` : '';
      return `(\n    select\n        ${[...source, ...columns].join(',\n        ')}\n    from ${sql(relation)}${where}\n)`;
    })
    .join('\nunion all\n');
}

/** A relation's name as dbt prints it (`"db"."main"."orders"`), the warehouse's database before a name that has none. */
function threePartNames(ctx: BuiltinContext): (relation: unknown) => string {
  let database: string | undefined;
  return (relation) => {
    const name = ctx.warehouse.name(relation);
    if (!/^"(?:[^"]|"")*"\."(?:[^"]|"")*"$/.test(name)) return name;
    database ??= String(ctx.warehouse.query('select current_database()')[0][0]);
    return `${quoteIdent(database)}.${name}`;
  };
}

function unpivot(a: Args, ctx: BuiltinContext): string {
  if (!truthy(a.relation)) throw new TemplateFunctionError('unpivot(): relation is required, e.g. unpivot(ref(\'orders\'), exclude=[\'id\'])');
  const kept = a.exclude === null || a.exclude === undefined ? [] : list('unpivot', 'exclude', a.exclude).map(sql);
  const skipped = new Set([...lowered('unpivot', 'remove', a.remove), ...kept.map((k) => k.toLowerCase())]);
  const name = (n: string) => (truthy(a.quote_identifiers) ? quoteIdent(n) : n);
  const typeString = sql(ctx.call('dbt', 'type_string'));
  return ctx.warehouse
    .columns(a.relation)
    .filter((c) => !skipped.has(c.name.toLowerCase()))
    .map((c) => {
      const value = c.data_type === 'boolean' ? sql(ctx.call('dbt', 'cast_bool_to_text', name(c.name))) : name(c.name);
      const select = [...kept.map(name), `cast('${c.name}' as ${typeString}) as ${name(sql(a.field_name))}`, `cast(${value} as ${sql(a.cast_to)}) as ${name(sql(a.value_name))}`];
      return `select\n    ${select.join(',\n    ')}\nfrom ${sql(a.relation)}`;
    })
    .join('\nunion all\n');
}

/** How dbt_utils' equality counts its failures: every differing row, and a difference in how often rows occur. */
const SET_DIFF = `count(*) + coalesce(abs(
        sum(case when which_diff = 'a_minus_b' then 1 else 0 end) -
        sum(case when which_diff = 'b_minus_a' then 1 else 0 end)
    ), 0)`;

/**
 * dbt_utils' equality: the rows of `model` not in `compare_model` and those of `compare_model`
 * not in `model`, over `compare_columns`, or every column of `model` (but `exclude_columns`),
 * which must then be the columns of `compare_model` too; numbers rounded to `precision`.
 * Nothing at parse time, as dbt_utils gives.
 */
function equality(a: Args, ctx: BuiltinContext): string {
  if (truthy(a.compare_columns) && truthy(a.exclude_columns)) {
    throw new TemplateFunctionError('Both a compare and an ignore list were provided to the `equality` macro. Only one is allowed');
  }
  ctx.config({ fail_calc: SET_DIFF });
  if (!ctx.warehouse.execute()) return '';
  // A test's `where` makes the relation tested a query: dbt_utils refuses it.
  if (!ctx.warehouse.isRelation(a.model)) throw new TemplateFunctionError(`Macro test_equality expected a Relation but received the value: ${ctx.warehouse.name(a.model)}`);
  const exclude = lowered('equality', 'exclude_columns', truthy(a.exclude_columns) ? a.exclude_columns : null);
  const kept = (relation: unknown) => ctx.warehouse.columns(relation).filter((c) => !exclude.has(c.name.toLowerCase()));
  const given = truthy(a.compare_columns) ? list('equality', 'compare_columns', a.compare_columns).map(sql) : undefined;
  if (!given) {
    const quoted = (relation: unknown) => new Set(kept(relation).map((c) => c.quoted.toLowerCase()));
    const [mine, theirs] = [quoted(a.model), quoted(a.compare_model)];
    if (mine.size !== theirs.size || [...mine].some((c) => !theirs.has(c))) {
      const [model, compare] = [ctx.warehouse.name(a.model), ctx.warehouse.name(a.compare_model)];
      throw new TemplateFunctionError(
        `${compare} has less columns than ${model}, please ensure they have the same columns or use the \`compare_columns\` or \`exclude_columns\` arguments to subset them.`,
      );
    }
  }
  let columns: string[];
  if (!truthy(a.precision)) columns = given ?? kept(a.model).map((c) => c.quoted);
  else {
    const only = given && new Set(given.map((c) => c.toLowerCase()));
    columns = kept(a.model)
      .filter((c) => !only || only.has(c.name.toLowerCase()))
      .map((c) => (c.is_float() || c.is_numeric() || c.data_type === 'double' ? `round(cast(${c.quoted} as ${sql(ctx.call('dbt', 'type_numeric'))}),${sql(a.precision)}) as ${c.quoted}` : c.quoted));
  }
  const csv = columns.join(', ');
  const except = sql(ctx.call('dbt', 'except'));
  return `with a as (

    select * from ${sql(a.model)}

),

b as (

    select * from ${sql(a.compare_model)}

),

a_minus_b as (

    select ${csv} from a
    ${except}
    select ${csv} from b

),

b_minus_a as (

    select ${csv} from b
    ${except}
    select ${csv} from a

),

unioned as (

    select 'a_minus_b' as which_diff, a_minus_b.* from a_minus_b
    union all
    select 'b_minus_a' as which_diff, b_minus_a.* from b_minus_a

)

select * from unioned`;
}

const p = param;

export const DBT_UTILS_INTROSPECTION: readonly BuiltinMacro[] = [
  {
    name: 'star',
    params: [p('from'), p('relation_alias', false), p('except', []), p('prefix', ''), p('suffix', ''), p('quote_identifiers', true), p('unquote_aliases', false), p('rename', {})],
    impl: 'default',
    render: star,
  },
  {
    name: 'get_filtered_columns_in_relation',
    params: [p('from'), p('except', [])],
    impl: 'default',
    render: (a, ctx) => filteredColumns('get_filtered_columns_in_relation', a, ctx).map((c) => c.name),
  },
  {
    name: 'get_column_values',
    params: [p('table'), p('column'), p('order_by', 'count(*) desc'), p('max_records', null), p('default', null), p('where', null)],
    impl: 'default',
    render: columnValues,
  },
  {
    name: 'test_equality',
    params: [p('model'), p('compare_model'), p('compare_columns', null), p('exclude_columns', null), p('precision', null)],
    impl: 'default',
    render: equality,
  },
  {
    name: 'union_relations',
    params: [p('relations'), p('column_override', null), p('include', []), p('exclude', []), p('source_column_name', '_dbt_source_relation'), p('where', null)],
    impl: 'default',
    render: unionRelations,
  },
  {
    name: 'unpivot',
    params: [p('relation', null), p('cast_to', 'varchar'), p('exclude', null), p('remove', null), p('field_name', 'field_name'), p('value_name', 'value'), p('quote_identifiers', false)],
    impl: 'default',
    render: unpivot,
  },
];
