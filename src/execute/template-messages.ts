import type { EventSink, TaskRef } from '../events/events.js';
import type { TemplateMessage } from '../plan/task.js';

/**
 * Tells what a template said as its task ran (see render-at-run.ts), one event a message, in
 * the order the template said them; `runId` is none for a render that runs nothing (`pipe compile`).
 */
export function tellSaid(emit: EventSink, runId: string | undefined, task: TaskRef, said: readonly TemplateMessage[]): void {
  for (const m of said) {
    emit({ type: 'template-message', ...(runId === undefined ? {} : { runId }), task, kind: m.kind, message: m.message, ...(m.at ? { location: m.at } : {}) });
  }
}
