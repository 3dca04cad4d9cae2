import { warning, type Diagnostic, type Location } from '../../diagnostics/diagnostics.js';
import type { ProjectFiles } from '../../project/load-project.js';
import { pushTo } from '../../util/multi-map.js';

/** What of dbt's semantic layer a project may define (see properties.ts). */
const SEMANTIC_LAYER = ['semantic models', 'metrics', 'saved queries'];

/**
 * The one notice naming everything of a dbt project that pipe reads past: files (docs blocks,
 * analyses), keys of dbt_project.yml, sections of properties files and config
 * keys. Nothing is left out unseen, and it is said once, not once per model.
 */
export function notUsedNotice(
  files: ProjectFiles,
  /** What dbt_project.yml and the properties files hold that pipe does not use. */
  unused: readonly { readonly what: string; readonly location: Location }[],
  settings: UnusedSettings,
): Diagnostic | undefined {
  const where = (l: Location) => (l.line === undefined ? l.file : `${l.file}:${l.line}`);
  // One entry per kind of thing, with every place it stands.
  const places = new Map<string, string[]>();
  const add = (what: string, place: string) => pushTo(places, what, place);
  for (const u of files.unused) add(u.what, u.file);
  for (const u of unused) add(u.what, where(u.location));
  // In the files' order, whichever node read a place first.
  const inOrder = (ls: readonly Location[]) => [...ls].sort((a, b) => (a.file === b.file ? (a.line ?? 0) - (b.line ?? 0) : a.file < b.file ? -1 : 1));
  for (const [key, locations] of settings.byKey) for (const location of inOrder(locations)) add(`config ${key}`, where(location));
  const items = [...places].map(([what, at]) => `${what} (${at.length > 3 ? `${at.slice(0, 3).join(', ')} and ${at.length - 3} more` : at.join(', ')})`);
  if (items.length === 0) return undefined;
  const shown = items.length > 12 ? [...items.slice(0, 12), `and ${items.length - 12} more`] : items;
  // dbt refuses a project whose semantic layer does not hold together: pipe reads none of it, so it finds nothing wrong there either.
  const semantic = SEMANTIC_LAYER.filter((what) => places.has(what));
  return warning('not-used', `pipe does not use: ${shown.join(', ')}`, undefined, {
    hint: semantic.length === 0 ? 'these do not change what pipe builds' : `these do not change what pipe builds; nor does pipe check the ${semantic.join(', ')} (dbt parse does)`,
  });
}

/** The config keys pipe leaves aside, each with every place it is set (a folder's, once, however many nodes take it). */
export class UnusedSettings {
  /** Per key, its places by `file:line` (a key set in every model's config() is noted once per model: no scan of those so far). */
  private readonly places = new Map<string, Map<string, Location>>();

  note(key: string, at: Location): void {
    const known = this.places.get(key) ?? new Map<string, Location>();
    known.set(`${at.file}:${at.line ?? ''}`, known.get(`${at.file}:${at.line ?? ''}`) ?? at);
    this.places.set(key, known);
  }

  /** Each key with every place it is set. */
  get byKey(): ReadonlyMap<string, readonly Location[]> {
    return new Map([...this.places].map(([key, at]) => [key, [...at.values()]]));
  }
}
