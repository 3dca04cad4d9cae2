import type { IncomingMessage, ServerResponse } from 'node:http';
import { retryCommandFor } from '../../commands/lifecycle.js';
import type { ProjectOptions } from '../../commands/context.js';
import { UI_RUN_STATUSES, type UiActions, type UiChanges, type UiGraph, type UiModel, type UiPreview, type UiRunDetail, type UiRuns, type UiRunStatus, type UiStarted } from '../api.js';
import { backfillArgs, startPipe, type Actions } from './actions.js';
import { analysisKeep, asProblem, openAnalyzed, openState, problemText, readGraph, readModel, readPreview, UiProblem, warehouseOfProject } from './project-data.js';
import type { CoverageProcesses } from './coverage-process.js';
import { groupFailures, readRun, readRuns, runToRetry } from './run-data.js';
import { EventStream, followHolder, followRunLog, followRuns, liveState } from './sse.js';
import { secrets } from '../../secrets/secrets.js';

/**
 * The server's routes. Every route says what it may do: `read` routes change nothing; `action`
 * routes start a run, answered only to POST, only when the UI was started with
 * --allow-actions, and only with the token the page reads from the server (which a page of
 * another site cannot read).
 */

export type Access = 'read' | 'action';

export type Answer =
  | { readonly kind: 'json'; readonly status: number; readonly body: unknown }
  /** JSON as another pipe process printed it, masked there (see coverage-process.ts). */
  | { readonly kind: 'json-text'; readonly status: number; readonly text: string }
  /** A stream of server-sent events, which the route writes until the client leaves. */
  | { readonly kind: 'events'; readonly start: (stream: EventStream) => void };

export interface Route {
  readonly method: 'GET' | 'POST';
  readonly access: Access;
  /** The path, its parameters as capture groups. */
  readonly path: RegExp;
  answer(params: readonly string[], query: URLSearchParams, body: unknown): Promise<Answer>;
}

type JsonAnswer = Extract<Answer, { kind: 'json' }>;

const json = (body: unknown, status = 200): JsonAnswer => ({ kind: 'json', status, body });

/** How many runs the runs page lists by default. */
export const DEFAULT_RUNS = 25;

export function apiRoutes(options: ProjectOptions, actions: Actions, coverage: CoverageProcesses): Route[] {
  const retryCommand = retryCommandFor(options);
  // The graph and the model pages analyze the project at each request: a project of
  // thousands of models renders again only what changed.
  const keep = analysisKeep();
  // The first analysis starts with the server, so the first page does not wait for all of it.
  setImmediate(() => {
    try {
      openAnalyzed(options, keep);
    } catch {
      // A project with errors: the page's request analyzes it again and says what is wrong.
    }
  });
  return [
    {
      method: 'GET',
      access: 'read',
      path: /^\/api\/actions$/,
      async answer() {
        return json((actions.allowed ? { allowed: true, token: actions.token } : { allowed: false, token: null }) satisfies UiActions);
      },
    },
    {
      method: 'POST',
      access: 'action',
      // A run id starts with its date: one starting with - would be read by pipe retry as an option.
      path: /^\/api\/runs\/(\w[\w.-]*)\/retry$/,
      async answer([runId]) {
        return json((await startPipe(actions, options, ['retry', runId])) satisfies UiStarted, 202);
      },
    },
    {
      method: 'POST',
      access: 'action',
      path: /^\/api\/backfill$/,
      async answer(_params, _query, body) {
        return json((await startPipe(actions, options, backfillArgs(body))) satisfies UiStarted, 202);
      },
    },
    {
      method: 'GET',
      access: 'read',
      path: /^\/api\/runs$/,
      async answer(_params, query) {
        const asked = query.get('limit');
        if (asked !== null && !/^[1-9]\d*$/.test(asked)) throw new UiProblem(`'${asked}' is not a number of runs (a whole number from 1; at most 200 are given)`, 400);
        const limit = Math.min(200, asked === null ? DEFAULT_RUNS : Number(asked));
        const before = query.get('before') ?? undefined;
        if (before !== undefined && !/^[\w.-]+$/.test(before)) throw new UiProblem(`'${before}' is not a run id`, 400);
        const status = query.get('status') || undefined;
        const statuses = status?.split(',');
        const unknown = statuses?.find((s) => !(UI_RUN_STATUSES as readonly string[]).includes(s));
        if (unknown !== undefined) throw new UiProblem(`'${unknown}' is not a run status (${UI_RUN_STATUSES.join(', ')})`, 400);
        const { at, info } = openState(options);
        const { source, value } = await readRuns(at, limit, { before, statuses: statuses as UiRunStatus[] | undefined });
        return json({ project: info, source, runs: value.runs, older: value.older } satisfies UiRuns);
      },
    },
    {
      method: 'GET',
      access: 'read',
      path: /^\/api\/runs\/([\w.-]+)$/,
      async answer([runId]) {
        const { at, info, fileOf } = openState(options);
        const { source, value } = await readRun(at, runId);
        if (!value) throw new UiProblem(`no run '${runId}' in ${at.warehouse}${source.kind === 'run-log' ? ' (read from its run logs: the warehouse is in use)' : ''}`, 404);
        const retryRun = runToRetry(value.run, value.tasks);
        const detail: UiRunDetail = {
          project: info,
          source,
          run: value.run,
          tasks: value.tasks,
          failures: groupFailures(value.tasks, value.locations, fileOf),
          checks: value.checks,
          retry: retryRun === null ? null : retryCommand(retryRun),
          retry_run: retryRun,
        };
        return json(detail);
      },
    },
    {
      method: 'GET',
      access: 'read',
      path: /^\/api\/graph$/,
      async answer() {
        const opened = openAnalyzed(options, keep);
        const { source, value } = await readGraph(opened);
        return json({ project: opened.info, source, nodes: value, problems: opened.problems.map(problemText) } satisfies UiGraph);
      },
    },
    {
      method: 'GET',
      access: 'read',
      path: /^\/api\/models\/([^/]+)$/,
      async answer([name]) {
        const { value } = await readModel(options, openAnalyzed(options, keep), name, keep);
        return json(value satisfies UiModel);
      },
    },
    {
      method: 'GET',
      access: 'read',
      path: /^\/api\/models\/([^/]+)\/preview$/,
      async answer([name]) {
        return json((await readPreview(options, name)) satisfies UiPreview);
      },
    },
    {
      method: 'GET',
      access: 'read',
      path: /^\/api\/coverage$/,
      async answer(_params, query) {
        const range = { start: query.get('start') ?? undefined, end: query.get('end') ?? undefined };
        return { kind: 'json-text', ...(await coverage.read(range)) };
      },
    },
    {
      method: 'GET',
      access: 'read',
      path: /^\/api\/changes$/,
      async answer(_params, query) {
        const warehouse = warehouseOfProject(options);
        const { runId, holder } = followed(query);
        return json(liveState(warehouse, { run: runId ?? undefined, free: holder ?? undefined }) satisfies UiChanges);
      },
    },
    {
      method: 'GET',
      access: 'read',
      path: /^\/api\/live$/,
      async answer(_params, query) {
        const warehouse = warehouseOfProject(options);
        const { runId, holder } = followed(query);
        if (holder !== null) {
          // The holder's run goes on (`runs`) until its process is gone (`free`).
          return {
            kind: 'events',
            start: (stream) => {
              followRuns(stream, warehouse);
              followHolder(stream, holder);
            },
          };
        }
        return { kind: 'events', start: (stream) => (runId === null ? followRuns(stream, warehouse) : followRunLog(stream, warehouse, runId)) };
      },
    },
  ];
}

/** What a page follows: a run (`run=ID`) and a process holding the warehouse (`free=PID`), each checked. */
function followed(query: URLSearchParams): { runId: string | null; holder: number | null } {
  const runId = query.get('run');
  if (runId !== null && !/^[\w.-]+$/.test(runId)) throw new UiProblem(`'${runId}' is not a run id`, 400);
  const holder = query.get('free');
  if (holder !== null && !/^[1-9]\d*$/.test(holder)) throw new UiProblem(`'${holder}' is not a process id`, 400);
  return { runId, holder: holder === null ? null : Number(holder) };
}

/** Answers a request with its route, or 404/405; pipe's own errors become `{ error }` answers. */
export async function answerApi(routes: readonly Route[], actions: Actions, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const matches = routes.map((r) => ({ route: r, m: r.path.exec(url.pathname) })).filter((x) => x.m !== null);
  if (matches.length === 0) return send(res, json({ error: `no such endpoint: ${url.pathname}` }, 404));
  const hit = matches.find((x) => x.route.method === req.method);
  if (!hit) return send(res, json({ error: `${req.method} is not allowed on ${url.pathname}: ${matches.some((x) => x.route.method === 'POST') ? 'it is an action, sent with POST' : 'it only reads'}` }, 405));
  if (hit.route.access === 'action') {
    const refused = refusedAction(actions, req);
    if (refused) return send(res, json({ error: refused }, 403));
  }
  let params: string[];
  try {
    params = hit.m!.slice(1).map(decodeURIComponent);
  } catch {
    return send(res, json({ error: `${url.pathname} is not a well-formed path` }, 400));
  }
  let answer: Answer;
  try {
    answer = await hit.route.answer(params, url.searchParams, req.method === 'POST' ? await readBody(req) : undefined);
  } catch (e) {
    const problem = asProblem(e);
    answer = json({ error: problem.message }, problem.status);
  }
  switch (answer.kind) {
    case 'json':
      return send(res, answer);
    case 'json-text':
      return sendText(res, answer.status, secrets.mask(answer.text));
    case 'events':
      answer.start(new EventStream(req, res));
      return;
    default: {
      const never: never = answer;
      throw new Error(`internal error: answer ${JSON.stringify(never)}`);
    }
  }
}

/** Why an action is not done: the UI does not allow them, or the request is not the page's own. */
function refusedAction(actions: Actions, req: IncomingMessage): string | undefined {
  if (!actions.allowed) return 'this pipe ui only reads: start it with --allow-actions to retry runs and backfill from the page';
  if (req.headers['x-pipe-token'] !== actions.token) return 'this request does not come from the page of this pipe ui (no or a wrong x-pipe-token)';
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== 'null' && URL.parse(origin)?.host !== req.headers.host) return `a page of ${origin} may not act on this pipe ui`;
  return undefined;
}

/** A POST's JSON body (at most 64 KiB); none is `{}`. */
async function readBody(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) {
    text += (chunk as Buffer).toString();
    if (text.length > 65_536) throw new UiProblem('the request is too large', 413);
  }
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UiProblem('the request is not JSON', 400);
  }
}

function send(res: ServerResponse, answer: JsonAnswer): void {
  // What leaves pipe is masked, as printed text is: a model's compiled SQL holds what env_var() and secret_vars rendered.
  sendText(res, answer.status, JSON.stringify(secrets.maskDeep(answer.body)));
}

function sendText(res: ServerResponse, status: number, json: string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(json);
}
