import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { explain, queryRows, removeTempDirs, RunningPipe, tempDir, warehouseOf, writeProjectFiles } from './helpers.js';
import { cliIn } from '../support/cli-in-process.js';

afterAll(removeTempDirs);

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A webhook on 127.0.0.1 that always answers 500, so that pipe gives up and names it. */
async function failingWebhook(): Promise<{ url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      bodies.push(data);
      res.writeHead(500).end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies };
}

describe('secrets never leave pipe', () => {
  it('an env_var() value DuckDB quotes in an error, and a webhook token, appear in no output, state or notification', { timeout: 30_000 }, async () => {
    const secret = `s3cr3t-${process.pid}-value`;
    const token = `tok${process.pid}xyz`;
    const hook = await failingWebhook();
    const project = () => {
      const dir = tempDir();
      writeProjectFiles(dir, {
        'pipe.yaml': 'name: leaky\n',
        'models/leaky.sql': `select cast('{{ env_var("PIPE_TEST_SECRET") }}' as integer) as n\n`,
        'pipelines/nightly.yaml': `select: [leaky]
notify:
  on_failure:
    - command: 'printf %s "$PIPE_REPORT" > report.json'
    - webhook: ${hook.url}?token=${token}
`,
      });
      return dir;
    };
    const json = project();
    const text = project();
    const env = { PIPE_TEST_SECRET: secret };
    const [j, t] = await Promise.all([
      new RunningPipe(['run', 'nightly', '--date', '2024-01-02', '--json', '--project', json], { env }).exited,
      new RunningPipe(['run', 'nightly', '--date', '2024-01-02', '--project', text], { env }).exited,
    ]);
    expect(j.code, explain(j)).toBe(1);
    expect(t.code, explain(t)).toBe(1);
    // The error is the one that quotes the value, shown masked; the webhook was named, without its token.
    const failed = j.events.find((e) => e.type === 'task-failed') as { error: { message: string } };
    expect(failed.error.message).toContain("Could not convert string '****'");
    expect(t.stdout).toContain("Could not convert string '****'");
    expect(j.events).toContainEqual(expect.objectContaining({ type: 'notice', message: expect.stringContaining(`webhook ${hook.url}?… could not be delivered`) }));
    expect(t.stdout).toContain(`webhook ${hook.url}?… could not be delivered`);
    expect(hook.bodies.length).toBeGreaterThan(0);
    for (const dir of [json, text]) {
      const errors = await queryRows(warehouseOf(dir), "SELECT error FROM _pipe.task_results WHERE status = 'failed'");
      expect(errors).toEqual([{ error: expect.stringContaining("Could not convert string '****'") }]);
      const report = readFileSync(join(dir, 'report.json'), 'utf8');
      expect(report).toContain('****');
      expect(report).not.toContain(secret);
    }
    for (const out of [j.stdout, j.stderr, t.stdout, t.stderr, ...hook.bodies]) {
      expect(out).not.toContain(secret);
      expect(out).not.toContain(token);
    }
  });

  it('a secret var is stored as a fingerprint; retry takes its value again, only the same one', { timeout: 30_000 }, async () => {
    const dir = tempDir();
    const key = `key-${process.pid}-abcdef`;
    const input = join(dir, 'input.csv');
    writeProjectFiles(dir, {
      'pipe.yaml': 'secret_vars: [api_key]\nvars:\n  region: eu\n',
      'models/fetched.sql': `select '{{ var("api_key") }}' as k, n from read_csv('${input}')\n`,
    });
    // The command lines are parsed and run by the CLI in this process: what is stored and what
    // retry asks for are at stake here, not a process of pipe's own.
    const first = await cliIn(['run', '--date', '2024-01-02', '--var', `api_key=${key}`, '--json', '--project', dir]);
    expect(first.code, explain(first)).toBe(1);
    const runId = String(first.events.find((e) => e.type === 'run-started')!.runId);
    const [stored] = await queryRows(warehouseOf(dir), `SELECT params::VARCHAR AS params FROM _pipe.runs WHERE run_id = '${runId}'`);
    expect(String(stored.params)).not.toContain(key);
    const params = JSON.parse(String(stored.params)) as { vars: Record<string, unknown>; resolved_vars: Record<string, unknown> };
    const fingerprint = { secret: expect.stringMatching(/^sha256:[0-9a-f]{16}$/) };
    expect(params.vars).toEqual({ api_key: fingerprint });
    expect(params.resolved_vars).toEqual({ region: 'eu', api_key: fingerprint });
    // The hint to re-run says the secret must be given again.
    const finished = first.events.find((e) => e.type === 'run-finished')!;
    expect(finished.retryCommand).toBe(`pipe retry ${runId} --project ${dir} --var api_key=VALUE`);

    writeFileSync(input, 'n\n1\n');
    const without = await cliIn(['retry', runId, '--project', dir]);
    expect(without.code, explain(without)).toBe(2);
    expect(without.stderr).toContain(`run ${runId} used the secret var 'api_key', whose value pipe does not store: give it again with --var api_key=VALUE`);
    const wrong = await cliIn(['retry', runId, '--var', 'api_key=not-the-key', '--var', 'region=us', '--project', dir]);
    expect(wrong.code, explain(wrong)).toBe(2);
    expect(wrong.stderr).toContain('--var api_key is not the value');
    expect(wrong.stderr).toContain('--var region: pipe retry re-runs with the vars of run');

    const retried = await cliIn(['retry', runId, '--var', `api_key=${key}`, '--json', '--project', dir]);
    expect(retried.code, explain(retried)).toBe(0);
    expect(await queryRows(warehouseOf(dir), 'SELECT k, n FROM fetched')).toEqual([{ k: key, n: '1' }]);
    const all = await queryRows(warehouseOf(dir), 'SELECT params::VARCHAR AS params FROM _pipe.runs');
    expect(all).toHaveLength(2);
    for (const r of all) expect(String(r.params)).not.toContain(key);
  });
  it('rows and SQL printed with a masked value say so, which the table and the SQL that runs do not hold masked', async () => {
    const dir = tempDir();
    const region = `north-europe-${process.pid}`;
    writeProjectFiles(dir, {
      'pipe.yaml': 'name: regions\n',
      'models/reads_env.sql': `select '{{ env_var("PIPE_TEST_REGION") }}' as region\n`,
      // No env_var() here: a value equal to one read elsewhere is masked all the same.
      'models/literal.sql': `select '${region}' as region_name, 'other' as plain\n`,
      'models/nothing_secret.sql': 'select 1 as n\n',
    });
    const before = process.env.PIPE_TEST_REGION;
    process.env.PIPE_TEST_REGION = region;
    try {
      expect((await cliIn(['run', '--date', '2024-01-02', '--project', dir])).code).toBe(0);
      const masked = (r: { stderr: string }) => r.stderr.split('\n').filter((l) => l.includes('warning:') && l.includes('****')).map((l) => l.replace(/^.*warning: /, ''));
      for (const args of [['show', 'literal'], ['show', 'literal', '--json']]) {
        const shown = await cliIn([...args, '--project', dir]);
        expect(shown.code, explain(shown)).toBe(0);
        expect(shown.stdout).not.toContain(region);
        expect(shown.stdout).toContain('****');
        // Sized as printed: the masked value takes the mask's width, the next column aligned under its header.
        if (!args.includes('--json')) expect(shown.stdout.split('\n').slice(0, 2)).toEqual(['region_name  plain', '****         other']);
        expect(args.includes('--json') ? (JSON.parse(shown.stderr.trim()) as { diagnostic: { code: string } }).diagnostic.code : masked(shown), args.join(' ')).toEqual(
          args.includes('--json') ? 'masked-values' : ['values shown as **** hold a value a template read with env_var() or a var of secret_vars:, which pipe masks wherever it prints (see Secrets in the README); the table holds the values themselves'],
        );
      }
      const sql = await cliIn(['compile', 'reads_env', '--date', '2024-01-02', '--project', dir]);
      expect(sql.stdout).toBe("select '****' as region\n");
      expect(masked(sql)).toEqual(['the SQL printed shows **** where it holds a value a template read with env_var() or a var of secret_vars:, which pipe masks wherever it prints (see Secrets in the README); the SQL that runs holds the value itself']);
      expect(await queryRows(warehouseOf(dir), 'SELECT region FROM reads_env')).toEqual([{ region }]);
      // Nothing masked: nothing said.
      for (const args of [['show', 'reads_env', '--where', 'false'], ['compile', 'nothing_secret']]) expect((await cliIn([...args, '--project', dir])).stderr, args.join(' ')).toBe('');
    } finally {
      if (before === undefined) delete process.env.PIPE_TEST_REGION;
      else process.env.PIPE_TEST_REGION = before;
    }
  });
});
