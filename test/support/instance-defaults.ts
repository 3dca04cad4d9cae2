import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, vi, type MockInstance } from 'vitest';

const create = DuckDBInstance.create.bind(DuckDBInstance);

/**
 * For the calling test file: the DuckDB instances its tests create in this process (pipe's and
 * the test's own) get `defaults()` for the options they do not set, from its first test to its
 * last. The instances are real; processes the tests start are left as they are.
 */
export function instanceDefaults(defaults: () => Record<string, string>): void {
  let spy: MockInstance<typeof DuckDBInstance.create> | undefined;
  beforeAll(() => {
    const set = defaults();
    spy = vi.spyOn(DuckDBInstance, 'create').mockImplementation((path, options) => create(path, { ...set, ...options }));
  });
  afterAll(() => spy?.mockRestore());
}
