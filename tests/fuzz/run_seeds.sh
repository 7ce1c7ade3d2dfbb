#!/usr/bin/env bash
# Runs fuzz_run seeded with the model text of every ONNX node test (unpacked by
# tests/conformance/unpack.sh; the suite is never committed), after the given arguments.
#   run_seeds.sh FUZZER [libFuzzer args and corpus dirs...]
set -euo pipefail
fuzzer=$1
shift
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$("$repo/tests/conformance/unpack.sh")
seeds="$work/fuzz-run-seeds"
if [ ! -f "$seeds/.done" ]; then
  mkdir -p "$seeds"
  for d in "$work"/node/*/; do
    c=$(basename "$d")
    cp "$d/model.onnxtxt" "$seeds/$c.onnxtxt"
  done
  touch "$seeds/.done"
fi
exec "$fuzzer" "$@" "$seeds"
