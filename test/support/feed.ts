import type { Step } from '../../src/util/state-machine.js';

/** Feeds a state machine's transition function events in order: the final state, and the effects of each step. */
export function feed<State, Event, Effect>(
  transition: (state: State, event: Event) => Step<State, Effect>,
  state: State,
  events: readonly Event[],
): { state: State; effects: Effect[][] } {
  const effects: Effect[][] = [];
  for (const e of events) {
    const step = transition(state, e);
    state = step.state;
    effects.push([...step.effects]);
  }
  return { state, effects };
}
