#!/usr/bin/python3
"""Check the .npy files test_npy.c wrote (argv[1] = their directory): each must load with
numpy.load to the expected values, and be byte-identical to what numpy.save writes for them.
Exit status 0 if all match; prints each mismatch otherwise."""
import io
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen import STRINGS, VALUES  # noqa: E402


def expected():
    out = {}
    for key, (dt, vals) in VALUES.items():
        out['w_%s.npy' % key] = np.array(vals, dtype=np.dtype(dt).newbyteorder('<')).reshape(2, 3)
    out['w_str.npy'] = np.array(STRINGS).reshape(2, 3)
    out['w_scalar.npy'] = np.array(3.25, dtype='<f8')
    out['w_empty.npy'] = np.zeros((0, 3), dtype='<f4')
    out['w_1d.npy'] = np.arange(5, dtype='<i4')
    out['w_3d.npy'] = np.arange(24, dtype='<i2').reshape(2, 3, 4)
    out['w_bf16.npy'] = np.array([1.0, 1.015625, -3.0, np.inf], dtype='<f4')
    out['w_int4.npy'] = np.array([-8, -1, 0, 1, 7], dtype='i1')
    out['w_uint4.npy'] = np.array([0, 15, 3], dtype='u1')
    out['w_int2.npy'] = np.array([-2, -1, 0, 1], dtype='i1')
    out['w_uint2.npy'] = np.array([0, 1, 2, 3, 3], dtype='u1')
    out['w_f4e2m1.npy'] = np.array([0, 15, 9], dtype='u1')
    out['w_f8e4m3fn.npy'] = np.array([0x00, 0x7e, 0xff], dtype='u1')
    return out


def main(d):
    bad = 0
    for name, want in expected().items():
        path = os.path.join(d, name)
        try:
            got = np.load(path, allow_pickle=False)
        except Exception as e:  # noqa: BLE001 - report anything numpy refuses
            print('%s: numpy.load failed: %s' % (name, e), file=sys.stderr)
            bad += 1
            continue
        if got.dtype != want.dtype or got.shape != want.shape:
            print('%s: dtype/shape %s %s, want %s %s' % (name, got.dtype, got.shape, want.dtype, want.shape), file=sys.stderr)
            bad += 1
            continue
        if got.tobytes() != want.tobytes():
            print('%s: values %r, want %r' % (name, got, want), file=sys.stderr)
            bad += 1
            continue
        buf = io.BytesIO()
        np.save(buf, want, allow_pickle=False)
        with open(path, 'rb') as f:
            if f.read() != buf.getvalue():
                print('%s: bytes differ from numpy.save' % name, file=sys.stderr)
                bad += 1
    print('%d files checked, %d bad' % (len(expected()), bad), file=sys.stderr)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
