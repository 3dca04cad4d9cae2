import * as fs from 'node:fs';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadProject, modelsReadAgain } from '../../src/project/load-project.js';
import { CachedFs } from '../../src/project/project-fs.js';

/**
 * Loading a project walks each folder once, reading each entry's type with the listing, and
 * finds the YAML beside a model in that listing: the calls it makes to the file system besides
 * reading the files do not grow with the number of models.
 */

vi.mock('node:fs', async (original) => {
  const real = await original<typeof import('node:fs')>();
  return { ...real, existsSync: vi.fn(real.existsSync), statSync: vi.fn(real.statSync), lstatSync: vi.fn(real.lstatSync), readdirSync: vi.fn(real.readdirSync) };
});

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A project of `n` models in two folders, every tenth with its YAML, and one model behind a symbolic link. */
function project(n: number): string {
  const root = mkdtempSync(join(tmpdir(), 'pipe-load-calls-'));
  dirs.push(root);
  writeFileSync(join(root, 'pipe.yaml'), 'name: shop\n');
  for (const folder of ['models/staging', 'models/marts', 'seeds', 'elsewhere']) mkdirSync(join(root, folder), { recursive: true });
  for (let i = 0; i < n; i++) {
    const folder = i % 2 ? 'models/staging' : 'models/marts';
    writeFileSync(join(root, folder, `m${i}.sql`), 'select 1 as n\n');
    if (i % 10 === 0) writeFileSync(join(root, folder, `m${i}.yaml`), 'tags: [daily]\n');
  }
  writeFileSync(join(root, 'elsewhere/linked.sql'), 'select 2 as n\n');
  symlinkSync(join(root, 'elsewhere/linked.sql'), join(root, 'models/linked.sql'));
  writeFileSync(join(root, 'seeds/raw.csv'), 'id\n1\n');
  return root;
}

/** The calls that ask about files (not read them) while loading `root`. */
function callsLoading(root: string): { calls: number; loaded: ReturnType<typeof loadProject> } {
  const asks = [fs.existsSync, fs.statSync, fs.lstatSync, fs.readdirSync].map((f) => vi.mocked(f));
  for (const f of asks) f.mockClear();
  const loaded = loadProject(root);
  return { calls: asks.reduce((sum, f) => sum + f.mock.calls.length, 0), loaded };
}

describe('loading a project', () => {
  it('asks the file system as often for 400 models as for 40', () => {
    const small = callsLoading(project(40));
    const large = callsLoading(project(400));
    expect(large.loaded.models).toHaveLength(401);
    expect(large.calls).toBe(small.calls);
    // A handful: the project's own files, each folder once, the one link followed.
    expect(large.calls).toBeLessThan(30);
  });

  it('finds the YAML beside a model, and a model behind a symbolic link, from the listing', () => {
    const { loaded } = callsLoading(project(20));
    const byName = new Map(loaded.models.map((m) => [m.name, m]));
    expect(byName.get('m10')?.yaml?.data).toEqual({ tags: ['daily'] });
    expect(byName.get('m11')?.yaml).toBeUndefined();
    expect(byName.get('linked')?.sql).toBe('select 2 as n\n');
    expect(loaded.diagnostics).toEqual([]);
  });

  it('through a CachedFs, loads a save of model text from that file alone, and anything else whole', () => {
    const root = project(40);
    const fs_ = new CachedFs();
    const first = loadProject(root, fs_);
    const saved = join(root, 'models/marts/m0.sql');
    writeFileSync(saved, 'select 3 as n\n');
    fs_.update(saved, 'change');
    const asks = [fs.existsSync, fs.statSync, fs.lstatSync, fs.readdirSync].map((f) => vi.mocked(f));
    for (const f of asks) f.mockClear();
    const again = loadProject(root, fs_);
    expect(asks.reduce((sum, f) => sum + f.mock.calls.length, 0)).toBe(0);
    // Everything but the saved model is the last load's, so that analysis finds the change by identity.
    expect(again.models.find((m) => m.name === 'm0')?.sql).toBe('select 3 as n\n');
    expect(again.models.filter((m, i) => m !== first.models[i]).map((m) => m.name)).toEqual(['m0']);
    for (const key of ['seeds', 'macros', 'properties', 'diagnostics', 'layout'] as const) expect(again[key], key).toBe(first[key]);
    // And it says which, so that analysis compares no other model.
    expect(modelsReadAgain(again, first)?.map((i) => again.models[i].name)).toEqual(['m0']);
    // A file added is loaded whole: it appears.
    writeFileSync(join(root, 'models/marts/m999.sql'), 'select 4 as n\n');
    fs_.update(join(root, 'models/marts/m999.sql'), 'add');
    const added = loadProject(root, fs_);
    expect(added.models.map((m) => m.name)).toContain('m999');
    expect(added.seeds).not.toBe(first.seeds);
    expect(modelsReadAgain(added, again)).toBeUndefined();
    // And the YAML beside a model changed: it is read again.
    writeFileSync(join(root, 'models/marts/m0.yaml'), 'tags: [hourly]\n');
    fs_.update(join(root, 'models/marts/m0.yaml'), 'change');
    expect(loadProject(root, fs_).models.find((m) => m.name === 'm0')?.yaml?.data).toEqual({ tags: ['hourly'] });
  });
});
