import { isUtf8 } from 'node:buffer';

/**
 * Project files are UTF-8. Decoding anything else would put replacement characters into a
 * model's SQL (or a macro, a YAML value) without a word, so a file that is not valid UTF-8 is
 * refused, pointing at its first byte that cannot be decoded.
 */
export class NotUtf8Error extends Error {
  constructor(
    /** 1-based line and column (in characters of the valid text before it) of the first bad byte. */
    readonly line: number,
    readonly column: number,
    readonly byte: number,
  ) {
    super(`not valid UTF-8: byte 0x${byte.toString(16).toUpperCase().padStart(2, '0')} on line ${line} cannot be decoded`);
  }
}

/**
 * Offset of the first byte that does not start a well-formed UTF-8 sequence (or whose
 * sequence is cut short, overlong, a surrogate or above U+10FFFF); undefined when none is.
 */
export function invalidUtf8At(bytes: Uint8Array): number | undefined {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const c = bytes[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    // The allowed range of the second byte narrows for the lead bytes that could otherwise
    // encode overlong forms (E0, F0), surrogates (ED) or values past U+10FFFF (F4).
    let follow: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) follow = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      follow = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      follow = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    if (i + follow >= n || bytes[i + 1] < lo || bytes[i + 1] > hi) return i;
    for (let k = 2; k <= follow; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return i;
    i += follow + 1;
  }
  return undefined;
}

/** The text of a file's bytes; throws NotUtf8Error when they are not UTF-8. */
export function decodeUtf8(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf8');
  const offset = invalidUtf8At(bytes);
  if (offset === undefined) throw new Error('internal error: isUtf8 and invalidUtf8At disagree');
  const lineStart = offset === 0 ? 0 : bytes.lastIndexOf(0x0a, offset - 1) + 1;
  let line = 1;
  for (let i = 0; i < lineStart; i++) if (bytes[i] === 0x0a) line++;
  const column = bytes.subarray(lineStart, offset).toString('utf8').length + 1;
  throw new NotUtf8Error(line, column, bytes[offset]);
}
