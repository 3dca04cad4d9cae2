import { readdirSync, readFileSync } from 'node:fs';
import { entryChecksum } from '../../src/project/pack-store.js';

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

/** An entry whose checksum matches its key and text, as pack-store.ts writes it: what an edit must write for its entry to be read. */
export const sealed = (key: string, code: string) => ({ checksum: entryChecksum(key, code), code });
