/* elem.c - the element-type traits table: one row per ONNX element type (name, bits,
 * storage field, safetensors and NumPy names) with conversions to and from double, and the
 * bit-level codecs for float16, bfloat16, float8 (four kinds plus e8m0) and float4. */
#include "ir.h"

#include <math.h>
#include <string.h>

/* ---- IEEE half and bfloat16 ---- */

float ir_f16_to_f32(uint16_t h) {
  uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023, bits;
  if (e == 31) bits = s | 0x7f800000u | (m << 13);
  else if (e) bits = s | ((e + 112) << 23) | (m << 13);
  else if (!m) bits = s;
  else { /* subnormal: normalize */
    e = 113;
    while (!(m & 1024)) { m <<= 1; e--; }
    bits = s | (e << 23) | ((m & 1023) << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t ir_f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t s = (x >> 16) & 0x8000, e = (x >> 23) & 255, m = x & 0x7fffff;
  if (e == 255) return (uint16_t)(s | 0x7c00 | (m ? 0x200 | (m >> 13) : 0));
  int32_t ne = (int32_t)e - 112;
  if (ne >= 31) return (uint16_t)(s | 0x7c00);
  if (ne <= 0) {
    if (ne < -10) return (uint16_t)s;
    m |= 0x800000;
    uint32_t shift = (uint32_t)(14 - ne), r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1))) r++;
    return (uint16_t)(s | r);
  }
  uint32_t r = ((uint32_t)ne << 10) | (m >> 13), rem = m & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) r++; /* may carry into inf: correct */
  return (uint16_t)(s | r);
}

float ir_bf16_to_f32(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t ir_f32_to_bf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40);
  x += 0x7fff + ((x >> 16) & 1);
  return (uint16_t)(x >> 16);
}

/* ---- minifloats: float8 kinds and float4e2m1 ---- */

typedef struct MiniFloat {
  int ebits, mbits, bias;
  bool ieee_special; /* all-ones exponent is inf/NaN (e5m2) */
  bool fnuz;         /* 0x80 is the only NaN, no -0 */
  bool has_nan;      /* e4m3fn: S.1111.111 is NaN */
} MiniFloat;

static const MiniFloat MF_E4M3FN = {4, 3, 7, false, false, true};
static const MiniFloat MF_E4M3FNUZ = {4, 3, 8, false, true, true};
static const MiniFloat MF_E5M2 = {5, 2, 15, true, false, true};
static const MiniFloat MF_E5M2FNUZ = {5, 2, 16, false, true, true};
static const MiniFloat MF_E2M1 = {2, 1, 1, false, false, false};

static double mf_decode(const MiniFloat *f, unsigned code) {
  int nb = 1 + f->ebits + f->mbits;
  unsigned sign = (code >> (nb - 1)) & 1, e = (code >> f->mbits) & ((1u << f->ebits) - 1),
           m = code & ((1u << f->mbits) - 1), emax = (1u << f->ebits) - 1;
  if (f->fnuz && code == 0x80) return NAN;
  if (f->ieee_special && e == emax) return m ? NAN : (sign ? -INFINITY : INFINITY);
  if (!f->fnuz && !f->ieee_special && f->has_nan && e == emax && m == (1u << f->mbits) - 1) return NAN;
  double v = e ? ldexp(1.0 + ldexp(m, -f->mbits), (int)e - f->bias) : ldexp(m, 1 - f->bias - f->mbits);
  return sign ? -v : v;
}

/* Round-to-nearest-even, saturating to the largest finite value. */
static unsigned mf_encode(const MiniFloat *f, double x) {
  int nb = 1 + f->ebits + f->mbits;
  unsigned sbit = 1u << (nb - 1), ncodes = 1u << (nb - 1);
  if (isnan(x)) return f->fnuz ? 0x80 : f->ieee_special ? 0x7f & (sbit - 1) : (f->has_nan ? sbit - 1 : 0);
  unsigned sign = signbit(x) ? sbit : 0;
  double a = fabs(x);
  if (isinf(x) && f->ieee_special) return sign | ((1u << f->ebits) - 1) << f->mbits;
  /* the positive finite codes are monotonic in value; find the largest finite one */
  unsigned maxc = ncodes - 1;
  while (!isfinite(mf_decode(f, maxc)) || (f->fnuz && maxc == 0)) maxc--;
  if (a >= mf_decode(f, maxc)) return sign | maxc;
  unsigned lo = 0, hi = maxc; /* decode(lo) <= a < decode(hi) */
  while (hi - lo > 1) {
    unsigned mid = (lo + hi) / 2;
    if (mf_decode(f, mid) <= a) lo = mid;
    else hi = mid;
  }
  double dl = a - mf_decode(f, lo), dh = mf_decode(f, hi) - a;
  unsigned c = dl < dh ? lo : dh < dl ? hi : ((lo & 1) ? hi : lo);
  if (c == 0 && f->fnuz) return 0; /* no negative zero */
  return sign | c;
}

/* float8e8m0: 2^(e-127), 0xff NaN, no sign, no zero; rounds up like ONNX's default. */
static double e8m0_decode(unsigned c) {
  return c == 0xff ? NAN : ldexp(1.0, (int)c - 127);
}
static unsigned e8m0_encode(double x) {
  if (isnan(x) || isinf(x) || x < 0) return 0xff;
  if (x <= ldexp(1.0, -127)) return 0;
  int e;
  double fr = frexp(x, &e); /* x = fr * 2^e, fr in [0.5,1) */
  int p = fr == 0.5 ? e - 1 : e; /* round up to a power of two */
  p += 127;
  return p > 254 ? 254 : (unsigned)p;
}

/* ---- element accessors ---- */

#define RD(T)                                                                                  \
  static double rd_##T(const void *d, size_t i) {                                              \
    T v;                                                                                       \
    memcpy(&v, (const char *)d + i * sizeof v, sizeof v);                                      \
    return (double)v;                                                                          \
  }
RD(float)
RD(double)
RD(int8_t)
RD(uint8_t)
RD(int16_t)
RD(uint16_t)
RD(int32_t)
RD(uint32_t)
RD(int64_t)
RD(uint64_t)

static double sat_round(double x, double lo, double hi) {
  if (isnan(x)) return 0;
  x = nearbyint(x);
  return x < lo ? lo : x > hi ? hi : x;
}

#define WR_INT(T, lo, hi)                                                                      \
  static void wr_##T(void *d, size_t i, double x) {                                            \
    T v = (T)sat_round(x, lo, hi);                                                             \
    memcpy((char *)d + i * sizeof v, &v, sizeof v);                                            \
  }
WR_INT(int8_t, INT8_MIN, INT8_MAX)
WR_INT(uint8_t, 0, UINT8_MAX)
WR_INT(int16_t, INT16_MIN, INT16_MAX)
WR_INT(uint16_t, 0, UINT16_MAX)
WR_INT(int32_t, INT32_MIN, INT32_MAX)
WR_INT(uint32_t, 0, UINT32_MAX)
WR_INT(int64_t, -9223372036854775808.0, 9223372036854774784.0)
WR_INT(uint64_t, 0, 18446744073709549568.0)

static void wr_float(void *d, size_t i, double x) {
  float v = (float)x;
  memcpy((char *)d + i * 4, &v, 4);
}
static void wr_double(void *d, size_t i, double x) {
  memcpy((char *)d + i * 8, &x, 8);
}
static double rd_bool(const void *d, size_t i) {
  return ((const uint8_t *)d)[i] ? 1 : 0;
}
static void wr_bool(void *d, size_t i, double x) {
  ((uint8_t *)d)[i] = x != 0;
}
static double rd_f16(const void *d, size_t i) {
  uint16_t h;
  memcpy(&h, (const char *)d + 2 * i, 2);
  return ir_f16_to_f32(h);
}
/* Round a double to a 16-bit float format once: the float32 rounding may have rounded
 * already (double rounding), so settle between the candidate and its neighbour toward x,
 * ties to the even encoding. */
static uint16_t round16(double x, uint16_t (*enc)(float), float (*dec)(uint16_t)) {
  uint16_t h = enc((float)x);
  double v = dec(h);
  if (isnan(x) || isinf(v) || v == x) return h;
  bool up_mag = fabs(x) > fabs(v); /* the other candidate lies further from zero */
  uint16_t o = (uint16_t)(up_mag ? h + 1 : h - 1);
  if (v == 0 && !up_mag) return h;
  double w = dec(o);
  if (isinf(w) && fabs(x) < fabs(w)) {
    /* beyond the largest finite value: keep the rounding float32 chose */
    return h;
  }
  double dv = fabs(x - v), dw = fabs(x - w);
  if (dw < dv || (dw == dv && !(o & 1))) return o;
  return h;
}
static void wr_f16(void *d, size_t i, double x) {
  uint16_t h = round16(x, ir_f32_to_f16, ir_f16_to_f32);
  memcpy((char *)d + 2 * i, &h, 2);
}
static double rd_bf16(const void *d, size_t i) {
  uint16_t h;
  memcpy(&h, (const char *)d + 2 * i, 2);
  return ir_bf16_to_f32(h);
}
static void wr_bf16(void *d, size_t i, double x) {
  uint16_t h = round16(x, ir_f32_to_bf16, ir_bf16_to_f32);
  memcpy((char *)d + 2 * i, &h, 2);
}
/* complex: the real part */
static double rd_c64(const void *d, size_t i) {
  return rd_float(d, 2 * i);
}
static void wr_c64(void *d, size_t i, double x) {
  wr_float(d, 2 * i, x);
  wr_float(d, 2 * i + 1, 0);
}
static double rd_c128(const void *d, size_t i) {
  return rd_double(d, 2 * i);
}
static void wr_c128(void *d, size_t i, double x) {
  wr_double(d, 2 * i, x);
  wr_double(d, 2 * i + 1, 0);
}

#define MF_RW(name, fmt)                                                                       \
  static double rd_##name(const void *d, size_t i) {                                           \
    return mf_decode(&fmt, ((const uint8_t *)d)[i]);                                           \
  }                                                                                            \
  static void wr_##name(void *d, size_t i, double x) {                                         \
    ((uint8_t *)d)[i] = (uint8_t)mf_encode(&fmt, x);                                           \
  }
MF_RW(e4m3fn, MF_E4M3FN)
MF_RW(e4m3fnuz, MF_E4M3FNUZ)
MF_RW(e5m2, MF_E5M2)
MF_RW(e5m2fnuz, MF_E5M2FNUZ)
static double rd_e8m0(const void *d, size_t i) {
  return e8m0_decode(((const uint8_t *)d)[i]);
}
static void wr_e8m0(void *d, size_t i, double x) {
  ((uint8_t *)d)[i] = (uint8_t)e8m0_encode(x);
}

/* sub-byte: `bits` per element, packed low bits first */
static unsigned sub_get(const void *d, size_t i, int bits) {
  size_t per = 8 / (size_t)bits;
  return (((const uint8_t *)d)[i / per] >> ((i % per) * (size_t)bits)) & ((1u << bits) - 1);
}
static void sub_set(void *d, size_t i, int bits, unsigned v) {
  size_t per = 8 / (size_t)bits, sh = (i % per) * (size_t)bits;
  uint8_t *p = (uint8_t *)d + i / per, mask = (uint8_t)(((1u << bits) - 1) << sh);
  *p = (uint8_t)((*p & ~mask) | ((v << sh) & mask));
}
static double rd_u4(const void *d, size_t i) {
  return sub_get(d, i, 4);
}
static double rd_i4(const void *d, size_t i) {
  unsigned v = sub_get(d, i, 4);
  return v >= 8 ? (double)v - 16 : v;
}
static double rd_u2(const void *d, size_t i) {
  return sub_get(d, i, 2);
}
static double rd_i2(const void *d, size_t i) {
  unsigned v = sub_get(d, i, 2);
  return v >= 2 ? (double)v - 4 : v;
}
static void wr_u4(void *d, size_t i, double x) {
  sub_set(d, i, 4, (unsigned)sat_round(x, 0, 15));
}
static void wr_i4(void *d, size_t i, double x) {
  sub_set(d, i, 4, (unsigned)(int)sat_round(x, -8, 7) & 15);
}
static void wr_u2(void *d, size_t i, double x) {
  sub_set(d, i, 2, (unsigned)sat_round(x, 0, 3));
}
static void wr_i2(void *d, size_t i, double x) {
  sub_set(d, i, 2, (unsigned)(int)sat_round(x, -2, 1) & 3);
}
static double rd_f4(const void *d, size_t i) {
  return mf_decode(&MF_E2M1, sub_get(d, i, 4));
}
static void wr_f4(void *d, size_t i, double x) {
  sub_set(d, i, 4, mf_encode(&MF_E2M1, x));
}

/* ---- the table ---- */

/* Storage field and codecs per type, joined with the IR_ELEM_TYPES list below. */
#define CODEC_UNDEFINED STORE_NONE, NULL, NULL
#define CODEC_FLOAT STORE_FLOAT, rd_float, wr_float
#define CODEC_UINT8 STORE_INT32, rd_uint8_t, wr_uint8_t
#define CODEC_INT8 STORE_INT32, rd_int8_t, wr_int8_t
#define CODEC_UINT16 STORE_INT32, rd_uint16_t, wr_uint16_t
#define CODEC_INT16 STORE_INT32, rd_int16_t, wr_int16_t
#define CODEC_INT32 STORE_INT32, rd_int32_t, wr_int32_t
#define CODEC_INT64 STORE_INT64, rd_int64_t, wr_int64_t
#define CODEC_STRING STORE_STRING, NULL, NULL
#define CODEC_BOOL STORE_INT32, rd_bool, wr_bool
#define CODEC_FLOAT16 STORE_INT32, rd_f16, wr_f16
#define CODEC_DOUBLE STORE_DOUBLE, rd_double, wr_double
#define CODEC_UINT32 STORE_UINT64, rd_uint32_t, wr_uint32_t
#define CODEC_UINT64 STORE_UINT64, rd_uint64_t, wr_uint64_t
#define CODEC_COMPLEX64 STORE_FLOAT, rd_c64, wr_c64
#define CODEC_COMPLEX128 STORE_DOUBLE, rd_c128, wr_c128
#define CODEC_BFLOAT16 STORE_INT32, rd_bf16, wr_bf16
#define CODEC_FLOAT8E4M3FN STORE_INT32, rd_e4m3fn, wr_e4m3fn
#define CODEC_FLOAT8E4M3FNUZ STORE_INT32, rd_e4m3fnuz, wr_e4m3fnuz
#define CODEC_FLOAT8E5M2 STORE_INT32, rd_e5m2, wr_e5m2
#define CODEC_FLOAT8E5M2FNUZ STORE_INT32, rd_e5m2fnuz, wr_e5m2fnuz
#define CODEC_UINT4 STORE_INT32, rd_u4, wr_u4
#define CODEC_INT4 STORE_INT32, rd_i4, wr_i4
#define CODEC_FLOAT4E2M1 STORE_INT32, rd_f4, wr_f4
#define CODEC_FLOAT8E8M0 STORE_INT32, rd_e8m0, wr_e8m0
#define CODEC_UINT2 STORE_INT32, rd_u2, wr_u2
#define CODEC_INT2 STORE_INT32, rd_i2, wr_i2

const ElemTraits ir_elem_traits[ELEM_COUNT] = {
#define X(e, num, nm, bits, st, npy, isf, sgn) [ELEM_##e] = {nm, bits, st, npy, isf, sgn, CODEC_##e},
    IR_ELEM_TYPES(X)
#undef X
};
_Static_assert(sizeof ir_elem_traits / sizeof ir_elem_traits[0] == ELEM_COUNT, "one row per type");

const ElemTraits *ir_elem(ElemType t) {
  if ((int)t < 0 || (int)t >= ELEM_COUNT) t = ELEM_UNDEFINED;
  return &ir_elem_traits[t];
}

bool ir_elem_valid(int t) {
  return t > 0 && t < ELEM_COUNT;
}

ElemType ir_elem_from_name(const char *name, size_t len) {
  for (int i = 1; i < ELEM_COUNT; i++) {
    const char *n = ir_elem_traits[i].name;
    if (strlen(n) == len && !memcmp(n, name, len)) return (ElemType)i;
  }
  return ELEM_UNDEFINED;
}

bool ir_elem_nbytes(ElemType t, uint64_t n, size_t *out) {
  if (t == ELEM_STRING) {
    if (n > SIZE_MAX / sizeof(IrStr)) return false;
    *out = (size_t)n * sizeof(IrStr);
    return true;
  }
  int bits = ir_elem(t)->bits;
  if (bits == 0) return false;
  if (n > UINT64_MAX / (uint64_t)bits) return false;
  uint64_t b = (n * (uint64_t)bits + 7) / 8;
  if (b > SIZE_MAX) return false;
  *out = (size_t)b;
  return true;
}

size_t ir_elem_align(ElemType t) {
  const ElemTraits *e = ir_elem(t);
  if (e->bits < 8) return 1;
  bool complex = t == ELEM_COMPLEX64 || t == ELEM_COMPLEX128;
  return (size_t)e->bits / (complex ? 16 : 8);
}

void ir_elem_int_limits(ElemType t, int64_t *lo, int64_t *hi) {
  bool sgn = ir_elem(t)->is_signed;
  int bits = t == ELEM_BOOL ? 1 : ir_elem(t)->bits;
  *lo = sgn ? (bits == 64 ? INT64_MIN : -((int64_t)1 << (bits - 1))) : 0;
  *hi = sgn ? (bits == 64 ? INT64_MAX : ((int64_t)1 << (bits - 1)) - 1)
            : (bits == 64 ? -1 : (int64_t)(((uint64_t)1 << bits) - 1));
}
