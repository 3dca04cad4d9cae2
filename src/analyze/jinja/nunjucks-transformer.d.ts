/** Nunjucks' transformer, which its compiler calls through this module's export (see syntax.ts). */
declare module 'nunjucks/src/transformer.js' {
  const transformer: { transform(ast: unknown, asyncFilters?: readonly string[], name?: string): unknown };
  export default transformer;
}
