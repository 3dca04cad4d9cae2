import { pyFunction, signature } from './args.js';
import { JinjaError } from './errors.js';
import { binary } from './operators.js';
import { pyBool, pyCallable, pyEquals, pyIterate, tuple, typeName } from './values.js';

/**
 * dbt's `modules.itertools`, as templates use it: each function gives a list (Python gives an
 * iterator, which templates loop over or pass to `| list`), of tuples where Python's gives
 * tuples. The endless ones (count, cycle, repeat without times) are refused: a template could
 * only take part of them with islice or zip, and a list cannot be endless.
 */

/** A non-negative int argument, as Python checks it. */
function count(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new JinjaError(`${what} must be an integer, not ${typeName(v)}`);
  if (v < 0) throw new JinjaError(`${what} must be non-negative`);
  return v;
}

/** An optional int argument of islice: None, or an int from 0. */
function bound(v: unknown, what: string): number | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new JinjaError(`${what} for islice() must be None or an integer: 0 <= x <= sys.maxsize`);
  return v;
}

function callable(f: unknown, what: string): (...args: unknown[]) => unknown {
  if (typeof f !== 'function') throw new JinjaError(`${what}: '${typeName(f)}' object is not callable`);
  return f as (...args: unknown[]) => unknown;
}

/**
 * The most items a function here gives: Python's iterators give them one at a time, a list
 * holds them all, so a product or permutations of long lists is refused rather than filling
 * the memory.
 */
const MAX_ITEMS = 1_000_000;

function within(size: number, name: string): number {
  if (size > MAX_ITEMS) throw new JinjaError(`itertools.${name} would give ${size > 1e15 ? 'more than 10^15' : size.toLocaleString('en-US')} items, and pipe's itertools gives lists (of at most ${MAX_ITEMS.toLocaleString('en-US')}): take fewer items, or loop with {% for %}`);
  return size;
}

/** n! / (n - r)!, or that over r! (choose), as a float: only compared with MAX_ITEMS. */
function arrangements(n: number, r: number, choose: boolean): number {
  let out = 1;
  for (let i = 0; i < r; i++) out = (out * (n - i)) / (choose ? i + 1 : 1);
  return out;
}

function product(pools: readonly unknown[][]): unknown[][] {
  within(pools.reduce((n, p) => n * p.length, 1), 'product');
  let out: unknown[][] = [[]];
  for (const pool of pools) out = out.flatMap((prefix) => pool.map((x) => [...prefix, x]));
  return out;
}

function combinations(pool: readonly unknown[], r: number, replace: boolean): unknown[][] {
  within(replace ? arrangements(pool.length + r - 1, r, true) : r > pool.length ? 0 : arrangements(pool.length, r, true), replace ? 'combinations_with_replacement' : 'combinations');
  const out: unknown[][] = [];
  const pick = (start: number, chosen: unknown[]) => {
    if (chosen.length === r) {
      out.push(chosen);
      return;
    }
    for (let i = start; i < pool.length; i++) pick(replace ? i : i + 1, [...chosen, pool[i]]);
  };
  if (r <= pool.length || replace) pick(0, []);
  return out;
}

function permutations(pool: readonly unknown[], r: number): unknown[][] {
  within(r > pool.length ? 0 : arrangements(pool.length, r, false), 'permutations');
  const out: unknown[][] = [];
  const pick = (used: ReadonlySet<number>, chosen: unknown[]) => {
    if (chosen.length === r) {
      out.push(chosen);
      return;
    }
    for (let i = 0; i < pool.length; i++) if (!used.has(i)) pick(new Set([...used, i]), [...chosen, pool[i]]);
  };
  if (r <= pool.length) pick(new Set(), []);
  return out;
}

const endless = (name: string, instead: string) =>
  pyFunction(signature(name, '*args **kwargs'), () => {
    throw new JinjaError(`itertools.${name} is endless, and pipe's itertools gives lists: ${instead}`);
  });

export function itertoolsModule(): Record<string, unknown> {
  const chain = pyCallable(
    pyFunction(signature('chain', '*args'), (iterables: unknown[]) => iterables.flatMap((i) => pyIterate(i))),
    { from_iterable: pyFunction(signature('from_iterable', 'iterable'), (it: unknown) => pyIterate(it).flatMap((i) => pyIterate(i))) },
    'chain',
  );
  return {
    product: pyFunction(signature('product', '*args repeat', { repeat: 1 }), (repeat: unknown, iterables: unknown[]) => {
      const pools = iterables.map((i) => pyIterate(i));
      const times = count(repeat, 'repeat argument');
      return product(Array.from({ length: times }, () => pools).flat()).map((t) => tuple(t));
    }),
    combinations: pyFunction(signature('combinations', 'iterable r'), (it: unknown, r: unknown) => combinations(pyIterate(it), count(r, 'r'), false).map((t) => tuple(t))),
    combinations_with_replacement: pyFunction(signature('combinations_with_replacement', 'iterable r'), (it: unknown, r: unknown) =>
      combinations(pyIterate(it), count(r, 'r'), true).map((t) => tuple(t)),
    ),
    permutations: pyFunction(signature('permutations', 'iterable r', { r: null }), (it: unknown, r: unknown) => {
      const pool = pyIterate(it);
      return permutations(pool, r === null ? pool.length : count(r, 'r')).map((t) => tuple(t));
    }),
    chain,
    accumulate: pyFunction(signature('accumulate', 'iterable func initial', { func: null, initial: null }), (it: unknown, func: unknown, initial: unknown) => {
      const step = func === null ? (a: unknown, b: unknown) => binary('+', a, b) : callable(func, 'accumulate() func');
      const out: unknown[] = initial === null ? [] : [initial];
      for (const x of pyIterate(it)) out.push(out.length === 0 ? x : step(out[out.length - 1], x));
      return out;
    }),
    repeat: pyFunction(signature('repeat', 'object times', { times: null }), (obj: unknown, times: unknown) => {
      if (times === null) throw new JinjaError("itertools.repeat without times is endless, and pipe's itertools gives lists: give it times, repeat(x, 3)");
      if (typeof times !== 'number' || !Number.isInteger(times)) throw new JinjaError(`'${typeName(times)}' object cannot be interpreted as an integer`);
      return Array.from({ length: within(Math.max(0, times), 'repeat') }, () => obj);
    }),
    islice: pyFunction(signature('islice', 'iterable *args'), (it: unknown, args: unknown[]) => {
      if (args.length < 1 || args.length > 3) throw new JinjaError(`islice expected 2 to 4 arguments, got ${args.length + 1}`);
      const [start, stop, step] = args.length === 1 ? [0, bound(args[0], 'Stop argument'), 1] : [bound(args[0], 'Indices') ?? 0, bound(args[1], 'Stop argument'), bound(args[2], 'Step argument') ?? 1];
      if (step < 1) throw new JinjaError('Step for islice() must be a positive integer or None.');
      const items = pyIterate(it);
      const out: unknown[] = [];
      for (let i = start; i < (stop === undefined ? items.length : Math.min(stop, items.length)); i += step) out.push(items[i]);
      return out;
    }),
    zip_longest: pyFunction(signature('zip_longest', '*args fillvalue', { fillvalue: null }), (fill: unknown, iterables: unknown[]) => {
      const lists = iterables.map((i) => pyIterate(i));
      const n = Math.max(0, ...lists.map((l) => l.length));
      return Array.from({ length: n }, (_, i) => tuple(lists.map((l) => (i < l.length ? l[i] : fill))));
    }),
    groupby: pyFunction(signature('groupby', 'iterable key', { key: null }), (it: unknown, key: unknown) => {
      const keyOf = key === null ? (x: unknown) => x : callable(key, 'groupby() key');
      const out: [unknown, unknown[]][] = [];
      for (const x of pyIterate(it)) {
        const k = keyOf(x);
        const last = out[out.length - 1];
        if (last && pyEquals(last[0], k)) last[1].push(x);
        else out.push([k, [x]]);
      }
      return out.map(([k, group]) => tuple([k, group]));
    }),
    starmap: pyFunction(signature('starmap', 'function iterable'), (f: unknown, it: unknown) => {
      const fn = callable(f, 'starmap()');
      return pyIterate(it).map((args) => fn(...pyIterate(args)));
    }),
    compress: pyFunction(signature('compress', 'data selectors'), (data: unknown, selectors: unknown) => {
      const s = pyIterate(selectors);
      return pyIterate(data).filter((_, i) => i < s.length && pyBool(s[i]));
    }),
    pairwise: pyFunction(signature('pairwise', 'iterable'), (it: unknown) => {
      const items = pyIterate(it);
      return items.slice(1).map((x, i) => tuple([items[i], x]));
    }),
    takewhile: pyFunction(signature('takewhile', 'predicate iterable'), (p: unknown, it: unknown) => {
      const test = callable(p, 'takewhile()');
      const items = pyIterate(it);
      const end = items.findIndex((x) => !pyBool(test(x)));
      return end === -1 ? items : items.slice(0, end);
    }),
    dropwhile: pyFunction(signature('dropwhile', 'predicate iterable'), (p: unknown, it: unknown) => {
      const test = callable(p, 'dropwhile()');
      const items = pyIterate(it);
      const start = items.findIndex((x) => !pyBool(test(x)));
      return start === -1 ? [] : items.slice(start);
    }),
    filterfalse: pyFunction(signature('filterfalse', 'predicate iterable'), (p: unknown, it: unknown) => {
      const test = p === null ? (x: unknown) => x : callable(p, 'filterfalse()');
      return pyIterate(it).filter((x) => !pyBool(test(x)));
    }),
    tee: pyFunction(signature('tee', 'iterable n', { n: 2 }), (it: unknown, n: unknown) => {
      const items = pyIterate(it);
      return tuple(Array.from({ length: count(n, 'n') }, () => [...items]));
    }),
    count: endless('count', 'use range(start, stop, step)'),
    cycle: endless('cycle', 'repeat the list with * or loop over it with {% for %}'),
  };
}
