import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileIn, nodesIn, runIn } from '../support/in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * What pipe keeps beside the warehouse (compiled templates, renders, judged queries) lives in
 * `.pipe/` next to the warehouse file. A command that only reads (`pipe ls`, `pipe compile`) of
 * a profile naming a folder that does not exist yet makes no folder: a profile's target for
 * another machine (`/app/duckdb/dev.duckdb`) would otherwise gain folders wherever it points.
 */
const FILES = {
  'dbt_project.yml': 'name: shop\nprofile: shop\n',
  'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: nowhere/sub/dev.duckdb\n',
  'models/orders.sql': "{% set cols = ['id', 'amount'] %}\nselect {% for c in cols %}1 as {{ c }}{% if not loop.last %}, {% endif %}{% endfor %}",
};

describe('a warehouse folder that does not exist yet', () => {
  it('is made by no command that only reads, and by the run that writes the warehouse', async () => {
    const dir = tempProject(FILES);
    const listed = await nodesIn(dir);
    expect(listed.code, listed.stdout + listed.stderr).toBe(0);
    const compiled = await compileIn(dir, { date: '2024-01-02' });
    expect(compiled.code, compiled.stdout + compiled.stderr).toBe(0);
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);

    const ran = await runIn(dir, { date: '2024-01-02' });
    expect(ran.code, ran.stdout + ran.stderr).toBe(0);
    expect(existsSync(join(dir, 'nowhere/sub/dev.duckdb'))).toBe(true);
    // Once the folder is there, what pipe keeps beside the warehouse is kept.
    await compileIn(dir, { date: '2024-01-02' });
    expect(readdirSync(join(dir, 'nowhere/sub/.pipe/dev.duckdb'))).toContain('renders');
  });
});
