import { error, DiagnosticError, type Diagnostic } from '../diagnostics/diagnostics.js';
import type { ScheduleInterval } from '../analyze/project-settings.js';
import { parseDate, parseTimestamp } from '../dates/dates.js';
import type { DateOrder } from '../plan/plan.js';
import { isDict, WholeFloat } from '../analyze/jinja/values.js';

/**
 * The parameters a run records (`_pipe.runs.params`): what `pipe retry` repeats and `pipe
 * history` shows. Written from these types and read back through `readStoredParams`, which
 * checks every field: a row written by another version of pipe, or changed by hand, is
 * refused by name instead of being half understood.
 */

export interface CommonParams {
  /** As given with --var; a secret var's value is only its fingerprint. */
  readonly vars: Readonly<Record<string, unknown>>;
  /** Every var the run rendered with, resolved the same way; absent in runs of early versions. */
  readonly resolved_vars?: Readonly<Record<string, unknown>>;
  /** The vars of each installed package's nodes, resolved so, by package; absent where there is none (and in earlier runs). */
  readonly resolved_package_vars?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly select: readonly string[];
  readonly exclude: readonly string[];
  /** `--selector`, when given. */
  readonly selector?: string;
  /** `--threads` as given; null when it was not. */
  readonly threads: number | null;
  /** The pipeline's selection as its file said when the run started: what a retry selects again, whatever the file says then. */
  readonly pipeline_selection?: PipelineSelection;
  /** The dbt profile's target the run built on (`--target`, else the profile's default): what a retry builds on. */
  readonly target?: string;
  /**
   * selectors.yml as the run read it (its YAML as data), null when the project had none: the
   * selectors a retry selects by (`--selector`, a pipeline's `selector:`, the default selector),
   * whatever the file says then. Absent in runs of earlier versions, whose retries read the file.
   */
  readonly selectors_yml?: Readonly<Record<string, unknown>> | null;
}

/** A pipeline's `select:`, `exclude:` and `selector:`. */
export interface PipelineSelection {
  readonly select: readonly string[];
  readonly exclude: readonly string[];
  readonly selector?: string;
}

/** `pipe run`, and a build of `pipe watch` (a run of the models it rebuilt). */
export interface RunParams extends CommonParams {
  readonly kind: 'run' | 'watch';
  /** The date, `YYYY-MM-DD`. */
  readonly ds: string;
  /** The hour of `ds` the run covered, when it covered one. */
  readonly hour?: number;
  readonly full_refresh: boolean;
  /** `--force`, when given: a retry runs current tasks too, as the run did. */
  readonly force?: true;
  readonly ignore_dependencies_on_past: boolean;
  /** `--event-time-start` and `--event-time-end`, as ISO timestamps (UTC), when given. */
  readonly event_time_start?: string;
  readonly event_time_end?: string;
  /** Set by the scheduler: the fire time that triggered the run, and the run it takes over. */
  readonly scheduled_at?: string;
  readonly resume_of?: string;
  /** `--store-failures`, when given: a retry keeps the dbt tests' failing rows as the run did. */
  readonly store_failures?: true;
}

export interface TestParams extends CommonParams {
  readonly kind: 'test';
  readonly ds: string;
  /** The hour of `ds` whose rows the checks read, when they read one. */
  readonly hour?: number;
  readonly store_failures?: true;
}

export interface BackfillParams extends CommonParams {
  readonly kind: 'backfill';
  /** The inclusive range, `YYYY-MM-DD`. */
  readonly start: string;
  readonly end: string;
  /** Days, or the hours of each day for an hourly pipeline. */
  readonly interval: ScheduleInterval;
  readonly parallel: number;
  readonly order: DateOrder;
  readonly max_failures: number | null;
  readonly retries: number;
  readonly full_refresh: boolean;
  readonly force?: true;
  readonly ignore_dependencies_on_past: boolean;
}

/** What a retry repeats. */
export type OriginalParams = RunParams | TestParams | BackfillParams;

/** `pipe retry`: the first run's parameters, and the run it completes. */
export interface RetryParams {
  readonly kind: 'retry';
  readonly of: OriginalParams;
  readonly retry_of: string;
}

export type StoredParams = OriginalParams | RetryParams;

/** What every command records of its selection, vars and `--threads`, from its options. */
export function commonParams(
  options: { vars?: Readonly<Record<string, unknown>>; select?: readonly string[]; exclude?: readonly string[]; selector?: string; threads?: number },
  resolvedVars: Readonly<Record<string, unknown>>,
  pipeline?: PipelineSelection,
  target?: string,
  /** selectors.yml's data, null for none (see CommonParams.selectors_yml). */
  selectors?: Readonly<Record<string, unknown>> | null,
  /** Each package's nodes' vars (see CommonParams.resolved_package_vars). */
  packageVars?: Readonly<Record<string, Readonly<Record<string, unknown>>>>,
): CommonParams {
  return {
    ...(target === undefined ? {} : { target }),
    ...(packageVars === undefined || Object.keys(packageVars).length === 0 ? {} : { resolved_package_vars: packageVars }),
    ...(selectors === undefined ? {} : { selectors_yml: selectors }),
    vars: options.vars ?? {},
    resolved_vars: resolvedVars,
    select: options.select ?? [],
    exclude: options.exclude ?? [],
    selector: options.selector,
    threads: options.threads ?? null,
    ...(pipeline ? { pipeline_selection: { select: pipeline.select, exclude: pipeline.exclude, ...(pipeline.selector === undefined ? {} : { selector: pipeline.selector }) } } : {}),
  };
}

/** The JSON object a run records. A retry records its first run's fields and two of its own. */
export function storedJson(p: StoredParams): Record<string, unknown> {
  switch (p.kind) {
    case 'retry':
      // A watch build is retried as the run of the models it rebuilt.
      return { ...storedJson(p.of), original_command: p.of.kind === 'watch' ? 'run' : p.of.kind, retry_of: p.retry_of };
    case 'run':
    case 'watch':
    case 'test':
    case 'backfill': {
      const { kind: _kind, ...fields } = p;
      const floats = keptFloats({ vars: p.vars, resolved_vars: p.resolved_vars, resolved_package_vars: p.resolved_package_vars });
      // Flags a run did not use are left out, as runs have always recorded them.
      return Object.fromEntries(
        Object.entries({ ...fields, ...(floats.length > 0 ? { floats } : {}) }).filter(
          ([key, value]) => value !== undefined && !(key === 'ignore_dependencies_on_past' && value === false),
        ),
      );
    }
    default: {
      const never: never = p;
      throw new Error(`internal error: stored params ${JSON.stringify(never)}`);
    }
  }
}

type Path = readonly (string | number)[];

/** A number JSON cannot carry as it is: a whole float (`1.0`, `-0.0`, see WholeFloat) or one that is not finite. */
interface KeptFloat {
  readonly at: Path;
  readonly value: string;
}

/**
 * The floats among the vars that JSON writes otherwise than they are: a whole float as the int
 * of its value, -0.0 as 0, inf and nan as null. The params name them (`floats`), with
 * their text, so that a retry renders `1.0`, `-0.0` and `inf` as its run did.
 */
function keptFloats(value: unknown, at: Path = [], out: KeptFloat[] = []): KeptFloat[] {
  if (value instanceof WholeFloat) out.push({ at, value: value.repr() });
  else if (typeof value === 'number' && !Number.isFinite(value)) out.push({ at, value: Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf' });
  else if (Array.isArray(value)) value.forEach((x, i) => keptFloats(x, [...at, i], out));
  else if (isDict(value)) for (const [k, x] of Object.entries(value)) keptFloats(x, [...at, k], out);
  return out;
}

/** A kept float's value again: inf, -inf and nan as numbers, any other as a whole float. */
function floatOf(text: string): number | WholeFloat {
  if (text === 'inf') return Infinity;
  if (text === '-inf') return -Infinity;
  if (text === 'nan') return NaN;
  return new WholeFloat(Number(text));
}

/** The params as read from JSON with their kept floats (`floats`) as they were. */
function withKeptFloats(json: Record<string, unknown>): Record<string, unknown> {
  const { floats: kept, ...rest } = json;
  if (!Array.isArray(kept)) return rest;
  for (const entry of kept) {
    const { at, value } = (entry ?? {}) as { at?: unknown; value?: unknown };
    if (!Array.isArray(at) || at.length === 0 || typeof value !== 'string') continue;
    let holder: unknown = rest;
    for (const part of at.slice(0, -1)) holder = holder !== null && typeof holder === 'object' ? (holder as Record<string | number, unknown>)[part as string] : undefined;
    const last = at[at.length - 1] as string;
    const now = holder !== null && typeof holder === 'object' ? (holder as Record<string, unknown>)[last] : undefined;
    // Written as JSON wrote it (a number, or null for inf and nan): a value changed by hand is left as it is.
    if (typeof now === 'number' || now === null) (holder as Record<string, unknown>)[last] = floatOf(value);
  }
  return rest;
}

/** A row of `_pipe.runs`, as far as its parameters go. */
export interface StoredRun {
  readonly run_id: string;
  readonly command: string;
  readonly params: string;
}

const ORIGINAL_COMMANDS = ['run', 'backfill', 'test'] as const;

/** The parameters of `run`, or the problem with them. */
export function readStoredParams(run: StoredRun): { readonly params: StoredParams } | { readonly problem: Diagnostic } {
  const problem = (what: string) => ({
    problem: error('bad-run-state', `run ${run.run_id}: ${what}`, undefined, {
      hint: 'it was recorded by another version of pipe or changed by hand; start a new run (pipe run, pipe backfill) instead',
    }),
  });
  let json: unknown;
  try {
    json = JSON.parse(run.params);
  } catch {
    return problem('its recorded parameters are not JSON');
  }
  if (!isObject(json)) return problem(`its recorded parameters are ${JSON.stringify(json)}, not an object`);
  const fields = new Fields(withKeptFloats(json));
  let params: StoredParams;
  switch (run.command) {
    case 'run':
    case 'watch':
    case 'test':
    case 'backfill':
      params = original(run.command, fields);
      break;
    case 'retry': {
      const of = fields.oneOf('original_command', ORIGINAL_COMMANDS, 'run');
      params = { kind: 'retry', of: original(of, fields), retry_of: fields.string('retry_of', true) ?? '' };
      break;
    }
    default:
      return problem(`it was recorded by 'pipe ${run.command}', a command this version of pipe does not know`);
  }
  if (fields.problems.length > 0) return problem(`its recorded parameters cannot be read (${fields.problems.join('; ')})`);
  return { params };
}

/** The parameters of `run`; throws the problem with them as a diagnostic. */
export function parseStoredParams(run: StoredRun): StoredParams {
  const read = readStoredParams(run);
  if ('problem' in read) throw new DiagnosticError([read.problem]);
  return read.params;
}

function original(kind: OriginalParams['kind'], f: Fields): OriginalParams {
  const selectors = f.objectOrNull('selectors_yml');
  const packageVars = f.object('resolved_package_vars');
  if (packageVars !== undefined) for (const [name, v] of Object.entries(packageVars)) if (!isObject(v)) f.problems.push(`resolved_package_vars.${name}: expected a mapping, got ${JSON.stringify(v)}`);
  const common: CommonParams = {
    vars: f.object('vars') ?? {},
    resolved_vars: f.object('resolved_vars'),
    ...(packageVars === undefined ? {} : { resolved_package_vars: packageVars as Record<string, Record<string, unknown>> }),
    select: f.strings('select') ?? [],
    exclude: f.strings('exclude') ?? [],
    selector: f.string('selector'),
    threads: f.positiveInt('threads') ?? null,
    ...pipelineSelectionOf(f),
    ...(f.string('target') === undefined ? {} : { target: f.string('target') }),
    ...(selectors === undefined ? {} : { selectors_yml: selectors }),
  };
  const hourOf = () => {
    const hour = f.integer('hour');
    if (hour !== undefined && (hour < 0 || hour > 23)) f.problems.push(`hour: expected 0 to 23, got ${hour}`);
    return hour;
  };
  switch (kind) {
    case 'run':
    case 'watch': {
      const hour = hourOf();
      return {
        kind,
        ...common,
        ds: f.date('ds') ?? '',
        hour,
        full_refresh: f.boolean('full_refresh') ?? false,
        ...flagParam('force', f.boolean('force')),
        ignore_dependencies_on_past: f.boolean('ignore_dependencies_on_past') ?? false,
        event_time_start: f.timestamp('event_time_start'),
        event_time_end: f.timestamp('event_time_end'),
        scheduled_at: f.string('scheduled_at'),
        resume_of: f.string('resume_of'),
        ...flagParam('store_failures', f.boolean('store_failures')),
      };
    }
    case 'test':
      return { kind, ...common, ds: f.date('ds') ?? '', hour: hourOf(), ...flagParam('store_failures', f.boolean('store_failures')) };
    case 'backfill': {
      const start = f.date('start') ?? '';
      const end = f.date('end') ?? '';
      if (start > end && parseDate(end) !== undefined) f.problems.push(`start ${start} is after end ${end}`);
      const retries = f.integer('retries');
      if (retries !== undefined && retries < 0) f.problems.push(`retries: expected a whole number of at least 0, got ${retries}`);
      return {
        kind,
        ...common,
        start,
        end,
        interval: f.oneOf('interval', ['daily', 'hourly'] as const, 'daily'),
        parallel: f.positiveInt('parallel') ?? 1,
        order: f.oneOf('order', ['oldest', 'newest'] as const, 'oldest'),
        max_failures: f.positiveInt('max_failures') ?? null,
        retries: retries ?? 0,
        full_refresh: f.boolean('full_refresh') ?? false,
        ...flagParam('force', f.boolean('force')),
        ignore_dependencies_on_past: f.boolean('ignore_dependencies_on_past') ?? false,
      };
    }
    default: {
      const never: never = kind;
      throw new Error(`internal error: command ${String(never)}`);
    }
  }
}

/** A flag a run records only when it was given (runs without it keep recording nothing of it). */
export function flagParam<K extends string>(key: K, given: boolean | undefined): { [k in K]?: true } {
  return (given === true ? { [key]: true } : {}) as { [k in K]?: true };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads the fields of a recorded object: an absent (or null) field is undefined, one of the
 * wrong type a problem. Required fields say so when absent.
 */
/** The recorded pipeline selection, each of its fields checked. */
function pipelineSelectionOf(f: Fields): { pipeline_selection?: PipelineSelection } {
  const o = f.object('pipeline_selection');
  if (o === undefined) return {};
  const inner = new Fields(o);
  const selector = inner.string('selector');
  const selection = { select: inner.strings('select') ?? [], exclude: inner.strings('exclude') ?? [], ...(selector === undefined ? {} : { selector }) };
  f.problems.push(...inner.problems.map((p) => `pipeline_selection.${p}`));
  return { pipeline_selection: selection };
}

class Fields {
  readonly problems: string[] = [];

  constructor(private readonly o: Readonly<Record<string, unknown>>) {}

  private read<T>(key: string, ok: (v: unknown) => v is T, expected: string, required = false): T | undefined {
    const v = this.o[key];
    if (v === undefined || v === null) {
      if (required) this.problems.push(`${key}: missing`);
      return undefined;
    }
    if (ok(v)) return v;
    this.problems.push(`${key}: expected ${expected}, got ${JSON.stringify(v)}`);
    return undefined;
  }

  string(key: string, required = false): string | undefined {
    return this.read(key, (v): v is string => typeof v === 'string', 'text', required);
  }

  date(key: string): string | undefined {
    return this.read(key, (v): v is string => typeof v === 'string' && parseDate(v) !== undefined, 'a date as YYYY-MM-DD', true);
  }

  timestamp(key: string): string | undefined {
    return this.read(key, (v): v is string => typeof v === 'string' && parseTimestamp(v) !== undefined, 'an ISO timestamp');
  }

  boolean(key: string): boolean | undefined {
    return this.read(key, (v): v is boolean => typeof v === 'boolean', 'true or false');
  }

  integer(key: string): number | undefined {
    return this.read(key, (v): v is number => Number.isInteger(v), 'a whole number');
  }

  positiveInt(key: string): number | undefined {
    return this.read(key, (v): v is number => Number.isInteger(v) && (v as number) >= 1, 'a whole number of at least 1');
  }

  strings(key: string): string[] | undefined {
    return this.read(key, (v): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string'), 'a list of text');
  }

  object(key: string): Record<string, unknown> | undefined {
    return this.read(key, isObject, 'a mapping');
  }

  /** A mapping, or null recorded as such (an absent field is undefined). */
  objectOrNull(key: string): Record<string, unknown> | null | undefined {
    return this.o[key] === null ? null : this.object(key);
  }

  /** One of `values`; `fallback` when absent (or wrong, which is a problem). */
  oneOf<T extends string>(key: string, values: readonly T[], fallback: T): T {
    return this.read(key, (x): x is T => (values as readonly unknown[]).includes(x), values.join(' or ')) ?? fallback;
  }
}

/** What a run covered: a backfill's range, or the date. */
export function datesOf(p: StoredParams | undefined): string {
  if (p === undefined) return '?';
  switch (p.kind) {
    case 'retry':
      return datesOf(p.of);
    case 'backfill':
      return `${p.start}..${p.end}`;
    case 'run':
    case 'watch':
    case 'test':
      // A run of one hour (an hourly pipeline's) is named by its hour, as its tasks are.
      return p.hour === undefined ? p.ds : `${p.ds}T${String(p.hour).padStart(2, '0')}`;
    default: {
      const never: never = p;
      throw new Error(`internal error: stored params ${JSON.stringify(never)}`);
    }
  }
}

/** The dates a run covered, from its stored parameters as the run state keeps them (JSON text). */
export function storedDates(run: StoredRun): string {
  const read = readStoredParams(run);
  return datesOf('params' in read ? read.params : undefined);
}
