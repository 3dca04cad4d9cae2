import { sideFilesPath } from '../warehouse/warehouse-file.js';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { cachedDataVersionTag } from 'node:v8';
import { Script } from 'node:vm';
import { PIPE_BUILD } from '../version.js';
import { PackStore, sha256, type PackEntry, type PackStoreStats } from '../project/pack-store.js';
import { JINJA_SYNTAX_MODULE } from './jinja/syntax.js';
import { TemplateProgramCache } from './template-program-cache.js';
import { RenderCache } from './render-cache.js';

/**
 * Nunjucks' compiled code of templates (the JavaScript its compiler writes, not rendered SQL),
 * kept on disk between processes so that a template whose bytes did not change is never
 * lexed, parsed or compiled again: `<warehouse folder>/.pipe/<warehouse file>/templates/`.
 *
 * Content-addressed: each entry is found by the hash of everything that decides its code (see
 * templateKey), in a pack store (see pack-store.ts): never trusted, code that does not load is
 * compiled again.
 *
 * Loading: a pack's entries become functions through one script per pack (see compilePack),
 * and V8's code cache of that script, made once it has run, is kept beside the pack: a warm
 * process neither parses nor compiles the templates' JavaScript. The code cache is checked
 * like an entry, by its hash and the hash of the script it was made for, before V8 sees it;
 * one that is refused is only a slower load.
 */

const FORMAT = 'pipe-template-code 3';
/**
 * V8's code cache of a pack's script, beside the pack: `<pack>.<V8 version>-<tag>.v8`, the tag
 * V8's own for the flags and CPU features a code cache is valid under (cachedDataVersionTag):
 * V8 refuses a cache made under other flags (`NODE_OPTIONS=--max-old-space-size=…`), and
 * processes of two sets of flags would otherwise each replace the other's at every compile. Its header
 * names the script it was made for (the pack's name when the pack is whole, else the hash of
 * the script's source) and the hash of the data, both checked
 * before V8 sees the data (V8 itself checks only its version, its flags and the source's length).
 */
const CODE_CACHE_EXTENSION = '.v8';
const CODE_CACHE_HEADER = 'pipe-v8-code 1';
export { MAX_PACKS, MAX_UNUSED_DAYS } from '../project/pack-store.js';

export function templateCacheDir(warehousePath: string): string {
  const side = sideFilesPath(warehousePath);
  return join(dirname(side), '.pipe', basename(side), 'templates');
}

/** What a process did with the cache: how a test shows that a warm cache compiles nothing. */
export interface TemplateCacheStats extends PackStoreStats {
  /** Packs whose script V8 loaded from its code cache, without compiling. */
  codeCacheHits: number;
  /** Code caches refused: damaged, made for another script, or rejected by V8. */
  codeCacheRejected: number;
  /** Code caches written after a pack's script was compiled and used. */
  codeCacheWritten: number;
}

let fingerprint: string | null | undefined;

/**
 * What decides the code besides a template's own text: pipe's build (its version and sources, see version.ts), Nunjucks' version and
 * the sources of its lexer, parser, transformer and compiler, and pipe's changes to them
 * (jinja/syntax.ts). Read once per process; undefined when any of it cannot be read, and then
 * nothing is cached.
 */
function compilerFingerprint(): string | undefined {
  if (fingerprint === undefined) {
    try {
      const require = createRequire(import.meta.url);
      const nunjucksDir = dirname(require.resolve('nunjucks/package.json'));
      const parts = [FORMAT, PIPE_BUILD, readFileSync(join(nunjucksDir, 'package.json'), 'utf8')];
      for (const file of ['lexer', 'parser', 'nodes', 'transformer', 'compiler']) parts.push(readFileSync(join(nunjucksDir, 'src', `${file}.js`), 'utf8'));
      parts.push(readFileSync(new URL(JINJA_SYNTAX_MODULE), 'utf8'));
      fingerprint = sha256(parts.join('\0'));
    } catch {
      fingerprint = null;
    }
  }
  return fingerprint ?? undefined;
}

/** How the environment compiles: its options, async filters and extensions. */
export interface CompilerSettings {
  readonly opts: object;
  readonly asyncFilters: readonly string[];
  readonly extensionsList: readonly object[];
}

/**
 * The key of a template's code: the compiler, the environment's settings, the template's path
 * (Nunjucks writes it into the code of `include` and `import`) and its text. Undefined when
 * the compiler cannot be identified.
 */
export function templateKey(source: string, path: string, settings: CompilerSettings): string | undefined {
  const compiler = compilerFingerprint();
  if (compiler === undefined) return undefined;
  const extensions = settings.extensionsList.map((e) => [e.constructor.name, (e as { tags?: unknown }).tags]);
  return sha256(JSON.stringify([compiler, settings.opts, settings.asyncFilters, extensions, path, source]));
}

/**
 * The entries of one pack turned into functions by a single Script, in the pack's order:
 * compiling one script (or reading V8's code cache of it) costs far less than a `new Function`
 * per template. Only entries whose code matches its hash are in it.
 */
interface PackScript {
  readonly functions: ReadonlyMap<PackEntry, () => unknown>;
  readonly script: Script;
  readonly sourceHash: string;
  /** Whether V8 took the code cache: when not, one is made once the script has been used. */
  readonly fromCodeCache: boolean;
}

function codeCachePath(dir: string, pack: string): string {
  return join(dir, `${pack}.${process.versions.v8}-${cachedDataVersionTag()}${CODE_CACHE_EXTENSION}`);
}

export class TemplateCodeCache extends PackStore {
  declare readonly stats: TemplateCacheStats;
  /** Each pack's script, made on its first load(); null when it did not compile. */
  private readonly scripts = new Map<string, PackScript | null>();
  /** Scripts whose code cache is written (or was read): made once per process. */
  private readonly codeCached = new Set<PackScript>();

  /** The programs of the templates that have one, beside (see template-program-cache.ts). */
  readonly programs: TemplateProgramCache;

  /** The renders of models whose output their key decides, beside (see render-cache.ts). */
  readonly renders: RenderCache;

  constructor(dir: string, now: () => number = Date.now) {
    super(dir, FORMAT, now);
    Object.assign(this.stats, { codeCacheHits: 0, codeCacheRejected: 0, codeCacheWritten: 0 });
    this.programs = new TemplateProgramCache(join(dirname(dir), 'programs'), now);
    this.renders = new RenderCache(join(dirname(dir), 'renders'), now);
  }

  /**
   * The code stored under `key` as a function (what `new Function(code)` gives), compiled with
   * the rest of its pack in one script; undefined when there is no such entry, as for read().
   */
  load(key: string): (() => unknown) | undefined {
    const entry = this.find(key);
    if (!entry) return undefined;
    // eslint-disable-next-line no-new-func
    return this.packScript(entry.pack)?.functions.get(entry) ?? (new Function(entry.code) as () => unknown);
  }

  private packScript(pack: string): PackScript | undefined {
    let script = this.scripts.get(pack);
    if (script === undefined) {
      script = this.compilePack(pack) ?? null;
      this.scripts.set(pack, script);
    }
    return script ?? undefined;
  }

  /**
   * One script of every sound entry of a pack: an array of functions, each with an entry's code
   * as its body. V8's code cache beside the pack is given to V8 only when made for this very
   * source; without one, it is made once the script has run (then it holds the functions
   * compiled since). A pack whose code does not compile as one script is none: its entries load alone.
   */
  private compilePack(pack: string): PackScript | undefined {
    const entries = this.soundEntries(pack);
    const source = `[\n${entries.map((e) => `function () {\n${e.code}\n}`).join(',\n')}\n]`;
    // The script is made from the entries alone: a whole pack's name (the hash of its content) names it.
    const sourceHash = this.isWhole(pack) ? pack : sha256(source);
    const cached = this.readCodeCache(codeCachePath(this.dir, pack), sourceHash);
    if (cached === 'refused') this.stats.codeCacheRejected += 1;
    try {
      const script = new Script(source, { filename: join(this.dir, pack), cachedData: cached instanceof Buffer ? cached : undefined });
      const fromCodeCache = cached instanceof Buffer && !script.cachedDataRejected;
      if (cached instanceof Buffer) this.stats[fromCodeCache ? 'codeCacheHits' : 'codeCacheRejected'] += 1;
      const functions: unknown = script.runInThisContext();
      if (!Array.isArray(functions) || functions.length !== entries.length) return undefined;
      const made: PackScript = { functions: new Map(entries.map((e, i) => [e, functions[i] as () => unknown])), script, sourceHash, fromCodeCache };
      if (fromCodeCache) this.codeCached.add(made);
      else this.scheduleFlush();
      return made;
    } catch {
      return undefined;
    }
  }

  /**
   * The code cache beside a pack, if its header names this script and the data's hash matches
   * (hashed once while the file is unchanged, see readChecked).
   */
  private readCodeCache(path: string, sourceHash: string): Buffer | 'none' | 'refused' {
    const read = this.readChecked(path);
    if (!read) return 'none';
    const { bytes, check } = read;
    const eol = bytes.indexOf(10);
    if (eol < 0) return 'refused';
    const [format, version, forSource, dataHash] = bytes.subarray(0, eol).toString('latin1').split(' ');
    const data = bytes.subarray(eol + 1);
    if (`${format} ${version}` !== CODE_CACHE_HEADER || forSource !== sourceHash) return 'refused';
    if (check.checked) return data;
    if (this.hashOf(data) !== dataHash) return 'refused';
    this.keepChecked(path, check.settled);
    return data;
  }

  /** Writes the pack of the templates compiled, and V8's code cache of the pack scripts used. */
  override flush(): void {
    super.flush();
    this.writeCodeCaches();
    this.programs.flush();
    this.renders.flush();
  }

  /**
   * V8's code cache of each pack script compiled by this process, made now that its templates
   * have rendered (so it holds their compiled functions too): the next process compiles none of them.
   */
  private writeCodeCaches(): void {
    for (const [pack, script] of this.scripts) {
      if (!script || this.codeCached.has(script)) continue;
      this.codeCached.add(script);
      try {
        const data = script.script.createCachedData();
        const header = `${CODE_CACHE_HEADER} ${script.sourceHash} ${createHash('sha256').update(data).digest('hex')}\n`;
        const temporary = join(this.dir, `${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
        writeFileSync(temporary, Buffer.concat([Buffer.from(header, 'latin1'), data]));
        renameSync(temporary, codeCachePath(this.dir, pack));
        this.stats.codeCacheWritten += 1;
      } catch {
        // An unwritable folder: the next process compiles the pack's script again.
      }
    }
  }
}
