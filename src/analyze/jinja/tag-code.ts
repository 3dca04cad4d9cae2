/**
 * The code of a template's tags, `{{ … }}` and `{% … %}`: the only place a template calls or
 * reads anything (its text is output: `unpivot (` or `values (` in its SQL calls no macro of
 * those names). A tag ends at the first `}}` or `%}` outside a string literal, as Jinja's lexer
 * reads it; comments are left out. What errs is on the side of more code: a tag never closed
 * runs to the end, and the text of a raw block is read as tags.
 */
export function tagCode(template: string): string[] {
  const out: string[] = [];
  let at = 0;
  for (;;) {
    const open = template.indexOf('{', at);
    if (open < 0 || open === template.length - 1) return out;
    const kind = template[open + 1];
    if (kind === '#') {
      const close = template.indexOf('#}', open + 2);
      if (close < 0) return out;
      at = close + 2;
      continue;
    }
    if (kind !== '{' && kind !== '%') {
      at = open + 1;
      continue;
    }
    const closer = kind === '{' ? '}' : '%';
    let i = open + 2;
    let quote: string | undefined;
    for (; i < template.length; i++) {
      const c = template[i];
      if (quote) {
        if (c === '\\') i++;
        else if (c === quote) quote = undefined;
      } else if (c === "'" || c === '"') quote = c;
      else if (c === closer && template[i + 1] === '}') break;
    }
    out.push(template.slice(open + 2, i));
    at = i + 2;
  }
}
