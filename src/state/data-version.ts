import { hash } from 'node:crypto';
import { UNKNOWN } from './tracking.js';

/**
 * A data version is content-addressed: the same SQL, config and input versions give the
 * same data, so the same version. A task pipe cannot track, or one with an input of unknown
 * version, gets a version of its own run and task, which no other build shares.
 */

export function hashOf(...parts: readonly string[]): string {
  return hash('sha256', parts.join('\u0000')).slice(0, 16);
}

/** Input key -> version, in key order, as text to hash. */
export function inputsText(inputs: Readonly<Record<string, string>>): string {
  return Object.keys(inputs)
    .sort()
    .map((k) => `${k}=${inputs[k]}`)
    .join('\n');
}

export function dataVersion(
  sqlHash: string,
  configHash: string,
  inputs: Readonly<Record<string, string>>,
  unique: { readonly untracked?: string; readonly runId: string; readonly taskId: string },
): string {
  if (unique.untracked !== undefined || Object.values(inputs).includes(UNKNOWN)) return hashOf('unique', unique.runId, unique.taskId);
  return hashOf(sqlHash, configHash, inputsText(inputs));
}
