/** Why a task rebuilds an interval before its run's own, as loggers and plans say it: `lookback 2 of orders`. */
export function lookbackReason(lookback: { readonly of: string; readonly n: number }): string {
  return `lookback ${lookback.n} of ${lookback.of}`;
}
