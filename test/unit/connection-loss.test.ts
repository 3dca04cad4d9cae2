import pg from 'pg';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isConnectionLoss } from '../../src/distributed/postgres.js';

/**
 * What the driver says when Postgres is gone a moment is a lost connection, which workers and
 * coordinators wait out: a server stopped while it was reached by its Unix socket took the
 * socket file with it, and connecting then says the file is not there (ENOENT), not refused.
 */

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function connectError(config: pg.ClientConfig): Promise<unknown> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (e) {
    return e;
  } finally {
    await client.end().catch(() => undefined);
  }
  throw new Error('expected the connection to fail');
}

describe('a lost connection to Postgres', () => {
  it('is a stopped server reached by its Unix socket (its socket file gone), as one reached by TCP that refuses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipe-no-socket-'));
    dirs.push(dir);
    const bySocket = await connectError({ host: dir, port: 5499, user: 'postgres' });
    expect((bySocket as { code?: string }).code).toBe('ENOENT');
    expect(isConnectionLoss(bySocket)).toBe(true);
    // A port nothing listens on.
    const byTcp = await connectError({ host: '127.0.0.1', port: 1, user: 'postgres' });
    expect(isConnectionLoss(byTcp)).toBe(true);
    // What is no outage stays an error of its own.
    expect(isConnectionLoss(Object.assign(new Error('ENOENT: no such file or directory, open x'), { code: 'ENOENT', syscall: 'open' }))).toBe(false);
  });
});
