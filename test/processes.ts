import { execFileSync } from 'node:child_process';
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Watching processes that a test did not start itself (what a notify command forked), through
 * /proc: a process killed but not yet reaped (a zombie) counts as gone.
 */

interface ProcStat {
  readonly pid: number;
  readonly state: string;
  readonly pgid: number;
}

function stat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
    const [state, , pgid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, state, pgid: Number(pgid) };
  } catch {
    return undefined;
  }
}

const live = (s: ProcStat | undefined) => s !== undefined && s.state !== 'Z' && s.state !== 'X';

export function isAlive(pid: number): boolean {
  return live(stat(pid));
}

/** Whether the process is stopped (by SIGSTOP), not running nor gone. */
export function isStopped(pid: number): boolean {
  return stat(pid)?.state === 'T';
}

/**
 * Resolves once a process that is known to be exiting (it closed a latch it never closes on its
 * own) has finished: the kernel closes its files before it shows as dead.
 */
export async function exited(pid: number): Promise<void> {
  while (isAlive(pid)) await new Promise((r) => setTimeout(r, 5));
}

export function processGroupOf(pid: number): number | undefined {
  return stat(pid)?.pgid;
}

/** Processes of a process group that are still running. */
export function liveMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => stat(Number(d)))
    .filter((s): s is ProcStat => live(s) && s!.pgid === pgid)
    .map((s) => s.pid);
}

/**
 * A FIFO that the processes under test open for writing (`3> FIFO`): `released` resolves when
 * the last of them has closed it, that is when every one of them is exiting (`exited` then waits
 * for the end). Opening it here first lets their open complete.
 */
export function holdLatch(dir: string): { path: string; released: Promise<void> } {
  const path = join(dir, 'held.fifo');
  execFileSync('mkfifo', [path]);
  const released = new Promise<void>((resolve, reject) => {
    const stream = createReadStream(path);
    stream.on('data', () => undefined);
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
  return { path, released };
}

/** Live processes whose command line holds every one of `args`. */
export function processesWith(args: readonly string[]): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const words = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
        return args.every((a) => words.includes(a)) && live(stat(Number(d)));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Whether `signal` (a number) was sent to the process and waits for it (a stopped process takes it once continued). */
export function signalPending(pid: number, signal: number): boolean {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const masks = [...status.matchAll(/^(?:SigPnd|ShdPnd):\s*([0-9a-f]+)$/gm)].map((m) => BigInt(`0x${m[1]}`));
    return masks.some((mask) => (mask & (1n << BigInt(signal - 1))) !== 0n);
  } catch {
    return false;
  }
}

/** Resolves once no live process's command line holds every one of `args` (at most `ms`; then it says which are left). */
export async function ended(args: readonly string[], ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  for (let left = processesWith(args); left.length > 0; left = processesWith(args)) {
    if (Date.now() > until) throw new Error(`processes with ${args.join(' ')} still running after ${ms} ms: ${left.join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
