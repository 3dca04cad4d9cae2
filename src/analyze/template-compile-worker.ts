import { workerData, type MessagePort } from 'node:worker_threads';
import type { SharedJobs } from './template-compile-pool.js';

/**
 * A worker thread of template-compile-pool.ts: compiles batches of templates until none is
 * left, posting each batch's code, then says it has exited (also when it could not start, so
 * that the main thread never waits for it).
 */
const { shared, port } = workerData as { shared: SharedJobs; port: MessagePort };
try {
  const { compileBatches } = await import('./template-compile-pool.js');
  compileBatches(shared, (result) => port.postMessage(result), true);
} finally {
  // The port closes as the thread ends: what was posted is already in the main thread's queue.
  Atomics.add(shared.control, 2, 1);
  Atomics.notify(shared.control, 1);
}
