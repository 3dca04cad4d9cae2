/**
 * Errors of the template language itself (a Python TypeError, a bad argument, a refusal),
 * raised while a template renders. The compiled template tells the helper that raises one
 * where in which file it stands, so the diagnostic points at the expression, also inside a
 * macro (Nunjucks alone reports the line of the last function call, or nothing on line 1).
 */
export class JinjaError extends Error {
  /** 1-based, set by the first expression the error passes through. */
  at?: { readonly file: string; readonly line: number; readonly column: number };
}

/** Errors raised by pipe's own template functions carry this, to keep their message clean. */
export class TemplateFunctionError extends JinjaError {}

/**
 * The position an error raised while rendering carries, when it is a JinjaError (Nunjucks
 * wraps errors it catches; the original stays its `cause`).
 */
export function jinjaPosition(e: unknown): JinjaError['at'] {
  for (let x = e, depth = 0; x && depth < 4; x = (x as { cause?: unknown }).cause, depth++) {
    if (x instanceof JinjaError && x.at) return x.at;
  }
  return undefined;
}

/** Gives `e` the position of the expression it came from, unless it has one already. */
export function locate(e: unknown, file: string, line0: number, column0: number): unknown {
  if (e instanceof JinjaError && !e.at) e.at = { file, line: line0 + 1, column: column0 + 1 };
  return e;
}

/**
 * dbt's `return(value)`: thrown out of the macro body and caught where the macro is entered,
 * whose value it then is. Only when it escapes every macro is it an error (its message).
 */
export class MacroReturn extends JinjaError {
  readonly value: unknown;

  constructor(value: unknown) {
    // Thrown by every return() a macro makes (thousands in a compile): no stack to capture.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super('return() ends a macro, and is used here outside one');
    Error.stackTraceLimit = limit;
    this.value = value;
  }
}
