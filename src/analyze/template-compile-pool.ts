import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import nunjucks from 'nunjucks';
import { installJinjaSyntax } from './jinja/syntax.js';

/**
 * Nunjucks' compiler (lexer, parser, compiler to JavaScript) run on several threads at once,
 * for the templates a cold compile finds in no pack: the main thread and worker threads take
 * batches of templates from one shared counter until none is left. Synchronous to its caller
 * (analysis is): the main thread compiles batches itself, then blocks until the workers'
 * batches are in. What a thread makes is the code text alone (no AST crosses threads), the
 * same text the main thread's compiler writes: the workers install the same Jinja syntax into
 * the same Nunjucks.
 *
 * A template a worker could not compile comes back as undefined: its caller compiles it again
 * on its own thread, which raises the error exactly as a compile without workers does. A
 * worker that does not start or dies only leaves its batches to the main thread.
 */

/** How Nunjucks' compiler is called for one template (what `compiler.compile` takes besides the text). */
export interface CompileJob {
  readonly path: string;
  readonly source: string;
  /** The environment's options as the template is compiled with them (structured-cloneable). */
  readonly opts: object;
}

/** Below this many templates, threads cost more to start than they save. */
export const MIN_PARALLEL_TEMPLATES = 48;
const BATCH = 32;
/** With no batch finished for this long by a worker that has not exited, its batches are compiled on the main thread. */
const STALL_MS = 30_000;

/** Threads (the main one included) a compile may use: PIPE_COMPILE_THREADS, else the machine's parallelism. 1: no workers. */
export function compileThreads(): number {
  const set = Number(process.env.PIPE_COMPILE_THREADS);
  return Number.isSafeInteger(set) && set >= 1 ? set : availableParallelism();
}

const C = nunjucks as unknown as { compiler: { compile(src: string, asyncFilters: unknown, extensions: unknown, name: string, opts: unknown): string } };

/** The code Nunjucks writes for one template, or undefined when it does not compile. */
function compileOne(job: CompileJob, asyncFilters: readonly string[]): string | undefined {
  try {
    return C.compiler.compile(job.source, asyncFilters, [], job.path, job.opts);
  } catch {
    return undefined;
  }
}

/** What every thread of one compile shares: the jobs, and the counters batches are taken from. */
export interface SharedJobs {
  /** [next batch to take, batches done, workers exited]. */
  readonly control: Int32Array;
  /** The templates' text, UTF-8, one after the other: one copy however many threads read it. */
  readonly text: Uint8Array;
  /** Where each template's text starts in `text`, and (last) where the last one ends. */
  readonly offsets: Int32Array;
  readonly paths: readonly string[];
  /** Which of `opts` each template is compiled with. */
  readonly optsOf: Uint8Array;
  readonly opts: readonly object[];
  readonly asyncFilters: readonly string[];
}

/** One batch's code, in the order of its templates; null where a template did not compile. */
export interface BatchResult {
  readonly batch: number;
  readonly code: readonly (string | null)[];
}

function batchCount(shared: SharedJobs): number {
  return Math.ceil(shared.paths.length / BATCH);
}

/** Takes batches until none is left, giving each batch's code to `done`. */
export function compileBatches(shared: SharedJobs, done: (result: BatchResult) => void): void {
  installJinjaSyntax();
  const decoder = new TextDecoder();
  const batches = batchCount(shared);
  for (let batch = Atomics.add(shared.control, 0, 1); batch < batches; batch = Atomics.add(shared.control, 0, 1)) {
    const code: (string | null)[] = [];
    for (let i = batch * BATCH; i < Math.min((batch + 1) * BATCH, shared.paths.length); i++) {
      const source = decoder.decode(shared.text.subarray(shared.offsets[i], shared.offsets[i + 1]));
      const job = { path: shared.paths[i], source, opts: shared.opts[shared.optsOf[i]] };
      code.push(compileOne(job, shared.asyncFilters) ?? null);
    }
    done({ batch, code });
    Atomics.add(shared.control, 1, 1);
    Atomics.notify(shared.control, 1);
  }
}

function share(jobs: readonly CompileJob[], asyncFilters: readonly string[]): SharedJobs {
  const encoder = new TextEncoder();
  const encoded = jobs.map((j) => encoder.encode(j.source));
  const offsets = new Int32Array(new SharedArrayBuffer(4 * (jobs.length + 1)));
  for (let i = 0; i < encoded.length; i++) offsets[i + 1] = offsets[i] + encoded[i].length;
  const text = new Uint8Array(new SharedArrayBuffer(Math.max(1, offsets[jobs.length])));
  encoded.forEach((bytes, i) => text.set(bytes, offsets[i]));
  const opts: object[] = [];
  const keys: string[] = [];
  const optsOf = new Uint8Array(new SharedArrayBuffer(Math.max(1, jobs.length)));
  jobs.forEach((j, i) => {
    const key = JSON.stringify(j.opts);
    let at = keys.indexOf(key);
    if (at < 0) at = keys.push(key) - 1;
    opts[at] = j.opts;
    optsOf[i] = at;
  });
  return { control: new Int32Array(new SharedArrayBuffer(12)), text, offsets, paths: jobs.map((j) => j.path), optsOf, opts, asyncFilters };
}

/** The built worker's script beside this module: none when pipe runs from its TypeScript sources. */
function workerScript(): string | undefined {
  const script = fileURLToPath(new URL('./template-compile-worker.js', import.meta.url));
  return existsSync(script) ? script : undefined;
}

/** What compileTemplates did: how a test shows that workers compiled. */
export interface CompileReport {
  /** Templates compiled by worker threads. */
  readonly byWorkers: number;
}

/**
 * The code of each job (undefined where it did not compile), made on up to `threads` threads
 * (this one among them). Fewer than MIN_PARALLEL_TEMPLATES, one thread, or more than 255 sets
 * of options: all on this one. `mainThread: false` leaves every batch to the workers while
 * one runs (how a test knows that they compiled).
 */
export function compileTemplates(
  jobs: readonly CompileJob[],
  asyncFilters: readonly string[],
  { threads = compileThreads(), mainThread = true }: { readonly threads?: number; readonly mainThread?: boolean } = {},
): { readonly code: (string | undefined)[]; readonly report: CompileReport } {
  const script = workerScript();
  const shared = share(jobs, asyncFilters);
  const batches = batchCount(shared);
  const workers = script && jobs.length >= MIN_PARALLEL_TEMPLATES && shared.opts.length <= 255 ? Math.max(0, Math.min(threads - 1, batches - 1)) : 0;
  const results: (readonly (string | null)[] | undefined)[] = new Array(batches);
  const ports: MessagePort[] = [];
  for (let i = 0; i < workers; i++) {
    const { port1, port2 } = new MessageChannel();
    try {
      new Worker(script!, { workerData: { shared, port: port2 }, transferList: [port2] }).unref();
      ports.push(port1);
    } catch {
      // Threads unavailable: this thread compiles what the worker would have.
      port1.close();
    }
  }
  if (mainThread || ports.length === 0) compileBatches(shared, ({ batch, code }) => (results[batch] = code));
  // Wait until every batch is done, or every worker has exited (or stalled): what is missing is compiled below.
  for (let seen = Atomics.load(shared.control, 1); seen < batches && Atomics.load(shared.control, 2) < ports.length; seen = Atomics.load(shared.control, 1)) {
    if (Atomics.wait(shared.control, 1, seen, STALL_MS) === 'timed-out') break;
  }
  let byWorkers = 0;
  for (const port of ports) {
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
      const { batch, code } = m.message as BatchResult;
      results[batch] = code;
      byWorkers += code.length;
    }
    port.close();
  }
  const code: (string | undefined)[] = [];
  for (let batch = 0; batch < batches; batch++) {
    const first = batch * BATCH;
    const made = results[batch];
    for (let i = first; i < Math.min(first + BATCH, jobs.length); i++) code.push(made ? (made[i - first] ?? undefined) : compileOne(jobs[i], asyncFilters));
  }
  return { code, report: { byWorkers } };
}
