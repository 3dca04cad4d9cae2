import { describe, expect, it } from 'vitest';
import { cliIn } from '../support/cli-in-process.js';

/** A duration option's help shows its default as one would write it, not the milliseconds it parses to. */
describe('the help of duration options', () => {
  it.each([
    [['worker', '--help'], /--lease <duration>[\s\S]*?\(default: 30s\)/],
    [['backfill', '--help'], /--lease <duration>[\s\S]*?\(default: 30s\)/],
    [['run', '--help'], /--wait <duration>[\s\S]*?\(default: 5s\)/],
  ])('pipe %j', async (args, shown) => {
    const r = await cliIn(args);
    expect(r.stdout).toMatch(shown);
    expect(r.stdout).not.toMatch(/default: (30000|5000)\)/);
  });
});
