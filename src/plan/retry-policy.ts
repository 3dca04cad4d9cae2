/** Automatic retries: for transient errors only, few, with capped exponential backoff and jitter. */
export interface RetryPolicy {
  /** Retries after the first attempt; 0 means one attempt. */
  readonly retries: number;
  /** Delay before the first retry; later ones double, with jitter. */
  readonly delayMs: number;
  /** Upper bound of any one delay. */
  readonly maxDelayMs: number;
}

export const NO_RETRIES: RetryPolicy = { retries: 0, delayMs: 0, maxDelayMs: 0 };

export const DEFAULT_MAX_DELAY_MS = 10 * 60_000;
