#!/usr/bin/env bash
# Runs check_passes on ONNX's node tests (unpacked by tests/conformance/unpack.sh).
#   run.sh CHECKER
set -euo pipefail
checker=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$("$repo/tests/conformance/unpack.sh")
exec "$checker" "$work/node"
