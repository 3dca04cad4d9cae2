import { randomBytes } from 'node:crypto';

/** A run's id: its start time to the second (UTC) and four random hex digits, e.g. `20240102T030405-3fa1`. */
export function newRunId(now = Date.now()): string {
  const t = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
  return `${t}-${randomBytes(2).toString('hex')}`;
}
