import { describe, expect, it } from 'vitest';
import { overriddenMacro } from '../../src/analyze/template-engine.js';

/**
 * A unit test's `overrides: macros:` as dbt puts them in the render's context: each key
 * replaces the name it is keyed by (checked against dbt-core 1.11).
 */
describe('overriddenMacro', () => {
  const overrides = (o: Record<string, unknown>) => new Map(Object.entries(o));

  it('a bare key stands for bare calls, a namespaced key for namespaced calls, not for each other', () => {
    expect(overriddenMacro(overrides({ bounds: 7 }), 'bounds')).toEqual({ value: 7 });
    expect(overriddenMacro(overrides({ bounds: 7 }), 'shop.bounds')).toBeUndefined();
    expect(overriddenMacro(overrides({ 'shop.bounds': 7 }), 'shop.bounds')).toEqual({ value: 7 });
    expect(overriddenMacro(overrides({ 'shop.bounds': 7 }), 'bounds')).toBeUndefined();
    expect(overriddenMacro(overrides({ star: 'a' }), 'dbt_utils.star')).toBeUndefined();
  });

  it("dbt's own macros answer to both names, the bare key first", () => {
    expect(overriddenMacro(overrides({ 'dbt.current_timestamp': 1 }), 'current_timestamp')).toEqual({ value: 1 });
    expect(overriddenMacro(overrides({ current_timestamp: 2 }), 'dbt.current_timestamp')).toEqual({ value: 2 });
    expect(overriddenMacro(overrides({ 'dbt.current_timestamp': 1, current_timestamp: 2 }), 'dbt.current_timestamp')).toEqual({ value: 2 });
  });

  it("a package's macro called by its bare name answers to its namespaced key too", () => {
    expect(overriddenMacro(overrides({ 'pkg.cents': 3 }), 'cents', 'pkg.cents')).toEqual({ value: 3 });
    expect(overriddenMacro(undefined, 'cents')).toBeUndefined();
  });
});
