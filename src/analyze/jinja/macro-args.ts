import { TemplateFunctionError } from './errors.js';

/**
 * How a call from a template reaches a function: Nunjucks passes the positional arguments,
 * then the keyword arguments as one object marked `__keywords`. pipe's own macros bind them
 * to their parameters as Jinja binds a macro's, and refuse what Jinja refuses.
 */

type Keywords = Record<string, unknown> & { __keywords?: boolean };

export function splitKeywords(args: readonly unknown[]): { positional: unknown[]; keywords: Record<string, unknown> } {
  const last = args[args.length - 1] as Keywords | undefined;
  if (last && typeof last === 'object' && last.__keywords === true) {
    const { __keywords: _, ...keywords } = last;
    return { positional: args.slice(0, -1), keywords };
  }
  return { positional: [...args], keywords: {} };
}

/** Keyword arguments as Nunjucks passes them to a function it calls. */
export function keywordArgs(keywords: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return { ...keywords, __keywords: true };
}

/** A parameter; one without `default` must be given. */
export interface Param {
  readonly name: string;
  readonly default?: unknown;
}

export const param = (name: string, ...fallback: [] | [unknown]): Param => (fallback.length === 0 ? { name } : { name, default: fallback[0] });

/**
 * The arguments of a call bound to `params` by position, then by name. With `rest`, keyword
 * arguments no parameter names are kept there (Jinja's `kwargs`) instead of refused.
 */
export function bindArgs(macro: string, params: readonly Param[], args: readonly unknown[], rest = false): Record<string, unknown> {
  const { positional, keywords } = splitKeywords(args);
  if (positional.length > params.length) {
    throw new TemplateFunctionError(`${macro}() takes ${params.length} argument${params.length === 1 ? '' : 's'} (${params.map((p) => p.name).join(', ')}), got ${positional.length}`);
  }
  const bound: Record<string, unknown> = {};
  const extra: Record<string, unknown> = {};
  params.forEach((p, i) => {
    if (i < positional.length) bound[p.name] = positional[i];
  });
  for (const [name, value] of Object.entries(keywords)) {
    const index = params.findIndex((p) => p.name === name);
    if (index < 0) {
      if (!rest) throw new TemplateFunctionError(`${macro}() takes no argument '${name}'${params.length > 0 ? ` (its arguments: ${params.map((p) => p.name).join(', ')})` : ''}`);
      extra[name] = value;
    } else if (index < positional.length) {
      throw new TemplateFunctionError(`${macro}() got '${name}' twice, by position and by name`);
    } else {
      bound[name] = value;
    }
  }
  for (const p of params) {
    if (Object.hasOwn(bound, p.name)) continue;
    if (!Object.hasOwn(p, 'default')) throw new TemplateFunctionError(`${macro}() needs the argument '${p.name}'`);
    bound[p.name] = p.default;
  }
  if (rest) bound.kwargs = extra;
  return bound;
}
