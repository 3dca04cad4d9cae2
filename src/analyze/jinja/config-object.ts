import { JinjaError } from './errors.js';
import { splitKeywords } from './macro-args.js';

/**
 * dbt's `config` object, besides being called: `config.get(key, default)` and
 * `config.require(key)` read what the node's config holds for a key, as dbt's do when it
 * compiles a node (the value of dbt_project.yml, the properties file and config() together,
 * not the empty string dbt's parse gives). Which value that is comes from the render in
 * progress (RenderHooks.configValue); analysis checks that a later config() call did not change
 * a value read before it.
 */

export interface ConfigReader {
  /** The value of `key`, undefined where nothing sets it; undefined as a whole where the render has no node's config. */
  readonly configValue?: (key: string) => unknown;
  /**
   * The render is dbt's parse of a node rendered again when it runs: `config.get()` and
   * `config.require()` give the empty string, as dbt's parse does, so that a branch on a config
   * value (dbt-unit-testing's `'mocked' in config.get('tags')`) is taken only at run, as in dbt.
   */
  readonly configAtParse?: boolean;
}

/** The attributes of the `config` global: `get` and `require`. */
export function configReaders(active: () => ConfigReader): Readonly<Record<string, unknown>> {
  const read = (method: string, args: readonly unknown[]) => {
    const { positional, keywords } = splitKeywords(args);
    const key = positional.length > 0 ? positional[0] : keywords.name;
    if (typeof key !== 'string' || key === '') throw new JinjaError(`config.${method}() takes a config key, e.g. config.${method}('materialized')`);
    const unknown = Object.keys(keywords).filter((k) => !['name', 'default', 'validator'].includes(k));
    if (unknown.length > 0 || positional.length > (method === 'get' ? 2 : 1)) {
      throw new JinjaError(`config.${method}() takes ${method === 'get' ? 'a key and a default' : 'a key'}${unknown.length > 0 ? `, not ${unknown.join(', ')}=` : ''}`);
    }
    const configValue = active().configValue;
    if (!configValue) throw new JinjaError(`config.${method}() reads a model's config, and there is no model here`);
    return { key, value: configValue(key), positional, keywords };
  };
  return {
    get: (...args: unknown[]) => {
      if (active().configAtParse) return '';
      const { value, positional, keywords } = read('get', args);
      if (value !== undefined) return value;
      if (positional.length > 1) return positional[1];
      return Object.hasOwn(keywords, 'default') ? keywords.default : null;
    },
    require: (...args: unknown[]) => {
      if (active().configAtParse) return '';
      const { key, value } = read('require', args);
      if (value === undefined || value === null) {
        throw new JinjaError(`config.require('${key}'): the model's config sets no '${key}' (in config(), its properties or dbt_project.yml)`);
      }
      return value;
    },
  };
}
