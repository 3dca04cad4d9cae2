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
  readonly variables: Record<string, unknown>;
}

/**
 * The `loop` object of a loop's frame, made as `frame.set('loop.index', …)` makes it (an object
 * the frame's first `loop.` name creates, kept for the loop's iterations); its fields are set
 * directly, each iteration, without the frame splitting 13 names.
 */
function loopObject(frame: LoopFrame): Record<string, unknown> {
  const variables = frame.variables;
  let loop = variables.loop as Record<string, unknown> | undefined;
  if (!loop) variables.loop = loop = {};
  return loop;
}

/**
 * Every loop variable of one iteration: Nunjucks' (index, index0, revindex, revindex0, first,
 * last, length) set on the `loop` object directly, then Jinja's (see setLoopVariables).
 */
export function setLoopBindings(frame: LoopFrame, items: unknown, i: number, length: number): void {
  const loop = loopObject(frame);
  loop.index = i + 1;
  loop.index0 = i;
  loop.revindex = length - i;
  loop.revindex0 = length - i - 1;
  loop.first = i === 0;
  loop.last = i === length - 1;
  loop.length = length;
  setLoopVariables(frame, items, i, length);
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
  const loop = loopObject(frame);
  loop.previtem = i > 0 ? at(i - 1) : undefined;
  loop.nextitem = i < length - 1 ? at(i + 1) : undefined;
  loop.depth = 1;
  loop.depth0 = 0;
  loop.cycle = (...values: unknown[]) => {
    if (values.length === 0) throw new JinjaError('no items for cycling given');
    return values[i % values.length];
  };
  loop.changed = state.changed;
}
