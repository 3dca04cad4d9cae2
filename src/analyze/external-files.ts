import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { error, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import type { ExternalConfig } from './model-config.js';

/**
 * Where dbt-duckdb's `external` models write their files, and that no two write one: each
 * writes its file under a temporary name of its run beside it and renames it into place (see
 * plan/strategies/external.ts), so two of them writing one file would share the temporary name
 * too. One's rename would fail on a file the other had moved, and the view of the one that
 * said OK could read the other's rows.
 */

/**
 * Where an external model's file goes: its location from the project folder, by default
 * `<external_root>/<name>.<format>` (dbt-duckdb's default; its external_root is `.`).
 */
export function externalPath(root: string, externalRoot: string | undefined, name: string, config: Pick<ExternalConfig, 'location' | 'format'>): string {
  const location = config.location ?? join(externalRoot ?? '.', `${name}.${config.format}`);
  return isAbsolute(location) ? location : resolve(root, location);
}

/** An external model as the check needs it: its name, its config and where that config says where the file goes. */
export interface ExternalWriter {
  readonly name: string;
  readonly config: ExternalConfig;
  readonly at: Location;
}

/** Two external models that would write one file: refused at each's setting, as two models writing one table are. */
export function sameExternalFiles(writers: Iterable<ExternalWriter>, root: string, externalRoot: string | undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Map<string, ExternalWriter>();
  for (const w of writers) {
    const path = externalPath(root, externalRoot, w.name, w.config);
    const file = sameFile(path);
    const other = seen.get(file);
    if (other === undefined) {
      seen.set(file, w);
      continue;
    }
    const shown = relative(root, path).startsWith('..') ? path : relative(root, path);
    out.push(
      error('duplicate-file', `${other.name} and ${w.name} would both write the file ${shown}`, w.at, {
        related: [{ message: `${other.name} writes it, as set here`, location: other.at }],
        hint: 'give one of them another location',
      }),
    );
  }
  return out;
}

/** The file `path` names, its folder's links followed where the folder is there (`lnk/x.csv` and `out/x.csv` when lnk links to out). */
function sameFile(path: string): string {
  try {
    return join(realpathSync(dirname(path)), basename(path));
  } catch {
    return path;
  }
}
