import { relative, resolve, sep } from 'node:path';
import { resolveInterval } from '../commands/context.js';
import { dateVariables } from '../dates/dates.js';
import { loadProject, PROJECT_FILE, type ProjectFiles } from '../project/load-project.js';
import { NO_PACKAGES, PACKAGE_FILES, type ProjectPackages } from '../project/load-packages.js';
import { DBT_PROJECT_FILE } from '../project/layout.js';
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

/**
 * What watch mode watches, relative to the project: its folders (as its layout says) and its
 * files; in a dbt project, the files that declare its packages, the folder they are installed
 * into (`dbt deps` replaces them there) and each `local:` package's folder elsewhere: a
 * package's macros, models and seeds are the project's as much as its own.
 */
export function watchedPaths(files: ProjectFiles): string[] {
  const { models, seeds, macros, tests, snapshots } = files.layout;
  const own = [...models, ...seeds, ...macros, ...tests, ...snapshots, 'pipelines', PROJECT_FILE, DBT_PROJECT_FILE, 'selectors.yml'];
  return [...new Set([...own, ...(files.dbtProject ? packagePaths(files.packages ?? NO_PACKAGES) : [])])];
}

function packagePaths(packages: ProjectPackages): string[] {
  const within = (dir: string, folder: string) => dir === folder || dir.startsWith(`${folder}/`);
  const elsewhere = packages.installed.map((p) => p.dir).filter((dir) => !within(dir, packages.installPath));
  return [...PACKAGE_FILES, packages.installPath, ...elsewhere];
}

/**
 * Whether the file watcher passes over a path: a hidden one (see hiddenPath), or one that is
 * none of the watched paths, nor inside one, nor a folder above one (the project folder's
 * warehouse, target/, logs/ and the like).
 */
function ignoredPath(root: string, watched: () => Iterable<string>): (path: string) => boolean {
  const hidden = hiddenPath(root, watched);
  return (path) => {
    if (hidden(path)) return true;
    if (path === root) return false;
    for (const w of watched()) if (path === w || path.startsWith(`${w}${sep}`) || w.startsWith(`${path}${sep}`)) return false;
    return true;
  };
}

/**
 * Whether the file watcher passes over a path: one with a part whose name starts with a dot
 * (`.git`, `.pipe`, an editor's swap file) within the project, or within a watched folder
 * outside it (a local package's), whichever holds it.
 */
function hiddenPath(root: string, watched: () => Iterable<string>): (path: string) => boolean {
  return (path) => {
    let base = root;
    for (const w of watched()) if ((path === w || path.startsWith(`${w}${sep}`)) && w.length > base.length) base = w;
    // The folders above a watched one outside the project (`..`) are no part of it.
    const inside = relative(base, path).split(sep).filter((part) => part !== '..');
    return inside.some((part) => part.startsWith('.'));
  };
}

export async function watch(options: WatchOptions): Promise<void> {
  const { emit, signal } = options;
  const fs = new CachedFs();
  const { interval } = resolveInterval(options.date, options.clock);
  const root = resolve(options.project ?? '.');
  const builder = new ChangeBuilder(options, fs, root, interval);
  // Read from disk, not through the builds' cache: a save made before the watcher is ready (or
  // in the moment it becomes so, which it may not report) is read by the first build.
  const watched = watchedPaths(loadProject(root));
  /** What the file watcher was given, as absolute paths: more as the project names more (a package installed, a local: one declared). */
  const watching = new Set(watched.map((w) => resolve(root, w)));

  let ended!: (error?: { error: unknown }) => void;
  const end = new Promise<{ error: unknown } | undefined>((res) => (ended = res));
  /** The quiet period after the last save. */
  const quiet = new Alarm();

  // Watch first, build second: a save made during the first build is not missed. Loaded
  // here: no other command watches files, and loading it cost every command's start.
  const { default: chokidar } = await import('chokidar');
  const watchOptions = { ignoreInitial: true, ignored: ignoredPath(root, () => watching) };
  // One path a watcher: chokidar given several, some of them missing (macros/ before there is
  // one), says it is ready before it watches them all, and a save made then is never told. The
  // project folder, less what is not the project's, and each watched path outside it.
  const within = (w: string) => w === root || w.startsWith(`${root}${sep}`);
  const watcher = chokidar.watch(root, watchOptions);
  /** Watchers of the paths outside the project, and of those named since watching started (see watchMore). */
  const more: (typeof watcher)[] = [...watching].filter((w) => !within(w)).map((w) => chokidar.watch(w, watchOptions));
  const closeWatchers = () => Promise.all([watcher, ...more].map((w) => w.close()));
  const readyOf = (w: typeof watcher) => new Promise((ready) => w.once('ready', ready));
  /**
   * After a build, what the project names now and is not watched yet (a package's folder newly
   * declared, another install path): watched from now on, by a watcher of its own whose first
   * scan is done before watch says it waits, so that no save made after that is missed. Loaded
   * through the same cache as the build, which has just read it. A folder no longer named is
   * still watched: a save there changes no model.
   */
  const watchMore = async (): Promise<void> => {
    const added = watchedPaths(loadProject(root, fs))
      .map((w) => resolve(root, w))
      .filter((w) => !watching.has(w));
    if (added.length === 0) return;
    for (const w of added) watching.add(w);
    const adding = added.map((w) => listen(chokidar.watch(w, watchOptions)));
    more.push(...adding);
    await Promise.all(adding.map(readyOf));
  };

  const perform = async (effect: WatcherEffect): Promise<void> => {
    switch (effect.kind) {
      case 'announce':
        emit({ type: 'watch-started', project: root, ds: dateVariables(interval).ds, watching: watched });
        return;
      case 'build':
        builder
          .build(effect.changes)
          .then((outcome) => watchMore().then(() => outcome))
          .then(
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
        await closeWatchers();
        ended('error' in effect ? { error: effect.error } : undefined);
        return;
      default:
        throw unknownState(effect satisfies never);
    }
  };
  const machine = new StateMachine(INITIAL_WATCHER_STATE, nextWatcherState, perform, (error) => {
    quiet.cancel();
    void Promise.all([builder.release(), closeWatchers()]).then(() => ended({ error }));
  });

  const onSave = (event: FsEvent) => (path: string) => {
    // The cache learns of the file now, so that the next build reads it whatever its state.
    fs.update(path, event);
    // dbt_project.yml says where the folders are: they are listed again.
    if (relative(root, path) === DBT_PROJECT_FILE) fs.forgetFolders();
    machine.send({ kind: 'saved', path, change: event === 'unlinkDir' ? 'unlink' : event });
  };
  const listen = (w: typeof watcher) => w.on('add', onSave('add')).on('change', onSave('change')).on('unlink', onSave('unlink')).on('unlinkDir', onSave('unlinkDir'));
  void Promise.all([watcher, ...more].map((w) => readyOf(listen(w)))).then(() => machine.send({ kind: 'ready' }));
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
