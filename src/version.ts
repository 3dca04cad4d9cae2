import { readFileSync } from 'node:fs';
import { distUrl } from './install-paths.js';

/** pipe's version, from its package.json. */
export const PIPE_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(distUrl('../package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

/**
 * pipe's version and the build's identity (the hash of the sources it was built from, written
 * by scripts/build-cli.mjs): the key of what pipe keeps between processes, which another build
 * of the same version number must not trust. The version alone where no build wrote one.
 */
export const PIPE_BUILD: string = (() => {
  try {
    const id = readFileSync(distUrl('build-id'), 'utf8').trim();
    return /^[0-9a-f]{16,}$/.test(id) ? `${PIPE_VERSION}+${id.slice(0, 16)}` : PIPE_VERSION;
  } catch {
    return PIPE_VERSION;
  }
})();
