/** Exit statuses, as documented in the README. */
export const EXIT = { ok: 0, taskFailed: 1, badInput: 2, interrupted: 130 } as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];
