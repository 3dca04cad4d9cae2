/**
 * DuckDB's client, loaded when pipe first opens a DuckDB instance: loading its native library
 * takes a tenth of a second, which a command that opens none (`pipe compile`, `ls` or `dag`
 * of a project whose warehouse does not exist yet) does not spend.
 */
export const duckdbClient = (): Promise<typeof import('@duckdb/node-api')> => import('@duckdb/node-api');
