#!/usr/bin/env bash
# Builds dbt-labs/jaffle-shop with dbt-duckdb and with pipe and reports every difference:
# relations (schema, name, table or view, column names and types), their rows, test outcomes.
#
#   test/dbt-compat/jaffle-shop/compare.sh <jaffle-shop dir> <dbt venv> [--keep] [--summary=FILE]
#
# Fetches nothing: the jaffle-shop folder must already hold its generated data
# (seeds/jaffle-data/raw_*.csv) and, for dbt's side, its packages in dbt_packages/. pipe builds a
# copy without dbt_packages/, rendering dbt_utils and dbt_date with its own implementations.
# The venv must hold dbt-core and dbt-duckdb. Both sides load the data as the project's
# Taskfile does, with the var load_source_data true.
# Exit status: 0 no difference, 1 differences, 2 the comparison could not run.
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 <jaffle-shop dir> <dbt venv> [--keep] [--summary=FILE]" >&2
  exit 2
fi
PROJECT="$1"
VENV="$2"
shift 2
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"

if [[ ! -f "$REPO/dist/cli/main.js" ]]; then
  echo "compare.sh: $REPO/dist/cli/main.js is missing; run npm run build first" >&2
  exit 2
fi
if [[ ! -x "$VENV/bin/dbt" ]]; then
  echo "compare.sh: $VENV/bin/dbt is missing; the second argument is a venv with dbt-core and dbt-duckdb" >&2
  exit 2
fi
if ! ls "$PROJECT"/seeds/jaffle-data/raw_orders.csv >/dev/null 2>&1; then
  echo "compare.sh: $PROJECT/seeds/jaffle-data/raw_orders.csv is missing; generate the data with jafgen first" >&2
  exit 2
fi

exec "$VENV/bin/python" "$REPO/test/dbt-compat/compare.py" --repo "$REPO" --dbt "$VENV/bin/dbt" \
  --var load_source_data=true --without-packages --seed-first "$@" "$PROJECT"
