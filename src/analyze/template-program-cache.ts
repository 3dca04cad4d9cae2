import { readFileSync } from 'node:fs';
import { PackStore, sha256 } from '../project/pack-store.js';
import { createRequire } from 'node:module';
import { PROGRAM_MODULE, type Program } from './jinja/program.js';
import { JINJA_SYNTAX_MODULE } from './jinja/syntax.js';
import { TEMPLATE_PARSER_MODULE } from './jinja/template-parser.js';
import { isProgram } from './jinja/program-check.js';

/**
 * The programs (see jinja/program.ts) of the templates pipe's own parser declines, made from
 * Nunjucks' tree, kept between processes so that such a template is not parsed again:
 * `<warehouse folder>/.pipe/<warehouse file>/programs/`, beside the compiled code of the
 * templates that have none (template-code-cache.ts). A template pipe's parser takes is parsed
 * again each time: reading its program back costs as much (measured at 10,000 and 50,000
 * models), and keeping every program would hold megabytes of packs for nothing.
 *
 * An entry is found by the hash of the template's code-cache key (the compiler, the
 * environment's options, the path and the text) and of the module that makes programs, and
 * holds the program as JSON, or `null` for a template Nunjucks compiles (so that it is not
 * parsed again to find that out). Never trusted: an entry whose hash does not match, that is
 * not JSON, or whose program is not whole (isProgram) is refused, and the template parsed again.
 */

const FORMAT = 'pipe-template-program 1';

let fingerprint: string | null | undefined;

/** The module that makes programs from Nunjucks' tree, read once per process; undefined when it cannot be read (nothing is kept then). */
function programFingerprint(): string | undefined {
  if (fingerprint === undefined) {
    try {
      // The programs are made from trees that pipe's parser, or Nunjucks' as pipe changes it, reads: each decides them too.
      const nunjucksParser = createRequire(import.meta.url).resolve('nunjucks/src/parser.js');
      const modules = [PROGRAM_MODULE, TEMPLATE_PARSER_MODULE, JINJA_SYNTAX_MODULE].map((m) => readFileSync(new URL(m), 'utf8'));
      fingerprint = sha256([FORMAT, ...modules, readFileSync(nunjucksParser, 'utf8')].join('\0'));
    } catch {
      fingerprint = null;
    }
  }
  return fingerprint ?? undefined;
}

/** The key of a template's program, from the key of its code (templateKey). */
export function programKey(codeKey: string): string | undefined {
  const made = programFingerprint();
  return made === undefined ? undefined : sha256(`${made}\0${codeKey}`);
}

export class TemplateProgramCache extends PackStore {
  constructor(dir: string, now: () => number = Date.now) {
    super(dir, FORMAT, now);
  }

  /** The program kept under `key`; null: the template has none (Nunjucks compiles it); undefined: nothing sound is kept. */
  load(key: string): Program | null | undefined {
    for (let text = this.read(key); text !== undefined; text = this.read(key)) {
      try {
        const value: unknown = JSON.parse(text);
        if (value === null || isProgram(value)) return value;
      } catch {
        // Not JSON: refused below.
      }
      this.reject(key);
    }
    return undefined;
  }

  /** Keeps a template's program, or that it has none. */
  keep(key: string, program: Program | null): void {
    this.keepText(key, program === null ? 'null' : JSON.stringify(program));
  }

  /** Keeps a program's JSON as a worker thread made it. */
  keepText(key: string, json: string): void {
    this.write(key, json);
  }
}
