#!/usr/bin/env bash
# Unpacks ONNX's node tests (as tests/conformance/run.sh does) and runs check_passes on them.
#   run.sh CHECKER
set -euo pipefail
checker=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
archive=${EFFC_CONFORMANCE:-$repo/../shared/conformance/onnx-node-tests.tar.xz}
if [ ! -f "$archive" ]; then
  echo "error: conformance archive not found: $archive (set EFFC_CONFORMANCE)" >&2
  exit 1
fi
work=${MESON_BUILD_ROOT:-${TMPDIR:-/tmp}}/conformance-data
stamp="$work/.stamp"
want="$(stat -c '%s %Y' "$archive") $archive"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  rm -rf "$work" && mkdir -p "$work"
  tar -xJf "$archive" -C "$work"
  echo "$want" > "$stamp"
fi
exec "$checker" "$work/node"
