#!/usr/bin/env python3
"""gen_sparse.py [--inputs DIR] - print a model (onnxtxt) whose Gemm/MatMul/Conv weights are
pruned: 50%, 70% and 90% of the elements zeroed at random, and 2:4 (at most two nonzeros in
each group of four along the reduction dimension), for tests of sparse execution
(docs/sparsity.md). Batch 1 and 9 (dot and panel kernels), transposes, alpha, biases per
column / row / full, fused activations, 1x1 and 3x3 (padded, strided) convolutions, a
reduction of 20 (not a multiple of 8: CSR only). With --inputs, write the inputs as
DIR/<name>.npy instead (uniform in [-1, 1]). Plain python3, seeded."""
import os
import random
import struct
import sys

rng = random.Random(5)


def dense(n):
    return [round(rng.uniform(-1, 1), 3) or 0.5 for _ in range(n)]


def prune(vals, frac):
    """Zero round(frac * n) elements chosen at random."""
    idx = list(range(len(vals)))
    rng.shuffle(idx)
    out = list(vals)
    for i in idx[:round(frac * len(vals))]:
        out[i] = 0
    return out


def prune24(rows, k, kstride, nstride, cols):
    """Element (r, c) at r * kstride + c * nstride, r < k: zero 2 of every 4 consecutive r
    (sometimes 3) per column."""
    vals = dense(rows * cols)
    for c in range(cols):
        for g in range(0, k, 4):
            drop = rng.sample(range(4), 3 if rng.random() < 0.2 else 2)
            for i in drop:
                vals[(g + i) * kstride + c * nstride] = 0
    return vals


def t(name, dims, vals):
    return "float[%s] %s = {%s}" % (",".join(map(str, dims)), name,
                                    ",".join(repr(v) if v else "0" for v in vals))


INPUTS = {"x1": [1, 64], "x9": [9, 64], "xt": [64, 9], "xs": [3, 20], "img": [2, 16, 20, 20]}


def write_npy(path, dims):
    n = 1
    for d in dims:
        n *= d
    head = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % "".join(
        "%d, " % d for d in dims)
    head += " " * (63 - (10 + len(head)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode())
        f.write(struct.pack("<%df" % n, *[rng.uniform(-1, 1) for _ in range(n)]))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--inputs":
        for name, dims in INPUTS.items():
            write_npy(os.path.join(sys.argv[2], name + ".npy"), dims)
        return
    inits = [
        t("w50", [64, 48], prune(dense(64 * 48), 0.5)),
        t("w70", [64, 48], prune(dense(64 * 48), 0.7)),
        t("w90", [64, 48], prune(dense(64 * 48), 0.9)),
        t("w24", [64, 48], prune24(64, 64, 48, 1, 48)),
        t("wt24", [48, 64], prune24(64, 64, 1, 64, 48)),
        t("ws", [20, 12], prune(dense(20 * 12), 0.5)),
        t("b48", [48], dense(48)),
        t("c9", [9, 1], dense(9)),
        t("cf", [9, 48], dense(9 * 48)),
        t("cw1", [32, 16, 1, 1], prune(dense(32 * 16), 0.7)),
        t("cb1", [32], dense(32)),
        t("cw3", [24, 16, 3, 3], prune24(144, 144, 1, 144, 24)),
        t("cw9", [8, 16, 3, 3], prune(dense(8 * 144), 0.9)),
    ]
    print('<ir_version: 8, opset_import: ["" : 17, "com.microsoft" : 1]>')
    print("g (float[1,64] x1, float[9,64] x9, float[64,9] xt, float[3,20] xs, "
          "float[2,16,20,20] img)")
    print("  => (float[1,48] g1, float[9,48] g9, float[1,48] m1, float[9,48] m9, "
          "float[1,48] m1b, float[9,48] gt, float[9,48] f9, float[3,12] s3, "
          "float[2,32,20,20] c1, float[2,24,20,20] c3, float[2,8,10,10] cs2)")
    print("  <" + ",\n   ".join(inits) + "> {")
    print("""  g1 = Gemm (x1, w50, b48)
  g9 = Gemm <alpha = 0.5> (x9, w70, b48)
  m1 = MatMul (x1, w90)
  m9 = MatMul (x9, w24)
  m1b = MatMul (x1, w24)
  gt = Gemm <transA = 1, transB = 1, beta = 0.5> (xt, wt24, cf)
  f9 = com.microsoft.FusedGemm <activation = "Relu"> (x9, w50, c9)
  s3 = MatMul (xs, ws)
  c1 = Conv (img, cw1, cb1)
  c3 = com.microsoft.FusedConv <activation = "Relu", pads = [1, 1, 1, 1]> (img, cw3)
  cs2 = Conv <pads = [1, 1, 1, 1], strides = [2, 2]> (img, cw9)
}""")


main()
