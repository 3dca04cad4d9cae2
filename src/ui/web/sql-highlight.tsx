/**
 * A small SQL tokenizer for highlighting: comments, strings, template tags (`{{ }}`, `{% %}`),
 * numbers and keywords. It only colours text; every character is shown as written.
 */

export type TokenKind = 'comment' | 'string' | 'template' | 'number' | 'keyword' | 'text';

const KEYWORDS = new Set(
  (
    'select from where group by order having limit offset join left right full inner outer cross on using as and or not in is null ' +
    'case when then else end with union all distinct insert into values update set delete create table view replace or ' +
    'over partition window rows range between asc desc cast try_cast qualify exists like ilike true false interval filter ' +
    'except intersect lateral unnest'
  ).split(' '),
);

const TOKEN = /(--[^\n\r]*|\/\*[\s\S]*?(?:\*\/|$))|('(?:[^']|'')*'?)|(\{\{[\s\S]*?(?:\}\}|$)|\{%[\s\S]*?(?:%\}|$)|\{#[\s\S]*?(?:#\}|$))|(\b\d+(?:\.\d+)?\b)|([A-Za-z_][A-Za-z0-9_]*)/g;

export function tokenize(sql: string): { kind: TokenKind; text: string }[] {
  const out: { kind: TokenKind; text: string }[] = [];
  let at = 0;
  for (const m of sql.matchAll(TOKEN)) {
    if (m.index > at) out.push({ kind: 'text', text: sql.slice(at, m.index) });
    const kind: TokenKind = m[1] ? 'comment' : m[2] ? 'string' : m[3] ? 'template' : m[4] ? 'number' : KEYWORDS.has(m[5].toLowerCase()) ? 'keyword' : 'text';
    out.push({ kind, text: m[0] });
    at = m.index + m[0].length;
  }
  if (at < sql.length) out.push({ kind: 'text', text: sql.slice(at) });
  return out;
}

export function Sql({ sql, testId }: { sql: string; testId?: string }) {
  return (
    <pre class="sql" data-testid={testId}>
      {tokenize(sql).map((t) => (t.kind === 'text' ? t.text : <span class={`tok-${t.kind}`}>{t.text}</span>))}
    </pre>
  );
}
