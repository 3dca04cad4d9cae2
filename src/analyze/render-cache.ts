import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { settledAt, stampOf } from '../util/stat-stamp.js';
import { readRegularFile } from '../util/regular-file.js';
import { BUNDLED, distUrl } from '../install-paths.js';
import { PackStore, sha256 } from '../project/pack-store.js';
import { PIPE_VERSION } from '../version.js';
import { secrets } from '../secrets/secrets.js';
import type { RelationParts } from './jinja/relation.js';
import type { TemplateMessage } from './jinja/surface.js';
import type { SourceCall } from './sources.js';

/**
 * The renders of models kept between processes, so that a model whose text, config, vars,
 * macros and date did not change is neither parsed nor rendered again by the next `pipe
 * compile`, `pipe run` or `pipe ls`: `<warehouse folder>/.pipe/<warehouse file>/renders/`,
 * beside the compiled templates (template-code-cache.ts).
 *
 * Only a render whose output is decided by its key is kept: one that read no name but the
 * date variables, `this`, ref(), source(), config(), var(), is_incremental() and the project's
 * own macros (see ModelRenderer's keptRender; what a render reads is recorded as it runs, see
 * jinja/name-reads.ts). The key is the hash of pipe's build, the project's macros, target and
 * versions, the model's name, file, text, config from YAML and dbt_project.yml, its vars, the
 * date interval and the table's state (is_incremental()). A render that read env_var(), the
 * graph, the warehouse, the clock, or a package's macros is made again every time. Where `this`
 * and the sources it read live is kept with the render and compared when it is read back: a
 * different schema renders again.
 *
 * Never trusted: an entry whose hash does not match, that is not JSON or not of the shape
 * below is refused, and the model rendered again.
 */

const FORMAT = 'pipe-render 1';

/** One render of a model's template, as the analysis reads it and keeps it. */
export interface KeptRender {
  readonly sql: string;
  readonly refs: readonly string[];
  readonly sources: readonly SourceCall[];
  readonly configCalls: Readonly<Record<string, unknown>>;
  /** What the template said with log(), print() and exceptions.warn(). */
  readonly messages: readonly TemplateMessage[];
  /** It asked is_incremental(): another state of the table may render it otherwise. */
  readonly readsState?: true;
  /** It read the table name of a node it refs (`ref('b').identifier`): b's config decides it. */
  readonly readsIdentifiers?: true;
}

/** A kept render and where `this` and each source it read lived when it was made, in its sources' order. */
export interface RenderEntry {
  readonly render: KeptRender;
  readonly self: RelationParts;
  readonly places: readonly (RelationParts | null)[];
}

/** The file beside the packs that keeps the fingerprint of pipe's build with the stamp of its code (see build()). */
const BUILD_FILE = 'build';

let fingerprint: { readonly stamp: string; readonly value: string } | null | undefined;

/** The file of pipe's code that renders: the bundle, or this module's file when run from source. */
const codePath = () => (BUNDLED ? fileURLToPath(distUrl('cli/cli.cjs')) : fileURLToPath(import.meta.url));

const isStr = (v: unknown): v is string => typeof v === 'string';
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isParts = (v: unknown): v is RelationParts => isObj(v) && isStr(v.database) && isStr(v.schema) && isStr(v.identifier);

function isMessage(v: unknown): v is TemplateMessage {
  if (!isObj(v) || !['log', 'print', 'warn'].includes(v.kind as string) || !isStr(v.message)) return false;
  if (v.at === undefined) return true;
  return isObj(v.at) && isStr(v.at.file) && (v.at.line === undefined || Number.isSafeInteger(v.at.line)) && (v.at.column === undefined || Number.isSafeInteger(v.at.column));
}

/** Whether a value read back is a whole entry. */
export function isRenderEntry(v: unknown): v is RenderEntry {
  if (!isObj(v) || !isParts(v.self) || !Array.isArray(v.places) || !isObj(v.render)) return false;
  const r = v.render;
  return (
    isStr(r.sql) &&
    Array.isArray(r.refs) &&
    r.refs.every(isStr) &&
    Array.isArray(r.sources) &&
    r.sources.every((s) => isObj(s) && isStr(s.source) && isStr(s.table)) &&
    v.places.length === r.sources.length &&
    v.places.every((p) => p === null || isParts(p)) &&
    isObj(r.configCalls) &&
    Array.isArray(r.messages) &&
    r.messages.every(isMessage) &&
    (r.readsState === undefined || r.readsState === true)
  );
}

/**
 * Renders are of one date: those of yesterday's run are seldom read again, so the folder keeps
 * few packs (a process that writes the third keeps only the renders it used, see PackStore).
 */
const MAX_RENDER_PACKS = 2;

export class RenderCache extends PackStore {
  constructor(dir: string, now: () => number = Date.now) {
    super(dir, FORMAT, now, MAX_RENDER_PACKS);
  }

  /**
   * pipe's build, which every key holds: its version and the code that renders, hashed. Read
   * once per process and undefined when it cannot be read (nothing is kept then). The hash of
   * megabytes of code is kept beside the packs with the code's stamp (size, times, inode; see
   * stat-stamp.ts), and taken from there while the code has that very stamp: an install or a
   * build writes a new file.
   */
  build(): string | undefined {
    if (fingerprint === undefined) {
      try {
        const path = codePath();
        const stamp = stampOf(path);
        let kept: string | undefined;
        try {
          kept = readRegularFile(join(this.dir, BUILD_FILE))?.bytes.toString('latin1');
        } catch {
          // None kept yet.
        }
        const [keptStamp, keptValue] = kept?.split('\n') ?? [];
        if (keptStamp === stamp.stamp && keptValue !== undefined && /^[0-9a-f]{64}$/.test(keptValue)) {
          fingerprint = { stamp: stamp.stamp, value: keptValue };
        } else {
          fingerprint = { stamp: stamp.stamp, value: sha256(`${FORMAT}\0${PIPE_VERSION}\0${readFileSync(path, 'utf8')}`) };
          // Kept once a write within the same tick of the clock could no longer leave the stamp as it was.
          if (settledAt(stamp, Date.now())) this.writeWhole(join(this.dir, BUILD_FILE), `${stamp.stamp}\n${fingerprint.value}`);
        }
      } catch {
        fingerprint = null;
      }
    }
    return fingerprint?.value;
  }

  /** The render kept under `key`; undefined when nothing sound is kept. */
  load(key: string): RenderEntry | undefined {
    for (let text = this.read(key); text !== undefined; text = this.read(key)) {
      try {
        const value: unknown = JSON.parse(text);
        if (isRenderEntry(value)) return value;
      } catch {
        // Not JSON: refused below.
      }
      this.reject(key);
    }
    return undefined;
  }

  /**
   * Keeps a render, when JSON gives it back as it is and it holds no secret: a config() value
   * JSON would change (a date, an undefined in a list), or a secret var's value, is not kept,
   * and the model is rendered again next time.
   */
  keep(key: string, entry: RenderEntry): void {
    if (!isPlainData(entry.render.configCalls)) return;
    const text = JSON.stringify(entry);
    // A secret (a var of secret_vars) never goes to disk: such a render is made again each time.
    if (secrets.mask(text) !== text) return;
    this.write(key, text);
  }
}

/** Whether JSON gives a value back as it is: strings, finite numbers, booleans, null, arrays and plain objects of them. */
function isPlainData(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v);
    case 'object':
      if (v === null) return true;
      if (Array.isArray(v)) return v.every(isPlainData);
      if (Object.getPrototypeOf(v) !== Object.prototype) return false;
      return Object.keys(v).every((k) => k !== '__proto__' && isPlainData((v as Record<string, unknown>)[k]));
    default:
      return false;
  }
}
