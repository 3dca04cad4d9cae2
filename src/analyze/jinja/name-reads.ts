import nunjucks from 'nunjucks';

/**
 * Which names a render looks up beyond its own variables: the context's (`ds`, `this`) and the
 * globals (`ref`, `var`, a macro, `env_var`, `run_query`). Every name a template reads that it
 * did not bind itself goes through Nunjucks' contextOrFrameLookup, in the code Nunjucks compiles
 * (macros too) and in programs (run-program.ts) alike: wrapped once here, it tells the reads to
 * whoever is recording. What a render read decides whether its output may be kept between
 * processes (see render-cache.ts): a render that read only names whose values the cache's key
 * holds gives the same output for the same key.
 */

interface Frame {
  lookup(name: string): unknown;
}
interface Context {
  lookup(name: string): unknown;
}

const runtime = (nunjucks as unknown as { runtime: { contextOrFrameLookup: (context: Context, frame: Frame, name: string) => unknown } }).runtime;

let reads: Set<string> | undefined;

// Wraps the lookup as it stands when this module loads, whatever was installed before:
// Nunjucks' own, or its Jinja layer's (True, False and None, see syntax.ts), which replacing it
// lost in a process that installed that layer first. A name the frames do not hold is read.
const lookup = runtime.contextOrFrameLookup;
runtime.contextOrFrameLookup = (context: Context, frame: Frame, name: string): unknown => {
  if (reads && frame.lookup(name) === undefined) reads.add(name);
  return lookup(context, frame, name);
};

/** `fn`'s value and the names it looked up in contexts and globals; nested recordings add to the outer one. */
export function recordingNames<T>(fn: () => T): { readonly value: T; readonly names: ReadonlySet<string> } {
  const outer = reads;
  const mine = new Set<string>();
  reads = mine;
  try {
    return { value: fn(), names: mine };
  } finally {
    reads = outer;
    if (outer) for (const n of mine) outer.add(n);
  }
}

/** `fn` run with no recording: what the renderer asks of a macro on its own account (a schema's name), not what the template read. */
export function unrecorded<T>(fn: () => T): T {
  const outer = reads;
  reads = undefined;
  try {
    return fn();
  } finally {
    reads = outer;
  }
}

/** Names read without a lookup (a simple template's, see simple-template.ts), told to the recording in progress. */
export function noteNames(names: Iterable<string>): void {
  if (reads) for (const n of names) reads.add(n);
}
