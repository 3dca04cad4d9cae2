import { nameGlob } from '../graph/glob-match.js';
import { parseCliSelection } from '../graph/selection-spec.js';
import type { TestFilter } from '../plan/plan.js';

/**
 * Which tests `pipe test` runs of the nodes it selects: every one, unless `--select` is made
 * only of terms that name tests (`test_type:unit`, `test_type:data`, `unit_test:name`), as
 * dbt test selects the tests themselves by these methods: then only those.
 */
export function testFilter(select: readonly string[] | undefined): TestFilter | undefined {
  const { criteria } = parseCliSelection(select ?? []);
  if (criteria.length === 0 || criteria.some((c) => c.method !== 'test_type' && c.method !== 'unit_test')) return undefined;
  const allUnit = criteria.some((c) => c.method === 'test_type' && c.value === 'unit');
  const named = criteria.filter((c) => c.method === 'unit_test').map((c) => nameGlob(c.value));
  return {
    data: criteria.some((c) => c.method === 'test_type' && c.value === 'data'),
    unit: (model, test) => allUnit || named.some((match) => match(test) || match(`${model}.${test}`)),
  };
}
