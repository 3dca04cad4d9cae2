import type { Dialect } from './dialect.js';

/**
 * The narrow seam between pipe and a database engine. Strategies produce SQL as data; a
 * warehouse only executes it, and its dialect (dialect.ts) says how the engine spells what
 * varies. DuckDB (`duckdb/`) is the embedded default.
 */

export type Row = Record<string, unknown>;

/**
 * Set on a nested value of a QueryTable's rows, the text it is shown as where its JSON form
 * differs (numbers a warehouse gives as text: see duckdb/nested-text.ts); JSON leaves it out.
 */
export const SHOWN_AS: unique symbol = Symbol('shown as');

/** A query's result by position: its columns with their types, and its rows as JSON-friendly values. */
export interface QueryTable {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: readonly (readonly unknown[])[];
}

export interface TransactionOptions {
  /** Index of the statement whose changed-row count is returned. */
  readonly countAt?: number;
  /** Indexes of statements to send on their own. */
  readonly alone?: readonly number[];
  /**
   * Runs after the statements, inside the transaction, before it commits, given the count of
   * `countAt`: it reads what the transaction wrote, and anything it throws rolls the whole
   * transaction back. The statements it returns are sent with the COMMIT.
   */
  readonly beforeCommit?: (count: number | undefined) => Promise<readonly string[] | void>;
  /**
   * The statements join a transaction already open on the connection (several tasks committed
   * together: see execute/commit-batch.ts): neither BEGIN nor COMMIT is sent, and a failure
   * leaves the transaction to whoever opened it, to roll back.
   */
  readonly within?: boolean;
  /**
   * The transaction opens as usual (and a failure rolls it back as usual), but is left open once
   * its statements ran, for other statements to join it (`within`) and its opener to commit.
   */
  readonly leaveOpen?: boolean;
}

/** One connection; pipe gives each worker its own. */
export interface WarehouseSession {
  /** The engine's SQL and errors, as its warehouse's. */
  readonly dialect: Dialect;
  /** Runs one statement; returns the rows it changed or created, when the engine reports them. */
  exec(sql: string): Promise<number | undefined>;
  /** Runs a query and returns its rows as JSON-friendly objects (big integers as strings). */
  query(sql: string): Promise<Row[]>;
  /**
   * Runs a query and returns its result as a table: every column (by position, so two of one
   * name both stay, and with the engine's type even when no row comes back) and the rows.
   */
  table(sql: string): Promise<QueryTable>;
  /**
   * Runs the statements in one transaction: all of them commit, or none does. The engine may
   * send several statements in one call; those listed in `alone` (a model's own SQL, whose
   * error positions matter) and `countAt` are sent by themselves. Returns what `exec`
   * returned for the statement at `countAt`.
   */
  transaction(statements: readonly string[], options?: TransactionOptions): Promise<number | undefined>;
  /** Ends the transaction open on the connection, if any, undoing what it wrote. */
  rollback(): Promise<void>;
  /**
   * How many statements the engine's own parser finds in `sql`, without running any: a
   * model is one query, and text that parses into two would run both.
   */
  statementCount(sql: string): Promise<number>;
  /** Asks the statement in progress to stop; it then fails with an interrupt error. */
  interrupt(): void;
  close(): void;
  /**
   * Set once the session ran a statement that may have changed its own state (its settings,
   * its default database): a pool then closes it rather than lend it to another task.
   */
  readonly changedState?: boolean;
  /**
   * The session of the connection this one runs on, when it stands for another (a batch's view
   * of its connection): what is asked once per connection is kept by that one.
   */
  readonly sessionOfConnection?: WarehouseSession;
  /** Which sessions see the same functions as this one, and since which change (see state/query-reads.ts readerOf). */
  readonly functionsScope?: FunctionsScope;
  /**
   * The same object for every session of a warehouse this process alone writes while it has
   * it open (a DuckDB file), where what pipe's own state looks like changes only by this
   * process (see state-shape.ts); none where other processes write too (a lake).
   */
  readonly stateScope?: object;
}

/**
 * The sessions of one database instance see the same functions, their own temporary macros
 * aside, until a statement changes them (a macro created, an extension loaded).
 */
export interface FunctionsScope {
  /** The same object for every session of the instance. */
  readonly instance: object;
  /** How many statements of the instance's sessions may have changed its functions, so far. */
  readonly generation: number;
  /** Whether this session ran one: it may hold temporary macros the others do not see. */
  readonly changedOwn: boolean;
  /** What the functions were found to be by an earlier process, with nothing written to the file since (see duckdb/kept-functions.ts): for generation 0 only, checked by its user. */
  readonly kept?: unknown;
  /** Tells the instance what its functions were found to be at generation 0, to keep for the next process as the file closes. */
  readonly keep?: (found: unknown) => void;
  /** Counts a change of the functions found otherwise than from a statement's words (see query-reads.ts askFunctionsAgain). */
  readonly changed?: () => void;
}

/**
 * How many statements the engine's parser finds in `sql`; undefined when it does not parse,
 * which running it reports, at its line. Text without a semicolon is one statement.
 */
export async function statementsIn(session: WarehouseSession, sql: string): Promise<number | undefined> {
  if (!sql.includes(';')) return 1;
  try {
    return await session.statementCount(sql);
  } catch (e) {
    if (e instanceof WarehouseError) return undefined;
    throw e;
  }
}

export interface Warehouse {
  /** What users see: the path of the warehouse file. */
  readonly location: string;
  readonly dialect: Dialect;
  /**
   * Whether other processes may write to it while this one does (a DuckLake with a Postgres
   * catalog): then a run marked running may be alive elsewhere, and a commit may conflict with
   * another's. A DuckDB file has one writing process.
   */
  readonly sharedWriters: boolean;
  session(): Promise<WarehouseSession>;
  /** Tells other processes that find the warehouse busy what holds it (e.g. which run). */
  announce(what: string): void;
  /**
   * Why what this process writes no longer reaches the warehouse its location names (its file
   * deleted, or replaced by another, while open: DuckDB goes on writing the file it opened), in
   * words that follow the location; undefined while it does, and for a warehouse that is no
   * file of this machine.
   */
  gone?(): string | undefined;
  close(): void;
}

/** Whether re-running the same work may succeed: decides retries, never the user's data. */
export type ErrorClass = 'transient' | 'permanent';

/** An error the database raised, with its kind ("Binder", "Conversion", ...) split out. */
export class WarehouseError extends Error {
  constructor(
    message: string,
    readonly kind: string,
    readonly errorClass: ErrorClass,
  ) {
    super(message);
  }
}

/**
 * The warehouse file cannot be used: a folder, a file that is not a database, a path nothing
 * may be created at. Found before anything is written.
 */
export class WarehouseOpenError extends Error {
  constructor(
    readonly location: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** The warehouse file is held by another process. */
export class WarehouseLockedError extends WarehouseOpenError {
  /** "the warehouse … is in use by another process (who)", without what to do about it. */
  readonly inUse: string;

  constructor(
    location: string,
    readonly holderPid: number | undefined,
    readonly program: string | undefined,
    /** When the holder is pipe: what it is doing. */
    readonly holder?: { readonly what: string; readonly since: string; readonly lends?: boolean },
    /** How long pipe waited for it, when it did. */
    readonly waitedMs = 0,
  ) {
    const who = holder
      ? `${holder.what}, PID ${holderPid}, since ${holder.since}`
      : holderPid
        ? `PID ${holderPid}${program ? `, ${program}` : ''}`
        : undefined;
    const inUse = `the warehouse ${location} is in use by another process${who ? ` (${who})` : ''}`;
    super(location, `${inUse}; wait for it to finish or stop it, then try again`);
    this.inUse = inUse;
  }

  /** The same holder, after waiting `ms` for it in vain. */
  waited(ms: number): WarehouseLockedError {
    return new WarehouseLockedError(this.location, this.holderPid, this.program, this.holder, ms);
  }
}
