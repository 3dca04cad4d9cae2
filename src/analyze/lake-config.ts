import { isAbsolute, resolve } from 'node:path';
import { error, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import { secrets } from '../secrets/secrets.js';
import type { LakeCatalog, LakeTarget, SetupSource } from '../warehouse/warehouse-setup.js';
import { checkKeys } from './validate-keys.js';

/**
 * `warehouse:` of pipe.yaml as a mapping: a DuckLake.
 *
 *     warehouse:
 *       type: ducklake
 *       catalog: postgres:dbname=pipe host=127.0.0.1 user=${env:PGUSER}   # or lake.ducklake
 *       data_path: lake/
 *       metadata_schema: pipe_lake        # optional
 *       extension_dir: duckdb-extensions/ # optional
 *
 * Credentials come from the environment only: `${env:NAME}` in the catalog, or what libpq
 * reads itself (PGPASSWORD, ~/.pgpass). A password written into the file is refused, and one
 * read from the environment is masked wherever pipe prints or stores text.
 */

export const LAKE_KEYS = ['type', 'catalog', 'data_path', 'metadata_schema', 'extension_dir'] as const;

/** How `--db` names a lake: `ducklake:` and its catalog. */
export const LAKE_PREFIX = 'ducklake:';
const POSTGRES_PREFIX = 'postgres:';

/** Where the run logs and the key of a lake live: its data folder, else its catalog file. */
export function lakeLocation(lake: LakeTarget): string | undefined {
  return lake.dataPath ?? (lake.catalog.kind === 'file' ? lake.catalog.path : undefined);
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Fills in `${env:NAME}`; a variable that is not set is an error naming it. The value of a
 * password is recorded as a secret, masked wherever pipe prints or stores text; names (a
 * user, a host) are shown, as Postgres's own messages show them.
 */
function fillEnv(text: string, env: Env): { text: string } | { missing: string } {
  let missing: string | undefined;
  const filled = text.replace(/(password\s*=\s*)?\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, key: string | undefined, name: string) => {
    const value = env[name];
    if (value === undefined) {
      missing ??= name;
      return '';
    }
    if (key !== undefined) secrets.record(value);
    return `${key ?? ''}${value}`;
  });
  return missing === undefined ? { text: filled } : { missing };
}

/** A catalog as written (`postgres:…` or a file path from `base`), or what is wrong with it. */
export function readLakeCatalog(written: string, base: string, env: Env): { catalog: LakeCatalog } | { problem: string; hint?: string } {
  if (written.startsWith(POSTGRES_PREFIX)) {
    const raw = written.slice(POSTGRES_PREFIX.length).trim();
    if (raw === '') return { problem: 'the Postgres catalog needs a connection string, e.g. postgres:dbname=pipe host=127.0.0.1' };
    if (/(^|\s)password\s*=\s*(?!\$\{env:)/.test(raw)) {
      return { problem: 'a password is written in the catalog', hint: 'credentials come from the environment: password=${env:PGPASSWORD}, or leave it out and set PGPASSWORD (or ~/.pgpass), which Postgres reads itself' };
    }
    const filled = fillEnv(raw, env);
    if ('missing' in filled) return { problem: `the environment variable ${filled.missing} is not set`, hint: 'the catalog reads ${env:NAME} from the environment of pipe' };
    return { catalog: { kind: 'postgres', connection: filled.text } };
  }
  if (/^[a-z][a-z0-9_]*:(?!\\|\/\/)/i.test(written) && !/^[a-z]:[\\/]/i.test(written)) {
    return { problem: `pipe knows two catalogs: postgres:<connection string> and a local file (lake.ducklake); got '${written.split(':')[0]}:'` };
  }
  return { catalog: { kind: 'file', path: isAbsolute(written) ? written : resolve(base, written) } };
}

/**
 * pipe.yaml's `warehouse:` mapping as a lake. `at(path)` locates a key (`['warehouse', 'catalog']`);
 * relative paths are from `root`. Every problem is reported; a lake with one is undefined.
 */
export function readLakeConfig(
  data: Readonly<Record<string, unknown>>,
  root: string,
  at: (path: readonly string[]) => Location,
  diagnostics: Diagnostic[],
  env: Env = process.env,
): LakeTarget | undefined {
  const before = diagnostics.length;
  const key = (k: string) => at(['warehouse', k]);
  checkKeys(data, LAKE_KEYS, 'warehouse', key, diagnostics);
  if (data.type !== 'ducklake') {
    diagnostics.push(
      error('bad-config', `warehouse: type must be ducklake, got ${JSON.stringify(data.type ?? null)}`, data.type === undefined ? at(['warehouse']) : key('type'), {
        hint: 'a DuckDB file is written as a path (warehouse: warehouse.duckdb); a mapping is a DuckLake (type: ducklake)',
      }),
    );
  }
  const text = (k: string): string | undefined => {
    const v = data[k];
    if (v === undefined) return undefined;
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
    diagnostics.push(error('bad-config', `warehouse: ${k} must be a text, got ${JSON.stringify(v)}`, key(k)));
    return undefined;
  };
  const written = text('catalog');
  if (written === undefined && data.catalog === undefined) {
    diagnostics.push(error('bad-config', 'warehouse: a DuckLake needs its catalog:', at(['warehouse']), { hint: 'catalog: postgres:dbname=pipe host=127.0.0.1, or catalog: lake.ducklake for one machine' }));
  }
  const read = written === undefined ? undefined : readLakeCatalog(written, root, env);
  if (read && 'problem' in read) diagnostics.push(error('bad-config', `warehouse: catalog: ${read.problem}`, key('catalog'), { hint: read.hint }));
  const dataPath = text('data_path');
  const metadataSchema = text('metadata_schema');
  if (metadataSchema !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(metadataSchema)) {
    diagnostics.push(error('bad-config', `warehouse: metadata_schema must be a plain name (letters, digits, _), got '${metadataSchema}'`, key('metadata_schema')));
  }
  const extensionDir = text('extension_dir');
  const catalog = read && 'catalog' in read ? read.catalog : undefined;
  if (catalog?.kind === 'postgres' && dataPath === undefined && data.data_path === undefined) {
    diagnostics.push(error('bad-config', 'warehouse: a DuckLake with a Postgres catalog needs data_path: (the folder of its Parquet files)', key('catalog'), { hint: 'data_path: lake/' }));
  }
  if (diagnostics.length > before || !catalog || written === undefined) return undefined;
  const source: SetupSource = { owner: 'pipe.yaml warehouse', at: key('catalog') };
  return {
    catalog,
    ...(dataPath === undefined ? {} : { dataPath: isRemote(dataPath) ? dataPath : withSlash(resolve(root, dataPath)) }),
    ...(metadataSchema === undefined ? {} : { metadataSchema }),
    ...(extensionDir === undefined ? {} : { extensionDir: resolve(root, extensionDir) }),
    shown: `${LAKE_PREFIX}${written}`,
    source,
  };
}

/**
 * `--db ducklake:<catalog>`: the catalog from the command line (relative to the current
 * directory), the rest from pipe.yaml's lake when it has one.
 */
export function lakeFromDb(db: string, configured: LakeTarget | undefined, env: Env = process.env): { lake: LakeTarget } | { problem: string; hint?: string } {
  const written = db.slice(LAKE_PREFIX.length).trim();
  const read = readLakeCatalog(written, process.cwd(), env);
  if ('problem' in read) return { problem: `--db: ${read.problem}`, hint: read.hint };
  const lake: LakeTarget = {
    ...(configured ?? {}),
    catalog: read.catalog,
    shown: `${LAKE_PREFIX}${written}`,
    source: { owner: '--db' },
  };
  if (lakeLocation(lake) === undefined) {
    return { problem: '--db: a DuckLake with a Postgres catalog needs a data folder', hint: 'give it in pipe.yaml: warehouse: {type: ducklake, catalog: …, data_path: lake/}' };
  }
  return { lake };
}

const isRemote = (path: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(path);
/** DuckLake joins file names onto the data path as it is written. */
const withSlash = (path: string) => (path.endsWith('/') ? path : `${path}/`);
