import nunjucks from 'nunjucks';

/**
 * Macros that give way to a variable of the render of their name. dbt renders each macro on its
 * own, with the node's context, so inside a package `model` is the node even where the package
 * defines a macro `model()` (dbt-unit-testing's, which it calls as `dbt_unit_testing.model()`);
 * pipe renders a macro file whole, where a sibling macro of that name would be found first.
 * Such a macro, found by its name, is replaced by the render's variable when the render has one.
 */

interface Frame {
  lookup(name: string): unknown;
}
interface Context {
  lookup(name: string): unknown;
}

const runtime = (nunjucks as unknown as { runtime: { contextOrFrameLookup: (context: Context, frame: Frame, name: string) => unknown } }).runtime;

/** The macros that give way, and where the render's variable of a name is read. */
const shadowed = new WeakMap<object, (name: string) => unknown>();
/** How many there are: none in most projects, where a lookup pays nothing more. */
let count = 0;

// Wraps the lookup as it stands when this module loads (see name-reads.ts, which wraps it too).
const lookup = runtime.contextOrFrameLookup;
runtime.contextOrFrameLookup = (context: Context, frame: Frame, name: string): unknown => {
  const found = lookup(context, frame, name);
  if (count === 0 || typeof found !== 'function') return found;
  const variable = shadowed.get(found)?.(name);
  return variable === undefined ? found : variable;
};

/** Makes `macro` give way to the render's variable of its name when the render has one (`variable(name)` not undefined). */
export function givesWayTo(macro: object, variable: (name: string) => unknown): void {
  if (!shadowed.has(macro)) count++;
  shadowed.set(macro, variable);
}
