import { basename, extname, join } from 'node:path';
import { error, type Diagnostic } from '../diagnostics/diagnostics.js';
import { fqnOf, type ProjectLayout } from '../project/layout.js';
import type { ModelSource, ProjectFiles } from '../project/load-project.js';
import { nameProblem, nameRule, printableName } from '../project/names.js';
import type { Properties } from './dbt/properties.js';

/**
 * A project's snapshots, as templates to render like models: each `{% snapshot %}` block of the
 * snapshot folders, and each `snapshots:` entry of a properties file that declares one with
 * `relation:` (dbt 1.9), whose query is `select * from` that relation.
 */
export interface DeclaredSnapshot {
  readonly source: ModelSource;
  /** dbt's qualified name: a block's has its file's name before its own, as dbt gives it. */
  readonly fqn: readonly string[];
}

export function declaredSnapshots(files: ProjectFiles, properties: Properties, projectName: string, diagnostics: Diagnostic[]): DeclaredSnapshot[] {
  // A package's snapshot is named from the package, under its own snapshot folders.
  const out: DeclaredSnapshot[] = files.snapshots.map((s) => ({
    source: s,
    fqn: [
      ...(s.package
        ? fqnOf(s.package.name, s.file.slice(s.package.dir.length + 1), s.package.layout.snapshots, basename(s.file, extname(s.file)))
        : fqnOf(projectName, s.file, files.layout.snapshots, basename(s.file, extname(s.file)))),
      s.name,
    ],
  }));
  const taken = new Map<string, string>();
  for (const n of [...files.models, ...files.seeds, ...files.snapshots]) taken.set(n.name.toLowerCase(), n.file);
  // A name left out is reported already; an entry of that name is not a duplicate as well.
  for (const name of files.leftOut ?? []) if (!taken.has(name.toLowerCase())) taken.set(name.toLowerCase(), '');
  for (const entry of properties.snapshots.values()) {
    if (!entry.relation) continue;
    const { file, line } = entry.location;
    const problem = nameProblem(entry.name, files.dbtProject !== undefined);
    if (problem !== undefined) {
      diagnostics.push(
        error('bad-name', `'${printableName(entry.name)}' cannot be a snapshot name: ${problem}`, entry.location, {
          hint: `a snapshot's name is its table name and its name in --select: it may hold ${nameRule(files.dbtProject !== undefined)}`,
        }),
      );
      continue;
    }
    const other = taken.get(entry.name.toLowerCase());
    if (other !== undefined) {
      if (other === '') continue;
      diagnostics.push(
        error('duplicate-model', `'${entry.name}' is defined twice: ${other} and ${file}`, entry.location, {
          related: [{ message: 'first defined here', location: { file: other } }],
          hint: other.endsWith('.sql') && files.snapshots.some((s) => s.file === other)
            ? "a snapshots: entry with relation: declares a snapshot; to configure a {% snapshot %} block, leave relation: out"
            : 'snapshots, models and seeds share one namespace; rename one',
        }),
      );
      continue;
    }
    taken.set(entry.name.toLowerCase(), file);
    // The query stands at the line of relation:, so that what is wrong with it points there.
    const at = entry.relation.location.line ?? line ?? 1;
    const sql = `${'\n'.repeat(at - 1)}select * from {{ ${entry.relation.call} }}`;
    out.push({
      source: { name: entry.name, file, absPath: join(files.root, file), sql, ...(line === undefined ? {} : { line }) },
      fqn: fqnOf(projectName, file, allFolders(files.layout), entry.name),
    });
  }
  return out;
}

function allFolders(layout: ProjectLayout): string[] {
  return [...layout.models, ...layout.seeds, ...layout.snapshots, ...layout.macros, ...layout.tests, ...layout.analyses];
}
