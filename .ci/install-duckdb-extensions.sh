#!/usr/bin/env bash
# Installs DuckDB extensions (default: httpfs) from their PyPI wheels into the folder DuckDB
# autoloads extensions from, for machines that cannot reach DuckDB's own extension
# repository. The version follows the @duckdb/node-api package the project uses: an extension
# built for another DuckDB version refuses to load, and the wheels exist for DuckDB 1.5.5 only,
# which is why package.json pins @duckdb/node-api to 1.5.5-r.5.
# Names are the extension files' (ducklake, postgres_scanner, httpfs); the wheel of
# `postgres_scanner` is duckdb-extension-postgres-scanner. DUCKDB_EXTENSION_DIR overrides the
# target folder (pipe reads it back as PIPE_DUCKDB_EXTENSION_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(node -p "require('@duckdb/node-api/package.json').version.replace(/-r\\..*$/, '')")
case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "no DuckDB extension wheels for $(uname -m)" >&2; exit 1 ;;
esac
target="${DUCKDB_EXTENSION_DIR:-${HOME}/.duckdb/extensions/v${version}/linux_${arch}}"
mkdir -p "$target"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for ext in "${@:-httpfs}"; do
  if [ -f "$target/$ext.duckdb_extension" ]; then
    echo "duckdb extension $ext v$version: already in $target"
    continue
  fi
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$work/$ext" "duckdb-extension-${ext//_/-}==$version"
  python3 -m zipfile -e "$work/$ext"/*.whl "$work/$ext/unpacked"
  cp "$(find "$work/$ext/unpacked" -name "$ext.duckdb_extension" | head -n 1)" "$target/"
  echo "duckdb extension $ext v$version: installed in $target"
done
