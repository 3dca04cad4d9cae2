import { withoutComments } from '../../sql/sql-text.js';

/**
 * Whether SQL text may change which function DuckDB finds under a name, for the sessions of
 * one database instance, which share what its catalog holds (see state/query-reads.ts
 * readerOf): a macro created or replaced (CREATE MACRO and its synonym CREATE FUNCTION, in any
 * schema, temporary or not) or dropped (a schema dropped with its macros), a database imported or attached (its macros), the default
 * database or schema changed (USE, SET search_path or schema), an extension loaded or
 * installed (functions of its own).
 *
 * It reads words, not a parse, and errs on the side of yes: text that only mentions such a
 * statement (in a string) makes the functions be asked again, one catalog read. It looks at
 * the text as written and with its comments taken out, so that neither a comment between the
 * words nor a string holding `--` hides one. The words are those of a statement's start, not
 * words a query's comments use ("a window function"): a model's query is run inside pipe's own
 * statements with its comments, at every task, and cannot itself change the functions (it is
 * one SELECT); hooks, operations and the statements templates run can.
 */
const CHANGES = [
  /\bcreate\s+(?:or\s+replace\s+)?(?:temp(?:orary)?\s+)?(?:macro|function)\b/i,
  /\bdrop\s+(?:macro|function|schema)\b/i,
  /\bimport\s+database\b/i,
  /\b(?:attach|detach)\s/i,
  /(?:^|;)\s*use\s/i,
  /\bsearch_path\b/i,
  /\bset\s+(?:(?:session|global|local)\s+)?schema\b/i,
  /(?:^|;)\s*(?:force\s+)?(?:load|install)\s/i,
];

/** The words every statement of CHANGES holds: text without any (nearly every statement a run sends) is read once, not copied. */
const WORDS = /\b(?:macro|function|database|attach|detach|use|search_path|schema|load|install)\b/i;

export function mayChangeFunctions(sql: string): boolean {
  if (!WORDS.test(sql)) return false;
  const bare = withoutComments(sql);
  return CHANGES.some((re) => re.test(sql) || re.test(bare));
}

/**
 * Whether text might be a statement that makes or drops a macro, read more loosely than
 * mayChangeFunctions: `create` or `drop`, and later `macro` or `function`, anywhere in it
 * (words of a comment or a string too). A process that sent such text keeps no list of the
 * functions for the next one (see kept-functions.ts): a statement the words above miss would
 * otherwise leave a list that no later process asks again. It costs the next command one
 * question to DuckDB.
 */
export function mayMakeMacros(sql: string): boolean {
  return MAKES_MACROS.test(sql);
}

const MAKES_MACROS = /\b(?:create|drop)\b[\s\S]*?\b(?:macro|function)\b/i;
