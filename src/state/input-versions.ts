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
  /**
   * Views' versions already resolved, by key, while `builds` and `seedHashes` stay as they
   * are (the caller empties it when they change): a view many models read, through views,
   * is resolved once.
   */
  readonly views?: Map<string, Promise<string>>;
}

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
      from.views?.set(input.key, version);
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

async function viewVersion(input: Extract<InputRef, { kind: 'view' }>, from: VersionSources): Promise<string> {
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
