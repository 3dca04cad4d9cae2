import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import nunjucks from 'nunjucks';
import { installJinjaSyntax } from './jinja/syntax.js';
import { programFromNunjucks } from './jinja/program.js';
import { distUrl } from '../install-paths.js';

/**
 * Templates made into programs (see jinja/program.ts), or where they have none compiled by
 * Nunjucks' compiler (lexer, parser, compiler to JavaScript), on several threads at once, for
 * the templates a cold compile finds in no pack: worker threads take batches of templates
 * from one shared counter until none is left. Synchronous to its caller (analysis is): the
 * main thread blocks until the workers' batches are in. What crosses threads is text (no
 * AST): a program's JSON, or the code the main thread's compiler writes (the workers install
 * the same Jinja syntax into the same Nunjucks), and V8's code cache of that code.
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
  /**
   * Whether the template is made into a program from Nunjucks' tree (see jinja/program.ts) when
   * it can be, rather than compiled: its caller has found that pipe's own parser declines it.
   */
  readonly program: boolean;
}

/** Below this many templates, threads cost more to start than they save. */
export const MIN_PARALLEL_TEMPLATES = 48;
const BATCH = 32;
/** With no batch finished for this long by a worker that has not exited, its batches are compiled on the main thread. */
const STALL_MS = 30_000;

/** Worker threads that compile many templates: PIPE_COMPILE_THREADS, else the machine's parallelism; 1: the main thread alone, no workers. */
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

/** One template's program as JSON, or its code (null where neither was made: it does not parse or compile). */
function makeOne(job: CompileJob, asyncFilters: readonly string[]): { readonly program: string | null; readonly code: string | null } {
  const program = job.program && asyncFilters.length === 0 ? programFromNunjucks(job.source, job.path, job.opts) : undefined;
  if (program) return { program: JSON.stringify(program), code: null };
  return { program: null, code: compileOne(job, asyncFilters) ?? null };
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
  /** 1 where a template is made into a program when it can be. */
  readonly programs: Uint8Array;
  readonly opts: readonly object[];
  readonly asyncFilters: readonly string[];
}

/** One batch's programs and code, in the order of its templates. */
export interface BatchResult {
  readonly batch: number;
  /** A template's program (JSON); null where it has none. */
  readonly programs: readonly (string | null)[];
  /** A template's code; null where it has a program, or did not compile. */
  readonly code: readonly (string | null)[];
  /** A worker's V8 code cache of the batch's script (see batchScript), its render functions compiled. */
  readonly codeCache?: Uint8Array;
}

/**
 * One script of a batch's code: an array of functions (null for a template without code),
 * each with a template's code as its body, as a pack's script is (template-code-cache.ts).
 */
function batchScript(code: readonly (string | null)[]): string {
  return `[\n${code.map((c) => (c === null ? 'null' : `function () {\n${c}\n}`)).join(',\n')}\n]`;
}

/** Throws on any use: what a render function is called with to make V8 compile it without it doing anything. */
const TRAP: unknown = new Proxy(function trap() {}, {
  get() {
    throw new Error('not rendered');
  },
  apply() {
    throw new Error('not rendered');
  },
});

/**
 * V8's code cache of a batch's script with each template's render function compiled: V8
 * compiles a function when it is first called, so each is called with arguments that throw
 * on their first use (the generated code reaches nothing but its arguments). Compiling the
 * JavaScript cost the main thread about as much as Nunjucks' compiler; reading this costs a
 * fifth of it. Undefined when the script does not run (its templates are then compiled on
 * the main thread as V8 needs them).
 */
function codeCacheOf(code: readonly (string | null)[]): Uint8Array | undefined {
  try {
    const script = new Script(batchScript(code));
    const made: unknown = script.runInThisContext();
    if (!Array.isArray(made)) return undefined;
    for (const fn of made) {
      try {
        if (typeof fn === 'function') (fn() as { root: (...args: unknown[]) => unknown }).root(TRAP, TRAP, TRAP, TRAP, TRAP);
      } catch {
        // The trap, as intended.
      }
    }
    return script.createCachedData();
  } catch {
    return undefined;
  }
}

function batchCount(shared: SharedJobs): number {
  return Math.ceil(shared.paths.length / BATCH);
}

/** Takes batches until none is left, giving each batch's code (with its V8 code cache when `codeCache`) to `done`. */
export function compileBatches(shared: SharedJobs, done: (result: BatchResult) => void, codeCache = false): void {
  installJinjaSyntax();
  const decoder = new TextDecoder();
  const batches = batchCount(shared);
  for (let batch = Atomics.add(shared.control, 0, 1); batch < batches; batch = Atomics.add(shared.control, 0, 1)) {
    const programs: (string | null)[] = [];
    const code: (string | null)[] = [];
    for (let i = batch * BATCH; i < Math.min((batch + 1) * BATCH, shared.paths.length); i++) {
      const source = decoder.decode(shared.text.subarray(shared.offsets[i], shared.offsets[i + 1]));
      const made = makeOne({ path: shared.paths[i], source, opts: shared.opts[shared.optsOf[i]], program: shared.programs[i] === 1 }, shared.asyncFilters);
      programs.push(made.program);
      code.push(made.code);
    }
    const cache = codeCache && code.some((c) => c !== null) ? codeCacheOf(code) : undefined;
    done({ batch, programs, code, ...(cache ? { codeCache: cache } : {}) });
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
  const programs = new Uint8Array(new SharedArrayBuffer(Math.max(1, jobs.length)));
  jobs.forEach((j, i) => (programs[i] = j.program ? 1 : 0));
  jobs.forEach((j, i) => {
    const key = JSON.stringify(j.opts);
    let at = keys.indexOf(key);
    if (at < 0) at = keys.push(key) - 1;
    opts[at] = j.opts;
    optsOf[i] = at;
  });
  return { control: new Int32Array(new SharedArrayBuffer(12)), text, offsets, paths: jobs.map((j) => j.path), optsOf, programs, opts, asyncFilters };
}

/** The built worker's script in dist/: none when pipe runs from its TypeScript sources. */
function workerScript(): string | undefined {
  const script = fileURLToPath(distUrl('analyze/template-compile-worker.js'));
  return existsSync(script) ? script : undefined;
}

/** What compileTemplates did: how a test shows that workers compiled. */
export interface CompileReport {
  /** Templates compiled by worker threads. */
  readonly byWorkers: number;
  /** Batches whose script V8 made from a worker's code cache. */
  readonly codeCacheHits: number;
}

/** A compiled template: its code, and that code as a function (what `new Function(code)` gives). */
export interface CompiledCode {
  readonly code: string;
  readonly fn: () => unknown;
}

/** A template made into a program: the program's JSON. */
export interface MadeProgram {
  readonly program: string;
}

/**
 * Each job compiled (undefined where it did not compile), on `threads` worker threads while
 * this one waits: a batch compiled here would leave V8 to compile its JavaScript here too, as
 * it renders, which a worker's batch does not (see codeCacheOf). Fewer than
 * MIN_PARALLEL_TEMPLATES, one thread, or more than 255 sets of options: all on this one.
 */
export function compileTemplates(
  jobs: readonly CompileJob[],
  asyncFilters: readonly string[],
  threads = compileThreads(),
): { readonly compiled: (CompiledCode | MadeProgram | undefined)[]; readonly report: CompileReport } {
  const script = workerScript();
  const shared = share(jobs, asyncFilters);
  const batches = batchCount(shared);
  const workers = script && threads > 1 && jobs.length >= MIN_PARALLEL_TEMPLATES && shared.opts.length <= 255 ? Math.min(threads, batches) : 0;
  const results: (BatchResult | undefined)[] = new Array(batches);
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
  if (ports.length === 0) compileBatches(shared, (result) => (results[result.batch] = result));
  // Wait until every batch is done, or every worker has exited (or stalled): what is missing is compiled below.
  for (let seen = Atomics.load(shared.control, 1); seen < batches && Atomics.load(shared.control, 2) < ports.length; seen = Atomics.load(shared.control, 1)) {
    if (Atomics.wait(shared.control, 1, seen, STALL_MS) === 'timed-out') break;
  }
  let byWorkers = 0;
  for (const port of ports) {
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
      const result = m.message as BatchResult;
      results[result.batch] = result;
      byWorkers += result.code.length;
    }
    port.close();
  }
  const compiled: (CompiledCode | MadeProgram | undefined)[] = [];
  let codeCacheHits = 0;
  for (let batch = 0; batch < batches; batch++) {
    const first = batch * BATCH;
    const result = results[batch] ?? here(jobs.slice(first, first + BATCH), asyncFilters);
    const { code, programs } = result;
    const made = code.some((c) => c !== null) ? batchFunctions(code, result.codeCache) : { functions: [], fromCodeCache: false };
    if (made.fromCodeCache) codeCacheHits += 1;
    code.forEach((c, i) => {
      const program = programs[i];
      if (program !== null) compiled.push({ program });
      else compiled.push(c === null ? undefined : { code: c, fn: made.functions[i] ?? (new Function(c) as () => unknown) }); // eslint-disable-line no-new-func
    });
  }
  return { compiled, report: { byWorkers, codeCacheHits } };
}

/** A batch made on this thread (no worker made it). */
function here(jobs: readonly CompileJob[], asyncFilters: readonly string[]): Omit<BatchResult, 'batch'> {
  const made = jobs.map((job) => makeOne(job, asyncFilters));
  return { programs: made.map((m) => m.program), code: made.map((m) => m.code) };
}

/** A batch's code as functions, through one script (V8 reads a worker's code cache of it when there is one). */
function batchFunctions(code: readonly (string | null)[], codeCache: Uint8Array | undefined): { functions: readonly ((() => unknown) | undefined)[]; fromCodeCache: boolean } {
  try {
    const script = new Script(batchScript(code), codeCache ? { cachedData: Buffer.from(codeCache.buffer, codeCache.byteOffset, codeCache.byteLength) } : {});
    const functions: unknown = script.runInThisContext();
    if (!Array.isArray(functions) || functions.length !== code.length) return { functions: [], fromCodeCache: false };
    return { functions: functions.map((f) => (typeof f === 'function' ? (f as () => unknown) : undefined)), fromCodeCache: codeCache !== undefined && !script.cachedDataRejected };
  } catch {
    return { functions: [], fromCodeCache: false };
  }
}
