import type { UiError } from '../api.js';
import { docsIndex, staticAnswer } from './static-data.js';

/** A JSON endpoint of the server; its `{ error }` answer becomes an Error with that text. */
export async function getJson<T>(path: string): Promise<T> {
  const docs = docsIndex();
  if (docs) return (await staticAnswer(docs, path)) as T;
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  const body = (await res.json()) as T | UiError;
  if (!res.ok) throw new Error((body as UiError).error ?? `${res.status} ${res.statusText}`);
  return body as T;
}
