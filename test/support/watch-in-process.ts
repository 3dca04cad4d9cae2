import type { PipeEvent } from '../../src/events/events.js';
import { watch } from '../../src/watch/watch.js';
import { EventCursor } from '../e2e/helpers.js';

/**
 * `pipe watch --date DATE` (and `--keep-open`) on a project, in the test's own process: its events (as `--json`
 * prints them) read as they come, and `stop` as Ctrl-C. What only the process shows (its exit
 * on a signal) needs the binary.
 */
export class WatchIn extends EventCursor {
  private readonly controller = new AbortController();
  private readonly done: Promise<void>;
  private failure: unknown;
  private over = false;

  constructor(project: string, date: string, options: { readonly keepOpen?: boolean; readonly pipeline?: string } = {}) {
    super(() => (this.over ? `watch ended${this.failure === undefined ? '' : `: ${String(this.failure)}`} while waiting` : undefined));
    this.done = watch({
      ...options,
      project,
      date,
      signal: this.controller.signal,
      emit: (e: PipeEvent) => this.push(JSON.parse(JSON.stringify(e)) as Record<string, unknown>),
    }).then(
      () => this.end(undefined),
      (e: unknown) => this.end(e),
    );
  }

  private end(failure: unknown): void {
    this.failure = failure;
    this.over = true;
    this.wake();
  }

  /** Stops watching, as the first Ctrl-C does, and waits for the end. */
  async stop(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}
