import { error, type Diagnostic } from '../diagnostics/diagnostics.js';
import { didYouMean } from '../diagnostics/suggest.js';
import type { SourceNode, SourceRead } from '../analyze/sources.js';
import { sqlPieces } from '../sql/sql-text.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';

/**
 * Whether the tables sources read are in the warehouse, and how a missing one is said: at the
 * source's entry in its properties file. Asked before a run (commands/preflight-sources.ts)
 * and, for a query rendered as its task runs, once it is rendered (execute/render-at-run.ts).
 */

export type Found = { kind: 'found' } | { kind: 'missing'; names: string[] } | { kind: 'no-database'; databases: string[] };

/** The relations of each database a source names, read once; names are compared as the engine compares unquoted ones. */
export class RelationsByDatabase {
  private readonly byDatabase = new Map<string, Promise<(readonly [schema: string, name: string])[]>>();
  private databases?: Promise<string[]>;

  constructor(private readonly session: WarehouseSession) {}

  async find(database: string | undefined, schema: string, name: string): Promise<Found> {
    if (database !== undefined) {
      this.databases ??= this.session.query(this.session.dialect.databases()).then((rows) => rows.map((r) => String(r.name)));
      const databases = await this.databases;
      if (!databases.some((d) => d.toLowerCase() === database.toLowerCase())) return { kind: 'no-database', databases };
    }
    const key = database?.toLowerCase() ?? '';
    let relations = this.byDatabase.get(key);
    if (!relations) {
      relations = this.session.query(this.session.dialect.relationsIn(database)).then((rows) => rows.map((r) => [String(r.schema_name), String(r.name)] as const));
      this.byDatabase.set(key, relations);
    }
    const all = await relations;
    const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
    return all.some(([s, n]) => same(s, schema) && same(n, name)) ? { kind: 'found' } : { kind: 'missing', names: all.map(([s, n]) => `${s}.${n}`) };
  }
}

/** A source whose table (or database) the warehouse does not have, said at its entry. */
export function absentSource(
  s: SourceNode,
  reads: Extract<SourceRead, { kind: 'relation' }>,
  found: Exclude<Found, { kind: 'found' }>,
  /** The project's seed of the table's name, which loads another relation. */
  seed?: { readonly seed: string; readonly relation: string },
): Diagnostic {
  if (found.kind === 'no-database') {
    return error('missing-source', `source ${s.name} reads the database '${reads.database}', which is not attached to the warehouse`, s.location, {
      hint: didYouMean(reads.database!, found.databases) ?? `databases: ${found.databases.join(', ')}`,
    });
  }
  return error('missing-source', `source ${s.name}: ${s.relation} does not exist in the ${reads.database === undefined ? 'warehouse' : `database '${reads.database}'`}`, s.location, {
    hint:
      (seed && `the project's seed ${seed.seed} loads ${seed.relation}: to read it, give the source that schema: (a source over a seed's table is loaded by the seed, before what reads it)`) ??
      didYouMean(`${reads.schema}.${reads.identifier}`, found.names) ??
      'pipe reads a source and never builds it: load the table first, or correct the schema: or identifier: of the source',
  });
}

/** The SQL with its comments blanked out (strings and quoted names kept: a relation is written with quotes). */
export function codeOf(sql: string): string {
  return sqlPieces(sql)
    .map((p) => (p.kind === 'comment' ? ' ' : sql.slice(p.start, p.end)))
    .join('');
}

/**
 * The tables of the sources a query rendered as its task runs names outside comments that the
 * warehouse does not have: its task fails before it writes anything, at the source's entry. A
 * table the rendered query does not name (the template found it missing and reads something
 * else) is not asked for.
 */
export async function absentRenderedSources(session: WarehouseSession, sources: readonly SourceNode[], sql: string): Promise<Diagnostic[]> {
  const relations = new RelationsByDatabase(session);
  const out: Diagnostic[] = [];
  let code: string | undefined;
  for (const s of sources) {
    const reads = s.reads;
    // A seed of the project loads it, before what reads it.
    if (reads.kind !== 'relation' || s.loadedBy !== undefined || !sql.includes(s.relation)) continue;
    code ??= codeOf(sql);
    if (!code.includes(s.relation)) continue;
    const found = await relations.find(reads.database, reads.schema, reads.identifier);
    if (found.kind !== 'found') out.push(absentSource(s, reads, found));
  }
  return out;
}
