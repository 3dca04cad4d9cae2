import { sideFilesPath } from '../warehouse-file.js';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { duckdbClient } from './duckdb-client.js';
import { askFor, requestFile, withdraw } from './hand-over.js';
import { sleep } from '../../util/sleep.js';
import { DUCKDB } from './dialect.js';
import type { Dialect } from '../dialect.js';
import { setUpConnection, setUpInstance } from './duckdb-setup.js';
import { prepareWarehousePath, removeFolders } from '../warehouse-file.js';
import { NO_SETUP, type WarehouseSetup } from '../warehouse-setup.js';
import { quoteIdent, quoteLiteral } from '../../sql/sql-text.js';
import { mayChangeFunctions, mayMakeMacros } from './function-changes.js';
import { functionsKeep, type FunctionsKeep } from './kept-functions.js';
import { mayChangeSession } from './session-changes.js';
import { GUARDED_OPTIMIZERS } from './optimizer-guard.js';
import { nestedText } from './nested-text.js';
import {
  SHOWN_AS,
  WarehouseError,
  WarehouseLockedError,
  WarehouseOpenError,
  type FunctionsScope,
  type QueryTable,
  type Row,
  type TransactionOptions,
  type Warehouse,
  type WarehouseSession,
} from '../warehouse.js';

/** The types whose values nest others: STRUCT(...), MAP(...), UNION(...), T[] and T[n]. */
const NESTED_TYPE = /^(STRUCT|MAP|UNION)\(|\[\d*\]$/;


/** The names DuckDB gives its own databases: an in-memory warehouse keeps its default name rather than take one of them. */
const IN_MEMORY_NAMES: ReadonlySet<string> = new Set(['memory', 'system', 'temp']);
/**
 * DuckDB as the warehouse: an open instance of a database file, a connection per worker.
 * DuckDB lets one process own a file, and inside the process one instance must serve
 * everything: pipe opens the file through its engine (execute/engine.ts), which shares one
 * DuckDBWarehouse between every user of the file in the process.
 */

const LOCK_RE = /Could not set lock on file "([^"]*)": Conflicting lock is held in (.*?) \(PID (\d+)\)/;

/**
 * The oldest DuckDB that must read what pipe writes, unless the project's `settings:` name
 * another (`storage_compatibility_version`). DuckDB writes a file for its oldest readers unless
 * told otherwise (v0.10.2 in DuckDB 1.5), and then keeps every table's statistics in a form it
 * decodes slowly: opening a warehouse of 6,500 tables took 0.45 s, a quarter of it decoding
 * HyperLogLog sketches. The choice counts as the file is created, and DuckDB takes it for later
 * writes from the format version in the file's header: v1.1.0 still has the header of v0.10.2
 * (format 64), so every session after the first wrote the old form again; from v1.2.0 (format
 * 65) the header keeps it. Written for DuckDB 1.2 and later, a warehouse of 6,500 tables written
 * by two runs opens in 0.24-0.42 s instead of 0.44-0.64 s. A warehouse an earlier pipe created
 * keeps its header, and so its form.
 */
const STORAGE_COMPATIBILITY = 'v1.2.0';

/** The storage compatibility the project's settings ask for, else pipe's. */
function storageCompatibility(setup: WarehouseSetup): string {
  const asked = setup.settings.find((s) => s.name.toLowerCase() === 'storage_compatibility_version');
  return typeof asked?.value === 'string' ? asked.value : STORAGE_COMPATIBILITY;
}

/** What the sessions of one instance share of its functions (see DuckDBSession.functionsScope). */
export interface FunctionChanges {
  /** The statements of any of them that may have changed the functions. */
  count: number;
  /** What an earlier process found them to be, nothing written to the file since (see kept-functions.ts). */
  readonly kept?: unknown;
  /** What this process found them to be before any change, to keep as the file closes. */
  found?: unknown;
  /** Set once a statement read loosely may have made or dropped a macro (see mayMakeMacros): nothing is kept then. */
  unsure?: boolean;
}

/** A connection of DuckDB, or of DuckDB with a lake attached (whose dialect reads its errors). */
export class DuckDBSession implements WarehouseSession {
  /** Whether this session ran a statement that may have changed the functions (see functionsScope). */
  private changedFunctions = false;
  /** Whether this session ran a statement that may have changed its own state (see mayChangeSession). */
  changedState = false;

  constructor(
    private readonly connection: DuckDBConnection,
    readonly dialect: Dialect = DUCKDB,
    /** Shared by the sessions of one instance: counts the statements of any of them that may have changed its functions; what they were found to be (see FunctionsScope.kept). */
    private readonly functionChanges: FunctionChanges = { count: 0 },
    /** See WarehouseSession.stateScope: the instance's, of a file this process alone writes. */
    readonly stateScope?: object,
  ) {}

  get functionsScope(): FunctionsScope {
    const changes = this.functionChanges;
    return {
      instance: changes,
      generation: changes.count,
      changedOwn: this.changedFunctions,
      ...(changes.kept === undefined ? {} : { kept: changes.kept }),
      keep: (found) => {
        changes.found = found;
      },
      changed: () => {
        changes.count += 1;
      },
    };
  }

  /** `sql`, counted among the changes of functions when it may be one (see mayChangeFunctions). */
  private noted(sql: string): string {
    if (!this.changedState && mayChangeSession(sql)) this.changedState = true;
    if (mayChangeFunctions(sql)) {
      this.changedFunctions = true;
      this.functionChanges.count += 1;
    } else if (!this.functionChanges.unsure && mayMakeMacros(sql)) this.functionChanges.unsure = true;
    return sql;
  }

  async exec(sql: string): Promise<number | undefined> {
    try {
      const result = await this.connection.run(this.noted(sql));
      // CREATE TABLE AS and INSERT report a "Count" column; rowsChanged covers DELETE/UPDATE.
      const names = result.columnNames();
      if (names.length === 1 && names[0] === 'Count') {
        const rows = await result.getRows();
        const v = rows[0]?.[0];
        if (typeof v === 'bigint' || typeof v === 'number') return Number(v);
      }
      // A statement DuckDB rewrites into several (PIVOT) reports only "Success": the count is unknown, not 0.
      if (names.length === 1 && names[0] === 'Success') return undefined;
      return result.rowsChanged;
    } catch (e) {
      throw this.dialect.classify(e);
    }
  }

  async query(sql: string): Promise<Row[]> {
    try {
      const reader = await this.connection.runAndReadAll(this.noted(sql));
      return reader.getRowObjectsJson() as Row[];
    } catch (e) {
      throw this.dialect.classify(e);
    }
  }

  async table(sql: string): Promise<QueryTable> {
    try {
      const reader = await this.connection.runAndReadAll(this.noted(sql));
      const types = reader.columnTypes().map(String);
      const rows = reader.getRowsJson();
      // A BLOB as DuckDB prints it: the JSON form leaves a backslash byte bare, so `\x41` could be four bytes or one.
      const blobs = types.flatMap((t, i) => (t === 'BLOB' ? [i] : []));
      // A nested value's numbers come as text in the JSON form: shown as numbers (see nestedText).
      const nested = types.flatMap((t, i) => (NESTED_TYPE.test(t) ? [i] : []));
      if (blobs.length + nested.length > 0) {
        const raw = reader.getRows();
        raw.forEach((row, r) => {
          for (const i of blobs) if (row[i] !== null) rows[r][i] = blobText((row[i] as { bytes: Uint8Array }).bytes);
          for (const i of nested) {
            const value = rows[r][i];
            if (value !== null && typeof value === 'object') Object.defineProperty(value, SHOWN_AS, { value: nestedText(row[i]) });
          }
        });
      }
      return { columns: reader.columnNames().map((name, i) => ({ name, type: types[i] })), rows };
    } catch (e) {
      throw this.dialect.classify(e);
    }
  }

  async statementCount(sql: string): Promise<number> {
    try {
      return (await this.connection.extractStatements(sql)).count;
    } catch (e) {
      // The binding prefixes DuckDB's own message, which carries the error's kind.
      const message = e instanceof Error ? e.message.replace(/^Failed to extract statements: /, '') : String(e);
      throw this.dialect.classify(new Error(message));
    }
  }

  /**
   * Each call into DuckDB costs a round trip through Node's thread pool, about as much as a
   * small statement itself: the statements run together in as few calls as their counts allow
   * (a multi-statement call reports the count of its last statement only). Such a call reports
   * no error position, so when one holding a statement of `alone` fails on a mistake, the
   * transaction is rolled back and its statements run again one by one, in a transaction
   * rolled back too, for the error with its position.
   */
  async transaction(statements: readonly string[], options: TransactionOptions = {}): Promise<number | undefined> {
    const located = new Set(options.alone ?? []);
    const within = options.within === true;
    let batch: string[] = within ? [] : ['BEGIN TRANSACTION'];
    /** Index after the last statement sent, and whether a statement of `alone` is among those of the batch. */
    let sent = 0;
    let locates = false;
    const flush = async () => {
      // A newline before each ';' keeps a trailing -- comment from swallowing it.
      const n = batch.length > 0 ? await this.exec(batch.join('\n;\n')) : undefined;
      batch = [];
      locates = false;
      return n;
    };
    let count: number | undefined;
    try {
      for (; sent < statements.length; sent++) {
        batch.push(statements[sent]);
        if (located.has(sent)) locates = true;
        if (sent === options.countAt) count = await flush();
      }
      if (options.beforeCommit) {
        await flush();
        batch.push(...((await options.beforeCommit(count)) ?? []));
      }
      if (!within && !options.leaveOpen) batch.push('COMMIT');
      await flush();
      return count;
    } catch (e) {
      // Joined to another's transaction, the failure is its opener's to roll back; a task that failed there runs again alone, where its error is located.
      if (within) throw e;
      await this.rollback();
      if (locates && batch.length > 1 && e instanceof WarehouseError && e.errorClass === 'permanent') throw await this.located(statements.slice(0, sent + 1), e);
      throw e;
    }
  }

  /**
   * Ends the transaction a failure left open. A run being stopped interrupts its connections
   * again and again until their work ends (see Interrupter), and an interrupt that lands on the
   * ROLLBACK itself fails it: the connection would go back to the pool inside the aborted
   * transaction, and the next statement on it (the run's end) fail. So it is sent again.
   */
  async rollback(): Promise<void> {
    for (let tries = 0; tries < 5; tries++) {
      try {
        await this.exec('ROLLBACK');
        return;
      } catch (e) {
        if (e instanceof WarehouseError && /no transaction is active/i.test(e.message)) return;
      }
    }
  }

  /** The error of the first of `statements` that fails when each runs alone in a transaction rolled back after; `otherwise` when none does. */
  private async located(statements: readonly string[], otherwise: WarehouseError): Promise<WarehouseError> {
    try {
      await this.exec('BEGIN TRANSACTION');
      for (const sql of statements) await this.exec(sql);
      return otherwise;
    } catch (e) {
      return e instanceof WarehouseError ? e : otherwise;
    } finally {
      await this.rollback();
    }
  }

  interrupt(): void {
    this.connection.interrupt();
  }

  close(): void {
    this.connection.closeSync();
  }
}

export interface OpenOptions {
  readonly readOnly?: boolean;
  /** What holds the file, for the message other processes see (e.g. "pipe schedule"); read-only, what reads it (pipe ui). */
  readonly holder?: string;
  /** Extensions, settings and attachments the warehouse runs as it opens; none by default. */
  readonly setup?: WarehouseSetup;
  /**
   * The process lets go of the file when another pipe process asks for it, as soon as what it
   * does with it is done (see hand-over.ts): its holder notes say so.
   */
  readonly lends?: boolean;
  /**
   * Whether to ask a process that lends the file (see hand-over.ts) for it; yes by default.
   * A reader that does without the file when it is held (pipe ui reads the run logs) does not ask.
   */
  readonly ask?: boolean;
  /** Told once, when a process that lends the file, asked for it, has not let go of it within a second (a watch's build in progress). */
  readonly onLent?: (held: WarehouseLockedError) => void;
}

/** How long an open waits for a process that lends the file to let go of it once asked: a watch first ends its build in progress. */
export const LEND_WAIT_MS = 60_000;
/** How long a lender may take to let go before the wait is told (OpenOptions.onLent). */
const LENT_TOLD_AFTER_MS = 1_000;

/** Beside the warehouse while pipe writes to it: who holds it, for the message others see. */
export const holderFile = (path: string) => `${sideFilesPath(path)}.pipe-holder.json`;

/** Beside the warehouse while a pipe process that names itself reads it (OpenOptions.holder, read-only): pipe ui. */
export const readerFile = (path: string, pid: number) => `${sideFilesPath(path)}.pipe-reader-${pid}.json`;

export interface Holder {
  readonly pid: number;
  /** What holds it, e.g. "pipe run daily (run 20240102T020000-ab12)". */
  readonly what: string;
  readonly since: string;
  /** It lets go of the file when another pipe process asks (see hand-over.ts). */
  readonly lends?: true;
}

/** Which file a path names (its device and inode), undefined where none does. */
function fileIdentity(path: string): string | undefined {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

export class DuckDBWarehouse implements Warehouse {
  readonly dialect = DUCKDB;
  /** One process owns the file: a run it finds marked running died with its process. */
  readonly sharedWriters = false;
  private closed = false;
  /** The file as opened (see gone); none in memory. */
  private readonly opened: string | undefined;
  /** Shared by its sessions (see DuckDBSession.functionsScope). */
  private readonly functionChanges: FunctionChanges;
  /** Shared by its sessions (see WarehouseSession.stateScope). */
  private readonly stateScope = {};

  private constructor(
    readonly location: string,
    private readonly instance: DuckDBInstance,
    private readonly readOnly: boolean,
    private readonly setup: WarehouseSetup,
    /** Its notes say it lets go of the file when asked (see OpenOptions.lends). */
    private readonly lends = false,
    /** The note it left for other processes, removed as it closes. */
    private readonly note?: string,
    /** The database its sessions use: set in memory, to answer to the name of the file a run would make. */
    private readonly use?: string,
    /** Where its functions are kept between processes (see kept-functions.ts). */
    private readonly functionsKept?: FunctionsKeep,
  ) {
    this.opened = location === ':memory:' ? undefined : fileIdentity(location);
    this.functionChanges = { count: 0, ...(functionsKept?.found === undefined ? {} : { kept: functionsKept.found }) };
  }

  gone(): string | undefined {
    if (this.opened === undefined) return undefined;
    const now = fileIdentity(this.location);
    if (now === undefined) return 'the warehouse file was deleted while this process wrote it';
    if (now !== this.opened) return 'the warehouse file was replaced by another file while this process wrote it';
    return undefined;
  }

  /**
   * Opens the file, or creates it (and its missing folders) for writing, and runs the setup on
   * it. A path that cannot be a warehouse fails with a WarehouseOpenError, another process
   * holding the file with a WarehouseLockedError, a setup entry DuckDB refuses with a
   * DiagnosticError at that entry; a failed open leaves nothing behind on disk.
   *
   * Held by a process that lends the file (see hand-over.ts), asks for it and waits for that
   * process to let go of it, up to LEND_WAIT_MS; a holder that does not lend it, or still
   * holds it then, fails the open as held. Not with `ask: false`.
   */
  static async open(path: string, options: OpenOptions = {}): Promise<DuckDBWarehouse> {
    const until = Date.now() + LEND_WAIT_MS;
    /** The process asked: letting go takes it a moment (a large file's catalog is written back), its note gone meanwhile. */
    let asked: number | undefined;
    let askedAt: number | undefined;
    let toldLent = false;
    for (;;) {
      try {
        const opened = await DuckDBWarehouse.openOnce(path, options);
        // A request still there once the file is ours (asked again while the lender let go)
        // is taken back: the lender would give the file up to nobody at its next build.
        if (asked !== undefined) withdraw(path);
        return opened;
      } catch (e) {
        if (!(e instanceof WarehouseLockedError) || options.ask === false) throw e;
        if (Date.now() >= until) {
          if (asked === undefined) throw e;
          withdraw(path);
          throw e.waited(LEND_WAIT_MS);
        }
        if (e.holder?.lends === true) {
          if (!existsSync(requestFile(path))) askFor(path);
          asked = e.holderPid;
          askedAt ??= Date.now();
          // Between builds it lets go at once: told only when it is a build's end that is waited for.
          if (!toldLent && Date.now() - askedAt >= LENT_TOLD_AFTER_MS) {
            toldLent = true;
            options.onLent?.(e);
          }
        } else if (asked === undefined || e.holderPid !== asked) throw e;
        await sleep(25);
      }
    }
  }

  private static async openOnce(path: string, options: OpenOptions): Promise<DuckDBWarehouse> {
    const readOnly = Boolean(options.readOnly);
    const client = await duckdbClient();
    const { exists, created } = prepareWarehousePath(path, readOnly);
    // A file this open creates, with no log of DuckDB's to replay into it: it holds no macro.
    const fresh = !readOnly && !exists && !existsSync(`${path}.wal`);
    const asked = storageCompatibility(options.setup ?? NO_SETUP);
    const create = (compatibility: string) =>
      client.DuckDBInstance.create(path, readOnly ? { ...GUARDED_OPTIMIZERS, access_mode: 'READ_ONLY' } : { ...GUARDED_OPTIMIZERS, storage_compatibility_version: compatibility });
    let instance: DuckDBInstance;
    try {
      instance = await create(asked).catch((e: unknown) => {
        // A version DuckDB does not know is only "Failed to set config" here: opened with pipe's,
        // the setting's own SET below says what is wrong with it, at its line.
        if (readOnly || asked === STORAGE_COMPATIBILITY || !(e instanceof Error) || !/Failed to set config/.test(e.message)) throw e;
        return create(STORAGE_COMPATIBILITY);
      });
    } catch (e) {
      removeFolders(created);
      const message = e instanceof Error ? e.message : String(e);
      const lock = LOCK_RE.exec(message);
      if (lock) throw new WarehouseLockedError(path, Number(lock[3]), lock[2], readHolder(path, Number(lock[3])));
      throw openFailure(path, exists || readOnly ? 'open' : 'create', message, client.version());
    }
    const setup = options.setup ?? NO_SETUP;
    try {
      await setUp(instance, setup, readOnly);
    } catch (e) {
      instance.closeSync();
      // The file DuckDB has just created holds nothing yet.
      if (!exists) for (const file of [path, `${path}.wal`]) rmSync(file, { force: true });
      removeFolders(created);
      throw e;
    }
    const lends = !readOnly && Boolean(options.lends);
    // A reader that names itself leaves a note of its own: readers share the file, and the holder's note is a writer's.
    const note = readOnly ? (options.holder === undefined ? undefined : readerFile(path, process.pid)) : holderFile(path);
    if (note !== undefined) {
      try {
        writeFileSync(note, JSON.stringify(holderNote(options.holder ?? 'pipe', lends)));
      } catch {
        // The note is a courtesy to other processes; the lock itself is DuckDB's.
      }
    }
    // Under the hold: what was kept holds for the file as it is now.
    const functionsKept = functionsKeep(path, setup, client.version(), fresh);
    return new DuckDBWarehouse(path, instance, readOnly, setup, lends, note, undefined, functionsKept);
  }

  /**
   * An empty database in memory, touching no file: what a dry run asks DuckDB when the
   * warehouse does not exist yet. Read-only as far as pipe is concerned (nothing announces
   * it, closing it removes no holder note; what it attaches, it attaches read-only); pipe
   * opens it through Engine.inMemory. `name`: the database's name, as the file's would be.
   */
  static async inMemory(setup: WarehouseSetup = NO_SETUP, name?: string): Promise<DuckDBWarehouse> {
    const instance = await (await duckdbClient()).DuckDBInstance.create(':memory:', GUARDED_OPTIMIZERS);
    // Named as the file would be: a source of `database: <that name>` is found as in the run.
    const use = name !== undefined && !IN_MEMORY_NAMES.has(name.toLowerCase()) ? name : undefined;
    try {
      if (use !== undefined) {
        const connection = await instance.connect();
        try {
          await connection.run(`ATTACH ':memory:' AS ${quoteIdent(use)}`);
        } finally {
          connection.closeSync();
        }
      }
      await setUp(instance, setup, true);
    } catch (e) {
      instance.closeSync();
      throw e;
    }
    return new DuckDBWarehouse(':memory:', instance, true, setup, false, undefined, use);
  }

  /**
   * A connection in UTC: intervals are UTC, and a TIMESTAMPTZ cast to TIMESTAMP (as the
   * partition filters do) must not depend on the machine's time zone, or a re-run elsewhere
   * would place rows in other dates. The setup's settings are set on it too.
   */
  async session(): Promise<WarehouseSession> {
    const connection = await this.instance.connect();
    try {
      await connection.run(`SET TimeZone = 'UTC'${this.use === undefined ? '' : `; USE ${quoteIdent(this.use)}`}`);
    } catch (e) {
      connection.closeSync();
      throw DUCKDB.classify(e);
    }
    try {
      await setUpConnection(connection, this.setup);
    } catch (e) {
      connection.closeSync();
      throw e;
    }
    // One process holds the file (read-only ones read alone): the instance's sessions share what the state looks like.
    return new DuckDBSession(connection, DUCKDB, this.functionChanges, this.stateScope);
  }

  announce(what: string): void {
    if (this.readOnly || this.closed) return;
    try {
      writeFileSync(holderFile(this.location), JSON.stringify(holderNote(what, this.lends)));
    } catch {
      // a courtesy only
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.note !== undefined) rmSync(this.note, { force: true });
    } catch {
      // A folder made read-only meanwhile: the note stays, naming a process that is gone, which readers see.
    }
    const { found, count, unsure } = this.functionChanges;
    if (this.functionsKept !== undefined && count === 0 && unsure !== true && found !== undefined) this.functionsKept.keepAfter(() => this.instance.closeSync(), found);
    else this.instance.closeSync();
  }
}

/** Runs the setup on a connection of its own, which it closes. */
export async function setUp(instance: DuckDBInstance, setup: WarehouseSetup, readOnly: boolean): Promise<void> {
  if (setup.extensions.length + setup.settings.length + setup.attachments.length === 0) return;
  const connection = await instance.connect();
  try {
    await setUpInstance(connection, setup, readOnly);
  } finally {
    connection.closeSync();
  }
}

/** DuckDB's reason for refusing a path, as one sentence that names it. */
function openFailure(path: string, verb: 'open' | 'create', message: string, ours: string): WarehouseOpenError {
  const headline = message.split('\n')[0];
  const cannotOpen = /Cannot open file "[^"]*": (.*)$/.exec(headline);
  const why = cannotOpen ? cannotOpen[1].charAt(0).toLowerCase() + cannotOpen[1].slice(1) : DUCKDB.headline(headline);
  return damagedFileError(headline, `cannot ${verb} the warehouse ${path}`) ?? otherStorageError(path, message, ours) ?? new WarehouseOpenError(path, `cannot ${verb} the warehouse ${path}: ${why}`);
}

/**
 * A DuckDB file of a storage version this DuckDB does not read: written by a newer DuckDB (a
 * Python `duckdb` upgraded beside pipe) or one older than 0.10. Said with the versions and the
 * way to a file this DuckDB reads, which only the DuckDB that wrote it can make.
 */
function otherStorageError(path: string, message: string, ours: string): WarehouseOpenError | undefined {
  const m = /version number (\d+), but we can only read versions between (\d+) and (\d+)/.exec(message);
  if (!m) return undefined;
  const newer = Number(m[1]) > Number(m[3]);
  const said = `cannot open the warehouse ${path}: ${newer ? 'a newer' : 'an older'} DuckDB wrote it (its storage version is ${m[1]}; pipe's DuckDB ${ours} reads ${m[2]} to ${m[3]})`;
  const storage = /^v(\d+)\.(\d+)/.exec(ours);
  const copy = `${path.replace(/\.duckdb$/, '')}-${storage ? `v${storage[1]}_${storage[2]}` : 'copy'}.duckdb`;
  return new WarehouseOpenError(
    path,
    said,
    newer
      ? `with the DuckDB that wrote it, copy it into a file this one reads: ATTACH ${quoteLiteral(path)} AS src; ATTACH ${quoteLiteral(copy)} AS dst (STORAGE_VERSION '${storage ? `v${storage[1]}.${storage[2]}.0` : ours}'); COPY FROM DATABASE src TO dst; then use the copy as the warehouse`
      : `with the DuckDB that wrote it, EXPORT DATABASE to a folder, then IMPORT DATABASE it into a new file with DuckDB ${ours}, and use that file as the warehouse`,
  );
}

/**
 * A DuckDB file damaged past its header, as DuckDB says it when it reads a block of it: cut
 * short (a copy not finished, a full disk), or a block whose checksum fails. DuckDB reads the
 * blocks as it needs them, so this comes at the open or at any read after it; `what` says
 * what could not be done (the file is named in DuckDB's message when it names it).
 */
export function damagedFileError(message: string, what?: string): WarehouseOpenError | undefined {
  const headline = message.split('\n')[0];
  if (!/Could not read enough bytes from file|Corrupt database file|does not match stored checksum/.test(headline)) return undefined;
  const file = /from file "([^"]*)"/.exec(headline)?.[1];
  const said = what !== undefined ? `${what}: the file is` : file !== undefined ? `the DuckDB file ${file} is` : 'a DuckDB file pipe read is';
  return new WarehouseOpenError(
    file ?? '',
    `${said} cut short or damaged (DuckDB: ${DUCKDB.headline(headline)})`,
    'restore it from a copy; or move it aside, and a run builds a new warehouse (every model again, without the run history)',
  );
}

/**
 * DuckDB's refusal of every statement after a fatal error on the file (a checkpoint that could
 * not write or remove a file: a folder made read-only, a disk gone), in pipe's words: the
 * error it stopped on, and that the commit it stopped in may have reached the file (DuckDB
 * checkpoints after a commit is in its log), which pipe history tells once it opens again.
 */
export function stoppedDatabase(message: string): string | undefined {
  if (!/database has been invalidated because of a previous fatal error/.test(message)) return undefined;
  const original = /Original error: "([\s\S]*)"\s*$/.exec(message)?.[1] ?? /Original error: ([^\n]*)/.exec(message)?.[1];
  return `DuckDB stopped writing the warehouse after a fatal error${original ? ` (${original.trim()})` : ''}: nothing more is written by this process, and whether its last commit reached the file, pipe history tells once the warehouse opens again`;
}

function holderNote(what: string, lends: boolean): Holder {
  return { pid: process.pid, what, since: new Date().toISOString(), ...(lends ? { lends: true as const } : {}) };
}

/** What the process `pid` holding the file says it is: the writer's note, or the note of a reader that named itself. */
function readHolder(path: string, pid: number): Holder | undefined {
  for (const note of [holderFile(path), readerFile(path, pid)]) {
    try {
      const h = JSON.parse(readFileSync(note, 'utf8')) as Holder;
      if (h.pid === pid) return h;
    } catch {
      // No such note.
    }
  }
  return undefined;
}

/** A BLOB's bytes as DuckDB casts them to text: printable ASCII as it is, any other byte, a backslash and quotes as `\xNN`. */
export function blobText(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    const regular = b >= 32 && b <= 126 && b !== 0x5c && b !== 0x27 && b !== 0x22;
    out += regular ? String.fromCharCode(b) : `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
