#!/usr/bin/env bash
# Runs ONNX's node tests through a conformance runner and checks them against the committed floor.
#   run.sh RUNNER FLOOR             check: every case in FLOOR must still pass (exit 1 if not)
#   run.sh RUNNER FLOOR --update    rewrite FLOOR from this run, and docs/conformance.md
#                                   when both runners' results are there
# The archive is unpacked by unpack.sh ($EFFC_CONFORMANCE, default
# <repo>/../shared/conformance/onnx-node-tests.tar.xz; a missing archive is a failure).
set -euo pipefail
runner=$1 floor=$2 mode=${3:-check}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$("$repo/tests/conformance/unpack.sh")
name=$(basename "$runner")
results="$work/results-$name.txt"
"$runner" "$work/node" > "$results"
total=$(wc -l < "$results")
passed=$(grep -c ' PASS$' "$results" || true)
echo "$name: $passed of $total cases pass"
grep ' FAIL ' "$results" | head -20 || true

if [ "$mode" = "--update" ]; then
  grep ' PASS$' "$results" | cut -d' ' -f1 | sort > "$floor"
  echo "updated $floor"
  # the report needs both runners' results
  fe="$work/results-conformance_frontend.txt" it="$work/results-conformance_interp.txt"
  if [ -f "$fe" ] && [ -f "$it" ]; then
    interp_runner=$(dirname "$runner")/conformance_interp
    "$interp_runner" --list-ops "$work/node" > "$work/ops.txt"
    python3 "$repo/tests/conformance/report.py" "$fe" "$it" "$work/ops.txt" "$repo/docs/conformance.md"
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
