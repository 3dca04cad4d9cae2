import { JinjaError } from './errors.js';
import { pyEquals, tuple } from './values.js';

/**
 * Jinja's loop variables that Nunjucks' loops do not set (Nunjucks sets index, index0,
 * revindex, revindex0, first, last and length): `loop.previtem` and `loop.nextitem` (undefined
 * at either end, as in Jinja), `loop.depth` and `loop.depth0` (1 and 0: a loop that is not
 * recursive), `loop.cycle(a, b, ...)` and `loop.changed(value)`. Set in the loop's frame for
 * each iteration, by compiled templates and by programs alike.
 */

interface LoopFrame {
  set(name: string, value: unknown): void;
}

/** What loop.changed() last saw, per loop (its frame lives as long as the loop). */
const lastSeen = new WeakMap<object, { value?: unknown }>();

export function setLoopVariables(frame: LoopFrame, items: unknown, i: number, length: number): void {
  const at = (k: number) => (Array.isArray(items) ? items[k] : Object.keys(items as object)[k]);
  frame.set('loop.previtem', i > 0 ? at(i - 1) : undefined);
  frame.set('loop.nextitem', i < length - 1 ? at(i + 1) : undefined);
  frame.set('loop.depth', 1);
  frame.set('loop.depth0', 0);
  frame.set('loop.cycle', (...values: unknown[]) => {
    if (values.length === 0) throw new JinjaError('no items for cycling given');
    return values[i % values.length];
  });
  let seen = lastSeen.get(frame);
  if (!seen) lastSeen.set(frame, (seen = {}));
  const state = seen;
  frame.set('loop.changed', (...values: unknown[]) => {
    const value = tuple(values);
    if ('value' in state && pyEquals(state.value, value)) return false;
    state.value = value;
    return true;
  });
}
