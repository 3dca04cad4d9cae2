import type PgModule from 'pg';

/**
 * The Postgres driver and the job queue, loaded when a command first needs them: only a
 * distributed run and `pipe worker` talk to Postgres, and loading both cost every other
 * command's start about 70 ms.
 */

let pgModule: typeof PgModule | undefined;

export async function pgDriver(): Promise<typeof PgModule> {
  pgModule ??= (await import('pg')).default;
  return pgModule;
}

/** The driver if a command loaded it: none of its errors can exist before. */
export function loadedPgDriver(): typeof PgModule | undefined {
  return pgModule;
}

export const jobQueue = () => import('graphile-worker');
