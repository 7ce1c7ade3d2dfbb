#!/bin/sh
# The main job on a bundled example: import an .onnx model, print it as ONNX text (weights
# in a .safetensors beside it), export it back to .onnx, and show that the round trip is
# exact: the canonical text of the original and of the re-exported model are identical, and
# exporting the re-imported model reproduces the same bytes.
# usage: examples/roundtrip.sh [EFFC] [MODEL.onnx]
set -eu
effc=${1:-build/driver/effc}
model=${2:-$(dirname "$0")/mnist_tiny.onnx}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== effc import $model -o model.onnxtxt"
"$effc" import "$model" -o "$out/model.onnxtxt"
cat "$out/model.onnxtxt"
echo "== weights: $(wc -c < "$out/model.safetensors") bytes in model.safetensors"

echo "== effc export model.onnxtxt -o back.onnx"
"$effc" export "$out/model.onnxtxt" -o "$out/back.onnx"

"$effc" opt "$model" > "$out/original.txt"
"$effc" opt "$out/back.onnx" > "$out/back.txt"
cmp "$out/original.txt" "$out/back.txt"
"$effc" export "$out/back.onnx" -o "$out/again.onnx"
cmp "$out/back.onnx" "$out/again.onnx"
echo "== round trip exact: print(import(original)) == print(import(export(text))) ($(wc -c < "$out/original.txt") bytes of text),"
echo "   and export(import(back.onnx)) == back.onnx ($(wc -c < "$out/back.onnx") bytes)"
