import { DiagnosticError, error, type Diagnostic } from '../diagnostics/diagnostics.js';
import { fingerprint, fingerprintVars, isFingerprint, secrets } from '../secrets/secrets.js';

/**
 * Secret vars in run state: a run stores each one's fingerprint, never its value, so `pipe
 * retry` needs the value again, and takes it only if it is the one the run used.
 */

/** The keys of run params that hold vars: as given with --var, and as resolved. */
const VAR_PARAMS = ['vars', 'resolved_vars'] as const;

/** Run params as stored: every secret var among them as its fingerprint. */
export function paramsToStore(params: Readonly<Record<string, unknown>>, secretNames: readonly string[]): Record<string, unknown> {
  const out = { ...params };
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  for (const key of VAR_PARAMS) {
    const vars = out[key];
    if (isMap(vars)) out[key] = fingerprintVars(vars, secretNames);
  }
  // Each package's nodes' vars hold the secret vars too (the root's reach every scope).
  const scopes = out.resolved_package_vars;
  if (isMap(scopes)) out.resolved_package_vars = Object.fromEntries(Object.entries(scopes).map(([pkg, vars]) => [pkg, isMap(vars) ? fingerprintVars(vars, secretNames) : vars]));
  // The text of a float kept beside the vars (see stored-params.ts) is its value: never a secret's.
  if (Array.isArray(out.floats)) {
    const secret = (at: unknown) =>
      Array.isArray(at) &&
      (((VAR_PARAMS as readonly unknown[]).includes(at[0]) && secretNames.includes(String(at[1]))) || (at[0] === 'resolved_package_vars' && secretNames.includes(String(at[2]))));
    out.floats = out.floats.filter((f: { at?: unknown }) => !secret(f?.at));
  }
  return out;
}

/** A run's packages' vars as a retry renders with them: each secret's fingerprint replaced by its value given again (in `vars`, see retryVars). */
export function retryPackageVars(
  stored: Readonly<Record<string, Readonly<Record<string, unknown>>>> | undefined,
  vars: Readonly<Record<string, unknown>>,
): Record<string, Record<string, unknown>> | undefined {
  if (stored === undefined) return undefined;
  return Object.fromEntries(
    Object.entries(stored).map(([pkg, scope]) => [pkg, Object.fromEntries(Object.entries(scope).map(([name, value]) => [name, isFingerprint(value) ? vars[name] : value]))]),
  );
}

/**
 * The vars a retry runs with: the original run's, each secret one given again with --var (or
 * found unchanged in the project's files) and checked against its fingerprint. Any other --var,
 * a secret missing or a different value is refused: a retry re-runs identically or not at all.
 */
export function retryVars(
  runId: string,
  stored: Readonly<Record<string, unknown>>,
  given: Readonly<Record<string, unknown>>,
  inFiles: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const secretNames = Object.keys(stored).filter((name) => isFingerprint(stored[name]));
  const problems: Diagnostic[] = [];
  for (const name of Object.keys(given)) {
    if (secretNames.includes(name)) continue;
    problems.push(
      error('bad-option', `--var ${name}: pipe retry re-runs with the vars of run ${runId} as they were; only a secret var, whose value is not stored, is given again`, undefined, {
        hint: secretNames.length > 0 ? `the secret vars of run ${runId}: ${secretNames.join(', ')}` : `run ${runId} used no secret vars: leave out --var`,
      }),
    );
  }
  const vars = { ...stored };
  for (const name of secretNames) {
    const onCommandLine = Object.hasOwn(given, name);
    const value = onCommandLine ? given[name] : inFiles[name];
    if (value === undefined) {
      problems.push(error('bad-option', `run ${runId} used the secret var '${name}', whose value pipe does not store: give it again with --var ${name}=VALUE`));
    } else if (fingerprint(name, value).secret !== (stored[name] as { secret: string }).secret) {
      const what = onCommandLine ? `--var ${name} is not the value` : `the secret var '${name}' in the project's files is not the value`;
      problems.push(
        error('bad-option', `${what} run ${runId} used (their fingerprints differ): pipe retry re-runs with the same vars or not at all`, undefined, {
          hint: onCommandLine ? 'to build with another value, start a new run' : `give the run's value with --var ${name}=VALUE`,
        }),
      );
    } else {
      secrets.record(value);
      vars[name] = value;
    }
  }
  if (problems.length > 0) throw new DiagnosticError(problems);
  return vars;
}
