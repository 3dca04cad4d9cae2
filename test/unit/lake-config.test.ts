import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lakeFromDb, readLakeCatalog } from '../../src/analyze/lake-config.js';
import { openProject } from '../../src/commands/open-project.js';
import { DiagnosticError, type Diagnostic } from '../../src/diagnostics/diagnostics.js';
import { secrets } from '../../src/secrets/secrets.js';

/** `warehouse:` as a DuckLake: read once, every mistake at its pipe.yaml line, credentials from the environment only. */

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

function projectWith(pipeYaml: string): string {
  const root = mkdtempSync(join(tmpdir(), 'pipe-lake-config-'));
  roots.push(root);
  mkdirSync(join(root, 'models'));
  writeFileSync(join(root, 'models', 'a.sql'), 'select 1 as a\n');
  writeFileSync(join(root, 'pipe.yaml'), pipeYaml);
  return root;
}

function problems(pipeYaml: string): string[] {
  try {
    openProject({ project: projectWith(pipeYaml) });
  } catch (e) {
    if (e instanceof DiagnosticError) return e.diagnostics.map((d: Diagnostic) => `pipe.yaml:${d.location?.line}: ${d.message}`);
    throw e;
  }
  return [];
}

describe('a DuckLake warehouse in pipe.yaml', () => {
  it('reads a Postgres catalog with ${env:…}, its data folder from the project', () => {
    process.env.PIPE_LAKE_TEST_USER = 'lake_writer_7';
    process.env.PIPE_LAKE_TEST_PASSWORD = 'pw-from-env-42';
    const root = projectWith(
      'warehouse:\n  type: ducklake\n  catalog: postgres:dbname=pipe host=127.0.0.1 user=${env:PIPE_LAKE_TEST_USER} password=${env:PIPE_LAKE_TEST_PASSWORD}\n  data_path: lake\n  metadata_schema: pipe_meta\n',
    );
    const project = openProject({ project: root });
    const lake = project.warehouseSetup.lake!;
    expect(lake.catalog).toEqual({ kind: 'postgres', connection: 'dbname=pipe host=127.0.0.1 user=lake_writer_7 password=pw-from-env-42' });
    expect(lake.dataPath).toBe(`${join(root, 'lake')}/`);
    expect(lake.metadataSchema).toBe('pipe_meta');
    expect(project.warehousePath).toBe(join(root, 'lake'));
    // What messages show keeps the placeholders; a password read is masked wherever text leaves pipe.
    expect(lake.shown).toContain('password=${env:PIPE_LAKE_TEST_PASSWORD}');
    expect(secrets.mask('user=lake_writer_7 password=pw-from-env-42')).toBe('user=lake_writer_7 password=****');
  });

  it('reports each mistake at its line', () => {
    delete process.env.PIPE_LAKE_TEST_MISSING;
    expect(problems('name: x\nwarehouse:\n  type: ducklake\n  catalog: postgres:dbname=pipe user=${env:PIPE_LAKE_TEST_MISSING}\n  data_path: lake/\n')).toEqual([
      'pipe.yaml:4: warehouse: catalog: the environment variable PIPE_LAKE_TEST_MISSING is not set',
    ]);
    expect(problems('warehouse:\n  type: ducklake\n  catalog: postgres:dbname=pipe password=hunter2hunter\n  data_path: lake/\n')).toEqual([
      'pipe.yaml:3: warehouse: catalog: a password is written in the catalog',
    ]);
    expect(problems('warehouse:\n  type: ducklake\n  catalog: postgres:dbname=pipe\n')).toEqual([
      'pipe.yaml:3: warehouse: a DuckLake with a Postgres catalog needs data_path: (the folder of its Parquet files)',
    ]);
    // The first of the warehouse's problems stops the command; the analysis reports them all.
    expect(problems('warehouse:\n  type: ducklake\n  catalog: lake.ducklake\n  data_pth: x/\n')).toEqual(["pipe.yaml:4: unknown warehouse key 'data_pth'"]);
    expect(problems('warehouse:\n  type: iceberg\n  catalog: lake.ducklake\n')).toEqual(['pipe.yaml:2: warehouse: type must be ducklake, got "iceberg"']);
    expect(problems('warehouse:\n  type: ducklake\n  catalog: mysql:db=x\n')).toEqual([
      "pipe.yaml:3: warehouse: catalog: pipe knows two catalogs: postgres:<connection string> and a local file (lake.ducklake); got 'mysql:'",
    ]);
  });

  it('takes a lake from --db, the rest from pipe.yaml', () => {
    const root = projectWith('warehouse:\n  type: ducklake\n  catalog: lake.ducklake\n  data_path: files/\n');
    const project = openProject({ project: root, db: 'ducklake:postgres:dbname=other host=127.0.0.1' });
    expect(project.warehouseSetup.lake).toMatchObject({ catalog: { kind: 'postgres', connection: 'dbname=other host=127.0.0.1' }, dataPath: `${join(root, 'files')}/` });
    // A DuckDB file on the command line replaces the lake.
    expect(openProject({ project: root, db: join(root, 'w.duckdb') }).warehouseSetup.lake).toBeUndefined();
    expect(lakeFromDb('ducklake:postgres:dbname=x', undefined)).toMatchObject({ problem: '--db: a DuckLake with a Postgres catalog needs a data folder' });
    expect(readLakeCatalog('C:\\lakes\\a.ducklake', '/p', {})).toMatchObject({ catalog: { kind: 'file' } });
  });
});
