import { describe, expect, it } from 'vitest';
import { href, parseRoute } from '../../src/ui/web/router.js';

describe("pipe ui's addresses", () => {
  it('read a name with an escape that is not well formed as written: the page says what is not found, rather than none at all', () => {
    expect(parseRoute('#/models/50%')).toEqual({ page: 'model', name: '50%' });
    expect(parseRoute('#/models/%E0%A4%A')).toEqual({ page: 'model', name: '%E0%A4%A' });
    expect(parseRoute('#/runs/%zz')).toEqual({ page: 'run', runId: '%zz', task: undefined });
  });

  it('give back the page they were made for, escapes included', () => {
    for (const name of ['a b', '50%', 'café', 'x/y']) expect(parseRoute(href({ page: 'model', name }))).toEqual({ page: 'model', name });
  });
});
