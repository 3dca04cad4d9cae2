import { existsSync } from 'node:fs';
import { Engine } from '../../execute/engine.js';
import { stateExists } from '../../warehouse/run-state.js';
import { WarehouseLockedError, WarehouseOpenError, type WarehouseSession } from '../../warehouse/warehouse.js';
import type { WarehouseSetup } from '../../warehouse/warehouse-setup.js';

/**
 * How `pipe ui` reads the warehouse: opened read-only for one request and closed at its end,
 * never held between requests, so that a `pipe run` started while the UI is up finds the file
 * free (DuckDB lets one process write a file, and none while another reads it). Requests that
 * overlap share one read-only engine of this process (Engine.open), closed by the last. A
 * pipe command that finds the file read asks for it, and no page opens it then (see
 * startUiServer), so pages that keep coming cannot keep a run out.
 */

/** What pipe ui's reads of the warehouse are named to other processes (see Engine.readsBetweenWriters). */
export const UI_READER = 'pipe ui, reading it for a page';

export type WarehouseRead<T> =
  | { readonly kind: 'read'; readonly value: T }
  /** Another process holds the file: a run writing to it, or a SQL client. */
  | { readonly kind: 'held'; readonly locked: WarehouseLockedError }
  /** No file yet, or no run state in it: nothing has run. */
  | { readonly kind: 'empty'; readonly why: string };

export async function readWarehouse<T>(
  path: string,
  setup: WarehouseSetup,
  /** `sharedWriters`: other processes may be writing it now (a lake with a Postgres catalog), so a run marked running may be. */
  read: (session: WarehouseSession, sharedWriters: boolean) => Promise<T>,
  /** What a page shows beside the project (the graph, a model) is shown without the warehouse's part when it cannot be opened: why is told instead. */
  options: { readonly besideProject?: boolean } = {},
): Promise<WarehouseRead<T>> {
  if (!existsSync(path)) return { kind: 'empty', why: `the warehouse ${path} does not exist yet` };
  let warehouse;
  try {
    // Held, the run logs are read instead: asking a lender (pipe watch --keep-open) for the file at every page would cost its next save the open.
    warehouse = await Engine.open(path, { readOnly: true, setup, ask: false });
  } catch (e) {
    if (e instanceof WarehouseLockedError) return { kind: 'held', locked: e };
    if (options.besideProject && e instanceof WarehouseOpenError) return { kind: 'empty', why: `${e.message}${e.hint ? ` (${e.hint})` : ''}; no run state is shown` };
    throw e;
  }
  try {
    const session = await warehouse.session();
    try {
      if (!(await stateExists(session))) return { kind: 'empty', why: `nothing has run on ${path} yet` };
      return { kind: 'read', value: await read(session, warehouse.sharedWriters) };
    } finally {
      session.close();
    }
  } finally {
    warehouse.close();
  }
}

/** Who holds the warehouse, in words. */
export function heldBy(locked: WarehouseLockedError): string {
  const what = locked.holder?.what ?? locked.program;
  return [locked.holderPid === undefined ? undefined : `pid ${locked.holderPid}`, what].filter(Boolean).join(', ') || 'another process';
}

/** Whether a pid is the holder's, for folding run logs: the holder's run is live. */
export function aliveAs(locked: WarehouseLockedError | undefined, processAlive: (pid: number, since?: number) => boolean): (pid: number, since?: number) => boolean {
  return (pid, since) => (locked?.holderPid !== undefined ? pid === locked.holderPid : processAlive(pid, since));
}
