import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { error, type Diagnostic } from '../diagnostics/diagnostics.js';
import { parseYaml, type YamlSource } from './yaml-file.js';

/**
 * Where a dbt project's `profiles.yml` is, found as dbt finds it: in the folder of
 * `--profiles-dir`, else of `DBT_PROFILES_DIR`, else in the project folder, else in the working
 * directory (where dbt looks, run from outside the project with `--project-dir`), else in
 * `~/.dbt/`. A folder named by the flag or the variable must hold one; the others are looked in.
 */

export const PROFILES_FILE = 'profiles.yml';

export interface ProfilesLookup {
  /** `--profiles-dir`, from the current directory. */
  readonly flag?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The user's home folder, which holds `.dbt/`. */
  readonly home: string;
  /** The working directory. */
  readonly cwd: string;
}

export type ProfilesSearch =
  /** `yaml` is absent when the file cannot be read or parsed (the diagnostics say why). */
  | { readonly kind: 'found'; readonly file: string; readonly yaml?: YamlSource }
  /** Not in the project folder, the working directory nor `~/.dbt/`; `looked` names them. */
  | { readonly kind: 'none'; readonly looked: readonly string[] }
  /** The folder the flag or the variable names holds none: reported in the diagnostics. */
  | { readonly kind: 'refused' };

/** How a diagnostic names the file: from the project when it is inside it, else in full. */
function shownPath(root: string, absPath: string): string {
  const rel = relative(root, absPath);
  return rel.startsWith('..') || isAbsolute(rel) ? absPath : rel.split(sep).join('/');
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function findProfiles(root: string, lookup: ProfilesLookup, diagnostics: Diagnostic[]): ProfilesSearch {
  const named: readonly (readonly [string, string | undefined])[] = [
    ['--profiles-dir', lookup.flag],
    ['DBT_PROFILES_DIR', lookup.env.DBT_PROFILES_DIR || undefined],
  ];
  for (const [what, dir] of named) {
    if (dir === undefined) continue;
    const absPath = resolve(dir, PROFILES_FILE);
    if (isFile(absPath)) return read(root, absPath, diagnostics);
    const why = existsSync(resolve(dir)) ? `has no ${PROFILES_FILE}` : 'does not exist';
    diagnostics.push(error('no-profiles', `${what} ${dir}: the folder ${why}`, undefined, { hint: `${what} names the folder that holds ${PROFILES_FILE}` }));
    return { kind: 'refused' };
  }
  const candidates = [...new Set([join(root, PROFILES_FILE), join(resolve(lookup.cwd), PROFILES_FILE), join(lookup.home, '.dbt', PROFILES_FILE)])];
  const found = candidates.find(isFile);
  return found ? read(root, found, diagnostics) : { kind: 'none', looked: candidates };
}

function read(root: string, absPath: string, diagnostics: Diagnostic[]): ProfilesSearch {
  const file = shownPath(root, absPath);
  let text: string;
  try {
    text = readFileSync(absPath, 'utf8');
  } catch (e) {
    diagnostics.push(error('unreadable-file', `cannot read ${file}: ${(e as Error).message}`, { file }));
    return { kind: 'found', file };
  }
  // dbt's file, read as dbt reads it (see YamlDialect).
  return { kind: 'found', file, yaml: parseYaml(text, file, diagnostics, undefined, 'pyyaml') };
}
