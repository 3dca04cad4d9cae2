import { stopPostgres } from './postgres.js';

/**
 * vitest's global setup: names the run (its pid) for the test workers, so that they share one
 * Postgres cluster (test/support/postgres.ts), and stops that cluster when the run ends.
 * Nothing starts here: a run without DuckLake tests never pays for Postgres.
 */
export default function setup(): () => void {
  process.env.PIPE_TEST_RUN_PID = String(process.pid);
  return () => stopPostgres(process.pid);
}
