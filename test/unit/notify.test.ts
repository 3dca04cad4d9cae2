import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { NotifyTarget } from '../../src/analyze/project-settings.js';
import { secrets } from '../../src/secrets/secrets.js';
import { deliver, type RunReport } from '../../src/notify/notify.js';
import { exited, holdLatch } from '../processes.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'pipe-notify-'));
  dirs.push(d);
  return d;
}

const report = (error = 'Conversion Error'): RunReport => ({
  event: 'on_failure',
  pipeline: 'nightly',
  run_id: '20240105T010000-ab12',
  command: 'run',
  status: 'failed',
  ds: '2024-01-04',
  warehouse: '/srv/warehouse.duckdb',
  counts: { succeeded: 1, up_to_date: 0, superseded: 0, failed: 1, skipped: 0, cancelled: 0, pending: 0 },
  failed_tasks: [{ task: 'm@2024-01-04', model: 'm', ds: '2024-01-04', error }],
});

/** Delivers to one target, once, and returns what was given up on. */
async function deliverOnce(target: NotifyTarget, cwd: string, r = report()): Promise<{ target: string; error: string }[]> {
  const gaveUp: { target: string; error: string }[] = [];
  await deliver([target], r, { attempts: 1, cwd, onGiveUp: (t, error) => gaveUp.push({ target: t, error }) });
  return gaveUp;
}

/** A shell snippet: a background process that holds the command's stderr and the latch, writes its PID and sleeps. */
const grandchild = (latch: string) => `sh -c 'echo $$ > grandchild.pid; exec sleep 300' 3> '${latch}' &`;

describe('notify commands', () => {
  it('at its timeout, a command and the process it forked are killed and delivery gives up at once', { timeout: 15_000 }, async () => {
    const dir = tempDir();
    const latch = holdLatch(dir);
    const gaveUp = await deliverOnce({ command: `${grandchild(latch.path)} wait`, timeout_ms: 300 }, dir);
    expect(gaveUp).toEqual([{ target: expect.stringContaining('command sh -c'), error: 'timed out after 300 ms' }]);
    await latch.released;
    await exited(Number(readFileSync(join(dir, 'grandchild.pid'), 'utf8')));
  });

  it('a command that exits leaving a process on its stderr is delivered, and that process is killed', { timeout: 15_000 }, async () => {
    const dir = tempDir();
    const latch = holdLatch(dir);
    const gaveUp = await deliverOnce({ command: `${grandchild(latch.path)} until [ -s grandchild.pid ]; do :; done` }, dir);
    expect(gaveUp).toEqual([]);
    await latch.released;
    await exited(Number(readFileSync(join(dir, 'grandchild.pid'), 'utf8')));
  });

  it("a failing command's first stderr line is the reason given up on", async () => {
    const dir = tempDir();
    expect(await deliverOnce({ command: 'echo "no route to chat" >&2; exit 3' }, dir)).toEqual([
      { target: 'command echo "no route to chat" >&2; exit 3', error: 'exited with 3: no route to chat' },
    ]);
  });

  it('the report a command receives has secrets masked', async () => {
    const dir = tempDir();
    const secret = `s3cret-${process.pid}-cmd`;
    secrets.record(secret);
    const gaveUp = await deliverOnce({ command: 'printf %s "$PIPE_REPORT" > report.json; printf %s "$PIPE_FAILED_TASKS" > failed.json' }, dir, report(`could not convert '${secret}'`));
    expect(gaveUp).toEqual([]);
    const body = readFileSync(join(dir, 'report.json'), 'utf8');
    expect(body).not.toContain(secret);
    expect((JSON.parse(body) as RunReport).failed_tasks[0].error).toBe("could not convert '****'");
    expect(readFileSync(join(dir, 'failed.json'), 'utf8')).not.toContain(secret);
  });

  it("a backfill's many failures are delivered: the variables hold the first that fit, the report file all of them", async () => {
    const dir = tempDir();
    const failed = Array.from({ length: 400 }, (_, i) => ({ task: `m@d${i}`, model: 'm', ds: `d${i}`, error: `Binder Error ${i}: ${'x'.repeat(2000)}` }));
    const many: RunReport = { ...report(), command: 'backfill', failed_tasks: failed };
    const gaveUp = await deliverOnce({ command: 'printf %s "$PIPE_REPORT" > report.json; printf %s "$PIPE_FAILED_TASKS" > failed.json; cp "$PIPE_REPORT_FILE" whole.json' }, dir, many);
    expect(gaveUp).toEqual([]);
    const inVariable = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as RunReport & { failed_tasks_left_out: number };
    expect(inVariable.failed_tasks.length).toBeGreaterThan(10);
    expect(inVariable.failed_tasks.length + inVariable.failed_tasks_left_out).toBe(400);
    expect((JSON.parse(readFileSync(join(dir, 'failed.json'), 'utf8')) as unknown[]).length).toBeGreaterThanOrEqual(inVariable.failed_tasks.length);
    expect((JSON.parse(readFileSync(join(dir, 'whole.json'), 'utf8')) as RunReport).failed_tasks).toHaveLength(400);
  });
});

describe('notify webhooks', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  async function receiver(status: number): Promise<{ url: string; bodies: string[]; authorizations: (string | undefined)[] }> {
    const bodies: string[] = [];
    const authorizations: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => {
        bodies.push(data);
        authorizations.push(req.headers.authorization);
        res.writeHead(status).end();
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies, authorizations };
  }

  it('the body is sent with secrets masked', async () => {
    const hook = await receiver(204);
    const secret = `s3cret-${process.pid}-hook`;
    secrets.record(secret);
    expect(await deliverOnce({ webhook: hook.url }, tempDir(), report(`bad value ${secret}`))).toEqual([]);
    expect(hook.bodies).toHaveLength(1);
    expect(hook.bodies[0]).not.toContain(secret);
    expect(hook.bodies[0]).toContain('bad value ****');
  });

  it('a webhook given up on is named without its credentials, query string or fragment', async () => {
    const hook = await receiver(500);
    const url = hook.url.replace('http://', 'http://robot:hunter2@') + '?token=tok-123456#frag';
    const gaveUp = await deliverOnce({ webhook: url }, tempDir());
    expect(gaveUp).toEqual([{ target: `webhook ${hook.url}?…`, error: 'HTTP 500' }]);
    expect(hook.authorizations).toEqual([`Basic ${Buffer.from('robot:hunter2').toString('base64')}`]);
  });

  it('an unreachable webhook is named without its token in the reason either', async () => {
    const hook = await receiver(204);
    servers.pop()!.close();
    const gaveUp = await deliverOnce({ webhook: `${hook.url}?token=tok-123456`, timeout_ms: 2000 }, tempDir());
    expect(gaveUp).toHaveLength(1);
    expect(JSON.stringify(gaveUp)).not.toContain('tok-123456');
    // Said in words, not as Node's 'fetch failed'.
    expect(gaveUp[0].error).toBe('the connection was refused (nothing listens there) (ECONNREFUSED)');
  });

  it('a webhook that does not answer in time is given up on as a command is, in words', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', res));
    try {
      const gaveUp = await deliverOnce({ webhook: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, timeout_ms: 200 }, tempDir());
      expect(gaveUp.map((g) => g.error)).toEqual(['timed out after 200 ms']);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});
