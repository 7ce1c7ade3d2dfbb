#!/usr/bin/env python3
"""gen_layout_model.py - print the test model of layout.onnxtxt (no numpy): a small
MobileNet/EfficientNet-like chain with 12 channels (one 8-channel vector and a 4-channel
tail) on a batch of 2 odd-sized images: 3x3 stride-2 Conv + Clip, depthwise 3x3 + SiLU
(Sigmoid, Mul), 1x1 Conv + residual Add, a squeeze-excitation (GlobalAveragePool, 1x1
Conv, Relu, 1x1 Conv, Sigmoid, Mul), depthwise 5x5 stride 2, MaxPool, AveragePool
(count_include_pad), GlobalMaxPool and a grouped Conv (group 3, which stays NCHW).
Weights come from a fixed linear congruential generator."""

state = [12345]


def rnd(n, scale):
    out = []
    for _ in range(n):
        state[0] = (state[0] * 1103515245 + 12345) % 2**31
        out.append(round((state[0] / 2**31 * 2 - 1) * scale, 4))
    return out


def tensor(name, dims, scale):
    n = 1
    for d in dims:
        n *= d
    vals = ",".join("%g" % v for v in rnd(n, scale))
    return 'float[%s] %s = {%s}' % (",".join(map(str, dims)), name, vals)


inits = [
    tensor("w1", [12, 3, 3, 3], 0.5), tensor("b1", [12], 0.2),
    tensor("wd", [12, 1, 3, 3], 0.5), tensor("bd", [12], 0.2),
    tensor("wp", [12, 12, 1, 1], 0.4), tensor("bp", [12], 0.2),
    tensor("we", [4, 12, 1, 1], 0.5), tensor("be", [4], 0.1),
    tensor("we2", [12, 4, 1, 1], 0.5), tensor("be2", [12], 0.1),
    tensor("wd5", [12, 1, 5, 5], 0.3), tensor("wg", [12, 4, 3, 3], 0.3),
    "float lo = {0}", "float hi = {6}",
]
print('<ir_version: 8, opset_import: ["" : 17]>')
print("g (float[2,3,11,9] x) => (float[2,12,6,5] a1, float[2,12,3,3] d2, float[2,12,3,3] mp,")
print("    float[2,12,6,5] ap, float[2,12,1,1] gm, float[2,12,6,5] gc)")
print("  <" + ",\n   ".join(inits) + "> {")
print("""  c1 = Conv <strides: ints = [2, 2], pads: ints = [1, 1, 1, 1]> (x, w1, b1)
  r1 = Clip (c1, lo, hi)
  d1 = Conv <group: int = 12, pads: ints = [1, 1, 1, 1]> (r1, wd, bd)
  s1 = Sigmoid (d1)
  m1 = Mul (d1, s1)
  p1 = Conv (m1, wp, bp)
  a1 = Add (p1, r1)
  g1 = GlobalAveragePool (a1)
  e1 = Conv (g1, we, be)
  e2 = Relu (e1)
  e3 = Conv (e2, we2, be2)
  e4 = Sigmoid (e3)
  se = Mul (a1, e4)
  d2 = Conv <group: int = 12, strides: ints = [2, 2], pads: ints = [2, 2, 2, 2]> (se, wd5)
  mp = MaxPool <kernel_shape: ints = [3, 3], strides: ints = [2, 2], pads: ints = [1, 1, 1, 1]> (se)
  ap = AveragePool <kernel_shape: ints = [2, 2], pads: ints = [0, 0, 1, 1], count_include_pad: int = 1> (se)
  gm = GlobalMaxPool (d2)
  gc = Conv <group: int = 3, pads: ints = [1, 1, 1, 1]> (se, wg)
}""")
