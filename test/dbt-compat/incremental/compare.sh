#!/usr/bin/env bash
# Builds this project with pipe and with dbt-duckdb, date after date (a first build, the next
# dates, a re-run of an earlier date and of the last one) and as a backfill of the range, and
# compares every model's table after each step. Needs a Python environment with dbt-core and
# dbt-duckdb 1.10 or later (merge and microbatch), e.g.:
#   python3 -m venv /tmp/dbtvenv && /tmp/dbtvenv/bin/pip install 'dbt-core==1.10.23' 'dbt-duckdb==1.10.1'
#   DBT_VENV=/tmp/dbtvenv test/dbt-compat/incremental/compare.sh
# pipe is the built binary of this clone (npm run build first). Exits 1 on the first difference.
set -euo pipefail
# dbt would try to send usage statistics and check its version over the network.
export DBT_SEND_ANONYMOUS_USAGE_STATS=false DBT_VERSION_CHECK=false
here="$(cd "$(dirname "$0")" && pwd)"
pipe="node $here/../../../dist/cli/main.js"
venv="${DBT_VENV:?set DBT_VENV to a virtualenv with dbt-core and dbt-duckdb}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for side in pipe dbt pipe-backfill dbt-range; do
  mkdir -p "$work/$side" && cp -r "$here/dbt_project.yml" "$here/profiles.yml" "$here/models" "$here/seeds" "$work/$side/"
done
models=(orders_latest order_statuses orders_by_day daily_amounts hourly_updates)

# Every model's rows, sorted, as text: DuckDB's Python package reads both warehouse files.
dump() {
  "$venv/bin/python" - "$1" "${models[@]}" <<'PY'
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
for m in sys.argv[2:]:
    print(f"-- {m}")
    for row in con.execute(f'select * from main."{m}" order by all').fetchall():
        print("|".join("NULL" if v is None else str(v) for v in row))
PY
}

# Fails with the difference when two warehouses' tables differ.
same() {
  dump "$1/warehouse.duckdb" >"$work/a.txt"
  dump "$2/warehouse.duckdb" >"$work/b.txt"
  if ! diff -u "$work/a.txt" "$work/b.txt"; then echo "tables differ (- $1, + $2)"; exit 1; fi
}

# step: the date pipe runs, the var window the unique-key models read, and the event-time range
# dbt builds the microbatch models' batches of (pipe's: the date and its lookback of one batch,
# or, for a first build, everything from begin).
step() {
  local date=$1 from=$2 upto=$3 start=$4 end=$5
  echo "== pipe run --date $date; dbt run --event-time-start '$start' --event-time-end '$end'"
  (cd "$work/pipe" && $pipe run --date "$date" --var "from=$from" --var "upto=$upto" --profiles-dir . >/dev/null)
  (cd "$work/dbt" && "$venv/bin/dbt" run --vars "{from: '$from', upto: '$upto'}" --event-time-start "$start" --event-time-end "$end" --profiles-dir . -q >/dev/null)
  same "$work/dbt" "$work/pipe"
  cp "$work/b.txt" "$work/last.txt"
}

(cd "$work/dbt" && "$venv/bin/dbt" seed --profiles-dir . -q >/dev/null)
step 2024-01-02 2024-01-02 2024-01-03 '2024-01-01' '2024-01-03'            # first build, from begin
step 2024-01-03 2024-01-03 2024-01-04 '2024-01-02 23:00:00' '2024-01-04'
step 2024-01-02 2024-01-02 2024-01-03 '2024-01-01 23:00:00' '2024-01-03'  # an earlier date again
step 2024-01-04 2024-01-04 2024-01-05 '2024-01-03 23:00:00' '2024-01-05'
cp "$work/last.txt" "$work/before.txt"
step 2024-01-04 2024-01-04 2024-01-05 '2024-01-03 23:00:00' '2024-01-05'  # the same date again
if ! diff -u "$work/before.txt" "$work/last.txt"; then echo "a re-run of the same date changed the tables"; exit 1; fi

# A backfill of the range on a new warehouse: each microbatch model batch by batch, the
# unique-key models once with the last date; dbt builds the same event-time range.
echo "== pipe backfill --start 2024-01-01 --end 2024-01-04; dbt run --event-time-start 2024-01-01 --event-time-end 2024-01-05"
(cd "$work/pipe-backfill" && $pipe backfill --start 2024-01-01 --end 2024-01-04 --parallel 2 --var from=2024-01-04 --var upto=2024-01-05 --profiles-dir . >/dev/null)
(cd "$work/dbt-range" && "$venv/bin/dbt" seed --profiles-dir . -q >/dev/null && "$venv/bin/dbt" run --vars "{from: '2024-01-04', upto: '2024-01-05'}" --event-time-start 2024-01-01 --event-time-end 2024-01-05 --profiles-dir . -q >/dev/null)
same "$work/dbt-range" "$work/pipe-backfill"
echo "every table equals dbt-duckdb's after each step and after a backfill, and a re-run of a date changes nothing"
