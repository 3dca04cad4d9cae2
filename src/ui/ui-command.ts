import { spawn } from 'node:child_process';
import { DiagnosticError, error, warning } from '../diagnostics/diagnostics.js';
import type { EventSink } from '../events/events.js';
import type { ProjectOptions } from '../commands/context.js';
import { openProject } from '../commands/open-project.js';

/**
 * `pipe ui`: serves a page to look at the project's runs, lineage and models, until stopped.
 * Read-only unless `allowActions`, and on this machine's loopback unless `host` says otherwise (a warning then says
 * who can reach it: anyone who can reach that address, with no password).
 */

export interface UiOptions extends ProjectOptions {
  readonly host?: string;
  readonly port?: number;
  /** Open the page in the system's browser. */
  readonly open?: boolean;
  /** Let the page start runs: retry a run, backfill a range. */
  readonly allowActions?: boolean;
  /** The folder of the built page (tests). */
  readonly assets?: string;
  readonly signal: AbortSignal;
  readonly emit?: EventSink;
}

export async function ui(options: UiOptions): Promise<void> {
  // A folder that is no project is refused before anything listens.
  openProject(options);
  const { startUiServer, isLoopback, DEFAULT_UI_HOST, DEFAULT_UI_PORT, UiAssetsMissing } = await import('./server/server.js');
  const host = options.host ?? DEFAULT_UI_HOST;
  const port = options.port ?? DEFAULT_UI_PORT;
  // Node listens on every interface for an empty host: an unset variable would expose the project.
  if (host.trim() === '') {
    throw new DiagnosticError([error('ui-host', `--host is empty: pipe ui would listen on every interface`, undefined, { hint: `leave --host out for ${DEFAULT_UI_HOST}, or name the address, e.g. --host 0.0.0.0 for every interface` })]);
  }
  let server;
  try {
    server = await startUiServer({ ...options, host, port });
  } catch (e) {
    if (e instanceof UiAssetsMissing) throw new DiagnosticError([error('ui-not-built', e.message)]);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new DiagnosticError([error('ui-port', `port ${port} on ${host} is in use`, undefined, { hint: 'pass another --port, or --port 0 for any free port' })]);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') throw new DiagnosticError([error('ui-host', `cannot listen on ${host}: no such address on this machine`)]);
    if (code === 'EACCES') throw new DiagnosticError([error('ui-port', `port ${port} needs privileges pipe does not have`, undefined, { hint: 'pass a --port above 1023' })]);
    throw e;
  }
  // Told once it listens: an address it cannot listen on is refused without a warning first.
  if (!isLoopback(host)) {
    options.emit?.({
      type: 'diagnostic',
      diagnostic: warning('ui-exposed', `pipe ui listens on ${host}: anyone who can reach this address sees the project's models, SQL, runs and table rows${options.allowActions ? ', and can start runs' : ''}, with no password`),
    });
  }
  options.emit?.({ type: 'notice', message: `pipe ui at ${server.url} (Ctrl-C stops it)` });
  if (options.open) openBrowser(server.url, options.emit);
  await new Promise<void>((res) => {
    if (options.signal.aborted) res();
    options.signal.addEventListener('abort', () => res(), { once: true });
  });
  await server.close();
}

/** The system's way to open a URL; a failure to is told, never fatal: the URL is printed. */
function openBrowser(url: string, emit: EventSink | undefined): void {
  const [command, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  const child = spawn(command, args, { stdio: 'ignore', detached: true });
  child.on('error', () => emit?.({ type: 'notice', message: `could not open a browser (${command}): open ${url} yourself` }));
  child.unref();
}
