"""Compares what dbt-duckdb and pipe built of the packages project (see compare.sh): the
tables, by columns, types and rows, and the tests, by name, status and failures. Prints every
difference; exit status 0 none, 1 some, 2 the comparison could not run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb


def tables(con: duckdb.DuckDBPyConnection, db: str) -> dict[str, list[tuple[str, str]]]:
    rows = con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_catalog = ? and table_schema = 'main' order by table_name, ordinal_position",
        [db],
    ).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, type_ in rows:
        out.setdefault(table, []).append((column, type_))
    return out


def dbt_tests(work: Path) -> dict[str, tuple[str, int]]:
    results = json.loads((work / "dbt/target/run_results.json").read_text())
    out = {}
    for r in results["results"]:
        if r["unique_id"].startswith("test."):
            out[r["unique_id"].split(".")[2]] = (r["status"], r.get("failures") or 0)
    return out


def pipe_tests(work: Path) -> dict[str, tuple[str, int]]:
    out: dict[str, tuple[str, int]] = {}
    for line in (work / "pipe-run.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event.get("type") == "check-passed":
            out[event["check"]] = ("pass", 0)
        elif event.get("type") == "check-failed":
            f = event["failure"]
            out[f["check"]] = ("warn" if f["severity"] == "warn" else "fail", f["failingRows"])
    return out


def main() -> int:
    work = Path(sys.argv[1])
    con = duckdb.connect()
    for side in ("dbt", "pipe"):
        path = work / side / "warehouse.duckdb"
        if not path.exists():
            print(f"{side} built no warehouse")
            return 2
        con.execute(f"attach '{path}' as {side} (read_only)")
    built = {side: tables(con, side) for side in ("dbt", "pipe")}
    differences: list[str] = []
    for name in sorted(set(built["dbt"]) | set(built["pipe"])):
        if name not in built["pipe"] or name not in built["dbt"]:
            differences.append(f"{name}: built by {'dbt' if name in built['dbt'] else 'pipe'} only")
            continue
        if built["dbt"][name] != built["pipe"][name]:
            differences.append(f"{name}: columns differ\n  dbt:  {built['dbt'][name]}\n  pipe: {built['pipe'][name]}")
            continue
        for a, b in (("dbt", "pipe"), ("pipe", "dbt")):
            extra = con.execute(f"select * from {a}.main.{name} except all select * from {b}.main.{name}").fetchall()
            if extra:
                differences.append(f"{name}: {len(extra)} rows only {a} has, e.g. {extra[:2]}")
        if not any(d.startswith(f"{name}:") for d in differences):
            count = con.execute(f"select count(*) from dbt.main.{name}").fetchone()[0]
            print(f"same  {name} ({len(built['dbt'][name])} columns, {count} rows)")
    tests = {"dbt": dbt_tests(work), "pipe": pipe_tests(work)}
    for name in sorted(set(tests["dbt"]) | set(tests["pipe"])):
        a, b = tests["dbt"].get(name), tests["pipe"].get(name)
        if a != b:
            differences.append(f"test {name}: dbt {a}, pipe {b}")
        else:
            print(f"same  test {name} {a}")
    for d in differences:
        print(f"DIFF  {d}")
    print(f"{len(differences)} difference(s)")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
