import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diskFs } from '../../src/project/project-fs.js';
import { NotUtf8Error } from '../../src/project/utf8.js';
import { removeProjects, tempProject } from '../support/projects.js';

/**
 * Project files are read from disk through one buffer for all: each file's text is its own,
 * whatever its size and whatever was read before it.
 */

afterAll(removeProjects);

describe('reading project files from disk', () => {
  it('gives each file its whole text: one larger than the shared buffer, with characters across its end, and a small one after it', () => {
    const dir = tempProject();
    // 64 KiB and more, a three-byte character straddling each 64 KiB boundary.
    const large = `${'a'.repeat(64 * 1024 - 1)}€${'b'.repeat(100_000)}€\n-- end\n`;
    const small = "select '✓' as ok\n";
    writeFileSync(join(dir, 'large.sql'), large);
    writeFileSync(join(dir, 'small.sql'), small);
    writeFileSync(join(dir, 'empty.sql'), '');
    expect(diskFs.read(join(dir, 'large.sql'))).toBe(large);
    expect(diskFs.read(join(dir, 'small.sql'))).toBe(small);
    expect(diskFs.read(join(dir, 'empty.sql'))).toBe('');
    expect(diskFs.read(join(dir, 'large.sql'))).toBe(large);
  });

  it('refuses a file that is not UTF-8 at its bad byte, and a missing file as the file system does', () => {
    const dir = tempProject();
    writeFileSync(join(dir, 'latin1.sql'), Buffer.from('select 1;\n-- caf\xe9\n', 'latin1'));
    expect(() => diskFs.read(join(dir, 'latin1.sql'))).toThrow(NotUtf8Error);
    expect(() => diskFs.read(join(dir, 'latin1.sql'))).toThrow('byte 0xE9 on line 2');
    expect(() => diskFs.read(join(dir, 'missing.sql'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});
