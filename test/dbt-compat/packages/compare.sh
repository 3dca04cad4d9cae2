#!/usr/bin/env bash
# Builds test/dbt-compat/packages/project with dbt-duckdb, the real dbt_utils and dbt_date
# installed, and with pipe; then compares every table the two build, and the outcome of every
# test.
#
#   test/dbt-compat/packages/compare.sh DBT_UTILS_DIR DBT_DATE_DIR
#   test/dbt-compat/packages/compare.sh --installed DBT_UTILS_DIR DBT_DATE_DIR DBT_EXPECTATIONS_DIR
#
# The folders are the packages' checkouts (each holding its dbt_project.yml), copied into a
# temporary folder. Without --installed, pipe has no package installed and renders its own
# implementations of the macros. With --installed, the project also has the models and tests
# of installed/ (macros pipe has no implementation of, and dbt_expectations' tests), and pipe's
# copy has the very dbt_packages/ that dbt deps installed: pipe renders the real packages.
# Needs a built pipe (npm run build) and a Python environment with dbt-duckdb: $PIPE_DBT_VENV
# (default ~/.cache/pipe-compat/venv), made on first use. Exit status: 0 no difference, 1
# differences, 2 the comparison could not run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
VENV="${PIPE_DBT_VENV:-$HOME/.cache/pipe-compat/venv}"

installed=false
if [[ "${1:-}" == "--installed" ]]; then
  installed=true
  shift
fi
wanted=2
$installed && wanted=3
usage() {
  echo "usage: $0 DBT_UTILS_DIR DBT_DATE_DIR, or $0 --installed DBT_UTILS_DIR DBT_DATE_DIR DBT_EXPECTATIONS_DIR (folders holding each package's dbt_project.yml)" >&2
  exit 2
}
[[ $# -eq $wanted ]] || usage
for dir in "$@"; do [[ -f "$dir/dbt_project.yml" ]] || usage; done
if [[ ! -f "$REPO/dist/cli/main.js" ]]; then
  echo "compare.sh: $REPO/dist/cli/main.js is missing; run npm run build first" >&2
  exit 2
fi
if [[ ! -x "$VENV/bin/dbt" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet 'dbt-core==1.11.16' 'dbt-duckdb==1.11.1' 'duckdb==1.5.5' >&2
fi

work="$(mktemp -d)"
# PIPE_COMPARE_KEEP=1 keeps the two copies (the folder is printed).
trap 'if [[ -n "${PIPE_COMPARE_KEEP:-}" ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi' EXIT
cp -r "$HERE/project" "$work/dbt"
cp -r "$HERE/project" "$work/pipe"
mkdir -p "$work/vendor"
cp -r "$1" "$work/vendor/dbt_utils"
cp -r "$2" "$work/vendor/dbt_date"
if $installed; then
  cp -r "$3" "$work/vendor/dbt_expectations"
  # Its own packages.yml names dbt_date on the package hub: the local copy above stands for it.
  rm -f "$work/vendor/dbt_expectations/packages.yml"
  for side in dbt pipe; do
    cp -r "$HERE/installed/." "$work/$side/"
    printf '  - package: metaplane/dbt_expectations\n    version: [">=0.10.0", "<0.11.0"]\n' >>"$work/$side/packages.yml"
  done
fi
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

$installed && echo "  - local: $work/vendor/dbt_expectations" >>"$work/dbt/packages.yml"

(cd "$work/dbt" && "$VENV/bin/dbt" deps --profiles-dir . >"$work/dbt-deps.log" 2>&1) || { cat "$work/dbt-deps.log" >&2; exit 2; }
# pipe reads the packages as dbt deps left them.
$installed && cp -r "$work/dbt/dbt_packages" "$work/pipe/dbt_packages"
(cd "$work/dbt" && "$VENV/bin/dbt" build --profiles-dir . >"$work/dbt-build.log" 2>&1) || true
(cd "$work/pipe" && node "$REPO/dist/cli/main.js" run --json >"$work/pipe-run.jsonl" 2>"$work/pipe-run.log") || true

"$VENV/bin/python" "$HERE/compare.py" "$work" || status=$?
if [[ ${status:-0} -eq 2 ]]; then
  echo "--- dbt build:" >&2; tail -30 "$work/dbt-build.log" >&2
  echo "--- pipe run:" >&2; tail -30 "$work/pipe-run.log" >&2
fi
exit "${status:-0}"
