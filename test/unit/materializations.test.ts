import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { MATERIALIZATIONS, isBuilt, materialization, type TableState } from '../../src/plan/materializations.js';
import { kindOf } from '../../src/analyze/model-kinds.js';
import type { KindKeys, Materialization } from '../../src/analyze/model-config.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURE = join(import.meta.dirname, 'materializations.types.ts');
/** What the fixture imports. */
const IMPORTED = ['src/analyze/model-config.ts', 'src/plan/materializations.ts', 'src/plan/task.ts'].map((f) => join(ROOT, f));

/** The project's compiler options, checking only. */
function compilerOptions(): ts.CompilerOptions {
  const { config } = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT);
  return { ...options, noEmit: true, rootDir: undefined, declaration: false, sourceMap: false };
}

interface TypeError {
  readonly line: number;
  readonly message: string;
}

/**
 * The type errors of materializations.types.ts (1-based lines), compiled with its
 * `@ts-expect-error` comments made plain, to see the errors they stand for.
 */
function typeErrors(): TypeError[] {
  const options = compilerOptions();
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    name === FIXTURE ? ts.createSourceFile(name, readFileSync(FIXTURE, 'utf8').replaceAll('@ts-expect-error', 'expected:'), language) : read(name, language, ...rest);
  const program = ts.createProgram({ rootNames: [FIXTURE], options, host });
  // The diagnostics of the fixture and of the files it imports (where the table itself is checked):
  // checking every file they reach, all of src/ (which the build checks), took most of the time.
  const checked = [FIXTURE, ...IMPORTED].map((name) => program.getSourceFile(name)!);
  const diagnostics = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics(), ...checked.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)])];
  return diagnostics.map((d) => ({
    line: d.file?.fileName === FIXTURE && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0,
    message: `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
  }));
}

describe('the table of materializations', () => {
  it('is refused by the compiler when a kind lacks its entry or an entry a facet, and accepted whole', () => {
    const expected = readFileSync(FIXTURE, 'utf8')
      .split('\n')
      .flatMap((line, i) => {
        const quoted = /@ts-expect-error -- .*'([^']+)'$/.exec(line);
        return quoted ? [{ line: i + 2, names: quoted[1] }] : [];
      });
    expect(expected.length).toBeGreaterThanOrEqual(6);
    const errors = typeErrors();
    // Each line under a directive fails, for the reason its comment names...
    for (const e of expected) {
      const messages = errors.filter((x) => x.line === e.line).map((x) => x.message);
      expect(messages.some((m) => m.includes(`'${e.names}'`)), `line ${e.line}: ${messages.join('; ') || 'no error'}`).toBe(true);
    }
    // ... and nothing else does: the complete table, its types and the assertions on them compile.
    expect(errors.filter((x) => !expected.some((e) => e.line === x.line))).toEqual([]);
  });

  it('lists the kinds in the order messages name them', () => {
    expect(Object.keys(MATERIALIZATIONS)).toEqual(['table', 'view', 'incremental', 'merge', 'delete+insert', 'append', 'microbatch', 'external', 'ephemeral', 'snapshot']);
    expect(Object.keys(MATERIALIZATIONS).filter((k) => isBuilt(k as keyof typeof MATERIALIZATIONS))).toEqual([
      'table',
      'view',
      'incremental',
      'merge',
      'delete+insert',
      'append',
      'microbatch',
      'external',
      'snapshot',
    ]);
  });

  it('answers is_incremental() only for an incremental model whose table exists, without --full-refresh', () => {
    const states: TableState[] = [
      { tableExists: false, fullRefresh: false },
      { tableExists: true, fullRefresh: false },
      { tableExists: true, fullRefresh: true },
      { tableExists: false, fullRefresh: true },
    ];
    const answers = Object.fromEntries(Object.keys(MATERIALIZATIONS).map((kind) => [kind, states.map((s) => materialization(kind as Materialization).isIncremental(s))]));
    expect(answers).toEqual({
      table: [false, false, false, false],
      view: [false, false, false, false],
      incremental: [false, true, false, false],
      merge: [false, true, false, false],
      'delete+insert': [false, true, false, false],
      append: [false, true, false, false],
      microbatch: [false, true, false, false],
      external: [false, false, false, false],
      ephemeral: [false, false, false, false],
      snapshot: [false, false, false, false],
    });
  });

  it('gives an incremental model its partition column, or says it is missing', () => {
    expect(MATERIALIZATIONS.incremental.config({ partition_by: 'd', on_schema_change: 'append_new_columns' })).toEqual({
      kind: 'incremental',
      materialized: 'incremental',
      partition_by: 'd',
      on_schema_change: 'append_new_columns',
      // No interval before the run's own is rebuilt unless asked.
      lookback: 0,
    });
    expect(MATERIALIZATIONS.incremental.config({ partition_by: 'd', on_schema_change: 'fail', lookback: 2 })).toMatchObject({ lookback: 2 });
    expect(MATERIALIZATIONS.incremental.config({ on_schema_change: 'fail' })).toMatchObject({ key: 'partition_by' });
    // The keys other kinds do not read are not part of their config.
    expect(MATERIALIZATIONS.table.config()).toEqual({ kind: 'table', materialized: 'table' });
  });
});

describe('the materialization of an incremental model', () => {
  const keys = (k: Omit<KindKeys, 'on_schema_change'>): KindKeys => ({ on_schema_change: 'fail', ...k });
  const kind = (k: Omit<KindKeys, 'on_schema_change'>) => {
    const chosen = kindOf('incremental', keys(k));
    return typeof chosen === 'string' ? chosen : `refused at ${chosen.key}`;
  };

  it('follows from its keys: partitions, rows by key (delete+insert unless merge is asked for, as in dbt-duckdb), or batches', () => {
    expect(kind({ partition_by: 'd' })).toBe('incremental');
    expect(kind({ partition_by: 'd', incremental_strategy: 'append' })).toBe('incremental');
    expect(kind({ unique_key: ['id'] })).toBe('delete+insert');
    expect(kind({ unique_key: ['id'], incremental_strategy: 'delete+insert' })).toBe('delete+insert');
    expect(kind({ unique_key: ['a', 'b'], incremental_strategy: 'merge' })).toBe('merge');
    expect(kind({ incremental_strategy: 'microbatch', event_time: 'ts', batch_size: 'day', begin: 0 })).toBe('microbatch');
  });

  it("appends what its query returns when it says append, or (dbt-duckdb's default, a dbt project's) says nothing more", () => {
    expect(kind({ incremental_strategy: 'append' })).toBe('append');
    expect(kind({ appendsByDefault: true })).toBe('append');
    // A key or a partition still decides, whatever the default.
    expect(kind({ appendsByDefault: true, unique_key: ['id'] })).toBe('delete+insert');
    expect(kind({ appendsByDefault: true, partition_by: 'd' })).toBe('incremental');
  });

  it('is refused, at the key to change, where a re-run would not give the same table or a key would not be used', () => {
    // A pipe project's incremental model that says nothing more: most likely its partition column left out.
    expect(kind({})).toBe('refused at partition_by');
    expect(kind({ unique_key: ['id'], incremental_strategy: 'append' })).toBe('refused at incremental_strategy');
    expect(kind({ incremental_strategy: 'merge' })).toBe('refused at incremental_strategy');
    expect(kind({ incremental_strategy: 'delete+insert', partition_by: 'd' })).toBe('refused at incremental_strategy');
    // Two ways of replacing rows at once.
    expect(kind({ unique_key: ['id'], partition_by: 'd' })).toBe('refused at partition_by');
    expect(kind({ incremental_strategy: 'microbatch', unique_key: ['id'] })).toBe('refused at unique_key');
    expect(kind({ incremental_strategy: 'microbatch', partition_by: 'd' })).toBe('refused at partition_by');
  });

  it("takes a microbatch model's batches and their lookback, dbt's default being one batch", () => {
    expect(MATERIALIZATIONS.microbatch.config(keys({ event_time: 'ts', batch_size: 'hour', begin: 5 }))).toEqual({
      kind: 'microbatch',
      materialized: 'incremental',
      event_time: 'ts',
      batch_size: 'hour',
      begin: 5,
      lookback: 1,
      on_schema_change: 'fail',
    });
    expect(MATERIALIZATIONS.microbatch.config(keys({ batch_size: 'day', begin: 0 }))).toMatchObject({ key: 'event_time' });
    expect(MATERIALIZATIONS.microbatch.config(keys({ event_time: 'ts', begin: 0 }))).toMatchObject({ key: 'batch_size' });
    expect(MATERIALIZATIONS.microbatch.config(keys({ event_time: 'ts', batch_size: 'day' }))).toMatchObject({ key: 'begin' });
  });
});
