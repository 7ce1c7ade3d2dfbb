#!/usr/bin/env python3
"""Writes the channel-pruning test CNN and, independently of effc, what channel pruning at
sparsity 0.5 (importance L2) must compute: the same graph with the removed channels zeroed.
Conv+BN+Relu, a residual Add (one shared mask for both convs), a depthwise Conv following
it, two 1x1 branches concatenated, MaxPool, Flatten -> Gemm. The removed channels are found
here by their filters' L2 norms (both convs of the residual group together); zeroing a
channel's filter, bias, BN mean and beta and the depthwise bias makes it exactly 0 after
Relu/Clip, which is what removing it computes. Plain Python (no numpy).
Usage: gen_prune_cnn.py ORIGINAL.onnxtxt ZEROED.onnxtxt"""
import math
import sys

state = 12345


def rnd():
    global state
    state = (state * 1103515245 + 12345) % (1 << 31)
    return round(state / (1 << 30) - 1, 3)


def tensor(shape, lo=None):
    n = 1
    for d in shape:
        n *= d
    v = [rnd() for _ in range(n)]
    if lo is not None:
        v = [round(lo + abs(x), 3) for x in v]
    return {'shape': shape, 'data': v}


W = {
    'w1': tensor([8, 3, 3, 3]), 'b1': tensor([8]),
    's1': tensor([8], 0.5), 'o1': tensor([8]), 'm1': tensor([8]), 'v1': tensor([8], 0.5),
    'w2': tensor([8, 8, 3, 3]), 'b2': tensor([8]),
    's2': tensor([8], 0.5), 'o2': tensor([8]), 'm2': tensor([8]), 'v2': tensor([8], 0.5),
    'wd': tensor([8, 1, 3, 3]), 'bd': tensor([8]),
    'w3': tensor([6, 8, 1, 1]), 'b3': tensor([6]),
    'w4': tensor([4, 8, 1, 1]), 'b4': tensor([4]),
    'wf': tensor([5, 90]), 'bf': tensor([5]),
    'x': tensor([1, 3, 6, 6]),
}

BODY = """  c1 = Conv <pads = [1,1,1,1]> (x, w1, b1)
  n1 = BatchNormalization (c1, s1, o1, m1, v1)
  r1 = Relu (n1)
  c2 = Conv <pads = [1,1,1,1]> (r1, w2, b2)
  n2 = BatchNormalization (c2, s2, o2, m2, v2)
  a = Add (n2, r1)
  r2 = Relu (a)
  d = Conv <group = 8, pads = [1,1,1,1]> (r2, wd, bd)
  rd = Relu (d)
  c3 = Conv (rd, w3, b3)
  r3 = Relu (c3)
  c4 = Conv (rd, w4, b4)
  r4 = Clip (c4, lo, hi)
  cat = Concat <axis = 1> (r3, r4)
  p = MaxPool <kernel_shape = [2,2], strides = [2,2]> (cat)
  f = Flatten (p)
  y = Gemm <transB = 1> (f, wf, bf)
"""


def fmt(name, t):
    return 'float[%s] %s = {%s}' % (','.join(map(str, t['shape'])), name,
                                    ','.join(repr(v) for v in t['data']))


def write(path, w):
    inits = [fmt(k, v) for k, v in w.items() if k != 'x'] + ['float lo = {-1}', 'float hi = {1}']
    with open(path, 'w') as f:
        f.write('<ir_version: 8, opset_import: ["" : 17]>\n')
        f.write('g (%s) => (float[1,5] y)\n  <%s> {\n%s}\n' % (fmt('x', w['x']), ',\n   '.join(inits), BODY))


def rows(t):
    n = t['shape'][0]
    k = len(t['data']) // n
    return [t['data'][i * k:(i + 1) * k] for i in range(n)]


def smallest(norms, count):
    return sorted(range(len(norms)), key=lambda i: (norms[i], i))[:count]


def zero(t, idx):
    n = t['shape'][0]
    k = len(t['data']) // n
    for i in idx:
        for j in range(k):
            t['data'][i * k + j] = 0.0


write(sys.argv[1], W)
# group {c1, c2}: 8 channels, 4 go; c3: 3 of 6; c4: 2 of 4 (floor(0.5 * n))
g1 = [math.sqrt(sum(v * v for v in a) + sum(v * v for v in b)) for a, b in zip(rows(W['w1']), rows(W['w2']))]
gone1 = smallest(g1, 4)
gone3 = smallest([math.sqrt(sum(v * v for v in r)) for r in rows(W['w3'])], 3)
gone4 = smallest([math.sqrt(sum(v * v for v in r)) for r in rows(W['w4'])], 2)
for k in ['w1', 'b1', 'o1', 'm1', 'w2', 'b2', 'o2', 'm2', 'bd']:
    zero(W[k], gone1)
zero(W['w3'], gone3)
zero(W['b3'], gone3)
zero(W['w4'], gone4)
zero(W['b4'], gone4)
write(sys.argv[2], W)
