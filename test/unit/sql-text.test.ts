import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../src/diagnostics/diagnostics.js';
import { positionOf } from '../../src/diagnostics/diagnostics.js';
import { newlines, ownRelationName, quoteIdent, quoteLiteral, relationName, relationNameParts, siblingRelation, statementStart, stripTrailingSemicolon, withCtes, withoutDates, withoutLayout } from '../../src/sql/sql-text.js';
import { didYouMean, suggest } from '../../src/diagnostics/suggest.js';
import { asPositiveInt, asStringList, checkKeys } from '../../src/analyze/validate-keys.js';

describe('sql-text', () => {
  it('quotes identifiers and literals, doubling embedded quotes', () => {
    expect(quoteIdent('orders')).toBe('"orders"');
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
    expect(quoteLiteral("it's")).toBe("'it''s'");
    expect(quoteLiteral('')).toBe("''");
    expect(relationName('main', 'fct_orders')).toBe('"main"."fct_orders"');
    expect(relationName('my"schema', 't')).toBe('"my""schema"."t"');
  });

  it("names a relation of the warehouse's own database with the database first only where its schema has the database's name", () => {
    expect(ownRelationName('dev', 'analytics', 'a')).toBe('"analytics"."a"');
    // DuckDB cannot tell "dev"."a" (the schema's) from the database dev's a.
    expect(ownRelationName('dev', 'dev', 'a')).toBe('"dev"."dev"."a"');
    expect(ownRelationName('Dev', 'dev', 'a')).toBe('"Dev"."dev"."a"');
    // DuckDB tells main apart (a warehouse main.duckdb).
    expect(ownRelationName('main', 'main', 'a')).toBe('"main"."a"');
  });

  it('reads the parts of a relation name back, and names another relation beside it', () => {
    expect(relationNameParts('"main"."a"')).toEqual(['main', 'a']);
    expect(relationNameParts('"my""db"."s.x"."t"')).toEqual(['my"db', 's.x', 't']);
    expect(siblingRelation('"dev"."dev"."a"', '__stage')).toBe('"dev"."dev"."__stage"');
    expect(siblingRelation('"we""ird"."a"', 'b')).toBe('"we""ird"."b"');
  });

  it('finds where the statement starts after whitespace and comments', () => {
    expect(statementStart('select 1')).toBe(0);
    expect(statementStart('  \n\tselect 1')).toBe(4);
    const sql = '-- one\n  /* two\n three */ -- four\nselect 1';
    expect(sql.slice(statementStart(sql))).toBe('select 1');
    expect(statementStart('-- only a comment')).toBe('-- only a comment'.length);
    expect(statementStart('/* unclosed')).toBe('/* unclosed'.length);
  });

  it('strips one trailing semicolon with what follows it', () => {
    expect(stripTrailingSemicolon('select 1;')).toBe('select 1');
    expect(stripTrailingSemicolon('select 1 ;\n\n')).toBe('select 1 ');
    expect(stripTrailingSemicolon('select 1; -- done')).toBe('select 1');
    expect(stripTrailingSemicolon("select ';' as s")).toBe("select ';' as s");
    expect(stripTrailingSemicolon('select 1')).toBe('select 1');
    // A semicolon and a comment marker inside a string are the query's text, not its end.
    expect(stripTrailingSemicolon("select '1; --' as v")).toBe("select '1; --' as v");
    expect(stripTrailingSemicolon('select 1 as "a; -- b"')).toBe('select 1 as "a; -- b"');
    expect(stripTrailingSemicolon('select 1; /* done */\n')).toBe('select 1');
  });

  it('prepends CTEs, merging into an existing WITH clause after leading comments', () => {
    const ctes = [
      { name: 'a', sql: 'select 1' },
      { name: 'b', sql: 'select 2' },
    ];
    expect(withCtes('select * from a', [])).toBe('select * from a');
    expect(withCtes('select * from a', ctes)).toBe('with "a" as (\nselect 1\n),\n"b" as (\nselect 2\n)\nselect * from a');
    expect(withCtes('-- c\nWITH x AS (select 3) select * from x, a', ctes.slice(0, 1))).toBe(
      '-- c\nwith "a" as (\nselect 1\n),\nx AS (select 3) select * from x, a',
    );
    expect(withCtes('with recursive r as (select 1) select * from r', ctes.slice(0, 1))).toBe(
      'with recursive "a" as (\nselect 1\n),\nr as (select 1) select * from r',
    );
    // A column or table merely named like the keyword is not a WITH clause.
    expect(withCtes('select within from t', ctes.slice(0, 1))).toBe('with "a" as (\nselect 1\n)\nselect within from t');
  });

  it('counts the line breaks of a text, or of its start up to an offset', () => {
    expect(newlines('')).toBe(0);
    expect(newlines('select 1')).toBe(0);
    expect(newlines('-- a\n\nselect 1\n')).toBe(3);
    expect(newlines('-- a\n\nselect 1\n', 5)).toBe(1);
    expect(newlines('-- a\n\nselect 1\n', 6)).toBe(2);
    expect(newlines('-- a\n\nselect 1\n', 0)).toBe(0);
  });

  it('gives 1-based line and column of an offset', () => {
    const text = 'ab\ncde\n\nf';
    expect(positionOf(text, 0)).toEqual({ line: 1, column: 1 });
    expect(positionOf(text, 4)).toEqual({ line: 2, column: 2 });
    expect(positionOf(text, 7)).toEqual({ line: 3, column: 1 });
    expect(positionOf(text, 8)).toEqual({ line: 4, column: 1 });
  });

  it('gives the queries of two dates one shape, and two queries that differ otherwise two', () => {
    const of = (ds: string, nodash: string) => `select * from t where d >= '${ds}' and d < '${ds} 01:00:00' and ts < TIMESTAMP '${ds}T00:00:00Z' and part = '${nodash}'`;
    expect(withoutDates(of('2024-01-05', '20240105'))).toBe(withoutDates(of('2023-12-31', '20231231')));
    expect(withoutDates("select 1 as x where d = '2024-01-05'")).not.toBe(withoutDates("select 2 as x where d = '2024-01-05'"));
    expect(withoutDates('select col_20240105, 123456789')).toBe('select col_20240105, 123456789');
  });

  it("reads a query's layout and comments as DuckDB does: as one space between tokens, never inside a literal", () => {
    const one = "select a, 'x  y' as s from t where b = 1";
    for (const same of [
      "select a,\n  'x  y' as s\nfrom t -- the table\nwhere b = 1\n",
      "select a, /* nested /* comment */ here */ 'x  y' as s from t where b = 1",
      "\r\n\tselect   a,\r\n'x  y' as s from t where b = 1;".slice(0, -1),
    ]) expect(withoutLayout(same)).toBe(withoutLayout(one));
    for (const other of [
      "select a, 'x y' as s from t where b = 1",
      "select a, 'x  y' as s from t where b = 1 -- '\n and c = 2",
      'select a, \'x  y\' as "s " from t where b = 1',
      "select a, 'x  y' as s from t where b = 1\u00a0",
      "select a, 'x  y' as s from t whereb = 1",
      // DuckDB ends a -- comment at a carriage return too (a file with CR line ends): what follows is code.
      "select a, 'x  y' as s from t -- the table\rwhere b = 2",
    ]) expect(withoutLayout(other)).not.toBe(withoutLayout(one));
    expect(withoutLayout("select a, 'x  y' as s from t -- the table\rwhere b = 1")).toBe(withoutLayout(one));
    expect(statementStart('-- a note\rselect 1')).toBe(10);
    // Backslash escapes in E'' strings, dollar quotes and a comment's words inside them are data.
    expect(withoutLayout("select E'it\\'s  -- here',  $q$ a  /* b */ $q$")).toBe("select E'it\\'s  -- here', $q$ a  /* b */ $q$");
    // Text left open is kept whole: nothing in it is known to be layout.
    expect(withoutLayout("select 'open  ")).toBe("select 'open  ");
  });
});

describe('suggest', () => {
  const names = ['orders', 'customers', 'fct_orders', 'daily_revenue'];

  it('suggests the closest name within a third of the length', () => {
    expect(suggest('ordrs', names)).toBe('orders');
    expect(suggest('fct_ordres', names)).toBe('fct_orders');
    expect(suggest('daily_revnue', names)).toBe('daily_revenue');
    expect(didYouMean('custmers', names)).toBe("did you mean 'customers'?");
    // The same letters in other case, however many.
    expect(didYouMean('FCT_ORDERS', names)).toBe("did you mean 'fct_orders'?");
  });

  it('suggests a name that looks the same but composes its accents otherwise, saying so', () => {
    const decomposed = 'cafe\u0301';
    expect(didYouMean('caf\u00e9', ['orders', decomposed])).toBe(
      `did you mean '${decomposed}'? It looks the same but is written with other Unicode characters (an accent as a letter of its own, or combined with the letter before it); write both alike`,
    );
    expect(suggest('CAF\u00c9', ['orders', decomposed])).toBe(decomposed);
  });

  it('suggests nothing when nothing is close or there is nothing to choose from', () => {
    expect(suggest('payments', names)).toBeUndefined();
    expect(suggest('ordrs', [])).toBeUndefined();
    expect(didYouMean('xyz', names)).toBeUndefined();
  });

  it('allows at least one edit for short names', () => {
    expect(suggest('ab', ['ac'])).toBe('ac');
    expect(suggest('ab', ['cd'])).toBeUndefined();
  });
});

describe('validate-keys', () => {
  it('reports each unknown key with a suggestion or the known keys', () => {
    const diagnostics: Diagnostic[] = [];
    checkKeys({ tags: [], tagz: [], zzz: 1 }, ['tags', 'schema'], 'seed', (k) => ({ file: 'x.yaml', line: k.length }), diagnostics);
    expect(diagnostics).toEqual([
      { severity: 'error', code: 'unknown-key', message: "unknown seed key 'tagz'", location: { file: 'x.yaml', line: 4 }, hint: "did you mean 'tags'?" },
      { severity: 'error', code: 'unknown-key', message: "unknown seed key 'zzz'", location: { file: 'x.yaml', line: 3 }, hint: 'known keys: tags, schema' },
    ]);
  });

  it('accepts only known keys without a word', () => {
    const diagnostics: Diagnostic[] = [];
    checkKeys({ tags: [] }, ['tags'], 'seed', () => ({ file: 'x' }), diagnostics);
    expect(diagnostics).toEqual([]);
  });

  it('reads string lists from a list or a comma/space separated string', () => {
    expect(asStringList(['a', 'b'])).toEqual(['a', 'b']);
    expect(asStringList('a, b c')).toEqual(['a', 'b', 'c']);
    expect(asStringList('')).toEqual([]);
    expect(asStringList(['a', 1])).toBeUndefined();
    expect(asStringList(3)).toBeUndefined();
  });

  it('reads positive whole numbers from numbers or numeric strings', () => {
    expect(asPositiveInt(4)).toBe(4);
    expect(asPositiveInt('8')).toBe(8);
    for (const bad of [0, -1, 1.5, '1.5', 'x', null, undefined, true]) expect(asPositiveInt(bad)).toBeUndefined();
  });
});
