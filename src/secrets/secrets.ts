import { createHash } from 'node:crypto';

/**
 * Secrets never leave pipe. A value read with env_var(), or the value of a var declared in
 * `secret_vars:`, is recorded here as templates render (rendering is synchronous, so a
 * process-wide registry is filled before anything that could quote the value runs). Where text
 * leaves the process it passes through `mask`: the loggers (printed), the run state in `_pipe`
 * (stored), and notifications (sent). Nothing else needs to know which values are secret.
 */

/**
 * Values shorter than this are not masked: `eu`, `prod`, `true` or a year are rarely secrets,
 * and masking them would blot out ordinary words (`prod` inside `products`) in every message.
 */
export const MIN_SECRET_LENGTH = 6;
/** The fewest characters of a secret's start masked where a text was cut short after them. */
const MIN_CUT_LENGTH = 3;
export const MASK = '****';

export class SecretRegistry {
  private readonly values = new Set<string>();
  /** Matches every recorded value; undefined when it must be built again, null when there is nothing to mask. */
  private pattern: RegExp | null | undefined = null;

  /** Records a value to mask: a string or number, or each one inside a list or mapping. */
  record(value: unknown): void {
    if (typeof value === 'string') {
      if (value.length >= MIN_SECRET_LENGTH && !this.values.has(value)) {
        this.values.add(value);
        this.pattern = undefined;
      }
    } else if (typeof value === 'number' || typeof value === 'bigint') this.record(String(value));
    else if (Array.isArray(value)) for (const v of value) this.record(v);
    else if (isPlainObject(value)) for (const v of Object.values(value)) this.record(v);
  }

  /** The text with every recorded value replaced by `****`, also where it appears escaped in JSON or a SQL literal. */
  mask(text: string): string {
    const re = this.compiled();
    return re ? text.replace(re, MASK) : text;
  }

  /**
   * A copy of a JSON-like value with every string masked (keys are kept), for what is
   * serialized after masking. A number that is a secret (a PIN read into a column) becomes the
   * mask; digits that merely contain one (a timestamp) are left alone.
   */
  maskDeep<T>(value: T): T {
    return this.compiled() ? (this.walk(value) as T) : value;
  }

  private walk(value: unknown): unknown {
    if (typeof value === 'string') return this.mask(value);
    if (typeof value === 'number' || typeof value === 'bigint') return this.values.has(String(value)) ? MASK : value;
    if (Array.isArray(value)) return value.map((v) => this.walk(v));
    if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.walk(v)]));
    return value;
  }

  private compiled(): RegExp | null {
    if (this.pattern !== undefined) return this.pattern;
    const forms = new Set<string>();
    for (const v of this.values) {
      forms.add(v);
      forms.add(JSON.stringify(v).slice(1, -1));
      forms.add(v.replaceAll("'", "''"));
    }
    const escape = (f: string) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // Longest first, so that a secret containing another is masked whole.
    const alternatives = [...forms].sort((a, b) => b.length - a.length).map(escape);
    // A secret cut short where a text was shortened (DuckDB cuts a long line of SQL in its error
    // with `...`): its start, of a few characters at least, right before the cut.
    const starts = new Set<string>();
    for (const f of forms) for (let n = f.length - 1; n >= MIN_CUT_LENGTH; n--) starts.add(f.slice(0, n));
    const cut = [...starts].sort((a, b) => b.length - a.length).map(escape);
    const all = [...alternatives, ...(cut.length > 0 ? [`(?:${cut.join('|')})(?=\\.\\.\\.|…)`] : [])];
    this.pattern = alternatives.length > 0 ? new RegExp(all.join('|'), 'g') : null;
    return this.pattern;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (!value || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The registry of this process: what its templates read as secrets. */
export const secrets = new SecretRegistry();

/** What run state stores in place of a secret var's value. */
export interface SecretFingerprint {
  readonly secret: string;
}

export function isFingerprint(value: unknown): value is SecretFingerprint {
  return isPlainObject(value) && Object.keys(value).length === 1 && typeof value.secret === 'string' && value.secret.startsWith('sha256:');
}

/**
 * Enough to tell whether a value given again is the same one, not to read it back. Like any
 * hash it lets a guess be checked, so a short or common secret can be found from it.
 */
export function fingerprint(name: string, value: unknown): SecretFingerprint {
  const digest = createHash('sha256').update(`${name}\u0000${JSON.stringify(value)}`).digest('hex');
  return { secret: `sha256:${digest.slice(0, 16)}` };
}

/** Vars as stored: each secret one's value replaced by its fingerprint (a fingerprint already there stays). */
export function fingerprintVars(vars: Readonly<Record<string, unknown>>, secretNames: Iterable<string>): Record<string, unknown> {
  const out = { ...vars };
  for (const name of secretNames) {
    if (Object.hasOwn(out, name) && !isFingerprint(out[name])) out[name] = fingerprint(name, out[name]);
  }
  return out;
}

/**
 * A URL as pipe shows it: without credentials, query string or fragment, where tokens travel
 * (`https://user:pw@h/p?token=x` → `https://h/p?…`).
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1').replace(/[?#][\s\S]*$/, (rest) => `${rest[0]}…`);
  }
  const elided = u.search ? '?…' : u.hash ? '#…' : '';
  return `${u.protocol}//${u.host}${u.pathname}${elided}`;
}
