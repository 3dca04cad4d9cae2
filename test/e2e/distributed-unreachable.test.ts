import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/postgres.js';
import { explain, removeTempDirs, RunningPipe, tempDir, writeProjectFiles } from './helpers.js';

/**
 * A lake's Postgres that nothing answers on: `pipe worker` and each coordinator with
 * --distributed stop before anything runs, exit 2, naming host, port and database and never
 * the password. Needs no Postgres: the port is one nothing listens on.
 */

afterAll(removeTempDirs);

const PASSWORD = 'never-shown-9f3k';


describe('an unreachable catalog Postgres', async () => {
  // A port free a moment ago: nothing listens there.
  const port = await freePort();
  const dir = tempDir();
  writeProjectFiles(dir, {
    'pipe.yaml': `name: shop\nwarehouse:\n  type: ducklake\n  catalog: postgres:dbname=shop host=127.0.0.1 port=${port} user=pipe password=\${env:PIPE_TEST_PASSWORD}\n  data_path: lake/\n`,
    'models/orders.sql': 'select 1 as id\n',
    'pipelines/nightly.yaml': 'schedule: "0 2 * * *"\n',
  });
  const env = { PIPE_TEST_PASSWORD: PASSWORD, PIPE_NOW: '2024-01-05T03:00:00Z' };

  it.concurrent.each([
    ['worker', ['worker']],
    ['run --distributed', ['run', '--distributed']],
    ['schedule --distributed', ['schedule', '--once', '--distributed']],
  ])('pipe %s exits 2 naming host:port/db, without the password', async (_name, args) => {
    const r = await new RunningPipe([...args, '--project', dir], { env }).exited;
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toContain(`cannot connect to the catalog's Postgres at 127.0.0.1:${port}/shop`);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stdout).not.toContain('START');
  });
});
