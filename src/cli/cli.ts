import { printable } from '../logging/printable.js';
import { existsSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { insteadOfDbt, insteadOfDbtOption, withSelectForModels } from './dbt-commands.js';
import { collectVar, operationArgs, varsOf } from './command-line-vars.js';
import formatDuration from 'ms';
import { DURATION_FORMS, MAX_RETRIES, parseDuration } from '../analyze/model-config.js';
import { DEFAULT_WAIT } from '../commands/context.js';
import { DiagnosticError, error, warning } from '../diagnostics/diagnostics.js';
import { compile, history, listNodes, RESOURCE_TYPES, type ResourceType } from '../commands/inspect.js';
import { lookbackReason } from '../logging/lookback-reason.js';
import { run, runDryRun } from '../commands/run.js';
import { backfill, backfillDryRun, backfillMissing } from '../commands/backfill.js';
import { DEFAULT_LEASE, MIN_LEASE_MS } from '../commands/distributed.js';
import { worker } from '../commands/worker.js';
import { status } from '../commands/status.js';
import { formatStatus } from './format-status.js';
import { retry } from '../commands/retry.js';
import { test } from '../commands/test.js';
import { runOperation } from '../commands/run-operation.js';
import { init } from '../commands/init.js';
import { formatInit } from './format-init.js';
import { formatPlan, formatRunPlan } from './format-plan.js';
import { intervalLabel, pipeNowProblem } from '../dates/dates.js';
import { DAG_FORMATS, renderDag, type DagFormat } from '../graph/render-dag.js';
import type { Logger } from '../logging/logger.js';
import { PIPE_VERSION } from '../version.js';
import { EXIT } from './exit-status.js';
import { finishedOrNothing, operationOutput, operationStatus, report } from './report.js';
import { makeLogger } from './output.js';
import { formatHistory, heldNotice } from './format-history.js';
import { formatRowsJson, formatRowsTable } from './format-rows.js';
import { maskedNotice } from './masked-notice.js';
import { DEFAULT_SHOW_LIMIT, show } from '../commands/show.js';
import { formatFreshness, freshnessExitStatus } from './format-freshness.js';
import { sourceFreshness } from '../commands/source-freshness.js';
import { textTable, withDisplayWidth } from '../logging/width.js';
import { dieOf, endBySignals, takeOverSignals } from './signals.js';
import { runsInFlightAfter, scheduleStopNotice, stopNotice, stopPointAfter, type StopPoint } from './stop-notice.js';

/** dbt's `--vars '{name: value}'`, collected with `--var`'s values into the same vars. */
function varsOption(description: string): Option {
  const option = new Option('--vars <yaml>', description).argParser(collectVar);
  option.attributeName = () => 'var';
  return option;
}

function positiveInt(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new CommanderError(EXIT.badInput, 'pipe.badInt', `${name} must be a whole number of at least 1, got '${value}'`);
    return n;
  };
}

/** `--wait 30s` (or `--wait 30`, seconds): how long to wait for a warehouse another process holds, in milliseconds. */
function waitDuration(value: string): number {
  const n = parseDuration(value);
  if (n === undefined) throw new CommanderError(EXIT.badInput, 'pipe.badWait', `--wait must be ${DURATION_FORMS}, or 0, got '${value}'`);
  return n;
}

/** `--port 4180`: a TCP port, 0 for any free one. */
function portNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65535) throw new CommanderError(EXIT.badInput, 'pipe.badPort', `--port must be a port number, 0 to 65535, got '${value}'`);
  return n;
}

/** A date as given, without the spaces around it (a pasted ` 2024-01-02`), as the run records and shows it. */
const trimmed = (value: string): string => value.trim();

/** `--hour 5`: an hour of --date, 0 to 23. */
function hour(value: string): number {
  const n = Number(value);
  // Number('') is 0 and Number('1e1') 10: only digits are an hour.
  if (!/^\s*\d{1,2}\s*$/.test(value) || n > 23) throw new CommanderError(EXIT.badInput, 'pipe.badHour', `--hour must be 0 to 23, got '${value}'`);
  return n;
}

const FRESHNESS_OPTION = ['--check-freshness', 'first check the freshness of the sources read: a source past its error_after stops the run before anything is written'] as const;

/** `--lease 30s` (or `--lease 30`, seconds): how long a worker may go unseen before its tasks go to another. */
function leaseDuration(value: string): number {
  const n = parseDuration(value);
  if (n === undefined || n < MIN_LEASE_MS) {
    throw new CommanderError(EXIT.badInput, 'pipe.badLease', `--lease must be ${DURATION_FORMS}, at least ${formatDuration(MIN_LEASE_MS)}, got '${value}'`);
  }
  return n;
}

const DISTRIBUTED_OPTION = ['--distributed', 'run the tasks on pipe worker processes, on any machine (a DuckLake warehouse with a Postgres catalog)'] as const;

/** A duration option whose help shows its default as written (30s), not as the milliseconds it parses to. */
const durationOption = (flags: string, description: string, parse: (value: string) => number, defaultText: string) =>
  new Option(flags, description).argParser(parse).default(parse(defaultText), defaultText);

const LEASE_TEXT = 'how long a worker or a coordinator may go unseen before it counts as gone (30s, 2m; a number alone is seconds)';
/** `--lease`: with `--distributed` on the commands that coordinate, alone on `pipe worker`. */
const LEASE_OPTION = (prefix = 'with --distributed: ') => durationOption('--lease <duration>', `${prefix}${LEASE_TEXT}`, leaseDuration, DEFAULT_LEASE);

const WAIT_OPTION = () => durationOption('--wait <duration>', 'how long to wait for the warehouse while another process holds it (30s, 2m; a number alone is seconds; 0: not at all)', waitDuration, DEFAULT_WAIT);

interface Common {
  project?: string;
  db?: string;
  profilesDir?: string;
  target?: string;
  json?: boolean;
  select?: string[];
  exclude?: string[];
  selector?: string;
  var?: string[];
}

/** Options a command line may give more than once, each adding to the others. */
const REPEATABLE = new Set(['--var', '--vars']);

/**
 * An option that takes one value, given twice (`--date 2024-01-02 --date 2024-01-03`), would
 * have the last one win without a word: refused, as a slip a script could make.
 */
function refuseRepeats(cmd: Command): void {
  for (const option of cmd.options) {
    if (option.variadic || !(option.required || option.optional) || REPEATABLE.has(option.long ?? '')) continue;
    let given = false;
    cmd.on(`option:${option.name()}`, () => {
      if (given) throw new CommanderError(EXIT.badInput, 'pipe.repeatedOption', `${option.long} is given twice: give it once`);
      given = true;
    });
  }
  for (const sub of cmd.commands) refuseRepeats(sub);
}

/** Where the project and its warehouse are, and how output is printed: every command that opens a project. */
function projectFlags(cmd: Command): Command {
  return cmd
    .option('--project <dir>', 'project directory (default: the current folder; where that holds no project, $DBT_PROJECT_DIR when set, as dbt reads it)')
    // dbt's name for it, as typed by someone coming from dbt.
    .addOption(new Option('--project-dir <dir>').hideHelp().conflicts('project'))
    .option('--db <path>', "warehouse file (default: pipe.yaml's warehouse, else the dbt profile target's path, else warehouse.duckdb in the project)")
    .option('--profiles-dir <dir>', 'dbt projects: the folder of profiles.yml (default: $DBT_PROFILES_DIR, else the project, else the working directory, else ~/.dbt)')
    .option('--target <name>', "dbt projects: the profile's target to run on (default: $DBT_TARGET, else the profile's target:)")
    .option('--json', 'print one JSON object per line per event');
}

function common(cmd: Command, withSelection = true): Command {
  projectFlags(cmd);
  if (withSelection) {
    cmd
      .option('-s, --select <selectors...>', "what to include, in dbt's syntax: name, name+, +name, tag:x, path:models/dir, config.materialized:table, ...")
      .option('--exclude <selectors...>', 'what to leave out, same forms as --select')
      .option('--selector <name>', 'a selector of selectors.yml instead of --select')
      .option('--var <name=value>', 'template variable for var(); repeatable', collectVar)
      .addOption(varsOption("template variables as dbt's --vars gives them: a YAML mapping, '{name: value}'"));
  }
  return cmd;
}

/**
 * The project when --project is not given: the current folder, or dbt's `DBT_PROJECT_DIR` where
 * the current folder holds no project (no pipe.yaml, dbt_project.yml or models/), as dbt reads
 * it; a project the user stands in is never traded for another the environment names.
 */
function defaultProject(): string {
  const named = process.env.DBT_PROJECT_DIR;
  if (!named || ['pipe.yaml', 'dbt_project.yml', 'models'].some((f) => existsSync(f))) return '.';
  return named;
}

/** Where the project is, as the library's option names. */
function projectAt(o: Common) {
  return { project: o.project, db: o.db, profilesDir: o.profilesDir, target: o.target };
}

/** The options every project command takes, as the library's option names. */
function projectOptions(o: Common) {
  return { ...projectAt(o), select: o.select, exclude: o.exclude, selector: o.selector, vars: varsOf(o.var, o.project) ?? {} };
}

/** Every command under `program`, at any depth. */
function subcommandsOf(program: Command): Command[] {
  return program.commands.flatMap((c) => [c, ...subcommandsOf(c)]);
}

/** Whether the command that `words` (the command line after `pipe`, up to an option) name takes --select. */
function takesSelect(program: Command, words: readonly string[]): boolean {
  let command = program;
  for (const w of words) {
    const sub = command.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (sub) command = sub;
  }
  return command !== program && command.options.some((o) => o.long === '--select');
}

/** How a command is typed: `pipe source freshness`. */
function commandPath(c: Command): string {
  return c.parent ? `${commandPath(c.parent)} ${c.name()}` : c.name();
}

/**
 * The command line with a query given after `--inline` that starts with a dash (a `--` comment
 * first, as `-- depends_on: {{ ref('m') }}`) joined to it as `--inline=QUERY`: commander would
 * take it for an option. An option's name holds no space, so a dash-led argument that does is
 * text, never an option.
 */
function withInlineQueries(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (argv[i] === '--inline' && next !== undefined && next.startsWith('-') && /\s/.test(next)) {
      out.push(`--inline=${next}`);
      i++;
    } else out.push(argv[i]);
  }
  return out;
}

export async function runCli(argv: readonly string[]): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = new Command('pipe')
    .description('SQL-centric ELT pipelines on DuckDB: templated models, a dependency graph, atomic and idempotent runs.')
    .version(PIPE_VERSION)
    .exitOverride()
    .showHelpAfterError('(pipe --help lists the commands)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    // Before any command reads it (its logger shows the project's source lines too).
    .hook('preAction', (_program, command) => {
      if (!command.options.some((o) => o.long === '--project') || command.getOptionValue('project') !== undefined) return;
      command.setOptionValue('project', (command.getOptionValue('projectDir') as string | undefined) ?? defaultProject());
    });

  /**
   * Ctrl-C once: stop starting tasks and roll back running ones; a command stopped before it
   * wrote anything ends with the signal's reason. Twice: exit at once.
   */
  const interruptible = async (logger: Logger, body: (signal: AbortSignal, logger: Logger) => Promise<number>, runsARun = true): Promise<number> => {
    const controller = new AbortController();
    let interrupts = 0;
    let point: StopPoint = runsARun ? 'preparing' : 'unknown';
    // The events pass here on their way to the logger: the first Ctrl-C's notice says what stops.
    const watched: Logger = {
      handle: (e) => {
        point = stopPointAfter(point, e);
        logger.handle(e);
      },
      result: (text, exact) => logger.result(text, exact),
      close: () => logger.close(),
    };
    const onSignal = (signal: NodeJS.Signals) => {
      interrupts++;
      if (interrupts === 1) {
        logger.handle({ type: 'notice', message: stopNotice(point) });
        controller.abort();
      } else dieOf(signal);
    };
    const giveBack = takeOverSignals(onSignal);
    try {
      return await body(controller.signal, watched);
    } catch (e) {
      if (controller.signal.aborted && e === controller.signal.reason) return EXIT.interrupted;
      return report(e, logger, point);
    } finally {
      giveBack();
      logger.close();
    }
  };

  program
    .command('init')
    .description('start a project: a seed, a staging view, an incremental model with checks and a pipeline')
    .argument('[dir]', 'folder to write it in, created when missing (default: the current folder)')
    .action((dir: string | undefined) => {
      const logger = makeLogger({});
      try {
        logger.result(formatInit(init({ dir })));
      } catch (e) {
        exitCode = report(e, logger);
      }
    });

  common(
    program
      .command('run')
      .description('build the models for one date, in dependency order')
      .argument('[pipeline]', 'pipeline in pipelines/ to run (default: every model)')
      .option('-d, --date <YYYY-MM-DD>', 'the date to build (default: yesterday)')
      .option('-t, --threads <n>', 'models built at once (default: the pipeline, pipe.yaml, else 4)', positiveInt('--threads'))
      .option('--full-refresh', "rebuild incremental models from the date alone (microbatch models from their begin; refused when their tables hold other dates) and reload seeds")
      .option('--force', 'run every selected task, also those whose output is current (built from the same SQL, config and inputs)')
      .option('--store-failures', "dbt tests keep their failing rows in the warehouse (<schema>_dbt_test__audit), unless their store_failures or store_failures_as says otherwise")
      .option('--ignore-dependencies-on-past', 'run depends_on_past models even when their previous date has not succeeded')
      .option('--hour <h>', 'build one hour of --date (0-23) instead of the whole day, as hourly pipelines do', hour)
      .option('--event-time-start <time>', 'microbatch models: build the batches from this date or time (UTC, inclusive), with --event-time-end')
      .option('--event-time-end <time>', 'microbatch models: build the batches up to this date or time (UTC, exclusive), with --event-time-start')
      .option('--dry-run', 'print the steps the run would execute, task by task in run order, and write nothing')
      .option(...DISTRIBUTED_OPTION)
      .addOption(LEASE_OPTION())
      .option(...FRESHNESS_OPTION)
      .addOption(WAIT_OPTION()),
  ).action(
    async (
      pipeline: string | undefined,
      o: Common & {
        date?: string;
        threads?: number;
        fullRefresh?: boolean;
        force?: boolean;
        storeFailures?: boolean;
        hour?: number;
        ignoreDependenciesOnPast?: boolean;
        eventTimeStart?: string;
        eventTimeEnd?: string;
        dryRun?: boolean;
        checkFreshness?: boolean;
        wait: number;
        distributed?: boolean;
        lease: number;
      },
    ) => {
      const logger = makeLogger(o);
      const options = {
        ...projectOptions(o),
        pipeline,
        date: o.date,
        threads: o.threads,
        fullRefresh: o.fullRefresh,
        force: o.force,
        storeFailures: o.storeFailures,
        ignoreDependenciesOnPast: o.ignoreDependenciesOnPast,
        eventTimeStart: o.eventTimeStart,
        eventTimeEnd: o.eventTimeEnd,
        hour: o.hour,
        checkFreshness: o.checkFreshness,
        waitMs: o.wait,
      };
      if (o.dryRun) {
        try {
          const { plan, interval, isDefault, threads } = await runDryRun({ ...options, emit: (e) => logger.handle(e) });
          logger.result(await withDisplayWidth(() => formatRunPlan(plan, { ds: intervalLabel(interval), dateIsDefault: isDefault, threads }, Boolean(o.json))));
        } catch (e) {
          // A dry run runs nothing: whatever stops it, it stopped before anything ran.
          exitCode = report(e, logger, 'preparing');
        }
        return;
      }
      const distributed = o.distributed ? { leaseMs: o.lease } : undefined;
      exitCode = await interruptible(logger, async (signal, log) => finishedOrNothing(await run({ ...options, distributed, signal, emit: (e) => log.handle(e) }), log));
    },
  );

  common(
    program
      .command('backfill')
      .description('build a range of dates: incremental models once per date, tables and views once at the end')
      .argument('[pipeline]', 'pipeline in pipelines/ to backfill (default: every model)')
      .requiredOption('--start <YYYY-MM-DD>', 'first date (inclusive)', trimmed)
      .requiredOption('--end <YYYY-MM-DD>', 'last date (inclusive)', trimmed)
      .option('-p, --parallel <n>', 'most dates in flight at once; starts at 1 and doubles as dates succeed', positiveInt('--parallel'), 1)
      .option('-t, --threads <n>', 'most tasks running at once (default: the larger of --parallel and the configured threads)', positiveInt('--threads'))
      .addOption(new Option('--order <order>', 'which dates go first').choices(['oldest', 'newest']).default('oldest'))
      .option('--max-failures <k>', 'stop starting tasks after K failed tasks', positiveInt('--max-failures'))
      .option('--retries <n>', 'retry transient errors up to N times (default: no retries in a backfill)', (v) => {
        const n = Number(v);
        // As a model's retries: more would keep a backfill retrying one transient error for days.
        if (!Number.isInteger(n) || n < 0 || n > MAX_RETRIES) throw new CommanderError(EXIT.badInput, 'pipe.badInt', `--retries must be a whole number from 0 to ${MAX_RETRIES}, got '${v}'`);
        return n;
      })
      .option('--full-refresh', "rebuild each selected incremental model's table from the range alone, swapped in at the end in one transaction")
      .option('--force', 'run every selected task, also those whose output is current (built from the same SQL, config and inputs)')
      .option('--missing', 'build only what pipe status shows as not current: dates never built, failed, modified or stale, and such tables and views')
      .option('--ignore-dependencies-on-past', "run depends_on_past models' first date even when the date before --start has not succeeded")
      .option('--dry-run', 'print the plan (which model runs for which dates, in which order) and write nothing')
      .option('--steps', 'with --dry-run: print what each task would execute, in run order')
      .option(...DISTRIBUTED_OPTION)
      .addOption(LEASE_OPTION())
      .option(...FRESHNESS_OPTION)
      .addOption(WAIT_OPTION()),
  ).action(
    async (
      pipeline: string | undefined,
      o: Common & {
        start: string;
        end: string;
        parallel: number;
        threads?: number;
        order: 'oldest' | 'newest';
        maxFailures?: number;
        retries?: number;
        fullRefresh?: boolean;
        force?: boolean;
        missing?: boolean;
        ignoreDependenciesOnPast?: boolean;
        dryRun?: boolean;
        steps?: boolean;
        checkFreshness?: boolean;
        wait: number;
        distributed?: boolean;
        lease: number;
      },
    ) => {
      const logger = makeLogger(o);
      if (o.steps && !o.dryRun) {
        process.stderr.write('error: --steps shows what a dry run would execute: add --dry-run\n');
        exitCode = EXIT.badInput;
        return;
      }
      const options = {
        ...projectOptions(o),
        pipeline,
        start: o.start,
        end: o.end,
        parallel: o.parallel,
        threads: o.threads,
        order: o.order,
        maxFailures: o.maxFailures,
        retries: o.retries,
        waitMs: o.wait,
        fullRefresh: o.fullRefresh,
        force: o.force,
        missing: o.missing,
        ignoreDependenciesOnPast: o.ignoreDependenciesOnPast,
        checkFreshness: o.checkFreshness,
        distributed: o.distributed ? { leaseMs: o.lease } : undefined,
        emit: (e: Parameters<Logger['handle']>[0]) => logger.handle(e),
      };
      if (o.dryRun) {
        try {
          const plan = await backfillDryRun(options);
          logger.result(await withDisplayWidth(() => formatPlan(plan, { start: o.start, end: o.end, order: o.order, parallel: o.parallel }, Boolean(o.json), Boolean(o.steps))));
        } catch (e) {
          // A dry run runs nothing: whatever stops it, it stopped before anything ran.
          exitCode = report(e, logger, 'preparing');
        }
        return;
      }
      exitCode = await interruptible(logger, async (signal, log) => {
        const emit = (e: Parameters<Logger['handle']>[0]) => log.handle(e);
        return finishedOrNothing(await (o.missing ? backfillMissing : backfill)({ ...options, signal, emit }), log);
      });
    },
  );

  projectFlags(
    program
      .command('worker')
      .description('run the tasks of distributed runs (backfill, run, retry and schedule with --distributed) from the queue in the lake\'s Postgres, until stopped')
      .option('-c, --concurrency <n>', 'tasks run at once', positiveInt('--concurrency'), 1)
      .addOption(LEASE_OPTION(''))
      .option('--name <id>', 'this worker\'s id in heartbeats and the run history (default: host:pid)'),
  ).action(async (o: Common & { concurrency: number; lease: number; name?: string }) => {
    const logger = makeLogger(o);
    const controller = new AbortController();
    const giveBack = takeOverSignals((signal) => {
      if (controller.signal.aborted) dieOf(signal);
      logger.handle({ type: 'notice', message: 'stopping: taking no more tasks, rolling back running ones, which go back to the queue (press Ctrl-C again to exit at once)' });
      controller.abort();
    });
    try {
      await worker({ ...projectAt(o), concurrency: o.concurrency, leaseMs: o.lease, name: o.name, signal: controller.signal, emit: (e) => logger.handle(e) });
      exitCode = controller.signal.aborted ? EXIT.interrupted : EXIT.ok;
    } catch (e) {
      exitCode = report(e, logger);
    } finally {
      giveBack();
      logger.close();
    }
  });

  common(
    program
      .command('test')
      .description("run the selected models' checks against their published tables, building nothing")
      .option('-d, --date <YYYY-MM-DD>', "the date whose partition incremental models' checks read (default: yesterday; an hourly pipeline's previous hour)")
      .option('--hour <h>', "the checks of the models kept in intervals read that hour of --date (0-23), as pipe run --hour builds it (dbt's tests read the table, as in pipe run)", hour)
      .option('--pipeline <name>', "test a pipeline's selection")
      .option('-t, --threads <n>', 'checks run at once', positiveInt('--threads'))
      .option('--store-failures', "dbt tests keep their failing rows in the warehouse (<schema>_dbt_test__audit), unless their store_failures or store_failures_as says otherwise"),
  ).action(async (o: Common & { date?: string; hour?: number; pipeline?: string; threads?: number; storeFailures?: boolean }) => {
    const logger = makeLogger(o);
    exitCode = await interruptible(logger, async (signal, log) => {
      const outcome = await test({
        ...projectOptions(o),
        pipeline: o.pipeline,
        date: o.date,
        hour: o.hour,
        threads: o.threads,
        storeFailures: o.storeFailures,
        signal,
        emit: (e) => log.handle(e),
      });
      return finishedOrNothing(outcome, log);
    });
  });

  common(
    program
      .command('run-operation')
      .description("call a macro, as dbt run-operation does: the queries it runs while rendering run in the warehouse; what it returns is not run")
      .argument('<macro>', 'the macro: NAME of the project, or PACKAGE.NAME of an installed package')
      .option('--args <yaml>', "the macro's keyword arguments, a YAML mapping: '{table: orders, n: 2}'")
      .option('--var <name=value>', 'template variable for var(); repeatable', collectVar)
      .addOption(varsOption("template variables as dbt's --vars gives them: a YAML mapping, '{name: value}'")),
    false,
  ).action(async (macro: string, o: Common & { args?: string }) => {
    const logger = makeLogger(o);
    exitCode = await interruptible(
      logger,
      async () => operationStatus(await runOperation({ ...projectAt(o), vars: varsOf(o.var, o.project) ?? {}, macro, args: operationArgs(o.args, o.project), emit: operationOutput(logger, Boolean(o.json)) }), logger),
      false,
    );
  });

  common(
    program
      .command('watch')
      .description('build the selection, then rebuild what changes (and its downstream) on every save')
      .argument('[pipeline]', 'pipeline in pipelines/ to watch (default: every model)')
      .option('-d, --date <YYYY-MM-DD>', 'the date to build (default: yesterday)')
      .option('-t, --threads <n>', 'models built at once', positiveInt('--threads'))
      .option('--keep-open', 'keep the warehouse open between builds (saves do not wait for it to open; other pipe commands ask for it, other programs cannot open it)'),
  ).action(async (pipeline: string | undefined, o: Common & { date?: string; threads?: number; keepOpen?: boolean }) => {
    const logger = makeLogger(o);
    const controller = new AbortController();
    const stop = () => controller.abort();
    const giveBack = takeOverSignals(stop);
    const stdin = process.stdin;
    const onKey = (key: Buffer) => {
      const k = key.toString();
      if (k === 'q' || k === '\u0003') stop();
    };
    if (stdin.isTTY) {
      stdin.setRawMode(true);
      stdin.resume();
      stdin.on('data', onKey);
    }
    try {
      // Loaded on demand: the file watcher alone adds a tenth of every other command's start-up.
      const { watch } = await import('../watch/watch.js');
      await watch({
        ...projectOptions(o),
        pipeline,
        date: o.date,
        threads: o.threads,
        keepOpen: o.keepOpen,
        signal: controller.signal,
        emit: (e) => logger.handle(e),
      });
      exitCode = EXIT.ok;
    } catch (e) {
      exitCode = report(e, logger);
    } finally {
      if (stdin.isTTY) {
        stdin.off('data', onKey);
        stdin.setRawMode(false);
        stdin.pause();
      }
      giveBack();
      logger.close();
    }
  });

  projectFlags(
    program
      .command('schedule')
      .description('run scheduled pipelines when they are due, as a long-lived service')
      .argument('[pipelines...]', 'pipelines to schedule (default: every pipeline with a schedule)'),
  )
    .option('--list', 'print the next run times of each scheduled pipeline and exit')
    .option('--once', 'run what is due now, wait for it, and exit (for cron or a systemd timer)')
    .option(...DISTRIBUTED_OPTION)
    .addOption(LEASE_OPTION())
    .action(async (pipelines: string[], o: Common & { list?: boolean; once?: boolean; distributed?: boolean; lease: number }) => {
      const logger = makeLogger(o);
      if (o.list) {
        try {
          const { listSchedules } = await import('../schedule/scheduler.js');
          logger.result(await listSchedules({ ...projectAt(o), pipelines }, undefined, Boolean(o.json)));
        } catch (e) {
          exitCode = report(e, logger);
        }
        return;
      }
      const controller = new AbortController();
      let signals = 0;
      let inFlight = 0;
      const stop = (signal: NodeJS.Signals) => {
        signals++;
        if (signals > 1) dieOf(signal);
        logger.handle({ type: 'notice', message: scheduleStopNotice(inFlight) });
        controller.abort();
      };
      const giveBack = takeOverSignals(stop);
      try {
        const { schedule } = await import('../schedule/scheduler.js');
        const result = await schedule({ ...projectAt(o), pipelines, once: o.once, distributed: o.distributed ? { leaseMs: o.lease } : undefined, signal: controller.signal, emit: (e) => {
          inFlight = runsInFlightAfter(inFlight, e);
          logger.handle(e);
        } });
        // Stopped by a signal: 130, as every command; runs it cancelled are no failures of theirs.
        exitCode = controller.signal.aborted ? EXIT.interrupted : result.failed > 0 ? EXIT.taskFailed : EXIT.ok;
      } catch (e) {
        exitCode = report(e, logger);
      } finally {
        giveBack();
        logger.close();
      }
    });

  projectFlags(
    program
      .command('retry')
      .description('re-run the failed, skipped, cancelled and never-started tasks of a run, with its dates, vars and selection')
      .argument('[run_id]', 'the run to complete (default: the latest run that did not fully succeed)'),
  )
    .option('-t, --threads <n>', 'most tasks running at once (default: as the original run)', positiveInt('--threads'))
    .option('--var <name=value>', "a secret var's value again (a run stores only its fingerprint); other vars are the run's own", collectVar)
    .addOption(varsOption("secret vars' values again, as a YAML mapping ('{name: value}')"))
    .option(...DISTRIBUTED_OPTION)
    .addOption(LEASE_OPTION())
    .addOption(WAIT_OPTION())
    .action(async (runId: string | undefined, o: Common & { threads?: number; wait: number; distributed?: boolean; lease: number }) => {
      const logger = makeLogger(o);
      exitCode = await interruptible(logger, async (signal, log) => {
        const distributed = o.distributed ? { leaseMs: o.lease } : undefined;
        const outcome = await retry({ ...projectAt(o), runId, threads: o.threads, vars: varsOf(o.var, o.project), waitMs: o.wait, distributed, signal, emit: (e) => log.handle(e) });
        return finishedOrNothing(outcome, log);
      });
    });

  common(
    program
      .command('compile')
      .description('print the query of each model that pipe run with the same options would build, as it would execute it (a template that tests flags.WHICH sees compile, as in dbt compile)')
      .argument('[model]', 'one model to compile (default: every selected model)')
      .option('-d, --date <YYYY-MM-DD>', 'the date to render for (default: as pipe run: yesterday, or the previous hour for an hourly pipeline)')
      .option('--hour <h>', 'render for one hour of --date (0-23), as pipe run --hour', hour)
      .option('--pipeline <name>', "use a pipeline's selection and vars")
      .option('--full-refresh', 'render as pipe run --full-refresh (is_incremental() false)')
      .option('--inline <sql>', "compile this query as a model of the project, as dbt's --inline (\"select * from {{ ref('orders') }}\")"),
  ).action(async (model: string | undefined, o: Common & { date?: string; hour?: number; pipeline?: string; fullRefresh?: boolean; inline?: string }) => {
    const logger = makeLogger(o);
    endBySignals();
    try {
      const { models, warnings } = await compile({ ...projectOptions(o), model, inline: o.inline, date: o.date, hour: o.hour, pipeline: o.pipeline, fullRefresh: o.fullRefresh, emit: (e) => logger.handle(e) });
      for (const d of warnings) logger.handle({ type: 'diagnostic', diagnostic: d });
      // One line per model, written at once: a write each cost a call of the stream per model.
      const text = o.json
        ? models.map((m) => JSON.stringify({ type: 'compiled', ...m })).join('\n')
        : // One model's one task: the compiled SQL as it runs, byte for byte, which a user pipes into a
          // file or DuckDB. One with lookback dates has a task each (its run's own interval last), each said.
          (model !== undefined || o.inline !== undefined) && models.length <= 1
          ? (models[0]?.sql ?? '')
          : // Several: each SQL byte for byte too, under its header line (whose names are escaped as any name printed).
            // Each query ends in a ; of its own line when its last line is a -- comment, which would hold it: the script runs as printed.
            models.map((m) => `${printable(`-- ${m.model} (${m.materialized}) · ${m.file} · ds ${m.ds}${m.lookback ? ` (${lookbackReason(m.lookback)})` : ''}`)}\n${m.sql}${/--[^\n]*$/.test(m.sql) ? '\n' : ''};\n`).join('\n');
      const masked = maskedNotice('sql', text);
      if (masked) logger.handle({ type: 'diagnostic', diagnostic: masked });
      if (!o.json || models.length > 0) logger.result(text, !o.json);
    } catch (e) {
      exitCode = report(e, logger);
    }
  });

  common(
    program
      .command('dag')
      .description('print the dependency graph')
      .addOption(new Option('--format <format>', 'output format').choices(DAG_FORMATS as string[]).default('text'))
      .option('--pipeline <name>', "show a pipeline's selection"),
  ).action(async (o: Common & { format: DagFormat; pipeline?: string }) => {
    const logger = makeLogger(o, true);
    endBySignals();
    try {
      const nodes = await listNodes({ ...projectOptions(o), pipeline: o.pipeline, emit: (e) => logger.handle(e) });
      logger.result(renderDag(nodes, o.json ? 'json' : o.format));
    } catch (e) {
      exitCode = report(e, logger);
    }
  });

  common(
    program
      .command('ls')
      .description('list models and seeds with their materialization and dependencies')
      .option('--pipeline <name>', "list a pipeline's selection")
      .addOption(new Option('--resource-type <types...>', "only nodes of these types, as dbt's ls").choices([...RESOURCE_TYPES]))
      .addOption(
        new Option('--output <format>', "dbt's ls output: a table (default), one name or file path a line, or one JSON object a node, with the keys dbt ls --output json prints").choices(['table', 'name', 'path', 'json']),
      ),
  ).action(async (o: Common & { pipeline?: string; resourceType?: ResourceType[]; output?: 'table' | 'name' | 'path' | 'json' }) => {
    const logger = makeLogger(o);
    endBySignals();
    try {
      const nodes = await listNodes({ ...projectOptions(o), pipeline: o.pipeline, resourceTypes: o.resourceType, dbtRecords: o.output === 'json', emit: (e) => logger.handle(e) });
      if (o.output === 'json') {
        for (const n of nodes) logger.result(JSON.stringify(n.dbt ?? { name: n.name }));
      } else if (o.json) {
        for (const { dbt: _dbt, ...n } of nodes) logger.result(JSON.stringify({ type: 'node', ...n }));
      } else if (o.output === 'name' || o.output === 'path') {
        if (nodes.length > 0) logger.result(nodes.map((n) => (o.output === 'name' ? n.name : n.file)).join('\n'));
      } else {
        logger.result(await withDisplayWidth(() => textTable(['NAME', 'KIND', 'DEPENDS ON'], nodes.map((n) => [n.name, n.kind, n.upstream.join(', ') || '-']))));
      }
    } catch (e) {
      exitCode = report(e, logger);
    }
  });

  const source = program.command('source').description('dbt sources: tables and files the project reads and does not build');
  common(
    source
      .command('freshness')
      .description("check how fresh each selected source is that declares freshness: and loaded_at_field:, as dbt's source freshness does")
      .option('--pipeline <name>', "check the sources a pipeline's selection reads (select them with +, e.g. +fct_orders)")
      .addOption(WAIT_OPTION()),
  ).action(async (o: Common & { pipeline?: string; wait: number }) => {
    const logger = makeLogger(o);
    try {
      const { results, warnings } = await sourceFreshness({ ...projectOptions(o), pipeline: o.pipeline, waitMs: o.wait, emit: (e) => logger.handle(e) });
      for (const d of warnings) logger.handle({ type: 'diagnostic', diagnostic: d });
      const text = await withDisplayWidth(() => formatFreshness(results, Boolean(o.json)));
      if (text !== '') logger.result(text);
      exitCode = freshnessExitStatus(results);
    } catch (e) {
      exitCode = report(e, logger);
    }
  });

  projectFlags(
    program
      .command('show')
      .description("print the first rows of a model's table (a seed's, a source's), of its query with --inline, or of a query given with --inline")
      .argument('[model]', "the model, seed or source (src.table) to show; with --inline, a query instead (\"select * from {{ ref('orders') }}\")"),
  )
    .option('-s, --select <model>', 'the model, seed or source to show, as dbt show --select names it: the same as the argument')
    .option('-n, --limit <n>', `how many rows (default ${DEFAULT_SHOW_LIMIT})`, positiveInt('--limit'))
    .option('--where <sql>', "a SQL expression over the rows' columns: only the rows it is true for")
    .option('-d, --date <YYYY-MM-DD>', "an incremental model's partition of that date; with --inline, the date its query is rendered for (default: yesterday)")
    .option('--inline [query]', "run the model's query (or the query given) as pipe run would for --date instead of reading its table (read-only)")
    .option('--var <name=value>', 'template variable for var() with --inline; repeatable', collectVar)
    .addOption(varsOption("template variables for --inline as a YAML mapping ('{name: value}')"))
    .action(async (argument: string | undefined, o: Common & { select?: string; limit?: number; where?: string; date?: string; inline?: boolean | string }) => {
      const logger = makeLogger(o, true);
      endBySignals();
      try {
        // The query (or model) may follow --inline itself: `pipe show --inline "select 1"`.
        const inlined = typeof o.inline === 'string' ? o.inline : undefined;
        if (argument !== undefined && inlined !== undefined) throw new DiagnosticError([error('bad-option', `pipe show ${argument} --inline ${JSON.stringify(inlined)} names two things to show: give one`)]);
        const given = argument ?? inlined;
        const named = inlined === undefined ? given : `--inline ${JSON.stringify(inlined)}`;
        if (given !== undefined && o.select !== undefined && given !== o.select) throw new DiagnosticError([error('bad-option', `pipe show ${named} --select ${o.select} names two things to show: give one`)]);
        const model = given ?? o.select;
        if (model === undefined) throw new DiagnosticError([error('bad-option', 'pipe show needs what to show: a model, seed or source (pipe show orders), or a query with --inline')]);
        const shown = await show({ ...projectAt(o), model, limit: o.limit, where: o.where, date: o.date, inline: o.inline !== undefined, vars: varsOf(o.var, o.project) ?? {}, emit: (e) => logger.handle(e) });
        const text = o.json ? formatRowsJson(shown) : await withDisplayWidth(() => formatRowsTable(shown, process.stdout.isTTY ? process.stdout.columns : undefined));
        // Judged on the values whole (the table's text is masked as it is sized).
        const masked = maskedNotice('rows', formatRowsJson(shown));
        if (masked) logger.handle({ type: 'diagnostic', diagnostic: masked });
        logger.result(text);
      } catch (e) {
        exitCode = report(e, logger);
      }
    });

  common(
    program
      .command('status')
      .description('how current each selected model and seed is: per date for incremental models (current, stale, failed, never built), and why not')
      .option('--pipeline <name>', "show a pipeline's selection")
      .option('--start <YYYY-MM-DD>', "first date (inclusive), with --end (default: each model's begin, else its first build)", trimmed)
      .option('--end <YYYY-MM-DD>', 'last date (inclusive), with --start (default: yesterday)', trimmed),
  ).action(async (o: Common & { pipeline?: string; start?: string; end?: string }) => {
    const logger = makeLogger(o);
    endBySignals();
    try {
      const s = await status({ ...projectOptions(o), pipeline: o.pipeline, start: o.start, end: o.end, emit: (e) => logger.handle(e) });
      logger.result(await withDisplayWidth(() => formatStatus(s, Boolean(o.json))));
    } catch (e) {
      exitCode = report(e, logger);
    }
  });

  common(
    program
      .command('history')
      .description('list recent runs, or the tasks of one run (while a run holds the warehouse: from the run logs beside it)')
      .argument('[run_id]', 'show the tasks of this run')
      .option('-n, --limit <n>', 'how many runs to list', positiveInt('--limit'), 20),
    false,
  ).action(async (runId: string | undefined, o: Common & { limit: number }) => {
    const logger = makeLogger(o);
    endBySignals();
    try {
      const h = await history({ ...projectAt(o), runId, limit: o.limit });
      if (h.kind === 'runs') for (const d of h.problems) logger.handle({ type: 'diagnostic', diagnostic: d });
      if (h.kind === 'live-runs' || h.kind === 'live-tasks') logger.handle({ type: 'notice', message: heldNotice(h.held) });
      logger.result(await withDisplayWidth(() => formatHistory(h, Boolean(o.json))));
    } catch (e) {
      exitCode = report(e, logger);
    }
  });

  projectFlags(
    program
      .command('ui')
      .description('serve a local web page of the runs (grid, Gantt chart, failures), the lineage and the models; read-only'),
  )
    .option('--port <n>', 'the port to listen on (0: any free port)', portNumber, 4180)
    .option('--host <host>', 'the address to listen on; other than loopback (127.0.0.1) anyone who can reach it sees the project', '127.0.0.1')
    .option('--open', 'open the page in the browser')
    .option('--allow-actions', 'let the page retry failed runs and backfill date ranges (as pipe retry and pipe backfill)')
    .action(async (o: Common & { port: number; host: string; open?: boolean; allowActions?: boolean }) => {
      const logger = makeLogger(o);
      const controller = new AbortController();
      const giveBack = takeOverSignals(() => controller.abort());
      try {
        const { ui } = await import('../ui/ui-command.js');
        await ui({ ...projectAt(o), host: o.host, port: o.port, open: o.open, allowActions: o.allowActions, signal: controller.signal, emit: (e) => logger.handle(e) });
      } catch (e) {
        exitCode = report(e, logger);
      } finally {
        giveBack();
        logger.close();
      }
    });

  // pipe ui's server judges the coverage heatmap in a process of its own (see
  // ui/server/coverage-process.ts), this one: one JSON text on stdout. Not a command for people.
  projectFlags(program.command('ui-coverage', { hidden: true }))
    .option('--start <date>')
    .option('--end <date>')
    .action(async (o: Common & { start?: string; end?: string }) => {
      endBySignals();
      const { coverageAnswer } = await import('../ui/server/coverage-data.js');
      process.stdout.write(await coverageAnswer(projectAt(o), { start: o.start, end: o.end }));
    });

  const docs = program.command('docs').description('the lineage and model pages of pipe ui as a static site');
  projectFlags(
    docs
      .command('generate')
      .description('write the lineage and model pages as files that open from disk or any static host, with no server (no runs, no rows)'),
  )
    .option('--out <dir>', 'the folder to write, replaced whole (relative to the project; default target/docs)')
    .action(async (o: Common & { out?: string }) => {
      const logger = makeLogger(o);
      try {
        const { docsGenerate } = await import('../ui/docs/docs-generate.js');
        const written = await docsGenerate({ ...projectAt(o), out: o.out });
        for (const d of written.warnings) logger.handle({ type: 'diagnostic', diagnostic: d });
        logger.result(
          o.json
            ? JSON.stringify({ out: written.out, nodes: written.nodes, columns_from: written.columnsFrom })
            : `wrote the pages of ${written.nodes} models, seeds and sources to ${written.out} (columns from the ${written.columnsFrom}): open ${written.out}/index.html`,
        );
      } catch (e) {
        exitCode = report(e, logger);
      } finally {
        logger.close();
      }
    });

  refuseRepeats(program);
  /** A command line refused before any command ran: said on stderr, and with --json as a diagnostic on stdout too, as every other error is. */
  const refused = (message: string, written = false): number => {
    if (!written) process.stderr.write(`error: ${message}\n`);
    if (argv.includes('--json')) makeLogger({ json: true }).handle({ type: 'diagnostic', diagnostic: error('bad-option', message) });
    return EXIT.badInput;
  };
  // Every command reads the clock (a default date, a schedule): an unreadable PIPE_NOW is refused before any.
  const badNow = pipeNowProblem();
  if (badNow !== undefined) return refused(badNow);
  const asked = argv[2];
  const instead = asked !== undefined && !program.commands.some((c) => c.name() === asked || c.aliases().includes(asked)) ? insteadOfDbt(asked) : undefined;
  if (instead !== undefined) return refused(`pipe has no ${asked} command: ${instead}`);
  const insteadOfOption = insteadOfDbtOption(argv.slice(2));
  if (insteadOfOption !== undefined) return refused(`${insteadOfOption.option} is dbt's, and pipe has no such option: ${insteadOfOption.instead}`);
  const models = withSelectForModels(argv, (words) => takesSelect(program, words));
  for (const option of models.renamed) {
    const message = `${option} is dbt's older name for --select, read as --select`;
    process.stderr.write(`warning: ${message}\n`);
    if (argv.includes('--json')) makeLogger({ json: true }).handle({ type: 'diagnostic', diagnostic: warning('old-option', message) });
  }
  argv = models.argv;
  // A mistake in a command's own options or arguments points at that command's help.
  for (const c of subcommandsOf(program)) c.showHelpAfterError(`(${commandPath(c)} --help ${c.commands.length > 0 ? 'lists its commands' : 'shows how to use it'})`);
  try {
    await program.parseAsync(withInlineQueries(argv));
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      // Commander wrote its own errors to stderr already.
      return refused(e.message.replace(/^error: /, ''), !e.code.startsWith('pipe.'));
    }
    throw e;
  }
  return exitCode;
}
