/**
 * DuckDB's client, loaded when pipe first opens a DuckDB instance: loading its native library
 * takes a tenth of a second, which a command that opens none (`pipe compile`, `ls` or `dag`
 * of a project whose warehouse does not exist yet) does not spend.
 *
 * The client decodes every text value it reads with a TextDecoder that drops a leading U+FEFF
 * (a byte order mark, which only a file's start means): a value beginning with one came back
 * without it (`pipe show`, check samples, what run_query gives a template, which may build SQL
 * from it). Its decoder is replaced, once, by one that keeps the character.
 */
let loaded: Promise<typeof import('@duckdb/node-api')> | undefined;

export const duckdbClient = (): Promise<typeof import('@duckdb/node-api')> =>
  (loaded ??= (async () => {
    const [client, accessors] = await Promise.all([import('@duckdb/node-api'), import('@duckdb/node-api/lib/vectors/dataAccessors.js')]);
    // CommonJS: the module's exports, which the client reads its decoder from at each value.
    const exported = (accessors as unknown as { default: { textDecoder: TextDecoder } }).default;
    exported.textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
    return client;
  })());
