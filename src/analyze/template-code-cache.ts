import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
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
 * Size: a pack is "used" when one of its entries is read (its modification time, refreshed at
 * most once a day). A process that writes a pack first removes the packs not used for
 * MAX_UNUSED_DAYS (at most once a day); when MAX_PACKS are there already, it writes every entry
 * it used into its pack and removes the others, so the folder holds what recent compiles used.
 */

const FORMAT = 'pipe-template-code 2';
const PACK_HEADER = `// ${FORMAT}\n`;
const PACK_EXTENSION = '.pack';
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
  readonly stats: TemplateCacheStats = { hits: 0, misses: 0, rejected: 0, written: 0 };
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
  /** The entry read() gave last, by key, for reject(). */
  private readonly given = new Map<string, Entry>();

  constructor(
    readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {}

  private load(): Map<string, Entry[]> {
    const entries = new Map<string, Entry[]>();
    let names: string[] = [];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith(PACK_EXTENSION));
    } catch {
      // No folder yet: no entries.
    }
    for (const name of names) {
      try {
        parsePack(readFileSync(join(this.dir, name), 'utf8'), name, entries);
        this.packs.set(name, false);
      } catch {
        // Removed by another process since the listing: its entries are compiled again.
      }
    }
    return entries;
  }

  /**
   * The code stored under `key`: the first entry whose code matches its hash and that was not
   * rejected. After reject(key), the next such entry, if another pack has one.
   */
  read(key: string): string | undefined {
    this.entries ??= this.load();
    const found = this.entries.get(key) ?? [];
    for (const entry of found) {
      if (this.refused.has(entry)) continue;
      if (sha256(entry.code) !== entry.checksum) {
        this.refused.add(entry);
        this.stats.rejected += 1;
        continue;
      }
      this.stats.hits += 1;
      this.packs.set(entry.pack, true);
      this.given.set(key, entry);
      this.used.set(key, entry.code);
      return entry.code;
    }
    return undefined;
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
      if (compact) for (const other of readdirSync(this.dir)) if (other.endsWith(PACK_EXTENSION) && other !== name) rmSync(join(this.dir, other), { force: true });
    } catch {
      // An unwritable folder: the next process compiles these templates again.
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
  }
}
