import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { templateCacheDir } from '../../src/analyze/template-code-cache.js';
import { runLogDir } from '../../src/run-log/run-log-files.js';
import { queryReadsCacheDir } from '../../src/state/query-reads-cache.js';
import { holderFile, readerFile } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { askFor, onRequest, requestFile, withdraw } from '../../src/warehouse/duckdb/hand-over.js';
import { removeTempDirs, tempDir } from '../e2e/helpers.js';

afterAll(removeTempDirs);

/**
 * A warehouse reached through a symbolic link (`--db link.duckdb`, or a project folder that is
 * one) is the same file: the notes that say who holds it, the request that asks a watch to
 * let go of it, and its run logs are found by every name, or a command through the link would
 * wait for a watch it cannot ask, and a run killed there would leave its log where the next
 * command does not look.
 */
describe('the side files of a warehouse reached through a link', () => {
  it('are those of the file itself, whether the link names the file or a folder above it, before and after the file exists', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'proj'));
    const real = join(dir, 'proj', 'warehouse.duckdb');
    symlinkSync(join(dir, 'proj'), join(dir, 'linked-folder'));
    const viaFolder = join(dir, 'linked-folder', 'warehouse.duckdb');
    // Not created yet: the folder's link is followed.
    expect(holderFile(viaFolder)).toBe(holderFile(real));
    writeFileSync(real, '');
    symlinkSync(real, join(dir, 'link.duckdb'));
    const viaFile = join(dir, 'link.duckdb');
    for (const via of [viaFolder, viaFile]) {
      expect([holderFile(via), readerFile(via, 7), requestFile(via)]).toEqual([holderFile(real), readerFile(real, 7), requestFile(real)]);
      expect([runLogDir(via), templateCacheDir(via), queryReadsCacheDir(via)]).toEqual([runLogDir(real), templateCacheDir(real), queryReadsCacheDir(real)]);
    }
    expect(runLogDir(viaFile)).toBe(join(dir, 'proj', '.pipe', 'warehouse.duckdb', 'runs'));
  });

  it('a request made through the link reaches the process that lends the file by its own name', async () => {
    const dir = tempDir();
    const real = join(dir, 'warehouse.duckdb');
    writeFileSync(real, '');
    symlinkSync(real, join(dir, 'link.duckdb'));
    let asked = false;
    const requests = onRequest(real, () => (asked = true));
    try {
      askFor(join(dir, 'link.duckdb'));
      await expect.poll(() => asked).toBe(true);
    } finally {
      requests.close();
      withdraw(join(dir, 'link.duckdb'));
    }
  });
});
