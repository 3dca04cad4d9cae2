import { useEffect, useRef, useState } from 'preact/hooks';
import type { LayoutRequest, LayoutResult } from './layout-protocol.js';

/**
 * The layout of a neighbourhood, computed by the worker; undefined until it answers. Only the
 * answer to the latest request is used: a request overtaken by another is dropped.
 */
export function useLayout(request: Omit<LayoutRequest, 'id'> | undefined): LayoutResult | undefined {
  const worker = useRef<Worker | undefined>(undefined);
  const latest = useRef(0);
  const [result, setResult] = useState<LayoutResult>();
  useEffect(() => {
    const w = new Worker('/assets/layout-worker.js', { type: 'module' });
    w.onmessage = (e: MessageEvent<LayoutResult>) => {
      if (e.data.id === latest.current) setResult(e.data);
    };
    worker.current = w;
    return () => w.terminate();
  }, []);
  useEffect(() => {
    if (!request || !worker.current) return;
    const id = ++latest.current;
    setResult(undefined);
    worker.current.postMessage({ ...request, id } satisfies LayoutRequest);
  }, [request]);
  return result;
}
