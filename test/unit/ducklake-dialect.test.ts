import { describe, expect, it } from 'vitest';
import { DUCKLAKE, isCommitConflict } from '../../src/warehouse/ducklake/dialect.js';
import { attachLakeSql } from '../../src/warehouse/ducklake/ducklake-warehouse.js';
import { lakeExtensions } from '../../src/warehouse/ducklake/lake-extensions.js';
import type { LakeTarget } from '../../src/warehouse/warehouse-setup.js';

/** How pipe reads DuckLake's errors, and the statements that open a lake (their behaviour on a real lake: test/ducklake/). */

const lake = (over: Partial<LakeTarget> = {}): LakeTarget => ({
  catalog: { kind: 'postgres', connection: "dbname=pipe host=127.0.0.1 application_name='x'" },
  dataPath: '/data/lake/',
  shown: 'ducklake:postgres:dbname=pipe',
  source: { owner: 'test' },
  ...over,
});

describe('the DuckLake dialect', () => {
  it('reads a commit refused by another writer as transient, to be run again', () => {
    const e = DUCKLAKE.classify(new Error('TransactionContext Error: Failed to commit: Failed to commit DuckLake transaction.\nConflict: table "b" was altered'));
    expect(e).toMatchObject({ kind: 'TransactionContext', errorClass: 'transient' });
    expect(isCommitConflict(e)).toBe(true);
    expect(isCommitConflict(DUCKLAKE.classify(new Error('Binder Error: column "x" not found')))).toBe(false);
  });

  it("says a lost catalog's Postgres in words, transient, without the connection string or the catalog's query", () => {
    const refused = DUCKLAKE.classify(
      new Error(
        'IO Error: Failed to query most recent snapshot for DuckLake: Unable to connect to Postgres at "dbname=shop host=db.internal port=5433 user=pipe password=s3cret": connection to server at "10.0.0.5", port 5433 failed: FATAL:  the database system is shutting down\n\n\nLINE 2: \tSELECT * FROM postgres_query(\'__ducklake_metadata_lake\',\n                      ^',
      ),
    );
    expect(refused).toMatchObject({ errorClass: 'transient', message: "lost the lake's catalog (its Postgres at db.internal:5433/shop): the database system is shutting down; run it again once Postgres answers" });
    const broke = DUCKLAKE.classify(
      new Error('TransactionContext Error: Failed to commit: Failed to commit: Failed to execute query "COMMIT": server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request.\n'),
    );
    expect(broke).toMatchObject({ errorClass: 'transient', message: "lost the lake's catalog (its Postgres): server closed the connection unexpectedly; run it again once Postgres answers" });
    // Reading a table's files as the connection broke: DuckDB calls it a Binder Error.
    const reading = DUCKLAKE.classify(
      new Error(
        'Binder Error: Failed to get data file list from DuckLake: Failed to prepare query "SELECT data_file_id, value_count, min_value, max_value\n         FROM "public".ducklake_file_column_stats\n         WHERE column_id = 2 AND table_id = 14": server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request.\n',
      ),
    );
    expect(reading).toMatchObject({ errorClass: 'transient', message: "lost the lake's catalog (its Postgres): server closed the connection unexpectedly; run it again once Postgres answers" });
    // A commit on a connection already gone: Postgres has no words left, the rollback after it fails bare.
    const gone = DUCKLAKE.classify(new Error('TransactionContext Error: Failed to commit: Failed to execute query "ROLLBACK": '));
    expect(gone).toMatchObject({ errorClass: 'transient', message: "lost the lake's catalog (its Postgres): its connection is gone; run it again once Postgres answers" });
  });

  it('says what to write instead of what DuckLake cannot store', () => {
    expect(DUCKLAKE.classify(new Error('Invalid Input Error: Failed to convert DuckDB type to DuckLake - unsupported type ENUM(\'a\', \'b\')')).message).toContain('cast the column to VARCHAR');
    expect(DUCKLAKE.classify(new Error('Not implemented Error: PRIMARY KEY/UNIQUE constraints are not supported in DuckLake')).message).toContain('check keys and values with tests instead');
    expect(DUCKLAKE.classify(new Error('Not implemented Error: DuckLake does not support indexes')).errorClass).toBe('permanent');
  });

  it('attaches the lake with its data folder and catalog schema, read-only for readers', () => {
    expect(attachLakeSql(lake({ metadataSchema: 'meta' }), true)).toBe(
      `ATTACH 'ducklake:postgres:dbname=pipe host=127.0.0.1 application_name=''x''' AS "lake" (DATA_PATH '/data/lake/', METADATA_SCHEMA 'meta', READ_ONLY)`,
    );
    expect(attachLakeSql(lake({ catalog: { kind: 'file', path: '/p/lake.ducklake' }, dataPath: undefined }), false)).toBe(`ATTACH 'ducklake:/p/lake.ducklake' AS "lake"`);
  });

  it('needs postgres_scanner for a Postgres catalog and httpfs for remote data', () => {
    expect(lakeExtensions(lake())).toEqual(['ducklake', 'postgres_scanner']);
    expect(lakeExtensions(lake({ catalog: { kind: 'file', path: '/l.ducklake' }, dataPath: 's3://bucket/lake/' }))).toEqual(['ducklake', 'httpfs']);
  });
});
