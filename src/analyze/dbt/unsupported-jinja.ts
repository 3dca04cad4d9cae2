import { error, positionOf, type Diagnostic, type Location } from '../../diagnostics/diagnostics.js';

/**
 * The dbt Jinja that pipe's templates cannot render yet, found in a template's text before it
 * is rendered. Rendering stops at the first failure, and some of these would not fail at all
 * but render differently from dbt (`{% if execute %}` taking its else branch, `graph.nodes`
 * empty, the version of `ref('x', v=2)` ignored): the scan finds every use in every file, and
 * the project's problems are reported once per cause, with every place it occurs.
 */

export interface UnsupportedUse {
  /** What is used, the same text for every use of one cause (e.g. `dbt_utils.star()`, `{% do %}`). */
  readonly cause: string;
  readonly hint: string;
  readonly location: Location;
}

interface Rule {
  readonly re: RegExp;
  /** The cause from the match. */
  cause(m: RegExpExecArray): string;
  hint(m: RegExpExecArray): string;
}

/** dbt's objects and functions that pipe's templates do not have yet. */
const INTROSPECTION = 'it reads the warehouse while rendering, which pipe does not do yet: write the SQL without it';
const DBT_OBJECTS: Readonly<Record<string, string>> = {
  adapter: INTROSPECTION,
  graph: 'the project graph is not available to templates: name the models you need with ref()',
  exceptions: 'raise the problem as a failing check instead',
  modules: 'Python modules are not available: use SQL date functions, or ds and the other date variables',
  api: 'not available in pipe templates',
};

const PYTHON_METHODS = ['upper', 'lower', 'startswith', 'endswith', 'strip', 'lstrip', 'rstrip', 'items', 'keys', 'values', 'get', 'format', 'title', 'capitalize', 'replace', 'join'];

const RULES: readonly Rule[] = [
  {
    re: /\{%-?\s*do\b/g,
    cause: () => '{% do %}',
    hint: () => 'pipe templates have no {% do %}: build the value with {% set %}',
  },
  {
    re: /\b(adapter|graph|exceptions|modules|api)\s*\.\s*([A-Za-z_]\w*)/g,
    cause: (m) => `${m[1]}.${m[2]}`,
    hint: (m) =>
      m[1] === 'adapter' && m[2] === 'dispatch'
        ? 'adapter.dispatch picks a macro by warehouse: call the DuckDB (or default__) implementation directly'
        : DBT_OBJECTS[m[1]],
  },
  {
    re: /\bdbt\s*\.\s*([A-Za-z_]\w*)\s*\(/g,
    cause: (m) => `dbt.${m[1]}()`,
    hint: () => "dbt's cross-database macros are not available yet: write the DuckDB SQL it stands for (e.g. date_trunc('day', col))",
  },
  {
    re: /(?<![.\w])(run_query|statement|load_result|get_columns_in_relation|get_relation)\s*\(/g,
    cause: (m) => `${m[1]}()`,
    hint: () => INTROSPECTION,
  },
  {
    re: /\{%-?\s*call\s+statement\b/g,
    cause: () => '{% call statement %}',
    hint: () => INTROSPECTION,
  },
  {
    re: /\{%-?\s*(?:if|elif)\s+(?:not\s+)?execute\b/g,
    cause: () => 'execute',
    hint: () => 'pipe renders a model once, with no parse phase, so execute would always take one branch: remove the condition',
  },
  {
    re: /\b(invocation_id|run_started_at|selected_resources|flags)\b/g,
    cause: (m) => m[1],
    hint: () => 'not available in pipe templates yet: pass the value with --var, or use ds and the other date variables',
  },
  {
    re: /(?<![.\w])(fromjson|tojson|fromyaml|toyaml|local_md5|zip|namespace|return|log|print|dispatch)\s*\(/g,
    cause: (m) => `${m[1]}()`,
    hint: (m) => (m[1] === 'return' ? 'a macro returns what it outputs: write {{ value }} instead of return(value)' : 'not available in pipe templates yet'),
  },
  {
    re: /\bref\s*\(\s*(['"][^'"]*['"])\s*,\s*(['"][^'"]*['"]|v\s*=|version\s*=)/g,
    cause: (m) => (/^['"]/.test(m[2]) ? 'ref() of another package' : 'ref() with a model version'),
    hint: (m) => (/^['"]/.test(m[2]) ? 'pipe does not install dbt packages: ref() names a model of this project' : 'model versions are not supported yet: ref() the model by its name'),
  },
  {
    re: new RegExp(`\\.(${PYTHON_METHODS.join('|')})\\s*\\(`, 'g'),
    cause: (m) => `Python's .${m[1]}()`,
    hint: (m) => `pipe templates are Nunjucks, which has no Python string or dict methods: use filters (|${['upper', 'lower', 'title', 'capitalize', 'replace', 'join'].includes(m[1]) ? m[1] : 'trim'}) or write it another way`,
  },
];

/** Any word a rule starts from: a template without one is not scanned further. */
const TRIGGER = new RegExp(
  `\\b(do|adapter|graph|exceptions|modules|api|dbt|run_query|statement|load_result|get_columns_in_relation|get_relation|execute|invocation_id|run_started_at|selected_resources|flags|fromjson|tojson|fromyaml|toyaml|local_md5|zip|namespace|return|log|print|dispatch)\\b|\\.(${PYTHON_METHODS.join('|')})\\s*\\(|\\bref\\s*\\([^)]*,`,
);

/** Whether any tag of the template holds a word a rule starts from, or a package name. */
function mayUse(source: string, packages: ReadonlySet<string>): boolean {
  for (let open = source.indexOf('{'); open >= 0; open = source.indexOf('{', open + 1)) {
    const kind = source[open + 1];
    if (kind !== '{' && kind !== '%') continue;
    const end = source.indexOf(kind === '{' ? '}}' : '%}', open + 2);
    const tag = end < 0 ? source.slice(open) : source.slice(open, end + 2);
    if (TRIGGER.test(tag)) return true;
    for (const p of packages) if (tag.includes(p)) return true;
    if (end < 0) return false;
    open = end;
  }
  return false;
}

/** Blocks whose content is never Jinja. */
const RAW_BLOCK = /\{%-?\s*raw\s*-?%\}[\s\S]*?\{%-?\s*endraw\s*-?%\}/g;

/**
 * Every use of what pipe cannot render yet in one template, and the names of the packages its
 * `pkg.macro()` calls reach (`packages`: the names a packages.yml installs, or well-known ones).
 */
export function unsupportedUses(file: string, source: string, packages: ReadonlySet<string>): UnsupportedUse[] {
  const out: UnsupportedUse[] = [];
  // Most templates use none of it: a search of their tags alone decides.
  if (!mayUse(source, packages)) return out;
  // Comments and raw blocks keep their length, so that offsets stay positions in the file.
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  const text = source.replace(/\{#[\s\S]*?#\}/g, blank).replace(RAW_BLOCK, blank);
  const tags = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g;
  let t: RegExpExecArray | null;
  while ((t = tags.exec(text))) {
    const tag = t[0];
    // Inside string literals nothing is a call: they are blanked, keeping their length.
    const literal = tag.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, (s) => s.replace(/[^\n'"]/g, ' '));
    for (const rule of RULES) {
      // ref() arguments are strings: the rule reads them from the tag as written.
      const subject = rule.re.source.startsWith('\\bref') ? tag : literal;
      rule.re.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = rule.re.exec(subject))) {
        if (rule.re.source.startsWith('\\.(') && /\bloop$|\bcaller$/.test(subject.slice(0, m.index))) continue;
        out.push({ cause: rule.cause(m), hint: rule.hint(m), location: { file, ...positionOf(source, t.index + m.index) } });
      }
    }
    const pkg = /\b([A-Za-z_]\w*)\s*\.\s*([A-Za-z_]\w*)\s*\(/g;
    let m: RegExpExecArray | null;
    while ((m = pkg.exec(literal))) {
      if (!packages.has(m[1])) continue;
      out.push({
        cause: `${m[1]}.${m[2]}()`,
        hint: `${m[1]} is a dbt package, and pipe does not install packages: write the SQL it generates, or a macro of your own in the macros folder`,
        location: { file, ...positionOf(source, t.index + m.index) },
      });
    }
  }
  return out;
}

/** Packages dbt projects commonly install, recognised even without a packages.yml. */
export const WELL_KNOWN_PACKAGES = [
  'dbt_utils',
  'dbt_date',
  'dbt_expectations',
  'codegen',
  'audit_helper',
  'dbt_external_tables',
  'elementary',
  'fivetran_utils',
  'dbt_artifacts',
  'dbt_project_evaluator',
  'metrics',
  'spark_utils',
  're_data',
];

/** One error per cause, at its first use, every other use a related location. */
export function unsupportedDiagnostics(uses: readonly UnsupportedUse[]): Diagnostic[] {
  const byCause = new Map<string, UnsupportedUse[]>();
  for (const u of uses) {
    const list = byCause.get(u.cause);
    if (list) list.push(u);
    else byCause.set(u.cause, [u]);
  }
  return [...byCause.values()].map((list) => {
    const [first, ...rest] = list;
    const files = new Set(list.map((u) => u.location.file)).size;
    const count = list.length === 1 ? '' : ` (${list.length} uses in ${files} file${files === 1 ? '' : 's'})`;
    return error('unsupported', `${first.cause} is not supported by pipe${count}`, first.location, {
      hint: first.hint,
      related: rest.map((u) => ({ message: `also used here`, location: u.location })),
    });
  });
}

/** The names of the packages a packages.yml installs (`dbt-labs/dbt_utils` → dbt_utils, a git URL's last part, a local folder's name). */
export function packageNames(files: readonly { readonly data: Readonly<Record<string, unknown>> }[]): Set<string> {
  const names = new Set<string>(WELL_KNOWN_PACKAGES);
  for (const f of files) {
    const list = f.data.packages;
    if (!Array.isArray(list)) continue;
    for (const p of list) {
      if (typeof p !== 'object' || p === null) continue;
      const spec = p as Record<string, unknown>;
      const ref = [spec.package, spec.git, spec.local, spec.tarball].find((v): v is string => typeof v === 'string');
      if (!ref) continue;
      const last = ref.replace(/\.git$/, '').replace(/\/+$/, '').split(/[/:]/).pop();
      if (last) names.add(last.replace(/-/g, '_'));
    }
  }
  return names;
}
