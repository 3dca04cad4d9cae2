import { setFunction, setStrictFunction } from './py-set.js';
import type { InvocationSelection } from '../dbt/invocation-args.js';
import { createHash } from 'node:crypto';
import { bind, pyFunction, signature } from './args.js';
import { datetimeModule, PyDateTime, UTC } from './datetime.js';
import { JinjaError, MacroReturn } from './errors.js';
import { serializationFunctions } from './json-yaml.js';
import { Namespace } from './members.js';
import { dictKey } from './operators.js';
import { pytzModule } from './pytz.js';
import { itertoolsModule } from './itertools.js';
import { reModule } from './python-re.js';
import { currentCallSite } from './syntax.js';
import { isDict, pyIterate, PyObject, pyStr, tuple, typeName } from './values.js';

/**
 * The functions and values of dbt's Jinja context that do not depend on the project:
 * return(), namespace(), zip(), log(), print(), exceptions, modules (datetime and re),
 * local_md5(), invocation_id, run_started_at and the JSON and YAML functions.
 */

/** What log(), print() and exceptions.warn() report, at the call in the template. */
export interface TemplateMessage {
  readonly kind: 'log' | 'print' | 'warn';
  readonly message: string;
  /** Where it was called: the file and its line, or the file alone where its line is not known. */
  readonly at?: { readonly file: string; readonly line?: number; readonly column?: number };
}

export interface Invocation {
  /** invocation_id: the id of the run. */
  readonly id: string;
  /** run_started_at, in milliseconds since 1970. */
  readonly startedAt: number;
  /** The command, as dbt's flags.WHICH names it: `build` (pipe run, backfill, retry, watch) unless given. */
  readonly command?: 'build' | 'test' | 'compile' | 'run-operation';
  /** `--store-failures`: dbt's flags.STORE_FAILURES, the tests whose config does not say keeping their failing rows. */
  readonly storeFailures?: boolean;
  /** What the command selects, for invocation_args_dict (see dbt/invocation-args.ts). */
  readonly selection?: InvocationSelection;
}

export interface ContextOptions {
  readonly invocation: Invocation;
  report(message: TemplateMessage): void;
  /** The clock of modules.datetime's now() and today(). */
  readonly now?: () => number;
  /** Whether the render in progress is of a full refresh (`--full-refresh`): dbt's flags.FULL_REFRESH. */
  readonly fullRefresh?: () => boolean;
  /** What the config of the test being rendered says of keeping its failing rows; undefined outside a test, or when it says nothing. */
  readonly storeFailures?: () => boolean | undefined;
}

/** A Python module as templates see it (`modules.datetime`). */
class PyModule extends PyObject {
  readonly typeName = 'module';
  constructor(
    readonly name: string,
    private readonly attributes: Readonly<Record<string, unknown>>,
  ) {
    super();
  }
  repr(): string {
    return `<module '${this.name}'>`;
  }
  override getattr(name: string): unknown {
    return Object.hasOwn(this.attributes, name) ? this.attributes[name] : undefined;
  }
}

/** dbt's `exceptions`. */
class Exceptions extends PyObject {
  readonly typeName = 'exceptions';
  constructor(private readonly report: (m: TemplateMessage) => void) {
    super();
  }
  repr(): string {
    return '<exceptions>';
  }
  override getattr(name: string): unknown {
    switch (name) {
      case 'raise_compiler_error':
      case 'raise_not_implemented':
      case 'raise_database_error':
      case 'raise_fail_fast_error':
      case 'raise_dependency_error':
        return pyFunction(signature(name, 'msg node', { node: null }), (msg: unknown) => {
          throw new JinjaError(pyStr(msg));
        });
      case 'warn':
        return pyFunction(signature('warn', 'msg node', { node: null }), (msg: unknown) => {
          this.report({ kind: 'warn', message: pyStr(msg), at: currentCallSite() });
          return '';
        });
      default:
        return pyFunction(signature(name, '*args **kwargs'), () => {
          throw new JinjaError(`exceptions.${name} is not supported by pipe: raise the problem with exceptions.raise_compiler_error(message)`);
        });
    }
  }
}

/** The members of dbt's `flags` templates have (see Flags). */
export const FLAGS: readonly string[] = ['WHICH', 'FULL_REFRESH', 'EMPTY', 'STORE_FAILURES'];

/**
 * dbt's `flags`, what projects and packages read of it: the command (`pipe run` builds and
 * tests, as `dbt build` does), whether the render is of a full refresh, no `--empty` run,
 * whether `--store-failures` was given. Any other flag is an error.
 */
class Flags extends PyObject {
  readonly typeName = 'flags';
  constructor(
    private readonly fullRefresh: () => boolean,
    private readonly which: string,
    private readonly storeFailures: boolean,
  ) {
    super();
  }
  repr(): string {
    return '<flags>';
  }
  override getattr(name: string): unknown {
    switch (name) {
      case 'WHICH':
        return this.which;
      case 'FULL_REFRESH':
        return this.fullRefresh();
      case 'EMPTY':
        return false;
      case 'STORE_FAILURES':
        return this.storeFailures;
      default:
        throw new JinjaError(`flags.${name} is not supported by pipe: flags.${FLAGS.join(', flags.')} are`);
    }
  }
}

/** The longest range() Jinja's sandbox gives. */
const MAX_RANGE = 100_000;

/** What dict() and namespace() take positionally: nothing, a dict, or (key, value) pairs. */
function pairs(name: string, positional: readonly unknown[]): Record<string, unknown> {
  if (positional.length > 1) throw new JinjaError(`${name} expected at most 1 argument, got ${positional.length}`);
  if (positional.length === 0) return {};
  const source = positional[0];
  if (isDict(source)) return { ...source };
  const out: Record<string, unknown> = {};
  for (const pair of pyIterate(source)) {
    const items = pyIterate(pair);
    if (items.length !== 2) throw new JinjaError(`${name} update sequence element has length ${items.length}; 2 is required`);
    out[dictKey(items[0])] = items[1];
  }
  return out;
}

function zip(iterables: unknown[]): unknown[] {
  const lists = iterables.map((x) => pyIterate(x));
  const n = lists.length === 0 ? 0 : Math.min(...lists.map((l) => l.length));
  return Array.from({ length: n }, (_, i) => tuple(lists.map((l) => l[i])));
}

export function dbtContext(options: ContextOptions): Record<string, unknown> {
  const { report, invocation } = options;
  const now = options.now ?? Date.now;
  return {
    range: (...args: unknown[]) => {
      const [bounds] = bind(signature('range', '*args'), args) as [unknown[]];
      if (bounds.length < 1 || bounds.length > 3) throw new JinjaError(`range expected 1 to 3 arguments, got ${bounds.length}`);
      for (const b of bounds) if (typeof b !== 'number' || !Number.isInteger(b)) throw new JinjaError(`'${typeName(b)}' object cannot be interpreted as an integer`);
      const [start, stop, step = 1] = (bounds.length === 1 ? [0, bounds[0]] : bounds) as number[];
      if (step === 0) throw new JinjaError('range() arg 3 must not be zero');
      const n = Math.max(0, Math.ceil((stop - start) / step));
      // dbt renders in Jinja's sandbox, which refuses longer ranges.
      if (n > MAX_RANGE) throw new JinjaError(`Range too big. The sandbox blocks ranges larger than MAX_RANGE (${MAX_RANGE}).`);
      return Array.from({ length: n }, (_, i) => start + i * step);
    },
    dict: (...args: unknown[]) => {
      const [positional, keywords] = bind(signature('dict', '*args **kwargs'), args) as [unknown[], Record<string, unknown>];
      return { ...pairs('dict', positional), ...keywords };
    },
    return: pyFunction(signature('return', 'data'), (data: unknown) => {
      throw new MacroReturn(data);
    }),
    // dbt's hooks outside the model's transaction: what `{'sql': ..., 'transaction': False}` says.
    before_begin: pyFunction(signature('before_begin', 'sql'), (sql: unknown) => ({ sql, transaction: false })),
    after_commit: pyFunction(signature('after_commit', 'sql'), (sql: unknown) => ({ sql, transaction: false })),
    namespace: (...args: unknown[]) => {
      const [positional, keywords] = bind(signature('namespace', '*args **kwargs'), args) as [unknown[], Record<string, unknown>];
      return new Namespace({ ...pairs('namespace', positional), ...keywords });
    },
    zip: (...args: unknown[]) => {
      const [fallback, iterables] = bind(signature('zip', '*args default', { default: null }), args) as [unknown, unknown[]];
      try {
        return zip(iterables);
      } catch (e) {
        if (e instanceof JinjaError) return fallback;
        throw e;
      }
    },
    zip_strict: (...args: unknown[]) => zip((bind(signature('zip_strict', '*args'), args) as [unknown[]])[0]),
    log: pyFunction(signature('log', 'msg info', { info: false }), (msg: unknown, info: unknown) => {
      // dbt writes log(msg) to its debug log file only; log(msg, info=True) to the console too.
      if (info === true) report({ kind: 'log', message: pyStr(msg), at: currentCallSite() });
      return '';
    }),
    print: pyFunction(signature('print', 'msg'), (msg: unknown) => {
      report({ kind: 'print', message: pyStr(msg), at: currentCallSite() });
      return '';
    }),
    exceptions: new Exceptions(report),
    flags: new Flags(options.fullRefresh ?? (() => false), invocation.command ?? 'build', invocation.storeFailures === true),
    // dbt's macro: the config's store_failures of the test being rendered, else flags.STORE_FAILURES.
    should_store_failures: () => options.storeFailures?.() ?? invocation.storeFailures === true,
    set: setFunction,
    set_strict: setStrictFunction,
    modules: new PyModule('modules', {
      datetime: new PyModule('datetime', datetimeModule(now)),
      re: new PyModule('re', reModule()),
      pytz: new PyModule('pytz', pytzModule()),
      itertools: new PyModule('itertools', itertoolsModule()),
    }),
    local_md5: pyFunction(signature('local_md5', 'value'), (v: unknown) => createHash('md5').update(pyStr(v), 'utf8').digest('hex')),
    invocation_id: invocation.id,
    run_started_at: PyDateTime.fromEpochMs(invocation.startedAt, UTC),
    ...serializationFunctions(),
  };
}
