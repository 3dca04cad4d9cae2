import { forEachCsvRow } from './csv-text.js';

/**
 * The column types dbt-duckdb gives a seed, read from the CSV text without a database.
 *
 * dbt-duckdb does not let DuckDB infer a seed's types: dbt reads the whole file with agate,
 * whose type tester keeps, for each column, the first of these types that every value of the
 * column can be read as (a value that is empty or `null`, in any case, once trimmed, fits them
 * all): a number, a date (`%Y-%m-%d`), a date-time (`%Y-%m-%d %H:%M:%S`), an ISO 8601
 * date-time (with a `T`), a boolean (`true` or `false`), else text. dbt-duckdb creates the
 * table with integer (a number without decimals), double, date, timestamp, boolean or varchar
 * columns, then has DuckDB COPY the file's text into it. The values are therefore DuckDB's
 * casts of the file's text to agate's types.
 *
 * pipe reads each value as agate would and as DuckDB will load it. Where the two may not
 * agree, or where dbt-duckdb's table would not hold what the file says, it does not guess:
 * the column gets a problem, and the seed is refused until its type is declared. That is:
 * agate takes a value for the column's type that DuckDB's cast refuses or that pipe cannot be
 * sure of (`1,000`, `$5`, `1e3`, `20240102T0304`, ` true `); a value agate reads as empty that
 * DuckDB does not (`null`, blanks); a number with a leading zero (`01234` would become 1234);
 * an integer column with a value outside INTEGER; an ISO date-time with a UTC offset other
 * than zero (DuckDB's cast to TIMESTAMP would drop it).
 */

export type InferredType = 'INTEGER' | 'DOUBLE' | 'DATE' | 'TIMESTAMP' | 'BOOLEAN' | 'VARCHAR';

/** A value of the file, and the line its row starts on. */
export interface CsvValue {
  readonly value: string;
  readonly line: number;
}

/** Why pipe refuses to load a column as dbt-duckdb would. */
export type InferenceProblem =
  /** agate reads the value as the column's type; DuckDB may not, or not as agate does. */
  | { readonly kind: 'uncertain'; readonly at: CsvValue }
  /** agate reads it as empty; DuckDB's load would refuse it. */
  | { readonly kind: 'empty-word'; readonly at: CsvValue }
  | { readonly kind: 'leading-zero'; readonly at: CsvValue }
  | { readonly kind: 'out-of-range'; readonly at: CsvValue }
  | { readonly kind: 'utc-offset'; readonly at: CsvValue };

export interface InferredColumn {
  readonly type: InferredType;
  readonly problem?: InferenceProblem;
}

type Reading = 'yes' | 'unsure' | 'no';

/** agate's candidate types, in its order of preference. */
const FAMILIES = ['number', 'date', 'datetime', 'iso', 'boolean'] as const;
type Family = (typeof FAMILIES)[number];

/** Values both agate and DuckDB read as the same number (DuckDB trims spaces around it). */
const PLAIN_NUMBER = /^ *[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+) *$/;
/** What agate strips from a number: percent and currency signs (at its ends) and the group separator. */
const NUMBER_DECORATION = /[%؋$ƒ៛¥₡₱£€¢﷼₪₩₭₮₦฿₤₫,]/gu;
const PY_DIGITS = String.raw`\p{Nd}+(?:_\p{Nd}+)*`;
/** Python's Decimal() syntax, after agate's stripping and its own leading minus: every value agate may take for a number. */
const PY_DECIMAL = new RegExp(
  String.raw`^\s*-?\s*[+-]?(?:(?:${PY_DIGITS}(?:\.(?:${PY_DIGITS})?)?|\.${PY_DIGITS})(?:[eE][+-]?${PY_DIGITS})?|inf(?:inity)?|s?nan\p{Nd}*)\s*$`,
  'iu',
);

function readNumber(raw: string): Reading {
  if (PLAIN_NUMBER.test(raw)) return 'yes';
  return PY_DECIMAL.test(raw.replace(NUMBER_DECORATION, '')) ? 'unsure' : 'no';
}

/** Python's strptime patterns for %Y-%m-%d, which it does not anchor at the end (pipe does, and checks the rest). */
const PY_DATE = String.raw`([0-9]{4})-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12][0-9]|0[1-9]|[1-9]| [1-9])`;
const DATE_RE = new RegExp(`^${PY_DATE}$`);
/** %H:%M:%S after any whitespace (strptime's reading of the format's space). */
const DATETIME_RE = new RegExp(String.raw`^${PY_DATE}(\s+)(2[0-3]|[01][0-9]|[0-9]):([0-5][0-9]|[0-9]):(6[01]|[0-5][0-9]|[0-9])$`);
/** Any date-like text with digits of other scripts, which Python reads and DuckDB does not. */
const OTHER_DIGITS_DATE = /^\p{Nd}{4}-\p{Nd}{1,2}-\s?\p{Nd}{1,2}(?:\s+\p{Nd}{1,2}:\p{Nd}{1,2}:\p{Nd}{1,2})?$/u;

/** A day of the proleptic Gregorian calendar from year 1, as Python's dates are. */
function isDate(y: string, m: string, d: string): boolean {
  const [year, month, day] = [Number(y), Number(m), Number(d)];
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return day <= days;
}

/** Padded with anything but spaces, which DuckDB's casts trim and agate's strip too. */
const oddPadding = (raw: string, trimmed: string): boolean => raw.replace(/^ +| +$/g, '') !== trimmed;

function readDate(raw: string, trimmed: string): Reading {
  const m = DATE_RE.exec(trimmed);
  if (!m) return OTHER_DIGITS_DATE.test(trimmed) && /[^\x00-\x7f]/.test(trimmed) ? 'unsure' : 'no';
  if (!isDate(m[1], m[2], m[3])) return 'no';
  return m[3].startsWith(' ') || oddPadding(raw, trimmed) ? 'unsure' : 'yes';
}

function readDatetime(raw: string, trimmed: string): Reading {
  const m = DATETIME_RE.exec(trimmed);
  if (!m) return OTHER_DIGITS_DATE.test(trimmed) && /[^\x00-\x7f]/.test(trimmed) ? 'unsure' : 'no';
  if (!isDate(m[1], m[2], m[3]) || Number(m[7]) > 59) return 'no';
  return m[3].startsWith(' ') || /[^ ]/.test(m[4]) || oddPadding(raw, trimmed) ? 'unsure' : 'yes';
}

/** ISO 8601 date-times DuckDB reads as agate does: extended format, seconds to the microsecond, a zone. */
const PLAIN_ISO = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?$/;
/** Every text isodate's parse_datetime may read: a date of digits, W and signs, a T, a time of digits and zone characters. */
const ISO_LIKE = /^[+\-\p{Nd}W]+T[\p{Nd}:.,Z+-]+$/u;

function readIso(raw: string, trimmed: string): Reading | 'offset' {
  const m = PLAIN_ISO.exec(trimmed);
  if (!m) return ISO_LIKE.test(trimmed) ? 'unsure' : 'no';
  // isodate refuses what is not a day or a time of day (24:00 and leap seconds included).
  if (!isDate(m[1], m[2], m[3]) || Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59) return 'no';
  if (oddPadding(raw, trimmed)) return 'unsure';
  const zone = m[7];
  return zone !== undefined && zone !== 'Z' && /[1-9]/.test(zone) ? 'offset' : 'yes';
}

function readBoolean(raw: string): Reading {
  const lower = raw.toLowerCase();
  if (lower === 'true' || lower === 'false') return 'yes';
  const agate = raw.replaceAll(',', '').trim().toLowerCase();
  return agate === 'true' || agate === 'false' ? 'unsure' : 'no';
}

const TYPE_OF: Readonly<Record<Exclude<Family, 'number'>, InferredType>> = { date: 'DATE', datetime: 'TIMESTAMP', iso: 'TIMESTAMP', boolean: 'BOOLEAN' };
const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

/** What one column's values told so far. */
class ColumnReading {
  private readonly possible = new Set<Family>(FAMILIES);
  private readonly unsure = new Map<Family, CsvValue>();
  private decimals = false;
  private emptyWord?: CsvValue;
  private leadingZero?: CsvValue;
  private outOfRange?: CsvValue;
  private offset?: CsvValue;

  read(raw: string, line: number): void {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.toLowerCase() === 'null') {
      // agate: empty. DuckDB: NULL only for an empty field.
      if (raw !== '') this.emptyWord ??= { value: raw, line };
      return;
    }
    for (const family of [...this.possible]) {
      const reading = this.readAs(family, raw, trimmed, line);
      if (reading === 'no') this.possible.delete(family);
      else if (reading === 'unsure' && !this.unsure.has(family)) this.unsure.set(family, { value: raw, line });
    }
  }

  private readAs(family: Family, raw: string, trimmed: string, line: number): Reading {
    switch (family) {
      case 'number': {
        const reading = readNumber(raw);
        if (reading === 'yes') {
          // agate counts decimals of the normalized number: 1.0 and 0.00 have none.
          this.decimals ||= /\.[0-9]*[1-9]/.test(trimmed);
          if (/^[+-]?0[0-9]/.test(trimmed)) this.leadingZero ??= { value: raw, line };
          const n = Number(trimmed);
          if (n < INT_MIN || n > INT_MAX) this.outOfRange ??= { value: raw, line };
        }
        return reading;
      }
      case 'date':
        return readDate(raw, trimmed);
      case 'datetime':
        return readDatetime(raw, trimmed);
      case 'iso': {
        const reading = readIso(raw, trimmed);
        if (reading !== 'offset') return reading;
        this.offset ??= { value: raw, line };
        return 'yes';
      }
      case 'boolean':
        return readBoolean(raw);
      default: {
        const never: never = family;
        throw new Error(`internal error: agate type ${String(never)}`);
      }
    }
  }

  result(): InferredColumn {
    const family = FAMILIES.find((f) => this.possible.has(f));
    if (family === undefined) return { type: 'VARCHAR' };
    const type = family === 'number' ? (this.decimals ? 'DOUBLE' : 'INTEGER') : TYPE_OF[family];
    const unsure = this.unsure.get(family);
    const problem: InferenceProblem | undefined = unsure
      ? { kind: 'uncertain', at: unsure }
      : this.emptyWord
        ? { kind: 'empty-word', at: this.emptyWord }
        : family === 'number' && this.leadingZero
          ? { kind: 'leading-zero', at: this.leadingZero }
          : type === 'INTEGER' && this.outOfRange
            ? { kind: 'out-of-range', at: this.outOfRange }
            : family === 'iso' && this.offset
              ? { kind: 'utc-offset', at: this.offset }
              : undefined;
    return problem ? { type, problem } : { type };
  }
}

/**
 * dbt-duckdb's type for each of the header's `columns` columns of a seed's text, read at its
 * delimiter. A column without a value (a file with only its header) is an integer, as in dbt.
 */
export function inferSeedTypes(text: string, delimiter: string, columns: number): InferredColumn[] {
  const readings = Array.from({ length: columns }, () => new ColumnReading());
  forEachCsvRow(text, delimiter, (fields, line) => {
    // A row shorter or longer than the header is refused when loading; agate reads what is there.
    for (let i = 0; i < Math.min(fields.length, columns); i++) readings[i].read(fields[i], line);
  });
  return readings.map((r) => r.result());
}
