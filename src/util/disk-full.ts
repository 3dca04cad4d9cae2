/**
 * A write refused for want of space, by DuckDB ("Could not write file ...: No space left on
 * device") or by Node (ENOSPC), said as what it is: the disk, and the file it could not write.
 * Undefined for any other error.
 */
/** The name DuckLake gives each data file it writes. */
const LAKE_DATA_FILE = /\/ducklake-[0-9a-f-]{36}\.parquet$/;

export function diskFull(message: string): string | undefined {
  if (!/No space left on device|ENOSPC|disk (is )?full/i.test(message)) return undefined;
  const file = /(?:Could not write file|open) "?'?([^"'\n:]+)/.exec(message)?.[1];
  // A lake's new data file has a name of its own every time: its folder is what the tasks that fail for it share.
  const folder = file && LAKE_DATA_FILE.test(file) ? file.slice(0, file.lastIndexOf('/') + 1) : undefined;
  if (folder) return `the disk is full: no new data file could be written in ${folder} (no space left on device)`;
  return `the disk is full${file ? `: ${file} could not be written` : ''} (no space left on device)`;
}
