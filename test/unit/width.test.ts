import { beforeAll, describe, expect, it } from 'vitest';
import stringWidth from 'string-width';
import cliTruncate from 'cli-truncate';
import { displayWidth, loadDisplayWidth, padDisplay, textTable, truncateDisplay } from '../../src/logging/width.js';

beforeAll(loadDisplayWidth);

/** Terminal text is measured in columns: Hangul and CJK take two, colour codes none. */

describe('display width', () => {
  it('counts wide characters as two columns and colour codes as none', () => {
    expect(displayWidth('주문_일별')).toBe(9);
    expect(displayWidth('\x1b[2mabc\x1b[22m')).toBe(3);
    expect(padDisplay('주문', 6)).toBe('주문  ');
  });

  it('cuts a status line of wide names to the terminal width, so it never wraps', () => {
    const line = truncateDisplay(`[3/9] running: ${Array.from({ length: 8 }, (_, i) => `주문_모델_${i} 3s`).join(', ')}`, 39);
    expect(displayWidth(line)).toBeLessThanOrEqual(39);
    expect(line.endsWith('…')).toBe(true);
  });

  it('measures and cuts without the libraries only text they measure and cut alike', () => {
    // Every character of the first planes of Unicode, alone and in runs: what is measured
    // without the libraries (see PLAIN) must be what they measure.
    // Mismatches are gathered and compared once: an expect per character costs seconds.
    const mismatches: string[] = [];
    for (let c = 0; c < 0x3000; c++) {
      if (c >= 0xd800) continue;
      const ch = String.fromCharCode(c);
      if (displayWidth(ch) !== stringWidth(ch)) mismatches.push(`U+${c.toString(16)} measured`);
    }
    const runs = ['…', '·', 'é', 'ß', 'Ł', '—', '‰', 'a', ' ', '-'];
    for (let i = 0; i < 2000; i++) {
      const text = Array.from({ length: i % 17 }, (_, j) => runs[(i * 7 + j * 3) % runs.length]).join('');
      if (displayWidth(text) !== stringWidth(text)) mismatches.push(`${JSON.stringify(text)} measured`);
      const width = 1 + (i % 9);
      if (truncateDisplay(text, width) !== cliTruncate(text, width)) mismatches.push(`${JSON.stringify(text)} cut to ${width}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('aligns table columns by display width', () => {
    const t = textTable(['NAME', 'KIND', 'DEPENDS ON'], [['주문', 'table', '-'], ['orders_daily', 'view', '주문']]);
    const [header, first, second] = t.split('\n');
    expect(displayWidth(first.slice(0, first.indexOf('table')))).toBe(displayWidth(second.slice(0, second.indexOf('view'))));
    expect(header.indexOf('KIND')).toBe(second.indexOf('view'));
  });
});
