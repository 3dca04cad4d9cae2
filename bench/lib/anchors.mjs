/**
 * dbt (dbt-duckdb) and SQLMesh on the same synthetic spec, on the same machine, in the same
 * bench run: anchors that give pipe's figures a scale. They live in a virtualenv at
 * bench/.venv, created once and reused.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runTimed } from './proc.mjs';

/**
 * dbt-core 1.12 pulls in a parser whose build step downloads a wheel from outside the
 * package index; 1.11 installs from the index alone.
 */
export const PIP_PACKAGES = ['dbt-core>=1.10,<1.12', 'dbt-duckdb', 'sqlmesh'];

/**
 * The virtualenv's tools, installing them on first use unless `install` is false (a virtualenv
 * of someone else's is used as it is). Returns what is usable and, for what is not, why.
 * @returns {Promise<{ python?: string, dbt?: string, sqlmesh?: boolean, versions: Record<string,string>, problems: string[] }>}
 */
export async function ensureAnchors(venv, log, { install = true } = {}) {
  const python = join(venv, 'bin', 'python');
  const problems = [];
  if (!existsSync(python) && !install) return { versions: {}, problems: [`${venv} has no bin/python`] };
  if (!existsSync(python)) {
    log(`creating ${venv} and installing ${PIP_PACKAGES.join(', ')} (once; later runs reuse it)…`);
    const made = await runTimed('python3', ['-m', 'venv', venv]);
    if (made.code !== 0) return { versions: {}, problems: [`python3 -m venv failed: ${lastLine(made.stderr)}`] };
  }
  const probe = async () => {
    const r = await runTimed(python, ['-c', 'import importlib.metadata as m\nfor p in ("dbt-core","dbt-duckdb","sqlmesh","duckdb"):\n  try: print(p, m.version(p))\n  except Exception: pass']);
    return Object.fromEntries(r.stdout.trim().split('\n').filter(Boolean).map((l) => l.split(' ')));
  };
  let versions = await probe();
  if (install && (!versions['dbt-duckdb'] || !versions.sqlmesh)) {
    log(`installing ${PIP_PACKAGES.join(', ')} into ${venv}…`);
    const pip = await runTimed(python, ['-m', 'pip', 'install', '-q', ...PIP_PACKAGES], { timeoutMs: 15 * 60_000 });
    if (pip.code !== 0) problems.push(`pip install failed: ${lastLine(pip.stderr)}`);
    versions = await probe();
  }
  const dbt = join(venv, 'bin', 'dbt');
  return {
    python,
    dbt: versions['dbt-duckdb'] && existsSync(dbt) ? dbt : undefined,
    sqlmesh: Boolean(versions.sqlmesh),
    versions,
    problems: [
      ...problems,
      ...(versions['dbt-duckdb'] ? [] : ['dbt-duckdb is not installed']),
      ...(versions.sqlmesh ? [] : ['sqlmesh is not installed']),
    ],
  };
}

function lastLine(s) {
  const lines = s.trim().split('\n').filter((l) => !l.startsWith('WARNING'));
  return lines[lines.length - 1] ?? '(no output)';
}

const DBT_ENV = { DBT_SEND_ANONYMOUS_USAGE_STATS: 'false', DBT_VERSION_CHECK: 'false', DO_NOT_TRACK: '1' };

/** `dbt parse` from nothing (no partial parse): dbt's reading of the project into its manifest. */
export function dbtParse(tools, dir) {
  return runTimed(tools.dbt, ['parse', '--no-partial-parse', '--project-dir', dir, '--profiles-dir', dir], { cwd: dir, env: DBT_ENV, measureRss: true });
}

/** `dbt compile` from nothing: parse, then render every model's SQL. */
export function dbtCompile(tools, dir) {
  return runTimed(tools.dbt, ['compile', '--no-partial-parse', '--project-dir', dir, '--profiles-dir', dir], { cwd: dir, env: DBT_ENV, measureRss: true });
}

/** `dbt build` on an empty database: seeds, then every model (no tests are declared). */
export function dbtBuild(tools, dir) {
  return runTimed(tools.dbt, ['build', '--project-dir', dir, '--profiles-dir', dir], { cwd: dir, env: DBT_ENV });
}

/** Loading a SQLMesh project: every model read, parsed and rendered into its context. */
export function sqlmeshLoad(tools, dir) {
  const code = 'import sys\nfrom sqlmesh import Context\nc = Context(paths=sys.argv[1])\nprint(len(c.models))';
  return runTimed(tools.python, ['-c', code, dir], { cwd: dir, env: { SQLMESH_DISABLE_ANONYMIZED_ANALYTICS: '1' }, measureRss: true });
}

/** The first `sqlmesh plan` on an empty database, applied: builds every model for the date. */
export function sqlmeshRun(tools, dir) {
  return runTimed(join(tools.python, '..', 'sqlmesh'), ['--paths', dir, 'plan', '--auto-apply', '--no-prompts'], {
    cwd: dir,
    env: { SQLMESH_DISABLE_ANONYMIZED_ANALYTICS: '1' },
  });
}
