import { existsSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/execute/engine.js';
import { askedBy, requestFile } from '../../src/warehouse/duckdb/hand-over.js';
import { readWarehouse } from '../../src/ui/server/warehouse-access.js';
import { WarehouseLockedError } from '../../src/warehouse/warehouse.js';
import { NO_SETUP } from '../../src/warehouse/warehouse-setup.js';
import { explain, pipe, RunningPipe, warehouseOf } from '../e2e/helpers.js';
import { removeProjects, tempProject } from '../support/projects.js';

/**
 * pipe ui opens the warehouse for each page and closes it, but pages that overlap share one
 * open file, so a busy UI could hold it without a gap. A pipe command waiting to write asks
 * for the file, and no page opens it, nor shares the one open, while the request stands; the
 * reader is named to the command it keeps out. The writer is the real binary: the lock is
 * between processes.
 */

afterAll(removeProjects);

const READER = 'pipe ui, reading it for a page';

function builtProject(): string {
  const dir = tempProject({ 'models/m.sql': 'select 1 as id\n' }, 'pipe-ui-yields-');
  const built = pipe(['run', '--date', '2024-01-02', '--project', dir]);
  expect(built.code, explain(built)).toBe(0);
  return dir;
}

const aPage = (path: string) => readWarehouse(path, NO_SETUP, async () => 'read');

describe('pipe ui and a pipe command that waits to write', () => {
  it('a writer finding a page reading the file names pipe ui, asks for it, and no page opens it until the writer has it', async () => {
    const dir = builtProject();
    const path = warehouseOf(dir);
    const stopYielding = Engine.readsBetweenWriters(path, READER);
    // A page's read in progress.
    const page = await Engine.open(path, { readOnly: true, ask: false });
    let closed = false;
    try {
      const refused = pipe(['run', '--date', '2024-01-03', '--project', dir, '--wait', '0']);
      expect(refused.code, explain(refused)).toBe(2);
      expect(refused.stderr).toContain(`in use by another process (${READER}, PID ${process.pid}`);

      const writer = new RunningPipe(['run', '--date', '2024-01-03', '--project', dir, '--wait', '60s', '--json']);
      await writer.waitFor((e) => e.type === 'notice' && String(e.message).includes('waiting up to'));
      expect(askedBy(path)).toBe(writer.child.pid);
      // The next page neither shares the file open nor opens it: it is told who waits for it.
      const next = await aPage(path);
      expect(next.kind).toBe('held');
      expect(next.kind === 'held' && next.locked.holderPid).toBe(writer.child.pid);
      await expect(Engine.open(path, { readOnly: true })).rejects.toBeInstanceOf(WarehouseLockedError);
      page.close();
      closed = true;
      const done = await writer.exited;
      expect(done.code, explain(done)).toBe(0);
      // The writer took its request back: pages read the file again.
      expect(existsSync(requestFile(path))).toBe(false);
      expect(await aPage(path)).toEqual({ kind: 'read', value: 'read' });
    } finally {
      if (!closed) page.close();
      stopYielding();
    }
  });

  it('a request left by a process that is gone, or by this one, keeps no page out; a process that does not yield is not asked', async () => {
    const dir = builtProject();
    const path = warehouseOf(dir);
    const stopYielding = Engine.readsBetweenWriters(path, READER);
    try {
      // Above any pid the kernel hands out (pid_max is at most 2^22).
      for (const pid of [2 ** 22 + 17, process.pid]) {
        writeFileSync(requestFile(path), JSON.stringify({ pid, at: new Date().toISOString() }));
        expect(askedBy(path)).toBeUndefined();
        expect(await aPage(path)).toEqual({ kind: 'read', value: 'read' });
      }
    } finally {
      stopYielding();
    }
    writeFileSync(requestFile(path), JSON.stringify({ pid: process.ppid, at: new Date().toISOString() }));
    expect(askedBy(path)).toBe(process.ppid);
    expect(await aPage(path)).toEqual({ kind: 'read', value: 'read' });
    if (existsSync('/proc/self/stat')) {
      // Left by a process that ended an hour ago, whose pid a live process got since: no one's.
      writeFileSync(requestFile(path), JSON.stringify({ pid: process.ppid, at: new Date(performance.timeOrigin - 3_600_000).toISOString() }));
      expect(askedBy(path)).toBeUndefined();
    }
  });
});
