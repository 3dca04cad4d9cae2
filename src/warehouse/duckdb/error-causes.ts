import type { ErrorClass } from '../warehouse.js';

/**
 * Whether an error may go away when the same work is tried again, decided by its cause, not
 * by DuckDB's broad kind: an "IO Error" is a missing file (permanent) as often as a dropped
 * connection (transient), and an "HTTP Error" is a 404 as often as a 503. The cause is read
 * from the first line of the message, and only for the kinds whose messages name outside
 * resources; a query's own mistakes (parser, binder, conversion, ...) are permanent whatever
 * words they quote. The README's table of causes is this table.
 */

export interface Cause {
  /** What users read in the README and in `pipe history`. */
  readonly cause: string;
  readonly errorClass: ErrorClass;
  readonly pattern: RegExp;
}

/** First match wins: the specific causes before the broad ones. */
export const CAUSES: readonly Cause[] = [
  { cause: 'HTTP 408 (request timeout), 425 or 429 (too many requests)', errorClass: 'transient', pattern: /\bHTTP (408|425|429)\b/ },
  { cause: 'HTTP 5xx (server error)', errorClass: 'transient', pattern: /\bHTTP 5\d\d\b/ },
  { cause: 'authentication or authorization (HTTP 401, 403, bad credentials)', errorClass: 'permanent', pattern: /\bHTTP 40[13]\b|unauthori[sz]ed|forbidden|authenticat|credential|access ?denied|InvalidAccessKeyId|SignatureDoesNotMatch|ExpiredToken/i },
  { cause: 'not found (no such file, no file matching the pattern, HTTP 404 or 410)', errorClass: 'permanent', pattern: /\bHTTP 40[4]\b|\bHTTP 410\b|no such file|no files found|does not exist|not found/i },
  { cause: 'permission denied', errorClass: 'permanent', pattern: /permission denied|operation not permitted|read-only file system/i },
  { cause: 'other HTTP 4xx (a request the server refuses)', errorClass: 'permanent', pattern: /\bHTTP 4\d\d\b/ },
  // httpfs reports some refusals without their status ("HTTP 0"): not knowing, pipe does not retry.
  { cause: 'an HTTP error whose status is not reported', errorClass: 'permanent', pattern: /\bHTTP 0\b/ },
  { cause: 'timeout', errorClass: 'transient', pattern: /time(d)? ?out|timeout was reached/i },
  { cause: 'connection refused, reset or dropped', errorClass: 'transient', pattern: /could not connect|connection (refused|reset|closed|aborted)|server returned nothing|broken pipe|network is unreachable|host.*(unreachable|resolve)/i },
  { cause: 'a lock or write-write conflict with another transaction', errorClass: 'transient', pattern: /write-write conflict|conflict on|could not set lock|transaction conflict/i },
  { cause: 'out of memory or disk space', errorClass: 'transient', pattern: /out of memory|no space left|disk (is )?full/i },
  { cause: 'interrupted', errorClass: 'transient', pattern: /interrupted/i },
];

/** DuckDB kinds whose message names an outside resource (a file, a server, a lock): read for the cause. */
const RESOURCE_KINDS = new Set(['IO', 'HTTP', 'Connection', 'Permission', 'Unknown']);

/** Kinds that are transient whatever they say: the engine itself was stopped or pressed. */
const TRANSIENT_KINDS = new Set(['Interrupt', 'INTERRUPT', 'Out of Memory', 'TransactionContext', 'Transaction']);

/** The cause of an error of DuckDB `kind` with this first line, and whether a retry may cure it. */
export function causeOf(kind: string, headline: string): { cause: string; errorClass: ErrorClass } {
  if (TRANSIENT_KINDS.has(kind)) {
    const named = CAUSES.find((c) => c.errorClass === 'transient' && c.pattern.test(headline));
    return { cause: named?.cause ?? kind.toLowerCase(), errorClass: 'transient' };
  }
  if (RESOURCE_KINDS.has(kind)) {
    const hit = CAUSES.find((c) => c.pattern.test(headline));
    if (hit) return { cause: hit.cause, errorClass: hit.errorClass };
    // Another input/output failure: a device or a file system hiccup, worth one more try.
    if (kind === 'IO' || kind === 'Connection') return { cause: 'input/output', errorClass: 'transient' };
    return { cause: 'unknown', errorClass: 'permanent' };
  }
  return { cause: `${kind.toLowerCase()} error in the query or its data`, errorClass: 'permanent' };
}
