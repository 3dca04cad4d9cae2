import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { PIPE_VERSION } from '../version.js';
import { JINJA_SYNTAX_MODULE } from './jinja/syntax.js';

/**
 * Nunjucks' compiled code of templates (the JavaScript its compiler writes, not rendered SQL),
 * kept on disk between processes so that a template whose bytes did not change is never
 * lexed, parsed or compiled again: `<warehouse folder>/.pipe/<warehouse file>/templates/`.
 *
 * Content-addressed: each entry is found by the hash of everything that decides its code (see
 * templateKey). Entries are stored in packs: a process that compiled templates writes the new
 * entries as one file (named by the hash of its content) once its analysis or plan is done, because
 * creating one file per template cost more than compiling it on a busy disk. A process reads
 * every pack once, on its first lookup. Nothing in a pack is trusted: each entry carries the
 * hash of its code and is compiled afresh when the two disagree (a truncated or edited pack),
 * or when the code does not load; the new code goes into the process's own pack. Packs are
 * written to a file of their own and renamed into place, so two processes writing at once
 * leave two whole packs, and readers only ever see whole packs. A folder that cannot be made or
 * written is no cache: templates compile as without one.
 *
 * Loading: a pack's entries become functions through one script per pack (see compilePack),
 * and V8's code cache of that script, made once it has run, is kept beside the pack: a warm
 * process neither parses nor compiles the templates' JavaScript. The code cache is checked
 * like an entry, by its hash and the hash of the script it was made for, before V8 sees it;
 * one that is refused is only a slower load.
 *
 * Size: a pack is "used" when one of its entries is read (its modification time, refreshed at
 * most once a day). A process that writes a pack first removes the packs not used for
 * MAX_UNUSED_DAYS (at most once a day); when MAX_PACKS are there already, it writes every entry
 * it used into its pack and removes the others, so the folder holds what recent compiles used.
 */

const FORMAT = 'pipe-template-code 3';
const PACK_HEADER = `// ${FORMAT}\n`;
const PACK_EXTENSION = '.pack';
/**
 * V8's code cache of a pack's script, beside the pack: `<pack>.<V8 version>.v8`. Its header
 * names the hash of the script's source it was made for and the hash of the data, both checked
 * before V8 sees the data (V8 itself checks only its version, its flags and the source's length).
 */
const CODE_CACHE_EXTENSION = '.v8';
const CODE_CACHE_HEADER = 'pipe-v8-code 1';
const DAY_MS = 86_400_000;
export const MAX_UNUSED_DAYS = 30;
export const MAX_PACKS = 32;
/** The file whose modification time says when the folder was last pruned. */
const PRUNED_MARKER = '.pruned';

export function templateCacheDir(warehousePath: string): string {
  return join(dirname(warehousePath), '.pipe', basename(warehousePath), 'templates');
}

/** What a process did with the cache: how a test shows that a warm cache compiles nothing. */
export interface TemplateCacheStats {
  /** Entries read and loaded. */
  hits: number;
  /** Templates not found, compiled and offered to the cache. */
  misses: number;
  /** Entries found but refused: wrong hash, truncated, or code that failed to load. */
  rejected: number;
  written: number;
  /** Packs whose script V8 loaded from its code cache, without compiling. */
  codeCacheHits: number;
  /** Code caches refused: damaged, made for another script, or rejected by V8. */
  codeCacheRejected: number;
  /** Code caches written after a pack's script was compiled and used. */
  codeCacheWritten: number;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

let fingerprint: string | null | undefined;

/**
 * What decides the code besides a template's own text: pipe's version, Nunjucks' version and
 * the sources of its lexer, parser, transformer and compiler, and pipe's changes to them
 * (jinja/syntax.ts). Read once per process; undefined when any of it cannot be read, and then
 * nothing is cached.
 */
function compilerFingerprint(): string | undefined {
  if (fingerprint === undefined) {
    try {
      const require = createRequire(import.meta.url);
      const nunjucksDir = dirname(require.resolve('nunjucks/package.json'));
      const parts = [FORMAT, PIPE_VERSION, readFileSync(join(nunjucksDir, 'package.json'), 'utf8')];
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

interface Entry {
  readonly pack: string;
  readonly checksum: string;
  readonly code: string;
}

/**
 * The entries of one pack turned into functions by a single Script, in the pack's order:
 * compiling one script (or reading V8's code cache of it) costs far less than a `new Function`
 * per template. Only entries whose code matches its hash are in it.
 */
interface PackScript {
  readonly functions: ReadonlyMap<Entry, () => unknown>;
  readonly script: Script;
  readonly sourceHash: string;
  /** Whether V8 took the code cache: when not, one is made once the script has been used. */
  readonly fromCodeCache: boolean;
}

function codeCachePath(dir: string, pack: string): string {
  return join(dir, `${pack}.${process.versions.v8}${CODE_CACHE_EXTENSION}`);
}

/** The code cache beside a pack if its header matches the script and the data its hash; undefined otherwise. */
function readCodeCache(path: string, sourceHash: string): Buffer | 'none' | 'refused' {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return 'none';
  }
  const eol = bytes.indexOf(10);
  if (eol < 0) return 'refused';
  const [format, version, forSource, dataHash] = bytes.subarray(0, eol).toString('latin1').split(' ');
  const data = bytes.subarray(eol + 1);
  if (`${format} ${version}` !== CODE_CACHE_HEADER || forSource !== sourceHash || createHash('sha256').update(data).digest('hex') !== dataHash) return 'refused';
  return data;
}

/**
 * The entries of a pack: `<key> <sha256 of code> <length of code>\n<code>\n`, one after the
 * other after the header, in UTF-8; the length counts the code's UTF-16 units, so an entry is a
 * slice of the pack's text, not a copy. A pack cut short keeps the entries before the cut.
 */
function parsePack(text: string, pack: string, into: Map<string, Entry[]>): void {
  if (!text.startsWith(PACK_HEADER)) return;
  let at = PACK_HEADER.length;
  while (at < text.length) {
    const eol = text.indexOf('\n', at);
    if (eol < 0) return;
    const [key, checksum, length] = text.slice(at, eol).split(' ');
    const size = Number(length);
    if (!key || !checksum || !Number.isSafeInteger(size) || size < 0 || eol + 1 + size > text.length) return;
    const code = text.slice(eol + 1, eol + 1 + size);
    into.set(key, [...(into.get(key) ?? []), { pack, checksum, code }]);
    at = eol + 1 + size + 1;
  }
}

export class TemplateCodeCache {
  readonly stats: TemplateCacheStats = { hits: 0, misses: 0, rejected: 0, written: 0, codeCacheHits: 0, codeCacheRejected: 0, codeCacheWritten: 0 };
  /** Every entry of every pack, by key (a key in two packs has two), read on the first lookup. */
  private entries: Map<string, Entry[]> | undefined;
  /** The packs read, and whether one of their entries was used. */
  private readonly packs = new Map<string, boolean>();
  /** Entries this process compiled, for its pack. */
  private readonly pending = new Map<string, string>();
  private scheduled = false;
  /** Entries this process read, which a compacting pack keeps. */
  private readonly used = new Map<string, string>();
  /** Entries found wrong: never read again in this process. */
  private readonly refused = new Set<Entry>();
  /** Entries whose code matched its hash. */
  private readonly checked = new Set<Entry>();
  /** The entry read() gave last, by key, for reject(). */
  private readonly given = new Map<string, Entry>();
  /** Every pack's entries in its order, for its script. */
  private readonly packEntries = new Map<string, Entry[]>();
  /** Each pack's script, made on its first load(); null when it did not compile. */
  private readonly scripts = new Map<string, PackScript | null>();
  /** Scripts whose code cache is written (or was read): made once per process. */
  private readonly codeCached = new Set<PackScript>();

  constructor(
    readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {}

  private readPacks(): Map<string, Entry[]> {
    const entries = new Map<string, Entry[]>();
    let names: string[] = [];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith(PACK_EXTENSION));
    } catch {
      // No folder yet: no entries.
    }
    for (const name of names) {
      try {
        const own = new Map<string, Entry[]>();
        parsePack(readFileSync(join(this.dir, name), 'utf8'), name, own);
        this.packEntries.set(name, [...own.values()].flat());
        for (const [key, found] of own) entries.set(key, [...(entries.get(key) ?? []), ...found]);
        this.packs.set(name, false);
      } catch {
        // Removed by another process since the listing: its entries are compiled again.
      }
    }
    return entries;
  }

  private verified(entry: Entry): boolean {
    if (this.refused.has(entry)) return false;
    if (this.checked.has(entry)) return true;
    if (sha256(entry.code) !== entry.checksum) {
      this.refused.add(entry);
      this.stats.rejected += 1;
      return false;
    }
    this.checked.add(entry);
    return true;
  }

  /** The first entry stored under `key` whose code matches its hash and that was not rejected. */
  private find(key: string): Entry | undefined {
    this.entries ??= this.readPacks();
    const entry = (this.entries.get(key) ?? []).find((e) => this.verified(e));
    if (!entry) return undefined;
    this.stats.hits += 1;
    this.packs.set(entry.pack, true);
    this.given.set(key, entry);
    this.used.set(key, entry.code);
    return entry;
  }

  /**
   * The code stored under `key`: the first entry whose code matches its hash and that was not
   * rejected. After reject(key), the next such entry, if another pack has one.
   */
  read(key: string): string | undefined {
    return this.find(key)?.code;
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
    const entries = (this.packEntries.get(pack) ?? []).filter((e) => this.verified(e));
    const source = `[\n${entries.map((e) => `function () {\n${e.code}\n}`).join(',\n')}\n]`;
    const sourceHash = sha256(source);
    const cached = readCodeCache(codeCachePath(this.dir, pack), sourceHash);
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

  /** Refuses the entry read last for `key`: its code did not load. */
  reject(key: string): void {
    const entry = this.given.get(key);
    if (!entry) return;
    this.stats.rejected += 1;
    this.refused.add(entry);
    this.given.delete(key);
    this.used.delete(key);
  }

  /**
   * Keeps compiled code for this process's pack, written once the synchronous work in progress
   * (an analysis, a plan) is done: every template it compiled goes into one pack.
   */
  write(key: string, code: string): void {
    this.stats.misses += 1;
    this.pending.set(key, code);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /**
   * Writes the entries compiled since the last flush as one pack, and marks the packs read
   * from as used. Any failure leaves the cache without them, never an error.
   */
  flush(): void {
    this.touchUsedPacks();
    this.writeCodeCaches();
    if (this.pending.size === 0) return;
    const entries = new Map(this.pending);
    this.pending.clear();
    try {
      mkdirSync(this.dir, { recursive: true });
      this.pruneDaily();
      const compact = this.packCount() >= MAX_PACKS;
      if (compact) for (const [key, code] of this.used) if (!entries.has(key)) entries.set(key, code);
      const name = this.writePack([...entries]);
      this.stats.written += entries.size;
      if (compact) for (const other of readdirSync(this.dir)) if ((other.endsWith(PACK_EXTENSION) && other !== name) || (other.endsWith(CODE_CACHE_EXTENSION) && !other.startsWith(`${name}.`))) rmSync(join(this.dir, other), { force: true });
    } catch {
      // An unwritable folder: the next process compiles these templates again.
    }
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

  /** Writes entries part by part (a pack of 10,000 templates is tens of MB), then names the pack by its hash. */
  private writePack(entries: readonly (readonly [string, string])[]): string {
    const temporary = join(this.dir, `${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const hash = createHash('sha256');
    let fd: number | undefined;
    try {
      fd = openSync(temporary, 'w');
      const put = (text: string) => {
        hash.update(text);
        writeSync(fd!, text);
      };
      put(PACK_HEADER);
      for (const [key, code] of entries) put(`${key} ${sha256(code)} ${code.length}\n${code}\n`);
      closeSync(fd);
      fd = undefined;
      const name = hash.digest('hex') + PACK_EXTENSION;
      renameSync(temporary, join(this.dir, name));
      return name;
    } catch (e) {
      if (fd !== undefined) closeSync(fd);
      rmSync(temporary, { force: true });
      throw e;
    }
  }

  private packCount(): number {
    return readdirSync(this.dir).filter((n) => n.endsWith(PACK_EXTENSION)).length;
  }

  /** Used today: a pack survives pruning. Refreshed once a day, not on every run. */
  private touchUsedPacks(): void {
    for (const [name, used] of this.packs) {
      if (!used) continue;
      this.packs.set(name, false);
      const path = join(this.dir, name);
      try {
        if (this.now() - statSync(path).mtimeMs > DAY_MS) utimesSync(path, new Date(this.now()), new Date(this.now()));
      } catch {
        // Removed by another process: nothing to keep.
      }
    }
  }

  private pruneDaily(): void {
    const marker = join(this.dir, PRUNED_MARKER);
    try {
      if (this.now() - statSync(marker).mtimeMs < DAY_MS) return;
    } catch {
      // Never pruned: prune now.
    }
    try {
      writeFileSync(marker, '');
      utimesSync(marker, new Date(this.now()), new Date(this.now()));
      this.prune();
    } catch {
      // Pruning is housekeeping: the next process that writes tries again.
    }
  }

  /** Removes packs unused for MAX_UNUSED_DAYS, and temporary files left by a process that died. */
  prune(): void {
    for (const name of readdirSync(this.dir)) {
      const path = join(this.dir, name);
      let age: number;
      try {
        age = this.now() - statSync(path).mtimeMs;
      } catch {
        continue;
      }
      // A write in progress takes moments; an hour-old one was left by a process that died.
      if (name.endsWith('.tmp') && age > 3_600_000) rmSync(path, { force: true });
      else if (name.endsWith(PACK_EXTENSION) && age > MAX_UNUSED_DAYS * DAY_MS) rmSync(path, { force: true });
    }
    // A code cache goes with its pack.
    for (const name of readdirSync(this.dir)) {
      const pack = name.slice(0, name.indexOf(PACK_EXTENSION) + PACK_EXTENSION.length);
      if (name.endsWith(CODE_CACHE_EXTENSION) && !existsSync(join(this.dir, pack))) rmSync(join(this.dir, name), { force: true });
    }
  }
}
