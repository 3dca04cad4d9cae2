#!/usr/bin/env bash
# pipe as its users get it: the tarball `npm pack` makes (its `prepare` builds dist/), installed
# globally into a temporary prefix, then `pipe init`, `pipe run` and `pipe test` in a folder
# that has nothing to do with the clone. Slow (npm downloads the dependencies), so not part of
# `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
clone=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "global-install-check: $*" >&2; exit 1; }

npm pack --pack-destination "$work" --no-audit --no-fund >/dev/null
tarball=$(ls "$work"/*.tgz)
listing=$(tar -tzf "$tarball")
grep -qx 'package/dist/cli/main.js' <<<"$listing" || fail "$tarball has no dist/cli/main.js"
if grep -E '^package/(test|src|bench|scripts|\.ci)/|\.test\.' <<<"$listing"; then fail "$tarball holds files only the clone needs (above)"; fi

# The install resolves every dependency afresh from the registry, as a user's does; a registry
# caught mid-publish (a package naming a dependency version not listed yet: ETARGET) or a dropped
# connection is not pipe's failure, so the install is tried up to three times, a minute apart.
for attempt in 1 2 3; do
  npm install --global --prefix "$work/prefix" --no-audit --no-fund --prefer-online "$tarball" && break
  [ "$attempt" -lt 3 ] || fail "npm could not install $tarball from the registry (3 attempts)"
  echo "global-install-check: npm install failed (attempt $attempt of 3), trying again in 60 s" >&2
  sleep 60
done
export PATH="$work/prefix/bin:$PATH"
[ "$(command -v pipe)" = "$work/prefix/bin/pipe" ] || fail "pipe on PATH is $(command -v pipe), not the one installed"

mkdir "$work/elsewhere"
cd "$work/elsewhere"
version=$(pipe --version)
[ "$version" = "$(node -p "require('$clone/package.json').version")" ] || fail "pipe --version printed '$version'"
out=$(pipe init demo)
echo "$out"
date=$(sed -n 's/.*pipe run --date \([0-9-]*\).*/\1/p' <<<"$out")
[ -n "$date" ] || fail "pipe init printed no 'pipe run --date' to go on with"
cd demo
pipe run --date "$date"
pipe test --date "$date"

# The same install under Node 22, which most users run: the project runs again, finds every
# task current, and Node keeps the compiled code of pipe's bundle for the next start
# (module.enableCompileCache, in the temporary folder; Node 20 has no such cache).
arch=$(node -p process.arch)
(cd "$work" && npm pack --silent "node-linux-$arch@22" >/dev/null)
mkdir "$work/node22"
tar -xzf "$work"/node-linux-"$arch"-22*.tgz -C "$work/node22"
node22="$work/node22/package/bin/node"
mkdir "$work/tmp"
again=$(TMPDIR="$work/tmp" "$node22" "$work/prefix/lib/node_modules/pipe-elt/dist/cli/main.js" run --date "$date")
echo "$again"
# Run and tested already, nothing of the new project is built again.
grep -q '^Done: 0 succeeded' <<<"$again" || fail "pipe run of an unchanged project built something again"
[ -n "$(ls -A "$work/tmp/node-compile-cache" 2>/dev/null)" ] || fail "pipe under Node $("$node22" --version) kept no compiled code in $work/tmp/node-compile-cache"
echo "global-install-check: pipe $version from $(basename "$tarball") ran a new project in $work/elsewhere/demo (Node $(node --version) and $("$node22" --version))"
