import type { LayoutRequest, LayoutResult } from './layout-protocol.js';
import { layout } from './layout.js';

/**
 * Lays out the drawn neighbourhood off the page's thread: however long a layout takes, the
 * page keeps answering.
 */

interface WorkerScope {
  onmessage: ((e: MessageEvent<LayoutRequest>) => void) | null;
  postMessage(message: LayoutResult): void;
}

const scope = self as unknown as WorkerScope;

scope.onmessage = (e) => scope.postMessage(layout(e.data));
