import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
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

/**
 * Follows a server-sent event stream while mounted; calls `onEvent` for each of `events`,
 * at most once per `throttleMs` (a busy run appends many lines a second).
 */
export function useLive(url: string | null, events: readonly string[], onEvent: () => void, throttleMs = 300): void {
  const callback = useRef(onEvent);
  callback.current = onEvent;
  useEffect(() => {
    if (url === null) return;
    const source = new EventSource(url);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const fire = () => {
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        callback.current();
      }, throttleMs);
    };
    for (const e of events) source.addEventListener(e, fire);
    source.addEventListener('end', () => source.close());
    return () => {
      source.close();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [url, events.join(','), throttleMs]);
}

/**
 * Whether runs have started, gone on or ended since the page read what it shows (the run logs
 * changed), for pages that do not read again by themselves; `seen()` once it reads again.
 */
export function useRunsChanged(follow: boolean): [boolean, () => void] {
  const [changed, setChanged] = useState(false);
  useLive(follow ? '/api/live' : null, RUNS_EVENTS, () => setChanged(true));
  return [changed, useCallback(() => setChanged(false), [])];
}

const RUNS_EVENTS = ['runs'];

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
