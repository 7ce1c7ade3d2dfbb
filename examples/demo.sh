#!/bin/sh
# The main job on the bundled examples: optimize a CNN with the first passes (BatchNorm
# folded into Conv, Conv+Relu fused, dead code removed), run the original and the optimized
# model in the reference interpreter, check both against the output numpy computed when the
# example was generated (examples/gen_examples.py), compile the CNN to C for this machine
# (`effc compile --target native --emit-main`), build it with cc and check its output against
# the interpreter's, and print parameters, MACs and memory of ResNet-18.
# usage: examples/demo.sh [EFFC]
set -eu
effc=${1:-build/driver/effc}
ex=$(dirname "$0")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

pipeline='shape-infer,fold-bn,fuse,identity-elim,fold,dce'
echo "== effc opt examples/cnn.onnxtxt -p '$pipeline' --pass-stats"
"$effc" opt "$ex/cnn.onnxtxt" -p "$pipeline" --pass-stats -o "$out/cnn_opt.onnxtxt"
echo "   before: $("$effc" stats "$ex/cnn.onnxtxt" | grep '^total')"
echo "   after:  $("$effc" stats "$out/cnn_opt.onnxtxt" | grep '^total')"

for m in "$ex/cnn.onnxtxt" "$out/cnn_opt.onnxtxt"; do
  echo "== effc run $(basename "$m") --input x=cnn_x.npy"
  "$effc" run "$m" --input x="$ex/cnn_x.npy" --output-dir "$out/run"
  "$effc" run "$m" --input x="$ex/cnn_x.npy"
  printf '   against numpy: '
  "$effc" compare "$out/run/y.npy" "$ex/cnn_y.npy"
done

for n in mlp transformer; do
  echo "== effc run $n.onnxtxt, checked against numpy"
  "$effc" run "$ex/$n.onnxtxt" --input x="$ex/${n}_x.npy" --output-dir "$out/$n"
  "$effc" compare "$out/$n/y.npy" "$ex/${n}_y.npy"
done

echo "== effc compile cnn.onnxtxt --target native --emit-main, built with cc"
"$effc" compile "$ex/cnn.onnxtxt" --target native --emit-main --output-dir "$out/c"
${CC:-cc} -O2 -std=c11 "$out"/c/*.c -o "$out/cnn_prog" -lm -lpthread
"$out/cnn_prog" --input x="$ex/cnn_x.npy" --output-dir "$out/c_run"
printf '   compiled against the interpreter: '
"$effc" compare --rtol 1e-4 "$out/c_run/y.npy" "$out/run/y.npy"
"$out/cnn_prog" --input x="$ex/cnn_x.npy" --bench 50

echo "== effc stats examples/weightless/resnet18.onnxtxt"
"$effc" stats "$ex/weightless/resnet18.onnxtxt" | tail -4
