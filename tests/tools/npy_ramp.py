"""npy_ramp.py OUT.npy D0,D1,... - write a float32 .npy of that shape holding a fixed
pseudo-random ramp in [-1, 1) (test inputs without numpy)."""
import struct
import sys

shape = tuple(int(d) for d in sys.argv[2].split(','))
n = 1
for d in shape:
    n *= d
header = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % (shape,)
header += ' ' * (63 - (len(header) + 10) % 64) + '\n'
with open(sys.argv[1], 'wb') as f:
    f.write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(header)) + header.encode())
    f.write(struct.pack('<%df' % n, *[((i * 37) % 23) / 11.0 - 1.0 for i in range(n)]))
