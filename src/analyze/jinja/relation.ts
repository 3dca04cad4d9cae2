import { pyFunction, signature } from './args.js';
import { PyObject } from './values.js';

/** Where a relation lives: what `this.database`, `this.schema` and `this.identifier` say. */
export interface RelationParts {
  readonly database: string;
  readonly schema: string;
  readonly identifier: string;
}

/**
 * dbt's `this`: prints as the reference pipe resolves to the model's relation once the
 * template is rendered (so that `{{ this }}` follows a config(schema=...) anywhere in the
 * file, and a backfill's staging table), and answers `.database`, `.schema`, `.identifier`
 * (`.name` and `.table` too) from `parts`, asked when read.
 */
export class DbtRelation extends PyObject {
  readonly typeName = 'Relation';

  constructor(
    private readonly token: string,
    private readonly parts: () => RelationParts,
  ) {
    super();
  }

  override str(): string {
    return this.token;
  }
  repr(): string {
    const { database, schema, identifier } = this.parts();
    return `<Relation "${database}"."${schema}"."${identifier}">`;
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
      default:
        return undefined;
    }
  }
  override equals(other: unknown): boolean {
    return other instanceof DbtRelation && other.token === this.token;
  }
}
