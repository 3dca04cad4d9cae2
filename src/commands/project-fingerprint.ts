import { createHash } from 'node:crypto';
import type { ProjectFiles } from '../project/load-project.js';
import type { YamlSource } from '../project/yaml-file.js';

/**
 * What a worker of a distributed backfill compares with its coordinator's before it runs a
 * task: a hash of the project as both compile it (each model's, snapshot's and test's SQL,
 * each seed's content, the macros, the properties files, the pipelines and pipe.yaml's
 * settings). Where the warehouse is (pipe.yaml's `warehouse:`) is left out: a worker may name
 * the same lake with --db. Two machines with the same checkout agree; a worker with an older
 * or edited project does not, and refuses rather than build something else.
 */
export function projectFingerprint(files: ProjectFiles): string {
  const yaml = (y: YamlSource | undefined) => (y ? { file: y.file, data: y.data } : null);
  const settings = files.projectFile ? Object.fromEntries(Object.entries(files.projectFile.data).filter(([k]) => k !== 'warehouse')) : null;
  const parts = {
    settings,
    dbtProject: yaml(files.dbtProject),
    models: files.models.map((m) => [m.file, m.sql]),
    snapshots: files.snapshots.map((m) => [m.file, m.sql]),
    tests: files.singularTests.map((t) => [t.file, t.sql]),
    seeds: files.seeds.map((s) => [s.file, s.hash]),
    macros: files.macros.map((m) => [m.file, m.source]),
    properties: files.properties.map(yaml),
    pipelines: files.pipelines.map((p) => yaml(p.yaml)),
  };
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}
