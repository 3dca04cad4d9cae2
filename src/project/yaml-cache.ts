import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Diagnostic } from '../diagnostics/diagnostics.js';
import { PIPE_BUILD } from '../version.js';
import { PackStore, sha256 } from './pack-store.js';
import { parseYaml, yamlSource, type YamlDialect, type YamlSource } from './yaml-file.js';

/**
 * Parsed YAML kept between processes: a project of thousands of models has thousands of small
 * YAML files, and parsing them (with the walk that finds each key's line) was a quarter of a
 * warm compile. Kept in `<project>/.pipe/yaml/` as a pack store (see pack-store.ts): an entry is
 * found by the hash of the file's text, pipe's build (its version and sources, see version.ts) and the yaml package's, and holds the
 * data and the line of each key as JSON. Never trusted: an entry whose hash or shape is wrong is
 * parsed again. Only files that parse without a problem and whose data JSON keeps exactly are
 * kept, so a file with an error is reported from its text every time.
 */

const FORMAT = 'pipe-parsed-yaml 3';

export function yamlCacheDir(root: string): string {
  return join(root, '.pipe', 'yaml');
}

let yamlVersion: string | undefined;

function yamlPackageVersion(): string {
  yamlVersion ??= (createRequire(import.meta.url)('yaml/package.json') as { version: string }).version;
  return yamlVersion;
}

/** Whether JSON gives back exactly this value: no NaN, infinities, -0, dates or `__proto__` keys. */
function keepsAsJson(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) return value.every(keepsAsJson);
  if (typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return false;
  return Object.entries(value).every(([k, v]) => k !== '__proto__' && keepsAsJson(v));
}

interface Stored {
  readonly data: Record<string, unknown>;
  readonly lines: readonly (readonly [string, number])[];
  readonly anchored: readonly string[];
  readonly floats?: readonly string[];
}

function storedShape(value: unknown): value is Stored {
  const v = value as Partial<Stored> | null;
  return (
    typeof v === 'object' && v !== null && typeof v.data === 'object' && v.data !== null && !Array.isArray(v.data) &&
    Array.isArray(v.lines) && v.lines.every((l) => Array.isArray(l) && typeof l[0] === 'string' && typeof l[1] === 'number') &&
    Array.isArray(v.anchored) && v.anchored.every((k) => typeof k === 'string') &&
    (v.floats === undefined || (Array.isArray(v.floats) && v.floats.every((k) => typeof k === 'string')))
  );
}

export class ParsedYamlCache extends PackStore {
  constructor(dir: string, now: () => number = Date.now) {
    super(dir, FORMAT, now);
  }

  /** What parseYaml gives for `text` read in `dialect`, read from the cache when it holds it. */
  parse(text: string, file: string, diagnostics: Diagnostic[], dialect: YamlDialect = 'pipe'): YamlSource | undefined {
    const key = sha256(JSON.stringify([FORMAT, PIPE_BUILD, yamlPackageVersion(), dialect, text]));
    for (let stored = this.read(key); stored !== undefined; stored = this.read(key)) {
      const kept = fromEntry(stored, file);
      if (kept) return kept;
      this.reject(key);
    }
    // The same text parsed already by this process: a model's YAML is read with the model and again as a file of its folder.
    const again = this.unwritten(key);
    const before = again !== undefined ? fromEntry(again, file) : undefined;
    if (before) return before;
    const found: Diagnostic[] = [];
    const lines = new Map<string, number>();
    const parsed = parseYaml(text, file, found, lines, dialect);
    diagnostics.push(...found);
    if (parsed && found.length === 0 && keepsAsJson(parsed.data)) this.write(key, JSON.stringify({ data: parsed.data, lines: [...lines], anchored: [...(parsed.anchored ?? [])], floats: [...(parsed.floats ?? [])] }));
    return parsed;
  }
}

/** The YAML source an entry holds, or undefined when it is not one. */
function fromEntry(entry: string, file: string): YamlSource | undefined {
  try {
    const value: unknown = JSON.parse(entry);
    return storedShape(value) ? yamlSource(file, value.data, new Map(value.lines), new Set(value.anchored), new Set(value.floats)) : undefined;
  } catch {
    return undefined;
  }
}
