import { error, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import { didYouMean } from '../diagnostics/suggest.js';

/** Reports every key of `data` outside `allowed`, with the closest allowed key as a hint. */
export function checkKeys(
  data: Readonly<Record<string, unknown>>,
  allowed: readonly string[],
  what: string,
  locate: (key: string) => Location,
  diagnostics: Diagnostic[],
): void {
  for (const key of Object.keys(data)) {
    if (allowed.includes(key)) continue;
    diagnostics.push(
      error('unknown-key', `unknown ${what} key '${key}'`, locate(key), {
        hint: didYouMean(key, allowed) ?? `known keys: ${allowed.join(', ')}`,
      }),
    );
  }
}

export function asStringList(value: unknown): string[] | undefined {
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  return undefined;
}

export function asPositiveInt(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
}
