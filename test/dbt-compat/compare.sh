#!/usr/bin/env bash
# Builds the dbt fixture projects with dbt-duckdb and with pipe and reports every difference:
# relations (schema, name, table or view), their rows, and test outcomes.
#
#   test/dbt-compat/compare.sh                 # every fixture under test/fixtures/dbt
#   test/dbt-compat/compare.sh jaffle          # one of them
#   test/dbt-compat/compare.sh --keep rich     # and keep the two project copies to look at
#
#   test/dbt-compat/compare.sh --summary=/tmp/differences.json   # and write the differences as JSON
#
# Needs python3 (3.10 or newer, with its venv module) and a built pipe (npm run build). The
# first run makes a Python environment in $PIPE_COMPAT_VENV (default ~/.cache/pipe-compat/venv)
# with the versions below.
# Exit status: 0 no difference, 1 differences, 2 the comparison could not run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${PIPE_COMPAT_VENV:-$HOME/.cache/pipe-compat/venv}"

# duckdb is pinned to the DuckDB inside pipe's @duckdb/node-api, so that both tools run the
# same engine. dbt-core stays below 1.12, whose install fetches a parser outside the Python
# package index.
REQUIREMENTS=("dbt-core==1.11.16" "dbt-duckdb==1.11.1" "duckdb==1.5.5")

if [[ ! -f "$REPO/dist/cli/main.js" ]]; then
  echo "compare.sh: $REPO/dist/cli/main.js is missing; run npm run build first" >&2
  exit 2
fi

stamp="$VENV/.pipe-compat-requirements"
if [[ ! -x "$VENV/bin/dbt" || "$(cat "$stamp" 2>/dev/null)" != "${REQUIREMENTS[*]}" ]]; then
  echo "compare.sh: installing ${REQUIREMENTS[*]} into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${REQUIREMENTS[@]}" >&2
  echo "${REQUIREMENTS[*]}" >"$stamp"
fi

args=()
fixtures=()
for a in "$@"; do
  case "$a" in
    -*) args+=("$a") ;;
    *) fixtures+=("$REPO/test/fixtures/dbt/$a") ;;
  esac
done
if [[ ${#fixtures[@]} -eq 0 ]]; then
  for d in "$REPO"/test/fixtures/dbt/*/; do fixtures+=("${d%/}"); done
fi

versions="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(", ".join(f"{p} {m.version(p)}" for p in ("dbt-core", "dbt-duckdb", "duckdb")))')"
echo "dbt side: $versions; pipe side: $REPO/dist/cli/main.js"
echo
# Python's own output buffering would interleave badly with dbt's; the helper flushes per fixture.
exec "$VENV/bin/python" "$HERE/compare.py" --repo "$REPO" --dbt "$VENV/bin/dbt" "${args[@]}" "${fixtures[@]}"
