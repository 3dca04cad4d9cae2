import { readdirSync, readFileSync } from 'node:fs';

/** The pack files of a cache folder (see pack-store.ts). */
export const packs = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.pack'));

/** The entries of a pack: key, checksum and text, as pack-store.ts writes them. */
export function packEntries(path: string): { key: string; checksum: string; code: string }[] {
  const text = readFileSync(path, 'utf8');
  const out = [];
  let at = text.indexOf('\n') + 1;
  while (at < text.length) {
    const eol = text.indexOf('\n', at);
    const [key, checksum, length] = text.slice(at, eol).split(' ');
    out.push({ key, checksum, code: text.slice(eol + 1, eol + 1 + Number(length)) });
    at = eol + 1 + Number(length) + 1;
  }
  return out;
}
