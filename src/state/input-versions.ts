import type { SourceNode } from '../analyze/sources.js';
import type { LatestBuilds } from '../warehouse/build-records.js';
import { hashOf } from './data-version.js';
import { UNKNOWN, type InputRef } from './tracking.js';

/**
 * The versions of a task's inputs now: a model's from its latest valid build (what a run
 * published before the task became ready is among them), a seed's from the hash it was last
 * loaded with, a source's from its fingerprint. An input pipe has no record of is UNKNOWN.
 */

export interface VersionSources {
  readonly builds: LatestBuilds;
  /** Each seed's latest loaded hash (run-state.ts readSeedHashes). */
  readonly seedHashes: ReadonlyMap<string, string>;
  /** A source's fingerprint, taken once per run (source-fingerprint.ts); UNKNOWN when it cannot be taken. */
  readonly source: (source: SourceNode) => Promise<string>;
  /** Views' versions already resolved (see ViewVersions): a view many models read, through views, is resolved once. */
  readonly views?: ViewVersions;
}

type ViewInput = Extract<InputRef, { kind: 'view' }>;

/**
 * Views' versions resolved so far, by key, each kept until a node it reads changes: the
 * caller says which (`changed`) as a build of a model or a seed's load is published. A view's
 * version depends on its own build and on what it reads, through views too; a publication of
 * anything else leaves it as it was. (Emptied at every publication, each task of a long run
 * or a status resolved its upstream views anew, chains of views included.)
 */
export class ViewVersions {
  private readonly versions = new Map<string, Promise<string>>();
  /** The keys of the resolved views that read each node (a model, a seed), through views too. */
  private readonly readers = new Map<string, Set<string>>();

  get(key: string): Promise<string> | undefined {
    return this.versions.get(key);
  }

  set(view: ViewInput, version: Promise<string>): void {
    this.versions.set(view.key, version);
    for (const node of nodesRead(view)) {
      let keys = this.readers.get(node);
      if (!keys) this.readers.set(node, (keys = new Set()));
      keys.add(view.key);
    }
  }

  /** `node` was published (built, loaded, reset): the versions of the views that read it are resolved again. */
  changed(node: string): void {
    const keys = this.readers.get(node);
    if (!keys) return;
    this.readers.delete(node);
    for (const key of keys) this.versions.delete(key);
  }

  clear(): void {
    this.versions.clear();
    this.readers.clear();
  }
}

/** The nodes a view's version is read from: the view itself, and what it reads, through views. A view's inputs are made once per analysis: so is this. */
function nodesRead(view: ViewInput): readonly string[] {
  let nodes = nodesReadOf.get(view);
  if (!nodes) {
    const out = new Set<string>([view.name]);
    for (const input of view.inputs) {
      if (input.kind === 'view') for (const n of nodesRead(input)) out.add(n);
      else if (input.kind !== 'source') out.add(input.name);
    }
    nodes = [...out];
    nodesReadOf.set(view, nodes);
  }
  return nodes;
}
const nodesReadOf = new WeakMap<ViewInput, readonly string[]>();

export async function inputVersions(inputs: readonly InputRef[], from: VersionSources): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const input of inputs) out[input.key] = await versionOf(input, from);
  return out;
}

async function versionOf(input: InputRef, from: VersionSources): Promise<string> {
  const { builds } = from;
  switch (input.kind) {
    case 'seed': {
      const hash = from.seedHashes.get(input.name);
      return hash === undefined ? UNKNOWN : `seed:${hash}`;
    }
    case 'model':
      return builds.build(input.name, '')?.version ?? UNKNOWN;
    case 'self':
      // Nothing built yet is a state like any other: the model starts from nothing.
      return builds.build(input.name, '')?.version ?? 'none';
    case 'partitions': {
      const { start, end } = input.interval;
      const over = builds.buildsOver(input.name, start, end);
      return over.length === 0 ? UNKNOWN : combined(over);
    }
    case 'all-partitions': {
      const all = builds.buildsOf(input.name).filter((b) => b.key !== '');
      return all.length === 0 ? UNKNOWN : combined(all);
    }
    case 'view': {
      const known = from.views?.get(input.key);
      if (known) return known;
      const version = viewVersion(input, from);
      from.views?.set(input, version);
      return version;
    }
    case 'source':
      return from.source(input.source);
    default: {
      const never: never = input;
      throw new Error(`internal error: input ${JSON.stringify(never)}`);
    }
  }
}

async function viewVersion(input: ViewInput, from: VersionSources): Promise<string> {
  const own = from.builds.build(input.name, '')?.version;
  if (own === undefined) return UNKNOWN;
  const reads = await inputVersions(input.inputs, from);
  if (Object.values(reads).includes(UNKNOWN)) return UNKNOWN;
  return hashOf(own, ...Object.keys(reads).sort().map((k) => `${k}=${reads[k]}`));
}

/** The builds of several intervals as one version: their keys and versions, in key order. */
function combined(builds: readonly { readonly key: string; readonly version: string }[]): string {
  return hashOf(...[...builds].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((b) => `${b.key}=${b.version}`));
}
