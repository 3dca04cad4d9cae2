import { render } from 'preact';
import { href, useRoute, type Route } from './router.js';
import { RunsPage } from './pages/runs.js';
import { RunPage } from './pages/run.js';
import { LineagePage } from './pages/lineage.js';
import { ModelPage } from './pages/model.js';
import { CoveragePage } from './pages/coverage.js';
import { docsIndex } from './static-data.js';

/** The single page of `pipe ui`: a bar of links, and the page the URL's hash names. */

function Page({ route }: { route: Route }) {
  // The written pages have no runs: their first page is the lineage.
  if (docsIndex() && (route.page === 'runs' || route.page === 'run' || route.page === 'coverage')) return <LineagePage route={{ page: 'lineage', up: 2, down: 2 }} />;
  switch (route.page) {
    case 'runs':
      return <RunsPage route={route} />;
    case 'run':
      return <RunPage runId={route.runId} task={route.task} />;
    case 'lineage':
      return <LineagePage route={route} />;
    case 'model':
      return <ModelPage name={route.name} />;
    case 'coverage':
      return <CoveragePage route={route} />;
    default: {
      const never: never = route;
      throw new Error(`internal error: route ${JSON.stringify(never)}`);
    }
  }
}

function App() {
  const route = useRoute();
  const section = route.page === 'run' ? 'runs' : route.page === 'model' ? 'lineage' : route.page;
  return (
    <>
      <header class="bar">
        <strong>pipe</strong>
        <nav>
          {!docsIndex() && (
            <>
              <a href={href({ page: 'runs' })} class={section === 'runs' ? 'on' : undefined}>
                Runs
              </a>
              <a href={href({ page: 'coverage' })} class={section === 'coverage' ? 'on' : undefined}>
                Coverage
              </a>
            </>
          )}
          <a href={href({ page: 'lineage', up: 2, down: 2 })} class={section === 'lineage' ? 'on' : undefined}>
            Lineage
          </a>
        </nav>
      </header>
      <main>
        <Page route={route} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
