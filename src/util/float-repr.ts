/**
 * A 64-bit float as Python's repr() and DuckDB print it: the shortest digits that read back,
 * a whole value with `.0` (`5.0`), in exponent form below 1e-4 or from 1e16 (`1e+20`,
 * `1.5e-07`), and `nan`, `inf`, `-inf`.
 */
export function floatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const [mantissa, exp] = x.toExponential().split('e');
  const e = Number(exp);
  const negative = mantissa.startsWith('-') || Object.is(x, -0);
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = negative ? '-' : '';
  if (e >= -4 && e < 16) {
    if (e < 0) return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
    const int = digits.slice(0, e + 1).padEnd(e + 1, '0');
    const frac = digits.slice(e + 1);
    return `${sign}${int}.${frac || '0'}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}
