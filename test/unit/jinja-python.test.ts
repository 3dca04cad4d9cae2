import { describe, expect, it } from 'vitest';
import { RenderFailure, TemplateEngine, type RenderHooks } from '../../src/analyze/template-engine.js';

/**
 * Jinja expressions as dbt renders them: each template is rendered by pipe and compared with
 * what dbt-core 1.10's Jinja (Python 3.11) renders from the same text.
 */

const engine = new TemplateEngine([], ['ds'], { invocation: { id: 'run', startedAt: 0 } });
const hooks: RenderHooks = {
  variables: { ds: '2024-01-02' },
  ref: (n) => n,
  source: (s, t) => `${s}.${t}`,
  config: () => {},
  var: (_n, fallback) => fallback,
  isIncremental: () => false,
};

function render(source: string): string {
  const compiled = engine.compile('models/m.sql', source);
  if ('severity' in compiled) throw new Error(compiled.message);
  try {
    return engine.render(compiled, hooks);
  } catch (e) {
    if (e instanceof RenderFailure) throw new Error(`${e.diagnostic.message} at ${JSON.stringify(e.diagnostic.location)}`);
    throw e;
  }
}

const AS_DBT_RENDERS: readonly (readonly [name: string, template: string, dbt: string])[] = [
  ["a dict as the expression of do, in a template pipe runs and in one Nunjucks compiles (a filter block)", "{% do {'a': 1} %}x|{% filter upper %}y{% endfilter %}{% do {'b': [1]} %}", "x|Y"],
  ["a float is printed as one: `/`, float literals and arithmetic with a float give floats, whole ones too", "{{ 10 / 2 }}|{{ 5.0 }}|{{ 2.5 * 2 }}|{{ 7 // 2.0 }}|{{ 7.0 % 2 }}|{{ 4 ** 0.5 }}|{{ 1 ** -1 }}|{{ 2 ** 3 }}|{{ -(4 / 2) }}|{{ 1e3 }}|{{ 3 - 1.0 }}|{{ 0.0 * -1 }}", "5.0|5.0|5.0|3.0|1.0|2.0|1.0|8|-2.0|1000.0|2.0|-0.0"],
  ["whole floats inside lists, dicts and tuples, compared with ints, as dict keys, and Jinja's number tests", "{{ [10 / 2, 3] }}|{{ {'a': 4 / 2} }}|{{ (1.0, 2) }}|{{ 5.0 == 5 }}|{{ 5 == 5.0 }}|{{ 5.0 < 6 }}|{{ 5.0 in [5] }}|{{ {5: 'x'}[5.0] }}|{{ (6 / 3) is float }}|{{ (6 // 3) is integer }}|{{ 2.0 is number }}|{{ 2.0 is integer }}", "[5.0, 3]|{'a': 2.0}|(1.0, 2)|True|True|True|True|x|True|True|True|False"],
  ["filters that give floats: float, round, floor, abs, sum; int of a float", "{{ 5 | float }}|{{ '3' | float }}|{{ 'x' | float }}|{{ 2.7 | round }}|{{ 3 | round }}|{{ 2.5 | round(0, 'floor') }}|{{ 12.0 | int }}|{{ -2.0 | abs }}|{{ [1, 2.0] | sum }}|{{ [1, 2] | sum }}|{{ (6 / 3) | string }}", "5.0|3.0|0.0|3.0|3|2.0|12|2.0|3.0|3|2.0"],
  ["whole floats in %-formatting, str.format, ~, exponent form, conditionals, truth and max", "{{ '%s|%d|%.2f|%r' % (4 / 2, 4 / 2, 4 / 2, 4 / 2) }}|{{ '{}|{:>6}|{:.1f}|{!r}'.format(4 / 2, 4 / 2, 4 / 2, 4 / 2) }}|{{ 'x' ~ (9 / 3) }}|{{ (9 / 3) ~ 'x' }}|{{ (1e16 / 1) }}|{{ 2.0 if 1 else 0 }}|{{ not 0.0 }}|{{ [1, 2.0] | max }}", "2.0|2|2.00|2.0|2.0|   2.0|2.0|2.0|x3.0|3.0x|1e+16|2.0|True|2.0"],
  ["timedelta of float components, times a float, and the floats total_seconds() and timestamp() give", "{{ modules.datetime.timedelta(days=1.0) }}|{{ modules.datetime.timedelta(hours=1) * 2.0 }}|{{ modules.datetime.timedelta(hours=1).total_seconds() }}|{{ modules.datetime.datetime(2024, 1, 2, tzinfo=modules.pytz.utc).timestamp() }}", "1 day, 0:00:00|2:00:00|3600.0|1704153600.0"],
  ["floats that are not whole, ints kept ints, and tojson of floats", "{{ 10 / 4 }}|{{ 1 / 3 }}|{{ 6 / 3 * 2 }}|{{ 2 * 3 }}|{{ range(3) | list }}|{{ 3.0 | tojson }}|{{ [1.0, 2] | tojson }}", "2.5|0.3333333333333333|4.0|6|[0, 1, 2]|3.0|[1.0, 2]"],
  ["str lower/upper/strip with chars", "{{ 'Hello World'.lower() }}|{{ 'x'.upper() }}|{{ '  pad  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '..a..'.lstrip('.') }}|{{ '..a..'.rstrip('.') }}", "hello world|X|pad|hi|a..|..a"],
  ["str split and rsplit, with and without a separator", "{{ 'a,b,,c'.split(',') }}|{{ ' a  b c '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'a b c'.rsplit(' ', 1) }}|{{ 'a-b-c'.rsplit('-') }}", "['a', 'b', '', 'c']|['a', 'b', 'c']|['a', 'b c']|['a b', 'c']|['a', 'b', 'c']"],
  ["str.replace and |replace replace every occurrence unless counted", "{{ 'aaa'.replace('a', 'b') }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ 'abc'.replace('', '-') }}|{{ 'hello world' | replace('o', '0') }}|{{ 'hello' | replace('l', 'L', 1) }}", "bbb|bba|-a-b-c-|hell0 w0rld|heLlo"],
  ["str.format: positions, names, alignment, precision, grouping, bases, %, !r", "{{ '{} and {}'.format(1, 'two') }}|{{ '{0}{1}{0}'.format('a', 'b') }}|{{ '{x:>6}|{y:<6}|{z:^7}'.format(x='r', y='l', z='c') }}|{{ '{:08.3f}'.format(3.14159) }}|{{ '{:,}'.format(1234567) }}|{{ '{:x}|{:#o}|{:b}'.format(255, 8, 5) }}|{{ '{:.3}'.format(3.14159) }}|{{ '{:.1%}'.format(0.256) }}|{{ '{:+d}'.format(5) }}|{{ '{!r}'.format('q') }}", "1 and two|aba|     r|l     |   c   |0003.142|1,234,567|ff|0o10|101|3.14|25.6%|+5|'q'"],
  ["str title/capitalize/count/find/isdigit/isalpha/islower/isupper/isspace", "{{ 'they are'.title() }}|{{ 'hELLO'.capitalize() }}|{{ 'abcabc'.count('b') }}|{{ 'abc'.find('c') }}|{{ 'abc'.find('z') }}|{{ '123'.isdigit() }}|{{ '12a'.isdigit() }}|{{ 'abc'.isalpha() }}|{{ 'Ab'.islower() }}|{{ 'AB'.isupper() }}|{{ '   '.isspace() }}", "They Are|Hello|2|2|-1|True|False|True|False|True|True"],
  ["str startswith/endswith (tuples, bounds), join, center/ljust/rjust, zfill", "{{ 'abc'.startswith('a') }}|{{ 'abc'.startswith(('x', 'a')) }}|{{ 'abc'.endswith('bc') }}|{{ 'abc'.endswith('b', 0, 2) }}|{{ '-'.join(['a', 'b']) }}|{{ 'ab'.center(6, '*') }}|{{ 'ab'.ljust(4, '.') }}|{{ 'ab'.rjust(4) }}|{{ '42'.zfill(5) }}|{{ '-42'.zfill(5) }}", "True|True|True|True|a-b|**ab**|ab..|  ab|00042|-0042"],
  ["str partition/removeprefix/splitlines/swapcase/index", "{{ 'a=b'.partition('=') }}|{{ 'abc'.removeprefix('a') }}|{{ 'x\\ny\\r\\nz'.splitlines() }}|{{ 'AbC'.swapcase() }}|{{ 'abc'.index('b') }}", "('a', '=', 'b')|bc|['x', 'y', 'z']|aBc|1"],
  ["list append/extend/insert/pop/index/count/remove/reverse/sort", "{% set l = [3, 1, 2] %}{% do l.append(4) %}{% do l.extend([5, 6]) %}{% do l.insert(0, 0) %}{{ l }}|{{ l.pop() }}|{{ l.pop(0) }}|{{ l }}|{{ l.index(2) }}|{{ l.count(1) }}{% do l.remove(1) %}|{{ l }}{% do l.reverse() %}|{{ l }}{% do l.sort() %}|{{ l }}", "[0, 3, 1, 2, 4, 5, 6]|6|0|[3, 1, 2, 4, 5]|2|1|[3, 2, 4, 5]|[5, 4, 2, 3]|[2, 3, 4, 5]"],
  ["dict keys/values/items/get/pop/setdefault/update", "{% set d = {'a': 1, 'b': 2} %}{{ d.keys() | list }}|{{ d.values() | list }}|{{ d.items() | list }}|{{ d.get('a') }}|{{ d.get('z') is none }}|{{ d.get('z', 0) }}|{{ d.pop('a') }}|{{ d.pop('q', 'dflt') }}|{{ d }}|{{ d.setdefault('c', 3) }}|{{ d }}{% do d.update({'e': 5}, f=6) %}|{{ d }}", "['a', 'b']|[1, 2]|[('a', 1), ('b', 2)]|1|True|0|1|dflt|{'b': 2}|3|{'b': 2, 'c': 3}|{'b': 2, 'c': 3, 'e': 5, 'f': 6}"],
  ["negative indexes and slices of lists and strings", "{{ [1, 2, 3][-1] }}|{{ [1, 2, 3][1:] }}|{{ [1, 2, 3][:-1] }}|{{ [1, 2, 3, 4, 5][::2] }}|{{ 'hello'[1:3] }}|{{ 'hello'[-3:] }}|{{ [1, 2][5:] }}|{{ 'abc'[-1] }}", "3|[2, 3]|[1, 2]|[1, 3, 5]|el|llo|[]|c"],
  ["|tojson sorts keys and escapes for HTML; tojson() keeps order, as json.dumps", "{{ {'b': 2, 'a': [1, 'x', none, true, 1.5]} | tojson }}|{{ tojson({'b': 2, 'a': 1}) }}|{{ tojson({'b': 2, 'a': 1}, sort_keys=true) }}|{{ tojson([1, 'é', \"'\"]) }}|{{ [1, 2] | tojson(indent=2) }}", "{\"a\": [1, \"x\", null, true, 1.5], \"b\": 2}|{\"b\": 2, \"a\": 1}|{\"a\": 1, \"b\": 2}|[1, \"\\u00e9\", \"'\"]|[\n  1,\n  2\n]"],
  ["a block set of a namespace's attribute", "{% set ns = namespace(msg='', n=0) %}{% set ns.msg %} hello {{ 1 + 1 }} {% endset %}{% for i in range(3) %}{% set ns.n %}{{ ns.n | int + i }}{% endset %}{% endfor %}[{{ ns.msg }}]|{{ ns.n }}|{{ ns.n is string }}", "[ hello 2 ]|3|True"],
  ["fromjson of NaN and Infinity, bare and as text", "{{ fromjson('[NaN, Infinity, -Infinity, \"NaN\", \"x Infinity\"]') }}|{{ fromjson('{\"a\": \"NaN\"}') }}|{{ fromjson('[\"\\\\u0000NaN\", NaN]')[0] | length }}|{{ fromjson('[\"\\\\u0000NaN\", NaN]')[1] }}", "[nan, inf, -inf, 'NaN', 'x Infinity']|{'a': 'NaN'}|4|nan"],
  ["fromjson, with its default", "{{ fromjson('{\"a\": [1, 2, {\"b\": null}]}') }}|{{ fromjson('not json', 'dflt') }}|{{ fromjson('[1.5, true]') }}", "{'a': [1, 2, {'b': None}]}|dflt|[1.5, True]"],
  ["toyaml of nested mappings and sequences, quoting what YAML would read otherwise", "{{ toyaml({'a': 1, 'b': [1, 2], 'c': {'d': 'e'}, 'f': none, 'g': true, 'h': 'null', 'i': '12', 'j': '1.5', 'k': '', 'l': 'a: b', 'm': '- x', 'n': [], 'o': {}, 'p': [[1, 2], {'q': 1}]}) }}", "a: 1\nb:\n- 1\n- 2\nc:\n  d: e\nf: null\ng: true\nh: 'null'\ni: '12'\nj: '1.5'\nk: ''\nl: 'a: b'\nm: '- x'\nn: []\no: {}\np:\n- - 1\n  - 2\n- q: 1\n"],
  ["toyaml of a list, a scalar (an open document) and sorted keys", "{{ toyaml(['a', 1]) }}|{{ toyaml('x') }}|{{ toyaml(1) }}|{{ toyaml({'b': 1, 'a': 2}, sort_keys=true) }}", "- a\n- 1\n|x\n...\n|1\n...\n|a: 2\nb: 1\n"],
  ["fromyaml reads YAML 1.1 as PyYAML does", "{{ fromyaml('a: 1\\nb: [x, y]\\nc: yes\\nd: ~\\ne: 1.5\\nf: 0o17\\ng: 017\\n') }}|{{ fromyaml('- a\\n- b') }}|{{ fromyaml(': : :', 'bad') }}", "{'a': 1, 'b': ['x', 'y'], 'c': True, 'd': None, 'e': 1.5, 'f': '0o17', 'g': 15}|['a', 'b']|bad"],
  ["|map by filter name and by attribute, with a default", "{{ [1, 2, 3] | map('string') | list }}|{{ ['a', 'b'] | map('upper') | list }}|{{ [{'a': {'b': 1}}, {'a': {'b': 2}}] | map(attribute='a.b') | list }}|{{ [{'x': 1}, {}] | map(attribute='x', default=0) | list }}|{{ ['a', 'b'] | map('replace', 'a', 'z') | list }}", "['1', '2', '3']|['A', 'B']|[1, 2]|[1, 0]|['z', 'b']"],
  ["|select and |reject with and without a test", "{{ [1, 2, 3, 4] | select('odd') | list }}|{{ [1, 2, 3, 4] | reject('odd') | list }}|{{ [1, 2, 3, 4] | select('gt', 2) | list }}|{{ [1, 2, 3, 4] | select('equalto', 3) | list }}|{{ ['a', '', none, 'b'] | select | list }}|{{ [1, 2, 3] | select('in', [1, 3]) | list }}", "[1, 3]|[2, 4]|[3, 4]|[3]|['a', 'b']|[1, 3]"],
  ["|selectattr and |rejectattr", "{{ [{'n': 'a', 'ok': true}, {'n': 'b', 'ok': false}] | selectattr('ok') | map(attribute='n') | list }}|{{ [{'n': 'a', 'ok': true}, {'n': 'b', 'ok': false}] | rejectattr('ok') | map(attribute='n') | list }}|{{ [{'n': 'a', 'k': 1}, {'n': 'b', 'k': 2}] | selectattr('k', 'equalto', 2) | map(attribute='n') | first }}|{{ [{'n': 'a', 't': 'x'}, {'n': 'b'}] | selectattr('t', 'defined') | list | length }}", "['a']|['b']|b|1"],
  ["|unique and |sort are case-insensitive by default", "{{ ['b', 'A', 'a', 'B'] | unique | list }}|{{ ['b', 'A', 'a'] | unique(case_sensitive=true) | list }}|{{ ['b', 'A', 'c'] | sort }}|{{ ['b', 'A', 'c'] | sort(case_sensitive=true) }}|{{ [3, 1, 2] | sort(reverse=true) }}|{{ [{'a': 2}, {'a': 1}] | sort(attribute='a') }}", "['b', 'A']|['b', 'A', 'a']|['A', 'b', 'c']|['A', 'b', 'c']|[3, 2, 1]|[{'a': 1}, {'a': 2}]"],
  ["printf-style % and |format, rounding halves to even", "{{ '%s is %d years' | format('x', 3) }}|{{ '%(a)s-%(b)05.2f' | format(a='q', b=3.14159) }}|{{ '%-5s|%5s|%x|%o|%e|%g|%c|%%' % ('ab', 'cd', 255, 8, 12345.678, 0.0001, 65) }}|{{ '%.0f %.0f %.0f %.2f' % (0.5, 1.5, 2.5, 2.675) }}", "x is 3 years|q-03.14|ab   |   cd|ff|10|1.234568e+04|0.0001|A|%|0 2 2 2.67"],
  ["arithmetic: floor division, modulo with the divisor's sign, precedence, repetition, list +", "{{ 7 // 2 }}|{{ -7 // 2 }}|{{ 7 % 3 }}|{{ -7 % 3 }}|{{ 7 % -3 }}|{{ 2 ** 10 }}|{{ 7 / 2 }}|{{ 1 + 2 * 3 }}|{{ 10 - 2 - 3 }}|{{ 2 * 3 % 4 }}|{{ 'ab' * 2 }}|{{ [1] * 3 }}|{{ [1] + [2] }}", "3|-4|1|2|-2|1024|3.5|7|5|2|abab|[1, 1, 1]|[1, 2]"],
  ["chained comparisons, in, == by value", "{{ 1 < 2 < 3 }}|{{ 3 > 2 > 2 }}|{{ 'a' in 'cat' }}|{{ 'z' not in ['a'] }}|{{ 'k' in {'k': 1} }}|{{ [1, [2]] == [1, [2]] }}|{{ {'a': 1} == {'a': 1} }}|{{ 1 == true }}|{{ none is none }}|{{ 'a' != 'b' }}", "True|False|True|True|True|True|True|True|True|True"],
  ["empty lists, dicts and strings are false", "{% if [] %}a{% elif {} %}b{% elif '' %}c{% elif 0 %}d{% else %}e{% endif %}|{{ [] or 'x' }}|{{ 'y' and [] }}|{{ not [] }}|{{ 'a' if [] else 'b' }}", "e|x|[]|True|b"],
  ["a loop filter: only the items that pass are looped over, and loop.index, loop.length and else count them", "{% for x in ['ab', 'cd', 'ax'] if x.startswith('a') %}{{ loop.index }}/{{ loop.length }}{{ x }}{{ ',' if not loop.last }}{% endfor %}|{% for k, v in {'a': 1, 'b': 5, 'c': 7}.items() if v > 2 %}{{ k }}{% endfor %}|{% for x in [1, 2] if x > 5 %}{{ x }}{% else %}none{% endfor %}|{% for x in [1, 2, 3, 4] if x is odd %}{% for y in ['p', 'q'] if y != 'q' %}{{ x }}{{ y }}{% endfor %}{% endfor %}|{% for x in range(10) if x > 2 %}{% if x > 5 %}{% break %}{% endif %}{{ x }}{% endfor %}", "1/2ab,2/2ax|bc|none|1p3p|345"],
  ["a loop body's {% set %} stays in its iteration; a namespace carries a value out", "{% set c = 0 %}{% for i in [1, 2, 3] %}{% set c = c + i %}{{ c }},{% endfor %}{{ c }}|{% set ns = namespace(c=0) %}{% for i in [1, 2, 3] %}{% set ns.c = ns.c + i %}{% endfor %}{{ ns.c }}", "1,2,3,0|6"],
  ["loops over items(), strings, empty lists (else) and tuples", "{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }}{% if not loop.last %}&{% endif %}{% endfor %}|{% for x in 'ab' %}{{ x }}.{% endfor %}|{% for x in [] %}x{% else %}empty{% endfor %}|{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }}{% endfor %}", "a=1&b=2|a.b.|empty|37"],
  ["{% break %} and {% continue %}", "{% for x in range(10) %}{% if x % 2 == 0 %}{% continue %}{% endif %}{% if x > 6 %}{% break %}{% endif %}{{ x }}{% endfor %}|{{ loop is defined }}", "135|False"],
  ["{% set a, b = ... %} unpacks", "{% set a, b = 'xy' %}{{ a }}{{ b }}|{% set p, q = [1, 2] %}{{ p + q }}", "xy|3"],
  ["zip and local_md5", "{{ zip([1, 2, 3], 'ab') | list }}|{{ zip() | list }}|{{ zip(1, 2) is none }}|{{ local_md5('') }}", "[(1, 'a'), (2, 'b')]|[]|True|d41d8cd98f00b204e9800998ecf8427e"],
  ["datetime: strftime directives, isoformat, date(), weekday, isocalendar, replace, attributes", "{% set d = modules.datetime.datetime(2024, 1, 7, 13, 5, 9, 123) %}{{ d.strftime('%Y-%m-%d %H:%M:%S.%f %a %A %b %B %j %U %W %w %u %V %G %I %p %y %C %e %D %F %T %R %%') }}|{{ d.isoformat() }}|{{ d.isoformat(' ') }}|{{ d.date() }}|{{ d.weekday() }}|{{ d.isoweekday() }}|{{ d.isocalendar() }}|{{ d.replace(day=1, hour=0) }}|{{ d.year }}-{{ d.month }}-{{ d.day }} {{ d.hour }}:{{ d.minute }}:{{ d.second }}.{{ d.microsecond }}", "2024-01-07 13:05:09.000123 Sun Sunday Jan January 007 01 01 0 7 01 2024 01 PM 24 20  7 01/07/24 2024-01-07 13:05:09 13:05 %|2024-01-07T13:05:09.000123|2024-01-07 13:05:09.000123|2024-01-07|6|7|datetime.IsoCalendarDate(year=2024, week=1, weekday=7)|2024-01-01 00:05:09.000123|2024-1-7 13:5:9.123"],
  ["pytz, for UTC: localize, zone, astimezone, tzname", "{% set d = modules.datetime.datetime(2024, 1, 7, 13, 5, 9) %}{{ modules.pytz.utc.localize(d) }}|{{ modules.pytz.timezone('UTC').zone }}|{{ modules.pytz.utc }}|{{ modules.pytz.utc.localize(d).astimezone(modules.pytz.timezone('Etc/UTC')) }}|{{ modules.pytz.utc.localize(d).tzname() }}|{{ modules.pytz.timezone('utc') == modules.pytz.utc }}", "2024-01-07 13:05:09+00:00|UTC|UTC|2024-01-07 13:05:09+00:00|UTC|True"],
  [
    "pytz zones: local mean time as a constructor's tzinfo, localize() across both changes, astimezone(), normalize()",
    "{% set tz = modules.pytz %}{% set dt = modules.datetime.datetime %}{% set la = tz.timezone('America/Los_Angeles') %}{{ dt(1997, 9, 29, 6, 14, 0, tzinfo=la) }}|{{ la.localize(dt(2024, 7, 1, 12)) }}|{{ la.localize(dt(2024, 1, 1, 12)) }}|{{ la.localize(dt(2024, 11, 3, 1, 30)) }}|{{ la.localize(dt(2024, 11, 3, 1, 30), is_dst=true) }}|{{ la.localize(dt(2024, 3, 10, 2, 30)) }}|{{ la.localize(dt(2024, 3, 10, 2, 30), is_dst=true) }}|{{ dt(2024, 7, 1, 12, tzinfo=tz.utc).astimezone(tz.timezone('Australia/Sydney')) }}|{{ dt(2024, 1, 1, 12, tzinfo=tz.utc).astimezone(tz.timezone('Asia/Kolkata')) }}|{{ la.normalize(la.localize(dt(2024, 3, 9, 12)) + modules.datetime.timedelta(days=1)) }}|{{ la.localize(dt(2024, 3, 9, 12)) + modules.datetime.timedelta(days=1) }}",
    '1997-09-29 06:14:00-07:53|2024-07-01 12:00:00-07:00|2024-01-01 12:00:00-08:00|2024-11-03 01:30:00-08:00|2024-11-03 01:30:00-07:00|2024-03-10 02:30:00-08:00|2024-03-10 02:30:00-07:00|2024-07-01 22:00:00+10:00|2024-01-01 17:30:00+05:30|2024-03-10 13:00:00-07:00|2024-03-10 12:00:00-08:00',
  ],
  [
    'pytz zones: tzname, %z, dst(), reprs, zone, utcoffset(), fromtimestamp, the southern changes, comparison with UTC',
    "{% set tz = modules.pytz %}{% set dt = modules.datetime.datetime %}{% set la = tz.timezone('America/Los_Angeles') %}{% set syd = tz.timezone('Australia/Sydney') %}{{ la.localize(dt(2024, 7, 1)).tzname() }}|{{ tz.timezone('Europe/Berlin').localize(dt(2024, 7, 1)).strftime('%z') }}|{{ la.localize(dt(2024, 7, 1)).dst() }}|{{ la.localize(dt(2024, 1, 1)).dst() }}|{{ [la.localize(dt(2024, 7, 1)).tzinfo] }}|{{ [la] }}|{{ la }}|{{ la.zone }}|{{ la.utcoffset(dt(2024, 7, 1)) }}|{{ dt.fromtimestamp(0, la) }}|{{ syd.localize(dt(2024, 4, 7, 2, 30)) }}|{{ syd.localize(dt(2024, 10, 6, 2, 30)) }}|{{ la.localize(dt(2024, 7, 1)) == dt(2024, 7, 1, 7, tzinfo=tz.utc) }}|{{ tz.timezone('US/Pacific').zone }}",
    "PDT|+0200|1:00:00|0:00:00|[<DstTzInfo 'America/Los_Angeles' PDT-1 day, 17:00:00 DST>]|[<DstTzInfo 'America/Los_Angeles' LMT-1 day, 16:07:00 STD>]|America/Los_Angeles|America/Los_Angeles|-1 day, 17:00:00|1969-12-31 16:00:00-08:00|2024-04-07 02:30:00+10:00|2024-10-06 02:30:00+10:00|True|US/Pacific",
  ],
  ["strptime, fromisoformat and date comparisons", "{{ modules.datetime.datetime.strptime('2024-03-05 07:08:09', '%Y-%m-%d %H:%M:%S') }}|{{ modules.datetime.datetime.strptime('05/Mar/24 7pm', '%d/%b/%y %I%p') }}|{{ modules.datetime.date.fromisoformat('2024-02-29') }}|{{ modules.datetime.datetime.fromisoformat('2024-02-29T10:11:12+05:30') }}|{{ modules.datetime.datetime.fromisoformat('2024-02-29 10:11') }}|{{ modules.datetime.date(2024, 1, 1) < modules.datetime.date(2024, 1, 2) }}|{{ modules.datetime.date(2024, 1, 1) == modules.datetime.date(2024, 1, 1) }}", "2024-03-05 07:08:09|2024-03-05 19:00:00|2024-02-29|2024-02-29 10:11:12+05:30|2024-02-29 10:11:00|True|True"],
  ["dates and timedeltas print as Python prints them", "{{ modules.datetime.datetime(2024, 1, 1) }}|{{ [modules.datetime.date(2024, 1, 2)] }}|{{ modules.datetime.timedelta(days=1, seconds=2) }}|{{ [modules.datetime.timedelta(0)] }}|{{ '{:%Y/%m}'.format(modules.datetime.date(2024, 5, 6)) }}|{{ modules.datetime.date(2024, 5, 6).ctime() }}", "2024-01-01 00:00:00|[datetime.date(2024, 1, 2)]|1 day, 0:00:02|[datetime.timedelta(0)]|2024/05|Mon May  6 00:00:00 2024"],
  ["re.match/search/fullmatch/findall/sub/split with Python's syntax", "{{ modules.re.match('(\\d+)-(\\d+)', '12-34').groups() }}|{{ modules.re.search('b+', 'abbbc').group() }}|{{ modules.re.search('b+', 'abbbc').span() }}|{{ modules.re.match('x', 'abc') is none }}|{{ modules.re.fullmatch('a.c', 'abc') is not none }}|{{ modules.re.findall('(\\w)(\\d)', 'a1 b2') }}|{{ modules.re.findall('\\d', 'a1b22') }}|{{ modules.re.sub('(?P<w>\\w+)@', '\\g<w> at ', 'me@x') }}|{{ modules.re.split('[,;]\\s*', 'a, b;c') }}|{{ modules.re.split('(,)', 'a,b') }}", "('12', '34')|bbb|(1, 4)|True|True|[('a', '1'), ('b', '2')]|['1', '2', '2']|me at x|['a', 'b', 'c']|['a', ',', 'b']"],
  ["re: empty matches, count, MULTILINE, DOTALL, IGNORECASE, $ before a final newline, escape", "{{ modules.re.sub('x*', '-', 'abxd') }}|{{ modules.re.findall('\\w*', 'ab cd') }}|{{ modules.re.sub('a', 'b', 'aaa', 2) }}|{{ modules.re.subn('a', 'b', 'aaa') }}|{{ modules.re.sub('^', '>', 'a\\nb', flags=modules.re.M) }}|{{ modules.re.findall('.', 'a\\nb') }}|{{ modules.re.findall('.', 'a\\nb', modules.re.S) }}|{{ modules.re.match('ABC', 'abc', modules.re.I) is not none }}|{{ modules.re.search('a$', 'a\\n') is not none }}|{{ modules.re.escape('a.b*c') }}", "-a-b--d-|['ab', '', 'cd', '']|bba|('bbb', 3)|>a\n>b|['a', 'b']|['a', '\\n', 'b']|True|True|a\\.b\\*c"],
  ["a compiled pattern, named groups and replacement templates", "{% set p = modules.re.compile('(?P<key>\\w+)=(?P<val>\\w+)') %}{{ p.search('x k=v y').groupdict() }}|{{ p.findall('a=1 b=2') }}|{{ p.sub('\\g<val>:\\g<key>', 'a=1') }}|{{ p.pattern }}|{% set m = p.match('k=v') %}{{ m.group('key') }}{{ m[2] }}{{ m.start(2) }}|{{ modules.re.sub('\\s+', ' ', '  a \\t b  ') }}|{{ modules.re.sub('(\\w)', '\\\\1\\\\1', 'ab') }}", "{'key': 'k', 'val': 'v'}|[('a', '1'), ('b', '2')]|1:a|(?P<key>\\w+)=(?P<val>\\w+)|kv2| a b |aabb"],
  ["str() of None, True and lists in ~, tuples", "{{ 'ab' ~ 1 ~ none ~ true }}|{{ '%s' % none }}|{{ 'x' ~ [1] }}|{{ (1, 2) }}", "ab1NoneTrue|None|x[1]|(1, 2)"],
  ["|length |count |sum |min |max |first |last |reverse", "{{ 'ab' | length }}|{{ [1, 2] | count }}|{{ {'a': 1} | length }}|{{ [1, 2, 3] | sum }}|{{ [{'p': 1.5}, {'p': 2}] | sum(attribute='p') }}|{{ [3, 1] | min }}|{{ ['a', 'B'] | max }}|{{ [1, 2] | first }}|{{ [1, 2] | last }}|{{ [1, 2] | reverse | list }}|{{ 'abc' | reverse }}", "2|2|1|6|3.5|1|B|1|2|[2, 1]|cba"],
  ["string filters: title, lower, capitalize, trim, wordcount, truncate, center, striptags, escape", "{{ 'hello world' | title }}|{{ \"they're bill's\" | title }}|{{ 'HELLO' | lower }}|{{ 'hello' | capitalize }}|{{ '  x  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ 'a b c d' | wordcount }}|{{ 'foo bar baz qux' | truncate(9) }}|{{ 'ab' | center(6) }}|{{ '<a href=\"x\">t</a>' | striptags }}|{{ '<&>' | e }}", "Hello World|They're Bill's|hello|Hello|x|hi|4|foo...|  ab  |t|&lt;&amp;&gt;"],
  ["|default, |batch, |slice, |dictsort, |groupby", "{{ undefined_var | default('dflt') }}|{{ none | default('dflt') is none }}|{{ '' | default('dflt', true) }}|{{ [1, 2, 3, 4, 5] | batch(2) | list }}|{{ [1, 2, 3, 4, 5] | slice(2) | list }}|{{ {'b': 1, 'A': 2} | dictsort }}|{{ [{'g': 'x', 'v': 1}, {'g': 'X', 'v': 2}, {'g': 'y', 'v': 3}] | groupby('g') | map(attribute='list') | list }}", "dflt|True|dflt|[[1, 2], [3, 4], [5]]|[[1, 2, 3], [4, 5]]|[('A', 2), ('b', 1)]|[[{'g': 'x', 'v': 1}, {'g': 'X', 'v': 2}], [{'g': 'y', 'v': 3}]]"],
  ["|groupby's grouper and list, |items, |urlencode", "{% for g in [{'g': 'b'}, {'g': 'a'}] | groupby('g') %}{{ g.grouper }}:{{ g.list | length }};{% endfor %}|{% for k, items in [{'g': 'b'}, {'g': 'a'}] | groupby('g') %}{{ k }}{% endfor %}|{{ {'a': 1} | items | list }}|{{ 'a b' | urlencode }}|{{ {'a': 'x y', 'b': 1} | urlencode }}", "a:1;b:1;|ab|[('a', 1)]|a%20b|a=x+y&b=1"],
  ["Jinja's tests, with arguments written without parentheses", "{{ 5 is divisibleby 5 }}|{{ 4 is even }}|{{ 3 is odd }}|{{ 'a' is string }}|{{ 1 is number }}|{{ [1] is iterable }}|{{ {} is mapping }}|{{ none is none }}|{{ x is defined }}|{{ x is undefined }}|{{ 1 is integer }}|{{ 1.5 is float }}|{{ true is boolean }}|{{ 'ab' is lower }}|{{ 3 is gt 2 }}|{{ 2 is in [1, 2] }}|{{ 'upper' is filter }}|{{ 'odd' is test }}", "True|True|True|True|True|True|True|True|False|True|True|True|True|True|True|True|True|True"],
  ["odd and even take any number, True and False too, as Python's % does; '%' formatting ignores an unused list, as CPython does", "{{ true is odd }}|{{ false is even }}|{{ -3 is odd }}|{{ 2.5 is odd }}|{{ 1e3 is even }}|{{ [1, 2, 3, true] | select('odd') | list }}|{{ '3' % ['b', 'a'] }}|{{ '%s!' % [1, 2] }}", "True|True|True|False|True|[1, 3, True]|3|[1, 2]!"],
  ["loop.previtem, nextitem, depth, cycle() and changed(), in a template and in a macro", "{% for x in ['a', 'b', 'c'] %}{{ loop.previtem if loop.previtem is defined else '-' }}{{ loop.nextitem if loop.nextitem is defined else '-' }}{{ loop.depth }}{{ loop.depth0 }}{{ loop.cycle('o', 'e') }};{% endfor %}|{% for x in [1, 1, 2, 1] %}{{ x if loop.changed(x) }}{% endfor %}|{% macro m(xs) %}{% for k, v in xs %}{{ loop.cycle(1, 2, 3) }}{{ loop.changed(v) }}{{ loop.previtem[0] if not loop.first }}{% endfor %}{% endmacro %}{{ m([('a', 1), ('b', 1), ('c', 2)]) }}", "-b10o;ac10e;b-10o;|121|1True2Falsea3Trueb"],
  ["|sum adds as Python's sum() does: numbers, lists and tuples, from its start", "{{ [[1, 2], [3]] | sum(start=[]) }}|{{ [(1,), (2,)] | sum(start=()) }}|{{ [{'v': 1.5}, {'v': 2}] | sum(attribute='v') }}|{{ [true, 2] | sum(start=10) }}", "[1, 2, 3]|(1, 2)|3.5|13"],
  ["{% set %} blocks and nested lookups", "{% set x %}block {{ 1 + 1 }}{% endset %}{{ x }}|{% set y = {'k': {'n': [1, {'m': 2}]}} %}{{ y.k.n[1].m }}|{{ y['k']['n'][0] }}", "block 2|2|1"],
  ["{% filter %} and {% raw %}", "{% filter upper %}abc{% endfilter %}|{% raw %}{{ not rendered }}{% endraw %}", "ABC|{{ not rendered }}"],
  ["Python's string escapes", "{{ '\\\\d' }}|{{ \"tab\\there\" }}|{{ 'quote\\'s' }}|{{ \"\\x41\\u00e9\" }}|{{ 'a\\\nb' }}", "\\d|tab\there|quote's|Aé|ab"],
  ["dict() and range()", "{{ dict(a=1, b=2) }}|{{ dict([('a', 1)]) }}|{{ range(3) | list }}|{{ range(1, 10, 3) | list }}", "{'a': 1, 'b': 2}|{'a': 1}|[0, 1, 2]|[1, 4, 7]"],
];

describe('Jinja expressions render as dbt renders them', () => {
  for (const [name, template, dbt] of AS_DBT_RENDERS) {
    it(name, () => expect(render(template)).toBe(dbt));
  }
});

describe('what pipe renders differently, it refuses', () => {
  const failure = (source: string) => {
    const compiled = engine.compile('models/m.sql', source);
    if ('severity' in compiled) return [compiled.message, compiled.location?.line, compiled.location?.column];
    try {
      engine.render(compiled, hooks);
      return 'rendered';
    } catch (e) {
      if (!(e instanceof RenderFailure)) throw e;
      return [e.diagnostic.message, e.diagnostic.location?.line, e.diagnostic.location?.column];
    }
  };

  it.each([
    ["{{ modules.re.search('(?P<y>\\d+)(?(y)a|b)', 'x') }}", "the regular expression '(?P<y>\\\\d+)(?(y)a|b)' uses a conditional group (?(...)...), which pipe cannot translate to its regex engine", 1, 4],
    ["{{ modules.re.match('a++', 'aa') }}", "the regular expression 'a++' uses a possessive quantifier, which pipe cannot translate to its regex engine", 1, 4],
    ["{{ modules.re.match('\\N{DASH}', '-') }}", "the regular expression '\\\\N{DASH}' uses \\N{...}, which pipe cannot translate to its regex engine", 1, 4],
    ["{{ modules.datetime.datetime.now(modules.pytz.timezone('Europe/Pariss')) }}", "modules.pytz.timezone('Europe/Pariss'): unknown time zone (UnknownTimeZoneError); zones are named as in the time zone database, e.g. 'America/Los_Angeles'", 1, 34],
    ["{{ modules.pytz.timezone('Asia/Tokyo').localize(modules.datetime.datetime(2024, 1, 1)).tzname() }}", "the time zone database Node carries has no abbreviation for Asia/Tokyo at UTC+540 minutes: use utcoffset() or strftime('%z')", 1, 4],
    ["{{ modules.datetime.datetime.strptime('2024', '%Y %Q') }}", "the strptime directive '%Q' is not supported by pipe (in format '%Y %Q')", 1, 4],
    ["{{ toyaml({'a': 'x' * 90 ~ ' y'}) }}", 'toyaml of a string this long is not supported by pipe (PyYAML folds it over lines past 80 characters)', 1, 4],
    ["{{ [1, 2] | random }}", 'the filter random is not supported by pipe: pipe renders a model the same way every time', 1, 13],
    ["{{ 'a' ~ 1 + 'b' }}", "unsupported operand type(s) for +: 'int' and 'str'", 1, 10],
    ['{{ 1 / 0 }}', 'division by zero', 1, 4],
    ["{% set x = 1 %}{% set x.y = 2 %}", 'cannot assign attribute on non-namespace object (int): {% set x.y = ... %} needs x = namespace()', 1, 19],
    ["{{ [1, 2].pop(5) }}", 'pop index out of range', 1, 4],
    ["{{ {'a': 1}.pop('b') }}", "KeyError: 'b'", 1, 4],
    ['{{ "{} {}".format(1) }}', 'Replacement index 1 out of range for positional args tuple', 1, 4],
    ["{{ '%d' % 'x' }}", '%d format: a real number is required, not str', 1, 4],
    ["{% continue %}", '{% continue %} outside a for loop', 1, 4],
    ["{{ [1] | join(',', attribute='x') }}", 'an undefined value (an unknown variable or attribute) is printed', 1, 10],
    ['{{ range(200000) | length }}', 'Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).', 1, 4],
  ])('%s', (template, message, line, column) => {
    expect(failure(template)).toEqual([message, line, column]);
  });
});
