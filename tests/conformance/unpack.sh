#!/usr/bin/env bash
# Unpacks ONNX's node tests once per build tree and prints the directory that holds node/.
# The archive is $EFFC_CONFORMANCE, default <repo>/../shared/conformance/onnx-node-tests.tar.xz;
# a missing archive is a failure, never a skip. Runners started in parallel by meson wait on
# a lock, so none of them sees a half-unpacked tree.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
archive=${EFFC_CONFORMANCE:-$repo/../shared/conformance/onnx-node-tests.tar.xz}
if [ ! -f "$archive" ]; then
  echo "error: conformance archive not found: $archive (set EFFC_CONFORMANCE)" >&2
  exit 1
fi
work=${MESON_BUILD_ROOT:-${TMPDIR:-/tmp}}/conformance-data
mkdir -p "$work"
exec 9> "$work/.lock"
flock 9
stamp="$work/.stamp"
want="$(stat -c '%s %Y' "$archive")"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  rm -rf "$work/node"
  tar -xJf "$archive" -C "$work"
  echo "$want" > "$stamp"
fi
echo "$work"
