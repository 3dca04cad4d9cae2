import { foldedName } from '../sql/sql-text.js';
import { error, warning, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import { csvShape } from '../project/csv-text.js';
import type { SeedSource } from '../project/load-project.js';
import type { InferenceProblem, InferredType } from '../project/seed-inference.js';

/**
 * What a seed's config and its CSV's header say together, before anything runs: whether the
 * file can load into a table whose columns are the header's names, and, in a dbt project, the
 * column types dbt-duckdb gives it. A seed that would load into anything else is refused.
 */

export interface SeedCsvConfig {
  /** The field separator; a comma when absent. */
  readonly delimiter?: string;
  /** dbt's `quote_columns`: false creates the columns with bare names, as dbt-duckdb does. */
  readonly quoteColumns: boolean;
  /** Where quote_columns is set, for its errors. */
  readonly quoteColumnsAt: Location;
  /** Declared column types, by name, and where each is declared. */
  readonly columnTypes: Readonly<Record<string, string>>;
  readonly columnTypeLocations: Readonly<Record<string, Location>>;
  /** A dbt project: undeclared columns get dbt-duckdb's types rather than DuckDB's inference. */
  readonly dbt: boolean;
}

export interface SeedCsv {
  /**
   * The header's column names (none when it has no header), and whether rows follow it;
   * `renamed` when a name is not the file's own (a blank one in a dbt project, named as dbt names it).
   */
  readonly header: { readonly names: readonly string[]; readonly rows: boolean; readonly renamed?: true };
  /** dbt-duckdb's types of the columns column_types does not declare (a dbt project only). */
  readonly inferredTypes: Readonly<Record<string, string>>;
}

/** A name DuckDB's parser takes without quotes (it keeps its case); whether it is a keyword is asked of the engine. */
const BARE_NAME = /^[A-Za-z_\u0080-\u{10FFFF}][A-Za-z0-9_$\u0080-\u{10FFFF}]*$/u;

export function seedCsv(seed: SeedSource, config: SeedCsvConfig, diagnostics: Diagnostic[]): SeedCsv {
  const shape = csvShape(seed.head, config.delimiter ?? ',');
  const problem = shapeProblem(seed, shape, config.delimiter);
  if (problem) diagnostics.push(problem);
  if (shape.kind !== 'header' || problem) return { header: { names: [], rows: false }, inferredTypes: {} };
  // A column the header leaves unnamed (a trailing comma): dbt's CSV reader (agate) names it by
  // its place, a for the first, k for the eleventh; pipe's own projects name every column.
  // With quote_columns false, dbt-duckdb creates the table with the names bare, and DuckDB's
  // parser drops the spaces around one (` output` is output), as its CSV reader does.
  const bare = (n: string) => (config.dbt && !config.quoteColumns ? n.replace(/^[ \t]+|[ \t]+$/g, '') : n);
  const names = config.dbt ? deduplicated(seed, shape.names.map((n, i) => (n.trim() === '' ? unnamed(seed, i, diagnostics) : bare(n))), diagnostics) : shape.names;
  // DuckDB's CSV reader drops the spaces around a header name: a name kept with them (a dbt
  // project's, quoted as dbt-duckdb creates it) is given to it.
  const renamed = names.some((n, i) => n !== shape.names[i] || n.trim() !== n);
  const header = Object.assign({ names, rows: shape.rows }, renamed ? { renamed: true as const } : {});
  const nameProblems = headerNameProblems(seed, names, config);
  diagnostics.push(...nameProblems);
  if (!config.dbt || nameProblems.length > 0) return { header, inferredTypes: {} };

  const declared = new Set(Object.keys(config.columnTypes));
  const inferredTypes: Record<string, string> = {};
  // Every column declared: nothing to infer, and the file need not be read.
  if (names.every((n) => declared.has(n))) return { header, inferredTypes };
  seed.dbtTypes(config.delimiter ?? ',', names.length).forEach((inferred, i) => {
    const column = names[i];
    if (declared.has(column)) return;
    inferredTypes[column] = inferred.type;
    if (inferred.problem) diagnostics.push(inferenceProblem(seed, column, inferred.type, inferred.problem));
  });
  for (const [column, location] of Object.entries(config.columnTypeLocations)) {
    const same = names.find((n) => n !== column && n.toLowerCase() === column.toLowerCase());
    if (same !== undefined && !names.includes(column)) diagnostics.push(casedColumnType(seed, column, same, config.columnTypes[column], inferredTypes[same], location));
  }
  return { header, inferredTypes };
}

/**
 * column_types naming a column in another case (`ZIP` for `zip`): dbt-duckdb matches names
 * exactly, so it types the column as it infers it, and so does pipe, with a warning that says
 * which type that is.
 */
function casedColumnType(seed: SeedSource, column: string, same: string, declaredType: string | undefined, inferred: string | undefined, location: Location): Diagnostic {
  const message = `column_types names '${column}', but the column of ${seed.file} is '${same}': dbt-duckdb matches column names exactly`;
  const named = declaredType?.trim().toUpperCase();
  const typed = inferred === undefined ? '' : named === inferred.toUpperCase() ? `, and types the column ${inferred} as it infers it, the type named` : `, and types the column ${inferred} as it infers it, not ${named}`;
  return warning('unknown-column', message + typed, location, { hint: `write '${same}' for the column to be typed so` });
}

/** A seed file DuckDB would misread, found from its first lines. */
function shapeProblem(seed: SeedSource, shape: ReturnType<typeof csvShape>, delimiter: string | undefined): Diagnostic | undefined {
  const firstLine = { file: seed.file, line: 1 };
  switch (shape.kind) {
    case 'blank':
      return error('bad-csv', `seed ${seed.name} has no header line: the file is empty`, { file: seed.file }, {
        hint: 'the first line of a seed names its columns, e.g. id,name; a file with only that line loads an empty table',
      });
    case 'blank-first-line':
      return error('bad-csv', `seed ${seed.name} has a blank first line: its header must be the first line`, firstLine);
    case 'unterminated-header':
      return error('bad-csv', `the header of seed ${seed.name} opens a quote that is never closed`, firstLine);
    case 'header': {
      if (shape.separator === undefined) return undefined;
      const found = shape.separator === 'tab' ? 'a tab' : `a '${shape.separator}'`;
      const expected = delimiter === undefined ? 'seeds are comma-separated' : `its delimiter is ${delimiterWord(delimiter)}`;
      return error('bad-csv', `the header of seed ${seed.name} is one column with ${found} in it: ${expected}`, firstLine, {
        hint:
          delimiter === undefined
            ? "separate the fields with commas, or set the seed's delimiter (e.g. delimiter: ';'); quote the header if it is one column"
            : "set the seed's delimiter to the file's separator, or quote the header if it is one column",
      });
    }
    default: {
      const never: never = shape;
      throw new Error(`internal error: CSV shape ${JSON.stringify(never)}`);
    }
  }
}

/** agate's name of the unnamed column at `index` (0-based): a ... z, then aa, bb, ...; said as a warning at the header. */
function unnamed(seed: SeedSource, index: number, diagnostics: Diagnostic[]): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const name = letters[index % letters.length].repeat(Math.floor(index / letters.length) + 1);
  diagnostics.push(
    warning('unnamed-column', `column ${index + 1} of the header of seed ${seed.name} has no name: it is loaded as '${name}', the name dbt gives it`, { file: seed.file, line: 1 }, {
      hint: 'name every column in the first line (a trailing comma leaves one unnamed)',
    }),
  );
  return name;
}

/**
 * agate's names for a header that repeats one (`a,a,b`): the second `a` is loaded as `a_2`, a
 * third as `a_3` (and a name taken already gets `_2` after it), each said as a warning at the
 * header, as dbt warns of it. Names equal but for case stay apart here: DuckDB refuses them,
 * and so does dbt-duckdb's load (see headerNameProblems).
 */
function deduplicated(seed: SeedSource, names: readonly string[], diagnostics: Diagnostic[]): string[] {
  const out: string[] = [];
  names.forEach((name, i) => {
    let final = name;
    for (let n = 2; out.includes(final); n++) final = `${name}_${n}`;
    if (final !== name) {
      diagnostics.push(
        warning('duplicate-column', `column ${i + 1} of the header of seed ${seed.name} repeats '${name}': it is loaded as '${final}', the name dbt gives it`, { file: seed.file, line: 1 }, {
          hint: 'give every column its own name',
        }),
      );
    }
    out.push(final);
  });
  return out;
}

/** DuckDB folds the case of ASCII letters only when it compares names: `É` and `é` are two columns. */

const delimiterWord = (d: string): string => (d === '\t' ? 'a tab' : `'${d}'`);

/**
 * Header names DuckDB would not keep as they are (it names a nameless column `column3`, trims
 * spaces, and renames the second of two names equal but for case to `b_1`), and, with
 * quote_columns false, names dbt-duckdb could not create without quotes.
 */
function headerNameProblems(seed: SeedSource, names: readonly string[], config: SeedCsvConfig): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = { file: seed.file, line: 1 };
  const seen = new Map<string, string>();
  names.forEach((name, i) => {
    const which = `column ${i + 1} of the header of seed ${seed.name}`;
    if (name.trim() === '') {
      out.push(error('bad-csv', `${which} has no name`, at, { hint: 'name every column in the first line' }));
      return;
    }
    // A dbt project's keeps them, as dbt-duckdb creates the column quoted; a pipe project's are refused.
    if (name.trim() !== name && !config.dbt) {
      out.push(error('bad-csv', `${which}, '${name}', starts or ends with spaces, which DuckDB would drop from the column's name`, at, { hint: 'remove the spaces' }));
      return;
    }
    const other = seen.get(foldedName(name));
    if (other !== undefined) {
      out.push(
        error('bad-csv', `the header of seed ${seed.name} names two columns '${other}'${other === name ? '' : ` and '${name}': DuckDB does not tell column names apart by case`}`, at, {
          hint: 'give every column its own name',
        }),
      );
      return;
    }
    seen.set(foldedName(name), name);
    if (!config.quoteColumns && !BARE_NAME.test(name)) {
      out.push(
        error('bad-config', `quote_columns is false, and column '${name}' of ${seed.file} cannot be created without quotes: dbt-duckdb would fail to create the table`, config.quoteColumnsAt, {
          hint: 'remove quote_columns: false, or rename the column to letters, digits and underscores',
        }),
      );
    }
  });
  return out;
}

/** A number written with an exponent, which DuckDB reads as a DOUBLE. */
const EXPONENT_NUMBER = /^ *[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+ *$/;

function inferenceProblem(seed: SeedSource, column: string, type: InferredType, problem: InferenceProblem): Diagnostic {
  const at = { file: seed.file, line: problem.at.line };
  const value = JSON.stringify(problem.at.value);
  const declare = (example: string) => `declare the column's type under the seed's column_types, e.g. ${column}: ${example}`;
  switch (problem.kind) {
    case 'uncertain':
      return error('bad-csv', `column ${column}: dbt's type inference reads ${value} as ${type}, which DuckDB cannot be relied on to load as dbt-duckdb does`, at, {
        // A number with an exponent (1e3, 2.5E-3) is one DOUBLE loads; 1,000 or $5 are not.
        hint: EXPONENT_NUMBER.test(problem.at.value) ? `${declare('double')} to load the numbers, or ${column}: varchar to keep the text` : declare('varchar'),
      });
    case 'empty-word':
      return error('bad-csv', `column ${column}: dbt's type inference takes ${value} for an empty field and types the column ${type}, but DuckDB cannot load ${value} as ${type}`, at, {
        hint: `leave the field empty, or ${declare('varchar')}`,
      });
    case 'leading-zero':
      return error('bad-csv', `column ${column}: ${value} would lose its leading zero: dbt-duckdb types the column ${type}`, at, {
        hint: `${declare('varchar')} to keep the text as written (or ${column}: ${type.toLowerCase()} to load numbers)`,
      });
    case 'out-of-range':
      return error('bad-csv', `column ${column}: ${problem.at.value.trim()} does not fit INTEGER, the type dbt-duckdb gives the column`, at, { hint: declare('bigint') });
    case 'utc-offset':
      return error('bad-csv', `column ${column}: ${value} would lose its UTC offset: dbt-duckdb types the column TIMESTAMP, and DuckDB's cast drops the offset`, at, {
        hint: `${declare('timestamptz')} to keep the instant (or ${column}: varchar to keep the text)`,
      });
    default: {
      const never: never = problem;
      throw new Error(`internal error: inference problem ${JSON.stringify(never)}`);
    }
  }
}
