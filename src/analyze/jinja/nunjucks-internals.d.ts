/** Nunjucks' transformer, which its compiler calls through this module's export (see syntax.ts). */
declare module 'nunjucks/src/transformer.js' {
  const transformer: { transform(ast: unknown, asyncFilters?: readonly string[], name?: string): unknown };
  export default transformer;
}

/** Nunjucks' parser, whose tree program.ts turns into a program (pipe's syntax installed into it, see syntax.ts). */
declare module 'nunjucks/src/parser.js' {
  const parser: { parse(src: string, extensions: unknown[], opts: object): unknown };
  export default parser;
}
