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
