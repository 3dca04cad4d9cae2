import { homedir } from 'node:os';
import { basename, extname, resolve } from 'node:path';
import { error, hasErrors, warning, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import { didYouMean, suggest } from '../diagnostics/suggest.js';
import { secrets } from '../secrets/secrets.js';
import type { ProjectFiles } from '../project/load-project.js';
import { reservedSchema } from '../warehouse/reserved-schemas.js';
import { findProfiles } from '../project/profiles-file.js';
import type { YamlSource } from '../project/yaml-file.js';
import type { Attachment, ExtensionToLoad, Setting, SettingValue, SetupSource, WarehouseSetup } from '../warehouse/warehouse-setup.js';
import { readDuckdbSettings, settingValue } from './duckdb-settings.js';
import { DEFAULT_SCHEMA } from './model-config.js';
import { schemaNameProblem } from '../project/names.js';
import { ProfileRenderer, type Environment } from './profile-render.js';
import { asPositiveInt, checkKeys } from './validate-keys.js';
import { notAFilePath } from '../warehouse/warehouse-file.js';

/**
 * The warehouse of a dbt project, as its profile says: `dbt_project.yml` names a profile, the
 * profile in `profiles.yml` (found as dbt finds it, see profiles-file.ts) names its targets,
 * and `--target`, else `DBT_TARGET`, else the profile's `target:` picks one. The target must
 * be a dbt-duckdb one; pipe reads its file, schema, threads, and what the warehouse sets up
 * as it opens (extensions, settings, attached databases). Only the chosen target is rendered,
 * as dbt does: another target may read variables this environment does not set.
 */

export interface ProfileOptions {
  /** `--profiles-dir`: the folder of profiles.yml, from the current directory. */
  readonly profilesDir?: string;
  /** `--target`: the target of the profile to run on. */
  readonly target?: string;
  /** Where env_var(), DBT_PROFILES_DIR and DBT_TARGET are read; default the process's environment. */
  readonly env?: Environment;
  /** The folder that holds `.dbt/`; default the user's home folder. */
  readonly home?: string;
  /** The working directory, where profiles.yml is looked for after the project folder; default the process's. */
  readonly cwd?: string;
  /** The vars of the command line, which var() in profiles.yml reads. */
  readonly vars?: Readonly<Record<string, unknown>>;
}

export interface ProfileTarget {
  readonly profile: string;
  readonly target: string;
  /** profiles.yml, as diagnostics name it. */
  readonly file: string;
  /** The warehouse file `path:` names, from the project folder; absent when `pathProblem` says why. */
  readonly path?: string;
  /** Where `path:` is written. */
  readonly pathAt?: Location;
  /** Why the target names no file pipe can use (no path, in memory, MotherDuck). */
  readonly pathProblem?: Diagnostic;
  /** dbt's target schema: where models land unless they say otherwise. */
  readonly schema: string;
  readonly threads?: number;
  readonly setup: WarehouseSetup;
  /** dbt-duckdb's `external_root`: the folder of an external model's file when its location is not set, from the project folder. */
  readonly externalRoot?: string;
}

export type ProfileReading =
  /** Not a dbt project, or one whose dbt_project.yml names no profile. */
  | { readonly kind: 'none' }
  | { readonly kind: 'target'; readonly target: ProfileTarget }
  /** The profile is nowhere to be found: fine when pipe.yaml or --db name the warehouse. */
  | { readonly kind: 'missing'; readonly problem: Diagnostic }
  /** Its problems are in the diagnostics. */
  | { readonly kind: 'broken' };

/** What pipe reads of a dbt-duckdb target. */
const TARGET_KEYS = ['type', 'path', 'database', 'schema', 'threads', 'extensions', 'settings', 'attach', 'external_root'] as const;
const ATTACH_KEYS = ['path', 'alias', 'type', 'read_only', 'options'] as const;
/** dbt-duckdb keys that would change what models read: pipe refuses rather than ignore them. */
const UNSUPPORTED = ['config_options', 'secrets', 'filesystems', 'plugins', 'remote', 'use_credential_provider'];
/** dbt-duckdb keys that change nothing models read, and why pipe does without them. */
const IGNORED: Readonly<Record<string, string>> = {
  keep_open: 'pipe keeps the warehouse open while a command runs',
  retries: "pipe retries a model's transient errors as its retries: config says",
  disable_transactions: 'pipe writes every table in a transaction',
  module_paths: 'pipe runs no Python models',
};

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Setting and option names whose values are credentials, masked wherever pipe writes text. */
const SECRET_NAME_RE = /secret|password|passwd|token|credential|connection_string|(^|_)key(_|$)/i;
/** A path with a scheme (`s3://`, `md:`); one letter is a Windows drive. */
const SCHEME_RE = /^([A-Za-z][A-Za-z0-9+.-]+):/;

/** A value whose template failed to render: already reported, and not reported again as missing. */
const FAILED = Symbol('failed');

type Data = Readonly<Record<string, unknown>>;

function isMapping(value: unknown): value is Data {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `true`, or the text `true` a template rendered. */
function asBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  return undefined;
}

function isMotherDuck(path: string): boolean {
  return /^(md|motherduck):/i.test(path);
}

/**
 * Records every credential of a target for masking: the values of keys named like one
 * (`password`, `s3_secret_access_key`, `token`), and the password of a connection string
 * (`dbname=x password=y`), wherever they stand. Not a value that is also one of the target's
 * other settings (`user: postgres`, `password: postgres`): that one is shown as a setting
 * anyway, and masking it would blot out the setting's word wherever it stands (`type: ****`).
 */
function recordSecrets(target: unknown): void {
  const settings = new Set<string>();
  const credentials: unknown[] = [];
  const walk = (value: unknown, key: string): void => {
    if (typeof value === 'string' || typeof value === 'number') {
      // A template names where the value comes from; the value is recorded once rendered.
      if (SECRET_NAME_RE.test(key)) {
        if (typeof value === 'number' || !ProfileRenderer.isTemplate(value)) credentials.push(String(value));
      } else settings.add(String(value));
      if (typeof value === 'string') for (const m of value.matchAll(/password=([^\s]+)/gi)) credentials.push(m[1]);
    } else if (Array.isArray(value)) {
      for (const v of value) walk(v, key);
    } else if (isMapping(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, k);
    }
  };
  walk(target, '');
  for (const c of credentials) if (!settings.has(c as string)) secrets.record(c);
}

export function readProfile(files: Pick<ProjectFiles, 'root' | 'dbtProject' | 'dbtProjectUnread'>, options: ProfileOptions, diagnostics: Diagnostic[]): ProfileReading {
  const asked = [options.profilesDir !== undefined ? '--profiles-dir' : '', options.target !== undefined ? '--target' : ''].filter(Boolean);
  const dbt = files.dbtProject;
  if (!dbt) {
    // A dbt_project.yml that could not be read is there: its error is what to fix.
    if (asked.length > 0 && !files.dbtProjectUnread) {
      diagnostics.push(
        error('not-dbt-project', `${asked.join(' and ')} ${asked.length > 1 ? 'apply' : 'applies'} to dbt projects: ${files.root} has no dbt_project.yml`, undefined, {
          hint: "a pipe project's warehouse and threads are set in pipe.yaml (warehouse:, threads:)",
        }),
      );
    }
    return { kind: 'none' };
  }
  const name = dbt.data.profile;
  const profileAt: Location = { file: dbt.file, line: dbt.keyLine('profile') };
  if (name === undefined) {
    if (asked.length > 0) diagnostics.push(error('no-profile', `${asked.join(' and ')} given, but ${dbt.file} names no profile`, { file: dbt.file }, { hint: 'add profile: NAME, the profile of profiles.yml to run on' }));
    return { kind: 'none' };
  }
  if (typeof name !== 'string' || name.trim() === '') {
    diagnostics.push(error('bad-config', 'profile must be the name of a profile in profiles.yml', profileAt));
    return { kind: 'broken' };
  }
  const env = options.env ?? process.env;
  const search = findProfiles(files.root, { flag: options.profilesDir, env, home: options.home ?? homedir(), cwd: options.cwd ?? process.cwd() }, diagnostics);
  if (search.kind === 'refused' || (search.kind === 'found' && !search.yaml)) return { kind: 'broken' };
  // Asked for on the command line, the profile must be there; else pipe.yaml or --db may stand in for it.
  const missing = (problem: Diagnostic): ProfileReading => {
    if (asked.length === 0) return { kind: 'missing', problem };
    diagnostics.push(problem);
    return { kind: 'broken' };
  };
  const instead = 'or set warehouse: in pipe.yaml';
  if (search.kind === 'none') {
    return missing(
      error('no-profile', `${dbt.file} names the profile '${name}', but there is no profiles.yml in ${search.looked.map((p) => p.replace(/[/\\]profiles\.yml$/, '')).join(' nor in ')}`, profileAt, {
        hint: `pass --profiles-dir DIR (or set DBT_PROFILES_DIR) to the folder of profiles.yml, ${instead}`,
      }),
    );
  }
  const yaml = search.yaml as YamlSource;
  if (yaml.data[name] === undefined) {
    const names = Object.keys(yaml.data).filter((k) => k !== 'config');
    return missing(
      error('no-profile', `${dbt.file} names the profile '${name}', and ${yaml.file} has no profile of that name`, profileAt, {
        hint: didYouMean(name, names) ?? `${names.length > 0 ? `its profiles: ${names.join(', ')}; ` : ''}add it, ${instead}`,
        related: [{ message: 'the profiles read', location: { file: yaml.file } }],
      }),
    );
  }
  const start = diagnostics.length;
  const target = new TargetReader(files.root, yaml, name, new ProfileRenderer(env, options.vars), diagnostics).read(options.target ?? (env.DBT_TARGET || undefined), options.target !== undefined);
  return target && !hasErrors(diagnostics.slice(start)) ? { kind: 'target', target } : { kind: 'broken' };
}

/** Reads one target of one profile, reporting each problem at its line. */
class TargetReader {
  private base: string[] = [];
  private owner = '';

  constructor(
    private readonly root: string,
    private readonly yaml: YamlSource,
    private readonly profile: string,
    private readonly renderer: ProfileRenderer,
    private readonly diagnostics: Diagnostic[],
  ) {}

  /** The line of a key under the target (or of the profile), else of the nearest key above it. */
  private at(path: readonly string[]): Location {
    for (let n = path.length; n > 0; n--) {
      const line = this.yaml.pathLine(path.slice(0, n));
      if (line !== undefined) return { file: this.yaml.file, line };
    }
    return { file: this.yaml.file };
  }

  private bad(path: readonly string[], message: string, hint?: string): undefined {
    this.diagnostics.push(error('bad-profile', message, this.at(path), { hint }));
    return undefined;
  }

  /** The value with its templates rendered; a value whose template fails becomes FAILED. */
  private rendered(value: unknown, path: readonly string[]): unknown {
    if (typeof value === 'string') {
      if (!ProfileRenderer.isTemplate(value)) return value;
      const r = this.renderer.render(value);
      if ('text' in r) return r.text;
      this.bad(path, `${path.at(-1)}: ${r.problem}`);
      return FAILED;
    }
    if (Array.isArray(value)) return value.map((v, i) => this.rendered(v, [...path, String(i)]));
    if (isMapping(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.rendered(v, [...path, k])]));
    return value;
  }

  read(asked: string | undefined, byFlag: boolean): ProfileTarget | undefined {
    const profile = this.yaml.data[this.profile];
    const where = `profile '${this.profile}'`;
    if (!isMapping(profile)) return this.bad([this.profile], `${where} must be a mapping with target: and outputs:`);
    const outputs = profile.outputs;
    if (!isMapping(outputs)) return this.bad([this.profile, 'outputs'], `${where} has no outputs: (a mapping of target names to their settings)`);
    let name: string;
    let from: string;
    if (asked !== undefined) {
      name = asked;
      from = byFlag ? '--target' : 'DBT_TARGET';
    } else if (profile.target !== undefined) {
      const t = this.rendered(profile.target, [this.profile, 'target']);
      if (t === FAILED) return undefined;
      if (typeof t !== 'string' || t === '') return this.bad([this.profile, 'target'], 'target must name one of the outputs');
      name = t;
      from = 'its target:';
    } else {
      // dbt's own choice when a profile names no target.
      name = 'default';
      from = 'no target: given, so the one named default';
    }
    const targets = Object.keys(outputs);
    if (outputs[name] === undefined) {
      return this.bad(
        [this.profile, from === 'its target:' ? 'target' : 'outputs'],
        `${where} has no target '${name}' (${from})`,
        didYouMean(name, targets) ?? `its targets: ${targets.join(', ')}`,
      );
    }
    this.base = [this.profile, 'outputs', name];
    this.owner = `profile '${this.profile}', target '${name}'`;
    if (!isMapping(outputs[name])) return this.bad(this.base, `target '${name}' of ${where} must be a mapping of its settings`);
    // Credentials first: a problem found below may print the line that holds one.
    recordSecrets(outputs[name]);
    const data = this.rendered(outputs[name], this.base) as Data;
    recordSecrets(data);
    return this.target(name, data, targets);
  }

  private key(key: string): string[] {
    return [...this.base, key];
  }

  private target(name: string, data: Data, targets: readonly string[]): ProfileTarget | undefined {
    if (data.type === FAILED) return undefined;
    if (data.type !== 'duckdb') {
      const duckdb = targets.filter((t) => {
        const o = (this.yaml.data[this.profile] as Data).outputs as Data;
        return isMapping(o[t]) && o[t].type === 'duckdb';
      });
      const problem = data.type === undefined ? `target '${name}' has no type:` : `target '${name}' is of type '${String(data.type)}'`;
      return this.bad(data.type === undefined ? this.base : this.key('type'), `${problem}: pipe runs on DuckDB, so it reads dbt-duckdb targets only (type: duckdb)`, duckdb.length > 0 ? `choose one with --target: ${duckdb.join(', ')}` : 'add a target of type duckdb and choose it with --target');
    }
    this.checkKeys(data);
    const { path, pathProblem } = this.path(data);
    this.database(data, path);
    const schema = data.schema === undefined || data.schema === FAILED ? DEFAULT_SCHEMA : data.schema;
    // Empty is dbt's too: a generate_schema_name that never uses it makes every schema itself
    // (a node whose schema comes out empty is refused at the node).
    if (typeof schema !== 'string' || (schema !== '' && schemaNameProblem(schema, true) !== undefined)) this.bad(this.key('schema'), `schema ${schemaNameProblem(String(schema), true)}`);
    else if (reservedSchema(schema) !== undefined) this.bad(this.key('schema'), reservedSchema(schema)!);
    const threads = data.threads === undefined || data.threads === FAILED ? undefined : asPositiveInt(data.threads);
    if (data.threads !== undefined && data.threads !== FAILED && threads === undefined) this.bad(this.key('threads'), 'threads must be a whole number of at least 1');
    const setup: WarehouseSetup = { extensions: this.extensions(data.extensions), settings: this.settings(data.settings), attachments: this.attachments(data.attach) };
    let externalRoot: string | undefined;
    if (data.external_root !== undefined && data.external_root !== FAILED) {
      if (typeof data.external_root === 'string' && data.external_root.trim() !== '' && !SCHEME_RE.test(data.external_root)) externalRoot = data.external_root;
      else this.bad(this.key('external_root'), 'external_root must be a folder (from the project folder); remote roots (s3://, ...) are not supported');
    }
    return { profile: this.profile, target: name, file: this.yaml.file, path, ...(path !== undefined ? { pathAt: this.at(this.key('path')) } : {}), pathProblem, schema: String(schema), threads, setup, ...(externalRoot === undefined ? {} : { externalRoot }) };
  }

  private checkKeys(data: Data): void {
    const rest: Record<string, unknown> = {};
    for (const key of Object.keys(data)) {
      if (UNSUPPORTED.includes(key)) {
        this.bad(this.key(key), `${key}: pipe does not support this dbt-duckdb setting`, `pipe reads ${TARGET_KEYS.join(', ')} of a target; remove ${key}, or run on a target without it`);
      } else if (IGNORED[key] !== undefined) {
        this.diagnostics.push(warning('ignored-key', `${key}: ignored, ${IGNORED[key]}`, this.at(this.key(key))));
      } else {
        rest[key] = data[key];
      }
    }
    // A key close to one pipe reads is a typo, refused; any other dbt ignores, and so does pipe, said.
    const typos: Record<string, unknown> = {};
    for (const key of Object.keys(rest)) {
      if ((TARGET_KEYS as readonly string[]).includes(key) || suggest(key, [...TARGET_KEYS, ...Object.keys(IGNORED)]) !== undefined) typos[key] = rest[key];
      else this.diagnostics.push(warning('ignored-key', `${key}: ignored, as dbt ignores a target key it does not know`, this.at(this.key(key)), { hint: `pipe reads ${TARGET_KEYS.join(', ')} of a target` }));
    }
    checkKeys(typos, TARGET_KEYS, 'dbt-duckdb target', (key) => this.at(this.key(key)), this.diagnostics);
  }

  private path(data: Data): { path?: string; pathProblem?: Diagnostic } {
    const raw = data.path;
    if (raw === FAILED) return {};
    const problem = (message: string, at = this.key('path')) => ({
      pathProblem: error('bad-profile', message, this.at(at), {
        hint: 'set path: to a DuckDB file (e.g. path: warehouse.duckdb, from the project folder), or warehouse: in pipe.yaml',
      }),
    });
    if (raw === undefined) return problem(`target has no path: dbt-duckdb would keep the database in memory, and pipe keeps its tables and run state in a file`, this.base);
    if (typeof raw !== 'string' || raw.trim() === '') return problem(`path must be the path of a DuckDB file, got ${JSON.stringify(raw)}`);
    const notFile = notAFilePath(raw);
    return notFile === undefined ? { path: raw } : problem(`path ${notFile}`);
  }

  /** dbt-duckdb names the database after the file's stem and refuses a `database:` that differs. */
  private database(data: Data, path: string | undefined): void {
    const db = data.database;
    if (db === undefined || db === FAILED) return;
    if (typeof db !== 'string' || db === '') {
      this.bad(this.key('database'), 'database must be a name');
      return;
    }
    const raw = data.path;
    const stem = path !== undefined ? basename(path, extname(path)) : raw === undefined || (typeof raw === 'string' && raw.startsWith(':memory:')) ? 'memory' : undefined;
    if (stem === undefined || db === stem) return;
    this.bad(
      this.key('database'),
      `database '${db}' does not match path: DuckDB names a database after its file (here '${stem}'), and dbt-duckdb refuses a database: that differs`,
      `leave database: out, or set it to ${stem}`,
    );
  }

  private source(path: readonly string[]): SetupSource {
    return { owner: this.owner, at: this.at(path) };
  }

  private extensions(value: unknown): ExtensionToLoad[] {
    if (value === undefined || value === FAILED) return [];
    const key = this.key('extensions');
    if (!Array.isArray(value)) return this.bad(key, 'extensions must be a list of extension names, e.g. [httpfs, parquet]') ?? [];
    const out: ExtensionToLoad[] = [];
    value.forEach((item: unknown, i) => {
      const path = [...key, String(i)];
      if (item === FAILED) return;
      const before = this.diagnostics.length;
      if (isMapping(item)) checkKeys(item, ['name', 'repo'], 'extension', (k) => this.at([...path, k]), this.diagnostics);
      if (this.diagnostics.length > before) return;
      const { name, repo } = isMapping(item) ? item : { name: item };
      if (typeof name !== 'string' || !NAME_RE.test(name)) {
        this.bad(path, `extensions: each entry is an extension's name (letters, digits, underscores), or name: with repo:, got ${JSON.stringify(name ?? item)}`);
      } else if (repo !== undefined && (typeof repo !== 'string' || repo === '')) {
        this.bad([...path, 'repo'], `extensions: repo of ${name} must be a repository name or URL`);
      } else {
        out.push({ name, repo, source: this.source(path) });
      }
    });
    return out;
  }

  /** A value a setting or an option may take. */
  private value(name: string, value: unknown, path: readonly string[], what: string): SettingValue | undefined {
    const v = settingValue(value);
    return v === undefined ? this.bad(path, `${what} ${name} must be a text, a number or true/false`) : v;
  }

  private settings(value: unknown): Setting[] {
    return readDuckdbSettings(value, this.key('settings'), {
      bad: (path, message, hint) => this.bad(path, message, hint),
      source: (path) => this.source(path),
      skip: (v) => v === FAILED,
    });
  }

  private attachments(value: unknown): Attachment[] {
    if (value === undefined || value === FAILED) return [];
    const key = this.key('attach');
    if (!Array.isArray(value)) return this.bad(key, 'attach must be a list of databases, each with path: (and alias:, type:, read_only:, options:)') ?? [];
    const out: Attachment[] = [];
    const aliases = new Map<string, number>();
    value.forEach((item: unknown, i) => {
      const path = [...key, String(i)];
      if (item === FAILED) return;
      if (!isMapping(item)) {
        this.bad(path, 'attach: each entry is a mapping with path: (and alias:, type:, read_only:, options:)');
        return;
      }
      const a = this.attachment(item, path);
      if (!a) return;
      const alias = a.alias?.toLowerCase();
      if (alias !== undefined && aliases.has(alias)) {
        this.bad([...path, 'alias'], `attach: alias ${a.alias} is taken by attach entry ${aliases.get(alias)! + 1}`);
        return;
      }
      if (alias !== undefined) aliases.set(alias, i);
      out.push(a);
    });
    return out;
  }

  private attachment(item: Data, path: readonly string[]): Attachment | undefined {
    const at = (k: string) => [...path, k];
    const start = this.diagnostics.length;
    checkKeys(item, ATTACH_KEYS, 'attach', (k) => this.at(at(k)), this.diagnostics);
    const { alias, type, options } = item;
    let file = item.path;
    if (file === FAILED || alias === FAILED || type === FAILED) return undefined;
    if (typeof file !== 'string' || file.trim() === '') return this.bad(path, 'attach: each entry needs path:, the database to attach');
    if (isMotherDuck(file)) return this.bad(at('path'), 'attach: MotherDuck databases cannot be attached: pipe runs on local DuckDB');
    if (!SCHEME_RE.test(file) && !file.startsWith(':memory:')) file = resolve(this.root, file);
    if (alias !== undefined && (typeof alias !== 'string' || alias === '')) this.bad(at('alias'), 'attach: alias must be a name');
    if (type !== undefined && (typeof type !== 'string' || !NAME_RE.test(type))) this.bad(at('type'), 'attach: type must be the name of a database type, e.g. sqlite or postgres');
    const readOnly = item.read_only === undefined ? false : asBoolean(item.read_only);
    if (readOnly === undefined) this.bad(at('read_only'), 'attach: read_only must be true or false');
    const opts: Record<string, SettingValue> = {};
    if (options !== undefined && options !== FAILED && !isMapping(options)) this.bad(at('options'), 'attach: options must be a mapping of ATTACH options to values');
    else if (isMapping(options)) {
      for (const [name, raw] of Object.entries(options)) {
        if (raw === FAILED) continue;
        if (!NAME_RE.test(name)) this.bad([...at('options'), name], `attach: '${name}' is not the name of an ATTACH option`);
        const v = this.value(name, raw, [...at('options'), name], 'option');
        if (v !== undefined) opts[name] = v;
      }
    }
    if (hasErrors(this.diagnostics.slice(start))) return undefined;
    return { path: file as string, alias: alias as string | undefined, type: type as string | undefined, readOnly: readOnly ?? false, options: opts, source: this.source(path) };
  }
}
