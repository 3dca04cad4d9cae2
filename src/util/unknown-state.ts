/**
 * The end of an exhaustive `switch` over a state machine's states (or events, or effects):
 * `default: throw unknownState(state satisfies never)`. The compiler refuses a kind that no
 * case handles; at run time one from nowhere is an internal error, not a silent no-op.
 */
export function unknownState(state: never): Error {
  return new Error(`internal error: no case for ${JSON.stringify(state)}`);
}

/** An event that cannot happen in a state (a build that ends while none runs): an internal error. */
export function unexpectedEvent(state: { readonly kind: string }, event: { readonly kind: string }): Error {
  return new Error(`internal error: '${event.kind}' while ${state.kind}`);
}
