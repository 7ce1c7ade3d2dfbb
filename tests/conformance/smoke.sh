#!/usr/bin/env bash
# A fast check of a backend on a few node tests (suite quick): every case named must pass.
#   smoke.sh RUNNER RUNNER_ARGS... -- GLOB...
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$("$repo/tests/conformance/unpack.sh")
runner=$1
shift
args=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do args+=("$1"); shift; done
shift
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$runner" "${args[@]}" --work "$out/w" "$work/node" "$@" > "$out/results.txt"
cat "$out/results.txt"
total=$(wc -l < "$out/results.txt")
passed=$(grep -c ' PASS$' "$out/results.txt" || true)
if [ "$total" -eq 0 ] || [ "$passed" -ne "$total" ]; then
  echo "smoke: $passed of $total cases pass" >&2
  exit 1
fi
