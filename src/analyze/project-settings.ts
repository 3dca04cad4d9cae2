import { templateValue } from './yaml-floats.js';
import { Cron } from 'croner';
import { cronPattern, neverFiresByCalendar } from './cron-calendar.js';
import { error, warning, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import { didYouMean } from '../diagnostics/suggest.js';
import { asPositiveInt, checkKeys } from './validate-keys.js';
import { DURATION_FORMS, parseDuration, readRetry } from './model-config.js';
import { parseCliSelection } from '../graph/selection-spec.js';
import { readSelectorDefinitions, type SelectorDefinitions } from './selector-definitions.js';
import { redactUrl } from '../secrets/secrets.js';
import type { PipelineSource, ProjectFiles } from '../project/load-project.js';
import { PROJECT_FILE } from '../project/load-project.js';
import { NO_SETUP, type LakeTarget, type Setting, type SettingValue, type WarehouseSetup } from '../warehouse/warehouse-setup.js';
import { notAFilePath } from '../warehouse/warehouse-file.js';
import { querySettingsOf, readDuckdbSettings } from './duckdb-settings.js';
import { lakeLocation, readLakeConfig } from './lake-config.js';
import { DEFAULT_SCHEMA } from './model-config.js';
import { readProfile, type ProfileOptions, type ProfileTarget } from './profile.js';

/**
 * `pipe.yaml`, all of it optional, and for a dbt project what its profile target adds:
 * pipe.yaml wins where both say something.
 */
export interface ProjectSettings {
  readonly name?: string;
  readonly vars: Readonly<Record<string, unknown>>;
  /** pipe.yaml's `threads:`, else the profile target's. */
  readonly threads?: number;
  /**
   * Warehouse path relative to the project: pipe.yaml's `warehouse:`, else the profile target's
   * `path:`, else `warehouse.duckdb`. For a DuckLake, its data folder (else its catalog file).
   */
  readonly warehouse: string;
  /** pipe.yaml's `warehouse:` when it is a DuckLake (a mapping with type: ducklake). */
  readonly lake?: LakeTarget;
  /** Vars whose values are masked in every output and stored only as a fingerprint. */
  readonly secret_vars: readonly string[];
  /** dbt's target schema: the profile target's `schema:`, else `main`. */
  readonly targetSchema: string;
  /** The dbt profile's target in use (`target.name` in templates); absent without a profile. */
  readonly targetName?: string;
  /** The profile target's `external_root`: where external models' files go by default (from the project folder). */
  readonly externalRoot?: string;
  /** How many run logs (see run-log/) are kept beside the warehouse: pipe.yaml's `keep_run_logs:`. */
  readonly keep_run_logs?: number;
  /** The DuckDB settings of the warehouse (the profile's, then pipe.yaml's) that may change what a query computes (see querySettingsOf). */
  readonly querySettings: Readonly<Record<string, SettingValue>>;
}

export const PROJECT_KEYS = ['name', 'vars', 'secret_vars', 'threads', 'warehouse', 'keep_run_logs', 'settings'] as const;
export const DEFAULT_WAREHOUSE = 'warehouse.duckdb';

/** A pipeline: a named selection with its defaults. Later keys (schedule, retries, notify) join here. */
export interface Pipeline {
  readonly name: string;
  readonly file: string;
  readonly description?: string;
  readonly select: readonly string[];
  readonly exclude: readonly string[];
  /** Where `select:` and `exclude:` are written, for the errors of their selectors. */
  readonly selectAt?: Location;
  readonly excludeAt?: Location;
  /** A selector of selectors.yml, by name: the selection instead of `select`. */
  readonly selector?: string;
  readonly vars: Readonly<Record<string, unknown>>;
  /** Added to the project's `secret_vars` for runs of this pipeline. */
  readonly secret_vars: readonly string[];
  readonly threads?: number;
  /** Default retries for its models' transient errors. */
  readonly retries?: number;
  readonly retry_delay_ms?: number;
  /** When `pipe schedule` runs it. */
  readonly schedule?: Schedule;
  /** `check_freshness: true`: a run first checks the freshness of the sources it reads, and an error-level stale one stops it. */
  readonly check_freshness?: boolean;
  readonly notify: Notify;
}

export type ScheduleInterval = 'daily' | 'hourly';

/** What one run of a pipeline covers: a day unless its schedule says hourly. */
export function pipelineInterval(pipeline: Pipeline | undefined): ScheduleInterval {
  return pipeline?.schedule?.interval ?? 'daily';
}

export interface Schedule {
  /** Cron expression: five fields, or a nickname (see cronProblem). */
  readonly cron: string;
  /** IANA time zone the cron expression is read in. */
  readonly timezone: string;
  /** What one run covers: the day (or hour) before the time it fires. */
  readonly interval: ScheduleInterval;
  /** Run intervals missed while the scheduler was down, oldest first. */
  readonly catchup: boolean;
  readonly maxCatchup: number;
  readonly maxActiveRuns: number;
  /** Set when it fires less often than its interval: what it leaves unbuilt (see leavesGaps), warned of where the pipeline is read. */
  readonly leavesGaps?: string;
}

/** Where a notification goes; `timeout_ms` bounds each attempt (default 10 s). */
export type NotifyTarget = ({ readonly webhook: string } | { readonly command: string }) & { readonly timeout_ms?: number };

export interface Notify {
  readonly on_failure: readonly NotifyTarget[];
  readonly on_success: readonly NotifyTarget[];
  readonly on_retry: readonly NotifyTarget[];
}

export const NO_NOTIFY: Notify = { on_failure: [], on_success: [], on_retry: [] };

export const PIPELINE_KEYS = [
  'description',
  'select',
  'exclude',
  'selector',
  'vars',
  'secret_vars',
  'threads',
  'retries',
  'retry_delay',
  'schedule',
  'timezone',
  'interval',
  'catchup',
  'max_catchup',
  'max_active_runs',
  'notify',
  'check_freshness',
] as const;

const NOTIFY_EVENTS = ['on_failure', 'on_success', 'on_retry'] as const;

function readSchedule(d: Readonly<Record<string, unknown>>, at: (key: string) => Location, diagnostics: Diagnostic[]): Schedule | undefined {
  const bad = (key: string, message: string) => diagnostics.push(error('bad-config', message, at(key)));
  for (const key of ['timezone', 'interval', 'catchup', 'max_catchup', 'max_active_runs']) {
    if (d[key] !== undefined && d.schedule === undefined) bad(key, `${key} applies to scheduled pipelines: add schedule: (a cron expression)`);
  }
  if (d.schedule === undefined) return undefined;
  const timezone = d.timezone === undefined ? 'UTC' : d.timezone;
  if (typeof timezone !== 'string' || !validTimezone(timezone)) {
    bad('timezone', `timezone must be an IANA name such as Europe/Amsterdam or UTC, got ${JSON.stringify(d.timezone)}`);
  }
  if (typeof d.schedule !== 'string' || cronProblem(d.schedule)) {
    bad('schedule', `schedule must be a cron expression such as '0 2 * * *'${typeof d.schedule === 'string' ? `: ${cronProblem(d.schedule)}` : ''}`);
    return undefined;
  }
  const interval = d.interval === undefined ? 'daily' : d.interval;
  if (interval !== 'daily' && interval !== 'hourly') bad('interval', `interval must be daily or hourly, got ${JSON.stringify(d.interval)}`);
  if (d.catchup !== undefined && typeof d.catchup !== 'boolean') bad('catchup', 'catchup must be true or false');
  const maxCatchup = d.max_catchup === undefined ? 30 : asPositiveInt(d.max_catchup);
  if (maxCatchup === undefined) bad('max_catchup', 'max_catchup must be a whole number of at least 1');
  const maxActiveRuns = d.max_active_runs === undefined ? 1 : asPositiveInt(d.max_active_runs);
  if (maxActiveRuns === undefined) bad('max_active_runs', 'max_active_runs must be a whole number of at least 1');
  const gaps = typeof timezone === 'string' && validTimezone(timezone) ? leavesGaps(d.schedule, interval === 'hourly' ? 'hourly' : 'daily') : undefined;
  if (gaps) diagnostics.push(warning('schedule-gaps', gaps, at('schedule')));
  return {
    cron: d.schedule,
    timezone: typeof timezone === 'string' ? timezone : 'UTC',
    interval: interval === 'hourly' ? 'hourly' : 'daily',
    catchup: d.catchup === true,
    maxCatchup: maxCatchup ?? 30,
    maxActiveRuns: maxActiveRuns ?? 1,
    ...(gaps === undefined ? {} : { leavesGaps: gaps }),
  };
}

/**
 * What a schedule that fires less often than its interval leaves unbuilt: each fire builds the
 * one hour (or day) before it, so with a fire every other hour and interval: hourly every other hour is
 * never built. Judged from the fires of a stretch of time of its own (a few days for hourly,
 * a few weeks for daily), a day's fires 25 hours apart across a daylight-saving change allowed.
 * The fires are found at UTC's offset, whatever the pipeline's time zone: a zone's offset moves
 * every fire alike, and the stretch (from the first of January) crosses no daylight-saving
 * change, so the gaps are the expression's own; finding them in a named zone took 60-70 ms of
 * every command's start (each fire's wall-clock time asked of the runtime's zone data).
 */
function leavesGaps(expr: string, interval: 'daily' | 'hourly'): string | undefined {
  const key = `${interval} ${expr}`;
  if (gapsJudged.has(key)) return gapsJudged.get(key);
  // Bounded for a long-lived process (watch, schedule, ui) whose pipelines are edited often.
  if (gapsJudged.size >= 1000) gapsJudged.clear();
  const gaps = fireGaps(expr, interval);
  gapsJudged.set(key, gaps);
  return gaps;
}

/**
 * leavesGaps' judgements, by interval and expression: each reads a fixed stretch of time, so
 * the same two give the same text, and a process that loads the project again (watch,
 * schedule, ui, a command run after another in one process) finds them once.
 */
const gapsJudged = new Map<string, string | undefined>();

function fireGaps(expr: string, interval: 'daily' | 'hourly'): string | undefined {
  const HOUR = 3_600_000;
  const most = interval === 'hourly' ? HOUR : 25 * HOUR;
  let fires: Date[];
  try {
    fires = new Cron(cronPattern(expr), { utcOffset: 0, paused: true }).nextRuns(interval === 'hourly' ? 24 * 8 : 60, new Date(Date.UTC(2024, 0, 1)));
  } catch (e) {
    // croner searching years ahead for rare fires ran out of stack: they are far apart.
    if (!(e instanceof RangeError)) throw e;
    fires = [new Date(0), new Date(366 * 86_400_000)];
  }
  if (!fires.slice(1).some((f, i) => f.getTime() - fires[i].getTime() > most)) return undefined;
  return interval === 'hourly'
    ? `schedule '${expr}' fires less often than every hour, and each fire builds only the UTC hour before it: the hours between fires are never built; fire every hour (e.g. '0 * * * *'), or backfill the others`
    : `schedule '${expr}' fires less often than every day, and each fire builds only the day it covers: the days between fires are never built; fire every day (e.g. '0 2 * * *'), or backfill the others`;
}

/**
 * The runtime's canonical zone names, listed without loading a date formatter (whose first
 * use takes 20-30 ms of a command's start): a name among them is valid as it stands; another
 * (an alias such as US/Pacific or Etc/UTC) is asked of a formatter.
 */
let canonicalZones: ReadonlySet<string> | undefined;

function validTimezone(tz: string): boolean {
  canonicalZones ??= new Set(['UTC', ...Intl.supportedValuesOf('timeZone')]);
  if (canonicalZones.has(tz)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The nicknames a schedule may be, each standing for five fields. */
const NICKNAMES = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly'];
const FIVE_FIELDS = 'five fields: minute hour day-of-month month day-of-week';

/**
 * What is wrong with a schedule's cron expression, if anything. Five fields, as cron, Airflow
 * and Digdag read them (a sixth would be read as seconds first, firing every hour for
 * `0 2 * * * *`), or a nickname (`@daily`); and it must fire some day (`0 2 30 2 *` never does,
 * and a pipeline that never runs would say nothing). Whether a date matches is the same in
 * every time zone: asked at UTC's offset (see leavesGaps).
 */
function cronProblem(expr: string): string | undefined {
  const text = expr.trim();
  if (text.startsWith('@')) {
    // Those croner reads; others (@reboot, @midnight) would get its message, which speaks of six fields.
    if (!NICKNAMES.includes(text.toLowerCase())) return `'${expr}' is not a schedule pipe reads: a nickname is one of ${NICKNAMES.join(', ')}; or write ${FIVE_FIELDS}`;
  } else {
    const fields = text.split(/\s+/);
    if (fields.length !== 5) return `'${expr}' has ${fields.length} fields; a schedule has ${FIVE_FIELDS}`;
  }
  let cron: Cron;
  try {
    cron = new Cron(cronPattern(expr), { utcOffset: 0, paused: true });
  } catch (e) {
    // croner's message, less the name of its own part ('CronPattern: Invalid value for minute: 60').
    // croner counts days of the month and months from 0 inside, and says the value less one ('day: 31' for 32): said as written.
    const said = (e as Error).message.replace(/^Cron\w*:\s*/, '').replace(/(Invalid value for (?:day|month): )(-?\d+)/i, (_m, head: string, n: string) => `${head}${Number(n) + 1}`);
    return `'${expr}': ${said.charAt(0).toLowerCase()}${said.slice(1)}; a schedule has ${FIVE_FIELDS}`;
  }
  const never = `'${expr}' never fires: no date matches it`;
  // Told from the fields first: croner's search for a day no listed month has runs out of stack.
  if (!text.startsWith('@') && neverFiresByCalendar(text.split(/\s+/))) return never;
  try {
    if (cron.nextRun() === null) return never;
  } catch (e) {
    // Another schedule croner searches years for without an answer: no fire it could find.
    if (e instanceof RangeError) return never;
    throw e;
  }
  return undefined;
}

const TARGET_KINDS = ['webhook', 'command'] as const;

/** `{webhook: URL}` or `{command: "..."}`, each with an optional `timeout:`; undefined (and a diagnostic) when malformed. */
function readNotifyTarget(value: unknown, event: string, bad: (message: string, key?: string) => void): NotifyTarget | undefined {
  const shape = `${event}: each target is {webhook: URL} or {command: "shell command"}, optionally with timeout: (e.g. 30s)`;
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    bad(`${shape}, got ${typeof value === 'string' ? `'${redactUrl(value)}'` : JSON.stringify(value)}`);
    return undefined;
  }
  const t = value as Record<string, unknown>;
  const kinds = TARGET_KINDS.filter((k) => k in t);
  const others = Object.keys(t).filter((k) => !(TARGET_KINDS as readonly string[]).includes(k) && k !== 'timeout');
  const kind = kinds.length === 1 ? kinds[0] : undefined;
  if (!kind || typeof t[kind] !== 'string' || others.length > 0) {
    // The keys, not the values: a webhook URL may carry a token.
    bad(`${shape}, got a mapping with ${Object.keys(t).join(', ') || 'no keys'}`);
    return undefined;
  }
  const where = kind === 'webhook' ? `webhook ${redactUrl(t[kind])}` : `command ${t[kind]}`;
  let timeout_ms: number | undefined;
  if (t.timeout !== undefined) {
    timeout_ms = parseDuration(t.timeout);
    if (timeout_ms === undefined || timeout_ms <= 0) {
      bad(`${event}: timeout of ${where} must be ${DURATION_FORMS}, above 0, got ${JSON.stringify(t.timeout)}`, 'timeout');
      return undefined;
    }
  }
  const timeout = timeout_ms === undefined ? {} : { timeout_ms };
  if (kind === 'command') {
    if ((t.command as string).trim() === '') {
      bad(`${event}: command is empty: give the shell command to run`, 'command');
      return undefined;
    }
    return { command: t.command as string, ...timeout };
  }
  if (!/^https?:\/\//.test(t.webhook as string)) {
    bad(`${event}: webhook must be an http(s) URL, got ${redactUrl(t.webhook as string)}`);
    return undefined;
  }
  return { webhook: t.webhook as string, ...timeout };
}

/** `locate` finds a key under `notify:` (an event), or `notify:` itself. */
function readNotify(value: unknown, locate: (path: readonly string[]) => Location, diagnostics: Diagnostic[]): Notify {
  if (value === undefined) return NO_NOTIFY;
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    diagnostics.push(error('bad-config', 'notify must map on_failure / on_success / on_retry to lists of targets', locate(['notify'])));
    return NO_NOTIFY;
  }
  const out: Record<string, NotifyTarget[]> = { on_failure: [], on_success: [], on_retry: [] };
  for (const [event, targets] of Object.entries(value)) {
    const at = locate(['notify', event]);
    if (!NOTIFY_EVENTS.includes(event as (typeof NOTIFY_EVENTS)[number])) {
      diagnostics.push(error('unknown-key', `unknown notify event '${event}'`, at, { hint: didYouMean(event, NOTIFY_EVENTS) ?? NOTIFY_EVENTS.join(', ') }));
      continue;
    }
    const list = Array.isArray(targets) ? targets : [targets];
    for (const [i, t] of list.entries()) {
      // A target of a list at its own item's line; a lone target at its event's.
      const path = Array.isArray(targets) ? ['notify', event, String(i)] : ['notify', event];
      const here = Array.isArray(targets) ? locate(path) : at;
      // A problem of one key of the target (its timeout) at that key's line.
      const target = readNotifyTarget(t, event, (message, key) => diagnostics.push(error('bad-config', message, key === undefined ? here : locate([...path, key]))));
      if (target) out[event].push(target);
    }
  }
  return out as unknown as Notify;
}

/** `secret_vars: [name, ...]`. */
function readSecretVars(value: unknown, at: Location, diagnostics: Diagnostic[]): string[] {
  if (value === undefined) return [];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' && v.length > 0)) return value as string[];
  diagnostics.push(error('bad-config', `secret_vars must be a list of var names, e.g. [api_token], got ${JSON.stringify(value)}`, at));
  return [];
}

/** The vars whose values a run of `pipeline` (or of no pipeline) treats as secret. */
export function secretVarNames(settings: ProjectSettings, pipeline: Pipeline | undefined): string[] {
  return [...new Set([...settings.secret_vars, ...(pipeline?.secret_vars ?? [])])];
}

function asVars(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * pipe.yaml and the pipelines, validated once: what every command reads of them. Their
 * problems are reported with the analysis', so that one pass shows every problem.
 */
export interface ValidatedSettings {
  readonly settings: ProjectSettings;
  readonly pipelines: ReadonlyMap<string, Pipeline>;
  /** The selectors of a dbt project's selectors.yml. */
  readonly selectors: SelectorDefinitions;
  readonly settingsDiagnostics: readonly Diagnostic[];
  /**
   * Why the warehouse's path cannot be had, if it cannot: `warehouse:` of pipe.yaml is no path,
   * or (pipe.yaml naming none) the profile target names no file pipe can use, or the profile
   * is nowhere. Commands need the path before analysis, so they stop at it unless `--db`
   * gives one.
   */
  readonly warehouseProblem?: Diagnostic;
  /** What the warehouse runs as it opens: the profile target's extensions, settings and attachments. */
  readonly warehouseSetup: WarehouseSetup;
  /** The profile target a dbt project runs on, when it has one. */
  readonly profile?: ProfileTarget;
  /**
   * The errors of profiles.yml (and of finding it): the warehouse cannot be set up without
   * them mended, so commands stop at them, `--db` or not.
   */
  readonly profileProblems: readonly Diagnostic[];
}

export function validateSettings(files: ProjectFiles, profileOptions: ProfileOptions = {}): ValidatedSettings {
  const settingsDiagnostics: Diagnostic[] = [];
  const read = readSettings(files, settingsDiagnostics, profileOptions);
  const selectors = readSelectorDefinitions(files.selectorsFile, settingsDiagnostics);
  const pipelines = new Map<string, Pipeline>();
  for (const p of files.pipelines) pipelines.set(p.name, readPipeline(p, settingsDiagnostics, selectors));
  return { ...read, pipelines, selectors, settingsDiagnostics };
}

export function readProjectSettings(files: ProjectFiles, diagnostics: Diagnostic[], profileOptions: ProfileOptions = {}): ProjectSettings {
  return readSettings(files, diagnostics, profileOptions).settings;
}

type ReadSettings = Omit<ValidatedSettings, 'pipelines' | 'selectors' | 'settingsDiagnostics'>;

/**
 * What says where the warehouse is and how it opens: pipe.yaml, dbt_project.yml (its profile)
 * and, through them, profiles.yml.
 */
export type SettingsFiles = Pick<ProjectFiles, 'root' | 'projectFile' | 'dbtProject'>;

/** The warehouse's settings alone, from the settings files: what a command may start opening before the rest of the project is read. */
export function readWarehouseSettings(files: SettingsFiles, diagnostics: Diagnostic[], profileOptions: ProfileOptions = {}): ReadSettings {
  return readSettings(files, diagnostics, profileOptions);
}

function readSettings(files: SettingsFiles, diagnostics: Diagnostic[], profileOptions: ProfileOptions): ReadSettings {
  const profileDiagnostics: Diagnostic[] = [];
  const reading = readProfile(files, profileOptions, profileDiagnostics);
  diagnostics.push(...profileDiagnostics);
  const profile = reading.kind === 'target' ? reading.target : undefined;
  const own = readPipeYaml(files, diagnostics);
  // The profile's path counts only where pipe.yaml names no warehouse.
  const fromProfile = own.warehouse === undefined && !own.warehouseProblem;
  const warehouseProblem =
    own.warehouseProblem ?? (fromProfile ? (profile?.pathProblem ?? (reading.kind === 'missing' ? reading.problem : undefined)) : undefined);
  const warehouseSetup = withOwnSetup(profile?.setup ?? NO_SETUP, own);
  return {
    settings: {
      name: own.name,
      vars: own.vars,
      threads: own.threads ?? profile?.threads,
      warehouse: own.warehouse ?? (fromProfile ? profile?.path : undefined) ?? DEFAULT_WAREHOUSE,
      ...(own.lake === undefined ? {} : { lake: own.lake }),
      secret_vars: own.secret_vars,
      ...(own.keep_run_logs === undefined ? {} : { keep_run_logs: own.keep_run_logs }),
      targetSchema: profile?.schema ?? DEFAULT_SCHEMA,
      targetName: profile?.target,
      ...(profile?.externalRoot === undefined ? {} : { externalRoot: profile.externalRoot }),
      querySettings: querySettingsOf(warehouseSetup.settings),
    },
    warehouseProblem,
    warehouseSetup,
    profile,
    profileProblems: profileDiagnostics.filter((d) => d.severity === 'error'),
  };
}

/** A profile's setup with pipe.yaml's DuckLake and settings: pipe.yaml's settings come later, so they win. */
function withOwnSetup(setup: WarehouseSetup, own: PipeYaml): WarehouseSetup {
  const settings = own.duckdbSettings ?? [];
  return {
    ...setup,
    ...(settings.length > 0 ? { settings: [...setup.settings, ...settings] } : {}),
    ...(own.lake === undefined ? {} : { lake: own.lake }),
  };
}

/** What pipe.yaml itself says; `warehouse` is absent when it names none (or none that is a path). */
type PipeYaml = Omit<ProjectSettings, 'warehouse' | 'targetSchema' | 'querySettings'> & {
  warehouse?: string;
  warehouseProblem?: Diagnostic;
  /** DuckDB settings of `settings:`, set after a profile's. */
  duckdbSettings?: readonly Setting[];
};

/** pipe.yaml read: a `warehouse:` mapping is a DuckLake, whose problems stop commands. */
function readPipeYaml(files: SettingsFiles, diagnostics: Diagnostic[]): PipeYaml {
  const y = files.projectFile;
  const lakeData = y?.data.warehouse;
  if (y && lakeData && typeof lakeData === 'object' && !Array.isArray(lakeData)) {
    // A mapping is a DuckLake: its problems are the warehouse's, which commands stop at.
    const found: Diagnostic[] = [];
    const lake = readLakeConfig(lakeData as Record<string, unknown>, files.root, (path) => ({ file: PROJECT_FILE, line: y.pathLine(path) ?? y.keyLine('warehouse') }), found);
    const rest = readPipeYamlFile(files, diagnostics);
    diagnostics.push(...found);
    const location = lake && lakeLocation(lake);
    return { ...rest, warehouse: location, ...(lake ? { lake } : {}), ...(found.length > 0 ? { warehouseProblem: found[0] } : {}) };
  }
  return readPipeYamlFile(files, diagnostics);
}

function readPipeYamlFile(files: SettingsFiles, diagnostics: Diagnostic[]): PipeYaml {
  const y = files.projectFile;
  if (!y) return { vars: {}, secret_vars: [] };
  const at = (key: string) => ({ file: PROJECT_FILE, line: y.keyLine(key) });
  checkKeys(y.data, PROJECT_KEYS, 'project', at, diagnostics);
  const located = (path: readonly string[]) => ({ file: PROJECT_FILE, line: y.pathLine(path) ?? y.keyLine(path[0]) });
  const duckdbSettings = readDuckdbSettings(y.data.settings, ['settings'], {
    bad: (path, message, hint) => diagnostics.push(error('bad-config', message, located(path), hint ? { hint } : {})),
    source: (path) => ({ owner: PROJECT_FILE, at: located(path) }),
  });
  const d = y.data;
  // As templates read them: a whole float (`rate: 1.0`) a float.
  const vars = d.vars === undefined ? {} : asVars(templateValue(y, ['vars']));
  if (!vars) diagnostics.push(error('bad-config', 'vars must be a mapping of names to values', at('vars')));
  const threads = d.threads === undefined ? undefined : asPositiveInt(d.threads);
  if (d.threads !== undefined && threads === undefined) {
    diagnostics.push(error('bad-config', 'threads must be a whole number of at least 1', at('threads')));
  }
  const keepRunLogs = d.keep_run_logs === undefined ? undefined : asPositiveInt(d.keep_run_logs);
  if (d.keep_run_logs !== undefined && keepRunLogs === undefined) {
    diagnostics.push(error('bad-config', 'keep_run_logs must be a whole number of at least 1', at('keep_run_logs')));
  }
  const lakeGiven = Boolean(d.warehouse) && typeof d.warehouse === 'object' && !Array.isArray(d.warehouse);
  const warehouseOk = d.warehouse === undefined || lakeGiven || (typeof d.warehouse === 'string' && d.warehouse.trim() !== '');
  const notFile = typeof d.warehouse === 'string' ? notAFilePath(d.warehouse) : undefined;
  const warehouseProblem = !warehouseOk
    ? error('bad-config', `warehouse must be the path of a DuckDB file or a DuckLake (type: ducklake), got ${JSON.stringify(d.warehouse)}`, at('warehouse'))
    : notFile !== undefined
      ? error('bad-config', `warehouse ${notFile}`, at('warehouse'), { hint: 'give the path of a DuckDB file, from the project folder (e.g. warehouse: warehouse.duckdb)' })
      : undefined;
  if (warehouseProblem) diagnostics.push(warehouseProblem);
  // The project's name is the first part of every node's qualified name (fqn:, package: selectors): taken as the folder's only when not given.
  const named = typeof d.name === 'string' && d.name.trim() !== '';
  if (d.name !== undefined && d.name !== null && !named) {
    diagnostics.push(error('bad-config', `name must be the project's name, a text (e.g. name: shop); got ${JSON.stringify(d.name)}`, at('name')));
  }
  return {
    name: named ? (d.name as string) : undefined,
    vars: vars ?? {},
    threads,
    warehouse: typeof d.warehouse === 'string' && warehouseProblem === undefined ? d.warehouse : undefined,
    warehouseProblem,
    keep_run_logs: keepRunLogs,
    secret_vars: readSecretVars(d.secret_vars, at('secret_vars'), diagnostics),
    duckdbSettings,
  };
}

function readFlag(d: Readonly<Record<string, unknown>>, key: string, at: (key: string) => Location, diagnostics: Diagnostic[]): boolean {
  const v = d[key];
  if (v === undefined || typeof v === 'boolean') return v ?? false;
  diagnostics.push(error('bad-config', `${key} must be true or false`, at(key)));
  return false;
}

/** `selector: NAME`: a selector of selectors.yml, instead of `select:`. */
function readPipelineSelector(
  d: Readonly<Record<string, unknown>>,
  at: (key: string) => Location,
  diagnostics: Diagnostic[],
  selectors: SelectorDefinitions,
): string | undefined {
  const name = d.selector;
  if (name === undefined) return undefined;
  if (typeof name !== 'string' || name === '') {
    diagnostics.push(error('bad-config', 'selector must be the name of a selector of selectors.yml', at('selector')));
    return undefined;
  }
  if (d.select !== undefined) {
    diagnostics.push(error('bad-config', 'select: and selector: both say what the pipeline runs: keep one', at('selector'), { hint: 'add the select: terms to the selector in selectors.yml, or drop selector:' }));
  }
  if (!selectors.byName.has(name) && !selectors.broken.has(name)) diagnostics.push(unknownSelector(name, selectors, at('selector')));
  return name;
}

/** A `--selector` or `selector:` naming no selector of selectors.yml. */
export function unknownSelector(name: string, selectors: SelectorDefinitions, location?: Location): Diagnostic {
  const names = [...selectors.byName.keys(), ...selectors.broken];
  return error('unknown-selector', `no selector named '${name}' in selectors.yml`, location, {
    hint: didYouMean(name, names) ?? (names.length > 0 ? `selectors: ${names.join(', ')}` : 'selectors are defined in selectors.yml beside dbt_project.yml'),
  });
}

export function readPipeline(source: PipelineSource, diagnostics: Diagnostic[], selectors: SelectorDefinitions): Pipeline {
  const { yaml, file } = source;
  const at = (key: string) => ({ file, line: yaml.keyLine(key) });
  const d = yaml.data;
  checkKeys(d, PIPELINE_KEYS, 'pipeline', at, diagnostics);
  const list = (key: 'select' | 'exclude') => {
    if (d[key] === undefined) return [];
    // One text is one selection, in the command-line form: its commas intersect.
    const l = typeof d[key] === 'string' ? [d[key]] : Array.isArray(d[key]) && d[key].every((v) => typeof v === 'string') ? (d[key] as string[]) : undefined;
    if (!l) {
      diagnostics.push(error('bad-config', `${key} must be a list of selectors, e.g. [tag:daily, +fct_orders]`, at(key)));
      return [];
    }
    const parsed = parseCliSelection(l);
    for (const p of parsed.problems) diagnostics.push(error(p.code, `${key}: selector '${p.text}': ${p.message}`, at(key), p.hint ? { hint: p.hint } : {}));
    // No select: means every model; a select: listing nothing would select none, never what was meant.
    if (key === 'select' && parsed.criteria.length === 0 && parsed.problems.length === 0) {
      diagnostics.push(error('empty-selection', 'select: lists no selector, which would select no model', at(key), { hint: 'remove select: to mean every model' }));
    }
    return l;
  };
  const vars = d.vars === undefined ? {} : asVars(templateValue(yaml, ['vars']));
  if (!vars) diagnostics.push(error('bad-config', 'vars must be a mapping of names to values', at('vars')));
  const threads = d.threads === undefined ? undefined : asPositiveInt(d.threads);
  if (d.threads !== undefined && threads === undefined) {
    diagnostics.push(error('bad-config', 'threads must be a whole number of at least 1', at('threads')));
  }
  return {
    name: source.name,
    file,
    description: typeof d.description === 'string' ? d.description : undefined,
    select: list('select'),
    exclude: list('exclude'),
    selectAt: at('select'),
    excludeAt: at('exclude'),
    selector: readPipelineSelector(d, at, diagnostics, selectors),
    vars: vars ?? {},
    secret_vars: readSecretVars(d.secret_vars, at('secret_vars'), diagnostics),
    threads,
    check_freshness: readFlag(d, 'check_freshness', at, diagnostics),
    ...readRetry(d, (key, message) => diagnostics.push(error('bad-config', message, at(key)))),
    schedule: readSchedule(d, at, diagnostics),
    notify: readNotify(d.notify, (path) => ({ file, line: yaml.pathLine(path) ?? yaml.keyLine('notify') }), diagnostics),
  };
}
