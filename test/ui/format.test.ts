import { describe, expect, it } from 'vitest';
import { rowCount } from '../../src/ui/web/format.js';

/** How the pages count rows in words. */
describe('row counts', () => {
  it('says 1 row, and rows for any other count or none known', () => {
    expect([rowCount(1), rowCount(0), rowCount(2), rowCount(12345), rowCount(null)]).toEqual(['1 row', '0 rows', '2 rows', '12,345 rows', '– rows']);
  });
});
