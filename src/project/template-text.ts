/**
 * A template file's text as Jinja reads it: its lexer takes `\r\n` and a lone `\r` for `\n`, so
 * a line break inside a string literal of a model saved with Windows line ends renders as `\n`
 * (dbt builds `'x\ny'`, not `'x\r\ny'`). dbt renders only a text holding a Jinja delimiter
 * (its fast path returns any other as it is), and so does this: a file without one is its bytes.
 */

const RENDERED = /\{[{%#]|[#}%]\}/;

export function templateText(text: string): string {
  if (!text.includes('\r') || !RENDERED.test(text)) return text;
  return text.replace(/\r\n?/g, '\n');
}
