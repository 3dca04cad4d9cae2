/**
 * dbt's commands that pipe has under another name or does in another way: someone coming
 * from dbt who types one is told what pipe does instead, not only that the command is unknown.
 * (dbt's commands pipe has under the same name, run, test, compile, show, retry, source,
 * run-operation and docs, are pipe's own.)
 */
const INSTEAD: Readonly<Record<string, string>> = {
  build:
    'pipe run does what dbt build does: seeds, snapshots and models in dependency order, each model published only once its tests pass (pipe run --select … as with dbt)',
  seed: 'pipe run loads seeds before what reads them, and loads a seed again only when its file changed; pipe run --select resource_type:seed loads them alone',
  snapshot: 'pipe run takes the snapshots with everything else; pipe run --select resource_type:snapshot takes them alone',
  deps: 'pipe downloads no packages: it reads those installed in dbt_packages/ (or packages-install-path) and local: ones; install them with dbt deps, or copy them there',
  debug: 'pipe ls reads the project and its profile and reports each problem at its line; pipe status opens the warehouse and tells what is current',
  parse: 'pipe compile reads the whole project and reports each problem at its line (pipe ls lists what it found); pipe writes no manifest',
  list: 'pipe ls lists the models, seeds and sources (--json for machine-readable output)',
  clean:
    'pipe writes no target/ of compiled SQL or artifacts (pipe docs generate alone writes its site, to target/docs unless --out): what it keeps is in .pipe/ beside the warehouse (compiled templates, renders, run logs), and removing that folder loses nothing but time and the run logs',
  clone: 'pipe has no clone: it builds in the warehouse its profile or pipe.yaml names',
};

const NO_FAIL_FAST =
  'pipe run goes on with what does not read a failure and reports every error at the end; pipe backfill stops starting tasks after --max-failures N (--max-failures 1 stops at the first)';
const NO_WARN_ERROR = 'pipe has no option that turns warnings into errors: a check that must stop the build has severity error (the default)';
const NO_TARGET_PATH = 'pipe writes no target/ of compiled SQL: pipe compile prints it (--json for one object per model), and pipe docs generate --out DIR writes its site there';

/**
 * dbt's options that pipe has no counterpart of, and what it does instead: typed by someone
 * coming from dbt (a slim-CI step, `dbt build --select state:modified+ --defer --state prod/`),
 * they are told so rather than offered a near name (`--state`: "did you mean --date?").
 */
const INSTEAD_OF_OPTION: Readonly<Record<string, string>> = {
  '--state':
    "pipe reads the state of each node from the warehouse it builds (what each table was last built from), not from another run's manifest: --select state:modified+ needs no --state",
  '--defer':
    "pipe builds in one warehouse and reads what a selection does not build from it as it is: there is no other environment to defer to; build the upstream too (--select +model), or point --db or --target at the warehouse that has it",
  '--no-defer': 'pipe never defers (see --defer): leave the option out',
  '--favor-state': 'pipe never defers (see --defer): leave the option out',
  '--defer-state': 'pipe never defers (see --defer): leave the option out',
  '--empty':
    "pipe has no zero-row build: pipe compile renders every query, and a run into another warehouse (pipe run --db ci.duckdb) checks them against the tables without touching this one",
  '--fail-fast': NO_FAIL_FAST,
  '-x': NO_FAIL_FAST,
  '--warn-error': NO_WARN_ERROR,
  '--warn-error-options': NO_WARN_ERROR,
  '--target-path': NO_TARGET_PATH,
  '--log-path': 'pipe writes no log files of its own beside the project: every run is recorded in the warehouse (pipe history) and in .pipe/ beside it (its run log); --json prints its events as JSON lines',
};

/** dbt's older names of --select, which dbt 1.11 still reads (with a deprecation warning), and so does pipe. */
const SELECT_NAMES: ReadonlySet<string> = new Set(['-m', '--models', '--model']);

/**
 * The command line with dbt's older names of --select (`-m`, `--models`, `--model`, and
 * `--models=X`) written --select, and which of them were, for a warning: a dbt user's script
 * (`dbt run --models stg_orders+`) runs as dbt runs it. Only for a command that takes --select
 * (`takesSelect`, given the words of the command line after `pipe`); options after `--` are not.
 */
export function withSelectForModels(argv: readonly string[], takesSelect: (words: readonly string[]) => boolean): { readonly argv: string[]; readonly renamed: readonly string[] } {
  const renamed: string[] = [];
  const out = [...argv];
  const end = argv.indexOf('--');
  for (let i = 2; i < (end < 0 ? argv.length : end); i++) {
    // -mNAME, as a short option takes its value (dbt's -mstg_orders).
    const joined = /^-m[^-=]/.test(argv[i]);
    const [option, ...value] = joined ? ['-m', argv[i].slice(2)] : argv[i].split('=');
    if (!SELECT_NAMES.has(option) || (option === '-m' && value.length > 0 && !joined)) continue;
    if (!takesSelect(argv.slice(2, i))) continue;
    out[i] = value.length > 0 ? `--select=${value.join('=')}` : '--select';
    if (!renamed.includes(option)) renamed.push(option);
  }
  return { argv: out, renamed };
}

/** What pipe does instead of dbt's option `flag` (`--state`, `--state=dir`), when pipe has none of that name. */
export function insteadOfDbtOption(argv: readonly string[]): { readonly option: string; readonly instead: string } | undefined {
  for (const arg of argv) {
    if (arg === '--') return undefined;
    const option = arg.split('=')[0];
    if (Object.hasOwn(INSTEAD_OF_OPTION, option)) return { option, instead: INSTEAD_OF_OPTION[option] };
  }
  return undefined;
}

/** What pipe does instead of dbt's `command`, when pipe has no command of that name. */
export function insteadOfDbt(command: string): string | undefined {
  return Object.hasOwn(INSTEAD, command) ? INSTEAD[command] : undefined;
}
