import { describe, expect, it } from 'vitest';
import { inferSeedTypes, type InferenceProblem } from '../../src/project/seed-inference.js';

/**
 * The types are those dbt-duckdb 1.9 (dbt-core 1.10, agate 1.9) gave one-column seeds of these
 * values; where it loads something other than the file says, or fails, pipe refuses instead.
 */

const column = (values: readonly string[]) => {
  const text = `c\n${values.map((v) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v)).join('\n')}\n`;
  return inferSeedTypes(text, ',', 1)[0];
};

describe('inferSeedTypes', () => {
  const AS_DBT: [string[], string][] = [
    [['1', '2', '-3', '+4', '0'], 'INTEGER'],
    [['1.0', '2.', '0.00'], 'INTEGER'],
    [['1', '2.50'], 'DOUBLE'],
    [['.5', '-.5', '1.10'], 'DOUBLE'],
    [[' 5 ', '6'], 'INTEGER'],
    [['20240102'], 'INTEGER'],
    [['2147483647', '-2147483648'], 'INTEGER'],
    [['', ''], 'INTEGER'],
    [['2024-01-02', '2024-1-2', ' 2024-02-29'], 'DATE'],
    [['2024-02-30'], 'VARCHAR'],
    [['24-01-02'], 'VARCHAR'],
    [['2024-01-02 03:04:05', '2024-01-02 3:4:5'], 'TIMESTAMP'],
    [['2024-01-02 03:04:05.5'], 'VARCHAR'],
    [['2024-01-02T03:04:05', '2024-01-02T03:04', '2024-01-02T03:04:05.123456', '2024-01-02T03:04:05Z', '2024-01-02T03:04:05+00:00'], 'TIMESTAMP'],
    [['2024-01-02t03:04:05'], 'VARCHAR'],
    [['2024-01-02T24:00:00'], 'VARCHAR'],
    [['2024-01-02', '2024-01-02 03:04:05'], 'VARCHAR'],
    [['2024-01-02T03:04:05', '2024-01-02 03:04:05'], 'VARCHAR'],
    [['true', 'FALSE', 'True'], 'BOOLEAN'],
    [['t', 'f'], 'VARCHAR'],
    [['yes', 'no'], 'VARCHAR'],
    [['1', '0'], 'INTEGER'],
    [['03:04:05'], 'VARCHAR'],
    [['1', 'x'], 'VARCHAR'],
    [['na', '1'], 'VARCHAR'],
    [['555-1234', '0x10'], 'VARCHAR'],
    [['null', 'x'], 'VARCHAR'],
  ];

  it.each(AS_DBT)('types %j as dbt-duckdb does: %s', (values, type) => {
    expect(column(values)).toEqual({ type });
  });

  const REFUSED: [string[], string, InferenceProblem['kind'], string][] = [
    [['01234', '10001'], 'INTEGER', 'leading-zero', '01234'],
    [['1', '007'], 'INTEGER', 'leading-zero', '007'],
    [['3000000000'], 'INTEGER', 'out-of-range', '3000000000'],
    [['1', 'null'], 'INTEGER', 'empty-word', 'null'],
    [['2024-01-02', '  '], 'DATE', 'empty-word', '  '],
    [['2024-01-02T03:04:05+02:00'], 'TIMESTAMP', 'utc-offset', '2024-01-02T03:04:05+02:00'],
    [['1', '1,000'], 'INTEGER', 'uncertain', '1,000'],
    [['$5'], 'INTEGER', 'uncertain', '$5'],
    [['1e3'], 'INTEGER', 'uncertain', '1e3'],
    [['NaN', '1'], 'INTEGER', 'uncertain', 'NaN'],
    [['20240102T030405'], 'TIMESTAMP', 'uncertain', '20240102T030405'],
    [['true', ' false'], 'BOOLEAN', 'uncertain', ' false'],
  ];

  it.each(REFUSED)('refuses %j, which dbt-duckdb types %s: %s', (values, type, kind, value) => {
    const line = values.indexOf(value) + 2;
    expect(column(values)).toEqual({ type, problem: { kind, at: { value, line } } });
  });

  it('reads every column at the delimiter, past quoted line breaks', () => {
    const text = 'id;when;note;flag\n1;2024-01-02;"a;\nb";true\n2;2024-01-03;;false\n';
    expect(inferSeedTypes(text, ';', 4).map((c) => c.type)).toEqual(['INTEGER', 'DATE', 'VARCHAR', 'BOOLEAN']);
    expect(inferSeedTypes('a,b\n', ',', 2)).toEqual([{ type: 'INTEGER' }, { type: 'INTEGER' }]);
  });
});
