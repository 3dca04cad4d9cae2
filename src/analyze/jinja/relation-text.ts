import { JinjaError } from './errors.js';
import { isStr, PyObject, strOf } from './values.js';

/**
 * A relation of a node (what ref(), source() and `this` give) prints, while a template
 * renders, as a placeholder that pipe replaces once the render is done, when the node's place
 * is known (a config(schema=...) further down its file, a backfill's staging table, a test's
 * stand-in): its text (`ref('x') | string`, `this ~ ''`) is that placeholder, not the
 * relation's text. Passed on into the SQL it becomes the relation; taken apart as text (split,
 * replace, upper, length, an index, `in`) it would give another answer than dbt's, so that is
 * refused, with the ways that work. Text that holds a relation among other text (a query) is
 * left to what it is used for: searching a query for a keyword, or for the relation itself,
 * answers as dbt's does.
 */

/** A relation's text alone: one placeholder, between two NULs (see analyze/checks.ts refToken and relationToken). */
const PLACEHOLDER = /^\s*\u0000[^\u0000]*\u0000\s*$/;

/** Whether `v` is a relation that prints as a placeholder, or that text alone. */
export function holdsRelation(v: unknown): boolean {
  if (isStr(v)) return PLACEHOLDER.test(strOf(v));
  return v instanceof PyObject && v.typeName === 'Relation' && PLACEHOLDER.test(v.str());
}

/** The error of `what` (`|replace`, `.split()`, an index) used on a relation's text. */
export function relationAsText(what: string): JinjaError {
  return new JinjaError(
    `${what} reads the text of a relation (of ref(), source() or this), which pipe writes only once the template is rendered, where the relation's place is known; while it renders, that text is a placeholder, so ${what} would not give what dbt gives. Use the relation's parts (.identifier, and .schema and .database of a source or of this), or write the relation into the SQL as it is ({{ ref('name') }})`,
  );
}

/** Throws relationAsText(what) when `v` is a relation's text. */
export function refuseRelationText(v: unknown, what: string): void {
  if (holdsRelation(v)) throw relationAsText(what);
}
