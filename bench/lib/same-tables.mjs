/**
 * Whether pipe's warehouse holds what the plain SQL's does: a time compared with plain SQL
 * means something only if both built the same thing. Every table and view of the plain
 * warehouse's user schemas is compared, by row count and an order-free hash of its rows,
 * with the relation of the same name in pipe's (pipe's own `_pipe` schema aside). Floating
 * point values are compared to 12 significant digits: DuckDB sums them in parallel, in an
 * order that differs from one run to the next, so their last bits do too.
 *
 *   await differingRelations(pipeDb, plainDb) → [] when they agree, else one line per difference
 */
import { DuckDBInstance } from '@duckdb/node-api';

const quote = (name) => `"${name.replaceAll('"', '""')}"`;

export async function differingRelations(pipeDb, plainDb) {
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    await c.run(`ATTACH '${pipeDb.replaceAll("'", "''")}' AS pipe_db (READ_ONLY)`);
    await c.run(`ATTACH '${plainDb.replaceAll("'", "''")}' AS plain_db (READ_ONLY)`);
    const relations = (
      await c.runAndReadAll(
        `SELECT schema_name, table_name AS name FROM duckdb_tables() WHERE database_name = 'plain_db'
         UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = 'plain_db' AND NOT internal
         ORDER BY ALL`,
      )
    ).getRowObjects();
    const differences = [];
    for (const { schema_name: schema, name } of relations) {
      if (schema === '_pipe') continue;
      const relation = (db) => `${db}.${quote(schema)}.${quote(name)}`;
      const columns = (await c.runAndReadAll(`DESCRIBE ${relation('plain_db')}`)).getRowObjects();
      const values = columns.map(({ column_name: col, column_type: type }) =>
        /^(DOUBLE|FLOAT|REAL)$/.test(String(type)) ? `printf('%.12g', ${quote(String(col))})` : quote(String(col)),
      );
      const digest = async (db) => {
        try {
          const rows = `(SELECT ${values.join(', ')} FROM ${relation(db)}) AS t`;
          const [row] = (await c.runAndReadAll(`SELECT count(*)::BIGINT AS n, coalesce(sum(hash(t)), 0)::VARCHAR AS h FROM ${rows}`)).getRowObjects();
          return `${row.n} rows, hash ${row.h}`;
        } catch (e) {
          return `unreadable: ${e.message.split('\n')[0]}`;
        }
      };
      const [ofPipe, ofPlain] = [await digest('pipe_db'), await digest('plain_db')];
      if (ofPipe !== ofPlain) differences.push(`${schema}.${name}: pipe ${ofPipe}, plain SQL ${ofPlain}`);
    }
    if (relations.length === 0) differences.push('the plain SQL built no relation to compare');
    return differences;
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}
