import { useEffect } from 'preact/hooks';
import type { UiRunDetail, UiTask } from '../../api.js';
import { RetryButton } from '../actions.js';
import { count, duration } from '../format.js';
import { Gantt } from '../gantt.js';
import { Elapsed, ErrorText, Loading, SampleTable, SourceNote, Status } from '../parts.js';
import { href } from '../router.js';
import { heldPid, useData, useLive, useNow } from '../use-data.js';

export function RunPage({ runId, task }: { runId: string; task?: string }) {
  const [loaded, reload] = useData<UiRunDetail>(`/api/runs/${encodeURIComponent(runId)}`);
  const running = loaded.state === 'ready' && loaded.data.run.status === 'running';
  // While the run goes on, its log tells each step: read the run again after each, and once
  // the process holding the warehouse is gone (killed, it writes no log again).
  const holder = loaded.state === 'ready' ? heldPid(loaded.data.source) : undefined;
  useLive(running ? `run=${encodeURIComponent(runId)}${holder === undefined ? '' : `&free=${holder}`}` : null, reload, { catchUp: true });
  const shown = loaded.state === 'ready' ? taskOfRun(loaded.data.tasks, task) : undefined;
  useEffect(() => {
    if (shown) document.querySelector(`[data-task-row="${CSS.escape(shown)}"]`)?.scrollIntoView({ block: 'center' });
  }, [shown]);
  return <Loading loaded={loaded}>{(data) => <Run data={data} task={shown} />}</Loading>;
}

/**
 * The run's task a link names. A coverage cell of a model built whole names the task `pipe
 * status` judges (its date is the range's end), which the run that built or failed the model
 * ran for another date: then it is the run's latest task of that model.
 */
export function taskOfRun(tasks: readonly UiTask[], task: string | undefined): string | undefined {
  if (task === undefined || tasks.some((t) => t.task_id === task)) return task;
  const node = task.replace(/@.*$/, '');
  const ofNode = tasks.filter((t) => t.node === node);
  const started = ofNode.filter((t) => t.start_ms !== null).sort((a, b) => a.start_ms! - b.start_ms!);
  return (started.at(-1) ?? ofNode.at(-1))?.task_id;
}

function Run({ data, task }: { data: UiRunDetail; task?: string }) {
  const { run } = data;
  // The bars of tasks under way grow while the run goes on, between the lines of its log.
  const now = useNow(run.status === 'running');
  return (
    <>
      <h1>
        Run {run.run_id} <Status status={run.status} />
      </h1>
      <SourceNote source={data.source} />
      <p>
        {run.command}
        {run.pipeline ? ` ${run.pipeline}` : ''} for {run.dates} · started {run.started_at} UTC · <Elapsed ms={run.duration_ms} running={run.status === 'running'} /> · {count(run.succeeded)} of {count(run.tasks)} tasks
        succeeded, {count(run.failed)} failed, {count(run.skipped)} skipped
        {/* Every task is counted: a stopped run's cancelled ones and those it never started too, as the command's summary counts them. */}
        {run.cancelled > 0 && `, ${count(run.cancelled)} cancelled`}
        {run.running > 0 && `, ${count(run.running)} running`}
        {run.pending > 0 && `, ${count(run.pending)} not started`}
        {run.parent_run_id && (
          <>
            {' '}
            · retry of <a href={href({ page: 'run', runId: run.parent_run_id })}>{run.parent_run_id}</a>
          </>
        )}
      </p>
      {(run.retried_by || run.completed_by) && (
        <p data-testid="followed">
          {run.retried_by ? (
            <>
              Retried by <a href={href({ page: 'run', runId: run.retried_by })}>{run.retried_by}</a> ({run.retry_status})
            </>
          ) : (
            <>
              Completed by <a href={href({ page: 'run', runId: run.completed_by! })}>{run.completed_by}</a>
            </>
          )}
        </p>
      )}
      {data.retry && (
        <p class="retry">
          Complete it with <code data-testid="retry">{data.retry}</code>
        </p>
      )}
      {data.retry_run && <RetryButton runId={data.retry_run} />}
      {run.params_problem && (
        <p class="note" data-testid="params-problem">
          pipe retry cannot complete it: {run.params_problem}
        </p>
      )}
      <section>
        <h2>Timeline</h2>
        <Gantt runId={run.run_id} tasks={data.tasks} now={now} highlight={task} />
      </section>
      {data.failures.length > 0 && (
        <section data-testid="failures">
          <h2>Failures</h2>
          {data.failures.map((g) => (
            <div class="failure">
              <ErrorText class="error" text={g.error} />
              <ul>
                {g.tasks.map((t) => (
                  <li>
                    <a href={href({ page: 'model', name: t.node })}>{t.task_id}</a> {t.at && <code>{t.at}</code>}
                    {t.error !== undefined && <ErrorText class="error own" text={t.error} />}
                  </li>
                ))}
              </ul>
            </div>
          ))}
        </section>
      )}
      {data.checks.length > 0 && (
        <section data-testid="checks">
          <h2>Checks that found rows</h2>
          {data.checks.map((c) => (
            <div class="check">
              <p>
                <span class={`badge status-${c.status === 'warned' ? 'warned' : 'failed'}`}>{c.status === 'warned' ? 'warned' : 'failed'}</span> <strong>{c.check}</strong> on {c.task_id}:{' '}
                {count(c.failing_rows)} failing row{c.failing_rows === 1 ? '' : 's'} ({c.severity})
              </p>
              {c.sample.length > 0 && <SampleTable sample={c.sample} />}
            </div>
          ))}
        </section>
      )}
      <section>
        <h2>Tasks</h2>
        <table class="list">
          <thead>
            <tr>
              <th>Task</th>
              <th>Status</th>
              <th class="num">Rows</th>
              <th>Duration</th>
              <th class="num">Attempts</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {data.tasks.map((t) => (
              <tr data-task-row={t.task_id} class={t.task_id === task ? 'on' : undefined}>
                <td>
                  <a href={href({ page: 'model', name: t.node })}>{t.task_id}</a>
                </td>
                <td>
                  <Status status={t.status} />
                </td>
                <td class="num">{count(t.rows)}</td>
                <td>{t.start_ms !== null && t.end_ms !== null ? duration(t.end_ms - t.start_ms) : '–'}</td>
                <td class="num">{count(t.attempts)}</td>
                <td class="detail">{t.error !== null ? <ErrorText class="task-error" text={t.error} /> : (t.detail ?? '')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}
