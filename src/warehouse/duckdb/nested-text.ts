/**
 * A nested value (STRUCT, LIST, ARRAY, MAP, UNION) as one line of JSON with its numbers as
 * numbers: DuckDB's JSON form of rows writes a BIGINT or DECIMAL inside one as text
 * (`{"a":"1","e":"2.50"}`), to keep every digit; shown, it reads `{"a":1,"e":2.50}`, as DuckDB
 * and dbt show it. From the value as DuckDB's client gives it (`raw`), which keeps the kinds.
 */
export function nestedText(raw: unknown): string {
  if (raw === null || raw === undefined) return 'null';
  if (typeof raw === 'bigint') return raw.toString();
  if (typeof raw === 'number') return Number.isFinite(raw) ? JSON.stringify(raw) : String(raw).toLowerCase();
  if (typeof raw === 'boolean') return String(raw);
  if (typeof raw === 'string') return JSON.stringify(raw);
  if (typeof raw !== 'object') return JSON.stringify(String(raw));
  const v = raw as Record<string, unknown>;
  if ('width' in v && 'scale' in v && typeof v.value === 'bigint') return String(raw);
  if (Array.isArray(v.items)) return `[${v.items.map(nestedText).join(',')}]`;
  if (Array.isArray(v.entries)) return `[${(v.entries as { key: unknown; value: unknown }[]).map((e) => `{"key":${nestedText(e.key)},"value":${nestedText(e.value)}}`).join(',')}]`;
  if (v.entries !== null && typeof v.entries === 'object') {
    return `{${Object.entries(v.entries as Record<string, unknown>).map(([k, x]) => `${JSON.stringify(k)}:${nestedText(x)}`).join(',')}}`;
  }
  if (typeof v.tag === 'string' && 'value' in v) return `{"tag":${JSON.stringify(v.tag)},"value":${nestedText(v.value)}}`;
  return JSON.stringify(String(raw));
}
