import { error, type Diagnostic } from './diagnostics.js';
import { asPositiveInt, asStringList, checkKeys } from './validate-keys.js';
import { readRetry } from './model-config.js';
import type { PipelineSource, ProjectFiles } from '../project/load-project.js';
import { PROJECT_FILE } from '../project/load-project.js';

/** `pipe.yaml`, all of it optional. */
export interface ProjectSettings {
  readonly name?: string;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly threads?: number;
  /** Warehouse path relative to the project; default `warehouse.duckdb`. */
  readonly warehouse: string;
}

export const PROJECT_KEYS = ['name', 'vars', 'threads', 'warehouse'] as const;
export const DEFAULT_WAREHOUSE = 'warehouse.duckdb';

/** A pipeline: a named selection with its defaults. Later keys (schedule, retries, notify) join here. */
export interface Pipeline {
  readonly name: string;
  readonly file: string;
  readonly description?: string;
  readonly select: readonly string[];
  readonly exclude: readonly string[];
  readonly vars: Readonly<Record<string, unknown>>;
  readonly threads?: number;
  /** Default retries for its models' transient errors. */
  readonly retries?: number;
  readonly retry_delay_ms?: number;
}

export const PIPELINE_KEYS = ['description', 'select', 'exclude', 'vars', 'threads', 'retries', 'retry_delay'] as const;

function asVars(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export function readProjectSettings(files: ProjectFiles, diagnostics: Diagnostic[]): ProjectSettings {
  const y = files.projectFile;
  if (!y) return { vars: {}, warehouse: DEFAULT_WAREHOUSE };
  const at = (key: string) => ({ file: PROJECT_FILE, line: y.keyLine(key) });
  checkKeys(y.data, PROJECT_KEYS, 'project', at, diagnostics);
  const d = y.data;
  const vars = d.vars === undefined ? {} : asVars(d.vars);
  if (!vars) diagnostics.push(error('bad-config', 'vars must be a mapping of names to values', at('vars')));
  const threads = d.threads === undefined ? undefined : asPositiveInt(d.threads);
  if (d.threads !== undefined && threads === undefined) {
    diagnostics.push(error('bad-config', 'threads must be a whole number of at least 1', at('threads')));
  }
  if (d.warehouse !== undefined && typeof d.warehouse !== 'string') {
    diagnostics.push(error('bad-config', 'warehouse must be a path to a DuckDB file', at('warehouse')));
  }
  return {
    name: typeof d.name === 'string' ? d.name : undefined,
    vars: vars ?? {},
    threads,
    warehouse: typeof d.warehouse === 'string' ? d.warehouse : DEFAULT_WAREHOUSE,
  };
}

export function readPipeline(source: PipelineSource, diagnostics: Diagnostic[]): Pipeline {
  const { yaml, file } = source;
  const at = (key: string) => ({ file, line: yaml.keyLine(key) });
  const d = yaml.data;
  checkKeys(d, PIPELINE_KEYS, 'pipeline', at, diagnostics);
  const list = (key: 'select' | 'exclude') => {
    if (d[key] === undefined) return [];
    const l = asStringList(d[key]);
    if (!l) diagnostics.push(error('bad-config', `${key} must be a list of selectors, e.g. [tag:daily, +fct_orders]`, at(key)));
    return l ?? [];
  };
  const vars = d.vars === undefined ? {} : asVars(d.vars);
  if (!vars) diagnostics.push(error('bad-config', 'vars must be a mapping of names to values', at('vars')));
  const threads = d.threads === undefined ? undefined : asPositiveInt(d.threads);
  if (d.threads !== undefined && threads === undefined) {
    diagnostics.push(error('bad-config', 'threads must be a whole number of at least 1', at('threads')));
  }
  return {
    name: source.name,
    file,
    description: typeof d.description === 'string' ? d.description : undefined,
    select: list('select'),
    exclude: list('exclude'),
    vars: vars ?? {},
    threads,
    ...readRetry(d, (key, message) => diagnostics.push(error('bad-config', message, at(key)))),
  };
}
