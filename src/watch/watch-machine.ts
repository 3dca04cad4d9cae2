import type { Step } from '../util/state-machine.js';
import { unexpectedEvent, unknownState } from '../util/unknown-state.js';

/**
 * What `pipe watch` does next, as a pure function of its state and one event. The file
 * watcher, the timer, the builds and the stop signal live in watch.ts; here are only the
 * decisions, so that each can be tested without files, timers or a warehouse.
 *
 *                 ready                   built
 *   starting ───────────▶ building ───────────────────────▶ idle
 *                          │  ▲ ▲  │                            │ save
 *                          │  │ │  │ built, with errors         ▼
 *                          │  │ │  └─────────▶ blocked ─save─▶ debouncing ◀─┐
 *                          │  │ │                               │   │       │ save
 *                          │  │ └─────────── quiet ─────────────┘   └───────┘
 *                          │  │
 *                          │  └── built, with saves queued meanwhile: at once when the files
 *                          │      are quiet already, else through debouncing
 *                          │
 *                          └─ stop ─▶ stopping ─── built ───▶ stopped
 *
 *   stop in starting, idle, debouncing or blocked ─▶ stopped
 *
 * A save during a build is queued, and starts the quiet period as any save does: when the
 * build ends, the next one starts as soon as the files have been quiet, with every save
 * queued meanwhile, so no save is lost. (Waiting for the quiet period also keeps a save from
 * being missed by the file watcher, which drops a second change of one file within 50 ms.)
 * A build whose project does not analyze is blocked: its changes are held and built with the
 * next save, so the save that fixes the error rebuilds everything changed since the last
 * build that got through. Stop during a build waits for it: the build sees the same stop
 * signal and rolls back.
 */

export type FileChange = 'add' | 'change' | 'unlink';

/** What a build is asked to cover. */
export interface Changes {
  /** Files saved since the last build, by path, with their kind of change since then (added, changed or removed). */
  readonly files: ReadonlyMap<string, FileChange>;
  /** The whole selection is built: the first build, and every build until one gets through analysis. */
  readonly everything: boolean;
}

export type WatcherState =
  /** The file watcher is reading the tree; nothing is built yet. */
  | { readonly kind: 'starting' }
  /** A build is in flight. `queued`: saves since it started; `settling`: the last of them is younger than the quiet period. */
  | { readonly kind: 'building'; readonly current: Changes; readonly queued?: Changes; readonly settling: boolean }
  /** Waiting for a save; the warehouse is closed. */
  | { readonly kind: 'idle' }
  /** Saves arrived; waiting for the files to be quiet before building them. */
  | { readonly kind: 'debouncing'; readonly pending: Changes }
  /** The project has errors: the changes that could not be built wait for the save that fixes them. */
  | { readonly kind: 'blocked'; readonly held: Changes }
  /** Stopped during a build: waiting for it to roll back. */
  | { readonly kind: 'stopping' }
  | { readonly kind: 'stopped' };

export type WatcherEvent =
  /** The file watcher has read the tree: saves from now on are seen. */
  | { readonly kind: 'ready' }
  | { readonly kind: 'saved'; readonly path: string; readonly change: FileChange }
  /** The quiet period after the last save has passed. */
  | { readonly kind: 'quiet' }
  /** The build ended (its task failures are reported by the build itself); `blocked`: the project did not analyze. */
  | { readonly kind: 'built'; readonly blocked: boolean }
  /** A build failed in a way that is no problem of the project's: watching ends with the error. */
  | { readonly kind: 'crashed'; readonly error: unknown }
  | { readonly kind: 'stop' };

export type WatcherEffect =
  /** Say that watching has started. */
  | { readonly kind: 'announce' }
  | { readonly kind: 'build'; readonly changes: Changes }
  /** (Re)start the quiet period. */
  | { readonly kind: 'debounce' }
  | { readonly kind: 'cancel-debounce' }
  /** Say that the build is over and the warehouse is free to read. */
  | { readonly kind: 'report-waiting' }
  /** Stop watching the files; `watch` returns, or throws `error`. */
  | { readonly kind: 'close'; readonly error?: unknown };

export type WatcherStep = Step<WatcherState, WatcherEffect>;

export const INITIAL_WATCHER_STATE: WatcherState = { kind: 'starting' };

const FIRST_BUILD: Changes = { files: new Map(), everything: true };

export function merge(a: Changes | undefined, b: Changes): Changes {
  if (!a) return b;
  const files = new Map(a.files);
  for (const [path, change] of b.files) {
    const before = files.get(path);
    // Made and removed again since the last build (an editor's or sed's file of its own, kept
    // while it saves): no build read it, nothing changed.
    if (before === 'add' && change === 'unlink') files.delete(path);
    else files.set(path, before === 'add' ? 'add' : change);
  }
  return { files, everything: a.everything || b.everything };
}

const step = (state: WatcherState, ...effects: WatcherEffect[]): WatcherStep => ({ state, effects });

/** What the watcher does on `event` in `state`. */
export function nextWatcherState(state: WatcherState, event: WatcherEvent): WatcherStep {
  // Once stopped, what the file watcher says while it closes is of no interest.
  if (state.kind === 'stopped') return step(state);
  if (event.kind === 'crashed') return step({ kind: 'stopped' }, { kind: 'cancel-debounce' }, { kind: 'close', error: event.error });
  if (event.kind === 'ready' && state.kind !== 'starting') throw unexpectedEvent(state, event);
  if (event.kind === 'built' && state.kind !== 'building' && state.kind !== 'stopping') throw unexpectedEvent(state, event);
  switch (state.kind) {
    case 'starting':
      if (event.kind === 'ready') return step({ kind: 'building', current: FIRST_BUILD, settling: false }, { kind: 'announce' }, { kind: 'build', changes: FIRST_BUILD });
      if (event.kind === 'stop') return step({ kind: 'stopped' }, { kind: 'close' });
      // A save before the tree has been read is in the first build, which reads every file.
      return step(state);
    case 'building':
      switch (event.kind) {
        case 'saved':
          return step({ ...state, queued: merge(state.queued, saved(event)), settling: true }, { kind: 'debounce' });
        case 'quiet':
          return step({ ...state, settling: false });
        case 'built':
          return afterBuild(state, event.blocked);
        case 'stop':
          return step({ kind: 'stopping' }, { kind: 'cancel-debounce' });
        default:
          return step(state);
      }
    case 'idle':
      if (event.kind === 'saved') return step({ kind: 'debouncing', pending: saved(event) }, { kind: 'debounce' });
      return event.kind === 'stop' ? stopNow() : step(state);
    case 'blocked':
      if (event.kind === 'saved') return step({ kind: 'debouncing', pending: merge(state.held, saved(event)) }, { kind: 'debounce' });
      return event.kind === 'stop' ? stopNow() : step(state);
    case 'debouncing':
      switch (event.kind) {
        case 'saved':
          return step({ kind: 'debouncing', pending: merge(state.pending, saved(event)) }, { kind: 'debounce' });
        case 'quiet':
          return step({ kind: 'building', current: state.pending, settling: false }, { kind: 'build', changes: state.pending });
        case 'stop':
          return stopNow();
        default:
          return step(state);
      }
    case 'stopping':
      return event.kind === 'built' ? step({ kind: 'stopped' }, { kind: 'close' }) : step(state);
    default:
      throw unknownState(state satisfies never);
  }
}

/** Stop with no build in flight: nothing to wait for. */
const stopNow = (): WatcherStep => step({ kind: 'stopped' }, { kind: 'cancel-debounce' }, { kind: 'close' });

function saved(event: { readonly path: string; readonly change: FileChange }): Changes {
  return { files: new Map([[event.path, event.change]]), everything: false };
}

/** A build ended: wait for the next save, or build what was saved meanwhile (at once if the files are quiet). */
function afterBuild(state: WatcherState & { kind: 'building' }, blocked: boolean): WatcherStep {
  const waiting: WatcherEffect = { kind: 'report-waiting' };
  if (!state.queued) return blocked ? step({ kind: 'blocked', held: state.current }, waiting) : step({ kind: 'idle' }, waiting);
  const next = blocked ? merge(state.current, state.queued) : state.queued;
  if (state.settling) return step({ kind: 'debouncing', pending: next }, waiting);
  return step({ kind: 'building', current: next, settling: false }, waiting, { kind: 'build', changes: next });
}
