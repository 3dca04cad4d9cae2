import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../src/diagnostics/diagnostics.js';
import { readPipeline, readProjectSettings } from '../../src/analyze/project-settings.js';
import { TemplateEngine } from '../../src/analyze/template-engine.js';
import { DiagnosticError } from '../../src/diagnostics/diagnostics.js';
import { paramsToStore, retryPackageVars, retryVars } from '../../src/commands/secret-vars.js';
import type { PipeEvent } from '../../src/events/events.js';
import { fingerprint, MIN_SECRET_LENGTH, redactUrl, SecretRegistry, secrets } from '../../src/secrets/secrets.js';
import { JsonLogger } from '../../src/logging/json-logger.js';
import { plainStyle } from '../../src/logging/style.js';
import { TextLogger } from '../../src/logging/text-logger.js';
import { loadProject } from '../../src/project/load-project.js';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'pipe-secrets-'));
  roots.push(root);
  for (const [path, text] of Object.entries({ 'models/m.sql': 'select 1 as n', ...files })) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('redactUrl', () => {
  it.each([
    ['https://user:pw@hooks.example.com/p?token=x', 'https://hooks.example.com/p?…'],
    ['https://hooks.example.com/services/a?token=x#frag', 'https://hooks.example.com/services/a?…'],
    ['https://hooks.example.com/p#token', 'https://hooks.example.com/p#…'],
    ['http://127.0.0.1:8080/hook', 'http://127.0.0.1:8080/hook'],
    ['https://user@exa mple.com/p?t=1', 'https://exa mple.com/p?…'],
  ])('%s is shown as %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });
});

describe('SecretRegistry', () => {
  it('masks every recorded value of at least the minimum length, and nothing shorter', () => {
    const r = new SecretRegistry();
    r.record('prod');
    r.record('x'.repeat(MIN_SECRET_LENGTH - 1));
    r.record('hunter22');
    expect(r.mask('prod: hunter22 and hunter22!')).toBe('prod: **** and ****!');
    expect(r.mask('xxxxx')).toBe('xxxxx');
  });

  it('masks a secret containing another one whole, and its forms escaped in JSON and in SQL', () => {
    const r = new SecretRegistry();
    r.record('abcdef');
    r.record(`abcdef"gh'ij`);
    expect(r.mask(`a abcdef"gh'ij b abcdef`)).toBe('a **** b ****');
    expect(r.mask(JSON.stringify({ e: `quote abcdef"gh'ij` }))).toBe('{"e":"quote ****"}');
    expect(r.mask(`select 'abcdef"gh''ij'`)).toBe("select '****'");
  });

  it("masks a secret's start where a text was cut short after it, as DuckDB cuts a long line of SQL in its error", () => {
    const r = new SecretRegistry();
    r.record('sk_live_SUPERSECRET_9f8e7d6c5b4a');
    expect(r.mask("LINE 1: select 'x'::INT as v, 'aaaaaaaaaaaaaaaaaaaa' as pad, 'sk_live_SUPERSE...")).toBe("LINE 1: select 'x'::INT as v, 'aaaaaaaaaaaaaaaaaaaa' as pad, '****...");
    expect(r.mask('cut at sk_…')).toBe('cut at ****…');
    // Not cut: a word that merely starts like the secret stays.
    expect(r.mask('sk_live is the prefix of every live key')).toBe('sk_live is the prefix of every live key');
    expect(r.mask('sk_live_SUPERSECRET_9f8e7d6c5b4a...')).toBe('****...');
  });

  it('records the leaves of lists and mappings, numbers as their digits', () => {
    const r = new SecretRegistry();
    r.record({ user: 'service-account', keys: ['key-one-1', 987654] });
    expect(r.mask('service-account key-one-1 987654')).toBe('**** **** ****');
  });

  it('maskDeep masks strings and secret numbers, keeps keys and other numbers', () => {
    const r = new SecretRegistry();
    const untouched = { a: 'hunter22' };
    expect(r.maskDeep(untouched)).toBe(untouched);
    r.record('hunter22');
    r.record(483920);
    const value = { hunter22: 'x hunter22', rows: 483920, ms: 1704483920123, when: new Date(0), list: ['hunter22', null, true] };
    expect(r.maskDeep(value)).toEqual({ hunter22: 'x ****', rows: '****', ms: 1704483920123, when: new Date(0), list: ['****', null, true] });
  });
});

describe('env_var()', () => {
  it('records the value it reads from the environment, not its default', () => {
    const name = `PIPE_UNIT_SECRET_${process.pid}`;
    const value = `from-env-${process.pid}`;
    process.env[name] = value;
    try {
      const engine = new TemplateEngine([], ['ds']);
      const compiled = engine.compile('models/m.sql', `select '{{ env_var("${name}") }}', '{{ env_var("PIPE_UNIT_UNSET_${process.pid}", "a-default-value") }}'`);
      if ('severity' in compiled) throw new Error(compiled.message);
      const hooks = { variables: {}, ref: (n: string) => n, config: () => undefined, var: () => undefined, isIncremental: () => false };
      expect(engine.render(compiled, hooks)).toBe(`select '${value}', 'a-default-value'`);
      expect(secrets.mask(`${value} a-default-value`)).toBe('**** a-default-value');
    } finally {
      delete process.env[name];
    }
  });
});

describe('loggers', () => {
  const secret = `logged-secret-${process.pid}`;
  secrets.record(secret);
  const failed: PipeEvent = {
    type: 'task-failed',
    runId: 'r1',
    task: { id: 'm', model: 'm', kind: 'table', file: 'models/m.sql' },
    error: { message: `Conversion Error: Could not convert string '${secret}' to INT32`, kind: 'Conversion', errorClass: 'permanent', sample: [{ v: secret }] },
    attempts: 1,
    ms: 5,
  };

  it('the text logger prints secrets masked', () => {
    let out = '';
    const write = { write: (t: string) => void (out += t) };
    const logger = new TextLogger(write, write, plainStyle, false, () => undefined);
    logger.handle(failed);
    logger.handle({ type: 'diagnostic', diagnostic: { severity: 'error', code: 'x', message: `bad ${secret}` } });
    logger.result(`select '${secret}'`);
    expect(out).toContain("Could not convert string '****' to INT32");
    expect(out).not.toContain(secret);
  });

  it('the JSON logger writes valid JSON with secrets masked', () => {
    let out = '';
    new JsonLogger({ write: (t) => void (out += t) }).handle(failed);
    expect(out).not.toContain(secret);
    const event = JSON.parse(out) as { error: { message: string; sample: unknown[] }; ms: number };
    expect(event.error.message).toBe("Conversion Error: Could not convert string '****' to INT32");
    expect(event.error.sample).toEqual([{ v: '****' }]);
    expect(event.ms).toBe(5);
  });
});

describe('secret vars in run params', () => {
  const stored = paramsToStore({ ds: '2024-01-02', vars: { token: 'tok-abcdef' }, resolved_vars: { token: 'tok-abcdef', region: 'eu' } }, ['token', 'absent']);

  it('stores a fingerprint in place of the value, and a fingerprint stays as it is', () => {
    expect(stored).toEqual({
      ds: '2024-01-02',
      vars: { token: { secret: expect.stringMatching(/^sha256:[0-9a-f]{16}$/) } },
      resolved_vars: { token: fingerprint('token', 'tok-abcdef'), region: 'eu' },
    });
    expect(JSON.stringify(stored)).not.toContain('tok-abcdef');
    expect(paramsToStore(stored, ['token'])).toEqual(stored);
  });

  it("keeps the text of no secret's float beside the vars (where a retry finds 1.0 again), only the others'", () => {
    const pin = 12345678.0;
    const floats = [
      { at: ['vars', 'pin'], value: '12345678.0' },
      { at: ['resolved_vars', 'pin'], value: '12345678.0' },
      { at: ['resolved_vars', 'rate'], value: '1.0' },
    ];
    const kept = paramsToStore({ ds: '2024-01-02', vars: { pin }, resolved_vars: { pin, rate: 1 }, floats }, ['pin']);
    expect(kept.floats).toEqual([{ at: ['resolved_vars', 'rate'], value: '1.0' }]);
    expect(JSON.stringify(kept)).not.toContain('12345678');
  });

  it("fingerprints a secret in each package's vars too, and its float's text there; a retry gives the value again", () => {
    const pin = 12345678.0;
    const kept = paramsToStore(
      {
        ds: '2024-01-02',
        vars: {},
        resolved_vars: { token: 'tok-abcdef', pin },
        resolved_package_vars: { pk: { token: 'tok-abcdef', pin, pv: 'x' } },
        floats: [{ at: ['resolved_package_vars', 'pk', 'pin'], value: '12345678.0' }],
      },
      ['token', 'pin'],
    );
    expect(kept.resolved_package_vars).toEqual({ pk: { token: fingerprint('token', 'tok-abcdef'), pin: fingerprint('pin', pin), pv: 'x' } });
    expect(kept.floats).toEqual([]);
    expect(JSON.stringify(kept)).not.toContain('tok-abcdef');
    expect(JSON.stringify(kept)).not.toContain('12345678');
    expect(retryPackageVars(kept.resolved_package_vars as never, { token: 'tok-abcdef', pin })).toEqual({ pk: { token: 'tok-abcdef', pin, pv: 'x' } });
  });

  const resolved = stored.resolved_vars as Record<string, unknown>;
  const refused = (f: () => unknown): string[] => {
    try {
      f();
    } catch (e) {
      if (e instanceof DiagnosticError) return e.diagnostics.map((d: Diagnostic) => d.message);
      throw e;
    }
    throw new Error('not refused');
  };

  it('a retry runs with the value given again when it is the same', () => {
    expect(retryVars('r1', resolved, { token: 'tok-abcdef' }, {})).toEqual({ token: 'tok-abcdef', region: 'eu' });
    expect(retryVars('r1', resolved, {}, { token: 'tok-abcdef' })).toEqual({ token: 'tok-abcdef', region: 'eu' });
  });

  it('a retry refuses a missing or different secret, and any other var', () => {
    expect(refused(() => retryVars('r1', resolved, {}, {}))).toEqual([
      "run r1 used the secret var 'token', whose value pipe does not store: give it again with --var token=VALUE",
    ]);
    expect(refused(() => retryVars('r1', resolved, { token: 'tok-other' }, {}))).toEqual([
      '--var token is not the value run r1 used (their fingerprints differ): pipe retry re-runs with the same vars or not at all',
    ]);
    expect(refused(() => retryVars('r1', resolved, { token: 'tok-abcdef', region: 'us' }, {}))).toEqual([
      '--var region: pipe retry re-runs with the vars of run r1 as they were; only a secret var, whose value is not stored, is given again',
    ]);
  });
});

describe('settings', () => {
  it('reads secret_vars from pipe.yaml and a pipeline, and notify timeouts', () => {
    const files = loadProject(
      project({
        'pipe.yaml': 'secret_vars: [api_token]\n',
        'pipelines/p.yaml': "secret_vars: [db_password]\nnotify:\n  on_success:\n    - command: ./x.sh\n      timeout: 30s\n    - webhook: https://h.example/p\n      timeout: 20\n",
      }),
    );
    const diagnostics: Diagnostic[] = [];
    expect(readProjectSettings(files, diagnostics).secret_vars).toEqual(['api_token']);
    const pipeline = readPipeline(files.pipelines[0], diagnostics);
    expect(diagnostics).toEqual([]);
    expect(pipeline.secret_vars).toEqual(['db_password']);
    expect(pipeline.notify.on_success).toEqual([{ command: './x.sh', timeout_ms: 30_000 }, { webhook: 'https://h.example/p', timeout_ms: 20_000 }]);
  });

  it('reports a malformed secret_vars or notify target at its own line, without the URL token', () => {
    const files = loadProject(
      project({
        'pipe.yaml': 'name: shop\nsecret_vars: api_token\n',
        'pipelines/p.yaml':
          'select: [m]\nnotify:\n  on_failure:\n    - webhook: https://h.example/p?token=tok-999999\n      timeout: soon\n    - webhook: https://h.example/q?token=tok-888888\n      extra: 1\n    - command: \"  \"\n',
      }),
    );
    const diagnostics: Diagnostic[] = [];
    readProjectSettings(files, diagnostics);
    readPipeline(files.pipelines[0], diagnostics);
    expect(diagnostics.map((d) => ({ message: d.message, line: d.location?.line }))).toEqual([
      { message: 'secret_vars must be a list of var names, e.g. [api_token], got "api_token"', line: 2 },
      { message: `on_failure: timeout of webhook https://h.example/p?… must be a duration such as '30s', '2m', '1h' or a number of seconds, above 0, got "soon"`, line: 5 },
      {
        message: 'on_failure: each target is {webhook: URL} or {command: "shell command"}, optionally with timeout: (e.g. 30s), got a mapping with webhook, extra',
        line: 6,
      },
      { message: 'on_failure: command is empty: give the shell command to run', line: 8 },
    ]);
  });
});
