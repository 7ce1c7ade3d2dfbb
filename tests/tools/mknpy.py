#!/usr/bin/env python3
"""mknpy.py OUT.npy DESCR SHAPE [VALUES] - write a small .npy (v1, C order) for tests.

DESCR is a numpy descr ('<f4', '<i8', '|b1', '>f4', ...), SHAPE comma-separated dims ('' for
a scalar), VALUES comma-separated numbers (omitted: 0.5*i - 1 for element i, cast to the
type). Needs no numpy.
"""
import struct
import sys

CODES = {'f4': 'f', 'f8': 'd', 'i1': 'b', 'u1': 'B', 'i2': 'h', 'u2': 'H', 'i4': 'i', 'u4': 'I',
         'i8': 'q', 'u8': 'Q', 'b1': '?'}


def main():
    out, descr, shape = sys.argv[1], sys.argv[2], sys.argv[3]
    dims = [int(d) for d in shape.split(',') if d.strip()]
    n = 1
    for d in dims:
        n *= d
    code = CODES[descr[1:]]
    if len(sys.argv) > 4:
        vals = [float(v) for v in sys.argv[4].split(',')]
    else:
        vals = [0.5 * i - 1 for i in range(n)]
    if len(vals) != n:
        sys.exit('mknpy: %d values for %d elements' % (len(vals), n))
    if code not in 'fd':
        vals = [bool(v) if code == '?' else int(v) for v in vals]
    order = '>' if descr[0] == '>' else '<'
    tup = '(' + ''.join('%d, ' % d for d in dims).rstrip(' ') + ')' if len(dims) != 1 else '(%d,)' % dims[0]
    if not dims:
        tup = '()'
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, tup)
    h += ' ' * ((64 - (10 + len(h) + 1) % 64) % 64) + '\n'
    with open(out, 'wb') as f:
        f.write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h.encode())
        f.write(struct.pack(order + code * n, *vals))


if __name__ == '__main__':
    main()
