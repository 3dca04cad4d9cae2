import { error, type Diagnostic, type Location } from '../../diagnostics/diagnostics.js';
import type { ModelConfig } from '../model-config.js';
import type { ConstraintSpec, NodeProperties } from './properties.js';
import { withArticle } from '../../util/english.js';

/**
 * A model's enforced contract (`contract: {enforced: true}`), from its properties entry: every
 * column with its declared type, and the constraints dbt-duckdb creates its table with (DuckDB
 * enforces not_null, unique, primary_key and check). What dbt refuses, or what pipe cannot
 * build as dbt-duckdb does, is an error at its line.
 */

/** A column of an enforced contract: its name and declared type, where the properties file declares it. */
export interface ContractColumn {
  readonly name: string;
  readonly dataType: string;
  readonly location: Location;
}

export interface ModelContract {
  readonly columns: readonly ContractColumn[];
  /** Per column, its constraints as DDL (`NOT NULL`, `CHECK (x > 0)`); a table model's only. */
  readonly constraints: ReadonlyMap<string, readonly string[]>;
  /** The model's own constraints as DDL (`PRIMARY KEY (a, b)`). */
  readonly tableConstraints: readonly string[];
  /** Where the contract is enforced. */
  readonly location: Location;
}

export function modelContract(
  name: string,
  config: ModelConfig,
  properties: NodeProperties | undefined,
  at: Location,
  diagnostics: Diagnostic[],
  /** The warehouse is a DuckLake, which keeps no constraint but NOT NULL. */
  lake = false,
): ModelContract | undefined {
  // An ephemeral model's contract is refused with its config.
  if (!config.contract || config.materialized === 'ephemeral') return undefined;
  if (lake) refuseLakeConstraints(properties, diagnostics);
  const columns: ContractColumn[] = [];
  const constraints = new Map<string, string[]>();
  const all: ConstraintSpec[] = [...(properties?.constraints ?? [])];
  for (const c of properties?.columns ?? []) {
    all.push(...(c.constraints ?? []));
    if (c.dataType === undefined || c.dataType.trim() === '') {
      diagnostics.push(error('bad-contract', `column ${c.name} of ${name} has no data_type: a model with an enforced contract declares the type of every column`, c.location));
      continue;
    }
    columns.push({ name: c.name, dataType: c.dataType, location: c.dataTypeAt ?? c.location });
    const ddl: string[] = [];
    for (const k of c.constraints ?? []) {
      const rendered = columnConstraint(k, diagnostics);
      if (rendered !== undefined) ddl.push(rendered);
    }
    if (ddl.length > 0) constraints.set(c.name, ddl);
  }
  if (columns.length === 0 && (properties?.columns.length ?? 0) === 0) {
    diagnostics.push(
      error('bad-contract', `${name} enforces a contract but declares no columns`, at, {
        hint: 'list its columns with their data_type under columns: in its properties file',
      }),
    );
    return undefined;
  }
  const tableConstraints = (properties?.constraints ?? []).flatMap((k) => {
    const rendered = modelConstraint(k, diagnostics);
    return rendered === undefined ? [] : [rendered];
  });
  if (all.length > 0 && config.materialized !== 'table') {
    diagnostics.push(
      error('unsupported', `constraints of ${withArticle(config.materialized)} model are not supported by pipe`, all[0].location, {
        hint: 'pipe creates constraints on a table model, as dbt-duckdb does; check the data with tests instead',
      }),
    );
  }
  return { columns, constraints, tableConstraints, location: at };
}

/** What a DuckLake cannot keep: every constraint but NOT NULL, refused where it is written. */
function refuseLakeConstraints(properties: NodeProperties | undefined, diagnostics: Diagnostic[]): void {
  const all = [...(properties?.constraints ?? []), ...(properties?.columns ?? []).flatMap((c) => c.constraints ?? [])];
  for (const k of all) {
    if (k.type === 'not_null' || !['unique', 'primary_key', 'check', 'custom'].includes(k.type)) continue;
    diagnostics.push(
      error('unsupported', `a ${k.type} constraint cannot be kept by a DuckLake warehouse: DuckLake keeps NOT NULL only`, k.location, {
        hint: k.type === 'check' ? 'check the values with a test (accepted_values, expression_is_true) instead' : 'check the keys with unique and not_null tests instead',
      }),
    );
  }
}

const FOREIGN_KEY =
  'pipe replaces a table by renaming a new one into its place, which DuckDB refuses for a table a foreign key references; check the relationship with a relationships test instead';

function columnConstraint(k: ConstraintSpec, diagnostics: Diagnostic[]): string | undefined {
  const expression = k.expression?.trim() ?? '';
  switch (k.type) {
    case 'not_null':
      return `NOT NULL ${expression}`.trim();
    case 'unique':
      return `UNIQUE ${expression}`.trim();
    case 'primary_key':
      return `PRIMARY KEY ${expression}`.trim();
    case 'check':
      return expression === '' ? missingExpression(k, diagnostics) : `CHECK (${expression})`;
    case 'custom':
      return expression === '' ? missingExpression(k, diagnostics) : expression;
    default:
      return refuse(k, diagnostics);
  }
}

function modelConstraint(k: ConstraintSpec, diagnostics: Diagnostic[]): string | undefined {
  const prefix = k.name === undefined ? '' : `CONSTRAINT ${k.name} `;
  const expression = k.expression?.trim() ? ` ${k.expression.trim()}` : '';
  const columns = k.columns.join(', ');
  switch (k.type) {
    case 'check':
      return expression === '' ? missingExpression(k, diagnostics) : `${prefix}CHECK (${expression.trim()})`;
    case 'unique':
    case 'primary_key':
      if (k.columns.length === 0) {
        diagnostics.push(error('bad-contract', `a model's ${k.type} constraint names its columns: columns: [...]`, k.location));
        return undefined;
      }
      return `${prefix}${k.type === 'unique' ? 'UNIQUE' : 'PRIMARY KEY'}${expression} (${columns})`;
    case 'custom':
      return expression === '' ? missingExpression(k, diagnostics) : `${prefix}${expression.trim()}`;
    default:
      return refuse(k, diagnostics);
  }
}

function missingExpression(k: ConstraintSpec, diagnostics: Diagnostic[]): undefined {
  diagnostics.push(error('bad-contract', `a ${k.type} constraint needs its expression:`, k.location));
  return undefined;
}

function refuse(k: ConstraintSpec, diagnostics: Diagnostic[]): undefined {
  diagnostics.push(
    k.type === 'foreign_key'
      ? error('unsupported', 'foreign_key constraints are not supported by pipe', k.location, { hint: FOREIGN_KEY })
      : error('bad-contract', `unknown constraint type '${k.type}'`, k.location, { hint: 'types: not_null, unique, primary_key, check, custom' }),
  );
  return undefined;
}
