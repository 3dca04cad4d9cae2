import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { causeOf, CAUSES } from '../../src/warehouse/duckdb/error-causes.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { WarehouseError, type WarehouseSession } from '../../src/warehouse/warehouse.js';
import { extensionAvailable } from '../support/extensions.js';

/**
 * Each row of the table of causes, met for real where this machine can produce it: missing
 * files, and HTTP answers from a server on the loopback address read through httpfs.
 */

let warehouse: DuckDBWarehouse;
let s: WarehouseSession;
let server: http.Server;
let base = '';
const httpfs = await extensionAvailable('httpfs');

beforeAll(async () => {
  warehouse = await DuckDBWarehouse.open(':memory:');
  s = await warehouse.session();
  // Each path's first segment is the answer: a status code, `reset` (the connection is cut)
  // or `hang` (no answer: the client times out).
  server = http.createServer((req, res) => {
    const what = req.url!.split('/')[1];
    if (what === 'reset') return req.socket.destroy();
    if (what === 'hang') return;
    const body = 'a\n1\n';
    res.writeHead(Number(what), { 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  if (httpfs) await s.exec('SET http_timeout = 1; SET http_retries = 0');
});
afterAll(() => {
  server?.close();
  s?.close();
  warehouse?.close();
});

async function errorOf(sql: string): Promise<WarehouseError> {
  const e = await s.query(sql).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(WarehouseError);
  return e as WarehouseError;
}

describe('errors by cause', () => {
  it('a missing local file is permanent, whatever its kind says', async () => {
    const e = await errorOf("select * from read_csv('/no/such/landing.csv')");
    expect(e.kind).toBe('IO');
    expect(e.errorClass).toBe('permanent');
  });

  it.runIf(httpfs).each([
    ['404', 'permanent'],
    ['410', 'permanent'],
    ['401', 'permanent'],
    ['403', 'permanent'],
    ['400', 'permanent'],
    ['408', 'transient'],
    ['429', 'transient'],
    ['500', 'transient'],
    ['503', 'transient'],
    ['reset', 'transient'],
    ['hang', 'transient'],
  ])('HTTP answer %s is %s', async (answer, expected) => {
    const e = await errorOf(`select * from read_csv('${base}/${answer}/data.csv')`);
    expect(e.errorClass, e.message).toBe(expected);
  });

  it('every row of the table is reached by a message of its cause, and a query mistake is permanent whatever it quotes', () => {
    const samples: [string, string, string][] = [
      ['HTTP', "HTTP Error: Request returned HTTP 429 for HTTP HEAD to 'https://x/y'", 'transient'],
      ['HTTP', "HTTP Error: Request returned HTTP 503 for HTTP HEAD to 'https://x/y'", 'transient'],
      ['HTTP', "HTTP Error: HTTP GET error on 'https://x/y' (HTTP 403 Forbidden)", 'permanent'],
      ['IO', 'IO Error: No files found that match the pattern "/x/*.csv"', 'permanent'],
      ['IO', 'IO Error: Cannot open file "/x/y.csv": Permission denied', 'permanent'],
      ['HTTP', "HTTP Error: HTTP GET error on 'https://x/y' (HTTP 405 Method Not Allowed)", 'permanent'],
      ['HTTP', "HTTP Error: HTTP GET error on 'https://x/y' (HTTP 0 Internal Server Error)", 'permanent'],
      ['IO', "IO Error: Timeout was reached error for HTTP HEAD to 'https://x/y'", 'transient'],
      ['IO', "IO Error: Could not connect to server error for HTTP HEAD to 'https://x/y'", 'transient'],
      ['TransactionContext', 'TransactionContext Error: Catalog write-write conflict on alter with "t"', 'transient'],
      ['IO', 'IO Error: Could not write file "/x/y": No space left on device', 'transient'],
      ['Unknown', 'something was interrupted', 'transient'],
    ];
    const reached = new Set<string>();
    for (const [kind, message, expected] of samples) {
      const { cause, errorClass } = causeOf(kind, message);
      expect(errorClass, message).toBe(expected);
      reached.add(cause);
    }
    expect([...reached].sort()).toEqual(CAUSES.map((c) => c.cause).sort());
    expect(causeOf('Binder', 'Binder Error: Referenced column "timeout" not found').errorClass).toBe('permanent');
    expect(causeOf('IO', 'IO Error: Could not read from file "x": Input/output error').errorClass).toBe('transient');
  });
});
