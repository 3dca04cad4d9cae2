#!/usr/bin/env bash
# Builds test/dbt-compat/packages/project with dbt-duckdb, the real dbt_utils and dbt_date
# installed, and with pipe, which has neither installed and renders its own implementations;
# then compares every table the two build, and the outcome of every test.
#
#   test/dbt-compat/packages/compare.sh DBT_UTILS_DIR DBT_DATE_DIR
#
# DBT_UTILS_DIR and DBT_DATE_DIR are the two packages' folders (a checkout of each repository):
# they are copied into a temporary folder for the dbt side only. Needs a built pipe (npm run
# build) and a Python environment with dbt-duckdb: $PIPE_DBT_VENV (default
# ~/.cache/pipe-compat/dbt-1.10), made on first use. Exit status: 0 no difference, 1
# differences, 2 the comparison could not run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
VENV="${PIPE_DBT_VENV:-$HOME/.cache/pipe-compat/dbt-1.10}"

if [[ $# -ne 2 || ! -f "$1/dbt_project.yml" || ! -f "$2/dbt_project.yml" ]]; then
  echo "usage: $0 DBT_UTILS_DIR DBT_DATE_DIR (folders holding each package's dbt_project.yml)" >&2
  exit 2
fi
if [[ ! -f "$REPO/dist/cli/main.js" ]]; then
  echo "compare.sh: $REPO/dist/cli/main.js is missing; run npm run build first" >&2
  exit 2
fi
if [[ ! -x "$VENV/bin/dbt" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet 'dbt-core==1.10.23' 'dbt-duckdb==1.9.6' >&2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$HERE/project" "$work/dbt"
cp -r "$HERE/project" "$work/pipe"
mkdir -p "$work/vendor"
cp -r "$1" "$work/vendor/dbt_utils"
cp -r "$2" "$work/vendor/dbt_date"
for side in dbt pipe; do
  cat >"$work/$side/profiles.yml" <<YAML
compat_packages:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: $work/$side/warehouse.duckdb
YAML
done
# dbt installs the two packages from the copies; pipe reads the packages.yml as it is.
cat >"$work/dbt/packages.yml" <<YAML
packages:
  - local: $work/vendor/dbt_utils
  - local: $work/vendor/dbt_date
YAML

(cd "$work/dbt" && "$VENV/bin/dbt" deps --profiles-dir . >"$work/dbt-deps.log" 2>&1) || { cat "$work/dbt-deps.log" >&2; exit 2; }
(cd "$work/dbt" && "$VENV/bin/dbt" build --profiles-dir . >"$work/dbt-build.log" 2>&1) || true
(cd "$work/pipe" && node "$REPO/dist/cli/main.js" run --json >"$work/pipe-run.jsonl" 2>"$work/pipe-run.log") || true

"$VENV/bin/python" "$HERE/compare.py" "$work" || status=$?
if [[ ${status:-0} -eq 2 ]]; then
  echo "--- dbt build:" >&2; tail -30 "$work/dbt-build.log" >&2
  echo "--- pipe run:" >&2; tail -30 "$work/pipe-run.log" >&2
fi
exit "${status:-0}"
