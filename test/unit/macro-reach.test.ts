import { describe, expect, it } from 'vitest';
import { calledNames, callsAny, templateCalls } from '../../src/analyze/dbt/macro-reach.js';
import { tagCode } from '../../src/analyze/jinja/tag-code.js';

/** What a template calls is what Jinja would: `name(`, spaces allowed between, Unicode names too. */
const CALL = /(?<![\p{L}\p{N}_])([\p{L}_][\p{L}\p{N}_]*)\s*\(/gu;

describe('calledNames', () => {
  it('reads each name a parenthesis follows, whole, across spaces and lines', () => {
    expect([...calledNames("{{ a.b(c(d())) }} {{ ref ( 'x' ) }}\n{{ f\n\t(1) }} {{ _p() }}")].sort()).toEqual(['_p', 'b', 'c', 'd', 'f', 'ref']);
  });

  it('takes no name that starts with a digit, nor the tail of one', () => {
    expect([...calledNames('1ab(x) 9() (x) ab1(y)')]).toEqual(['ab1']);
  });

  it('reads Unicode names and spaces as Python does, astral letters included', () => {
    expect([...calledNames('é(1) aé1\u00a0\u2029( 𝒳y() x𝒳() ١x() x١() \u200bq()')].sort()).toEqual(['aé1', 'q', 'x١', 'x𝒳', 'é', '𝒳y']);
  });

  it('counts adapter.dispatch as a call of the implementations pipe renders', () => {
    expect([...calledNames("{{ adapter.dispatch('concat', 'dbt_utils')(xs) }}")]).toEqual(expect.arrayContaining(['dispatch', 'default__concat', 'duckdb__concat']));
    expect(callsAny("{{ adapter.dispatch(macro_name='g')() }}", new Set(['duckdb__g']))).toBe(true);
    expect(callsAny('{{ g }}', new Set(['g']))).toBe(false);
  });

  it('finds what a pattern tried at every character finds, on generated text', () => {
    const pieces = ['a', 'Z', '_', '1', 'é', '𝒳', '١', ' ', '\t', '\n', '\u00a0', '\u2029', '(', ')', '.', "'", '-', '\u200b', '{{', '}}'];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      const text = Array.from({ length: next() % 40 }, () => pieces[next() % pieces.length]).join('');
      const expected = new Set([...text.matchAll(CALL)].map((m) => m[1]));
      expect([...calledNames(text)].sort(), JSON.stringify(text)).toEqual([...expected].sort());
    }
  });
});

describe('templateCalls', () => {
  it("reads the calls of a template's tags alone: its SQL and its comments call nothing", () => {
    expect([...templateCalls("select count(*) from {{ ref('x') }} unpivot (v for k in (a)) {# star() #}\n{%- set y = f(1) -%}")].sort()).toEqual(['f', 'ref']);
    expect(callsAny('select values (1), pivot (x) from t', new Set(['values', 'pivot']))).toBe(false);
  });

  it('ends a tag at its closer outside string literals, as Jinja reads it; a tag never closed runs to the end', () => {
    expect(tagCode(`a {{ "}}" ~ g() }} b {% if 'it\\'s %}' %}h(){% endif %} {{ k(`)).toEqual([' "}}" ~ g() ', " if 'it\\'s %}' ", ' endif ', ' k(']);
    expect([...templateCalls(`{{ "}}" ~ g() }} {{ 'x' }}h() {{ k(`)].sort()).toEqual(['g', 'k']);
  });
});
