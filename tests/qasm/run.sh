#!/bin/bash
# Emitted OpenQASM 2.0 simulated by npm's quantum-circuit (installed into the build tree on
# first use, ~25 s) and compared with effc's distributions. Skips (77) when node/npm are
# missing or the registry cannot be reached. Usage: run.sh QASM_CHECK BUILD_DIR
set -euo pipefail
check=$1 build=$2
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null && command -v npm >/dev/null || { echo "node/npm not found: skipped"; exit 77; }
mods=$build/qasm-npm
if [ ! -d "$mods/node_modules/quantum-circuit" ]; then
  mkdir -p "$mods"
  (cd "$mods" && npm init -y >/dev/null && npm install --no-audit --no-fund quantum-circuit@0.9.250 >/dev/null 2>&1) \
    || { echo "npm install quantum-circuit failed (no registry?): skipped"; exit 77; }
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for mode in u-cx rz-sx raw; do
  mkdir -p "$out/$mode"
  "$check" "$out/$mode" 30 "$mode"
  echo -n "$mode: "
  node --no-warnings "$here/check.js" "$mods/node_modules" "$out/$mode" 30
done
