import { resolve } from 'node:path';
import type { InitResult } from '../commands/init.js';
import { shellPath } from '../util/shell-word.js';

/** What `pipe init` prints: the files it wrote, and the commands that build and check the project. */
export function formatInit(r: InitResult, cwd = process.cwd()): string {
  const here = resolve(cwd) === r.root;
  const width = Math.max(...r.files.map((f) => f.path.length));
  return [
    `Created a pipe project in ${here ? 'this folder' : r.dir}:`,
    ...r.files.map((f) => `  ${f.path.padEnd(width)}  ${f.about}`),
    '',
    'Build it for a day the seed covers, then run its checks again:',
    `  ${here ? '' : `cd ${shellPath(r.dir)} && `}pipe run --date ${r.date}`,
    `  pipe test --date ${r.date}`,
    '',
  ].join('\n');
}
