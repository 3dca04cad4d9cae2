import { JinjaError } from './errors.js';
import { isKeywords } from './values.js';

/**
 * Python's binding of a call's arguments to a function's parameters, for the methods,
 * filters and functions pipe gives templates: keyword arguments by name, defaults, `*args`
 * and `**kwargs`, and Python's TypeError for anything else (a keyword Nunjucks would
 * silently have passed on as a positional value).
 */
export interface Signature {
  readonly name: string;
  /** Positional-or-keyword parameters, then those after `*args`, which only a keyword sets. */
  readonly params: readonly string[];
  readonly positional: number;
  readonly defaults: Readonly<Record<string, unknown>>;
  /** Extra positional arguments are collected (`*args`). */
  readonly rest: boolean;
  /** Unknown keyword arguments are collected (`**kwargs`). */
  readonly keywords: boolean;
}

/**
 * `signature('split', 'sep maxsplit', { sep: null, maxsplit: -1 })`; `*args` and `**kwargs`
 * in the list collect what the named parameters do not take, and a name after `*args` is
 * keyword-only (`'*args default'`).
 */
export function signature(name: string, params: string, defaults: Readonly<Record<string, unknown>> = {}): Signature {
  const names = params.split(/\s+/).filter(Boolean);
  const star = names.indexOf('*args');
  const named = names.filter((p) => !p.startsWith('*'));
  return {
    name,
    params: named,
    positional: star < 0 ? named.length : names.slice(0, star).length,
    defaults,
    rest: star >= 0,
    keywords: names.includes('**kwargs'),
  };
}

/** A default not given to var() or env_var() (None is one). */
export const NOT_GIVEN = Symbol('not given');
/** dbt's var() and env_var(): the default by position or as `default=`. */
export const VAR_SIGNATURE = signature('var', 'var_name default', { default: NOT_GIVEN });
export const ENV_VAR_SIGNATURE = signature('env_var', 'var default', { default: NOT_GIVEN });

/** The values of the parameters in order; then the extra positional values (if `*args`), then the extra keywords (if `**kwargs`). */
export function bind(sig: Signature, args: readonly unknown[]): unknown[] {
  const last = args[args.length - 1];
  const keywords: Record<string, unknown> = isKeywords(last) ? { ...last } : {};
  delete keywords.__keywords;
  const positional = isKeywords(last) ? args.slice(0, -1) : args;
  const { params } = sig;
  if (positional.length > sig.positional && !sig.rest) {
    const most = sig.positional;
    throw new JinjaError(`${sig.name}() takes ${most === 0 ? 'no' : `at most ${most}`} argument${most === 1 ? '' : 's'} (${positional.length} given)`);
  }
  const values = params.map((p, i): unknown => {
    if (i < sig.positional && i < positional.length) {
      if (Object.hasOwn(keywords, p)) throw new JinjaError(`${sig.name}() got multiple values for argument '${p}'`);
      return positional[i];
    }
    if (Object.hasOwn(keywords, p)) {
      const v = keywords[p];
      delete keywords[p];
      return v;
    }
    if (Object.hasOwn(sig.defaults, p)) return sig.defaults[p];
    throw new JinjaError(`${sig.name}() missing required argument '${p}'`);
  });
  if (sig.rest) values.push(positional.slice(sig.positional));
  const extra = Object.keys(keywords);
  if (sig.keywords) values.push(keywords);
  else if (extra.length > 0) throw new JinjaError(`${sig.name}() got an unexpected keyword argument '${extra[0]}'`);
  return values;
}

/** A function taking Python arguments: `fn(a, b, c)` receives them bound to `sig`. */
export function pyFunction(sig: Signature, fn: (...values: never[]) => unknown): (...args: unknown[]) => unknown {
  const call = (...args: unknown[]) => (fn as (...values: unknown[]) => unknown)(...bind(sig, args));
  Object.defineProperty(call, 'pyName', { value: sig.name });
  return call;
}
