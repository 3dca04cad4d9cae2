import type { BuildRecord, FailureRecord, LatestBuilds, RelationWriter } from '../warehouse/build-records.js';
import { UP_TO_DATE } from '../warehouse/run-state.js';
import { SELF_KEY, UNKNOWN } from './tracking.js';

/**
 * Whether a task's output is current: its latest publication was built from the same SQL,
 * the same config and the same input versions, its relation still stands, and it has not
 * failed since. Pure: the caller reads the builds (build-records.ts) and resolves the input
 * versions (input-versions.ts), with a run's fresh versions or with the recorded ones.
 */

/** What is asked about one task. */
export interface Candidate {
  readonly node: string;
  /** `''` for a model built whole, else the interval's label. */
  readonly key: string;
  readonly sqlHash: string;
  readonly configHash: string;
  /** Input key -> version now. */
  readonly inputs: Readonly<Record<string, string>>;
  /** Set when the task always runs, with why. */
  readonly untracked?: string;
  readonly relationExists: boolean;
  /** The relation it writes: another node's build of it since its own is no build of its own. */
  readonly relation?: string;
}

export type Currency =
  /** Built from the same SQL, config and inputs: running it again would write the same data. */
  | { readonly kind: 'current'; readonly build: BuildRecord }
  /** No publication on record (or none since the table was last built from nothing). */
  | { readonly kind: 'never-built' }
  /** On record, but its relation is gone. */
  | { readonly kind: 'dropped'; readonly build: BuildRecord }
  /** Its latest attempt failed after its latest publication. */
  | { readonly kind: 'failed'; readonly build?: BuildRecord; readonly failure: FailureRecord }
  /**
   * Its SQL or config differs from its latest publication's. `builtFor`: that publication was of
   * another interval that overlaps this one (a day and one of its hours), built after this
   * one's: it rewrote rows of this interval from SQL rendered for its own.
   */
  | {
      readonly kind: 'modified';
      readonly build: BuildRecord;
      readonly changed: readonly ('sql' | 'config')[];
      readonly builtFor?: string;
      /** Another node's build wrote its relation since (a model that took its name while it was disabled). */
      readonly writtenBy?: RelationWriter;
      /** Its latest build wrote another relation than the one it names now (another target's schema), after its last write of this one. */
      readonly builtElsewhere?: true;
    }
  /** Its inputs differ from those its latest publication read: the keys that changed (or are unknown). */
  | { readonly kind: 'stale'; readonly build: BuildRecord; readonly changed: readonly string[] }
  /** pipe cannot tell its data from its inputs: it always runs. */
  | { readonly kind: 'untracked'; readonly why: string };

export type CurrencyKind = Currency['kind'];

export function evaluate(c: Candidate, latest: LatestBuilds): Currency {
  const build = latest.build(c.node, c.key);
  const failure = latest.failure(c.node, c.key);
  const failed = failure !== undefined && (build === undefined || failure.at > build.builtAt);
  // One that always runs and whose latest attempt failed is, first of all, failed.
  if (failed) return { kind: 'failed', build, failure };
  if (c.untracked !== undefined) return { kind: 'untracked', why: c.untracked };
  if (!build) return { kind: 'never-built' };
  if (!c.relationExists) return { kind: 'dropped', build };
  // Its table was written since by another node's build (one that took its name while it was
  // disabled, or renamed): what it holds is that node's, whatever this one's record says.
  const other = c.relation === undefined ? undefined : latest.otherWriterSince(c.relation, c.node, build.builtAt);
  if (other) return { kind: 'modified', build, changed: ['sql'], writtenBy: other };
  const own = c.relation === undefined ? undefined : latest.writeOf(c.relation, c.node);
  // A day built after one of its hours, or an hour after its day, rewrote rows this build wrote:
  // what the interval holds is no longer what this build made.
  const rewrote = latest.overlapping(c.node, c.key).filter((b) => b.builtAt > build.builtAt).sort((a, b) => b.builtAt - a.builtAt)[0];
  if (rewrote) return { kind: 'modified', build: rewrote, changed: ['sql'], builtFor: rewrote.key };
  if (build.untracked !== undefined) return { kind: 'untracked', why: build.untracked };
  // The relation's latest write by this node came before the node's latest build, which so wrote another (another target's schema).
  if (own && own.builtAt < build.builtAt) return { kind: 'modified', build, changed: ['config'], builtElsewhere: true };
  const changed: ('sql' | 'config')[] = [];
  if (build.sqlHash !== c.sqlHash) changed.push('sql');
  if (build.configHash !== c.configHash) changed.push('config');
  if (changed.length > 0) return { kind: 'modified', build, changed };
  const stale = changedInputs(build.inputs, c.inputs);
  if (stale.length > 0) return { kind: 'stale', build, changed: stale };
  return { kind: 'current', build };
}

/** Input keys whose versions differ, are unknown, or that one side lacks; the model's own table is not compared. */
export function changedInputs(recorded: Readonly<Record<string, string>>, now: Readonly<Record<string, string>>): string[] {
  const keys = new Set([...Object.keys(recorded), ...Object.keys(now)]);
  keys.delete(SELF_KEY);
  return [...keys].filter((k) => recorded[k] === undefined || recorded[k] !== now[k] || now[k] === UNKNOWN).sort();
}

/** The detail of a task skipped as current (recorded, reported, and shown by a dry run). */
export function upToDateDetail(c: Extract<Currency, { kind: 'current' }>): string {
  return `${UP_TO_DATE}: ${describeCurrency(c)}`;
}

/** One line on a currency, for a task's detail and for status. */
export function describeCurrency(c: Currency): string {
  switch (c.kind) {
    case 'current':
      return `built by run ${c.build.runId} from the same SQL, config and inputs`;
    case 'never-built':
      return 'never built';
    case 'dropped':
      return 'its relation is gone';
    case 'failed':
      return `failed in run ${c.failure.runId}`;
    case 'modified':
      if (c.writtenBy !== undefined) return `its relation was written since by ${c.writtenBy.seed ? 'the seed ' : ''}${c.writtenBy.node} (run ${c.writtenBy.runId})`;
      if (c.builtElsewhere) return `its latest build, by run ${c.build.runId}, wrote another relation than the one it names now`;
      return c.builtFor !== undefined ? `rows rewritten since by run ${c.build.runId}'s build of ${c.builtFor}` : `${c.changed.join(' and ')} changed since run ${c.build.runId}`;
    case 'stale':
      return `inputs changed since run ${c.build.runId}: ${c.changed.join(', ')}`;
    case 'untracked':
      return `always runs: ${c.why}`;
    default: {
      const never: never = c;
      throw new Error(`internal error: currency ${JSON.stringify(never)}`);
    }
  }
}
