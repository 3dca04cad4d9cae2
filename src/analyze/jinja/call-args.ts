import { JinjaError, TemplateFunctionError } from './errors.js';
import { isDict, isKeywords, isStr, keyOfName, pyIterate, tuple, typeName } from './values.js';

/**
 * Jinja's arguments of calls and macros, as compiled templates pass them (positional values,
 * then the keyword arguments as one object marked `__keywords`, as Nunjucks does):
 *
 * - `f(a, *rest, k=1, **more)`: a call spreading a list and a dict into its arguments;
 * - a macro binding what it is given to its parameters as Jinja does: extra positional
 *   arguments are `varargs` and unknown keyword arguments `kwargs` when its body reads those
 *   names, and an error otherwise (Nunjucks would drop them silently).
 */

/** The arguments of a call with `*star` and `**doubleStar` spread into them (either may be absent). */
export function spreadArgs(given: readonly unknown[], star: unknown, doubleStar: unknown, hasStar: boolean, hasDoubleStar: boolean): unknown[] {
  const last = given[given.length - 1];
  const keywords: Record<string, unknown> = isKeywords(last) ? { ...last } : {};
  delete keywords.__keywords;
  const positional = isKeywords(last) ? given.slice(0, -1) : [...given];
  if (hasStar) {
    if (star === undefined || star === null || isDict(star) || typeof star === 'number' || typeof star === 'boolean') {
      throw new JinjaError(`argument after * must be an iterable, not ${typeName(star)}`);
    }
    positional.push(...pyIterate(star));
  }
  if (hasDoubleStar) {
    if (!isDict(doubleStar)) throw new JinjaError(`argument after ** must be a mapping, not ${typeName(doubleStar)}`);
    for (const [name, value] of Object.entries(doubleStar)) {
      if (!isStr(keyOfName(name))) throw new JinjaError('keywords must be strings');
      if (Object.hasOwn(keywords, name)) throw new JinjaError(`got multiple values for keyword argument '${name}'`);
      keywords[name] = value;
    }
  }
  return Object.keys(keywords).length > 0 ? [...positional, { ...keywords, __keywords: true }] : positional;
}

/** What a macro's definition says about the arguments it takes. */
export interface MacroSpec {
  readonly name: string;
  readonly params: readonly string[];
  /** The body reads `varargs`: extra positional arguments go there. */
  readonly varargs: boolean;
  /** The body reads `kwargs`: keyword arguments no parameter names go there. */
  readonly kwargs: boolean;
  /** The body reads `caller`: a `caller` keyword argument is the call block's body. */
  readonly caller: boolean;
}

/** A call's arguments bound to a macro's parameters; a parameter not given is left to its default. */
export interface BoundArgs {
  readonly given: readonly boolean[];
  readonly values: readonly unknown[];
  readonly varargs: unknown[];
  readonly kwargs: Record<string, unknown>;
  readonly caller: unknown;
}

export function bindMacroArgs(spec: MacroSpec, args: readonly unknown[]): BoundArgs {
  const last = args[args.length - 1];
  const keywords: Record<string, unknown> = isKeywords(last) ? { ...last } : {};
  delete keywords.__keywords;
  const positional = isKeywords(last) ? args.slice(0, -1) : args;
  const { params } = spec;
  const values: unknown[] = params.map((_, i) => positional[i]);
  const given = params.map((_, i) => i < positional.length);
  const varargs = tuple(positional.slice(params.length));
  if (varargs.length > 0 && !spec.varargs) {
    throw new JinjaError(`macro '${spec.name}' takes not more than ${params.length} argument(s)`);
  }
  let caller: unknown;
  if (spec.caller && Object.hasOwn(keywords, 'caller')) {
    caller = keywords.caller;
    delete keywords.caller;
  }
  const kwargs: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(keywords)) {
    const i = params.indexOf(name);
    if (i < 0) {
      if (!spec.kwargs) throw new JinjaError(`macro '${spec.name}' takes no keyword argument '${name}'`);
      kwargs[name] = value;
    } else if (given[i]) {
      throw new JinjaError(`macro '${spec.name}' got multiple values for argument '${name}'`);
    } else {
      values[i] = value;
      given[i] = true;
    }
  }
  return { given, values, varargs, kwargs, caller };
}

/**
 * How deep macro calls nest before the render is stopped as a macro calling itself without
 * end, as Python's recursion limit stops it in dbt: well before the process runs out of stack.
 */
const MAX_MACRO_DEPTH = 200;

/** The macros running now, outermost first, in the one render in progress (renders are synchronous). */
const running: string[] = [];

/** Refuses the call of macro `name` when macros already run MAX_MACRO_DEPTH deep. */
export function enterMacro(name: string): void {
  if (running.length >= MAX_MACRO_DEPTH) throw tooDeep(name);
}

/** The error of a macro called more than MAX_MACRO_DEPTH deep: one calling itself, or a chain of as many macros. */
function tooDeep(name: string): JinjaError {
  if (running.includes(name)) return new TemplateFunctionError(`${name}() is called inside itself more than ${MAX_MACRO_DEPTH} deep: it calls itself (or a macro that calls it) without end`);
  const chain = [...running.slice(0, 3), '…', ...running.slice(-2), name].map((m) => (m === '…' ? m : `${m}()`)).join(' → ');
  return new TemplateFunctionError(`macro calls nest more than ${MAX_MACRO_DEPTH} deep (${chain}), none calling itself: dbt's Python stops such a chain too`);
}

/**
 * A compiled macro body (which receives the bound arguments) as a function templates call.
 * Every macro Nunjucks runs passes here, also one that calls itself in its own file (which
 * reaches its definition in the file's frame, not the macro as pipe registered it), so here
 * is where a call without end is counted.
 */
export function makeMacro(spec: MacroSpec, body: (this: unknown, args: BoundArgs) => unknown): (...args: unknown[]) => unknown {
  return function macro(this: unknown, ...args: unknown[]) {
    enterMacro(spec.name);
    running.push(spec.name);
    try {
      return body.call(this, bindMacroArgs(spec, args));
    } finally {
      running.pop();
    }
  };
}
