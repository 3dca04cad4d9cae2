import { basename, dirname, join } from 'node:path';
import { externalPath } from '../../analyze/external-files.js';
import type { ExternalConfig } from '../../analyze/model-config.js';
import type { Step } from '../task.js';
import { SQL, type StrategyInput } from './strategy.js';

/**
 * dbt-duckdb's `external`: the query's rows are staged in a table, written to a file, and a
 * view over the file is published under the model's name. pipe writes the file under a
 * temporary name in the same folder and renames it over the old one, so a reader of the file
 * sees the old rows or the new ones, never part of a file. The checks of the staged rows run
 * before the file is written; the tests of the published model read the view over the
 * temporary file inside the publishing transaction, and the file is renamed into place once
 * they passed, before the post-hooks (which read it where it is written) and the commit (see
 * StepRunner.publish): a failed check leaves the old file. A failed post-hook or commit, after
 * the rename, rolls back the view and the run state and not the file (dbt-duckdb writes the
 * file in place, with no rollback at all).
 */

/** The name the file is written under before it is renamed into place: hidden, beside it, one per run. */
export function externalTempPath(path: string, runId: string): string {
  return join(dirname(path), `.${basename(path)}.${runId}.pipe-tmp`);
}

export function externalStrategy(input: StrategyInput, config: ExternalConfig): Step[] {
  if (input.root === undefined) throw new Error('internal error: an external model planned without its project folder');
  const path = externalPath(input.root, input.externalRoot, input.name, config);
  const temp = externalTempPath(path, input.runId ?? 'run');
  return [
    { kind: 'statement', sql: SQL.stageTable(input.stagingRelation, input.sql), countsRows: true, rowsOf: input.stagingRelation },
    {
      kind: 'write-file',
      staging: input.stagingRelation,
      temp,
      path,
      format: config.format,
      ...(config.delimiter === undefined ? {} : { delimiter: config.delimiter }),
      view: input.relation,
      ...(input.existing === undefined ? {} : { existing: input.existing }),
    },
    // The view over the file joins the transaction as the file is written (see the write-file step).
    { kind: 'publish', statements: [SQL.dropTable(input.stagingRelation)] },
    { kind: 'cleanup', sql: SQL.dropTable(input.stagingRelation) },
    { kind: 'remove-file', path: temp },
  ];
}
