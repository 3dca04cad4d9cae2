import type { CheckStep, Step } from './task.js';

/**
 * The steps of a task as one readable text, in the order the executor runs them, each under
 * a comment that names it: what `pipe run --dry-run` prints, and what the stored expected SQL
 * of the strategies is compared with. Steps whose statements are decided only while the task
 * runs (a schema change, the columns a check names) say what will be compared.
 */
export function renderSteps(steps: readonly Step[]): string {
  // A test task's publish writes nothing (other tasks' empty ones take statements decided as they run: a snapshot's merge).
  const testsOnly = steps.every((s) => s.kind === 'check' || s.kind === 'publish' || s.kind === 'refuse' || s.kind === 'unit-test' || s.kind === 'columns');
  return `${steps.map((s) => renderStep(s, testsOnly)).join('\n\n')}\n`;
}

function renderStep(step: Step, testsOnly = false): string {
  switch (step.kind) {
    case 'statement':
      return `-- statement${step.countsRows ? ' (counts rows)' : ''}\n${step.sql};`;
    case 'assert-empty':
      return `-- assert-empty: ${step.message}\n${step.sql};\n-- count\n${step.countSql};`;
    case 'publish': {
      const rows = step.countsRowsAt !== undefined ? ` (rows from statement ${step.countsRowsAt + 1})` : '';
      const body = [
        ...(step.inside ?? []).map((s) => renderStep(s)),
        ...step.statements.map((s) => `${s};`),
        ...(step.after ?? []).map((s) => renderStep(s)),
        ...(step.checks ?? []).map((c) => `-- ${checkLabel(c)}, before the commit\n${c.sql};`),
      ];
      const partition = step.partition ? `; a row outside the partition fails the insert (${step.partition.outside.error})` : '';
      if (testsOnly && body.length === 0) return '-- nothing to publish: the outcome is recorded';
      return `-- publish, one transaction${rows}${partition}\nBEGIN TRANSACTION;\n${body.join('\n')}\nCOMMIT;`;
    }
    case 'cleanup':
      return `-- cleanup after a failure\n${step.sql};`;
    case 'remove-file':
      return `-- cleanup after a failure: remove ${step.path}`;
    case 'hook':
      if (step.renderAtRun) return `-- ${step.label}${step.published ? ', after the commit' : ''}: rendered as it runs (it queries the warehouse while it renders)`;
      return `-- ${step.label}${step.published ? ', after the commit' : ''}\n${step.sql};`;
    case 'contract':
      return `-- contract: the query's columns must be ${step.columns.map((c) => `${c.name} ${c.dataType}`).join(', ')}`;
    case 'refuse':
      return `-- not run, the task fails: ${step.message}`;
    case 'persist-docs':
      return `-- persist_docs: COMMENT ON ${[...(step.description !== undefined ? [step.relation] : []), ...step.columns.map((c) => `column ${c.name}`)].join(', ')} (the columns ${step.relation} has)`;
    case 'write-file':
      return `-- write ${step.staging} to ${step.temp} (${step.format}), rename it to ${step.path}; the view ${step.view} over it joins the publishing transaction`;
    case 'type-changes':
      return `-- type changes: the columns of ${step.staged} against ${step.target}; a column of another type, or one that came or went, is told`;
    case 'schema-change':
      return `-- schema change: the columns of ${'query' in step.staged ? "the model's query" : step.staged.relation} against ${step.target}; on a difference, ${step.policy} (any ALTER TABLE joins the publishing transaction)`;
    case 'snapshot-merge':
      return `-- snapshot: from the columns of ${step.source} and ${step.target}, the table is created, or the changes staged in ${step.changes} and applied (the statements open the publishing transaction)`;
    case 'columns':
      return `-- columns of ${step.of === undefined ? step.relation : `${step.of}, as a check reads it`}: ${step.expected.map((c) => c.column).join(', ')}`;
    case 'check':
      return `-- ${checkLabel(step)}\n${step.sql};`;
    case 'unit-test':
      return `-- unit test ${step.name}: the rows of ${step.inputs.map((i) => i.label).join(', ') || 'no input'} (typed by the columns of their relations when it runs), then the query below compared with the expected rows\n${step.sql};`;
    default: {
      const never: never = step;
      throw new Error(`internal error: step ${JSON.stringify(never)}`);
    }
  }
}

/** A check by its name and severity; a dbt test with how its failures are counted and judged. */
function checkLabel(c: CheckStep): string {
  const t = c.threshold;
  if (!t) return `check ${c.name} (${c.severity})`;
  const judged = c.severity === 'error' ? `fails if ${t.failCalc} ${t.errorIf}, else warns if ${t.failCalc} ${t.warnIf}` : `warns if ${t.failCalc} ${t.warnIf}`;
  const atRun = c.renderAtRun ? '; it reads the warehouse while rendering: rendered again when it runs, shown as rendered with execute false' : '';
  return `test ${c.name} (${c.severity}: ${judged})${atRun}`;
}
