import { readFileSync } from 'node:fs';

/**
 * Whether the process that wrote a pid (beside a warehouse, in a run log, in the run state) is
 * still running. A pid is reused once its process ended: given when that process was already
 * running (`since`, in ms), a live process that started later is another one. Linux tells
 * when a process started (/proc); elsewhere any live process of the pid counts.
 */
export function processAlive(pid: number, since?: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: alive, another user's.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (since === undefined || !Number.isFinite(since)) return true;
  const started = processStartMs(pid);
  return started === undefined || started <= since + START_SLACK_MS;
}

/**
 * A start this close after counts as before: the times are read on the wall clock at different
 * moments, and a clock set forward between them (a machine waking) must not make a live
 * process pass for another. A pid is reused long after its first process started, mostly.
 */
const START_SLACK_MS = 60_000;

/** Clock ticks per second of /proc's times (USER_HZ, 100 on Linux's architectures). */
const TICKS_PER_SECOND = 100;

/** The field of /proc/PID/stat that says when the process started, in ticks since boot. */
function startTicks(pid: number | 'self'): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces and parentheses: fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // starttime is the 22nd field; the 3rd (state) is the first after the name.
    const ticks = Number(fields[22 - 3]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/**
 * When the machine booted, on this process's clock: its own start in ticks set against the
 * time it started (the boot time /proc/stat gives is to the second, and may be of another
 * clock in a container).
 */
let bootMs: number | null | undefined;

/** When process `pid` started (ms since the epoch), where /proc says. */
export function processStartMs(pid: number): number | undefined {
  if (bootMs === undefined) {
    const own = startTicks('self');
    bootMs = own === undefined ? null : performance.timeOrigin - (own * 1000) / TICKS_PER_SECOND;
  }
  if (bootMs === null) return undefined;
  const ticks = startTicks(pid);
  return ticks === undefined ? undefined : bootMs + (ticks * 1000) / TICKS_PER_SECOND;
}
