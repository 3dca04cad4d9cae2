import type { EventSink } from '../events/events.js';
import type { Task } from '../plan/task.js';
import type { TaskOutcome } from './task-queue.js';

/** How a task run at a place ended: as a task of the run does, or superseded at its publish. */
export type PlacedOutcome = TaskOutcome | 'superseded';

/**
 * Where a task that runs executes, seen from the executor: "run this task somewhere and tell
 * me how it ended". The executor keeps deciding what may start (task-queue.ts) and what
 * follows from each outcome; by default it runs the task itself (task-runner.ts), and a
 * distributed backfill places it on a worker instead (distributed/queued-place.ts).
 */
export interface TaskPlace {
  /**
   * Runs `task` to its end there, its records and events included, and tells how it ended;
   * `worker` is the run's thread (lane) it takes. The task comes judged and with what its
   * publication records (see TaskRunner.run): where it runs, it is only run. `superseded`: it
   * succeeded without publishing, a newer interval of its table being there (see
   * Engine.publish): what reads it reads the newer table, and its build is not on record.
   */
  run(task: Task, worker: number): Promise<PlacedOutcome>;
  /**
   * Where the place tells what happens there from now on: the run's own sink, so that its
   * log, its notifications and its hooks' results see the tasks run there as the run's.
   */
  relay(emit: EventSink): void;
  /**
   * Who ended the run elsewhere, when another process took it (a coordinator taken for gone,
   * see distributed/coordinators.ts): its end is recorded there, and stands.
   */
  takenBy(): string | undefined;
  /**
   * The run starts no new task (`why`: its --max-failures is spent): what the place holds that
   * has not started yet ends cancelled, not started; what runs finishes. A place that runs
   * each task as it is given has nothing waiting.
   */
  stopStarting?(why: string): Promise<void>;
}
