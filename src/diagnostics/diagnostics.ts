/**
 * A Diagnostic is every user-facing problem: it says what is wrong and, wherever pipe can
 * know it, where (file, line, column). Phases collect them instead of throwing, so one pass
 * reports everything; `logging/format-diagnostic.ts` prints them with the source line.
 */

export type Severity = 'error' | 'warning';

export interface Location {
  /** Path relative to the project root, with forward slashes. */
  readonly file: string;
  /** 1-based; absent when only the file is known. */
  readonly line?: number;
  /** 1-based. */
  readonly column?: number;
}

export interface Diagnostic {
  readonly severity: Severity;
  /** Stable machine-readable code, e.g. `unknown-ref`, `cycle`, `template-syntax`. */
  readonly code: string;
  readonly message: string;
  readonly location?: Location;
  /** Further places involved (each edge of a cycle, the other duplicate file). */
  readonly related?: readonly { readonly message: string; readonly location: Location }[];
  readonly hint?: string;
  /**
   * The nodes this error keeps from being built: a config dbt builds and pipe refuses (an
   * append, the project's own materialization), one node's or a folder's of several. A command
   * that builds none of them goes on and tells it as a warning (see commands/context.ts).
   */
  readonly blocks?: readonly string[];
}

export function error(
  code: string,
  message: string,
  location?: Location,
  extra: Partial<Pick<Diagnostic, 'related' | 'hint'>> = {},
): Diagnostic {
  return { severity: 'error', code, message, location, ...extra };
}

export function warning(...args: Parameters<typeof error>): Diagnostic {
  return { ...error(...args), severity: 'warning' };
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** 1-based line and column of a character offset in a text. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Thrown only at boundaries where a phase cannot go on (bad CLI input, unreadable files);
 * the CLI turns it into printed diagnostics and exit status 2.
 */
export class DiagnosticError extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map((d) => d.message).join('\n'));
  }
}
