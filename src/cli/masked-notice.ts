import { warning, type Diagnostic } from '../diagnostics/diagnostics.js';
import { MASK, secrets } from '../secrets/secrets.js';

/**
 * The warning for a result about to be printed that holds values masked as secrets (see
 * secrets.ts): every env_var() value is masked, also where it is no secret (a data folder, a
 * region), so rows or SQL printed with `****` differ from what the table holds or what runs,
 * which the output must say rather than leave to be found.
 */
export function maskedNotice(what: 'rows' | 'sql', text: string): Diagnostic | undefined {
  if (secrets.mask(text) === text) return undefined;
  const why = `a value a template read with env_var() or a var of secret_vars:, which pipe masks wherever it prints (see Secrets in the README)`;
  return what === 'rows'
    ? warning('masked-values', `values shown as ${MASK} hold ${why}; the table holds the values themselves`, undefined, { hint: 'read them with DuckDB itself where they are no secret' })
    : warning('masked-values', `the SQL printed shows ${MASK} where it holds ${why}; the SQL that runs holds the value itself`);
}
