import { useState } from 'preact/hooks';
import type { UiActions, UiStarted } from '../api.js';
import { postJson } from './api-client.js';
import { go } from './router.js';
import { useData } from './use-data.js';

/**
 * The buttons of `pipe ui --allow-actions`: retry a run, backfill a model's dates. Shown only
 * when the server allows actions; a started run opens on its page, a refusal (the warehouse in
 * use, a bad date) is told beside the button.
 */

function useActions(): UiActions | undefined {
  const [loaded] = useData<UiActions>('/api/actions');
  return loaded.state === 'ready' && loaded.data.allowed ? loaded.data : undefined;
}

function useAct(): [string | undefined, boolean, (path: string, body: unknown, token: string) => void] {
  const [problem, setProblem] = useState<string>();
  const [busy, setBusy] = useState(false);
  const act = (path: string, body: unknown, token: string) => {
    setBusy(true);
    setProblem(undefined);
    postJson<UiStarted>(path, token, body).then(
      (started) => {
        setBusy(false);
        if ('run_id' in started) go({ page: 'run', runId: started.run_id });
        else setProblem(started.nothing);
      },
      (e: unknown) => {
        setBusy(false);
        setProblem(e instanceof Error ? e.message : String(e));
      },
    );
  };
  return [problem, busy, act];
}

export function RetryButton({ runId }: { runId: string }) {
  const actions = useActions();
  const [problem, busy, act] = useAct();
  if (!actions?.token) return null;
  const token = actions.token;
  return (
    <p>
      <button data-testid="retry-button" disabled={busy} onClick={() => act(`/api/runs/${encodeURIComponent(runId)}/retry`, {}, token)}>
        Retry
      </button>
      {problem && (
        <span class="error" data-testid="action-problem">
          {' '}
          {problem}
        </span>
      )}
    </p>
  );
}

export function BackfillForm({ model }: { model: string }) {
  const actions = useActions();
  const [problem, busy, act] = useAct();
  const [start, setStart] = useState('');
  const [end, setEnd] = useState('');
  if (!actions?.token) return null;
  const token = actions.token;
  return (
    <form
      class="controls"
      data-testid="backfill"
      onSubmit={(e) => {
        e.preventDefault();
        act('/api/backfill', { select: [model], start, end }, token);
      }}
    >
      Backfill {model} from <input type="date" required value={start} onInput={(e) => setStart((e.target as HTMLInputElement).value)} /> to{' '}
      <input type="date" required value={end} onInput={(e) => setEnd((e.target as HTMLInputElement).value)} />{' '}
      <button disabled={busy}>Backfill</button>
      {problem && <span class="error" data-testid="action-problem"> {problem}</span>}
    </form>
  );
}
