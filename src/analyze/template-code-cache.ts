import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, futimesSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { PIPE_VERSION } from '../version.js';
import { JINJA_SYNTAX_MODULE } from './jinja/syntax.js';

/**
 * Nunjucks' compiled code of templates (the JavaScript its compiler writes, not rendered SQL),
 * kept on disk between processes so that a template whose bytes did not change is never
 * lexed, parsed or compiled again: `<warehouse folder>/.pipe/<warehouse file>/templates/`.
 *
 * Content-addressed: an entry's file name is the hash of everything that decides the code
 * (see templateKey), so an entry is never updated, only written, read and pruned. Nothing in
 * it is trusted: each entry carries the hash of its code and is compiled afresh when the two
 * disagree (a truncated or edited file), or when the code does not load. Writes go to a file
 * of their own and are renamed into place, so two processes writing one entry leave one whole
 * entry. A folder that cannot be made or written is no cache: templates compile as without one.
 *
 * Size: an entry is "used" when read or written (its modification time, refreshed at most
 * once a day); at most once a day, a process that writes an entry removes the entries not used
 * for MAX_UNUSED_DAYS, then the least recently used beyond MAX_ENTRIES.
 */

const FORMAT = 'pipe-template-code 1';
const HEADER = `// ${FORMAT} `;
const ENTRY_EXTENSION = '.js';
const DAY_MS = 86_400_000;
export const MAX_UNUSED_DAYS = 30;
export const MAX_ENTRIES = 100_000;
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

export class TemplateCodeCache {
  readonly stats: TemplateCacheStats = { hits: 0, misses: 0, rejected: 0, written: 0 };
  /** False once the folder could not be made or written: the rest of the process caches nothing. */
  private writable = true;
  private made = false;

  constructor(
    readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The code stored under `key`, if there is a whole entry; a damaged one is removed. */
  read(key: string): string | undefined {
    const path = join(this.dir, key + ENTRY_EXTENSION);
    let text: string;
    let fd: number | undefined;
    try {
      fd = openSync(path, 'r');
      text = readFileSync(fd, 'utf8');
      // Used today: the entry survives pruning. Refreshed once a day, not on every read.
      if (this.now() - fstatSync(fd).mtimeMs > DAY_MS) futimesSync(fd, new Date(this.now()), new Date(this.now()));
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    const newline = text.indexOf('\n');
    const code = newline < 0 ? undefined : text.slice(newline + 1);
    if (code === undefined || text.slice(0, newline) !== HEADER + sha256(code)) {
      this.reject(key);
      return undefined;
    }
    this.stats.hits += 1;
    return code;
  }

  /** Forgets an entry that was found wrong (see read, and code that fails to load). */
  reject(key: string): void {
    this.stats.rejected += 1;
    try {
      rmSync(join(this.dir, key + ENTRY_EXTENSION), { force: true });
    } catch {
      // Left in place: it is checked again, and refused again, on its next read.
    }
  }

  /** Stores compiled code; any failure leaves the cache without the entry, never an error. */
  write(key: string, code: string): void {
    this.stats.misses += 1;
    if (!this.writable) return;
    const path = join(this.dir, key + ENTRY_EXTENSION);
    const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      if (!this.made) {
        mkdirSync(this.dir, { recursive: true });
        this.made = true;
        // Before this process's own entries exist: what it writes is in use.
        this.pruneDaily();
      }
      writeFileSync(temporary, `${HEADER}${sha256(code)}\n${code}`);
      renameSync(temporary, path);
      this.stats.written += 1;
    } catch {
      this.writable = false;
      try {
        rmSync(temporary, { force: true });
      } catch {
        // No folder to write in, so no temporary file either.
      }
      return;
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

  /** Removes entries unused for MAX_UNUSED_DAYS, then the least recently used beyond MAX_ENTRIES, and stale temporary files. */
  prune(): void {
    const kept: { path: string; used: number }[] = [];
    for (const name of readdirSync(this.dir)) {
      const path = join(this.dir, name);
      let used: number;
      try {
        used = statSync(path).mtimeMs;
      } catch {
        continue;
      }
      const age = this.now() - used;
      if (name.endsWith('.tmp')) {
        // A write in progress takes milliseconds; an hour-old one was left by a process that died.
        if (age > 3_600_000) rmSync(path, { force: true });
      } else if (name.endsWith(ENTRY_EXTENSION)) {
        if (age > MAX_UNUSED_DAYS * DAY_MS) rmSync(path, { force: true });
        else kept.push({ path, used });
      }
    }
    if (kept.length <= MAX_ENTRIES) return;
    kept.sort((a, b) => a.used - b.used);
    for (const { path } of kept.slice(0, kept.length - MAX_ENTRIES)) rmSync(path, { force: true });
  }
}
