import { useEffect, useState } from 'preact/hooks';

/**
 * The app's pages, read from the URL's hash (`#/runs/ID`), so that the server serves one
 * page and any link can be shared or reloaded.
 */
export type Route =
  /** The runs, newest first: of one status only (`status`), after the run `before` (older pages). */
  | { readonly page: 'runs'; readonly status?: string; readonly before?: string }
  | { readonly page: 'run'; readonly runId: string; readonly task?: string }
  | { readonly page: 'lineage'; readonly focus?: string; readonly q?: string; readonly up: number; readonly down: number }
  | { readonly page: 'model'; readonly name: string }
  /** The coverage heatmap; its filters in the URL so that a view can be shared. */
  | { readonly page: 'coverage'; readonly start?: string; readonly end?: string; readonly q?: string; readonly state?: string };

/** How many hops around a focused node the lineage shows by default. */
export const DEFAULT_HOPS = 2;

const hops = (v: string | null) => {
  const n = Number(v);
  return v !== null && Number.isInteger(n) && n >= 0 && n <= 20 ? n : DEFAULT_HOPS;
};

function decodedOrAsIs(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

export function parseRoute(hash: string): Route {
  const [path, search = ''] = hash.replace(/^#/, '').split('?');
  const q = new URLSearchParams(search);
  // A part that is no well-formed escape (`#/models/50%`, typed or cut short) is read as written: a page saying what is not found, not none.
  const parts = path.split('/').filter(Boolean).map(decodedOrAsIs);
  if (parts[0] === 'runs' && parts[1]) return { page: 'run', runId: parts[1], task: q.get('task') ?? undefined };
  if (parts[0] === 'lineage') return { page: 'lineage', focus: q.get('focus') ?? undefined, q: q.get('q') ?? undefined, up: hops(q.get('up')), down: hops(q.get('down')) };
  if (parts[0] === 'models' && parts[1]) return { page: 'model', name: parts[1] };
  if (parts[0] === 'coverage') return { page: 'coverage', ...Object.fromEntries(['start', 'end', 'q', 'state'].flatMap((k) => (q.get(k) ? [[k, q.get(k)!]] : []))) };
  return { page: 'runs', ...Object.fromEntries(['status', 'before'].flatMap((k) => (q.get(k) ? [[k, q.get(k)!]] : []))) };
}

export function href(route: Route): string {
  switch (route.page) {
    case 'runs': {
      const q = new URLSearchParams();
      for (const k of ['status', 'before'] as const) if (route[k]) q.set(k, route[k]);
      const s = q.toString();
      return `#/runs${s ? `?${s}` : ''}`;
    }
    case 'run':
      return `#/runs/${encodeURIComponent(route.runId)}${route.task ? `?task=${encodeURIComponent(route.task)}` : ''}`;
    case 'lineage': {
      const q = new URLSearchParams();
      if (route.focus) q.set('focus', route.focus);
      if (route.q) q.set('q', route.q);
      if (route.up !== DEFAULT_HOPS) q.set('up', String(route.up));
      if (route.down !== DEFAULT_HOPS) q.set('down', String(route.down));
      const s = q.toString();
      return `#/lineage${s ? `?${s}` : ''}`;
    }
    case 'model':
      return `#/models/${encodeURIComponent(route.name)}`;
    case 'coverage': {
      const q = new URLSearchParams();
      for (const k of ['start', 'end', 'q', 'state'] as const) if (route[k]) q.set(k, route[k]);
      const s = q.toString();
      return `#/coverage${s ? `?${s}` : ''}`;
    }
    default: {
      const never: never = route;
      throw new Error(`internal error: route ${JSON.stringify(never)}`);
    }
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/** Opens a route: a new entry of the browser's history, or with `replace` (what is typed in a search) the current one, so Back leaves the page rather than taking back a letter. */
export function go(route: Route, options: { replace?: boolean } = {}): void {
  if (options.replace) location.replace(href(route));
  else location.hash = href(route);
}
