import { useEffect, useRef, useState } from 'preact/hooks';
import { docsIndex } from '../static-data.js';
import type { LayoutRequest, LayoutResult } from './layout-protocol.js';
import { layout } from './layout.js';

/**
 * The layout of a neighbourhood, computed by the worker; undefined until it first answers. Only
 * the answer to the latest request is used: a request overtaken by another is dropped. The last
 * layout stays drawn until then: the project's data comes again with every run, and clearing the
 * drawing at each new request made the page flash "Laying out…". A page opened from file://
 * (pipe docs generate) may start no worker: it lays out on its own thread.
 */
export function useLayout(request: Omit<LayoutRequest, 'id'> | undefined): LayoutResult | undefined {
  const worker = useRef<Worker | undefined>(undefined);
  const latest = useRef(0);
  const [result, setResult] = useState<LayoutResult>();
  const inPage = docsIndex() !== undefined;
  useEffect(() => {
    if (inPage) return;
    const w = new Worker('/assets/layout-worker.js');
    w.onmessage = (e: MessageEvent<LayoutResult>) => {
      if (e.data.id === latest.current) setResult(e.data);
    };
    worker.current = w;
    return () => w.terminate();
  }, []);
  useEffect(() => {
    if (!request) return;
    const id = ++latest.current;
    if (inPage) {
      setResult(layout({ ...request, id }));
      return;
    }
    if (!worker.current) return;
    worker.current.postMessage({ ...request, id } satisfies LayoutRequest);
  }, [request]);
  return result;
}
