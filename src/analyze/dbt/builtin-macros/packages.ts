import type { BuiltinPackage } from './builtin.js';
import { DBT_DATE } from './dbt-date.js';
import { DBT_UTILS } from './dbt-utils.js';

/** The packages pipe implements itself, by name: used for a package declared but not installed. */
export const BUILTIN_PACKAGES: ReadonlyMap<string, BuiltinPackage> = new Map([DBT_UTILS, DBT_DATE].map((p) => [p.name, p]));
