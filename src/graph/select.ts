import type { Graph } from './graph.js';
import { downstreamMap } from './graph.js';
import type { Criterion, SelectionSpec } from './selection-spec.js';
import { nameGlob } from './glob-match.js';
import { emptyIsAnswer, namesFreeTest, nodeMatcher, noMatch, type SelectableNode, type SelectionContext } from './selector-methods.js';

export type { SelectableNode, SelectionContext } from './selector-methods.js';

/**
 * Evaluates a selection (see selection-spec.ts) on a graph, as dbt does: each term selects
 * the nodes its method matches, then adds the relatives its operators ask for; unions,
 * intersections and differences combine the sets.
 */

export interface SelectionProblem {
  readonly criterion: Criterion;
  readonly message: string;
  /** Values the method could have matched, for a did-you-mean. */
  readonly candidates: readonly string[];
}

/**
 * `include` minus `exclude`; no `include` means every node. A term that matches no node is a
 * problem (it is a typo far more often than a selection meant to be empty), unless an empty
 * match is an answer (see emptyIsAnswer): those terms are `empty`, for a notice.
 */
export function select(
  graph: Graph,
  /** The nodes as selection sees them, made only when a term is evaluated: with no terms, every node is selected without them. */
  nodes: readonly SelectableNode[] | (() => readonly SelectableNode[]),
  include: SelectionSpec | undefined,
  exclude: SelectionSpec | undefined,
  context: SelectionContext = {},
): { selected: Set<string>; excluded: ReadonlySet<string>; problems: SelectionProblem[]; empty: Criterion[]; evaluated: Criterion[] } {
  const evaluator = new Evaluator(graph, nodes, context);
  const selected = include ? evaluator.evaluate(include) : new Set(graph.nodes);
  const excluded = exclude ? evaluator.evaluate(exclude, true) : new Set<string>();
  for (const n of excluded) selected.delete(n);
  return { selected, excluded, problems: evaluator.problems, empty: evaluator.empty, evaluated: evaluator.evaluated() };
}

class Evaluator {
  readonly problems: SelectionProblem[] = [];
  readonly empty: Criterion[] = [];
  /** A term used twice (a selector reused by others) is evaluated, and reported, once; an excluding one apart (see nodeMatcher). */
  private readonly terms = new Map<Criterion, ReadonlySet<string>>();
  private readonly excludingTerms = new Map<Criterion, ReadonlySet<string>>();
  private down?: ReadonlyMap<string, readonly string[]>;
  private made?: readonly SelectableNode[];

  constructor(
    private readonly graph: Graph,
    private readonly given: readonly SelectableNode[] | (() => readonly SelectableNode[]),
    private readonly context: SelectionContext,
  ) {}

  private get nodes(): readonly SelectableNode[] {
    const given = this.given;
    this.made ??= typeof given === 'function' ? given() : given;
    return this.made;
  }

  /** The terms evaluated so far. */
  evaluated(): Criterion[] {
    return [...new Set([...this.terms.keys(), ...this.excludingTerms.keys()])];
  }

  /** The nodes `spec` selects; `excluding`, as what an exclusion leaves out. */
  evaluate(spec: SelectionSpec, excluding = false): Set<string> {
    switch (spec.kind) {
      case 'criterion':
        return new Set(this.term(spec, excluding));
      case 'union': {
        const out = new Set<string>();
        for (const part of spec.parts) for (const n of this.evaluate(part, excluding)) out.add(n);
        return out;
      }
      case 'intersection': {
        const [first, ...others] = spec.parts.map((p) => this.evaluate(p, excluding));
        return new Set([...(first ?? [])].filter((n) => others.every((set) => set.has(n))));
      }
      case 'difference': {
        const out = this.evaluate(spec.include, excluding);
        for (const n of this.evaluate(spec.exclude, true)) out.delete(n);
        return out;
      }
      default: {
        const never: never = spec;
        throw new Error(`internal error: selection ${JSON.stringify(never)}`);
      }
    }
  }

  private term(c: Criterion, excluding: boolean): ReadonlySet<string> {
    const terms = excluding ? this.excludingTerms : this.terms;
    const known = terms.get(c);
    if (known) return known;
    if (c.method === 'exposure') {
      const out = this.exposure(c);
      terms.set(c, out);
      return out;
    }
    const match = nodeMatcher(c, this.context, excluding);
    const matched = this.nodes.filter(match).map((n) => n.name);
    // Said once, though the term is evaluated both as selecting and as excluding.
    const said = this.terms.has(c) || this.excludingTerms.has(c);
    if (matched.length === 0 && namesFreeTest(c, this.context)) {
      // A test that names no node: it selects (or leaves out) none, and the command's tests say whether it runs.
    } else if (matched.length === 0 && emptyIsAnswer(c)) {
      if (!said) this.empty.push(c);
    } else if (matched.length === 0 && !said) {
      // An exclusion by a tag only tests have would build their nodes without them.
      const testsOnly = excluding && c.method === 'tag' && this.nodes.some(nodeMatcher(c, this.context));
      this.problems.push(
        testsOnly
          ? { criterion: c, message: `only tests have the tag '${c.value}', and a test runs in the build of the node it tests: an exclusion leaves out nodes by their own tags`, candidates: [] }
          : { criterion: c, ...noMatch(c, this.nodes, this.context) },
      );
    }
    const out = new Set(matched);
    if (c.childrensParents) {
      const withChildren = new Set([...matched, ...this.generations(matched, Infinity, 'down')]);
      for (const n of withChildren) out.add(n);
      for (const n of this.generations(withChildren, Infinity, 'up')) out.add(n);
    }
    for (const n of this.generations(matched, c.parents, 'up')) out.add(n);
    for (const n of this.generations(matched, c.children, 'down')) out.add(n);
    terms.set(c, out);
    return out;
  }

  /**
   * `+exposure:name`: what the exposure depends on, and their ancestors up to the operator's
   * depth (the exposure is a generation). An exposure is no node pipe builds, so without `+`
   * before it the term selects nothing, which is said rather than run.
   */
  private exposure(c: Criterion): ReadonlySet<string> {
    const match = nameGlob(c.value);
    const all = [...(this.context.exposures ?? new Map<string, { readonly nodes: readonly string[] }>())];
    const found = all.filter(([name]) => match(name));
    if (found.length === 0) {
      this.problems.push({ criterion: c, message: all.length === 0 ? `no exposure named '${c.value}': the project declares no exposures` : `no exposure named '${c.value}'`, candidates: all.map(([name]) => name) });
      return new Set();
    }
    if (c.parents <= 0 && !c.childrensParents) {
      this.problems.push({ criterion: c, message: `exposure:${c.value} selects the exposure alone, which pipe does not build: +exposure:${c.value} selects what it depends on`, candidates: [] });
      return new Set();
    }
    const direct = new Set(found.flatMap(([, e]) => e.nodes));
    const depth = c.childrensParents ? Infinity : c.parents - 1;
    return new Set([...direct, ...this.generations(direct, depth, 'up')]);
  }

  /** The nodes up to `depth` edges away from `start` in one direction (`start` only where reached again). */
  private generations(start: Iterable<string>, depth: number, direction: 'up' | 'down'): Set<string> {
    const found = new Set<string>();
    if (depth <= 0) return found;
    const next = direction === 'up' ? (n: string) => this.graph.upstream.get(n) : (n: string) => (this.down ??= downstreamMap(this.graph)).get(n);
    let layer = [...start];
    for (let i = 0; i < depth && layer.length > 0; i++) {
      const following: string[] = [];
      for (const n of layer) {
        for (const m of next(n) ?? []) {
          if (found.has(m)) continue;
          found.add(m);
          following.push(m);
        }
      }
      layer = following;
    }
    return found;
  }
}
