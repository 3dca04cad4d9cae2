import type { UiModel } from '../api.js';
import { DOCS_GLOBAL, DOCS_MODEL_CALLBACK, docsModelFile, type DocsIndex } from '../docs-format.js';

/**
 * The page's static mode, when opened from the files of `pipe docs generate`: the graph comes
 * from the index script loaded with the page, a node's page from its own script loaded on
 * demand, and nothing else is there to ask for (no runs, no rows).
 */

type DocsWindow = { [DOCS_GLOBAL]?: DocsIndex; [DOCS_MODEL_CALLBACK]?: (index: number, model: UiModel) => void };

const scope = globalThis as unknown as DocsWindow;

export function docsIndex(): DocsIndex | undefined {
  return scope[DOCS_GLOBAL];
}

const pending = new Map<number, (model: UiModel) => void>();
scope[DOCS_MODEL_CALLBACK] = (index, model) => pending.get(index)?.(model);

let numbers: Map<string, number> | undefined;

/** An API path answered from the written files, as the server would answer it. */
export async function staticAnswer(docs: DocsIndex, path: string): Promise<unknown> {
  if (path === '/api/graph') return docs.graph;
  if (path === '/api/actions') return { allowed: false, token: null };
  const model = /^\/api\/models\/([^/]+)$/.exec(path);
  if (model) {
    numbers ??= new Map(docs.graph.nodes.map((n, i) => [n.name, i]));
    const name = decodeURIComponent(model[1]);
    const index = numbers.get(name);
    if (index === undefined) throw new Error(`no model, seed or source named '${name}'`);
    return loadModel(index);
  }
  throw new Error('these pages were written by pipe docs generate: runs and rows are shown by pipe ui');
}

function loadModel(index: number): Promise<UiModel> {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    pending.set(index, (m) => {
      pending.delete(index);
      script.remove();
      resolve(m);
    });
    script.src = docsModelFile(index);
    script.onerror = () => {
      pending.delete(index);
      script.remove();
      reject(new Error(`${docsModelFile(index)} could not be loaded`));
    };
    document.head.appendChild(script);
  });
}
