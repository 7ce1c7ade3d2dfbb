#!/usr/bin/env python3
"""gen_mcu_model.py KIND OUT.onnxtxt IN.npy - a small integer CNN for the MCU backend's tests
(seeded, no numpy): float input -> QuantizeLinear -> integer layers -> DequantizeLinear.

KIND:
  s8     int8 activations, int8 weights (per-channel scales, zero points 0, the FC's per-column
         zero points non-zero): 3x3 conv (pad 1), depthwise 3x3, 1x1 conv, MaxPool 2x2,
         3x3 conv stride 2, Flatten, fully connected (QLinearMatMul); outputs the float
         logits and the int8 feature map before the FC.
  u8     uint8 activations, uint8 weights with zero points near 128: 5x5 conv with dilation
         2 (SAME_UPPER), grouped 3x3 conv (group 2), depthwise 3x3 stride 2, MaxPool 3x3
         stride 2 with padding, fully connected.
  mb     int8, a MobileNetV2-style block at 16x16: 1x1 expand 8 -> 48, depthwise 3x3 (in place
         on the MCU targets), 1x1 project 48 -> 8, FC; the depthwise layer is the peak.
  big    int8, a 1x1 conv then a fully connected layer with 2 MB of weights: larger than every
         part's flash, so linking it must fail.
Prints the graph's output names. Scales are chosen so that outputs spread over the 8-bit range (few saturate)."""
import math
import random
import struct
import sys


def npy(path, shape, vals):
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (
        ''.join('%d, ' % d for d in shape) if len(shape) > 1 else '%d,' % shape[0])
    hdr += ' ' * ((64 - (10 + len(hdr) + 1) % 64) % 64) + '\n'
    with open(path, 'wb') as f:
        f.write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(hdr)) + hdr.encode())
        f.write(struct.pack('<%df' % len(vals), *vals))


class G:
    def __init__(self, signed):
        self.inits, self.nodes, self.n = [], [], 0
        self.signed = signed
        self.lo, self.hi = (-128, 127) if signed else (0, 255)
        self.at = 'int8' if signed else 'uint8'

    def init(self, typ, name, vals, shape=None):
        dims = '' if shape is None else '[%s]' % ','.join(map(str, shape))
        fmt = ','.join(('%.9g' % v) if typ == 'float' else str(v) for v in vals)
        self.inits.append('%s%s %s = {%s}' % (typ, dims, name, fmt))

    def qparams(self, name):
        """activation scale / zero point initializers"""
        z = 0 if self.signed else 128 + random.randint(-20, 20)
        return z

    def conv(self, x, xs, xz, cin, cout, k, group=1, attrs='', wz_mid=False, spread=40.0):
        self.n += 1
        i = self.n
        cg = cin // group
        K = cg * k * k
        w = []
        wz = []
        for o in range(cout):
            z = (128 + random.randint(-6, 6)) if not self.signed else 0
            wz.append(z)
            w += [max(self.lo if not self.signed else -127, min(self.hi, z + random.randint(-60, 60)))
                  for _ in range(K)]
        ws = [random.uniform(0.002, 0.01) for _ in range(cout)]
        wt = 'int8' if self.signed else 'uint8'
        self.init(wt, 'w%d' % i, w, [cout, cg, k, k])
        self.init('float', 'w%ds' % i, ws, [cout])
        self.init(wt, 'w%dz' % i, wz, [cout])
        self.init('int32', 'b%d' % i, [random.randint(-3000, 3000) for _ in range(cout)], [cout])
        ys = xs * 0.006 * math.sqrt(K) * 35 * 35 / spread
        yz = 0 if self.signed else 128 + random.randint(-10, 10)
        self.init('float', 's%d' % i, [ys])
        self.init(self.at, 'z%d' % i, [yz])
        sep = ', ' if attrs else ''
        ga = 'group = %d%s' % (group, sep + attrs) if group > 1 else attrs
        self.nodes.append('c%d = QLinearConv%s (%s, %s, %s, w%d, w%ds, w%dz, s%d, z%d, b%d)' % (
            i, ' <%s>' % ga if ga else '', x, xs_name(xs, self), xz, i, i, i, i, i, i))
        self.scales['s%d' % i] = ys
        return 'c%d' % i, ys, 'z%d' % i

    def fc(self, x, xs, xz, K, N):
        self.n += 1
        i = self.n
        wt = 'int8' if self.signed else 'uint8'
        zs = [random.randint(-3, 3) if self.signed else 128 + random.randint(-5, 5) for _ in range(N)]
        w = [max(self.lo, min(self.hi, zs[n] + random.randint(-50, 50))) for _ in range(K) for n in range(N)]
        self.init(wt, 'f%d' % i, w, [K, N])
        self.init('float', 'f%ds' % i, [random.uniform(0.002, 0.01) for _ in range(N)], [N])
        self.init(wt, 'f%dz' % i, zs, [N])
        ys = xs * 0.006 * math.sqrt(K) * 35 * 30 / 40.0
        self.init('float', 's%d' % i, [ys])
        self.init(self.at, 'z%d' % i, [0 if self.signed else 128])
        self.nodes.append('m%d = QLinearMatMul (%s, %s, %s, f%d, f%ds, f%dz, s%d, z%d)' % (
            i, x, xs_name(xs, self), xz, i, i, i, i, i))
        self.scales['s%d' % i] = ys
        return 'm%d' % i, ys, 'z%d' % i


def xs_name(xs, g):
    for k, v in g.scales.items():
        if v == xs:
            return k
    raise KeyError(xs)


def main():
    kind, out, inp = sys.argv[1], sys.argv[2], sys.argv[3]
    random.seed({'s8': 7, 'u8': 11, 'mb': 13, 'big': 5}[kind])
    g = G(kind != 'u8')
    g.scales = {}
    shape = {'s8': [1, 3, 12, 12], 'u8': [2, 4, 11, 11], 'mb': [1, 8, 16, 16], 'big': [1, 8, 16, 16]}[kind]
    s_in = 1 / 64.0
    z_in = 0 if g.signed else 128
    g.init('float', 's_in', [s_in])
    g.init(g.at, 'z_in', [z_in])
    g.scales['s_in'] = s_in
    g.nodes.append('xq = QuantizeLinear (x, s_in, z_in)')
    n, c, h, w = shape
    outs = []
    if kind == 's8':
        a, s, z = g.conv('xq', s_in, 'z_in', 3, 16, 3, attrs='pads = [1,1,1,1]')
        a, s, z = g.conv(a, s, z, 16, 16, 3, group=16, attrs='pads = [1,1,1,1]')
        a, s, z = g.conv(a, s, z, 16, 24, 1)
        g.nodes.append('p = MaxPool <kernel_shape = [2,2], strides = [2,2]> (%s)' % a)
        a, s, z = g.conv('p', s, z, 24, 32, 3, attrs='strides = [2,2], pads = [1,1,1,1]')
        g.nodes.append('fl = Flatten (%s)' % a)
        outs.append(('int8[1,32,3,3]', 'feat', a))
        m, s2, z2 = g.fc('fl', s, z, 32 * 9, 10)
    elif kind == 'u8':
        a, s, z = g.conv('xq', s_in, 'z_in', 4, 8, 5, attrs='dilations = [2,2], auto_pad = "SAME_UPPER"')
        a, s, z = g.conv(a, s, z, 8, 12, 3, group=2, attrs='pads = [1,0,1,2]')
        a, s, z = g.conv(a, s, z, 12, 12, 3, group=12, attrs='strides = [2,2], pads = [1,1,1,1]')
        g.nodes.append('p = MaxPool <kernel_shape = [3,3], strides = [2,2], pads = [1,1,1,1]> (%s)' % a)
        g.nodes.append('fl = Flatten (p)')
        m, s2, z2 = g.fc('fl', s, z, 12 * 3 * 3, 7)
    elif kind == 'mb':
        a, s, z = g.conv('xq', s_in, 'z_in', 8, 48, 1)
        a, s, z = g.conv(a, s, z, 48, 48, 3, group=48, attrs='pads = [1,1,1,1]')
        a, s, z = g.conv(a, s, z, 48, 8, 1)
        g.nodes.append('fl = Flatten (%s)' % a)
        m, s2, z2 = g.fc('fl', s, z, 8 * 16 * 16, 10)
    else:
        a, s, z = g.conv('xq', s_in, 'z_in', 8, 8, 1)
        g.nodes.append('fl = Flatten (%s)' % a)
        m, s2, z2 = g.fc('fl', s, z, 8 * 16 * 16, 560)
    g.nodes.append('y = DequantizeLinear (%s, %s, %s)' % (m, xs_name(s2, g), z2))
    ydims = {'s8': '[1,10]', 'u8': '[2,7]', 'mb': '[1,10]', 'big': '[1,560]'}[kind]
    outs.insert(0, ('float%s' % ydims, 'y', None))
    body = ['<ir_version: 8, opset_import: ["" : 17]>',
            'g (float[%s] x) => (%s)' % (','.join(map(str, shape)),
                                         ', '.join('%s %s' % (t, nm) for t, nm, _ in outs)),
            '<' + ',\n '.join(g.inits) + '> {']
    body += ['  ' + l for l in g.nodes]
    for t, nm, src in outs[1:]:
        body.append('  %s = Identity (%s)' % (nm, src))
    body.append('}')
    with open(out, 'w') as f:
        f.write('\n'.join(body) + '\n')
    total = n * c * h * w
    print(' '.join(nm for _, nm, _ in outs))
    npy(inp, shape, [random.uniform(-1.0, 1.0) * (1.3 if i % 17 == 0 else 1.0) for i in range(total)])


if __name__ == '__main__':
    main()
