import { createHash, hash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { settledAt, stampOfStats } from '../util/stat-stamp.js';
import { readRegularFile } from '../util/regular-file.js';
import { makeFolders } from '../util/folders.js';
import { pushTo } from '../util/multi-map.js';

/**
 * Values kept on disk between processes in a folder of packs, found by a key that is the hash
 * of everything that decides them (the compiled code of templates, parsed YAML).
 *
 * Entries are stored in packs: a process that made values writes the new entries as one file
 * (named by the hash of its content) once its work in progress is done, because creating one
 * file per value cost more than making it on a busy disk. A process reads every pack once, on
 * its first lookup. Nothing in a pack is trusted: each entry carries the hash of its key and
 * text (see entryChecksum) and is made afresh when the two disagree (a truncated or edited pack,
 * or a text filed under another key), or when its user rejects it; the new value goes into the
 * process's own pack. Packs are written to a file of their own
 * and renamed into place, so two processes writing at once leave two whole packs, and readers
 * only ever see whole packs. A folder that cannot be made or written is no cache: values are
 * made as without one. A file named after a pack (`<pack>.<anything>`) belongs to it and goes with it.
 *
 * Size: a pack is "used" when one of its entries is read (its modification time, refreshed at
 * most once a day). A process that writes a pack first removes the packs not used for
 * MAX_UNUSED_DAYS (at most once a day); when MAX_PACKS are there already, it writes every entry
 * it used into its pack and removes the others, so the folder holds what recent processes used.
 *
 * A file checked whole against a hash (a pack against its name, a code cache against its
 * header) is hashed by the first process that reads it, not by every one: see readChecked.
 */

export const PACK_EXTENSION = '.pack';
const DAY_MS = 86_400_000;
export const MAX_UNUSED_DAYS = 30;
export const MAX_PACKS = 32;
/** How much text writePack gathers before it writes (characters). */
const WRITE_PART = 1 << 20;
/** The file whose modification time says when the folder was last pruned. */
const PRUNED_MARKER = '.pruned';
/** Beside a file checked whole (`<file>.checked`): the stamp the file had when its content matched its hash. */
const CHECKED_EXTENSION = '.checked';
/**
 * How entries are laid out and sealed, in every pack's header beside its store's format: packs
 * of another layout are not read (their entries are made again), never misread. 2: an entry's
 * checksum covers its key.
 */
const PACK_LAYOUT = 'pack 2';

/** What a process did with a pack store: how a test shows that a warm cache makes nothing. */
export interface PackStoreStats {
  /** Entries read. */
  hits: number;
  /** Values not found, made and offered to the store. */
  misses: number;
  /** Files hashed whole (packs, code caches); one hashed before and unchanged since is not (see readChecked). */
  hashed: number;
  /** Entries found but refused: wrong hash, truncated, or rejected by their user. */
  rejected: number;
  written: number;
}

/** One call, no Hash object: about twice as fast for the small texts of entries and keys (every entry is checked as it is read). */
export function sha256(text: string): string {
  return hash('sha256', text);
}

/**
 * The checksum an entry is written and read with: of its key and its text together, so that a
 * text is only ever given for the key it was made under (two entries whose keys were exchanged,
 * by an edit or a fault, are both refused rather than each taken for the other).
 */
export function entryChecksum(key: string, code: string): string {
  return sha256(`${key}\n${code}`);
}

export interface PackEntry {
  readonly pack: string;
  readonly key: string;
  readonly checksum: string;
  readonly code: string;
}

/**
 * The entries of a pack: `<key> <entryChecksum> <length of code>\n<code>\n`, one after the
 * other after the header (the store's format and PACK_LAYOUT), in UTF-8; the length counts the code's UTF-16 units, so an entry is a
 * slice of the pack's text, not a copy. A pack cut short keeps the entries before the cut.
 */
function parsePack(text: string, header: string, pack: string, into: Map<string, PackEntry[]>): void {
  if (!text.startsWith(header)) return;
  let at = header.length;
  while (at < text.length) {
    const eol = text.indexOf('\n', at);
    if (eol < 0) return;
    const [key, checksum, length] = text.slice(at, eol).split(' ');
    const size = Number(length);
    if (!key || !checksum || !Number.isSafeInteger(size) || size < 0 || eol + 1 + size > text.length) return;
    const code = text.slice(eol + 1, eol + 1 + size);
    pushTo(into, key, { pack, key, checksum, code });
    at = eol + 1 + size + 1;
  }
}

export class PackStore {
  readonly stats: PackStoreStats = { hits: 0, misses: 0, hashed: 0, rejected: 0, written: 0 };
  /** Every entry of every pack, by key (a key in two packs has two), read on the first lookup. */
  private entries: Map<string, PackEntry[]> | undefined;
  /** The packs read, and whether one of their entries was used. */
  private readonly packs = new Map<string, boolean>();
  /** Entries this process made, for its pack. */
  private readonly pending = new Map<string, string>();
  private scheduled = false;
  /** Entries this process read, which a compacting pack keeps. */
  private readonly used = new Map<string, string>();
  /** Entries found wrong: never read again in this process. */
  private readonly refused = new Set<PackEntry>();
  /** Entries whose text matched its hash. */
  private readonly checked = new Set<PackEntry>();
  /** The entry read() gave last, by key, for reject(). */
  private readonly given = new Map<string, PackEntry>();
  /** Packs whose content matches the hash they are named by. */
  private readonly wholePacks = new Set<string>();
  /** Every pack's entries in its order. */
  private readonly packEntries = new Map<string, PackEntry[]>();
  private readonly header: string;

  /** `format` names the kind of value and its layout: packs of another format are not read. */
  constructor(
    readonly dir: string,
    format: string,
    protected readonly now: () => number = Date.now,
    /** How many packs the folder holds before a process that writes one keeps only what it used (see flush). */
    private readonly maxPacks = MAX_PACKS,
  ) {
    this.header = `// ${format} (${PACK_LAYOUT})\n`;
  }

  /**
   * Whether the store may make its folder: the folders pipe keeps in (`.pipe/...`) are made,
   * but never the user's folder they sit in. A warehouse's folder that does not exist yet is
   * the run's to make (`pipe ls` of a profile naming `data/dev.duckdb` before any run made it
   * creates nothing), and one a refused run removed again stays removed.
   */
  private mayMakeFolder(): boolean {
    for (let d = this.dir; dirname(d) !== d; d = dirname(d)) if (basename(d) === '.pipe') return existsSync(dirname(d));
    return true;
  }

  private readPacks(): Map<string, PackEntry[]> {
    const entries = new Map<string, PackEntry[]>();
    let names: string[] = [];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith(PACK_EXTENSION));
    } catch {
      // No folder yet: no entries.
    }
    for (const name of names) {
      try {
        const own = new Map<string, PackEntry[]>();
        const path = join(this.dir, name);
        // Gone since the listing, or not a file (a FIFO, a device): no pack, and never read.
        const read = this.readChecked(path);
        if (!read) continue;
        const { bytes, check } = read;
        parsePack(bytes.toString('utf8'), this.header, name, own);
        const found = [...own.values()].flat();
        this.packEntries.set(name, found);
        // A pack is named by the hash of its content: when they agree, every entry is sound, one hash for them all.
        if (check.checked || this.hashOf(bytes) + PACK_EXTENSION === name) {
          if (!check.checked) this.keepChecked(path, check.settled);
          this.wholePacks.add(name);
          for (const entry of found) this.checked.add(entry);
        }
        for (const [key, found] of own) pushTo(entries, key, ...found);
        this.packs.set(name, false);
      } catch {
        // Removed by another process since the listing: its entries are compiled again.
      }
    }
    return entries;
  }

  /** The SHA-256 of a whole file's bytes, counted. */
  protected hashOf(bytes: Buffer): string {
    this.stats.hashed += 1;
    return createHash('sha256').update(bytes).digest('hex');
  }

  /**
   * A file of the folder read whole (only a regular file: see readRegularFile), and whether it
   * was found whole by its hash before and is unchanged since: once a file matched its hash, its
   * stamp (see statStamp) is kept beside it, and a file with that very stamp is that file (a
   * write changes its times, a file renamed over it its inode). The stamp is of the file opened,
   * taken before it is read, so that a write while it is read changes it. `settled`: the stamp
   * to keep when the file matches, absent while a write could still leave it unchanged (see
   * settledAt). Undefined for a file that is not there or not a regular file.
   */
  protected readChecked(path: string): { readonly bytes: Buffer; readonly check: { readonly checked: boolean; readonly settled?: string } } | undefined {
    let read: ReturnType<typeof readRegularFile>;
    try {
      read = readRegularFile(path);
    } catch {
      return undefined;
    }
    if (!read) return undefined;
    const stamp = stampOfStats(read.stats);
    let kept: string | undefined;
    try {
      kept = readRegularFile(path + CHECKED_EXTENSION)?.bytes.toString('latin1');
    } catch {
      // Never found whole, or not since the folder was cleared: hashed.
    }
    const check = { checked: kept === stamp.stamp, ...(settledAt(stamp, this.now()) ? { settled: stamp.stamp } : {}) };
    return { bytes: read.bytes, check };
  }

  /** Keeps the stamp of a file just found whole by its hash (see readChecked); an unwritable folder keeps nothing. */
  protected keepChecked(path: string, settled: string | undefined): void {
    if (settled !== undefined) this.writeWhole(path + CHECKED_EXTENSION, settled);
  }

  /**
   * A small file of the folder written whole: a temporary file renamed into place, so that a
   * reader sees the old text or the new. A folder that cannot be made or written keeps nothing.
   */
  protected writeWhole(path: string, text: string): void {
    const temporary = join(this.dir, `${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      if (!this.mayMakeFolder()) return;
      makeFolders(this.dir);
      writeFileSync(temporary, text, 'latin1');
      renameSync(temporary, path);
    } catch {
      try {
        rmSync(temporary, { force: true });
      } catch {
        // Left for pruning (see prune).
      }
    }
  }

  private verified(entry: PackEntry): boolean {
    if (this.refused.has(entry)) return false;
    if (this.checked.has(entry)) return true;
    if (entryChecksum(entry.key, entry.code) !== entry.checksum) {
      this.refused.add(entry);
      this.stats.rejected += 1;
      return false;
    }
    this.checked.add(entry);
    return true;
  }

  /** The first entry stored under `key` whose code matches its hash and that was not rejected. */
  protected find(key: string): PackEntry | undefined {
    this.entries ??= this.readPacks();
    const entry = (this.entries.get(key) ?? []).find((e) => this.verified(e));
    if (!entry) return undefined;
    this.stats.hits += 1;
    this.packs.set(entry.pack, true);
    this.given.set(key, entry);
    this.used.set(key, entry.code);
    return entry;
  }

  /** Whether any pack holds an entry (sound or not). */
  hasAny(): boolean {
    this.entries ??= this.readPacks();
    return this.entries.size > 0;
  }

  /** Whether some pack has an entry under `key` (sound or not: read() tells), without using it. */
  has(key: string): boolean {
    this.entries ??= this.readPacks();
    return this.entries.has(key);
  }

  /**
   * The code stored under `key`: the first entry whose code matches its hash and that was not
   * rejected. After reject(key), the next such entry, if another pack has one.
   */
  read(key: string): string | undefined {
    return this.find(key)?.code;
  }

  /** A pack's entries whose text matches its hash and that were not rejected, in the pack's order. */
  protected soundEntries(pack: string): PackEntry[] {
    return (this.packEntries.get(pack) ?? []).filter((e) => this.verified(e));
  }

  /** Whether every entry of the pack is sound: its content matches its name, and none was rejected. */
  protected isWhole(pack: string): boolean {
    return this.wholePacks.has(pack) && (this.packEntries.get(pack) ?? []).every((e) => !this.refused.has(e));
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

  /** The value this process made under `key` and has not written yet. */
  protected unwritten(key: string): string | undefined {
    return this.pending.get(key);
  }

  /**
   * Keeps a value for this process's pack, written once the synchronous work in progress
   * (a load, an analysis, a plan) is done: every value it made goes into one pack.
   */
  write(key: string, code: string): void {
    this.stats.misses += 1;
    this.pending.set(key, code);
    this.scheduleFlush();
  }

  protected scheduleFlush(): void {
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
      if (!this.mayMakeFolder()) return;
      // Not Node's recursive mkdir, which never returns under /proc (a warehouse path there is refused after analysis).
      makeFolders(this.dir);
      this.pruneDaily();
      const compact = this.packCount() >= this.maxPacks;
      if (compact) for (const [key, code] of this.used) if (!entries.has(key)) entries.set(key, code);
      const name = this.writePack([...entries]);
      this.stats.written += entries.size;
      if (compact) for (const other of readdirSync(this.dir)) if (other.endsWith(PACK_EXTENSION) && other !== name) rmSync(join(this.dir, other), { force: true });
      if (compact) this.removeOrphans();
    } catch {
      // An unwritable folder: the next process compiles these templates again.
    }
  }

  /**
   * Writes entries part by part (a pack of 10,000 templates is tens of MB), a megabyte at a
   * time (a write per entry cost more than making the entries), then names the pack by its hash.
   */
  private writePack(entries: readonly (readonly [string, string])[]): string {
    const temporary = join(this.dir, `${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const hash = createHash('sha256');
    let fd: number | undefined;
    try {
      fd = openSync(temporary, 'w');
      let part: string[] = [];
      let size = 0;
      const write = () => {
        const text = part.join('');
        hash.update(text);
        writeSync(fd!, text);
        part = [];
        size = 0;
      };
      const put = (text: string) => {
        part.push(text);
        size += text.length;
        if (size >= WRITE_PART) write();
      };
      put(this.header);
      for (const [key, code] of entries) put(`${key} ${entryChecksum(key, code)} ${code.length}\n${code}\n`);
      write();
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
    this.removeOrphans();
  }

  /** Files named after a pack that is gone. */
  private removeOrphans(): void {
    for (const name of readdirSync(this.dir)) {
      const at = name.indexOf(`${PACK_EXTENSION}.`);
      if (at > 0 && !existsSync(join(this.dir, name.slice(0, at + PACK_EXTENSION.length)))) rmSync(join(this.dir, name), { force: true });
    }
  }
}
