/**
 * Running child processes and timing them: wall time from the parent, peak memory from
 * `/usr/bin/time -v` when it is installed.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * Runs a command to completion. Returns its wall time in ms, exit code, stdout and stderr,
 * and with `measureRss` its peak resident set size in MB and its CPU time in ms (measured by
 * GNU time, so the figures are the child's own, not the parent's).
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ cwd?: string, env?: Record<string,string>, measureRss?: boolean, timeoutMs?: number, tmpDir?: string, keepStdout?: boolean }} o
 */
export function runTimed(cmd, args, o = {}) {
  const rssFile = o.measureRss && GNU_TIME ? join(o.tmpDir ?? '/tmp', `time-${process.pid}-${Math.random().toString(36).slice(2)}.txt`) : undefined;
  const [c, a] = rssFile ? [GNU_TIME, ['-v', '-o', rssFile, cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const startedAt = Date.now();
    const child = spawn(c, a, { cwd: o.cwd, env: { ...process.env, ...(o.env ?? {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    let outBytes = 0;
    child.stdout.on('data', (d) => {
      // Large outputs (10,000 compiled models) are drained, not kept, unless asked for.
      outBytes += d.length;
      if (o.keepStdout !== false) out.push(d);
    });
    child.stderr.on('data', (d) => err.push(d));
    const timer = o.timeoutMs ? setTimeout(() => child.kill('SIGTERM'), o.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const ms = performance.now() - started;
      if (timer) clearTimeout(timer);
      let rssMb;
      let cpuMs;
      if (rssFile) {
        try {
          const text = readFileSync(rssFile, 'utf8');
          const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(text);
          if (m) rssMb = Number(m[1]) / 1024;
          // CPU time (user + system) varies less than wall time on a machine shared with other work.
          const user = /User time \(seconds\): ([\d.]+)/.exec(text);
          const system = /System time \(seconds\): ([\d.]+)/.exec(text);
          if (user && system) cpuMs = (Number(user[1]) + Number(system[1])) * 1000;
        } catch {
          // no figure: reported as missing
        }
        rmSync(rssFile, { force: true });
      }
      resolve({ ms, startedAt, code, signal, rssMb, cpuMs, outBytes, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** Like runTimed, but a non-zero exit is an error that shows the command's output. */
export async function runChecked(cmd, args, o = {}) {
  const r = await runTimed(cmd, args, o);
  if (r.code !== 0) {
    const tail = (s) => s.split('\n').slice(-25).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} exited with ${r.code ?? r.signal}\n${tail(r.stderr)}\n${tail(r.stdout)}`);
  }
  return r;
}

/** JSON objects printed one per line (pipe --json), skipping anything else. */
export function jsonLines(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // not an event
    }
  }
  return out;
}
