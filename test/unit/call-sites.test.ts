import { describe, expect, it } from 'vitest';
import { CallSites } from '../../src/analyze/call-sites.js';

describe('CallSites.configKey', () => {
  it('points at the keyword in the last config() call that gives it', () => {
    const text = "{{ config(materialized='table') }}\n{{ config(\n  schema='a',\n  materialized='view',\n) }}\nselect 1";
    const sites = new CallSites(text);
    expect(sites.configKey('materialized')).toEqual({ line: 4, column: 3 });
    expect(sites.configKey('schema')).toEqual({ line: 3, column: 3 });
  });

  it('reads a keyword inside a string or a nested call as no key of the call', () => {
    const sites = new CallSites("{{ config(post_hook=\"select 1 where unique_key = 2\", meta={'unique_key': 1}, unique_key='id') }}");
    expect(sites.configKey('unique_key')).toEqual({ line: 1, column: 78 });
    expect(new CallSites("{{ config(post_hook=\"x, unique_key='id'\") }}").configKey('unique_key')).toEqual({ line: 1, column: 4 });
  });

  it('falls back to the first config( when no call names the key, and to nothing without one', () => {
    expect(new CallSites("\n{{ config(**settings) }}").configKey('schema')).toEqual({ line: 2, column: 4 });
    expect(new CallSites('select 1').configKey('schema')).toBeUndefined();
  });
});
