#!/usr/bin/env bash
# Runs ONNX's node tests through a conformance runner and checks them against the committed floor.
#   run.sh RUNNER FLOOR             check: every case in FLOOR must still pass (exit 1 if not)
#   run.sh RUNNER FLOOR --update    rewrite FLOOR from this run, and docs/conformance.md
#                                   when the front end's and interpreter's results are there
#   ... -- ARGS                     pass ARGS to the runner before the case directory
#                                   (conformance_backend --target T); the results file is
#                                   named after the runner and its target
# The archive is unpacked by unpack.sh ($EFFC_CONFORMANCE, default
# <repo>/../shared/conformance/onnx-node-tests.tar.xz; a missing archive is a failure).
set -euo pipefail
runner=$1 floor=$2 mode=check
shift 2
if [ "${1:-}" = "--update" ]; then mode=--update; shift; fi
if [ "${1:-}" = "--" ]; then shift; fi
args=("$@")
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$("$repo/tests/conformance/unpack.sh")
name=$(basename "$runner")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --target) name="$name-${args[i+1]}";;
    --jit) name="$name-jit";;
  esac
done
results="$work/results-$name.txt"
"$runner" "${args[@]+"${args[@]}"}" "$work/node" > "$results"
total=$(wc -l < "$results")
passed=$(grep -c ' PASS$' "$results" || true)
unsupported=$(grep -c ' UNSUPPORTED ' "$results" || true)
echo "$name: $passed of $total cases pass ($unsupported unsupported by the backend)"
grep ' FAIL ' "$results" | head -20 || true

if [ "$mode" = "--update" ]; then
  grep ' PASS$' "$results" | cut -d' ' -f1 | sort > "$floor"
  echo "updated $floor"
  # the report needs both runners' results
  fe="$work/results-conformance_frontend.txt" it="$work/results-conformance_interp.txt"
  if [ -f "$fe" ] && [ -f "$it" ]; then
    interp_runner=$(dirname "$runner")/conformance_interp
    "$interp_runner" --list-ops "$work/node" > "$work/ops.txt"
    backends=()
    for b in "$work"/results-conformance_backend-*.txt; do [ -f "$b" ] && backends+=("$b"); done
    python3 "$repo/tests/conformance/report.py" "$fe" "$it" "$work/ops.txt" "$repo/docs/conformance.md" "${backends[@]}"
    echo "updated $repo/docs/conformance.md"
  fi
  exit 0
fi

if [ ! -f "$floor" ]; then
  echo "error: floor $floor missing" >&2
  exit 1
fi
regressed=$(comm -23 <(sort "$floor") <(grep ' PASS$' "$results" | cut -d' ' -f1 | sort))
if [ -n "$regressed" ]; then
  echo "REGRESSION: these cases passed before and fail now:" >&2
  for c in $regressed; do grep "^$c " "$results" >&2; done
  exit 1
fi
echo "no regression against $(wc -l < "$floor") committed passing cases"
