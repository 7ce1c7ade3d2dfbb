#!/usr/bin/python3
"""Generate the .npy fixtures for tests/unit/test_npy.c with NumPy itself (run with Debian's
/usr/bin/python3, numpy 1.24). The values below are mirrored, as literals, in test_npy.c and in
check_written.py; numpy's encoding of them is the independent reference."""
import io
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# (name, numpy dtype, six values) - every dtype an ONNX tensor can be read from
VALUES = {
    'b1': ('?', [True, False, True, True, False, False]),
    'i1': ('i1', [0, 1, -1, 127, -128, 42]),
    'u1': ('u1', [0, 1, 255, 128, 42, 7]),
    'i2': ('i2', [0, 1, -1, 32767, -32768, 1234]),
    'u2': ('u2', [0, 1, 65535, 32768, 1234, 7]),
    'i4': ('i4', [0, 1, -1, 2147483647, -2147483648, 123456]),
    'u4': ('u4', [0, 1, 4294967295, 2147483648, 123456, 7]),
    'i8': ('i8', [0, 1, -1, 9223372036854775807, -9223372036854775808, 1234567890123]),
    'u8': ('u8', [0, 1, 18446744073709551615, 9223372036854775808, 1234567890123, 7]),
    'f2': ('f2', [0.0, -0.0, 1.5, -2.25, 65504.0, float('inf')]),
    'f4': ('f4', [0.0, -0.0, 1.5, -2.25, 0.1, float('inf')]),
    'f8': ('f8', [0.0, -0.0, 1.5, -2.25, 0.1, float('-inf')]),
    'c8': ('c8', [1 + 2j, -0.5 + 0.25j, 0j, 3.5 - 1j, 0.1 + 0j, complex(-0.0, 1e-3)]),
    'c16': ('c16', [1 + 2j, -0.5 + 0.25j, 0j, 3.5 - 1j, 0.1 + 0j, complex(-0.0, 1e-3)]),
}
STRINGS = ['h\u00e9llo', '', 'a\u2603b', '\U0001d11ex', 'plain', 'tab\there']


def save(name, arr, version=None):
    path = os.path.join(HERE, name)
    with open(path, 'wb') as f:
        if version is None:
            np.save(f, arr, allow_pickle=False)
        else:
            np.lib.format.write_array(f, arr, version=version, allow_pickle=False)


def main():
    for key, (dt, vals) in VALUES.items():
        a = np.array(vals, dtype=dt).reshape(2, 3)
        if a.dtype.itemsize == 1:
            save('%s.npy' % key, a)
        else:
            save('%s_le.npy' % key, a.astype(a.dtype.newbyteorder('<')))
            save('%s_be.npy' % key, a.astype(a.dtype.newbyteorder('>')))
    # Fortran order: element at C index k holds k
    save('f4_fortran.npy', np.asfortranarray(np.arange(24, dtype='<f4').reshape(2, 3, 4)))
    save('i8_be_fortran.npy', np.asfortranarray(np.arange(24, dtype='>i8').reshape(4, 3, 2)))
    save('u_fortran.npy', np.asfortranarray(np.array(STRINGS).reshape(2, 3)))
    # header versions 2.0 and 3.0
    save('f8_v2.npy', np.arange(6, dtype='<f8').reshape(3, 2), version=(2, 0))
    save('u_v3.npy', np.array(STRINGS).reshape(2, 3), version=(3, 0))
    # strings
    save('u_le.npy', np.array(STRINGS).reshape(2, 3))
    save('u_be.npy', np.array(STRINGS, dtype='>U8').reshape(2, 3))
    save('s.npy', np.array([b'ab', b'', b'xyz\x00q']))
    # 0-d and empty arrays
    save('scalar_f4.npy', np.array(3.5, dtype='<f4'))
    save('scalar_u.npy', np.array('hi'))
    save('empty_f4.npy', np.zeros((0, 3), dtype='<f4'))
    save('empty_i8.npy', np.zeros((2, 0), dtype='<i8'))
    # carriers for types numpy lacks
    save('bf16_src.npy', np.array([1.0, 1.00390625, 1.01171875, -3.0, np.inf, np.nan, 65504.0, -0.0],
                                  dtype='<f4'))
    save('int4_src.npy', np.array([-8, -1, 0, 1, 7], dtype='i1'))
    save('int4_bad.npy', np.array([0, 8], dtype='i1'))
    save('uint2_src.npy', np.array([0, 1, 2, 3, 3], dtype='u1'))
    save('f8e4m3_src.npy', np.array([0x00, 0x7e, 0xff, 0x38], dtype='u1'))
    # rejected: object arrays (a pickle inside) and structured dtypes
    with open(os.path.join(HERE, 'object.npy'), 'wb') as f:
        np.save(f, np.array([1, 'a', None], dtype=object), allow_pickle=True)
    save('structured.npy', np.zeros(2, dtype=[('a', '<f4'), ('b', '<i4')]))
    return 0


if __name__ == '__main__':
    sys.exit(main())
