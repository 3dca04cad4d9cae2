import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { parseDocument, visit } from 'yaml';
import { DiagnosticError, error } from '../diagnostics/diagnostics.js';
import { DBT_PROJECT_FILE } from '../project/layout.js';
import { firstInexactInt, INEXACT_INT_HINT, isWholeFloat, parsePyyaml, type YamlDialect } from '../project/yaml-file.js';
import { WholeFloat } from '../analyze/jinja/values.js';
import { EXIT } from './exit-status.js';

/**
 * The values of `--var` and `--vars`, and run-operation's `--args`, read as YAML as the project
 * reads its own files (see YamlDialect): a dbt project's as dbt reads them, with PyYAML (YAML
 * 1.1: `no` is false, `017` is 15), a pipe project's as YAML 1.2, as pipe.yaml's vars. The
 * command line is read before the project is known: each text is checked as it is collected
 * and read once the project is (varsOf).
 */

/**
 * `--var NAME=VALUE`: the value is read as YAML (numbers, booleans, lists), except that a
 * number which would not print back as written (`007`, `0x1F`, `1e3`) stays the text the user
 * typed, so that no digit is lost. A YAML mapping (`--var '{a: 1, b: x}'`, or `--vars` as dbt
 * spells it) gives several at once, as YAML reads them. Collected as typed.
 */
export function collectVar(value: string, previous: readonly string[] = []): string[] {
  readVar(value, 'pipe');
  return [...previous, value];
}

/** The vars of the texts collected (undefined when none was given), read as the project at `project` reads YAML. */
export function varsOf(texts: readonly string[] | undefined, project: string | undefined): Record<string, unknown> | undefined {
  if (texts === undefined) return undefined;
  const dialect = dialectAt(project);
  return Object.assign({}, ...texts.map((t) => readVar(t, dialect))) as Record<string, unknown>;
}

/** run-operation's --args: a YAML mapping of the macro's keyword arguments, as dbt reads it. */
export function operationArgs(text: string | undefined, project: string | undefined): Record<string, unknown> {
  if (text === undefined || text.trim() === '') return {};
  let value: unknown;
  try {
    value = parseAs(text, dialectAt(project));
  } catch (e) {
    throw new DiagnosticError([error('bad-args', `--args: '${text}' is not YAML: ${(e as Error).message.split('\n')[0]}`)]);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DiagnosticError([error('bad-args', `--args must be a YAML mapping of the macro's arguments, e.g. '{table: orders}', got '${text}'`)]);
  }
  return value as Record<string, unknown>;
}

function dialectAt(project: string | undefined): YamlDialect {
  return existsSync(join(project ?? '.', DBT_PROJECT_FILE)) ? 'pyyaml' : 'pipe';
}

function parseAs(text: string, dialect: YamlDialect): unknown {
  // logLevel error: yaml's warnings would reach the user as Node's (`{{ x }}` is a mapping whose key is a mapping).
  // A key given twice on the command line: the last one, as PyYAML reads it. A whole float
  // (`1.0`) stays a float, as templates read it (`{{ var('rate') }}` prints 1.0).
  const wholeFloat = (value: number) => new WholeFloat(value);
  const doc = dialect === 'pipe' ? parseDocument(text, { logLevel: 'error', uniqueKeys: false }) : parsePyyaml(text, { uniqueKeys: false, wholeFloat });
  if (doc.errors.length > 0) throw doc.errors[0];
  const inexact = firstInexactInt(doc);
  if (inexact) throw new InexactIntError(inexact.message);
  if (dialect === 'pipe') {
    visit(doc, {
      Scalar(_key, scalar) {
        if (isWholeFloat(scalar)) scalar.value = wholeFloat(scalar.value as number);
      },
    });
  }
  return doc.toJS();
}

/**
 * The YAML parser's message: where it ends with a place and a colon, the lines after show the
 * text there with a caret, which are kept, indented under it.
 */
function yamlProblem(message: string): string {
  const [first, ...rest] = message.split('\n');
  const shown = rest.filter((l) => l.trim() !== '');
  if (!first.endsWith(':') || shown.length === 0) return first;
  return `${first.slice(0, -1)}\n${shown.map((l) => `  ${l}`).join('\n')}`;
}

/** A value the YAML gives that pipe cannot hold (see inexactInt). */
class InexactIntError extends Error {}

function readVar(value: string, dialect: YamlDialect): Record<string, unknown> {
  const eq = value.indexOf('=');
  const colon = value.indexOf(':');
  // A mapping: in braces, or in block form as dbt's docs write it (`--vars 'key: value'`), whose first colon comes before any `=`.
  if (value.trimStart().startsWith('{') || (colon > 0 && (eq < 0 || colon < eq))) {
    let mapping: unknown;
    try {
      mapping = parseAs(value, dialect);
    } catch (e) {
      if (e instanceof InexactIntError) throw new CommanderError(EXIT.badInput, 'pipe.badVar', `--var/--vars: ${e.message}; ${INEXACT_INT_HINT}`);
      throw new CommanderError(EXIT.badInput, 'pipe.badVar', `--var/--vars: '${value}' is not a YAML mapping: ${yamlProblem((e as Error).message)}`);
    }
    if (mapping === null || typeof mapping !== 'object' || Array.isArray(mapping)) throw new CommanderError(EXIT.badInput, 'pipe.badVar', `--var/--vars: '${value}' is not a YAML mapping of names to values`);
    return mapping as Record<string, unknown>;
  }
  if (eq <= 0) throw new CommanderError(EXIT.badInput, 'pipe.badVar', `--var/--vars expects NAME=VALUE or a YAML mapping ('{name: value}'), got '${value}'`);
  const text = value.slice(eq + 1);
  let parsed: unknown = text;
  try {
    parsed = parseAs(text, dialect);
  } catch {
    // not YAML: keep the text as it is
  }
  if ((typeof parsed === 'number' && String(parsed) !== text.trim()) || (parsed instanceof WholeFloat && parsed.repr() !== text.trim())) parsed = text;
  // NAME= is the empty text; NAME=null (or ~) is YAML's null, as in --vars '{name: null}'.
  return { [value.slice(0, eq)]: text.trim() === '' ? '' : parsed };
}
