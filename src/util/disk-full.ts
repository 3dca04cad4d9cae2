/**
 * A write refused for want of space, by DuckDB ("Could not write file ...: No space left on
 * device") or by Node (ENOSPC), said as what it is: the disk, and the file it could not write.
 * Undefined for any other error.
 */
export function diskFull(message: string): string | undefined {
  if (!/No space left on device|ENOSPC|disk (is )?full/i.test(message)) return undefined;
  const file = /(?:Could not write file|open) "?'?([^"'\n:]+)/.exec(message)?.[1];
  return `the disk is full${file ? `: ${file} could not be written` : ''} (no space left on device)`;
}
