#!/usr/bin/python3
"""Writes qlinear_ops.onnxtxt: every com.microsoft quantized operator of qdq-fuse (QLinearAdd,
QLinearMul, QLinearGlobalAveragePool, QLinearConcat, QGemm) and 8-bit MaxPool on small
constant inputs, beside the values ONNX Runtime's formulas give, computed here in exact
rational arithmetic (fractions) with saturation and the rounding effc's requantization
contract fixes for every integer path: round half to even of (value + zero point). (ONNX
Runtime's MLAS rounds the value, then adds the zero point; the two differ only on an exact
tie with an odd zero point, which gap contains.) Scales are powers of
two, so every ratio the kernels fold into float32 is exact and the ties (x.5) are real ties:
the expected values do not depend on how a kernel rounds its multiplier.
Usage: gen_qlinear_ops.py > qlinear_ops.onnxtxt (plain python3, no numpy)."""
from fractions import Fraction as F


def rhe(v):  # round half to even of a Fraction
    f = v.numerator // v.denominator
    r = v - f
    if r > F(1, 2) or (r == F(1, 2) and f % 2):
        f += 1
    return f


def sat(v, signed):
    lo, hi = (-128, 127) if signed else (0, 255)
    return max(lo, min(hi, v))


def bcast(a, ashape, b, bshape):
    r = max(len(ashape), len(bshape))
    sa = [1] * (r - len(ashape)) + ashape
    sb = [1] * (r - len(bshape)) + bshape
    out = [max(x, y) for x, y in zip(sa, sb)]
    n = 1
    for d in out:
        n *= d
    res = []
    for i in range(n):
        idx, rem = [], i
        for d in reversed(out):
            idx.insert(0, rem % d)
            rem //= d

        def lin(shape, ix):
            o = 0
            for d, k in zip(shape, ix):
                o = o * d + (k if d > 1 else 0)
            return o
        res.append((a[lin(sa, idx)], b[lin(sb, idx)]))
    return res, out


def qadd(a, ash, as_, az, b, bsh, bs, bz, cs, cz, signed):
    pairs, sh = bcast(a, ash, b, bsh)
    return [sat(rhe((F(as_) * (x - az) + F(bs) * (y - bz)) / F(cs) + cz), signed) for x, y in pairs], sh


def qmul(a, ash, as_, az, b, bsh, bs, bz, cs, cz, signed):
    pairs, sh = bcast(a, ash, b, bsh)
    return [sat(rhe(F(as_) * F(bs) * (x - az) * (y - bz) / F(cs) + cz), signed) for x, y in pairs], sh


def ints(v):
    return ",".join(str(int(x)) for x in v)


# QLinearAdd uint8, B broadcast over rows
a1 = [0, 10, 255, 37, 200, 129]
b1 = [128, 0, 255]
add1, _ = qadd(a1, [2, 3], 0.5, 10, b1, [3], 0.25, 128, 1.0, 100, False)
# QLinearAdd int8 without zero points (A_zero_point and C_zero_point absent)
a2 = [-128, -3, 5, 127]
b2 = [1, -1, 127, -128]
add2, _ = qadd(a2, [4], 0.5, 0, b2, [4], 0.5, 0, 0.5, 0, True)
# QLinearMul uint8, B broadcast over columns; ratios of 1/8 make ties
a3 = [0, 3, 20, 255]
b3 = [131, 125]
mul1, _ = qmul(a3, [2, 2], 0.5, 1, b3, [2, 1], 0.5, 128, 2.0, 128, False)
# QLinearMul int8
a4 = [-100, 50, 7, -7, 127, -128]
b4 = [3, -2, 100]
mul2, _ = qmul(a4, [2, 3], 0.25, -2, b4, [3], 0.5, 1, 2.0, -5, True)
# QLinearGlobalAveragePool uint8 [1,2,2,2] NCHW and NHWC: mean = sum (x - xz) * x_s / (y_s * 4)
x5 = [10, 20, 31, 40, 200, 201, 202, 255]
gap = [sat(rhe(F(sum(x - 12 for x in x5[c * 4:(c + 1) * 4])) * F(1, 2) / (F(1, 4) * 4) + 3), False) for c in range(2)]
gapl = [sat(rhe(F(sum(x5[i * 2 + c] - 12 for i in range(4))) * F(1, 2) / (F(1, 4) * 4) + 3), False) for c in range(2)]
# QLinearGlobalAveragePool int8 [1,3,1,3] with rounding ties
x6 = [-1, 0, 0, 5, -128, 127, 127, 127, 126]
gap8 = [sat(rhe(F(sum(x + 2 for x in x6[c * 3:(c + 1) * 3])) * F(1, 4) / (F(1, 2) * 3) - 1), True) for c in range(3)]
# QLinearConcat on axis 1 into uint8 (y_s 0.5, yz 128): a copy (same params), an int8 input
# requantized, a uint8 input requantized
c1 = [1, 2, 3, 4, 250, 251, 252, 253]          # uint8 [2,2,2], s 0.5, z 128: copied
c2 = [-128, 127, 0, 1]                          # int8 [2,1,2], s 0.25, z 0
c3 = [0, 255, 100, 101]                          # uint8 [2,1,2], s 1.0, z 100
conc = []
for o in range(2):
    conc += c1[o * 4:(o + 1) * 4]
    conc += [sat(rhe(F(1, 4) * (x - 0) / F(1, 2) + 128), False) for x in c2[o * 2:(o + 1) * 2]]
    conc += [sat(rhe(F(1) * (x - 100) / F(1, 2) + 128), False) for x in c3[o * 2:(o + 1) * 2]]
# QGemm: A uint8 [2,3] (a_s 0.5, az 2), B int8 [2,3] transB (b_s per column [0.25, 0.5]),
# C int32 [2], y_s 1.0, yz uint8 10; acc = (A - az) B^T + C, y = acc * a_s * b_s[n] / y_s + yz
ga = [2, 10, 255, 0, 7, 3]
gb = [1, -2, 3, 127, -128, 0]
gc = [5, 1700]
bsc = [F(1, 4), F(1, 2)]
gem = []
for m in range(2):
    for n in range(2):
        acc = sum((ga[m * 3 + k] - 2) * gb[n * 3 + k] for k in range(3)) + gc[n]
        gem.append(sat(rhe(F(acc) * F(1, 2) * bsc[n] / F(1) + 10), False))
# MaxPool uint8 [1,1,3,3], kernel 2, pads 1: padding never wins (zeros stay below data)
mp = [5, 1, 9, 0, 3, 2, 7, 8, 4]
mpo = []
for oh in range(4):
    for ow in range(4):
        mpo.append(max(mp[ih * 3 + iw] for ih in range(oh - 1, oh + 1) for iw in range(ow - 1, ow + 1)
                       if 0 <= ih < 3 and 0 <= iw < 3))
# int8 MaxPool [1,1,2,2], kernel 2 stride 1 no pads
mp8 = [-128, -100, -120, -127]

print(f"""# The com.microsoft quantized operators against ONNX Runtime's formulas computed by hand
# (gen_qlinear_ops.py, exact rational arithmetic): every `*_want` output holds the expected
# values, every other output the operator's; the interpreter must match them exactly, and the
# compiled code (generic with 3 threads, native, and AArch64 under qemu when the cross tools
# are there) must match the interpreter byte for byte.
# RUN: effc run %s --output-dir ref
# RUN: for o in add1 add2 mul1 mul2 gap gapl gap8 conc gem mp mp8; do effc compare ref/$o.npy ref/${{o}}_want.npy --rtol 0 --atol 0 || exit 1; done
# RUN: effc compile %s -q --output-dir g --emit-main --threads 3 && gcc -O2 -std=c11 -Wall -Wextra -Werror g/*.c -o g/prog -lm -lpthread
# RUN: ./g/prog --output-dir rg && for f in ref/*; do cmp $f rg/${{f#ref/}} || exit 1; done
# RUN: effc compile %s -q --target native --output-dir n --emit-main && gcc -O2 -std=c11 -Wall -Wextra -Werror n/*.c -o n/prog -lm -lpthread
# RUN: ./n/prog --output-dir rn && for f in ref/*; do cmp $f rn/${{f#ref/}} || exit 1; done
# RUN: if command -v aarch64-linux-gnu-gcc && command -v qemu-aarch64; then effc compile %s -q --target aarch64 --threads 2 --output-dir a --emit-main && aarch64-linux-gnu-gcc -O2 -std=c11 -Wall -Wextra -Werror a/*.c -o a/prog -lm -lpthread && qemu-aarch64 -L /usr/aarch64-linux-gnu a/prog --output-dir ra && for f in ref/*; do cmp $f ra/${{f#ref/}} || exit 1; done; fi
# RUN: ls ref | wc -l
# CHECK: 22
<ir_version: 8, opset_import: ["" : 17, "com.microsoft" : 1]>
g (uint8[2,3] a1 = {{{ints(a1)}}}, uint8[3] b1 = {{{ints(b1)}}}, int8[4] a2 = {{{ints(a2)}}}, int8[4] b2 = {{{ints(b2)}}},
   uint8[2,2] a3 = {{{ints(a3)}}}, uint8[2,1] b3 = {{{ints(b3)}}}, int8[2,3] a4 = {{{ints(a4)}}}, int8[3] b4 = {{{ints(b4)}}},
   uint8[1,2,2,2] x5 = {{{ints(x5)}}}, int8[1,3,1,3] x6 = {{{ints(x6)}}},
   uint8[2,2,2] c1 = {{{ints(c1)}}}, int8[2,1,2] c2 = {{{ints(c2)}}}, uint8[2,1,2] c3 = {{{ints(c3)}}},
   uint8[2,3] ga = {{{ints(ga)}}}, uint8[1,1,3,3] mpx = {{{ints(mp)}}}, int8[1,1,2,2] mp8x = {{{ints(mp8)}}})
  => (uint8[2,3] add1, uint8[2,3] add1_want, int8[4] add2, int8[4] add2_want,
      uint8[2,2] mul1, uint8[2,2] mul1_want, int8[2,3] mul2, int8[2,3] mul2_want,
      uint8[1,2,1,1] gap, uint8[1,2,1,1] gap_want, uint8[1,1,1,2] gapl, uint8[1,1,1,2] gapl_want,
      int8[1,3,1,1] gap8, int8[1,3,1,1] gap8_want, uint8[2,4,2] conc, uint8[2,4,2] conc_want,
      uint8[2,2] gem, uint8[2,2] gem_want, uint8[1,1,4,4] mp, uint8[1,1,4,4] mp_want,
      int8[1,1,1,1] mp8, int8[1,1,1,1] mp8_want)
  <float h = {{0.5}}, float q = {{0.25}}, float one = {{1.0}}, float two = {{2.0}},
   uint8 u10 = {{10}}, uint8 u128 = {{128}}, uint8 u100 = {{100}}, uint8 u1 = {{1}}, uint8 u12 = {{12}}, uint8 u3 = {{3}},
   uint8 u2 = {{2}}, int8 sm2 = {{-2}}, int8 s1 = {{1}}, int8 sm5 = {{-5}}, int8 sm1 = {{-1}}, int8 s0 = {{0}},
   int8[2,3] gb = {{{ints(gb)}}}, float[2] gbs = {{0.25,0.5}}, int32[2] gc = {{{ints(gc)}}},
   uint8[2,3] add1_c = {{{ints(add1)}}}, int8[4] add2_c = {{{ints(add2)}}}, uint8[2,2] mul1_c = {{{ints(mul1)}}},
   int8[2,3] mul2_c = {{{ints(mul2)}}}, uint8[1,2,1,1] gap_c = {{{ints(gap)}}}, uint8[1,1,1,2] gapl_c = {{{ints(gapl)}}},
   int8[1,3,1,1] gap8_c = {{{ints(gap8)}}}, uint8[2,4,2] conc_c = {{{ints(conc)}}}, uint8[2,2] gem_c = {{{ints(gem)}}},
   uint8[1,1,4,4] mp_c = {{{ints(mpo)}}}, int8[1,1,1,1] mp8_c = {{{max(mp8)}}}> {{
  add1 = com.microsoft.QLinearAdd (a1, h, u10, b1, q, u128, one, u100)
  add2 = com.microsoft.QLinearAdd (a2, h, "", b2, h, "", h)
  mul1 = com.microsoft.QLinearMul (a3, h, u1, b3, h, u128, two, u128)
  mul2 = com.microsoft.QLinearMul (a4, q, sm2, b4, h, s1, two, sm5)
  gap = com.microsoft.QLinearGlobalAveragePool (x5, h, u12, q, u3)
  gapl = com.microsoft.QLinearGlobalAveragePool <channels_last = 1> (x5, h, u12, q, u3)
  gap8 = com.microsoft.QLinearGlobalAveragePool (x6, q, sm2, h, sm1)
  conc = com.microsoft.QLinearConcat <axis = 1> (h, u128, c1, h, u128, c2, q, s0, c3, one, u100)
  gem = com.microsoft.QGemm <transB = 1> (ga, h, u2, gb, gbs, s0, gc, one, u10)
  mp = MaxPool <kernel_shape = [2,2], pads = [1,1,1,1]> (mpx)
  mp8 = MaxPool <kernel_shape = [2,2]> (mp8x)
  add1_want = Identity (add1_c)
  add2_want = Identity (add2_c)
  mul1_want = Identity (mul1_c)
  mul2_want = Identity (mul2_c)
  gap_want = Identity (gap_c)
  gapl_want = Identity (gapl_c)
  gap8_want = Identity (gap8_c)
  conc_want = Identity (conc_c)
  gem_want = Identity (gem_c)
  mp_want = Identity (mp_c)
  mp8_want = Identity (mp8_c)
}}""")
