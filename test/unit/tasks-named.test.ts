import { describe, expect, it } from 'vitest';
import { tasksNamed } from '../../src/cli/format-plan.js';

describe('task ids as a plan line says them', () => {
  it('says three or more dates of one model as its first and last, where its first stood; fewer, and other ids, each', () => {
    const days = ['2024-01-03', '2024-01-01', '2024-01-02'].map((d) => `orders@${d}`);
    expect(tasksNamed(['raw_orders', ...days, 'stg@2024-01-03'])).toBe('raw_orders, orders@2024-01-01 … 2024-01-03 (3 dates), stg@2024-01-03');
    expect(tasksNamed(['a@2024-01-01', 'b@2024-01-01', 'a@2024-01-02'])).toBe('a@2024-01-01, a@2024-01-02, b@2024-01-01');
    const hours = Array.from({ length: 24 }, (_, h) => `clicks@2024-01-02T${String(h).padStart(2, '0')}`);
    expect(tasksNamed(hours)).toBe('clicks@2024-01-02T00 … 2024-01-02T23 (24 hours)');
    // A full refresh's reset and swap are no dates: named as they are.
    expect(tasksNamed(['m@full-refresh:reset', 'm@2024-01-01', 'm@2024-01-02', 'm@2024-01-03', 'm@full-refresh:swap'])).toBe(
      'm@full-refresh:reset, m@2024-01-01 … 2024-01-03 (3 dates), m@full-refresh:swap',
    );
  });
});
