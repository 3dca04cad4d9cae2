import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Engine, type EngineHandle } from '../execute/engine.js';
import { duckdbClient } from '../warehouse/duckdb/duckdb-client.js';
import { DBT_PROJECT_FILE } from '../project/layout.js';
import { PROJECT_FILE } from '../project/load-project.js';
import { diskFs, type ProjectFs } from '../project/project-fs.js';
import type { ProjectOptions } from './context.js';
import { openProject, warehouseAhead, type Project } from './open-project.js';

/**
 * The project of `options`, loaded while its warehouse file opens. DuckDB reads the catalog of
 * a file as it opens it, on a thread of its own (about 0.3-0.6 s at 10,000 tables), and loading
 * a project of that size keeps the main thread busy about as long: done one after the other,
 * they add up. The command's own open then finds this engine (there is one per file in a
 * process) and shares it, and `release` lets go of this handle once that open is done: nothing
 * is read or written through it, and a file no other handle holds is closed at release.
 *
 * Opened ahead only where the command's own open would open the same file the same way: a DuckDB
 * file that exists (a new one is made by the command, and only once nothing refuses the run),
 * for writing, that no other process holds (the command's own open waits and asks for it as
 * before). A lake is not opened ahead. When the loaded project opens another file or with other
 * settings, or cannot be loaded, the handle is closed before anything else opens the file.
 */
export async function openProjectAhead(options: ProjectOptions): Promise<{ readonly project: Project; readonly release: () => void }> {
  const root = resolve(options.project ?? '.');
  // The settings files are read once: the project loads the texts the warehouse was found from.
  const fs = readingOnce([join(root, PROJECT_FILE), join(root, DBT_PROJECT_FILE)]);
  const where = warehouseAhead(options, fs);
  let ahead: Promise<EngineHandle | undefined> | undefined;
  if (where && existsSync(where.path)) {
    // DuckDB's client first (the command loads it anyway), then one turn of the event loop: the
    // open reaches DuckDB, which goes on on its own thread, before the project loads on this one.
    await duckdbClient();
    // Not held, damaged or anything else: the command's own open meets it and says so.
    ahead = Engine.open(where.path, { setup: where.setup, ask: false }).catch(() => undefined);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  let project: Project;
  try {
    project = openProject(options, fs);
  } catch (e) {
    (await ahead)?.close();
    throw e;
  }
  if (ahead && (project.warehousePath !== where?.path || JSON.stringify(project.warehouseSetup) !== JSON.stringify(where.setup))) {
    (await ahead)?.close();
    return { project, release: () => undefined };
  }
  return { project, release: () => void ahead?.then((handle) => handle?.close()) };
}

/** The disk, with the texts of `paths` kept once read. */
function readingOnce(paths: readonly string[]): ProjectFs {
  const texts = new Map<string, string>();
  return {
    ...diskFs,
    read: (absPath) => {
      if (!paths.includes(absPath)) return diskFs.read(absPath);
      let text = texts.get(absPath);
      if (text === undefined) {
        text = diskFs.read(absPath);
        texts.set(absPath, text);
      }
      return text;
    },
  };
}
