/* ew.c - scalar helpers of elementwise operators that need more than an expression: exact
 * integer powers and numpy's float-to-integer conversion. Used by the interpreter
 * (k_elementwise.c, k_cast.c) and by emitted code (op_eltwise.c). */
#include "kern.h"

/* x ** y in wrapping 64-bit integer arithmetic; signed negative exponents give 1, -1 or 0
 * (unsigned selects uint64 semantics, where y is never negative). */
EFFC_KERN int64_t effc_ipow(int64_t x, int64_t y, int is_unsigned) {
  if (!is_unsigned && y < 0) return x == 1 ? 1 : x == -1 ? ((y & 1) ? -1 : 1) : 0;
  uint64_t r = 1, b = (uint64_t)x, e = (uint64_t)y;
  while (e) {
    if (e & 1) r *= b;
    b *= b;
    e >>= 1;
  }
  return (int64_t)r;
}

/* numpy's astype from float to an integer type, as x86 does it: truncate toward zero; NaN
 * and out-of-range values give the "integer indefinite" 0x8000...; the caller wraps the
 * bits to the target width. to_u64 accepts [2^63, 2^64) as well. */
EFFC_KERN uint64_t effc_f2i(double x, int to_u64) {
  if (x != x) return 0x8000000000000000ull;
  double t = trunc(x);
  if (t >= -9223372036854775808.0 && t < 9223372036854775808.0) return (uint64_t)(int64_t)t;
  if (to_u64 && t >= 0 && t < 18446744073709551616.0) return (uint64_t)t;
  return 0x8000000000000000ull;
}

/* IEEE half precision bits <-> values: exact widening, and rounding to nearest even from
 * double in one step (no double rounding through float); overflow gives infinity. */
EFFC_KERN float effc_f16_to_f32(uint16_t h) {
  int e = (h >> 10) & 31, m = h & 1023;
  float v = e == 0 ? ldexpf((float)m, -24) : e == 31 ? (m ? NAN : INFINITY)
                                                     : ldexpf((float)(m | 1024), e - 25);
  return (h & 0x8000) ? -v : v;
}

EFFC_KERN uint16_t effc_f64_to_f16(double x) {
  uint16_t sign = signbit(x) ? 0x8000 : 0;
  if (x != x) return (uint16_t)(sign | 0x7e00);
  double a = fabs(x);
  if (a >= 65520.0) return (uint16_t)(sign | 0x7c00); /* 65520 and above round to inf */
  if (a < 0x1p-14) return (uint16_t)(sign | (uint16_t)nearbyint(a * 0x1p24)); /* subnormal */
  int e;
  frexp(a, &e); /* a = m * 2^e, m in [0.5, 1): the exponent is e - 1 */
  double q = nearbyint(ldexp(a, 11 - e)); /* 1.mmmmmmmmmm as an integer in [1024, 2048] */
  int E = e - 1;
  if (q >= 2048) q /= 2, E++;
  if (E > 15) return (uint16_t)(sign | 0x7c00);
  return (uint16_t)(sign | (E + 15) << 10 | ((int)q - 1024));
}
