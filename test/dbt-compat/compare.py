"""Builds one dbt project with dbt-duckdb and with pipe, each in a copy of its own, and reports
every difference between the two warehouses and the two sets of test outcomes.

Run through compare.sh, which provides the Python environment (dbt-duckdb and the duckdb
package). Exit status: 0 no difference, 1 differences, 2 the comparison itself could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml

PIPE_STATE_SCHEMA = "_pipe"
COMMAND_TIMEOUT = 600
SAMPLE_ROWS = 3


# ---------------------------------------------------------------------------------------------
# What one side built


@dataclass
class Relation:
    schema: str
    name: str
    kind: str  # 'table' or 'view'
    columns: list[tuple[str, str]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class TestOutcome:
    """One test (dbt) or check (pipe), reduced to what both tools can say about it."""

    label: str  # as the tool names it
    keys: list[str]  # ways to match it with the other tool's, best first
    outcome: str  # pass, warn, fail, error, skipped
    failures: int | None = None
    matched: bool = False


@dataclass
class Command:
    argv: list[str]
    code: int
    stdout: str
    stderr: str

    def summary(self, lines: int = 12) -> str:
        text = (self.stderr.strip() + "\n" + self.stdout.strip()).strip()
        tail = text.splitlines()[-lines:]
        return "\n".join("      " + line for line in tail)


@dataclass
class Report:
    differences: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def say(self, text: str = "") -> None:
        self.lines.append(text)

    def differ(self, text: str) -> None:
        self.differences.append(text)
        self.lines.append(f"  DIFF {text}")


class CannotCompare(Exception):
    """The comparison itself could not run (dbt's side failed, a fixture is malformed)."""


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> Command:
    try:
        p = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
        return Command(argv, p.returncode, p.stdout, p.stderr)
    except subprocess.TimeoutExpired as e:
        return Command(argv, -1, str(e.stdout or ""), f"timed out after {COMMAND_TIMEOUT}s")


def profile_warehouse(project: Path) -> Path:
    """The DuckDB file the project's profile (its default target) names, relative to the project."""
    settings = yaml.safe_load((project / "dbt_project.yml").read_text())
    profiles = yaml.safe_load((project / "profiles.yml").read_text())
    profile = profiles[settings["profile"]]
    output = profile["outputs"][profile.get("target", "dev")]
    return project / env_vars_rendered(str(output["path"]))


def env_vars_rendered(text: str) -> str:
    """A profile value with its `{{ env_var('NAME') }}` and `{{ env_var('NAME', 'default') }}` filled in, as dbt renders them."""

    def value(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is None:
            raise CannotCompare(f"the profile reads the environment variable {name}, which is not set")
        return default

    return re.sub(r"\{\{\s*env_var\(\s*['\"]([^'\"]+)['\"]\s*(?:,\s*['\"]([^'\"]*)['\"]\s*)?\)\s*\}\}", value, text)


def run_setup(project: Path, warehouse: Path) -> None:
    setup = project / "setup.sql"
    if not setup.exists():
        return
    cwd = os.getcwd()
    os.chdir(project)  # relative paths in setup.sql (COPY ... TO 'x.parquet') land in the project
    try:
        con = duckdb.connect(str(warehouse))
        con.execute(setup.read_text())
        con.close()
    finally:
        os.chdir(cwd)


# ---------------------------------------------------------------------------------------------
# Reading a warehouse


def relations_of(warehouse: Path, cwd: Path) -> dict[str, Relation]:
    out: dict[str, Relation] = {}
    if not warehouse.exists():
        return out
    here = os.getcwd()
    os.chdir(cwd)  # a view over a relative file path reads it from the project
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
        rows = con.execute(
            f"""
            select schema_name, table_name, 'table' from duckdb_tables() where not internal and not temporary
            union all
            select schema_name, view_name, 'view' from duckdb_views() where not internal and not temporary
            """
        ).fetchall()
        for schema, name, kind in rows:
            if schema in (PIPE_STATE_SCHEMA, "information_schema", "pg_catalog"):
                continue
            rel = Relation(schema, name, kind)
            try:
                rel.columns = [(c[0], c[1]) for c in con.execute(f'describe "{schema}"."{name}"').fetchall()]
            except duckdb.Error as e:
                rel.columns = [("<unreadable>", first_line(str(e)))]
            out[rel.key] = rel
        con.close()
    finally:
        os.chdir(here)
    return out


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def copy_rows(mem: duckdb.DuckDBPyConnection, warehouse: Path, cwd: Path, rel: Relation, into: str, columns: list[str]) -> str | None:
    """Copies a relation's rows into the in-memory database; returns an error, if reading failed.

    The file is attached under its own name, so that views whose SQL names their catalog
    (as dbt-duckdb writes them) still resolve, and made the default catalog while reading,
    so that views naming only a schema resolve in it too.
    """
    alias = warehouse.stem
    here = os.getcwd()
    os.chdir(cwd)
    try:
        mem.execute(f"attach '{warehouse}' as \"{alias}\" (read_only)")
    except duckdb.Error as e:
        os.chdir(here)
        return first_line(str(e))
    try:
        mem.execute(f'use "{alias}"')
        select = ", ".join(f'"{c}"' for c in columns)
        mem.execute(f'create table memory.main."{into}" as select {select} from "{alias}"."{rel.schema}"."{rel.name}"')
        return None
    except duckdb.Error as e:
        return first_line(str(e))
    finally:
        mem.execute("use memory")
        mem.execute(f'detach "{alias}"')
        os.chdir(here)


def compare_rows(report: Report, dbt_wh: Path, dbt_dir: Path, pipe_wh: Path, pipe_dir: Path, dbt_rel: Relation, pipe_rel: Relation) -> None:
    dbt_cols = [c for c, _ in dbt_rel.columns]
    pipe_cols = [c for c, _ in pipe_rel.columns]
    if dbt_cols != pipe_cols:
        if sorted(dbt_cols) == sorted(pipe_cols):
            report.differ(f"{dbt_rel.key}: columns in another order: dbt {dbt_cols}, pipe {pipe_cols}")
        else:
            report.differ(f"{dbt_rel.key}: columns differ: dbt {dbt_cols}, pipe {pipe_cols}")
            return
    dbt_types = dict(dbt_rel.columns)
    types = [f"{name} dbt {dbt_types.get(name)} / pipe {t}" for name, t in pipe_rel.columns if dbt_types.get(name) != t]
    if types:
        report.differ(f"{dbt_rel.key}: column types differ: {', '.join(types)}")
    mem = duckdb.connect()
    for side, wh, cwd in (("dbt", dbt_wh, dbt_dir), ("pipe", pipe_wh, pipe_dir)):
        err = copy_rows(mem, wh, cwd, dbt_rel if side == "dbt" else pipe_rel, side, dbt_cols)
        if err:
            report.differ(f"{dbt_rel.key}: cannot read {side}'s rows: {err}")
            return
    counts = {s: mem.execute(f"select count(*) from {s}").fetchone()[0] for s in ("dbt", "pipe")}
    try:
        only = {}
        for a, b in (("dbt", "pipe"), ("pipe", "dbt")):
            only[a] = mem.execute(f"select count(*) from (select * from {a} except all select * from {b})").fetchone()[0]
            if only[a]:
                sample = mem.execute(f"select * from {a} except all select * from {b} limit {SAMPLE_ROWS}").fetchall()
                report.differ(f"{dbt_rel.key}: {only[a]} row(s) only in {a}'s (of {counts[a]}), e.g. {sample}")
    except duckdb.Error as e:
        report.differ(f"{dbt_rel.key}: rows cannot be compared: {first_line(str(e))}")
        return
    if not only["dbt"] and not only["pipe"]:
        report.say(f"  ok   {dbt_rel.key} ({dbt_rel.kind}): the same {counts['dbt']} rows")
    mem.close()


# ---------------------------------------------------------------------------------------------
# Test outcomes

# `unique(order_id)`, `relationships(customer_id → customers.customer_id)`, possibly followed by
# more (a where clause, a custom name)
CHECK_NAME = re.compile(r"^(?P<kind>[A-Za-z_][\w.]*)\((?P<args>[^)]*)\)", re.S)


def dbt_outcomes(project: Path) -> tuple[list[TestOutcome], dict[str, object]]:
    manifest = json.loads((project / "target/manifest.json").read_text())
    results = json.loads((project / "target/run_results.json").read_text())
    nodes = {**manifest["nodes"], **manifest.get("sources", {}), **manifest.get("unit_tests", {}), **manifest.get("saved_queries", {}), **manifest.get("exposures", {})}
    tests: list[TestOutcome] = []
    built: dict[str, object] = {}
    for r in results["results"]:
        node = nodes[r["unique_id"]]
        if node["resource_type"] == "unit_test":
            tests.append(TestOutcome(f"{node['name']} (a unit test)", [node["name"], f"unit_test:{node['name']}"], r["status"], r.get("failures")))
            continue
        if node["resource_type"] != "test":
            built[r["unique_id"]] = r["status"]
            continue
        keys = [node["name"]]
        meta = node.get("test_metadata")
        if meta:
            column = meta["kwargs"].get("column_name") or ""
            targets = []
            if node.get("attached_node"):
                targets.append(nodes[node["attached_node"]]["name"])
            for dep in node["depends_on"]["nodes"]:
                if dep.startswith("source."):
                    src = nodes[dep]
                    targets += [f"{src['source_name']}.{src['name']}", f"source:{src['source_name']}.{src['name']}", src["name"]]
            keys += [f"{t}:{meta['name']}({column})" for t in targets]
        else:
            keys += [f"singular:{node['name']}", node["original_file_path"]]
        tests.append(TestOutcome(node["name"], keys, r["status"], r.get("failures")))
    return tests, built


def pipe_outcomes(warehouse: Path, run_id: str | None) -> list[TestOutcome]:
    """The checks of one pipe run, from its run state: every check, passed or not, is recorded."""
    if not run_id or not warehouse.exists():
        return []
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            f"""
            select t.node, c.check_name, c.status, c.failing_rows
            from {PIPE_STATE_SCHEMA}.check_results c
            join {PIPE_STATE_SCHEMA}.tasks t using (run_id, task_id)
            where c.run_id = ?
              and c.attempt = (select max(attempt) from {PIPE_STATE_SCHEMA}.check_results
                               where run_id = c.run_id and task_id = c.task_id)
            order by t.node, c.check_name
            """,
            [run_id],
        ).fetchall()
    except duckdb.Error:
        return []
    finally:
        con.close()
    out = []
    for node, check, status, failing in rows:
        outcome = {"passed": "pass", "warned": "warn", "failed": "fail"}.get(status, status)
        keys = [check, f"{node}:{check}", f"singular:{check}", f"singular:{node}"]
        m = CHECK_NAME.match(check)
        if m:
            # relationships(customer_id → customers.customer_id) names its column first
            column = re.split(r"\s*(?:→|->|,)\s*", m["args"])[0].strip()
            keys.append(f"{node}:{m['kind']}({column})")
        out.append(TestOutcome(f"{node}: {check}", keys, outcome, failing))
    return out


def match_outcomes(report: Report, title: str, dbt_tests: list[TestOutcome], pipe_checks: list[TestOutcome]) -> None:
    report.say(f"  {title}")
    if not pipe_checks and not dbt_tests:
        report.say(f"  ok   {title}: neither ran a test: the project has none")
        return
    if not pipe_checks:
        # Nothing ran at all (the project did not analyze): one line, not one per test.
        names = ", ".join(sorted(d.label for d in dbt_tests))
        report.differ(f"{title}: pipe ran no checks; dbt ran {len(dbt_tests)} tests ({names})")
        return
    for t in pipe_checks:
        t.matched = False
    for d in dbt_tests:
        # Several checks may share a key (two not_null tests on one column): prefer the one
        # with the same outcome, so that only a real difference is reported.
        candidates = [p for k in d.keys for p in pipe_checks if not p.matched and k in p.keys]
        if not candidates:
            report.differ(f"{title}: dbt test {d.label} ({d.outcome}) has no pipe check")
            continue
        p = next((c for c in candidates if c.outcome == d.outcome), candidates[0])
        p.matched = True
        if p.outcome == d.outcome:
            report.say(f"    ok   {d.label}: {d.outcome}  (pipe: {p.label})")
        else:
            report.differ(f"{title}: {d.label}: dbt {d.outcome} ({d.failures} failures), pipe {p.outcome} ({p.failures} failing rows) as '{p.label}'")
    for p in pipe_checks:
        if not p.matched:
            report.differ(f"{title}: pipe check '{p.label}' ({p.outcome}) matches no dbt test")


# ---------------------------------------------------------------------------------------------
# pipe's events


def events_of(cmd: Command) -> list[dict]:
    out = []
    for line in cmd.stdout.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out


def run_id_of(events: list[dict]) -> str | None:
    return next((e.get("runId") for e in events if e.get("type") == "run-started"), None)


def pipe_problems(cmd: Command, events: list[dict], limit: int = 8) -> list[str]:
    """What pipe said went wrong: its diagnostics and failed tasks, else the end of its output."""
    out = []
    for e in events:
        if e["type"] == "diagnostic":
            d = e["diagnostic"]
            where = d.get("location") or {}
            at = ":".join(str(where[k]) for k in ("file", "line") if k in where)
            out.append(f"{d.get('severity', '')} {at + ': ' if at else ''}{d.get('message', '')}")
        elif e["type"] == "task-failed":
            out.append(f"task {e['task']['id']} failed: {first_line(e['error']['message'])}")
        elif e["type"] == "check-failed":
            f = e["failure"]
            out.append(f"check {e['task']['model']}: {f['check']} ({f['severity']}) {f['failingRows']} failing rows")
    if not out and cmd.code != 0:
        out = [line for line in (cmd.stderr + cmd.stdout).strip().splitlines() if line][-limit:]
    return out[:limit] + ([f"... and {len(out) - limit} more"] if len(out) > limit else [])


# ---------------------------------------------------------------------------------------------
# Selectors


def compare_selectors(report: Report, dbt_exe: str, pipe_cmd: list[str], dbt_dir: Path, pipe_dir: Path) -> None:
    path = dbt_dir / "selectors.yml"
    if not path.exists():
        return
    report.say("selectors (models and seeds selected):")
    for selector in yaml.safe_load(path.read_text())["selectors"]:
        name = selector["name"]
        d = run([dbt_exe, "ls", "--profiles-dir", ".", "--selector", name, "--resource-type", "model", "--resource-type", "seed", "--output", "name", "--quiet"], dbt_dir)
        if d.code != 0:
            report.differ(f"selector {name}: dbt ls failed:\n{d.summary()}")
            continue
        dbt_names = sorted(line.strip() for line in d.stdout.splitlines() if line.strip())
        p = run(pipe_cmd + ["ls", "--project", str(pipe_dir), "--selector", name, "--json"], pipe_dir)
        if p.code != 0:
            report.differ(f"selector {name}: pipe ls --selector exited {p.code}: {'; '.join(pipe_problems(p, events_of(p), 3))} (dbt selects {dbt_names})")
            continue
        pipe_names = sorted(e["name"] for e in events_of(p) if e.get("type") == "node" and "source" not in str(e.get("kind")))
        if dbt_names == pipe_names:
            report.say(f"  ok   {name}: {', '.join(dbt_names)}")
        else:
            report.differ(f"selector {name}: dbt selects {dbt_names}, pipe {pipe_names}")


# ---------------------------------------------------------------------------------------------


@dataclass
class Options:
    repo: Path
    dbt_exe: str
    date: str
    # dbt's --vars as written (YAML), given to pipe as --var name=value
    vars: dict[str, str]
    # pipe's copy leaves dbt_packages/ out: pipe renders the declared packages itself
    without_packages: bool
    # dbt seed before dbt build, for a project whose sources read its seeds' tables without a ref
    seed_first: bool


def write_default_profile(project: Path) -> None:
    """A project that brings no profiles.yml gets one naming a DuckDB file beside it."""
    if (project / "profiles.yml").exists():
        return
    settings = yaml.safe_load((project / "dbt_project.yml").read_text())
    outputs = {"dev": {"type": "duckdb", "path": f"{settings['name']}.duckdb", "threads": 1}}
    (project / "profiles.yml").write_text(yaml.safe_dump({settings["profile"]: {"target": "dev", "outputs": outputs}}))


def compare(fixture: Path, opts: Options, keep: bool) -> Report:
    base = Path(tempfile.mkdtemp(prefix=f"pipe-compat-{fixture.name}-"))
    try:
        return compare_in(base, fixture, opts)
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)


def compare_in(base: Path, fixture: Path, opts: Options) -> Report:
    report = Report()
    repo, dbt_exe, date = opts.repo, opts.dbt_exe, opts.date
    dbt_dir, pipe_dir = base / "dbt", base / "pipe"
    left_out = ["target", "logs", "*.duckdb", "*.duckdb.wal"]
    for d in (dbt_dir, pipe_dir):
        extra = ["dbt_packages"] if opts.without_packages and d == pipe_dir else []
        shutil.copytree(fixture, d, ignore=shutil.ignore_patterns(*left_out, *extra))
        write_default_profile(d)
    dbt_wh, pipe_wh = profile_warehouse(dbt_dir), profile_warehouse(pipe_dir)
    run_setup(dbt_dir, dbt_wh)
    run_setup(pipe_dir, pipe_wh)
    pipe_cmd = ["node", str(repo / "dist/cli/main.js")]
    env = {k: v for k, v in os.environ.items() if k not in ("PIPE_NOW", "PIPE_DEBUG")} | {"NO_COLOR": "1"}

    report.say(f"== {fixture.name}   (copies in {base})")
    # Passed on as written: YAML reads a value such as 2023-04-01 as a date, which JSON cannot write.
    dbt_vars = ["--vars", "\n".join(f"{k}: {v}" for k, v in opts.vars.items())] if opts.vars else []
    pipe_vars = [a for k, v in opts.vars.items() for a in ("--var", f"{k}={v}")]
    if opts.seed_first:
        seed = run([dbt_exe, "seed", "--profiles-dir", ".", *dbt_vars], dbt_dir)
        report.say(f"dbt seed: exit {seed.code}")
        if seed.code != 0:
            raise CannotCompare(f"dbt seed failed on {fixture.name} (exit {seed.code}):\n{seed.summary(30)}")
    dbt = run([dbt_exe, "build", "--profiles-dir", ".", *dbt_vars], dbt_dir)
    report.say(f"dbt build: exit {dbt.code}")
    if dbt.code != 0 or not (dbt_dir / "target/run_results.json").exists():
        raise CannotCompare(f"dbt build failed on {fixture.name} (exit {dbt.code}); the comparison needs dbt's side:\n{dbt.summary(30)}")
    dbt_tests, dbt_built = dbt_outcomes(dbt_dir)

    pipe_run = run(pipe_cmd + ["run", "--project", str(pipe_dir), "--date", date, "--json", *pipe_vars], pipe_dir, env)
    run_events = events_of(pipe_run)
    report.say(f"pipe run: exit {pipe_run.code}")
    for line in pipe_problems(pipe_run, run_events):
        report.say(f"      {line}")
    pipe_test = run(pipe_cmd + ["test", "--project", str(pipe_dir), "--date", date, "--json", *pipe_vars], pipe_dir, env)
    test_events = events_of(pipe_test)
    report.say(f"pipe test: exit {pipe_test.code}")
    for line in pipe_problems(pipe_test, test_events):
        report.say(f"      {line}")
    for name, cmd, events in (("pipe run", pipe_run, run_events), ("pipe test", pipe_test, test_events)):
        if cmd.code != dbt.code:
            report.differ(f"{name} exited {cmd.code}, dbt build {dbt.code}: " + " | ".join(pipe_problems(cmd, events, 20)))

    # pipe should write the warehouse the profile names; if it wrote its own default, say so
    # and compare that one all the same.
    if not has_pipe_state(pipe_wh):
        fallback = pipe_dir / "warehouse.duckdb"
        report.differ(f"pipe did not write the profile's warehouse {pipe_wh.relative_to(pipe_dir)}" + (f"; it wrote {fallback.name}" if fallback.exists() else ""))
        if fallback.exists():
            pipe_wh = fallback

    report.say("relations:")
    dbt_rels, pipe_rels = relations_of(dbt_wh, dbt_dir), relations_of(pipe_wh, pipe_dir)
    for key in sorted(dbt_rels.keys() | pipe_rels.keys()):
        d, p = dbt_rels.get(key), pipe_rels.get(key)
        if p is None:
            report.differ(f"{key} ({d.kind}): built by dbt, missing in pipe's warehouse")
        elif d is None:
            report.differ(f"{key} ({p.kind}): in pipe's warehouse, not built by dbt")
        elif d.kind != p.kind:
            report.differ(f"{key}: dbt built a {d.kind}, pipe a {p.kind}")
    same = [k for k in dbt_rels.keys() & pipe_rels.keys() if dbt_rels[k].kind == pipe_rels[k].kind]
    report.say(f"  ok   {len(same)} relation(s) of the same name and kind in both")
    report.say("rows:")
    for key in sorted(dbt_rels.keys() & pipe_rels.keys()):
        compare_rows(report, dbt_wh, dbt_dir, pipe_wh, pipe_dir, dbt_rels[key], pipe_rels[key])

    report.say("tests:")
    match_outcomes(report, "pipe test", dbt_tests, pipe_outcomes(pipe_wh, run_id_of(test_events)))
    # dbt build runs each test right after its model; pipe checks before publishing, in the run
    match_outcomes(report, "pipe run (before publishing)", dbt_tests, pipe_outcomes(pipe_wh, run_id_of(run_events)))

    compare_selectors(report, dbt_exe, pipe_cmd, dbt_dir, pipe_dir)

    report.say(f"dbt built {sum(1 for s in dbt_built.values() if s == 'success')} nodes and ran {len(dbt_tests)} tests: "
               + ", ".join(f"{n} {s}" for s, n in sorted(count_by(t.outcome for t in dbt_tests).items())))
    report.say(f"{fixture.name}: {len(report.differences)} difference(s)")
    return report


def has_pipe_state(warehouse: Path) -> bool:
    if not warehouse.exists():
        return False
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("select count(*) from duckdb_schemas() where schema_name = ?", [PIPE_STATE_SCHEMA]).fetchone()[0] > 0
    finally:
        con.close()


def count_by(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("fixtures", nargs="+", type=Path)
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--dbt", required=True, help="the dbt executable")
    parser.add_argument("--date", default="2024-01-02")
    parser.add_argument("--keep", action="store_true", help="keep the two project copies")
    parser.add_argument("--summary", type=Path, help="write the differences as JSON here")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="a dbt var for both sides (the value read as YAML, as dbt reads --vars)")
    parser.add_argument("--without-packages", action="store_true", help="build pipe's copy without dbt_packages/")
    parser.add_argument("--seed-first", action="store_true", help="run dbt seed before dbt build")
    args = parser.parse_args()
    opts = Options(args.repo.resolve(), args.dbt, args.date, {k: v for k, _, v in (a.partition("=") for a in args.var)}, args.without_packages, args.seed_first)
    total: dict[str, list[str]] = {}
    for fixture in args.fixtures:
        try:
            report = compare(fixture.resolve(), opts, args.keep)
        except CannotCompare as e:
            print(f"cannot compare: {e}", file=sys.stderr)
            return 2
        print("\n".join(report.lines), flush=True)
        print()
        total[fixture.name] = report.differences
    if args.summary:
        args.summary.write_text(json.dumps(total, indent=2, ensure_ascii=False) + "\n")
    count = sum(len(d) for d in total.values())
    print(f"{count} difference(s) in all" if count else "no differences: pipe built what dbt built")
    return 1 if count else 0


if __name__ == "__main__":
    sys.exit(main())
