import nunjucks from 'nunjucks';
import { secrets } from '../secrets/secrets.js';
import { bind, ENV_VAR_SIGNATURE, NOT_GIVEN, VAR_SIGNATURE } from './jinja/args.js';

/**
 * The template language of a dbt `profiles.yml`: its string values may read the environment
 * with `{{ env_var('NAME') }}` or `{{ env_var('NAME', 'default') }}`, and convert with dbt's
 * `as_text`, `as_number`, `as_bool` and `as_native` filters (the value's key decides its type
 * here, so they change nothing), and `{{ var('name', 'default') }}` reads the vars of the
 * command line (`--var`, `--vars`) alone, as dbt's profiles do: a project's vars: are read
 * after the profile. A value read from the environment may be a credential: it is masked
 * wherever pipe writes text.
 */

export type Environment = Readonly<Record<string, string | undefined>>;

/** What rendering a value gives: its text, or why it has none. */
export type Rendered = { readonly text: string } | { readonly problem: string };

class EnvVarError extends Error {}

export class ProfileRenderer {
  private readonly nunjucks = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true });

  constructor(env: Environment, vars: Readonly<Record<string, unknown>> = {}) {
    this.nunjucks.addGlobal('var', (...args: unknown[]) => {
      const [name, fallback] = bind(VAR_SIGNATURE, args);
      if (typeof name !== 'string') throw new EnvVarError("var() takes a name, e.g. var('warehouse_path', 'dev.duckdb')");
      if (Object.hasOwn(vars, name)) return vars[name];
      if (fallback !== NOT_GIVEN) return fallback;
      throw new EnvVarError(`var '${name}' is not set and var() was given no default: profiles.yml reads the vars of the command line alone (--var ${name}=VALUE), as dbt's do, not those of vars: in the project; or give it a default: var('${name}', 'VALUE')`);
    });
    this.nunjucks.addGlobal('env_var', (...args: unknown[]) => {
      const [name, fallback] = bind(ENV_VAR_SIGNATURE, args);
      if (typeof name !== 'string') throw new EnvVarError("env_var() takes a name, e.g. env_var('DBT_PATH', 'dev.duckdb')");
      const value = env[name];
      if (value !== undefined) {
        secrets.record(value);
        return value;
      }
      if (fallback !== NOT_GIVEN) return fallback;
      throw new EnvVarError(`environment variable '${name}' is not set and env_var() was given no default`);
    });
    for (const filter of ['as_text', 'as_number', 'as_bool', 'as_native']) this.nunjucks.addFilter(filter, (v: unknown) => v);
  }

  /** Whether a value is a template at all: most are plain text and stay as they are. */
  static isTemplate(text: string): boolean {
    return text.includes('{{') || text.includes('{%');
  }

  render(text: string): Rendered {
    try {
      return { text: this.nunjucks.renderString(text, {}) };
    } catch (e) {
      // Nunjucks puts "(unknown path) [Line 1, Column 3]" on a line of its own before the reason.
      const message = (e instanceof Error ? e.message : String(e)).replace(/^\([^)]*\)[^\n]*\n\s*/, '').replace(/^(Template render error: )?(Error: )?/, '');
      return { problem: message.trim() };
    }
  }
}
