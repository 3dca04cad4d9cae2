import { relative, resolve } from 'node:path';
import { resolveInterval } from '../commands/context.js';
import { dateVariables } from '../dates/dates.js';
import { loadProject, PROJECT_FILE } from '../project/load-project.js';
import { DBT_PROJECT_FILE, type ProjectLayout } from '../project/layout.js';
import { CachedFs, type FsEvent } from '../project/project-fs.js';
import { Alarm } from '../util/sleep.js';
import { StateMachine } from '../util/state-machine.js';
import { unknownState } from '../util/unknown-state.js';
import { ChangeBuilder, type BuildOptions } from './build-changes.js';
import { INITIAL_WATCHER_STATE, nextWatcherState, type WatcherEffect } from './watch-machine.js';

/**
 * `pipe watch`: build the selection, then on every save rebuild what changed and everything
 * downstream of it, with the same atomic writes as `pipe run`. The warehouse is open only
 * from a save to the end of its build: between builds other processes may read and write it.
 * With --keep-open it stays open between builds, lent to the pipe commands that ask for it.
 *
 * What happens when is decided in watch-machine.ts; this file connects it to the world: the
 * file watcher's saves, the quiet-period timer and the stop signal go in as events, and its
 * effects are carried out here (builds in build-changes.ts).
 */

export interface WatchOptions extends BuildOptions {
  /** Quiet period after the last change before rebuilding. */
  readonly debounceMs?: number;
}

/** What watch mode watches: the project's folders (as its layout says) and its files. */
export function watchedPaths(layout: ProjectLayout): string[] {
  const { models, seeds, macros, tests, snapshots } = layout;
  return [...new Set([...models, ...seeds, ...macros, ...tests, ...snapshots, 'pipelines', PROJECT_FILE, DBT_PROJECT_FILE, 'selectors.yml'])];
}

export async function watch(options: WatchOptions): Promise<void> {
  const { emit, signal } = options;
  const fs = new CachedFs();
  const { interval } = resolveInterval(options.date, options.clock);
  const root = resolve(options.project ?? '.');
  const builder = new ChangeBuilder(options, fs, root, interval);
  const watched = watchedPaths(loadProject(root, fs).layout);

  let ended!: (error?: { error: unknown }) => void;
  const end = new Promise<{ error: unknown } | undefined>((res) => (ended = res));
  /** The quiet period after the last save. */
  const quiet = new Alarm();

  // Watch first, build second: a save made during the first build is not missed. Loaded
  // here: no other command watches files, and loading it cost every command's start.
  const { default: chokidar } = await import('chokidar');
  const watcher = chokidar.watch(
    watched.map((w) => resolve(root, w)),
    { ignoreInitial: true, ignored: (p: string) => /(^|[/\\])\.[^/\\]/.test(relative(root, p)) },
  );

  const perform = async (effect: WatcherEffect): Promise<void> => {
    switch (effect.kind) {
      case 'announce':
        emit({ type: 'watch-started', project: root, ds: dateVariables(interval).ds, watching: watched });
        return;
      case 'build':
        builder.build(effect.changes).then(
          (outcome) => machine.send({ kind: 'built', blocked: outcome === 'blocked' }),
          (error: unknown) => machine.send({ kind: 'crashed', error }),
        );
        return;
      case 'debounce':
        quiet.set(options.debounceMs ?? 150, () => machine.send({ kind: 'quiet' }));
        // A build follows: the warehouse opens meanwhile.
        builder.prepare();
        return;
      case 'cancel-debounce':
        quiet.cancel();
        return;
      case 'report-waiting':
        emit({ type: 'watch-waiting', ...(builder.keepsFile() ? { keeps: true as const } : {}) });
        return;
      case 'close':
        await builder.release();
        await watcher.close();
        ended('error' in effect ? { error: effect.error } : undefined);
        return;
      default:
        throw unknownState(effect satisfies never);
    }
  };
  const machine = new StateMachine(INITIAL_WATCHER_STATE, nextWatcherState, perform, (error) => {
    quiet.cancel();
    void Promise.all([builder.release(), watcher.close()]).then(() => ended({ error }));
  });

  const onSave = (event: FsEvent) => (path: string) => {
    // The cache learns of the file now, so that the next build reads it whatever its state.
    fs.update(path, event);
    // dbt_project.yml says where the folders are: they are listed again.
    if (relative(root, path) === DBT_PROJECT_FILE) fs.forgetFolders();
    machine.send({ kind: 'saved', path, change: event === 'unlinkDir' ? 'unlink' : event });
  };
  watcher.on('add', onSave('add')).on('change', onSave('change')).on('unlink', onSave('unlink')).on('unlinkDir', onSave('unlinkDir'));
  watcher.once('ready', () => machine.send({ kind: 'ready' }));
  const stop = () => machine.send({ kind: 'stop' });
  if (signal.aborted) stop();
  else signal.addEventListener('abort', stop, { once: true });

  try {
    const failure = await end;
    if (failure) throw failure.error;
  } finally {
    signal.removeEventListener('abort', stop);
  }
}
