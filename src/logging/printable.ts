/**
 * Text shown on a terminal with its control characters escaped. Table values, error messages
 * and check samples come from data and from the warehouse, and a terminal obeys what they hold:
 * `ESC ] 0 ; title BEL` sets its title, `ESC [ 2 J` clears the screen, a carriage return
 * writes over what a line said. Every C0 control but the line break and the tab, DEL and the
 * C1 controls (which some terminals read as ESC sequences) are written as `\xHH`; the escape
 * sequences pipe writes itself are made after (see style.ts terminalText), or pass as `kept`.
 */

const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

export function printable(text: string, kept?: RegExp): string {
  if (!CONTROL.test(text)) return text;
  if (!kept) return escapeControls(text);
  let out = '';
  let at = 0;
  for (const m of text.matchAll(kept)) {
    out += escapeControls(text.slice(at, m.index)) + m[0];
    at = m.index + m[0].length;
  }
  return out + escapeControls(text.slice(at));
}

function escapeControls(text: string): string {
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
