import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/project/load-project.js';
import { CachedFs, diskFs } from '../../src/project/project-fs.js';
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

  it('follows a link to a folder in a recursive listing, each folder once, as dbt follows links', () => {
    const dir = tempProject({ 'vendor/kit/macros/m.sql': 'x', 'vendor/kit/.hidden/h.sql': 'x', 'project/models/a.sql': 'x' });
    mkdirSync(join(dir, 'project/dbt_packages'));
    symlinkSync(join(dir, 'vendor/kit'), join(dir, 'project/dbt_packages/kit'));
    // A link back to a folder already walked is not walked again.
    symlinkSync(join(dir, 'vendor'), join(dir, 'vendor/kit/macros/back'));
    const root = join(dir, 'project');
    expect(diskFs.list(root, true).map((p) => p.slice(root.length + 1))).toEqual(['dbt_packages/kit/macros/back/kit/macros/m.sql', 'dbt_packages/kit/macros/m.sql', 'models/a.sql']);
    expect(diskFs.list(join(root, 'dbt_packages'), false)).toEqual([]);
  });

  it('lists a link to nothing as a file, whose reading is an error naming it: not a model that left without a word', () => {
    const dir = tempProject({ 'models/a.sql': 'select 1 as x' });
    symlinkSync(join(dir, 'gone/x.sql'), join(dir, 'models/x.sql'));
    expect(diskFs.list(join(dir, 'models'), true).map((p) => p.slice(dir.length + 1))).toEqual(['models/a.sql', 'models/x.sql']);
    const problems = loadProject(dir).diagnostics.map((d) => [d.code, d.location?.file]);
    expect(problems).toEqual([['unreadable-file', 'models/x.sql']]);
  });

  it('lists a folder replaced at once as it is, whatever order its events are told in', () => {
    const dir = tempProject({ 'macros/m.sql': 'one', 'models/a.sql': 'select 1' });
    const fs = new CachedFs();
    expect(fs.list(join(dir, 'macros'), true)).toEqual([join(dir, 'macros/m.sql')]);
    // rm -rf macros && mv new macros: the watcher may tell the new file's add before the folder's unlink.
    rmSync(join(dir, 'macros'), { recursive: true });
    mkdirSync(join(dir, 'macros'));
    writeFileSync(join(dir, 'macros/m.sql'), 'two');
    fs.update(join(dir, 'macros/m.sql'), 'add');
    fs.update(join(dir, 'macros'), 'unlinkDir');
    expect(fs.list(join(dir, 'macros'), true)).toEqual([join(dir, 'macros/m.sql')]);
    expect(fs.read(join(dir, 'macros/m.sql'))).toBe('two');
  });

  it('reads a package dbt deps linked into dbt_packages/, as it links a local: package', () => {
    const dir = tempProject({
      'vendor/kit/dbt_project.yml': "name: kit\nversion: '1.0'\nconfig-version: 2\n",
      'vendor/kit/macros/one.sql': '{% macro one() %}1{% endmacro %}',
      'project/dbt_project.yml': 'name: shop\n',
      'project/packages.yml': 'packages:\n  - package: acme/kit\n    version: 1.0.0\n',
      'project/models/a.sql': 'select {{ kit.one() }} as x',
    });
    mkdirSync(join(dir, 'project/dbt_packages'));
    symlinkSync(join(dir, 'vendor/kit'), join(dir, 'project/dbt_packages/kit'));
    const installed = loadProject(join(dir, 'project')).packages?.installed ?? [];
    expect(installed.map((p) => [p.name, p.dir, p.macros.map((m) => m.file)])).toEqual([['kit', 'dbt_packages/kit', ['dbt_packages/kit/macros/one.sql']]]);
  });
});
