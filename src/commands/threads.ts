import type { Pipeline, ProjectSettings } from '../analyze/project-settings.js';

/** Tasks at once when nothing sets it. */
export const DEFAULT_THREADS = 4;

export interface ThreadSources {
  /** `--threads` (for a retry: the original run's, unless the retry gives its own). */
  readonly flag?: number | null;
  readonly pipeline?: Pipeline;
  readonly settings: ProjectSettings;
  /** A backfill's `--parallel`: dates in flight at once. */
  readonly parallel?: number;
}

/**
 * How many tasks a command runs at once: `--threads`, else the pipeline's `threads:`, else
 * pipe.yaml's, else the dbt profile target's (`settings.threads` holds the one that applies),
 * else 4. A backfill without `--threads` runs at least as many as its dates in
 * flight: each date needs a connection of its own, or `--parallel` would mean nothing.
 */
export function resolveThreads(s: ThreadSources): number {
  if (s.flag != null) return s.flag;
  const configured = s.pipeline?.threads ?? s.settings.threads ?? DEFAULT_THREADS;
  return Math.max(configured, s.parallel ?? 1);
}
