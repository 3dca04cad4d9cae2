import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { StateSource, UiChanges } from '../api.js';
import { getJson } from './api-client.js';

export type Loaded<T> = { readonly state: 'loading' } | { readonly state: 'error'; readonly message: string } | { readonly state: 'ready'; readonly data: T };

/**
 * An endpoint's answer, fetched when `path` changes and again on `reload()`. A reload keeps
 * showing the previous answer until the new one comes, so live pages do not flicker.
 */
export function useData<T>(path: string | null): [Loaded<T>, () => void] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    if (path === null) return;
    const n = ++latest.current;
    getJson<T>(path).then(
      (data) => n === latest.current && setLoaded({ state: 'ready', data }),
      (e: unknown) => n === latest.current && setLoaded({ state: 'error', message: e instanceof Error ? e.message : String(e) }),
    );
  }, [path, tick]);
  useEffect(() => setLoaded({ state: 'loading' }), [path]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return [loaded, reload];
}

/** The process holding the warehouse that a page read the run logs for, when the lock names it. */
export function heldPid(source: StateSource): number | undefined {
  return source.kind === 'run-log' ? source.heldPid : undefined;
}

/** How often a page that follows the runs asks the server whether anything changed. */
export const LIVE_POLL_MS = 1000;

/**
 * Follows the runs while mounted: asks /api/changes (with `query`: `run=ID`, `free=PID`) every
 * LIVE_POLL_MS while the page is in view, and calls `onChange` when the answer differs from
 * the one before; also for the first answer with `catchUp` (what changed between the page's
 * read and its first question). A question answered at once, not a stream held open: a
 * browser keeps at most six connections to a server, and six tabs holding a stream each left
 * none for a seventh.
 */
export function useLive(query: string | null, onChange: () => void, options: { catchUp?: boolean } = {}): void {
  const callback = useRef(onChange);
  callback.current = onChange;
  const catchUp = options.catchUp ?? false;
  useEffect(() => {
    if (query === null) return;
    let last: string | undefined;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ask = async () => {
      timer = undefined;
      if (document.hidden) return; // asked again once the page is in view
      try {
        const answer = JSON.stringify(await getJson<UiChanges>(`/api/changes${query ? `?${query}` : ''}`));
        if (stopped) return;
        if (last === undefined ? catchUp : answer !== last) callback.current();
        last = answer;
      } catch {
        // The server is gone or refused: the page keeps what it shows, and asks again.
      }
      if (!stopped) timer = setTimeout(() => void ask(), LIVE_POLL_MS);
    };
    const onVisible = () => {
      if (!document.hidden && timer === undefined) void ask();
    };
    document.addEventListener('visibilitychange', onVisible);
    void ask();
    return () => {
      stopped = true;
      document.removeEventListener('visibilitychange', onVisible);
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [query, catchUp]);
}

/**
 * Whether runs have started, gone on or ended since the page read what it shows (the run logs
 * changed), for pages that do not read again by themselves; `seen()` once it reads again.
 */
export function useRunsChanged(follow: boolean): [boolean, () => void] {
  const [changed, setChanged] = useState(false);
  useLive(follow ? '' : null, () => setChanged(true));
  return [changed, useCallback(() => setChanged(false), [])];
}

/**
 * The time now, again each second while `active`: a run under way writes nothing to its log
 * while a long task runs, so what the page read of it would otherwise stand still.
 */
export function useNow(active: boolean, everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [active, everyMs]);
  return now;
}
