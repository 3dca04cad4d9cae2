import { useEffect, useState } from 'preact/hooks';
import type { UiModel, UiPreview } from '../../api.js';
import { BackfillForm } from '../actions.js';
import { duration, rowCount } from '../format.js';
import { ChangedNote, Loading, RowsTable, SourceNote, Status } from '../parts.js';
import { go, href } from '../router.js';
import { Sql } from '../sql-highlight.js';
import { docsIndex } from '../static-data.js';
import { TaskChart } from '../task-chart.js';
import { heldPid, useData, useLive, useRunsChanged } from '../use-data.js';

export function ModelPage({ name }: { name: string }) {
  const [loaded, reload] = useData<UiModel>(`/api/models/${encodeURIComponent(name)}`);
  // Not read again as runs go on (a model's page costs a compile): it says when they did.
  const [changed, seen] = useRunsChanged(!docsIndex());
  // Another model's page is read now.
  useEffect(seen, [name]);
  const [reads, setReads] = useState(0);
  const again = () => {
    seen();
    reload();
    setReads((n) => n + 1);
  };
  return (
    <Loading loaded={loaded}>
      {(data) => (
        <>
          <ChangedNote changed={changed} onReload={again} />
          <Model key={reads} data={data} />
        </>
      )}
    </Loading>
  );
}

function Model({ data }: { data: UiModel }) {
  const { node } = data;
  // The written pages (pipe docs generate) have no runs and no rows.
  const live = !docsIndex();
  const [preview, previewAgain] = useData<UiPreview>(node.kind === 'ephemeral' || !live ? null : `/api/models/${encodeURIComponent(node.name)}/preview`);
  // Read while a run held the warehouse, the rows wait for it: read again once its holder is gone.
  const holder = live ? heldPid(data.source) : undefined;
  useLive(holder === undefined ? null : `free=${holder}`, previewAgain, { catchUp: true });
  return (
    <>
      <h1>
        {node.name} <span class="badge">{node.kind}</span> {live && <Status status={node.last_status} />}
      </h1>
      <SourceNote source={data.source} live={false} />
      {data.description !== null && (
        <p class="description" data-testid="description">
          {data.description}
        </p>
      )}
      <p>
        <code>{node.file}</code> → <code>{data.relation}</code> · <a href={href({ page: 'lineage', focus: node.name, up: 2, down: 2 })}>lineage</a>
      </p>
      <p>
        Reads: {node.upstream.length === 0 ? '–' : node.upstream.map((u) => <a href={href({ page: 'model', name: u })}>{u} </a>)}
        <br />
        Read by: {data.downstream.length === 0 ? '–' : data.downstream.map((d) => <a href={href({ page: 'model', name: d })}>{d} </a>)}
      </p>
      {node.type === 'model' && <BackfillForm model={node.name} />}
      {data.source_sql !== null && (
        <section>
          <h2>Source</h2>
          <Sql sql={data.source_sql} testId="source-sql" />
        </section>
      )}
      <section>
        <h2>
          Compiled <span class="muted">for {data.compiled_for}, the date a run takes by default</span>
        </h2>
        {'sql' in data.compiled ? <Sql sql={data.compiled.sql} testId="compiled-sql" /> : <p class="muted">{data.compiled.problem}</p>}
      </section>
      <section>
        <h2>Config</h2>
        <pre class="config">{JSON.stringify(data.config, null, 2)}</pre>
      </section>
      <section>
        <h2>Checks</h2>
        {data.checks.length === 0 ? (
          <p class="muted">None.</p>
        ) : (
          <ul>
            {data.checks.map((c) => (
              <li>
                {c.name} ({c.severity}) <code>{c.at}</code>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section>
        <h2>Columns {data.columns_from === 'project' && <span class="muted">(as declared: not in the warehouse, or it is in use)</span>}</h2>
        <table class="list" data-testid="columns">
          <tbody>
            {data.columns.map((c) => (
              <tr class={c.in_table === false ? 'not-in-table' : undefined}>
                <td>
                  {c.name}
                  {c.in_table === false && <span class="muted"> (declared, not in the table)</span>}
                </td>
                <td>
                  <code>{c.type}</code>
                </td>
                <td class="muted">{c.description ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {live && (
        <section>
          <h2>Recent tasks</h2>
          <TaskChart tasks={data.tasks} open={(t) => go({ page: 'run', runId: t.run_id, task: t.task_id })} />
          <table class="list" data-testid="recent-tasks">
            <tbody>
              {data.tasks.map((t) => (
                <tr>
                  <td>
                    <a href={href({ page: 'run', runId: t.run_id, task: t.task_id })}>{t.task_id}</a>
                  </td>
                  <td>
                    <Status status={t.status} />
                  </td>
                  <td class="num">{rowCount(t.rows)}</td>
                  <td>{duration(t.duration_ms)}</td>
                  <td class="muted">{t.ended_at}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      {live && node.kind !== 'ephemeral' && (
        <section data-testid="preview">
          <h2>Rows</h2>
          <Loading loaded={preview}>
            {(p) => (
              <>
                <RowsTable columns={p.columns.map((c) => c.name)} rows={p.rows} />
                <p class="muted">
                  {rowCount(p.rows.length)}{p.more ? ' shown: there are more' : ''}
                </p>
              </>
            )}
          </Loading>
        </section>
      )}
    </>
  );
}
