import { afterAll, describe, expect, it } from 'vitest';
import { analyze, type Analysis, type ModelNode } from '../../src/analyze/analyze.js';
import { NO_TABLE } from '../../src/analyze/model-kinds.js';
import { dayInterval, parseDate } from '../../src/dates/dates.js';
import { loadProject } from '../../src/project/load-project.js';
import { removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * Vars as dbt gives them to each node, in the shape of Fivetran's source packages: the
 * package's models read the package's vars (its dbt_project.yml, under the project's), a var
 * whose value is a template renders where var() is called (`"{{ source('intercom', 'tag') }}"`),
 * and a source's schema and identifier may be templates of the package's vars. The expected
 * SQL is what dbt-duckdb 1.11 compiles from the same files (relations aside).
 */

const day = dayInterval(parseDate('2024-01-02')!);
const run = (files: Record<string, string>, vars?: Record<string, unknown>): Analysis =>
  analyze(loadProject(tempProject(files)), { interval: day, ...(vars ? { vars } : {}) });
const errors = (a: Analysis) => a.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.message, d.location?.file, d.location?.line]);
const sqlOf = (a: Analysis, name: string): string => {
  const r = a.renderer.sql(name, day, NO_TABLE);
  if ('severity' in r) throw new Error(r.message);
  return r.sql.trim();
};

/** A source package: its vars point its models at its source, whose place is a template of vars. */
const SOURCE_PACKAGE = {
  'dbt_packages/crm_source/dbt_project.yml': `name: crm_source
vars:
  crm_source:
    tag: "{{ source('crm', 'tag') }}"
    label: package
  crm_schema_default: raw
`,
  'dbt_packages/crm_source/models/src.yml': `version: 2
sources:
  - name: crm
    schema: "{{ var('crm_schema', var('crm_schema_default')) }}"
    tables:
      - name: tag
        identifier: "{{ var('crm_tag_identifier', 'tag') }}"
`,
  'dbt_packages/crm_source/models/stg_crm__tag.sql': "select *, '{{ var('label') }}' as label from {{ var('tag') }}",
};

const PROJECT = `name: crm
vars:
  crm_schema: main
  crm_source:
    crm_tag_identifier: tag_data
  crm:
    tag: "{{ ref('stg_crm__tag') }}"
    label: project
`;

describe("a package's vars", () => {
  it("are the package's own under the project's: a var scoped to the project is not the package's", () => {
    const a = run({ ...SOURCE_PACKAGE, 'dbt_project.yml': PROJECT, 'models/tags.sql': "select *, '{{ var('label') }}' as label from {{ var('tag') }}" });
    expect(errors(a)).toEqual([]);
    // The package's var('tag') is its source; the project's is the package's model.
    expect(sqlOf(a, 'stg_crm__tag')).toBe(`select *, 'package' as label from "main"."tag_data"`);
    expect(sqlOf(a, 'tags')).toBe(`select *, 'project' as label from "main"."stg_crm__tag"`);
    expect((a.nodes.get('tags') as ModelNode).upstream).toEqual(['stg_crm__tag']);
    expect((a.nodes.get('stg_crm__tag') as ModelNode).upstream).toEqual(['crm.tag']);
  });

  it("take the project's vars scoped to the package, its global vars and --var over the package's", () => {
    const files = {
      ...SOURCE_PACKAGE,
      'dbt_project.yml': `name: crm\nvars:\n  crm_schema: main\n  crm_source:\n    label: scoped\n`,
    };
    expect(sqlOf(run(files), 'stg_crm__tag')).toBe(`select *, 'scoped' as label from "main"."tag"`);
    expect(sqlOf(run(files, { label: 'given' }), 'stg_crm__tag')).toBe(`select *, 'given' as label from "main"."tag"`);
    // With nothing set by the project, the source's schema is the package's default.
    expect(sqlOf(run({ ...SOURCE_PACKAGE, 'dbt_project.yml': 'name: crm\n' }), 'stg_crm__tag')).toBe(`select *, 'package' as label from "raw"."tag"`);
  });

  it("include each scope as a var of its name, as dbt's vars_for merges a scope over every var of the file", () => {
    // dbt-activity-schema's integration tests: vars: dbt_activity_schema: {included_columns: [...]}, read as var('dbt_activity_schema').get('included_columns').
    const a = run({
      ...SOURCE_PACKAGE,
      'dbt_project.yml': PROJECT,
      'models/scopes.sql': "select '{{ var('crm_source').get('crm_tag_identifier') }}' as identifier, '{{ var('crm')['label'] }}' as label",
      'dbt_packages/crm_source/models/scope.sql': "select '{{ var('crm_source') | tojson }}' as own, '{{ var('crm') | length }}' as root",
    });
    expect(errors(a)).toEqual([]);
    expect(sqlOf(a, 'scopes')).toBe("select 'tag_data' as identifier, 'project' as label");
    // In a package's model the project's mapping of the name wins over the package's own, as its vars win.
    expect(sqlOf(a, 'scope')).toBe(`select '{"crm_tag_identifier": "tag_data"}' as own, '2' as root`);
  });

  it("are not the project's: a package's macro called by the project's model reads the model's vars, as in dbt", () => {
    // dbt-activity-schema: its dbt_project.yml sets column_mappings: {}, its macro reads var('column_mappings', <the project's scope>).
    const a = run({
      ...SOURCE_PACKAGE,
      'dbt_packages/crm_source/macros/labels.sql': "{% macro label_of() %}{{ return(var('label', 'unset')) }}{% endmacro %}",
      'dbt_packages/crm_source/models/own_label.sql': "select '{{ crm_source.label_of() }}' as label",
      'dbt_project.yml': 'name: crm\n',
      'models/labels.sql': "select '{{ crm_source.label_of() }}' as label, '{{ var('crm_schema_default', 'unset') }}' as schema_default",
    });
    expect(errors(a)).toEqual([]);
    expect(sqlOf(a, 'labels')).toBe("select 'unset' as label, 'unset' as schema_default");
    expect(sqlOf(a, 'own_label')).toBe("select 'package' as label");
  });

  it("are read by the package's tests and its models' hooks, which are the package's nodes (dbt-project-evaluator's coverage targets and post-hooks)", () => {
    const a = run({
      ...SOURCE_PACKAGE,
      'dbt_packages/crm_source/dbt_project.yml': `name: crm_source
vars:
  min_label_length: 3
  crm_schema_default: raw
models:
  crm_source:
    +post-hook: "select {{ var('min_label_length') }} as hooked"
`,
      'dbt_packages/crm_source/models/stg_crm__tag.sql': "select 'x' as label",
      'dbt_packages/crm_source/models/stg.yml': `version: 2
models:
  - name: stg_crm__tag
    data_tests:
      - long_labels:
          arguments:
            min_length: "{{ var('min_label_length') }}"
`,
      'dbt_packages/crm_source/tests/generic/long_labels.sql': '{% test long_labels(model, min_length) %}select * from {{ model }} where length(label) < {{ min_length }}{% endtest %}',
      'dbt_project.yml': 'name: crm\n',
    });
    expect(errors(a)).toEqual([]);
    const node = a.nodes.get('stg_crm__tag') as ModelNode;
    expect(node.checks.map((c) => c.sql)).toEqual([expect.stringContaining('where length(label) < 3')]);
  });

  it('refuse a var whose value reads itself', () => {
    const a = run({ 'dbt_project.yml': `name: crm\nvars:\n  a: "{{ var('a') }}"\n`, 'models/m.sql': "select '{{ var('a') }}' as v" });
    expect(errors(a)).toEqual([["var 'a' ({{ var('a') }}) fails to render: var 'a' reads itself while its value renders: a -> a", 'models/m.sql', 1]]);
  });
});
