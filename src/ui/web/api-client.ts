import type { UiError } from '../api.js';
import { docsIndex, staticAnswer } from './static-data.js';

/** A JSON endpoint of the server; its `{ error }` answer becomes an Error with that text. */
export async function getJson<T>(path: string): Promise<T> {
  const docs = docsIndex();
  if (docs) return (await staticAnswer(docs, path)) as T;
  return answered<T>(await fetch(path, { headers: { accept: 'application/json' } }));
}

/** An action of the server, sent with the token the page was given. */
export async function postJson<T>(path: string, token: string, body: unknown): Promise<T> {
  return answered<T>(await fetch(path, { method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/json', 'x-pipe-token': token }, body: JSON.stringify(body) }));
}

async function answered<T>(res: Response): Promise<T> {
  const body = (await res.json()) as T | UiError;
  if (!res.ok) throw new Error((body as UiError).error ?? `${res.status} ${res.statusText}`);
  return body as T;
}
