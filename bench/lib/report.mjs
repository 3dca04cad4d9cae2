/** The results as markdown: the targets first, then every measurement, then how it was measured. */

const fmtMs = (ms) => (ms === undefined ? '–' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`);
const fmtMb = (mb) => (mb === undefined ? '–' : `${mb.toFixed(0)} MB`);
const fmtX = (x) => (x === undefined ? '–' : `${x.toFixed(2)}×`);
const fmtN = (n) => (n === undefined ? '–' : n.toLocaleString('en-US'));

const phases = (p) => (p ? `${fmtMs(p.setupMs)} / ${fmtMs(p.executeMs)} / ${fmtMs(p.closeMs)}` : '–');

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function renderMarkdown(r) {
  const out = [];
  const m = r.machine;
  out.push(`# pipe benchmark${r.mode === 'quick' ? ' (--quick)' : ''}`, '');
  out.push(
    `${r.startedAt} · ${m.cpu} · ${m.cores} cores · ${m.memoryGb} GB · ${m.os} · Node ${m.node} · DuckDB ${m.duckdb} · pipe ${m.pipe}${m.commit ? ` (${m.commit})` : ''} · load average at start ${m.loadAverageAtStart} · took ${fmtMs(r.totalMs)}`,
    '',
  );

  out.push('## Targets', '');
  out.push(
    table(
      ['target', 'goal', 'measured', 'met'],
      r.targets.map((t) => [t.name, t.goal, t.measured ?? 'not measured', t.met === undefined ? '–' : t.met ? 'yes' : '**no**']),
    ),
    '',
  );

  if (r.compile.length > 0) {
    out.push('## Compile', '');
    out.push(
      table(
        ['templates', 'models', 'cold `pipe compile` (median)', 'CPU', 'peak RSS', 'warm (templates and renders kept)', 'CPU', 'peak RSS', 'in process, cold: load', 'analyze', 'final SQL', 'one-file recompile (median)', 'recompile range'],
        r.compile.map((c) => {
          const re = c.shape === 'realistic' ? undefined : r.recompile.find((x) => x.models === c.models);
          return [
            c.shape ?? 'plain',
            fmtN(c.models),
            fmtMs(c.wallMs),
            fmtMs(c.cpuMs),
            fmtMb(c.rssMb),
            fmtMs(c.warmMs),
            fmtMs(c.warmCpuMs),
            fmtMb(c.warmRssMb),
            fmtMs(c.inProcess?.loadMs),
            fmtMs(c.inProcess?.analyzeMs),
            fmtMs(c.inProcess?.sqlMs),
            fmtMs(re?.ms),
            re ? `${fmtMs(Math.min(...re.times))} – ${fmtMs(Math.max(...re.times))}` : '–',
          ];
        }),
      ),
      '',
    );
  }

  if (r.run.length > 0) {
    out.push('## `pipe run` of trivial models vs plain SQL on DuckDB', '');
    out.push('The baseline is the SQL a user would run without pipe, on one connection: `CREATE OR REPLACE TABLE/VIEW … AS` per model, and for an incremental model its table created from the query\'s shape, then `DELETE` of the date and `INSERT … SELECT` in one transaction.', '');
    out.push(
      table(
        ['models', 'tasks', 'statements', '`pipe run --threads 1`', 'plain SQL, 1 connection', 'ratio', 'overhead per model', 'pipe: before run / tasks / after', '`pipe run` (default threads)', '--pipe-before build: `--threads 1`, ratio'],
        r.run.map((x) => [
          fmtN(x.models),
          fmtN(x.tasks),
          fmtN(x.statements),
          fmtMs(x.pipeMs),
          fmtMs(x.baselineMs),
          fmtX(x.ratio),
          fmtMs(x.overheadPerModelMs),
          phases(x.pipePhases),
          fmtMs(x.pipeDefaultThreadsMs),
          beforeCell(x),
        ]),
      ),
      '',
    );
  }

  if (r.upToDate) {
    const x = r.upToDate;
    out.push('## `pipe run` with nothing to do', '');
    out.push(
      `Every task of the ${fmtN(x.models)}-model project current: on the warehouse one \`pipe run\` built, and on the same after ${x.historyRuns} earlier runs that each built every model (run state copied: ${fmtN(x.historyRows.builds)} build records, ${fmtN(x.historyRows.planned_tasks)} planned tasks).`,
      '',
    );
    out.push(
      table(
        ['new warehouse', `after ${x.historyRuns} runs of history`, 'ratio', 'the first run after them (moving superseded builds aside)'],
        [[fmtMs(x.freshMs), fmtMs(x.historyMs), fmtX(x.historyMs / x.freshMs), x.moveMs === undefined ? '-' : fmtMs(x.moveMs)]],
      ),
      '',
    );
  }

  if (r.realistic) {
    const x = r.realistic;
    out.push('## Realistic project', '');
    out.push(
      `${fmtN(x.events)} events over ${x.days} days, ${fmtN(x.users)} users (CSV seeds) → staging views → incremental daily facts → marts; one \`pipe run\` on an empty warehouse.`,
      '',
    );
    out.push(
      table(
        ['`pipe run --threads 1`', 'plain SQL, 1 connection', 'ratio', 'pipe: before run / tasks / after', '`pipe run` (default threads)', '--pipe-before build: `--threads 1`, ratio'],
        [[fmtMs(x.pipeMs), fmtMs(x.baselineMs), fmtX(x.ratio), phases(x.pipePhases), fmtMs(x.pipeDefaultThreadsMs), beforeCell(x)]],
      ),
      '',
    );
  }

  if (r.backfill) {
    const b = r.backfill;
    out.push(`## Backfill: ${b.days} days of a chain of ${b.models} incremental models (${b.rowsPerDay} rows a day)`, '');
    out.push(
      table(
        ['--parallel', 'wall (median)', 'execution (median)', 'dates per second', 'vs --parallel 1'],
        b.results.map((x) => [String(x.parallel), fmtMs(x.wallMs), fmtMs(x.execMs), x.datesPerSecond.toFixed(1), fmtX(x.speedup)]),
      ),
      '',
    );
    if (b.rerun) {
      const x = b.rerun;
      out.push(`Re-running a fully built ${x.days}-date backfill of the chain, ${x.rowsPerDay ?? b.rowsPerDay} rows a day (every task current, so skipped):`, '');
      out.push(
        table(
          ['', 'wall (median)', 'execution (median)', 'tasks up to date', 'tasks run'],
          [
            ['first backfill', fmtMs(x.firstWallMs), fmtMs(x.firstExecMs), '', ''],
            ['the same again', fmtMs(x.againWallMs), fmtMs(x.againExecMs), String(x.upToDate), String(x.rebuilt)],
            ['again / first', fmtX(x.againWallMs / x.firstWallMs), fmtX(x.againExecMs / x.firstExecMs), '', ''],
          ],
        ),
        '',
      );
    }
  }

  if (r.plan) {
    const p = r.plan;
    out.push('## Planning a long backfill: `pipe backfill --dry-run`', '');
    out.push('Against a dry run of one date of the same project: what each further task costs the plan (time, and peak RSS, which holds the whole plan).', '');
    out.push(
      table(
        ['project', 'dates', 'tasks', 'wall (median)', 'peak RSS', 'one date: tasks', 'wall', 'peak RSS', 'a task: time', 'a task: memory'],
        p.projects.map((x) => [x.project, fmtN(x.days), fmtN(x.range.tasks), fmtMs(x.range.ms), fmtMb(x.range.rssMb), fmtN(x.oneDate.tasks), fmtMs(x.oneDate.ms), fmtMb(x.oneDate.rssMb), `${x.msPerTask.toFixed(3)} ms`, x.kbPerTask === undefined ? '–' : `${x.kbPerTask.toFixed(1)} KB`]),
      ),
      '',
    );
  }

  if (r.heavyBackfill) {
    const h = r.heavyBackfill;
    out.push(`## Heavy partitioned backfill: ${h.days} dates × ${fmtN(h.rowsPerDay)} rows (${fmtN(h.rows)}), one incremental model`, '');
    out.push('Wall time on a fresh warehouse; plain SQL is, per date, `DELETE` of the date and `INSERT … SELECT` in one transaction on one connection.', '');
    out.push(table(['', 'wall (median)', 'vs plain SQL'], h.results.map((x) => [x.name, fmtMs(x.ms), fmtX(x.ratio)])), '');
  }

  if (r.distributed) {
    const d = r.distributed;
    out.push(`## Distributed backfill: ${d.days} dates of ${fmtN(d.rowsPerDate)} rows hashed each, --parallel ${d.parallel}`, '');
    out.push(
      table(
        ['where', 'execution', 'dates per second', 'vs 1 worker'],
        [
          ['one process, DuckDB file', fmtMs(d.single.duckdbMs), d.single.duckdbDatesPerSecond.toFixed(2), ''],
          ['one process, DuckLake (Postgres catalog)', fmtMs(d.single.ducklakeMs), d.single.ducklakeDatesPerSecond.toFixed(2), ''],
          ...d.workers.map((w) => [`--distributed, ${w.workers} worker${w.workers === 1 ? '' : 's'} (one task, one DuckDB thread each)`, fmtMs(w.execMs), w.datesPerSecond.toFixed(2), fmtX(w.speedup)]),
        ],
      ),
      '',
      `Each worker stands for a one-core machine (\`--concurrency 1\`, \`settings: threads: 1\`); this machine has ${d.cores ?? '?'} cores, so workers beyond that share them.`,
      '',
    );
  }

  if (r.watch) {
    const w = r.watch;
    out.push('## Watch: from the save to the change seen and to the model rebuilt', '');
    out.push(
      table(
        ['models', 'warehouse between builds', 'edited model', 'models rebuilt', 'save → watch-change (median)', 'save → run-finished (median)', 'range', 'edits', 'load average after'],
        w.sizes.flatMap((s) => s.cases.map((c) => [fmtN(s.models), s.keepOpen ? 'kept open (--keep-open)' : 'let go of', c.model, fmtN(c.rebuilt), fmtMs(c.changeMs), fmtMs(c.rebuiltMs), `${fmtMs(Math.min(...c.rebuiltTimes))} – ${fmtMs(Math.max(...c.rebuiltTimes))}`, String(c.rebuiltTimes.length), s.loadAverage.map((x) => x.toFixed(1)).join(' ')])),
      ),
      '',
      `Includes watch's ${w.debounceMs} ms debounce and the file watcher's notice.`,
      '',
    );
  }

  if (r.ui) {
    const u = r.ui;
    out.push(`## The lineage page of ${fmtN(u.models)} models in headless chromium`, '');
    const row = (label, x) => [label, fmtMs(x.firstOpenMs), fmtMs(x.openMs), fmtMs(x.loadedMs), fmtMs(x.openWallMs), fmtMs(x.openLongestTaskMs), fmtN(x.nodesDrawn), fmtMs(x.focusMs), `${fmtMs(Math.min(...x.focuses.map((f) => f.ms)))} – ${fmtMs(Math.max(...x.focuses.map((f) => f.ms)))}`, fmtMs(x.focusLongestTaskMs), fmtMs(x.focusLongestFrameGapMs)];
    out.push(
      table(
        ['served by', 'first load: navigation → graph drawn', 'median of the loads', 'of which until its data came', 'as the test driver saw it', 'longest task while opening', 'nodes drawn', 'focus change (median)', 'range', 'longest task while focusing', 'longest frame gap while focusing'],
        [row('`pipe ui`', u.ui), row(`\`pipe docs generate\` (from disk; generated in ${fmtMs(u.docs.generateMs)})`, u.docs)],
      ),
      '',
      `Medians of ${u.reps} page loads (a fresh browser context each; the first is pipe ui's first analysis of the project, later ones render only what changed) and of ${u.ui.focuses.length} focus changes (search, click a hit, until its node is drawn as the focus). A long task is one of the page's main thread over 50 ms.`,
      '',
    );
  }

  if (r.anchors) {
    const a = r.anchors;
    out.push('## Anchors: dbt and SQLMesh on the same spec', '');
    if (a.problems.length > 0) out.push(...a.problems.map((p) => `- ${p}`), '');
    if (a.versions && Object.keys(a.versions).length) out.push(`Versions: ${Object.entries(a.versions).map(([k, v]) => `${k} ${v}`).join(', ')}.`, '');
    if (a.sizes.length > 0) {
      out.push(
        table(
          ['models', '`pipe compile`', '`dbt parse`', 'pipe / dbt parse', '`dbt compile`', 'pipe / dbt compile', 'SQLMesh load', 'pipe / SQLMesh load'],
          a.sizes.map((s) => [fmtN(s.models), fmtMs(s.pipeCompileMs), fmtMs(s.dbtParseMs), fmtX(s.ratios.dbtParse), fmtMs(s.dbtCompileMs), fmtX(s.ratios.dbtCompile), fmtMs(s.sqlmeshLoadMs), fmtX(s.ratios.sqlmeshLoad)]),
        ),
        '',
        table(
          ['models', '`pipe run`', '`dbt build`', 'pipe / dbt build', '`sqlmesh plan --auto-apply`', 'pipe / SQLMesh'],
          a.sizes.map((s) => [fmtN(s.models), fmtMs(s.pipeRunMs), fmtMs(s.dbtBuildMs), fmtX(s.ratios.dbtBuild), fmtMs(s.sqlmeshRunMs), fmtX(s.ratios.sqlmeshRun)]),
        ),
        '',
      );
    }
    const shaped = a.sizes.filter((s) => s.realistic);
    if (shaped.length > 0) {
      out.push(
        'Realistic templates (loops, set, is_incremental(), macros with arguments), cold:',
        '',
        table(
          ['models', '`pipe compile`', '`dbt parse`', 'pipe / dbt parse', '`dbt compile`', 'pipe / dbt compile', 'SQLMesh load (dbt loader)', 'pipe / SQLMesh load'],
          shaped.map((s) => {
            const x = s.realistic;
            const ratio = (a, b) => (a !== undefined && b !== undefined ? a / b : undefined);
            return [
              fmtN(s.models),
              fmtMs(x.pipeCompileMs),
              fmtMs(x.dbtParseMs),
              fmtX(ratio(x.pipeCompileMs, x.dbtParseMs)),
              fmtMs(x.dbtCompileMs),
              fmtX(ratio(x.pipeCompileMs, x.dbtCompileMs)),
              fmtMs(x.sqlmeshLoadMs),
              fmtX(ratio(x.pipeCompileMs, x.sqlmeshLoadMs)),
            ];
          }),
        ),
        '',
      );
    }
    if (a.skipped.length > 0) out.push(...a.skipped.map((s) => `- ${s}`), '');
  }

  if (r.notes.length > 0) out.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}

export { fmtMs, fmtMb, fmtX };

/** The other build's time and ratio to the same baseline, when the bench ran one (--pipe-before). */
function beforeCell(x) {
  return x.beforeMs === undefined ? '–' : `${fmtMs(x.beforeMs)}, ${fmtX(x.beforeRatio)}`;
}
