import type { ComponentChildren } from 'preact';
import type { StateSource, UiRunStatus, UiTaskStatus } from '../api.js';
import { useMemo } from 'preact/hooks';
import { cellText, duration } from './format.js';
import { useNow, type Loaded } from './use-data.js';

/** A status as a coloured word; the colour comes from `status-NAME` in style.css. */
export function Status({ status }: { status: UiRunStatus | UiTaskStatus | null }) {
  const s = status ?? 'never run';
  return <span class={`badge status-${s.replace(' ', '-')}`}>{s}</span>;
}

/**
 * Says when the page shows the run logs because another process holds the warehouse; `live`
 * for the pages that follow them as they grow.
 */
export function SourceNote({ source, live = true }: { source: StateSource; live?: boolean }) {
  switch (source.kind) {
    case 'warehouse':
      return null;
    case 'run-log':
      return (
        <p class="note" data-testid="held">
          The warehouse is in use ({source.heldBy}): showing the run logs beside it{live ? ', live' : ''}.
        </p>
      );
    case 'none':
      return <p class="note">{source.why}.</p>;
    default: {
      const never: never = source;
      throw new Error(`internal error: source ${JSON.stringify(never)}`);
    }
  }
}

/** The page for a load in progress or failed; the children once the data is there. */
export function Loading<T>({ loaded, children }: { loaded: Loaded<T>; children: (data: T) => ComponentChildren }) {
  switch (loaded.state) {
    case 'loading':
      return <p class="muted">Loading…</p>;
    case 'error':
      return <pre class="error" data-testid="error">{loaded.message}</pre>;
    case 'ready':
      return <>{children(loaded.data)}</>;
    default: {
      const never: never = loaded;
      throw new Error(`internal error: ${JSON.stringify(never)}`);
    }
  }
}

/** Rows as a table: a row preview, a check's sample rows. */
/**
 * An error's text: its prose wraps at the box (a message of 1,700 characters is one line), and
 * a quoted source line with the caret under it stays as it is, so that the caret stays under
 * its column (the box scrolls sideways for a source line wider than it).
 */
export function ErrorText({ text, class: className }: { text: string; class: string }) {
  const lines = text.split('\n');
  const caret = (l: string | undefined) => l !== undefined && /^\s*\^[\s^~]*$/.test(l);
  return (
    <pre class={className}>
      {lines.map((line, i) => (
        <span class={caret(line) || caret(lines[i + 1]) ? 'code-line' : 'prose-line'}>
          {line}
          {i < lines.length - 1 ? '\n' : ''}
        </span>
      ))}
    </pre>
  );
}

export function RowsTable({ columns, rows }: { columns: readonly string[]; rows: readonly (readonly unknown[])[] }) {
  return (
    <div class="scroll">
      <table class="rows">
        <thead>
          <tr>
            {columns.map((c) => (
              <th>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr>
              {r.map((v) => (
                <td class={v === null ? 'null' : undefined}>{cellText(v)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Sample rows as JSON objects, as a table of their keys. */
export function SampleTable({ sample }: { sample: readonly Record<string, unknown>[] }) {
  const columns = [...new Set(sample.flatMap((r) => Object.keys(r)))];
  return <RowsTable columns={columns} rows={sample.map((r) => columns.map((c) => r[c]))} />;
}

/** Says that runs went on since the page was read (a page that does not follow them), with a button to read it again. */
export function ChangedNote({ changed, onReload }: { changed: boolean; onReload: () => void }) {
  if (!changed) return null;
  return (
    <p class="note" data-testid="changed">
      Runs have started or ended since this page was read: what it shows of them may be out of date. <button onClick={onReload}>Reload</button>
    </p>
  );
}

/**
 * How long a run took, or while it runs, how long it has been going: the time the server
 * told when the page read it, plus the time since.
 */
export function Elapsed({ ms, running }: { ms: number | null; running: boolean }) {
  // When the page read `ms` (a new read gives a new number, or the same one anew).
  const readAt = useMemo(() => Date.now(), [ms]);
  const now = useNow(running);
  return <>{duration(running && ms !== null ? ms + Math.max(0, now - readAt) : ms)}</>;
}
