import { error, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import { didYouMean } from '../diagnostics/suggest.js';
import {
  isProblem,
  makeCriterion,
  parseCliSelection,
  unionOf,
  type Criterion,
  type SelectionSpec,
  type SpecProblem,
} from '../graph/selection-spec.js';
import type { YamlSource } from '../project/yaml-file.js';
import { checkKeys } from './validate-keys.js';

/**
 * dbt's YAML selectors (`selectors.yml` of a dbt project), validated once into selections:
 *
 *   selectors:
 *     - name: nightly
 *       description: ...
 *       default: true            # what a command with no --select, --exclude or --selector selects
 *       definition:              # a string in the command-line form, or:
 *         union:                 # or intersection:
 *           - tag:nightly
 *           - method: fqn        # a term as a mapping (or `tag: nightly`, one key)
 *             value: staging
 *             children: true     # parents, children, *_depth, childrens_parents, indirect_selection
 *           - method: selector   # another selector's definition
 *             value: marts
 *           - exclude: [tag:deprecated]
 *
 * Every problem is reported at its line. Selectors may refer to each other in any order; a
 * cycle of them is an error.
 */

export interface SelectorDefinition {
  readonly name: string;
  readonly description?: string;
  readonly default: boolean;
  /** Every `method: selector` replaced by the definition it names. */
  readonly definition: SelectionSpec;
  readonly location: Location;
}

export interface SelectorDefinitions {
  readonly byName: ReadonlyMap<string, SelectorDefinition>;
  /** Selectors whose definitions have errors, already reported: they are not unknown as well. */
  readonly broken: ReadonlySet<string>;
  /** The selector with `default: true`, if one has it. */
  readonly defaultName?: string;
}

export const NO_SELECTORS: SelectorDefinitions = { byName: new Map(), broken: new Set() };

const FILE_KEYS = ['selectors', 'version'];
const SELECTOR_KEYS = ['name', 'description', 'default', 'definition'];
const TERM_KEYS = ['method', 'value', 'parents', 'children', 'parents_depth', 'children_depth', 'childrens_parents', 'indirect_selection', 'exclude'];
const INDIRECT_SELECTION = ['eager', 'cautious', 'buildable', 'empty'];

/** A definition as written: references to other selectors not yet replaced. */
type Draft =
  | { readonly kind: 'spec'; readonly spec: SelectionSpec }
  | { readonly kind: 'ref'; readonly name: string; readonly location: Location }
  | { readonly kind: 'union' | 'intersection'; readonly parts: readonly Draft[] }
  | { readonly kind: 'difference'; readonly include: Draft; readonly exclude: Draft };

type Path = readonly string[];

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function readSelectorDefinitions(yaml: YamlSource | undefined, diagnostics: Diagnostic[]): SelectorDefinitions {
  if (!yaml || Object.keys(yaml.data).length === 0) return NO_SELECTORS;
  return new SelectorReader(yaml, diagnostics).read();
}

class SelectorReader {
  private readonly drafts = new Map<string, { draft: Draft; at: Location; description?: string; default: boolean }>();
  private readonly broken = new Set<string>();

  constructor(
    private readonly yaml: YamlSource,
    private readonly diagnostics: Diagnostic[],
  ) {}

  /** The line of `path`, or of the nearest key or item above it that has one. */
  private at(path: Path): Location {
    for (let p = path; p.length > 0; p = p.slice(0, -1)) {
      const line = this.yaml.pathLine(p);
      if (line !== undefined) return { file: this.yaml.file, line };
    }
    return { file: this.yaml.file };
  }

  private bad(path: Path, message: string, hint?: string): undefined {
    this.diagnostics.push(error('bad-selector', message, this.at(path), hint ? { hint } : {}));
    return undefined;
  }

  read(): SelectorDefinitions {
    const data = this.yaml.data;
    checkKeys(data, FILE_KEYS, 'selectors.yml', (key) => this.at([key]), this.diagnostics);
    if (!Array.isArray(data.selectors)) {
      this.bad(['selectors'], 'selectors.yml lists its selectors under selectors:, each with a name: and a definition:');
      return NO_SELECTORS;
    }
    let defaultName: string | undefined;
    data.selectors.forEach((item: unknown, i) => {
      const path = ['selectors', String(i)];
      if (!isMapping(item)) return this.bad(path, 'a selector is a mapping with name: and definition:');
      checkKeys(item, SELECTOR_KEYS, 'selector', (key) => this.at([...path, key]), this.diagnostics);
      const name = item.name;
      if (typeof name !== 'string' || name === '') return this.bad(path, 'a selector needs a name: (text)');
      const at = this.at(path);
      const first = this.drafts.get(name);
      if (first || this.broken.has(name)) {
        this.diagnostics.push(error('bad-selector', `selector '${name}' is defined twice`, at, first ? { related: [{ message: 'first defined here', location: first.at }] } : {}));
        return;
      }
      const isDefault = this.flag(item.default, [...path, 'default']);
      if (typeof item.description !== 'string' && item.description !== undefined) this.bad([...path, 'description'], 'description must be text');
      const draft = item.definition === undefined ? this.bad(path, `selector '${name}' needs a definition:`) : this.definition(item.definition, [...path, 'definition'], true);
      if (!draft) {
        this.broken.add(name);
        return;
      }
      if (isDefault && defaultName !== undefined) {
        this.diagnostics.push(
          error('bad-selector', `selectors '${defaultName}' and '${name}' both say default: true; one selector can be the default`, this.at([...path, 'default']), {
            related: [{ message: `${defaultName} is the default here`, location: this.drafts.get(defaultName)!.at }],
          }),
        );
      } else if (isDefault) defaultName = name;
      this.drafts.set(name, { draft, at, description: typeof item.description === 'string' ? item.description : undefined, default: isDefault });
    });

    const byName = new Map<string, SelectorDefinition>();
    const resolved = new Map<string, SelectionSpec | undefined>();
    for (const [name, d] of this.drafts) {
      const definition = this.resolve(name, resolved, []);
      if (definition) byName.set(name, { name, description: d.description, default: d.default, definition, location: d.at });
      else this.broken.add(name);
    }
    return { byName, broken: this.broken, defaultName: defaultName !== undefined && byName.has(defaultName) ? defaultName : undefined };
  }

  /** `default:` and the other switches: true or false, never text (pipe does not render Jinja here). */
  private flag(value: unknown, path: Path): boolean {
    if (value === undefined || typeof value === 'boolean') return value === true;
    const jinja = typeof value === 'string' && value.includes('{{');
    this.bad(path, `${path[path.length - 1]} must be true or false, got ${JSON.stringify(value)}`, jinja ? 'pipe does not render Jinja in selectors.yml: write true or false' : undefined);
    return false;
  }

  private definition(value: unknown, path: Path, root: boolean): Draft | undefined {
    if (typeof value === 'string') return this.cliText(value, path);
    if (!isMapping(value)) {
      return this.bad(path, 'a definition is a selector in the command-line form (text), a mapping with method: and value:, or a union: or intersection: list', Array.isArray(value) ? 'a list of selectors goes under union: or intersection:' : undefined);
    }
    const keys = Object.keys(value);
    const ops = keys.filter((k) => k === 'union' || k === 'intersection');
    if (ops.length > 0) {
      if (keys.length > 1) return this.bad(path, `a ${ops[0]}: mapping has no other key (found ${keys.join(', ')})${root ? ': write one union: or intersection: at the top of a definition' : ''}`);
      return this.setOperation(ops[0] as 'union' | 'intersection', value[ops[0]], [...path, ops[0]]);
    }
    if (keys.length === 1 && keys[0] !== 'method' && keys[0] !== 'value') {
      const method = keys[0];
      if (method === 'exclude') return this.bad(path, 'exclude: goes in a union: or intersection: list, or beside method: and value:');
      if (method === 'selector') return this.reference(value.selector, [...path, method]);
      return this.term({ method, value: value[method] }, path, [...path, method]);
    }
    if (value.method === 'selector') {
      const others = keys.filter((k) => k !== 'method' && k !== 'value');
      if (others.length > 0) return this.bad([...path, others[0]], `method: selector takes only value: (found ${others.join(', ')}); put graph operators in the selector it names`);
      return this.reference(value.value, [...path, 'value']);
    }
    if (value.method === undefined || value.value === undefined) {
      return this.bad(path, `a selector mapping has method: and value: (or is one method: value), got ${keys.join(', ') || 'no keys'}`);
    }
    return this.term(value, path, [...path, 'method']);
  }

  /** The command-line form in YAML: `definition: "tag:nightly,path:models/marts"`. */
  private cliText(text: string, path: Path): Draft | undefined {
    const parsed = parseCliSelection([text], this.at(path));
    for (const p of parsed.problems) this.specProblem(p, path);
    if (parsed.problems.length > 0) return undefined;
    if (!parsed.spec) return this.bad(path, 'the definition names no selector');
    return { kind: 'spec', spec: parsed.spec };
  }

  private specProblem(p: SpecProblem, path: Path): undefined {
    this.diagnostics.push(error(p.code, `selector '${p.text}': ${p.message}`, this.at(path), p.hint ? { hint: p.hint } : {}));
    return undefined;
  }

  private reference(name: unknown, path: Path): Draft | undefined {
    if (typeof name !== 'string' || name === '') return this.bad(path, 'method: selector names another selector of this file in value:');
    return { kind: 'ref', name, location: this.at(path) };
  }

  private setOperation(op: 'union' | 'intersection', list: unknown, path: Path): Draft | undefined {
    if (!Array.isArray(list)) return this.bad(path, `${op}: is a list of selectors`);
    const parts: Draft[] = [];
    let exclude: Draft | undefined;
    let ok = true;
    list.forEach((item: unknown, i) => {
      const itemPath = [...path, String(i)];
      if (isMapping(item) && Object.keys(item).length === 1 && 'exclude' in item) {
        if (exclude) {
          this.bad(itemPath, `one exclude: per ${op}: list; list everything to leave out in it`);
          ok = false;
        } else {
          exclude = this.exclusions(item.exclude, [...itemPath, 'exclude']);
          ok &&= exclude !== undefined;
        }
        return;
      }
      const part = this.definition(item, itemPath, false);
      if (part) parts.push(part);
      else ok = false;
    });
    if (!ok) return undefined;
    if (parts.length === 0) return this.bad(path, `${op}: lists nothing to select${exclude ? ' (only what to exclude)' : ''}`);
    const combined: Draft = { kind: op, parts };
    return exclude ? { kind: 'difference', include: combined, exclude } : combined;
  }

  /** `exclude: [...]`: the union of what it lists. */
  private exclusions(list: unknown, path: Path): Draft | undefined {
    if (!Array.isArray(list) || list.length === 0) return this.bad(path, 'exclude: is a list of selectors to leave out');
    const parts = list.map((item: unknown, i) => this.definition(item, [...path, String(i)], false));
    if (parts.some((p) => p === undefined)) return undefined;
    return parts.length === 1 ? parts[0] : { kind: 'union', parts: parts as Draft[] };
  }

  /** A term as a mapping: `{method, value, parents, ...}`, or `{tag: nightly}` (`keyPath` is where method and value are). */
  private term(d: Readonly<Record<string, unknown>>, path: Path, keyPath: Path): Draft | undefined {
    const before = this.diagnostics.length;
    checkKeys(d, TERM_KEYS, 'selector', (key) => this.at([...path, key]), this.diagnostics);
    const method = d.method;
    const value = d.value;
    if (typeof method !== 'string') return this.bad(keyPath, 'method: is the name of a selector method, e.g. tag or config.materialized');
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      return this.bad(keyPath, `the value of ${method} is one text, number or true/false`, Array.isArray(value) ? 'to select several values, list one selector per value under union:' : undefined);
    }
    const parents = this.flag(d.parents, [...path, 'parents']);
    const children = this.flag(d.children, [...path, 'children']);
    const childrensParents = this.flag(d.childrens_parents, [...path, 'childrens_parents']);
    const parentsDepth = this.depth(d.parents_depth, parents, 'parents', path);
    const childrenDepth = this.depth(d.children_depth, children, 'children', path);
    if (d.indirect_selection !== undefined && !INDIRECT_SELECTION.includes(String(d.indirect_selection))) {
      this.bad([...path, 'indirect_selection'], `indirect_selection is one of ${INDIRECT_SELECTION.join(', ')}`);
    }
    const text = `${childrensParents ? '@' : ''}${parents ? `${parentsDepth === Infinity ? '' : parentsDepth}+` : ''}${method}:${value}${children ? `+${childrenDepth === Infinity ? '' : childrenDepth}` : ''}`;
    const made = makeCriterion({
      text,
      method,
      value: String(value),
      parents: parents ? parentsDepth : 0,
      children: children ? childrenDepth : 0,
      childrensParents,
      location: this.at(keyPath),
    });
    if (isProblem(made)) return this.specProblem(made, keyPath);
    if (this.diagnostics.length > before) return undefined;
    const spec: Draft = { kind: 'spec', spec: made satisfies Criterion };
    if (d.exclude === undefined) return spec;
    const exclude = this.exclusions(d.exclude, [...path, 'exclude']);
    return exclude ? { kind: 'difference', include: spec, exclude } : undefined;
  }

  /** `parents_depth: 2`; it says how far `parents: true` goes, so it needs it. */
  private depth(value: unknown, on: boolean, what: 'parents' | 'children', path: Path): number {
    if (value === undefined) return Infinity;
    const key = `${what}_depth`;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      this.bad([...path, key], `${key} is a whole number of generations, got ${JSON.stringify(value)}`);
    } else if (!on) {
      this.bad([...path, key], `${key} says how far ${what}: true goes; add ${what}: true`);
    }
    return typeof value === 'number' ? value : Infinity;
  }

  /** A selector's definition with its references replaced; undefined when it or one it names is broken. */
  private resolve(name: string, resolved: Map<string, SelectionSpec | undefined>, stack: readonly string[]): SelectionSpec | undefined {
    if (resolved.has(name)) return resolved.get(name);
    const own = this.drafts.get(name);
    if (!own) return undefined;
    const walk = (d: Draft): SelectionSpec | undefined => {
      switch (d.kind) {
        case 'spec':
          return d.spec;
        case 'ref': {
          if (d.name === name || stack.includes(d.name)) {
            const cycle = [...stack.slice(stack.indexOf(d.name)), name, d.name];
            this.diagnostics.push(error('selector-cycle', `selectors refer to each other in a cycle: ${d.name === name ? `${name} -> ${name}` : cycle.join(' -> ')}`, d.location));
            return undefined;
          }
          if (!this.drafts.has(d.name)) {
            if (!this.broken.has(d.name)) {
              const names = [...this.drafts.keys(), ...this.broken];
              this.diagnostics.push(error('unknown-selector', `no selector named '${d.name}' in ${this.yaml.file}`, d.location, { hint: didYouMean(d.name, names) ?? `selectors: ${names.join(', ')}` }));
            }
            return undefined;
          }
          return this.resolve(d.name, resolved, [...stack, name]);
        }
        case 'union':
        case 'intersection': {
          const parts = d.parts.map(walk);
          if (parts.some((p) => p === undefined)) return undefined;
          return d.kind === 'union' ? unionOf(parts as SelectionSpec[]) : { kind: 'intersection', parts: parts as SelectionSpec[] };
        }
        case 'difference': {
          const include = walk(d.include);
          const exclude = walk(d.exclude);
          return include && exclude ? { kind: 'difference', include, exclude } : undefined;
        }
        default: {
          const never: never = d;
          throw new Error(`internal error: selector definition ${JSON.stringify(never)}`);
        }
      }
    };
    const spec = walk(own.draft);
    // A selector in a cycle is settled by the first one to find it; the others are broken without a second report.
    if (!resolved.has(name)) resolved.set(name, spec);
    return spec;
  }
}
