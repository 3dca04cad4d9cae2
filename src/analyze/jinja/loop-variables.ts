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

/** What a loop keeps across its iterations (its frame lives as long as the loop): changed()'s last value, a mapping's keys. */
interface LoopState {
  readonly changed: (...values: unknown[]) => boolean;
  keys?: readonly string[];
}

const states = new WeakMap<object, LoopState>();

function stateOf(frame: LoopFrame): LoopState {
  let state = states.get(frame);
  if (!state) {
    let last: { readonly value: unknown } | undefined;
    state = {
      changed: (...values: unknown[]) => {
        const value = tuple(values);
        if (last !== undefined && pyEquals(last.value, value)) return false;
        last = { value };
        return true;
      },
    };
    states.set(frame, state);
  }
  return state;
}

export function setLoopVariables(frame: LoopFrame, items: unknown, i: number, length: number): void {
  const state = stateOf(frame);
  // A mapping's keys, listed once per loop, not once per iteration.
  const at = (k: number) => (Array.isArray(items) ? items[k] : (state.keys ??= Object.keys(items as object))[k]);
  frame.set('loop.previtem', i > 0 ? at(i - 1) : undefined);
  frame.set('loop.nextitem', i < length - 1 ? at(i + 1) : undefined);
  frame.set('loop.depth', 1);
  frame.set('loop.depth0', 0);
  frame.set('loop.cycle', (...values: unknown[]) => {
    if (values.length === 0) throw new JinjaError('no items for cycling given');
    return values[i % values.length];
  });
  frame.set('loop.changed', state.changed);
}
