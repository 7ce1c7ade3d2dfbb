#!/usr/bin/python3
"""Generate f32_shortest.txt and f64_shortest.txt: random bit patterns and numpy's shortest
round-trip digits (Dragon4, unique=True) in scientific form, as an independent oracle for
ir_format_f32 / ir_format_f64. Each line: <hex bits> <numpy scientific text>."""
import numpy as np

rng = np.random.default_rng(20240611)

def special32():
    vals = [1e-45, 1.4e-45, 3.4028235e38, 1.17549435e-38, 0.1, 1/3, 2/3, 6.2831855, 16777216, 16777217,
            1e10, 1e-5, 2e-4, 123456789, 0.3, 100000, 8388608.5, 1e-38, 9.999999e-39]
    bits = [np.float32(v).view(np.uint32) for v in vals]
    bits += [np.uint32(1 << 23) * k for k in range(1, 255, 7)]          # powers of two
    bits += [np.uint32(k) for k in range(1, 40)]                         # denormals
    return bits

def main():
    with open("f32_shortest.txt", "w") as f:
        b32 = list(special32()) + list(rng.integers(0, 2**32, 1500, dtype=np.uint64).astype(np.uint32))
        for b in b32:
            x = np.uint32(b).view(np.float32)
            if not np.isfinite(x) or x == 0:
                continue
            f.write("%08x %s\n" % (int(b), np.format_float_scientific(x, unique=True, trim="-")))
    with open("f64_shortest.txt", "w") as f:
        b64 = [np.float64(v).view(np.uint64) for v in (0.1, 1e300, 5e-324, 1/3, 2**-1074 * 3, 1.7976931348623157e308)]
        b64 += list(rng.integers(0, 2**63, 1500, dtype=np.uint64) * 2 + rng.integers(0, 2, 1500, dtype=np.uint64))
        for b in b64:
            x = np.uint64(b).view(np.float64)
            if not np.isfinite(x) or x == 0:
                continue
            f.write("%016x %s\n" % (int(b), np.format_float_scientific(x, unique=True, trim="-")))

if __name__ == "__main__":
    main()
