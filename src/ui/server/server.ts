import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProjectOptions } from '../../commands/context.js';
import { openProject } from '../../commands/open-project.js';
import { Engine } from '../../execute/engine.js';
import { makeActions, PIPE_MAIN } from './actions.js';
import { UI_READER } from './warehouse-access.js';
import { CoverageProcesses } from './coverage-process.js';
import { answerApi, apiRoutes } from './routes.js';
import { distUrl } from '../../install-paths.js';
import { secrets } from '../../secrets/secrets.js';

/**
 * `pipe ui`'s HTTP server: the page's files, built with pipe (`npm run build` bundles
 * src/ui/web/ into dist/ui/web/) and read once at start, and the JSON API of routes.ts. Nothing
 * is fetched from the network, by the server or the page.
 */

export const DEFAULT_UI_PORT = 4180;
export const DEFAULT_UI_HOST = '127.0.0.1';

/** Where the built page is in dist/. */
export const BUILT_ASSETS = fileURLToPath(distUrl('ui/web/'));

export interface UiServerOptions extends ProjectOptions {
  readonly host?: string;
  readonly port?: number;
  /** The folder of index.html and the bundles (default: BUILT_ASSETS). */
  readonly assets?: string;
  /** Serve the routes that start runs (retry, backfill); without, they answer 403. */
  readonly allowActions?: boolean;
  /** The pipe binary actions run (tests; default the one beside this module). */
  readonly pipeBin?: string;
}

export interface UiServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Whether a request's Host names this machine: a loopback name, or, when the UI listens beyond
 * loopback, one of the machine's addresses, its host name or the `--host` it was given (a name
 * with the host name as its first label is not: another site can make such a name). Any other name is a page of another site that points a name of its
 * own at this machine (DNS rebinding), which must not read the project.
 */
export function namesThisMachine(hostHeader: string, listening: string): boolean {
  const h = hostHeader.replace(/^\[|\]$/g, '').toLowerCase();
  if (isLoopback(h)) return true;
  if (isLoopback(listening)) return false;
  if (h === listening.replace(/^\[|\]$/g, '').toLowerCase()) return true;
  const name = hostname().toLowerCase();
  if (h === name) return true;
  return Object.values(networkInterfaces()).some((addresses) => addresses?.some((a) => a.address.toLowerCase() === h));
}

/** Whether a host name or address is this machine's loopback, reachable from no other machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** The built files by name; an error naming the fix when they were never built. */
function loadAssets(dir: string): Map<string, Buffer> {
  if (!existsSync(join(dir, 'index.html'))) {
    throw new UiAssetsMissing(`the page of pipe ui is not built: ${join(dir, 'index.html')} is missing (npm run build makes it)`);
  }
  return new Map(readdirSync(dir).filter((f) => f in TYPES || extname(f) in TYPES).map((f) => [f, readFileSync(join(dir, f))]));
}

export class UiAssetsMissing extends Error {}

/** Starts the server; resolves once it listens (port 0: any free port, told in `url`). */
export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const host = options.host ?? DEFAULT_UI_HOST;
  const assets = loadAssets(options.assets ?? BUILT_ASSETS);
  const actions = makeActions(options.allowActions ?? false, options.pipeBin);
  const coverage = new CoverageProcesses(options.pipeBin ?? PIPE_MAIN, options);
  const routes = apiRoutes(options, actions, coverage);
  const server = createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => {
      // An internal error: told once, without taking the server down.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ error: secrets.mask(`internal error: ${e instanceof Error ? e.message : String(e)}`) }));
    });
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A page of another site that points a name of its own at this machine (DNS rebinding)
    // must not read the project: only requests for a name of this machine are answered.
    const hostHeader = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (!namesThisMachine(hostHeader, host)) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(
        `pipe ui answers only requests for this machine (Host: ${hostHeader || 'none'})${isLoopback(host) ? '' : `: to reach it by another name, start it with --host ${hostHeader || 'NAME'}`}`,
      );
      return;
    }
    const url = new URL(req.url ?? '/', 'http://pipe.invalid');
    if (url.pathname.startsWith('/api/')) return answerApi(routes, actions, req, res, url);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('this UI only reads');
      return;
    }
    const name = url.pathname.startsWith('/assets/') ? url.pathname.slice('/assets/'.length) : 'index.html';
    // Any other path is a page of the app: its router reads the path.
    const body = assets.get(name);
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`no such file: ${url.pathname}`);
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(name)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(options.port ?? DEFAULT_UI_PORT, host, () => {
      server.off('error', rej);
      res();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  // Pages that overlap share one open file: a pipe command waiting to write it is let in (see Engine.open).
  const warehouse = warehousePathOf(options);
  const stopYielding = warehouse === undefined ? () => undefined : Engine.readsBetweenWriters(warehouse, UI_READER);
  return {
    url: `http://${shownHost}:${address.port}/`,
    close: async () => {
      stopYielding();
      await Promise.all([coverage.stop(), closeServer(server)]);
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((res) => {
    // Event streams stay open until their clients leave: end them with the server.
    server.closeAllConnections();
    server.close(() => res());
  });
}

/** The warehouse the project names now; a project that cannot be read names none (its pages say why). */
function warehousePathOf(options: ProjectOptions): string | undefined {
  try {
    return openProject(options).warehousePath;
  } catch {
    return undefined;
  }
}
