import { allSteps, loadedSeedHash, type Task } from '../plan/task.js';
import { readSeedHashes, STAGING_PREFIX, stateHas } from '../warehouse/run-state.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';
import { insertBuildSql, insertResetsSql, LatestBuilds, LISTED_NODES, readLatestBuilds, type BuildRecord } from '../warehouse/build-records.js';
import { evaluate, type Currency } from '../state/currency.js';
import { dataVersion, hashOf } from '../state/data-version.js';
import { inputVersions, ViewVersions } from '../state/input-versions.js';
import { readAll, untrackedReads, type QueryToRead } from '../state/query-reads.js';
import type { QueryReadsCache } from '../state/query-reads-cache.js';
import { SourceFingerprints } from '../state/source-fingerprint.js';
import type { InputRef } from '../state/tracking.js';
import type { BuildNews } from './build-news.js';
import { pushTo } from '../util/multi-map.js';

/**
 * Currency during a run: the builds on record when it starts, kept up to date in memory as
 * its tasks publish, so that a task ready to run is judged with the versions its upstream
 * just published (or, skipped as current, kept). One per run.
 */

/** A task judged when it is ready: how current it is, and the versions of its inputs now. */
export interface Judged {
  readonly currency: Currency;
  readonly inputs: Readonly<Record<string, string>>;
  /** Why it always runs, when it does (the plan's reason, or what its query reads). */
  readonly untracked?: string;
}

export class RunCurrency {
  private readonly fingerprints = new SourceFingerprints();
  /** Views' versions, each valid until a node it reads is published (see ViewVersions). */
  private readonly views = new ViewVersions();
  /** The dates of a full refresh built so far, by model, for its swap to record. */
  private readonly staged = new Map<string, BuildRecord[]>();
  /** The models whose reset a foreseen run has applied (see foresaw). */
  private readonly resetsForeseen = new Set<string>();

  /** Stops hearing of the other runs' publications (see open). */
  private unlisten: () => void = () => undefined;

  constructor(
    private readonly runId: string,
    private readonly builds: LatestBuilds,
    private readonly seedHashes: Map<string, string>,
    /** The models whose tables the run builds from nothing, and when it started: see open. */
    private readonly resets?: { readonly nodes: ReadonlySet<string>; readonly at: number },
    private readonly news?: BuildNews,
  ) {}

  /**
   * Reads what is on record, without the builds of the models whose tables the run builds from
   * nothing (see Tracking.resets): nothing of them is current for the run. Their reset is
   * recorded with the publication that replaces the table (see recording), not now: a run that
   * stops before it (a failed date of a full refresh, Ctrl-C, kill -9) leaves the table as it
   * was, and its builds on record with it. Undefined when no task is tracked (a `pipe test`).
   */
  static async open(
    session: WarehouseSession,
    runId: string,
    tasks: readonly Task[],
    kept?: QueryReadsCache,
    news?: BuildNews,
    /** How the seeds' hashes are read (the engine's, which may know them already: see Engine.seedHashes). */
    seedHashes: (session: WarehouseSession) => Promise<Map<string, string>> = readSeedHashes,
  ): Promise<RunCurrency | undefined> {
    if (!tasks.some((t) => t.tracking)) return undefined;
    const resets = new Set(tasks.filter((t) => t.tracking?.resets).map((t) => t.node));
    const at = Date.now();
    // Heard from now: what another run publishes while this one reads the records is in both.
    const heard: [Task, BuildRecord | undefined, string][] = [];
    const early = news?.listen(runId, (...told) => heard.push(told));
    try {
      const builds = await readLatestBuilds(session, nodesOf(tasks), LISTED_NODES, relationsOf(tasks));
      for (const node of resets) builds.reset(node);
      await readAll(session, queriesOf(tasks), kept);
      const currency = new RunCurrency(runId, builds, await seedHashes(session), resets.size > 0 ? { nodes: resets, at } : undefined, news);
      for (const told of heard) currency.learn(...told);
      if (news) currency.unlisten = news.listen(runId, (task, build, by) => currency.learn(task, build, by));
      return currency;
    } catch (e) {
      early?.();
      throw e;
    }
  }

  /** The run has ended: it hears no more of the others'. */
  close(): void {
    this.unlisten();
  }

  /**
   * Another run of the process published `task` (`by`): what reads it is judged with that
   * build, and recorded as built from it, as a run started after it would read it.
   */
  learn(task: Task, build: BuildRecord | undefined, by: string): void {
    this.views.changed(task.node);
    if (build) this.builds.add(build);
    const loaded = task.kind === 'seed' ? loadedSeedHash(task, by) : undefined;
    if (loaded !== undefined) this.seedHashes.set(task.node, loaded);
  }

  /**
   * The record of a reset for `task`'s publication: the swap of a full refresh, or a task that
   * publishes straight into a table the run builds from nothing (its builds then count from
   * the run's start); none for a date built into a full refresh's staging table.
   */
  private resetOf(task: Task): string | undefined {
    if (!this.resets?.nodes.has(task.node)) return undefined;
    if (task.phase !== 'swap' && !(task.tracking?.resets && task.tracking.records)) return undefined;
    return insertResetsSql(this.runId, [task.node], this.resets.at);
  }

  /**
   * The models this run builds by date whose table was last built whole (a table model made
   * incremental since): the dates the run builds replace their rows, and the rest of the
   * table stays as that build made it, which no date's record describes. Each with the run
   * that built it whole; said on the first run by date after it only (a date built since is
   * newer than the whole build).
   */
  builtWholeBefore(tasks: readonly Task[]): { readonly node: string; readonly runId: string }[] {
    const out = new Map<string, string>();
    /** Nodes looked at: each once, not once per date (a scan of its builds each). */
    const seen = new Set<string>();
    for (const t of tasks) {
      const tracking = t.tracking;
      if (!tracking || tracking.key === '' || tracking.resets || !tracking.relationExists || seen.has(t.node)) continue;
      seen.add(t.node);
      const whole = this.builds.build(t.node, '');
      if (whole && this.builds.buildsOf(t.node).every((b) => b.key === '' || b.builtAt < whole.builtAt)) out.set(t.node, whole.runId);
    }
    return [...out].map(([node, runId]) => ({ node, runId }));
  }

  /** Judges a tracked task that is ready to run; undefined for one that is not tracked. */
  async judge(task: Task, session: WarehouseSession): Promise<Judged | undefined> {
    const tracking = task.tracking;
    if (!tracking || task.sqlHash === undefined) return undefined;
    const inputs = await inputVersions(tracking.inputs, {
      builds: this.builds,
      seedHashes: this.seedHashes,
      source: (s) => this.fingerprints.of(s, session),
      views: this.views,
    });
    const untracked = tracking.untracked ?? (task.sql === undefined ? undefined : ((await untrackedReads(session, task.sqlHash, task.sql, tracking.reads)) ?? (await untrackedChecks(task, session))));
    const currency = evaluate(
      { node: task.node, key: tracking.key, sqlHash: tracking.sqlHash, configHash: tracking.configHash, inputs, untracked, relationExists: tracking.relationExists, relation: task.relation },
      this.builds,
    );
    return { currency, inputs, untracked };
  }

  /**
   * `task` (as it runs, with the SQL it runs) with what it records in its publishing
   * transaction: its build, written with its success (Task.build); for the swap of a full
   * refresh, the builds of the dates it swaps in, which were built into its staging table by
   * this run and stand as the model's data from this commit. Also returns its build.
   */
  recording(task: Task, judged: Judged | undefined, at: number): { readonly build?: BuildRecord; readonly task: Task } {
    const reset = this.resetOf(task);
    const recorded = (t: Task, statements: readonly string[]): Task => (statements.length > 0 ? { ...t, stateStatements: [...(t.stateStatements ?? []), ...statements] } : t);
    if (task.phase === 'swap') {
      const staged = (this.staged.get(task.node) ?? []).map((b) => insertBuildSql(b));
      return { task: recorded(task, reset === undefined ? staged : [reset, ...staged]) };
    }
    const build = this.build(task, judged, at);
    return { build, task: recorded(build && task.tracking?.records ? { ...task, build } : task, reset === undefined ? [] : [reset]) };
  }

  private build(task: Task, judged: Judged | undefined, at: number): BuildRecord | undefined {
    const tracking = task.tracking;
    if (!tracking || !judged || task.sqlHash === undefined) return undefined;
    const { untracked } = judged;
    return {
      runId: this.runId,
      taskId: task.id,
      node: task.node,
      key: tracking.key,
      // A model built whole records the interval it was built for too: status says which.
      interval: task.interval,
      sqlHash: tracking.sqlHash,
      configHash: tracking.configHash,
      inputs: judged.inputs,
      version: dataVersion(tracking.sqlHash, tracking.configHash, judged.inputs, { untracked, runId: this.runId, taskId: task.id }),
      untracked,
      builtAt: at,
      relation: task.relation,
    };
  }

  /**
   * A task published: what reads it from now on sees its version (a seed: its new hash). A
   * date of a full refresh waits for its model's swap to be recorded; what reads it in the
   * run (the staging table) sees its version already.
   */
  published(task: Task, build: BuildRecord | undefined): void {
    this.remember(task, build);
    this.news?.tell(this.runId, task, build);
  }

  private remember(task: Task, build: BuildRecord | undefined): void {
    this.views.changed(task.node);
    if (build) this.builds.add(build);
    if (build && task.tracking?.records === false) pushTo(this.staged, task.node, build);
    const loaded = task.kind === 'seed' ? loadedSeedHash(task, this.runId) : undefined;
    if (loaded !== undefined) this.seedHashes.set(task.node, loaded);
  }

  /** How long the latest publication of `task`'s node and key on record took to build, when the record says. */
  tookMs(task: Task): number | undefined {
    const key = task.tracking?.key;
    return key === undefined ? undefined : this.builds.build(task.node, key)?.tookMs;
  }

  /** Forgets the views' versions read so far: a batch rolled back may have changed what they were read as. */
  forget(): void {
    this.views.clear();
  }

  /**
   * What a run would record of `task` had it run now, recorded in memory only (see foresee):
   * a tracked task's data version follows from its SQL, config and inputs, so what reads it
   * can be judged as the run will judge it. A model the run builds from nothing loses its
   * earlier builds first, as the run's reset makes them stop counting.
   */
  foresaw(task: Task, judged: Judged | undefined): void {
    if (task.tracking?.resets && !this.resetsForeseen.has(task.node)) {
      this.resetsForeseen.add(task.node);
      this.builds.reset(task.node);
    }
    this.remember(task, this.build(task, judged, Date.now()));
  }
}

/** The relations a run's judgements ask the writers of: those of its tracked tasks (see evaluate). */
function relationsOf(tasks: readonly Task[]): string[] {
  return [...new Set(tasks.flatMap((t) => (t.tracking ? [t.relation] : [])))];
}

/** The models whose builds a run of `tasks` reads: its own, and those its tasks read (through views). */
function nodesOf(tasks: readonly Task[]): string[] {
  const out = new Set<string>();
  const viewsWalked = new Set<string>();
  const add = (inputs: readonly InputRef[]) => {
    for (const i of inputs) {
      if (i.kind === 'seed' || i.kind === 'source') continue;
      out.add(i.name);
      if (i.kind === 'view' && !viewsWalked.has(i.name)) {
        viewsWalked.add(i.name);
        add(i.inputs);
      }
    }
  };
  for (const t of tasks) {
    out.add(t.node);
    add(t.tracking?.inputs ?? []);
  }
  return [...out];
}

/** The queries of `tasks` whose reads a run judges (see state/query-reads.ts): each tracked task's, and its checks'. */
export function queriesOf(tasks: readonly Task[]): QueryToRead[] {
  return tasks.flatMap((t) =>
    t.tracking && t.tracking.untracked === undefined && t.sql !== undefined && t.sqlHash !== undefined ? [{ sqlHash: t.sqlHash, sql: t.sql, known: t.tracking.reads }, ...checkQueries(t)] : [],
  );
}

/**
 * What a task's checks read, to judge as its query is (a check runs with the task's build
 * only: one that reads a table no ref() or source() gives it would find another answer while
 * the model is skipped as current). The staging tables its checks read are the task's own.
 */
function checkQueries(t: Task): readonly (QueryToRead & { readonly name: string })[] {
  // Asked before the run (readAll) and again as each task is judged: made once per task.
  let made = checkQueriesMade.get(t);
  if (made === undefined) {
    const known = t.tracking?.reads ?? [];
    made = allSteps(t.steps)
      .flatMap((s) => (s.kind === 'check' ? [s] : s.kind === 'publish' ? (s.checks ?? []) : []))
      .filter((c) => !c.renderAtRun)
      .map((c) => {
        // The task's own list where the check names no staging table: one list a task, not one a check.
        const staging = stagingIn(c.sql);
        return { name: c.name, sqlHash: hashOf('check', c.sql), sql: c.sql, known: staging.length === 0 ? known : [...known, ...staging] };
      });
    checkQueriesMade.set(t, made);
  }
  return made;
}
const checkQueriesMade = new WeakMap<Task, readonly (QueryToRead & { readonly name: string })[]>();

/** The staging tables a text names (`"main"."__pipe_stage__orders__…"`). */
function stagingIn(sql: string): string[] {
  if (!sql.includes(STAGING_PREFIX)) return [];
  return [...sql.matchAll(STAGING_RE)].map((m) => m[0]);
}
/**
 * A quoted identifier, a dot, and one whose name starts with the prefix. Each identifier is
 * written unrolled (`"[^"]*(?:""[^"]*)*"`, the language of `"(?:[^"]|"")*"`): an alternation
 * per character cost a check's text some microseconds a quote, in every task of a plan.
 */
const STAGING_RE = new RegExp(`"[^"]*(?:""[^"]*)*"\\."${STAGING_PREFIX}[^"]*(?:""[^"]*)*"`, 'g');

/** Why a task's checks read what pipe cannot track, if one does (see checkQueries). */
async function untrackedChecks(task: Task, session: WarehouseSession): Promise<string | undefined> {
  for (const q of checkQueries(task)) {
    const why = await untrackedReads(session, q.sqlHash, q.sql, q.known);
    if (why !== undefined) return `its check ${q.name} ${why.replace(/^its query /, '')}`;
  }
  return undefined;
}

/** A planned task as a run would find it, judged before anything runs. */
export interface Foreseen extends Judged {
  /** A task it waits for would run and what it would publish cannot be told beforehand: it would run too. */
  readonly after?: string;
}

/**
 * What a run of `tasks` would find current, judged read-only with the versions on record (a
 * dry run, a status), in dependency order as the run judges them: a task that would run
 * publishes, in memory, the build it would record (its data version follows from its SQL,
 * config and inputs; a seed, the hash of its file), and what reads it is judged with that.
 * So a task whose upstream would run again and write the same version (a failed task retried
 * with what it was built from) is current, as the run will find it. A task whose publication
 * cannot be told (its SQL is rendered as it runs) makes what waits for it run too. Tasks that
 * are not tracked are left out. Reads nothing but the warehouse; writes nothing.
 */
export async function foresee(session: WarehouseSession, tasks: readonly Task[], kept?: QueryReadsCache): Promise<Map<string, Foreseen>> {
  const out = new Map<string, Foreseen>();
  if (!tasks.some((t) => t.tracking)) return out;
  const recorded = await stateHas(session, 'builds');
  const builds = recorded ? await readLatestBuilds(session, nodesOf(tasks), LISTED_NODES, relationsOf(tasks)) : new LatestBuilds();
  await readAll(session, queriesOf(tasks), kept);
  const currency = new RunCurrency('foreseen', builds, recorded ? await readSeedHashes(session) : new Map());
  const byId = new Map(tasks.map((t) => [t.id, t]));
  /** By task: whether it would run and what it would publish is not known beforehand. */
  const unforeseen = new Map<string, boolean>();
  const visit = async (task: Task): Promise<boolean> => {
    const known = unforeseen.get(task.id);
    if (known !== undefined) return known;
    unforeseen.set(task.id, true); // a cycle is a planning error; this only guards the walk
    let after: string | undefined;
    for (const id of task.upstream) {
      const up = byId.get(id);
      if (up && (await visit(up)) && after === undefined) after = id;
    }
    const judged = await currency.judge(task, session);
    let willRun = task.noop === undefined && task.blocked === undefined;
    if (judged) {
      const { currency: c } = judged;
      const foreseen: Foreseen = after !== undefined && c.kind === 'current' ? { ...judged, after, currency: { kind: 'stale', build: c.build, changed: [`upstream ${after} runs first`] } } : judged;
      out.set(task.id, foreseen);
      willRun = foreseen.currency.kind !== 'current';
    }
    // Judged from inputs about to change in ways not known, its own version is not known
    // either; nor is that of a task that always runs (what it publishes is told only as it runs).
    // A test publishes nothing: what waits for it reads what it reads, as unknown as that, no more.
    if (task.kind === 'test' || task.kind === 'unit-test') {
      unforeseen.set(task.id, after !== undefined);
      return after !== undefined;
    }
    const foreseeable = after === undefined && judged?.currency.kind !== 'untracked' && (judged !== undefined || task.kind === 'seed');
    if (willRun && foreseeable) currency.foresaw(task, judged);
    unforeseen.set(task.id, willRun && !foreseeable);
    return willRun && !foreseeable;
  };
  for (const t of tasks) await visit(t);
  return out;
}
