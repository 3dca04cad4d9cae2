import type { Location } from '../diagnostics/diagnostics.js';
import type { Step } from '../plan/task.js';
import { WarehouseError, type WarehouseSession } from '../warehouse/warehouse.js';
import { StatementError } from './task-errors.js';

/**
 * An enforced contract, compared as dbt compares it: the query's columns and the properties
 * file's must be as many, each of the query's must be declared under its exact name, with the
 * same type once the declared type is read as the engine reads it (`int` is INTEGER, `text`
 * is VARCHAR). Their order does not matter. A difference is reported as dbt reports it: one
 * table row per column that differs.
 */

type ContractStep = Extract<Step, { kind: 'contract' }>;

interface Row {
  readonly column: string;
  readonly definition: string;
  readonly contract: string;
  readonly reason: string;
}

export async function contractMismatch(session: WarehouseSession, step: ContractStep): Promise<{ message: string; location: Location } | undefined> {
  const { dialect } = session;
  const described = `SELECT * FROM (\n${step.sql}\n) AS model`;
  // The query's own error (a column it names that is not there) is located in the model's file, as the build's would be.
  const query = await dialect.describeQuery(session, described).catch((e: unknown) => {
    throw e instanceof WarehouseError ? new StatementError(e, [described], dialect) : e;
  });
  let declared;
  try {
    declared = await dialect.describeQuery(session, dialect.declaredColumns(step.columns));
  } catch (e) {
    if (!(e instanceof WarehouseError)) throw e;
    return unknownType(session, step);
  }
  const inContract = new Map(declared.map((c) => [c.name, c.type]));
  const inQuery = new Map(query.map((c) => [c.name, c.type]));
  const rows: Row[] = [];
  for (const c of query) {
    const type = inContract.get(c.name);
    if (type === undefined) rows.push({ column: c.name, definition: c.type, contract: '', reason: 'missing in contract' });
    else if (type !== c.type) rows.push({ column: c.name, definition: c.type, contract: type, reason: 'data type mismatch' });
  }
  for (const c of declared) if (!inQuery.has(c.name)) rows.push({ column: c.name, definition: '', contract: c.type, reason: 'missing in definition' });
  if (rows.length === 0) return undefined;
  // At the first column whose declared type differs, where its data_type is written; else the contract's own line.
  const mismatched = rows.find((r) => r.reason === 'data type mismatch');
  const at = mismatched && step.columns.find((c) => c.name.toLowerCase() === mismatched.column.toLowerCase())?.location;
  return {
    message:
      "this model has an enforced contract that failed: the name, data_type and number of columns in the contract must match the columns of the model's query\n\n" +
      table(rows),
    location: at ?? step.location,
  };
}

/** A declared type the engine does not know, at its column. */
async function unknownType(session: WarehouseSession, step: ContractStep): Promise<{ message: string; location: Location }> {
  for (const c of step.columns) {
    try {
      await session.dialect.describeQuery(session, session.dialect.declaredColumns([c]));
    } catch (e) {
      if (!(e instanceof WarehouseError)) throw e;
      return { message: `data_type '${c.dataType}' of column ${c.name} is not a ${session.dialect.name} type: ${session.dialect.headline(e.message)}`, location: c.location };
    }
  }
  throw new Error('internal error: the declared columns of a contract failed together, and none alone');
}

function table(rows: readonly Row[]): string {
  const header = ['column_name', 'definition_type', 'contract_type', 'mismatch_reason'];
  const cells = rows.map((r) => [r.column, r.definition, r.contract, r.reason]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: readonly string[]) => `| ${c.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
