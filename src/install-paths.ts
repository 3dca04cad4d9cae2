/**
 * Where pipe's built files are found at run time. The CLI runs as one bundle
 * (scripts/build-cli.mjs writes it to dist/cli/main.js, beside the compiled modules): code
 * in it cannot find a file relative to its own module, so the bundle says where dist/ is
 * before anything else runs. Without a bundle (the compiled modules, or the TypeScript
 * sources under test), dist/ is this module's own folder (src/ for the sources).
 */

declare global {
  // Set by the bundle's first line.
  var __pipeDist: string | undefined;
}

const DIST = globalThis.__pipeDist ?? new URL('./', import.meta.url).href;

/** Whether this code runs from the CLI's bundle. */
export const BUNDLED = globalThis.__pipeDist !== undefined;

/** A file or folder of pipe's install, relative to dist/ (`../package.json` is the package's). */
export function distUrl(path: string): URL {
  return new URL(path, DIST);
}
