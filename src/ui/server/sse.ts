import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listRunLogs, runLogPath } from '../../run-log/run-log-files.js';
import { processAlive } from '../../util/process-alive.js';

/**
 * Live updates by server-sent events, from the run logs beside the warehouse: they are written
 * as a run goes, by whatever process runs it, and reading them never touches the warehouse.
 * The files are looked at every `pollMs` (a run log is appended to with plain writes, which
 * no portable file watcher reports reliably on every file system).
 */

export const LIVE_POLL_MS = 250;

/** An open event stream; ends when the client goes away or `end` is called. */
export class EventStream {
  private readonly timers: NodeJS.Timeout[] = [];
  private ended = false;

  constructor(
    req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': pipe ui\n\n');
    req.on('close', () => this.end());
    // A comment now and then keeps proxies and idle timeouts from cutting the stream.
    this.every(15_000, () => this.res.write(': keep-alive\n\n'));
  }

  send(event: string, data: string): void {
    if (this.ended) return;
    this.res.write(`event: ${event}\n${data.split('\n').map((l) => `data: ${l}`).join('\n')}\n\n`);
  }

  every(ms: number, tick: () => void): void {
    this.timers.push(setInterval(tick, ms));
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const t of this.timers) clearInterval(t);
    this.res.end();
  }
}

/**
 * Sends each whole line of a run's log as a `line` event, from its start, then each line the
 * run appends; `end` once the log holds the warehouse's record of the run's end (its
 * `reconciled` line), after which nothing more is written to it.
 */
export function followRunLog(stream: EventStream, warehouse: string, runId: string, pollMs = LIVE_POLL_MS): void {
  const path = runLogPath(warehouse, runId);
  let offset = 0;
  let partial = '';
  const tick = () => {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return; // not there yet, or rotated away
    }
    try {
      const size = fstatSync(fd).size;
      if (size <= offset) return;
      const buffer = Buffer.alloc(size - offset);
      const n = readSync(fd, buffer, 0, buffer.length, offset);
      offset += n;
      const lines = (partial + buffer.toString('utf8', 0, n)).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        stream.send('line', line);
        if (line.startsWith('{"type":"reconciled"')) {
          stream.send('end', runId);
          stream.end();
          return;
        }
      }
    } finally {
      closeSync(fd);
    }
  };
  tick();
  stream.every(pollMs, tick);
}

/**
 * Sends a `runs` event whenever the run logs change: a run starts, goes on, or ends, so that
 * the runs page reads them again.
 */
export function followRuns(stream: EventStream, warehouse: string, pollMs = LIVE_POLL_MS): void {
  const signature = () => runLogsSignature(warehouse);
  let last = signature();
  stream.every(pollMs, () => {
    const now = signature();
    if (now === last) return;
    last = now;
    stream.send('runs', JSON.stringify({ changed: true }));
  });
}

/**
 * Sends `free` once the process of `pid`, which holds the warehouse, is gone (and with it its
 * lock), then ends: a page that could not read the warehouse reads it again then. Asks the
 * system whether the process exists and never opens the warehouse, which would take a lock of
 * its own while the run may still want it.
 */
export function followHolder(stream: EventStream, pid: number, pollMs = LIVE_POLL_MS, alive: (pid: number) => boolean = processAlive): void {
  const tick = () => {
    if (alive(pid)) return;
    stream.send('free', String(pid));
    stream.send('end', String(pid));
    stream.end();
  };
  tick();
  stream.every(pollMs, tick);
}

/** What changes whenever a run log does: a run starts, goes on or ends (or a log is rotated away). */
export function runLogsSignature(warehouse: string): string {
  return listRunLogs(warehouse)
    .map((f) => `${f.runId}@${f.modifiedMs}`)
    .join(',');
}

/**
 * What the page asks every second to know whether to read again (see /api/changes): the run
 * logs' signature; with `run`, how long that run's log is and whether it has ended; with
 * `free`, whether that process (which held the warehouse) is gone. A question answered at
 * once, rather than a stream held open: a browser keeps at most six connections to a server,
 * and streams held by six tabs left no connection for a seventh to load.
 */
export function liveState(warehouse: string, ask: { run?: string; free?: number }): { runs: string; run?: string; free?: boolean } {
  const out: { runs: string; run?: string; free?: boolean } = { runs: runLogsSignature(warehouse) };
  if (ask.run !== undefined) {
    try {
      const st = statSync(runLogPath(warehouse, ask.run));
      out.run = `${st.size}@${st.mtimeMs}`;
    } catch {
      out.run = 'none'; // not there yet, or rotated away
    }
  }
  if (ask.free !== undefined) out.free = !processAlive(ask.free);
  return out;
}
