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

const COMMENTS = /--[^\n\r]*|\/\*[\s\S]*?\*\//g;

/** The words every statement of CHANGES holds: text without any (nearly every statement a run sends) is read once, not copied. */
const WORDS = /\b(?:macro|function|database|attach|detach|use|search_path|schema|load|install)\b/i;

export function mayChangeFunctions(sql: string): boolean {
  if (!WORDS.test(sql)) return false;
  const bare = sql.replace(COMMENTS, ' ');
  return CHANGES.some((re) => re.test(sql) || re.test(bare));
}
