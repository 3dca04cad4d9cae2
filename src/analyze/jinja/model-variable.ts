import { pyFunction, signature } from './args.js';
import { PyObject } from './values.js';

/**
 * dbt's `model` in a model's own render: the node being rendered, as dbt's manifest (and
 * `graph.nodes`) has it (`model.name`, `model.unique_id`, `model.raw_code`, `model.columns`,
 * ...), with `model.config` reading the model's config as it stands where it is read, as
 * `config.get()` does, and `model.tags` and `model.meta` (where the node has none yet: the
 * parse render's) read from that config too, as dbt's node holds them at execution. Packages'
 * macros take it as their argument (`check_model_is_table(model)`). Its fields are made when
 * first read: most renders never read it.
 */
export class ModelVariable extends PyObject {
  readonly typeName = 'dict';
  private made: Record<string, unknown> | undefined;
  private readonly config: ConfigView;

  constructor(
    private readonly fields: () => Record<string, unknown>,
    private readonly configValue: (key: string) => unknown,
  ) {
    super();
    this.config = new ConfigView(configValue);
  }

  private node(): Record<string, unknown> {
    return (this.made ??= this.fields());
  }
  override repr(): string {
    return `{'unique_id': '${String(this.node().unique_id)}', ...}`;
  }
  override getattr(name: string): unknown {
    if (name === 'config') return this.config;
    if (name === 'get') return pyFunction(signature('get', 'key default', { default: null }), (key: unknown, fallback: unknown) => this.getitem(key) ?? fallback);
    if (name === 'keys') return pyFunction(signature('keys', ''), () => this.iterate());
    return this.getitem(name);
  }
  /** Its keys, as a dict walks them: `'columns' in model`, `{% for key in model %}`. */
  override iterate(): unknown[] {
    const keys = Object.keys(this.node());
    return [...keys, ...FROM_CONFIG.filter((k) => !keys.includes(k))];
  }
  override getitem(key: unknown): unknown {
    if (key === 'config') return this.config;
    const node = this.node();
    if (typeof key !== 'string') return undefined;
    if (Object.hasOwn(node, key)) return node[key];
    if (key === 'tags') {
      const tags = this.configValue('tags');
      return tags === undefined || tags === null ? [] : Array.isArray(tags) ? [...(tags as unknown[])] : [tags];
    }
    if (key === 'meta') {
      const meta = this.configValue('meta');
      return typeof meta === 'object' && meta !== null && !Array.isArray(meta) ? meta : {};
    }
    return undefined;
  }
}

/** What `model` gives from its config where its node has no such field. */
const FROM_CONFIG = ['config', 'tags', 'meta'];

/** `model.config`: `model.config.materialized`, `model.config['schema']`, `model.config.get('x', d)`. */
class ConfigView extends PyObject {
  readonly typeName = 'dict';
  constructor(private readonly value: (key: string) => unknown) {
    super();
  }
  override repr(): string {
    return "{'materialized': ...}";
  }
  override getattr(name: string): unknown {
    if (name === 'get') return pyFunction(signature('get', 'key default', { default: null }), (key: unknown, fallback: unknown) => this.getitem(key) ?? fallback);
    return this.getitem(name);
  }
  override getitem(key: unknown): unknown {
    return typeof key === 'string' ? (this.value(key) ?? undefined) : undefined;
  }
}
