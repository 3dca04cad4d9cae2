import { warning, type Diagnostic, type Location } from '../../diagnostics/diagnostics.js';
import { DATE_VARIABLE_NAMES, type Interval } from '../../dates/dates.js';
import { didYouMean } from '../../diagnostics/suggest.js';
import { nodeFqn } from '../../project/layout.js';
import type { SingularTestSource } from '../../project/load-project.js';
import type { YamlSource } from '../../project/yaml-file.js';
import { stripTrailingSemicolon } from '../../sql/sql-text.js';
import { CallSites } from '../call-sites.js';
import { mergeSettings, settingsOf } from './config-tree.js';
import { failuresStore, queryAtRun, type DbtTest, type FailuresOf, type NodeState, type RenderedTest, type TestConfigValue, type TestRunPhase } from './dbt-tests.js';
import type { RenderPhase } from '../jinja/introspection.js';
import { folderTestSettings, limited, shouldStoreFailures, testConfig, TestConfigReads, testNodeConfig } from './test-config.js';

/**
 * A dbt project's singular tests: each `.sql` file of the test folders is a query whose rows
 * are failures, rendered like a model (`ref()`, `var()`, `{{ config(severity='warn') }}`), and
 * judged as dbt judges a test. It runs with the last node it reads (attach-tests.ts), so
 * every node it reads is built before it: a test that reads none has nothing to run with.
 */

export interface SingularTestContext {
  readonly projectName: string;
  /** Told each test's qualified name, enabled or not (see GenericTestContext.named). */
  readonly named?: (fqn: readonly string[]) => void;
  readonly dbtProject?: YamlSource;
  /** The test folders (test-paths), whose subfolders are part of a test's qualified name. */
  readonly testRoots: readonly string[];
  readonly node: (name: string) => NodeState | undefined;
  /** The node of a source's table (`src.table`), or why `source(src, table)` reads nothing. */
  readonly source: (source: string, table: string, at: Location) => string | Diagnostic;
  readonly nodeNames: readonly string[];
  /**
   * Renders the test's template, in dbt's parse unless `run` says otherwise; its ref() calls
   * give ref tokens, and should_store_failures() answers `stores`.
   */
  readonly render: (test: SingularTestSource, stores: boolean, configValue: TestConfigValue, run?: TestRunPhase) => RenderedTest | Diagnostic;
  /** The same render (dbt's parse) for another interval than the analysis's. */
  readonly renderAt: (test: SingularTestSource, stores: boolean, configValue: TestConfigValue, interval: Interval) => RenderedTest | Diagnostic;
  /** `--store-failures` (see GenericTestContext). */
  readonly storeFailuresFlag: boolean;
  readonly failuresSchema: (custom: string, test: FailuresOf) => string;
  /** How pipe names a relation of the warehouse's own database (see ownRelationName). */
  readonly ownRelation: (schema: string, name: string) => string;
  readonly renderText: (text: string, at: Location) => string | Diagnostic;
  readonly unused: (key: string, at: Location) => void;
}

export function singularTests(files: readonly SingularTestSource[], ctx: SingularTestContext, diagnostics: Diagnostic[]): DbtTest[] {
  return files.flatMap((file) => singularTest(file, ctx, diagnostics) ?? []);
}

function singularTest(file: SingularTestSource, ctx: SingularTestContext, diagnostics: Diagnostic[]): DbtTest | undefined {
  const sites = new CallSites(file.sql);
  const at: Location = { file: file.file };
  const configAt: Location = { file: file.file, ...sites.config() };
  const fqn = nodeFqn(ctx.projectName, file, 'test', ctx.testRoots);
  ctx.named?.(fqn);
  const folders = folderTestSettings(ctx.dbtProject, fqn);
  const quietly = (settings: typeof folders) => testConfig(settings, { test: file.name, renderText: ctx.renderText, unused: () => undefined }, []);
  const settingsAfter = (calls: Readonly<Record<string, unknown>>) => mergeSettings(folders, settingsOf(calls, () => configAt));
  // config.get() reads the test's config as its config() calls leave it; one read before a
  // later call changed the key is answered the final value in a second render, as in a model.
  const configReads = new TestConfigReads(settingsAfter);
  const render = (stores: boolean, run?: TestRunPhase) => ctx.render(file, stores, configReads.value, run);
  // should_store_failures() answers from the test's config: the folders', then (when the file's
  // config() changes the answer) its own, the file rendered again with it.
  let stores = shouldStoreFailures(quietly(folders), ctx.storeFailuresFlag);
  let rendered = render(stores);
  if (!('severity' in rendered) && configReads.answerFinal(rendered)) rendered = render(stores);
  if (!('severity' in rendered) && shouldStoreFailures(quietly(settingsAfter(rendered.config)), ctx.storeFailuresFlag) !== stores) {
    stores = !stores;
    rendered = render(stores);
  }
  if ('severity' in rendered) {
    diagnostics.push(rendered);
    return undefined;
  }
  const conflict = configReads.conflict(rendered, configAt);
  if (conflict) {
    diagnostics.push(conflict);
    return undefined;
  }
  const parse = rendered;
  const settings = settingsAfter(parse.config);
  const config = testConfig(settings, { test: file.name, renderText: ctx.renderText, unused: ctx.unused }, diagnostics);
  if (!config || !config.enabled) return undefined;
  const failuresOf = { name: file.name, fqn, file: file.file, config: testNodeConfig(config) };
  const store = failuresStore(config, ctx.storeFailuresFlag, file.name, failuresOf, ctx.failuresSchema, ctx.ownRelation);

  const reads: string[] = [];
  let ok = true;
  for (const name of rendered.refs) {
    const node = ctx.node(name);
    const found = sites.ref(name);
    const refAt = found ? { file: file.file, ...found } : (rendered.refSites?.get(name) ?? { file: file.file });
    if (node === 'node') {
      if (!reads.includes(name)) reads.push(name);
    } else if (node === 'unavailable') {
      return undefined;
    } else if (node === 'disabled') {
      // As in dbt: a test reading a node switched off is switched off too, with a warning.
      diagnostics.push(warning('disabled-ref', `test ${file.name} is left out: it reads ${name}, which is disabled (enabled: false)`, refAt));
      return undefined;
    } else {
      // As in dbt, which warns that the test depends on a node it did not find and leaves the
      // test out: the rest of the project builds.
      diagnostics.push(warning('unknown-ref', `test ${file.name} is left out: it reads ref('${name}'), and no model or seed is named '${name}'`, refAt, { hint: didYouMean(name, ctx.nodeNames) }));
      return undefined;
    }
  }
  for (const call of rendered.sources) {
    const node = ctx.source(call.source, call.table, { file: file.file, ...sites.sourceCall(call.source, call.table) });
    if (typeof node === 'string') {
      if (!reads.includes(node)) reads.push(node);
    } else if (node.code === 'disabled-source') {
      diagnostics.push({ ...node, severity: 'warning', message: `test ${file.name} is left out: ${node.message}` });
      return undefined;
    } else {
      diagnostics.push(node);
      ok = false;
    }
  }
  if (!ok) return undefined;
  // One that reads sources only runs with their tests (attach-tests.ts); one that reads no node
  // runs on its own, after the other tasks (plan.ts freeTestTasks), as dbt runs it.
  return {
    ...(reads.length === 0 ? { unrun: true as const } : {}),
    on: { kind: 'file', name: file.name },
    reads,
    check: {
      name: file.name,
      kind: 'dbt_singular',
      severity: config.severity,
      scope: 'table',
      location: at,
      columns: [],
      refs: [],
      sql: limited(stripTrailingSemicolon(rendered.sql).trim(), config.limit),
      threshold: config.threshold,
      tags: config.tags,
      ...(parse.readsWarehouse ? { atRun: (phase: RenderPhase) => queryAtRun(file.name, at, render(stores, { phase, parse }), config.limit) } : {}),
      ...(readsDates(file.sql)
        ? {
            dated: (interval: Interval) => {
              const r = ctx.renderAt(file, stores, configReads.value, interval);
              return 'severity' in r ? r : limited(stripTrailingSemicolon(r.sql).trim(), config.limit);
            },
          }
        : {}),
      ...(store ? { storeFailures: store } : {}),
      dbt: { fqn, reads, schema: store?.schema ?? ctx.failuresSchema(config.schema, failuresOf) },
    },
  };
}

/** Whether a template's Jinja names a date variable (`{{ ds }}`, `{% if ds > '2024' %}`): its render depends on the interval. */
function readsDates(template: string): boolean {
  return [...template.matchAll(/\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g)].some((m) => DATE_NAMES.test(m[0]));
}

const DATE_NAMES = new RegExp(`\\b(?:${DATE_VARIABLE_NAMES.join('|')})\\b`);
