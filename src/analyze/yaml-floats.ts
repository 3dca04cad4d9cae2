import type { YamlSource } from '../project/yaml-file.js';
import { isDict, WholeFloat } from './jinja/values.js';

/**
 * A YAML file's value at `path` as a template reads it: its whole floats (`1.0`, `3.0e+2`) as
 * floats, which the file's data holds as numbers (see YamlSource.floats), so that
 * `{{ var('rate') }}` prints `1.0` and `1.0 is float` holds, as in dbt.
 */
export function templateValue(source: YamlSource, path: readonly string[]): unknown {
  let value: unknown = source.data;
  for (const part of path) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  const floats = source.floats;
  if (!floats || floats.size === 0) return value;
  const prefix = path.join('\u0000');
  const below = new Set([...floats].filter((f) => f === prefix || f.startsWith(`${prefix}\u0000`)));
  if (below.size === 0) return value;
  const rebuild = (v: unknown, at: string): unknown => {
    if (typeof v === 'number') return below.has(at) ? new WholeFloat(v) : v;
    if (Array.isArray(v)) return v.map((x, i) => rebuild(x, `${at}\u0000${i}`));
    if (isDict(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rebuild(x, `${at}\u0000${k}`)]));
    return v;
  };
  return rebuild(value, prefix);
}
