import { warning, type Diagnostic } from '../../diagnostics/diagnostics.js';
import type { YamlSource } from '../../project/yaml-file.js';

/**
 * `require-dbt-version:` of a dbt_project.yml, the project's or an installed package's. dbt
 * refuses a project whose range leaves out the dbt running it. pipe is no version of dbt: it
 * follows dbt-core 1.11's behaviour (templates, configs, selection), so a range without 1.11
 * says the project was written for a dbt that behaves otherwise, which pipe says at the line.
 */

/** The dbt release whose behaviour pipe follows: any of its patch releases. */
export const FOLLOWED_DBT = { major: 1, minor: 11 } as const;

interface Spec {
  readonly matcher: '>=' | '>' | '<=' | '<' | '=';
  readonly version: readonly [number, number, number];
  readonly text: string;
}

/** One of dbt's version specifiers (`>=1.3.0`, `<2.0.0`, `1.0.0`, `>=1.11.0a1`); a pre-release tag is read as its release. */
function parseSpec(text: string): Spec | undefined {
  // A pre-release as semver writes it (`-b1`) or as Python's packaging does (`a1`, `rc2`).
  const m = /^\s*(>=|<=|>|<|=)?\s*v?(\d+)\.(\d+)\.(\d+)(?:-?[0-9A-Za-z][0-9A-Za-z.-]*)?(?:\+[0-9A-Za-z.-]+)?\s*$/.exec(text);
  if (!m) return undefined;
  return { matcher: (m[1] ?? '=') as Spec['matcher'], version: [Number(m[2]), Number(m[3]), Number(m[4])], text: text.trim() };
}

/** Whether some patch release of FOLLOWED_DBT meets every spec. */
function followedMeets(specs: readonly Spec[]): boolean {
  // The patch numbers of the followed minor that meet the specs so far: [lo, hi], either end open or closed.
  let lo = 0;
  let hi = Infinity;
  for (const { matcher, version } of specs) {
    const [major, minor, patch] = version;
    const order = major !== FOLLOWED_DBT.major ? Math.sign(FOLLOWED_DBT.major - major) : Math.sign(FOLLOWED_DBT.minor - minor);
    if (order !== 0) {
      // Another minor release: every patch of the followed one compares alike.
      const holds = matcher === '=' ? false : matcher.startsWith('>') ? order > 0 : order < 0;
      if (!holds) return false;
      continue;
    }
    if (matcher === '>=') lo = Math.max(lo, patch);
    else if (matcher === '>') lo = Math.max(lo, patch + 1);
    else if (matcher === '<=') hi = Math.min(hi, patch);
    else if (matcher === '<') hi = Math.min(hi, patch - 1);
    else {
      lo = Math.max(lo, patch);
      hi = Math.min(hi, patch);
    }
  }
  return lo <= hi;
}

/** What `require-dbt-version` of `file` says against the dbt pipe follows: a warning at its line when its range leaves that out, or when it cannot be read. */
export function checkRequiredDbtVersion(file: YamlSource, diagnostics: Diagnostic[], packageName?: string): void {
  const value = file.data['require-dbt-version'];
  if (value === undefined || value === null) return;
  const location = { file: file.file, line: file.keyLine('require-dbt-version') };
  const texts = typeof value === 'string' ? value.split(',') : Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined;
  const specs = texts?.map(parseSpec);
  const whose = packageName === undefined ? 'the project' : `the package ${packageName}`;
  if (specs === undefined || specs.length === 0 || specs.some((s) => s === undefined)) {
    diagnostics.push(
      warning('dbt-version', `require-dbt-version of ${whose} is not a version range dbt reads: ${JSON.stringify(value)}`, location, {
        hint: "give versions as dbt does, such as ['>=1.3.0', '<2.0.0']; pipe follows dbt 1.11 whatever it says",
      }),
    );
    return;
  }
  const read = specs as Spec[];
  if (followedMeets(read)) return;
  const range = read.map((s) => s.text).join(', ');
  diagnostics.push(
    warning('dbt-version', `${whose} requires dbt ${range}: pipe follows dbt ${FOLLOWED_DBT.major}.${FOLLOWED_DBT.minor}, where it may build otherwise (dbt ${FOLLOWED_DBT.major}.${FOLLOWED_DBT.minor} itself refuses it)`, location, {
      hint:
        packageName === undefined
          ? `check what changed in dbt since the version it names, then widen require-dbt-version to take in ${FOLLOWED_DBT.major}.${FOLLOWED_DBT.minor}`
          : `install a version of ${packageName} made for dbt ${FOLLOWED_DBT.major}.${FOLLOWED_DBT.minor}`,
    }),
  );
}
