import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { processAlive, processStartMs } from '../../src/util/process-alive.js';

const linux = existsSync('/proc/self/stat');

describe('whether the process that wrote a pid still runs', () => {
  it('a live pid is alive, an ended one is not', async () => {
    const child = spawn('sleep', ['30']);
    await once(child, 'spawn');
    expect(processAlive(child.pid!)).toBe(true);
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(processAlive(child.pid!)).toBe(false);
  });

  it.runIf(linux)('a live process that started after the pid was written is another one: the pid was reused', async () => {
    // On the clock processStartMs reads: this process's start on the wall clock, then the
    // monotonic time since. Date.now() would differ by any step of the wall clock since this
    // (long-lived: a test worker) process started, as a virtual machine's clock makes on resuming.
    const before = performance.timeOrigin + performance.now();
    const child = spawn('sleep', ['30']);
    await once(child, 'spawn');
    try {
      const started = processStartMs(child.pid!)!;
      // Within the ticks /proc counts in, on this process's clock.
      expect(Math.abs(started - before)).toBeLessThan(1000);
      expect(Math.abs(processStartMs(process.pid)! - performance.timeOrigin)).toBeLessThan(50);
      // Written when the process was already running (by itself, or later): its own.
      expect(processAlive(child.pid!, Date.now())).toBe(true);
      expect(processAlive(process.pid, Date.now())).toBe(true);
      // Written an hour before the process started: by one that ended, whose pid this one got.
      expect(processAlive(child.pid!, before - 3_600_000)).toBe(false);
      // A minute's leeway for clocks set forward between the two readings.
      expect(processAlive(child.pid!, before - 30_000)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
