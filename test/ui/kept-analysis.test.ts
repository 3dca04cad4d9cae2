import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analysisKeep, openAnalyzed, readModel } from '../../src/ui/server/project-data.js';
import { StampedFs } from '../../src/project/project-fs.js';
import { runIn } from '../support/in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';

/**
 * pipe ui keeps the project's analysis between requests, and each model's compiled query: made
 * again only when a file the analysis read changed (its content, or the files of a folder), so
 * that a page never shows a model as it was before an edit.
 */

afterAll(() => removeProjects());

const A = "{{ config(materialized='table') }}\nselect 1 as x\n";

describe('the analysis pipe ui keeps', () => {
  it('stands while the files read the same, and is made again after any edit', async () => {
    const dir = tempProject({ 'models/a.sql': A, 'models/b.sql': "{{ config(materialized='table') }}\nselect x from {{ ref('a') }}\n" }, 'pipe-ui-kept-');
    const keep = analysisKeep();
    const first = openAnalyzed({ project: dir }, keep);
    expect(openAnalyzed({ project: dir }, keep)).toBe(first);
    const compiled = async () => (await readModel({ project: dir }, openAnalyzed({ project: dir }, keep), 'a', keep)).value.compiled;
    expect(await compiled()).toEqual({ sql: '\nselect 1 as x' });
    // Same size, written at once after the read: the content tells.
    writeFileSync(join(dir, 'models/a.sql'), A.replace('1', '2'));
    const second = openAnalyzed({ project: dir }, keep);
    expect(second).not.toBe(first);
    expect(await compiled()).toEqual({ sql: '\nselect 2 as x' });
    // A new file, and a file gone.
    writeFileSync(join(dir, 'models/c.sql'), A);
    expect([...openAnalyzed({ project: dir }, keep).analysis.nodes.keys()].sort()).toEqual(['a', 'b', 'c']);
    rmSync(join(dir, 'models/c.sql'));
    expect([...openAnalyzed({ project: dir }, keep).analysis.nodes.keys()].sort()).toEqual(['a', 'b']);
  });

  it('compiles a model again once a run changed what the warehouse holds', async () => {
    const dir = tempProject({ 'models/inc.sql': "{{ config(materialized='incremental', unique_key='x') }}\nselect {% if is_incremental() %}2{% else %}1{% endif %} as x\n" }, 'pipe-ui-kept-');
    const keep = analysisKeep();
    const compiled = async () => (await readModel({ project: dir }, openAnalyzed({ project: dir }, keep), 'inc', keep)).value.compiled;
    expect(await compiled()).toEqual({ sql: '\nselect 1 as x' });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    expect(await compiled()).toEqual({ sql: '\nselect 2 as x' });
  });
});

describe('StampedFs', () => {
  it('does not take a stamp for the content while a write could have left it as it was', () => {
    const dir = tempProject({ 'models/a.sql': A }, 'pipe-ui-kept-');
    const file = join(dir, 'models/a.sql');
    let now = 1_000_000;
    // A file system whose clock does not tell two writes apart: the stamp is the size alone.
    const fs = new StampedFs((path) => ({ stamp: String(A.length), changedAtMs: path === file ? 1_000_000 : 0 }), () => now);
    fs.startReading();
    expect(fs.read(file)).toBe(A);
    const reading = fs.takeReading();
    writeFileSync(file, A.replace('1', '2'));
    expect(fs.unchanged(reading)).toBe(false);
    expect(fs.read(file)).toBe(A.replace('1', '2'));
    // Left alone long enough, the stamp stands for the content.
    now += 60_000;
    fs.startReading();
    fs.read(file);
    expect(fs.unchanged(fs.takeReading())).toBe(true);
  });
});
