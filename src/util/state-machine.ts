/** One step of a state machine: the state it moves to, and what must be done about it, in order. */
export interface Step<State, Effect> {
  readonly state: State;
  readonly effects: readonly Effect[];
}

/**
 * Drives a pure transition function. Each event goes in with the current state; the effects
 * that come out are performed in order, each awaited, before the next event is taken. An
 * event sent meanwhile (by a timer, the file watcher, a run that ended) waits its turn, so the
 * transition function sees one event at a time and effects never interleave.
 */
export class StateMachine<State, Event, Effect> {
  private readonly queue: Event[] = [];
  private busy = false;
  private halted = false;

  constructor(
    private current: State,
    private readonly transition: (state: State, event: Event) => Step<State, Effect>,
    private readonly perform: (effect: Effect) => void | Promise<void>,
    /** An effect (or the transition) threw: the machine takes no more events. */
    private readonly crashed: (error: unknown) => void,
  ) {}

  get state(): State {
    return this.current;
  }

  /** Handles `event` now, or after the events before it when they are still being handled. */
  send(event: Event): void {
    if (this.halted) return;
    this.queue.push(event);
    if (!this.busy) void this.drain();
  }

  private async drain(): Promise<void> {
    this.busy = true;
    try {
      while (this.queue.length > 0 && !this.halted) {
        const step = this.transition(this.current, this.queue.shift()!);
        this.current = step.state;
        for (const effect of step.effects) await this.perform(effect);
      }
    } catch (e) {
      this.halted = true;
      this.queue.length = 0;
      this.crashed(e);
    } finally {
      this.busy = false;
    }
  }
}
