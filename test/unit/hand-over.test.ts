import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { askFor, onRequest, requestFile, withdraw } from '../../src/warehouse/duckdb/hand-over.js';

const dir = mkdtempSync(join(tmpdir(), 'pipe-hand-over-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Resolves when `heard` has been called, or after `ms` with false. */
function heardWithin(heard: { count: number }, ms: number): Promise<boolean> {
  return new Promise((res) => {
    const started = Date.now();
    const look = () => (heard.count > 0 ? res(true) : Date.now() - started > ms ? res(false) : setTimeout(look, 5));
    look();
  });
}

describe('lending a warehouse file', () => {
  it('hears a request made after it listens, once, and takes it away', async () => {
    const db = join(dir, 'a.duckdb');
    const heard = { count: 0 };
    const requests = onRequest(db, () => heard.count++);
    askFor(db);
    expect(await heardWithin(heard, 2000)).toBe(true);
    expect(existsSync(requestFile(db))).toBe(false);
    askFor(db);
    await new Promise((r) => setTimeout(r, 100));
    expect(heard.count).toBe(1);
    requests.close();
    rmSync(requestFile(db), { force: true });
  });

  it('hears a request already there as it starts listening', () => {
    const db = join(dir, 'b.duckdb');
    askFor(db);
    const heard = { count: 0 };
    onRequest(db, () => heard.count++).close();
    expect(heard.count).toBe(1);
    expect(existsSync(requestFile(db))).toBe(false);
  });

  it('takes back a request of its own, not one of another process', () => {
    const db = join(dir, 'd.duckdb');
    askFor(db);
    withdraw(db);
    expect(existsSync(requestFile(db))).toBe(false);
    writeFileSync(requestFile(db), JSON.stringify({ pid: process.pid + 1, at: new Date().toISOString() }));
    withdraw(db);
    expect(existsSync(requestFile(db))).toBe(true);
    withdraw(join(dir, 'none.duckdb'));
  });

  it('hears nothing once closed', async () => {
    const db = join(dir, 'c.duckdb');
    const heard = { count: 0 };
    onRequest(db, () => heard.count++).close();
    askFor(db);
    expect(await heardWithin(heard, 200)).toBe(false);
    expect(existsSync(requestFile(db))).toBe(true);
  });
});
