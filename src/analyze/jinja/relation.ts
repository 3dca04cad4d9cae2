import { pyFunction, signature } from './args.js';
import { JinjaError } from './errors.js';
import { bareRefToken, relationToken } from '../checks.js';
import { quoteIdent, schemaNamedAsDatabase } from '../../sql/sql-text.js';
import { IDENTITY, PyObject, type Identified } from './values.js';

/** Where a relation lives: what `this.database`, `this.schema` and `this.identifier` say. */
export interface RelationParts {
  readonly database: string;
  readonly schema: string;
  readonly identifier: string;
}

/**
 * dbt's relations (`this`, what ref() and source() return): each prints as the reference pipe resolves to the model's relation once the
 * template is rendered (so that `{{ this }}` follows a config(schema=...) anywhere in the
 * file, and a backfill's staging table), and answers `.database`, `.schema`, `.identifier`
 * (`.name` and `.table` too) from `parts`, asked when read. Like dbt's, it is a mapping
 * whose `get('metadata')` names its type: what packages check a relation by.
 */
export class DbtRelation extends PyObject {
  readonly typeName = 'Relation';

  constructor(
    private readonly token: string,
    private readonly parts: () => RelationParts,
    /** A node the template reads (a ref): built before the template runs. */
    readonly read = false,
    /** What it is, where a template said so (`this.incorporate(type='table')`): dbt's `type`. */
    readonly type: 'table' | 'view' | null = null,
  ) {
    super();
  }

  /**
   * The relation of a node read by name (a ref, a test's model): its identifier is the node's
   * table name (its alias, else its name), asked of `identifier` when read; the schema it lives
   * in is decided once the template is rendered, so asking is an error, unless `place` knows it
   * (a test's relations, rendered once every node is placed).
   */
  static ofNode(token: string, name: string, identifier: () => string = () => name, place?: () => { readonly database: string; readonly schema: string | undefined } | undefined): DbtRelation {
    return new DbtRelation(token, () => ({
      get database(): string {
        const known = place?.();
        if (known) return known.database;
        throw new JinjaError(`the database of ${name} is not known while a template renders in pipe`);
      },
      get schema(): string {
        const known = place?.()?.schema;
        if (known !== undefined) return known;
        throw new JinjaError(`the schema of ${name} is not known while a template renders in pipe: pipe places it once rendered (read it inside {% if execute %}, as the task runs, when every node is placed)`);
      },
      get identifier(): string {
        return identifier();
      },
    }), true);
  }

  /** The same relation, of the type given: dbt's `incorporate(type=...)`. */
  withType(type: 'table' | 'view' | null): DbtRelation {
    return new DbtRelation(this.token, this.parts, this.read, type);
  }

  override str(): string {
    return this.token;
  }
  repr(): string {
    const { database, schema, identifier } = this.parts();
    return `<Relation "${database}"."${schema}"."${identifier}">`;
  }
  /** Where it lives (an error for a ref's, see ofNode). */
  where(): RelationParts {
    return this.parts();
  }
  override getattr(name: string): unknown {
    switch (name) {
      case 'database':
        return this.parts().database;
      case 'schema':
        return this.parts().schema;
      case 'identifier':
      case 'name':
      case 'table':
        return this.parts().identifier;
      case 'render':
        return pyFunction(signature('render', ''), () => this.token);
      case 'type':
        return this.type;
      case 'is_table':
        return this.type === 'table';
      case 'is_view':
        return this.type === 'view';
      case 'incorporate':
        // dbt's copy of the relation with another type (what packages give adapter.drop_relation()).
        return pyFunction(signature('incorporate', 'path type', { path: null, type: null }), (path: unknown, type: unknown) => {
          if (path !== null) throw new JinjaError("incorporate(path=...) is not supported by pipe: a relation's place is the node's; incorporate(type='table') is");
          if (type !== null && type !== 'table' && type !== 'view') throw new JinjaError(`incorporate(type=${String(type)}): pipe knows the types 'table' and 'view'`);
          return this.withType((type as 'table' | 'view' | null) ?? this.type);
        });
      case 'include':
        // dbt's copy that prints without some of its parts. pipe prints the warehouse's own
        // relations without their database but inside a string literal of a dbt project, where
        // a ref prints as dbt-duckdb prints it; a ref's schema is placed once rendered.
        return pyFunction(signature('include', 'database schema identifier', { database: null, schema: null, identifier: null }), (database: unknown, schema: unknown, identifier: unknown) => {
          if (schema === false || identifier === false) {
            throw new JinjaError(`include(${schema === false ? 'schema' : 'identifier'}=False) is not supported by pipe on ${this.token.startsWith('\u0000') ? 'a ref()' : 'this relation'}: it prints as pipe places it, "schema"."name"; use its .identifier (or .schema of a source) for one part`);
          }
          return database === false ? new DbtRelation(bareRefToken(this.token), this.parts, this.read, this.type) : this;
        });
      case 'without_identifier':
        return pyFunction(signature('without_identifier', ''), () => new Relation(this.parts().database, this.parts().schema, null));
      case 'replace_path':
        // dbt's copy in another place: what a project's ref() override returns for a node it
        // reads from elsewhere (`builtins.ref(name).replace_path(schema='prod')`).
        return pyFunction(signature('replace_path', 'database schema identifier', { database: null, schema: null, identifier: null }), (database: unknown, schema: unknown, identifier: unknown) => {
          if (database !== null) throw new JinjaError('replace_path(database=...) is not supported by pipe: it reads and writes one warehouse');
          for (const [key, value] of [['schema', schema], ['identifier', identifier]] as const) {
            if (value !== null && typeof value !== 'string') throw new JinjaError(`replace_path(${key}=...) takes a name, got ${typeof value}`);
          }
          return new Relation(null, (schema as string | null) ?? this.parts().schema, (identifier as string | null) ?? this.parts().identifier, this.type);
        });
      case 'get':
        return pyFunction(signature('get', 'key default', { default: null }), (key: unknown, fallback: unknown) => (key === 'metadata' ? { type: 'DuckDBRelation' } : fallback));
      default:
        return undefined;
    }
  }
  override equals(other: unknown): boolean {
    return other instanceof DbtRelation && other.token === this.token;
  }
}

/**
 * Whether relations of the warehouse's own database print as relation tokens: set while a
 * model renders, whose text has its tokens resolved (see checks.ts relationToken); elsewhere
 * they print as pipe names them.
 */
let asTokens = false;

/** Sets whether relations print as tokens, for a render; gives back what it was. */
export function printRelationsAsTokens(on: boolean): boolean {
  const was = asTokens;
  asTokens = on;
  return was;
}

/**
 * A relation a template makes or is given by the warehouse (`api.Relation.create()`,
 * `adapter.get_relation()`): it prints as `"schema"."identifier"`, or as `"schema"` alone
 * without an identifier; in another database than the warehouse's own (an attached one),
 * with that database first.
 */
export class Relation implements Identified {
  readonly typeName = 'Relation';

  constructor(
    readonly database: string | null,
    readonly schema: string,
    /** None for a schema's relation (`api.Relation.create(schema=...)`, `without_identifier()`): it renders as the schema alone. */
    readonly identifier: string | null,
    readonly type: 'table' | 'view' | null = null,
    /** Its database is another than the warehouse's own (an attached one): named when it renders. The warehouse's is left out, as pipe names its relations. */
    readonly qualified = false,
  ) {}

  get name(): string | null {
    return this.identifier;
  }

  /**
   * Equal to another relation, and one dict key with it, when both name the same relation of
   * the same type and print alike, as dbt's relations compare (two adapter.get_relation() of one
   * table are equal: a package that skips a relation it has unions each table once).
   */
  [IDENTITY](): string {
    return JSON.stringify([this.constructor.name, this.database, this.schema, this.identifier, this.type, this.qualified, this.shown()]);
  }

  get table(): string | null {
    return this.identifier;
  }

  get is_table(): boolean {
    return this.type === 'table';
  }

  get is_view(): boolean {
    return this.type === 'view';
  }

  /**
   * dbt's copy that prints with or without each part (`include(database=False)`,
   * `include(schema=False)`), the parts not given as they were. The database prints only where
   * pipe prints it at all: an attached one.
   */
  get include(): unknown {
    return pyFunction(signature('include', 'database schema identifier', { database: null, schema: null, identifier: null }), (...given: unknown[]) => {
      const [database, schema, identifier] = given.map((v, i) => (v === null || v === undefined ? [this.prints().database, this.prints().schema, this.prints().identifier][i] : Boolean(v)));
      const parts = { database: database && this.qualified, schema, identifier: identifier && this.identifier !== null };
      if (!parts.database && !parts.schema && !parts.identifier) throw new JinjaError('include() leaves no part of the relation to print');
      return new IncludedRelation(this, parts);
    });
  }

  /** Like dbt's, a mapping whose `get('metadata')` names its type: what packages check a relation by (dbt_utils._is_relation). */
  get get(): unknown {
    return pyFunction(signature('get', 'key default', { default: null }), (key: unknown, fallback: unknown) => (key === 'metadata' ? { type: 'DuckDBRelation' } : fallback));
  }

  /** Which parts it prints. */
  protected prints(): { readonly database: boolean; readonly schema: boolean; readonly identifier: boolean } {
    return { database: this.qualified, schema: true, identifier: this.identifier !== null };
  }

  /** dbt's relation of the schema alone, as adapter.create_schema() and drop_schema() are given. */
  without_identifier(): Relation {
    return new Relation(this.database, this.schema, null, null, this.qualified);
  }

  /** What `{{ relation }}` prints, as dbt's render() is its str(): with its database inside a string literal (`dbt.string_literal(relation.render())`, dbt_utils.union_relations' source column). */
  render(): string {
    return this.printed();
  }

  toString(): string {
    return this.shown();
  }

  /**
   * How it prints where a template outputs it (`{{ relation }}`, a macro's SQL): during a
   * model's render, a relation of the warehouse's own database that names it prints as a
   * relation token (see checks.ts relationToken), which names the database inside a string
   * literal as dbt-duckdb prints it. Made into text otherwise (`relation | string`, `~`), it is
   * the text pipe names it by, so that string methods see the relation's own text.
   */
  printed(): string {
    const text = this.shown();
    return asTokens && this.database !== null && !this.qualified && this.identifier !== null ? relationToken(quoteIdent(this.database), text) : text;
  }

  /** How it prints in the query's code, and in messages: the warehouse's own database too before a schema of its name (see ownRelationName). */
  shown(): string {
    const named = this.database !== null && (this.qualified || schemaNamedAsDatabase(this.database, this.schema));
    const schema = named ? `${quoteIdent(this.database!)}.${quoteIdent(this.schema)}` : quoteIdent(this.schema);
    return this.identifier === null ? schema : `${schema}.${quoteIdent(this.identifier)}`;
  }
}

/** A relation printed with some of its parts left out (see Relation.include). */
class IncludedRelation extends Relation {
  constructor(
    of: Relation,
    private readonly parts: { readonly database: boolean; readonly schema: boolean; readonly identifier: boolean },
  ) {
    super(of.database, of.schema, of.identifier, of.type, of.qualified);
  }

  protected override prints(): { readonly database: boolean; readonly schema: boolean; readonly identifier: boolean } {
    return this.parts;
  }

  override printed(): string {
    return this.shown();
  }

  override shown(): string {
    const { database, schema, identifier } = this.parts;
    const parts = [...(database && this.database !== null ? [this.database] : []), ...(schema ? [this.schema] : []), ...(identifier && this.identifier !== null ? [this.identifier] : [])];
    return parts.map(quoteIdent).join('.');
  }
}

/**
 * `this` in a dbt test: it prints as pipe prints a test's `{{ this }}`, the relation the test
 * checks (`printedAs`), and names the test itself as dbt's `this` does (`this.name`,
 * `this.identifier`, `this.schema`): packages key their state by it (dbt-unit-testing).
 */
export class TestRelation extends Relation {
  constructor(
    schema: string,
    name: string,
    private readonly printedAs: string,
  ) {
    super(null, schema, name, 'table');
  }

  override printed(): string {
    return this.printedAs;
  }

  override shown(): string {
    return this.printedAs;
  }
}
