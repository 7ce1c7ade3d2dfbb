/* k_cast.c - element-type conversion kernels: Cast, CastLike, BitCast, and the
 * quantization family (QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
 * MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv), on one conversion core. */
#include "runtime.h"
#include "kern.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ raw element bits */

static int ebits(ElemType t) {
  return ir_elem(t)->bits;
}

/* The stored bit pattern of element i (packed sub-byte types low bits first). */
static uint64_t ld_bits(const void *data, int bits, uint64_t i) {
  const uint8_t *p = data;
  switch (bits) {
  case 2: return (p[i / 4] >> ((i % 4) * 2)) & 3u;
  case 4: return (p[i / 2] >> ((i % 2) * 4)) & 15u;
  case 8: return p[i];
  case 16: { uint16_t v; memcpy(&v, p + 2 * i, 2); return v; }
  case 32: { uint32_t v; memcpy(&v, p + 4 * i, 4); return v; }
  case 64: { uint64_t v; memcpy(&v, p + 8 * i, 8); return v; }
  default: return 0;
  }
}

static void st_bits(void *data, int bits, uint64_t i, uint64_t v) {
  uint8_t *p = data;
  switch (bits) {
  case 2: {
    unsigned sh = (unsigned)(i % 4) * 2;
    p[i / 4] = (uint8_t)((p[i / 4] & ~(3u << sh)) | ((v & 3u) << sh));
    break;
  }
  case 4: {
    unsigned sh = (unsigned)(i % 2) * 4;
    p[i / 2] = (uint8_t)((p[i / 2] & ~(15u << sh)) | ((v & 15u) << sh));
    break;
  }
  case 8: p[i] = (uint8_t)v; break;
  case 16: { uint16_t w = (uint16_t)v; memcpy(p + 2 * i, &w, 2); break; }
  case 32: { uint32_t w = (uint32_t)v; memcpy(p + 4 * i, &w, 4); break; }
  case 64: memcpy(p + 8 * i, &v, 8); break;
  default: break;
  }
}

static int64_t sext(uint64_t v, int bits) {
  if (bits >= 64) return (int64_t)v;
  uint64_t m = 1ull << (bits - 1);
  v &= (m << 1) - 1;
  return (int64_t)((v ^ m) - m);
}

/* ------------------------------------------------------------------ type classes */

typedef enum { CL_INT, CL_UINT, CL_BOOL, CL_FLOAT, CL_STRING, CL_OTHER } Class;

static Class elem_class(ElemType t) {
  switch (t) {
  case ELEM_INT8: case ELEM_INT16: case ELEM_INT32: case ELEM_INT64: case ELEM_INT4:
  case ELEM_INT2:
    return CL_INT;
  case ELEM_UINT8: case ELEM_UINT16: case ELEM_UINT32: case ELEM_UINT64: case ELEM_UINT4:
  case ELEM_UINT2:
    return CL_UINT;
  case ELEM_BOOL: return CL_BOOL;
  case ELEM_FLOAT: case ELEM_DOUBLE: case ELEM_FLOAT16: case ELEM_BFLOAT16:
  case ELEM_FLOAT8E4M3FN: case ELEM_FLOAT8E4M3FNUZ: case ELEM_FLOAT8E5M2:
  case ELEM_FLOAT8E5M2FNUZ: case ELEM_FLOAT4E2M1: case ELEM_FLOAT8E8M0:
    return CL_FLOAT;
  case ELEM_STRING: return CL_STRING;
  default: return CL_OTHER;
  }
}

/* ------------------------------------------------------------------ small float formats */

/* How a format spends its top exponent: IEEE (inf and NaNs), FN (only S.1111.111 is NaN),
 * FNUZ (0x80 is the one NaN, no -0, no inf), PLAIN (no inf, no NaN: float4e2m1). */
typedef enum { MF_IEEE, MF_FN, MF_FNUZ, MF_PLAIN } MfKind;
typedef struct Mf {
  int ebits, mbits, bias;
  MfKind kind;
} Mf;

static const Mf *mf_of(ElemType t) {
  static const Mf f16 = {5, 10, 15, MF_IEEE}, bf16 = {8, 7, 127, MF_IEEE},
                  e4m3fn = {4, 3, 7, MF_FN}, e4m3fnuz = {4, 3, 8, MF_FNUZ},
                  e5m2 = {5, 2, 15, MF_IEEE}, e5m2fnuz = {5, 2, 16, MF_FNUZ},
                  e2m1 = {2, 1, 1, MF_PLAIN};
  switch (t) {
  case ELEM_FLOAT16: return &f16;
  case ELEM_BFLOAT16: return &bf16;
  case ELEM_FLOAT8E4M3FN: return &e4m3fn;
  case ELEM_FLOAT8E4M3FNUZ: return &e4m3fnuz;
  case ELEM_FLOAT8E5M2: return &e5m2;
  case ELEM_FLOAT8E5M2FNUZ: return &e5m2fnuz;
  case ELEM_FLOAT4E2M1: return &e2m1;
  default: return NULL;
  }
}

static double mf_decode(const Mf *f, uint64_t code) {
  int nb = 1 + f->ebits + f->mbits;
  uint64_t sbit = 1ull << (nb - 1), emaxf = (1u << f->ebits) - 1, mmask = (1u << f->mbits) - 1;
  uint64_t e = (code >> f->mbits) & emaxf, m = code & mmask;
  bool neg = (code & sbit) != 0;
  if (f->kind == MF_FNUZ && code == sbit) return NAN;
  if (f->kind == MF_IEEE && e == emaxf) return m ? NAN : neg ? -INFINITY : INFINITY;
  if (f->kind == MF_FN && e == emaxf && m == mmask) return NAN;
  double v = e ? ldexp((double)(m | (1ull << f->mbits)), (int)e - f->bias - f->mbits)
               : ldexp((double)m, 1 - f->bias - f->mbits);
  return neg ? -v : v;
}

static uint64_t mf_maxcode(const Mf *f) {
  uint64_t emaxf = (1u << f->ebits) - 1, mmask = (1u << f->mbits) - 1;
  switch (f->kind) {
  case MF_IEEE: return ((emaxf - 1) << f->mbits) | mmask;
  case MF_FN: return (emaxf << f->mbits) | (mmask - 1);
  default: return (emaxf << f->mbits) | mmask;
  }
}

/* The code of a value too large for the format: the largest finite value when saturating,
 * else infinity (IEEE) or NaN. */
static uint64_t mf_overflow(const Mf *f, uint64_t sign, bool sat) {
  uint64_t emaxf = (1u << f->ebits) - 1, mmask = (1u << f->mbits) - 1;
  if (sat || f->kind == MF_PLAIN) return sign | mf_maxcode(f);
  switch (f->kind) {
  case MF_IEEE: return sign | (emaxf << f->mbits);
  case MF_FN: return sign | (emaxf << f->mbits) | mmask;
  default: return 1ull << (f->ebits + f->mbits); /* FNUZ NaN */
  }
}

/* Round x to nearest even. sat: out-of-range values (and infinities) become the largest
 * finite value; else infinity or NaN as the format has them. */
static uint64_t mf_encode(const Mf *f, double x, bool sat) {
  int nb = 1 + f->ebits + f->mbits;
  uint64_t sbit = 1ull << (nb - 1), emaxf = (1u << f->ebits) - 1, mmask = (1u << f->mbits) - 1;
  if (isnan(x)) {
    switch (f->kind) {
    case MF_IEEE: return (emaxf << f->mbits) | (1ull << (f->mbits - 1));
    case MF_FN: return (emaxf << f->mbits) | mmask;
    default: return sbit; /* FNUZ NaN; float4e2m1 has none, ONNX writes 0x8 (-0) */
    }
  }
  uint64_t sign = signbit(x) ? sbit : 0;
  double a = fabs(x);
  if (isinf(a)) return mf_overflow(f, sign, sat);
  uint64_t zero = f->kind == MF_FNUZ ? 0 : sign;
  if (a == 0) return zero;
  int emin = 1 - f->bias, e;
  frexp(a, &e);
  int E = e - 1 < emin ? emin : e - 1;
  double r = nearbyint(ldexp(a, f->mbits - E)); /* a in units of the quantum, rounded */
  if (r == 0) return zero;
  if (ldexp(r, E - f->mbits) > mf_decode(f, mf_maxcode(f))) return mf_overflow(f, sign, sat);
  uint64_t q = (uint64_t)r;
  if (q >> (f->mbits + 1)) { q >>= 1; E++; } /* rounding carried into the next binade */
  if (q < (1ull << f->mbits)) return sign | q; /* subnormal */
  return sign | ((uint64_t)(E + f->bias) << f->mbits) | (q & mmask);
}

/* float8e8m0: 2^(c-127), 0xff NaN, no sign, no zero. ONNX converts through float32 bits:
 * the exponent field, moved by round_mode on the mantissa. */
enum { E8_UP, E8_DOWN, E8_NEAREST };
static double e8m0_decode(uint64_t c) {
  return c == 0xff ? NAN : ldexp(1.0, (int)c - 127);
}
static uint64_t e8m0_encode(double x, bool sat, int mode) {
  float f = (float)x;
  uint32_t b;
  memcpy(&b, &f, 4);
  uint32_t e = (b >> 23) & 0xff, m = b & 0x7fffff;
  if (e == 0xff) return 0xff;
  bool up = false;
  if (mode == E8_UP) up = m != 0;
  else if (mode == E8_NEAREST) up = (m & 0x400000) && ((m & 0x3fffff) || e > 0);
  if (up) {
    if (e == 0xfe) return sat ? 0xfe : 0xff;
    e++;
  }
  return e;
}

/* ------------------------------------------------------------------ element read / write */

/* Conversion options (Cast's attributes). */
typedef struct Cvt {
  bool sat;   /* float8 saturation */
  int e8mode; /* float8e8m0 rounding */
} Cvt;
static const Cvt CVT_DEFAULT = {true, E8_UP};

/* Decode a float-class element code to a double. */
static double fdec(ElemType t, uint64_t c) {
  switch (t) {
  case ELEM_FLOAT: { uint32_t w = (uint32_t)c; float f; memcpy(&f, &w, 4); return f; }
  case ELEM_DOUBLE: { double d; memcpy(&d, &c, 8); return d; }
  case ELEM_FLOAT8E8M0: return e8m0_decode(c);
  default: { const Mf *f = mf_of(t); return f ? mf_decode(f, c) : 0; }
  }
}

/* Encode a double into a float-class element code. */
static uint64_t fenc(ElemType t, double x, const Cvt *cv) {
  switch (t) {
  case ELEM_FLOAT: { float f = (float)x; uint32_t w; memcpy(&w, &f, 4); return w; }
  case ELEM_DOUBLE: { uint64_t w; memcpy(&w, &x, 8); return w; }
  case ELEM_FLOAT8E8M0: return e8m0_encode(x, cv->sat, cv->e8mode);
  case ELEM_FLOAT16: case ELEM_BFLOAT16: return mf_encode(mf_of(t), x, false);
  default: { const Mf *f = mf_of(t); return f ? mf_encode(f, x, cv->sat) : 0; }
  }
}

/* x rounded to type t's precision (float types), as a double. */
static double fround(ElemType t, double x) {
  if (t == ELEM_DOUBLE || elem_class(t) != CL_FLOAT) return x;
  return fdec(t, fenc(t, x, &CVT_DEFAULT));
}

/* Element i of any numeric tensor as a double. */
static double getd(const RtValue *v, uint64_t i) {
  int b = ebits(v->elem);
  uint64_t c = ld_bits(v->data, b, i);
  switch (elem_class(v->elem)) {
  case CL_INT: return (double)sext(c, b);
  case CL_UINT: return (double)c;
  case CL_BOOL: return c ? 1 : 0;
  case CL_FLOAT: return fdec(v->elem, c);
  default: return rt_get_f64(v, i);
  }
}

/* Element i of an integer (or bool) tensor, exactly. */
static int64_t geti(const RtValue *v, uint64_t i) {
  int b = ebits(v->elem);
  uint64_t c = ld_bits(v->data, b, i);
  switch (elem_class(v->elem)) {
  case CL_INT: return sext(c, b);
  case CL_UINT: return (int64_t)c;
  case CL_BOOL: return c != 0;
  default: return (int64_t)getd(v, i);
  }
}

/* ------------------------------------------------------------------ strings */

/* Shortest decimal that reads back as the same element (Python repr layout: positional for
 * exponents -4..15, else d.ddde+XX), "nan", "inf", "-inf". */
static int fmt_float(char *buf, size_t len, double x, ElemType t) {
  if (isnan(x)) return snprintf(buf, len, "nan");
  if (isinf(x)) return snprintf(buf, len, x < 0 ? "-inf" : "inf");
  char tmp[48];
  uint64_t want = fenc(t, x, &CVT_DEFAULT);
  int p;
  for (p = 1; p < 17; p++) {
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, x);
    if (fenc(t, strtod(tmp, NULL), &CVT_DEFAULT) == want) break;
  }
  snprintf(tmp, sizeof tmp, "%.*e", p - 1, x);
  /* split "-d.ddde+XX" into sign, digits and exponent */
  char digits[24];
  int nd = 0;
  const char *s = tmp;
  bool neg = *s == '-';
  if (neg) s++;
  for (; *s && *s != 'e'; s++)
    if (isdigit((unsigned char)*s) && nd < 20) digits[nd++] = *s;
  int ex = *s == 'e' ? atoi(s + 1) : 0;
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  digits[nd] = 0;
  char out[64];
  size_t o = 0;
  if (neg) out[o++] = '-';
  if (ex >= -4 && ex < 16) {
    if (ex >= 0) {
      for (int i = 0; i <= ex; i++) out[o++] = i < nd ? digits[i] : '0';
      out[o++] = '.';
      if (nd > ex + 1)
        for (int i = ex + 1; i < nd; i++) out[o++] = digits[i];
      else out[o++] = '0';
    } else {
      out[o++] = '0';
      out[o++] = '.';
      for (int i = 0; i < -ex - 1; i++) out[o++] = '0';
      for (int i = 0; i < nd; i++) out[o++] = digits[i];
    }
    out[o] = 0;
  } else {
    out[o++] = digits[0];
    if (nd > 1) {
      out[o++] = '.';
      for (int i = 1; i < nd; i++) out[o++] = digits[i];
    }
    snprintf(out + o, sizeof out - o, "e%c%02d", ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
  }
  return snprintf(buf, len, "%s", out);
}

/* Parse a string as a number: plain and scientific decimals, "+INF"/"INF"/"-INF"/"NaN" in
 * any case. *isint tells whether it was an integer literal (then *iv holds it). */
static double parse_num(const IrStr *s, bool *isint, int64_t *iv) {
  char buf[128];
  size_t n = s->len < sizeof buf - 1 ? s->len : sizeof buf - 1;
  memcpy(buf, s->s ? s->s : "", n);
  buf[n] = 0;
  char *end;
  errno = 0;
  long long ll = strtoll(buf, &end, 10);
  bool range_err = errno == ERANGE;
  while (*end && isspace((unsigned char)*end)) end++;
  if (end != buf && !*end && !range_err) {
    *isint = true;
    *iv = ll;
    return (double)ll;
  }
  *isint = false;
  return strtod(buf, NULL);
}

/* ------------------------------------------------------------------ the conversion */

static void convert(RtValue *y, const RtValue *x, const Cvt *cv) {
  ElemType ft = x->elem, tt = y->elem;
  Class fc = elem_class(ft), tc = elem_class(tt);
  int fb = ebits(ft), tb = ebits(tt);
  for (uint64_t i = 0; i < x->numel; i++) {
    bool isint = false, u64 = false;
    int64_t iv = 0;
    double dv = 0;
    if (fc == CL_STRING) {
      dv = parse_num(&((const IrStr *)x->data)[i], &isint, &iv);
    } else if (fc == CL_FLOAT) {
      dv = fdec(ft, ld_bits(x->data, fb, i));
    } else {
      isint = true;
      uint64_t c = ld_bits(x->data, fb, i);
      iv = fc == CL_INT ? sext(c, fb) : fc == CL_BOOL ? (c != 0) : (int64_t)c;
      u64 = ft == ELEM_UINT64;
    }
    switch (tc) {
    case CL_STRING: {
      char buf[64];
      if (fc == CL_BOOL) snprintf(buf, sizeof buf, "%s", iv ? "True" : "False");
      else if (isint && u64) snprintf(buf, sizeof buf, "%llu", (unsigned long long)(uint64_t)iv);
      else if (isint) snprintf(buf, sizeof buf, "%lld", (long long)iv);
      else fmt_float(buf, sizeof buf, dv, fc == CL_FLOAT ? ft : ELEM_DOUBLE);
      rt_str_set(y, i, buf, strlen(buf));
      break;
    }
    case CL_BOOL: st_bits(y->data, tb, i, isint ? iv != 0 : dv != 0); break;
    case CL_INT: case CL_UINT:
      st_bits(y->data, tb, i, isint ? (uint64_t)iv : effc_f2i(dv, tt == ELEM_UINT64));
      break;
    case CL_FLOAT:
      if (isint) {
        if (tt == ELEM_FLOAT) {
          float f = u64 ? (float)(uint64_t)iv : (float)iv;
          dv = f;
        } else dv = u64 ? (double)(uint64_t)iv : (double)iv;
      }
      st_bits(y->data, tb, i, fenc(tt, dv, cv));
      break;
    default: break;
    }
  }
}

static bool castable(ElemType t) {
  Class c = elem_class(t);
  return c != CL_OTHER;
}

/* Shared by Cast and CastLike: convert input 0 into type `to`. */
static int do_cast(RtCtx *c, ElemType to) {
  RtValue *x = c->in[0];
  if (!x || x->kind != TYPE_TENSOR) return rt_error(c, "input must be a tensor");
  if (!castable(x->elem) || !castable(to))
    return rt_error(c, "cannot cast %s to %s", ir_elem(x->elem)->name, ir_elem(to)->name);
  Cvt cv = CVT_DEFAULT;
  if (c->op->since >= 19) cv.sat = rt_attr_int(c, "saturate", 1) != 0;
  if (c->op->since >= 25) {
    const char *rm = rt_attr_str(c, "round_mode", "up");
    if (!strcmp(rm, "up")) cv.e8mode = E8_UP;
    else if (!strcmp(rm, "down")) cv.e8mode = E8_DOWN;
    else if (!strcmp(rm, "nearest")) cv.e8mode = E8_NEAREST;
    else return rt_error(c, "round_mode '%s' is not up, down or nearest", rm);
  }
  if (x->elem == to) {
    rt_set_out(c, 0, rt_ref(x));
    return 0;
  }
  RtValue *y = rt_out(c, 0, to, x->rank, x->dims);
  if (!y) return -1;
  convert(y, x, &cv);
  return 0;
}

/* Cast-1 names its target type as a TensorProto enum name ("FLOAT", "INT32"). */
static ElemType type_from_name(const char *s) {
  char low[32];
  size_t n = strlen(s);
  if (n >= sizeof low) return ELEM_UNDEFINED;
  for (size_t i = 0; i < n; i++) low[i] = (char)tolower((unsigned char)s[i]);
  return ir_elem_from_name(low, n);
}

int rt_k_Cast(RtCtx *c) {
  ElemType to;
  const Attr *a = rt_attr(c, "to");
  if (!a) return rt_error(c, "missing attribute 'to'");
  if (c->op->since == 1 && a->type == ATTR_STRING) to = type_from_name(rt_attr_str(c, "to", ""));
  else {
    int64_t t = rt_attr_int(c, "to", 0);
    to = t > 0 && t < ELEM_COUNT ? (ElemType)t : ELEM_UNDEFINED;
  }
  if (to == ELEM_UNDEFINED) return rt_error(c, "attribute 'to' is not a known element type");
  return do_cast(c, to);
}

int rt_k_CastLike(RtCtx *c) {
  RtValue *t = c->in[1];
  if (!t || t->kind != TYPE_TENSOR) return rt_error(c, "target_type must be a tensor");
  return do_cast(c, t->elem);
}

/* BitCast: the same bytes under another element type. A wider input gains a last
 * dimension of size ratio; a narrower one loses its last dimension, which must equal it. */
int rt_k_BitCast(RtCtx *c) {
  RtValue *x = c->in[0];
  if (!x || x->kind != TYPE_TENSOR) return rt_error(c, "input must be a tensor");
  int64_t t = rt_attr_int(c, "to", 0);
  if (t <= 0 || t >= ELEM_COUNT) return rt_error(c, "attribute 'to' is not a known element type");
  ElemType to = (ElemType)t;
  int ib = ebits(x->elem), ob = ebits(to);
  if (x->elem == ELEM_STRING || to == ELEM_STRING || !ib || !ob)
    return rt_error(c, "cannot bitcast %s to %s", ir_elem(x->elem)->name, ir_elem(to)->name);
  int64_t dims[RT_MAX_RANK];
  int rank = x->rank;
  memcpy(dims, x->dims, sizeof(int64_t) * (size_t)rank);
  if (ib > ob) {
    if (rank >= RT_MAX_RANK) return rt_error(c, "rank too large");
    dims[rank++] = ib / ob;
  } else if (ib < ob) {
    if (rank == 0 || dims[rank - 1] != ob / ib)
      return rt_error(c, "last dimension must be %d to bitcast %s to %s", ob / ib,
                      ir_elem(x->elem)->name, ir_elem(to)->name);
    rank--;
  }
  RtValue *y = rt_out(c, 0, to, rank, dims);
  if (!y) return -1;
  if (y->nbytes != x->nbytes) return rt_error(c, "byte sizes differ");
  if (x->nbytes) memcpy(y->data, x->data, x->nbytes);
  return 0;
}

/* ------------------------------------------------------------------ quantization params */

/* How a scale (and its zero point) maps onto x's elements: one value, one per index of
 * `axis`, or one per block of block_size indices along `axis` (scale has x's rank). */
typedef struct QMap {
  int mode; /* 0 per tensor, 1 per axis, 2 blocked */
  uint64_t inner, A, SA, bs;
} QMap;

static bool qmap_init(RtCtx *c, QMap *q, const RtValue *x, const RtValue *s, const RtValue *zp,
                      int64_t axis, int64_t bs) {
  memset(q, 0, sizeof *q);
  if (!s || s->kind != TYPE_TENSOR) return rt_error(c, "scale must be a tensor"), false;
  if (zp && (zp->kind != TYPE_TENSOR || zp->numel != s->numel))
    return rt_error(c, "zero point and scale differ in size"), false;
  if (s->numel == 1) return true; /* a single value is per-tensor in every mode */
  int ax;
  if (!rt_axis(c, axis, x->rank, &ax)) return false;
  q->inner = 1;
  for (int i = ax + 1; i < x->rank; i++) q->inner *= (uint64_t)x->dims[i];
  q->A = (uint64_t)x->dims[ax];
  if (bs <= 0) {
    if (s->rank != 1 || (uint64_t)s->dims[0] != q->A)
      return rt_error(c, "per-axis scale needs shape [%llu]", (unsigned long long)q->A), false;
    q->mode = 1;
    return true;
  }
  q->mode = 2;
  q->bs = (uint64_t)bs;
  q->SA = (q->A + q->bs - 1) / q->bs;
  if (s->rank != x->rank) return rt_error(c, "blocked scale must have the input's rank"), false;
  for (int i = 0; i < x->rank; i++)
    if (i == ax ? (uint64_t)s->dims[i] != q->SA : s->dims[i] != x->dims[i])
      return rt_error(c, "blocked scale shape does not match the input and block_size"), false;
  return true;
}

static uint64_t qmap_idx(const QMap *q, uint64_t i) {
  switch (q->mode) {
  case 1: return (i / q->inner) % q->A;
  case 2: {
    uint64_t o = i / (q->A * q->inner), a = (i / q->inner) % q->A, in = i % q->inner;
    return (o * q->SA + a / q->bs) * q->inner + in;
  }
  default: return 0;
  }
}

/* The integer range of a quantized type. */
static void qrange(ElemType t, double *lo, double *hi) {
  int b = ebits(t);
  if (elem_class(t) == CL_INT) {
    *lo = -ldexp(1, b - 1);
    *hi = ldexp(1, b - 1) - 1;
  } else {
    *lo = 0;
    *hi = ldexp(1, b) - 1;
  }
}

/* Store an already-rounded value v into a quantized (integer) element, saturating. */
static void st_qint(RtValue *y, uint64_t i, double v) {
  double lo, hi;
  qrange(y->elem, &lo, &hi);
  if (isnan(v)) v = lo;
  v = v < lo ? lo : v > hi ? hi : v;
  st_bits(y->data, ebits(y->elem), i, (uint64_t)(int64_t)v);
}

static bool is_qtype(ElemType t) {
  switch (t) {
  case ELEM_UINT8: case ELEM_INT8: case ELEM_UINT16: case ELEM_INT16: case ELEM_UINT4:
  case ELEM_INT4: case ELEM_UINT2: case ELEM_INT2: case ELEM_INT32: case ELEM_UINT32:
  case ELEM_FLOAT8E4M3FN: case ELEM_FLOAT8E4M3FNUZ: case ELEM_FLOAT8E5M2:
  case ELEM_FLOAT8E5M2FNUZ: case ELEM_FLOAT4E2M1:
    return true;
  default: return false;
  }
}

static bool is_real(const RtValue *v) {
  return v && v->kind == TYPE_TENSOR && elem_class(v->elem) == CL_FLOAT;
}

/* ------------------------------------------------------------------ Quantize / Dequantize */
/* A zero point vector as int32 (NULL: a single 0); *stride is 0 for one value. */
static int32_t *zp_vec(const RtValue *z, int64_t *stride) {
  uint64_t n = z ? z->numel : 1;
  int32_t *v = malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
  if (!v) return NULL;
  v[0] = 0;
  for (uint64_t i = 0; z && i < n; i++) v[i] = (int32_t)geti(z, i);
  *stride = n == 1 ? 0 : 1;
  return v;
}


/* The kernels' view of a per-tensor or per-axis QMap: C channels of `inner` elements. */
static void qmap_view(const QMap *q, const RtValue *x, int64_t *inner, int64_t *C) {
  *inner = q->mode == 1 ? (int64_t)q->inner : (int64_t)x->numel;
  *C = q->mode == 1 ? (int64_t)q->A : 1;
}

/* QuantizeLinear on float32 to uint8/int8 (per tensor or per axis): the shared kernel. */
static int quantize_fast(RtCtx *c, const RtValue *x, const RtValue *s, const RtValue *zp,
                         const QMap *q, RtValue *y) {
  int64_t inner, C, zs;
  qmap_view(q, x, &inner, &C);
  int32_t *z = zp_vec(zp, &zs);
  if (!z) return rt_error(c, "out of memory");
  effc_quantize_f32(x->data, 0, (int64_t)x->numel, inner, C, s->data, zp ? z : NULL,
                    y->elem == ELEM_UINT8 ? EFFC_Q_U8 : EFFC_Q_S8, y->data);
  free(z);
  return 0;
}


int rt_k_QuantizeLinear(RtCtx *c) {
  RtValue *x = c->in[0], *s = c->in[1], *zp = c->n_in > 2 ? c->in[2] : NULL;
  if (!is_real(x) || !is_real(s)) return rt_error(c, "x and y_scale must be float tensors");
  int since = c->op->since;
  int64_t axis = since >= 13 ? rt_attr_int(c, "axis", 1) : 1;
  int64_t bs = since >= 21 ? rt_attr_int(c, "block_size", 0) : 0;
  bool sat = since >= 19 ? rt_attr_int(c, "saturate", 1) != 0 : true;
  int64_t odt = since >= 21 ? rt_attr_int(c, "output_dtype", 0) : 0;
  int64_t prec = since >= 23 ? rt_attr_int(c, "precision", 0) : 0;
  if (odt < 0 || odt >= ELEM_COUNT || prec < 0 || prec >= ELEM_COUNT)
    return rt_error(c, "output_dtype or precision is not an element type");
  ElemType ot = zp ? zp->elem : odt ? (ElemType)odt : ELEM_UINT8;
  if (odt && zp && odt != zp->elem) return rt_error(c, "output_dtype differs from the zero point's type");
  if (!ir_elem_valid((int)ot) || !is_qtype(ot))
    return rt_error(c, "%s is not a quantized type", ir_elem(ot)->name);
  if (prec && (!ir_elem_valid((int)prec) || elem_class((ElemType)prec) != CL_FLOAT))
    return rt_error(c, "precision must be a float type");
  QMap q;
  if (!qmap_init(c, &q, x, s, zp, axis, bs)) return -1;
  ElemType pt = prec ? (ElemType)prec
                     : (x->elem == ELEM_DOUBLE || s->elem == ELEM_DOUBLE) ? ELEM_DOUBLE
                     : x->elem == s->elem ? x->elem : ELEM_FLOAT;
  RtValue *y = rt_out(c, 0, ot, x->rank, x->dims);
  if (!y) return -1;
  if (x->elem == ELEM_FLOAT && s->elem == ELEM_FLOAT && !prec && q.mode != 2 &&
      (ot == ELEM_UINT8 || ot == ELEM_INT8))
    return quantize_fast(c, x, s, zp, &q, y);
  Cvt cv = {sat, E8_UP};
  bool fl = elem_class(ot) == CL_FLOAT;
  for (uint64_t i = 0; i < x->numel; i++) {
    uint64_t k = qmap_idx(&q, i);
    double xv = getd(x, i), sv = getd(s, k), z = zp ? getd(zp, k) : 0;
    if (prec) { xv = fround(pt, xv); sv = fround(pt, sv); }
    double v = fround(pt, xv / sv);
    if (fl) st_bits(y->data, ebits(ot), i, fenc(ot, v + z, &cv));
    else st_qint(y, i, nearbyint(v) + z);
  }
  return 0;
}

int rt_k_DequantizeLinear(RtCtx *c) {
  RtValue *x = c->in[0], *s = c->in[1], *zp = c->n_in > 2 ? c->in[2] : NULL;
  if (!x || x->kind != TYPE_TENSOR || !is_qtype(x->elem))
    return rt_error(c, "x must be a quantized tensor");
  if (!is_real(s)) return rt_error(c, "x_scale must be a float tensor");
  if (zp && zp->elem != x->elem) return rt_error(c, "zero point type differs from x's");
  int since = c->op->since;
  int64_t axis = since >= 13 ? rt_attr_int(c, "axis", 1) : 1;
  int64_t bs = since >= 21 ? rt_attr_int(c, "block_size", 0) : 0;
  int64_t odt = since >= 23 ? rt_attr_int(c, "output_dtype", 0) : 0;
  if (odt < 0 || odt >= ELEM_COUNT) return rt_error(c, "output_dtype is not an element type");
  ElemType ot = odt ? (ElemType)odt : s->elem;
  if (!ir_elem_valid((int)ot) || elem_class(ot) != CL_FLOAT)
    return rt_error(c, "output_dtype must be a float type");
  QMap q;
  if (!qmap_init(c, &q, x, s, zp, axis, bs)) return -1;
  RtValue *y = rt_out(c, 0, ot, x->rank, x->dims);
  if (!y) return -1;
  int xt = x->elem == ELEM_UINT8 ? EFFC_Q_U8 : x->elem == ELEM_INT8 ? EFFC_Q_S8 : EFFC_Q_I32;
  if (s->elem == ELEM_FLOAT && ot == ELEM_FLOAT && q.mode != 2 &&
      (xt != EFFC_Q_I32 || x->elem == ELEM_INT32)) { /* the shared kernel */
    int64_t inner, C, zs;
    qmap_view(&q, x, &inner, &C);
    int32_t *z = zp_vec(zp, &zs);
    if (!z) return rt_error(c, "out of memory");
    effc_dequantize_f32(x->data, xt, 0, (int64_t)x->numel, inner, C, s->data, zp ? z : NULL, y->data);
    free(z);
    return 0;
  }
  for (uint64_t i = 0; i < x->numel; i++) {
    uint64_t k = qmap_idx(&q, i);
    double dx = getd(x, i) - (zp ? getd(zp, k) : 0), sv = getd(s, k), v;
    if (s->elem == ELEM_DOUBLE) v = dx * sv;
    else v = (float)((float)dx * (float)sv);
    st_bits(y->data, ebits(ot), i, fenc(ot, v, &CVT_DEFAULT));
  }
  return 0;
}

int rt_k_DynamicQuantizeLinear(RtCtx *c) {
  RtValue *x = c->in[0];
  if (!x || x->kind != TYPE_TENSOR || x->elem != ELEM_FLOAT) return rt_error(c, "x must be a float tensor");
  RtValue *y = rt_out(c, 0, ELEM_UINT8, x->rank, x->dims);
  RtValue *ys = rt_out(c, 1, ELEM_FLOAT, 0, NULL);
  RtValue *yz = rt_out(c, 2, ELEM_UINT8, 0, NULL);
  if (!y || !ys || !yz) return -1;
  float *scale = ys->data;
  uint8_t *zp = yz->data;
  effc_dynquant_params(x->data, (int64_t)x->numel, scale, zp);
  int32_t z = zp[0];
  effc_quantize_f32(x->data, 0, (int64_t)x->numel, (int64_t)x->numel, 1, scale, &z, EFFC_Q_U8, y->data);
  return 0;
}

/* ------------------------------------------------------------------ integer matmul */

static bool is_int_t(const RtValue *v) {
  return v && v->kind == TYPE_TENSOR && (elem_class(v->elem) == CL_INT || elem_class(v->elem) == CL_UINT);
}

/* A zero point / scale for a row or column: one value, or one per index (n of them). */
static bool vec_ok(const RtValue *v, int64_t n) {
  return !v || v->numel == 1 || (int64_t)v->numel == n;
}
static uint64_t vec_at(const RtValue *v, uint64_t k) {
  return v->numel == 1 ? 0 : k;
}

/* The integer kernels (runtime/kern/qgemm.c) take 8-bit operands. */
static bool is_q8(const RtValue *v) {
  return v && v->kind == TYPE_TENSOR && (v->elem == ELEM_UINT8 || v->elem == ELEM_INT8);
}

static int host_isa(void) {
  static int isa = -1;
  if (isa < 0) isa = effc_host_isa();
  return isa;
}

/* Requantization of an integer matmul's output: multiplier mult[m * mult_rs + n] and zero
 * point yzp[m * yzp_stride], or none (int32 output). */
typedef struct MmReq {
  int y_type;
  const double *mult, *yzp;
  int64_t mult_rs, yzp_stride;
} MmReq;

/* The shapes of an integer matmul (numpy broadcasting): M, N, K, the output dims and the
 * batch strides of a and b. */
typedef struct MmGeo {
  int64_t M, N, K, dims[RT_MAX_RANK], sa[RT_MAX_RANK], sb[RT_MAX_RANK];
  int nb, rank;
  uint64_t nbatch;
} MmGeo;

static bool mm_geo(RtCtx *c, const RtValue *a, const RtValue *azp, const RtValue *b,
                   const RtValue *bzp, MmGeo *g) {
  if (!is_q8(a) || !is_q8(b)) return rt_error(c, "A and B must be uint8 or int8 tensors"), false;
  if ((azp && !is_int_t(azp)) || (bzp && !is_int_t(bzp)))
    return rt_error(c, "zero points must be integer tensors"), false;
  int ra = a->rank, rb = b->rank;
  if (ra < 1 || rb < 1) return rt_error(c, "matmul of a scalar"), false;
  g->M = ra >= 2 ? a->dims[ra - 2] : 1;
  g->K = a->dims[ra - 1];
  int64_t Kb = rb >= 2 ? b->dims[rb - 2] : b->dims[0];
  g->N = rb >= 2 ? b->dims[rb - 1] : 1;
  if (g->K != Kb)
    return rt_error(c, "inner dimensions differ (%lld vs %lld)", (long long)g->K, (long long)Kb), false;
  if (!vec_ok(azp, g->M) || !vec_ok(bzp, g->N)) return rt_error(c, "zero point size mismatch"), false;
  int ba = ra > 2 ? ra - 2 : 0, bb = rb > 2 ? rb - 2 : 0, nb = ba > bb ? ba : bb;
  if (nb + 2 > RT_MAX_RANK) return rt_error(c, "rank too large"), false;
  uint64_t stra = (uint64_t)(g->M * g->K), strb = (uint64_t)(g->K * g->N);
  g->nbatch = 1;
  for (int j = nb - 1; j >= 0; j--) {
    int ja = j - (nb - ba), jb = j - (nb - bb);
    int64_t da = ja >= 0 ? a->dims[ja] : 1, db = jb >= 0 ? b->dims[jb] : 1;
    if (da != db && da != 1 && db != 1) return rt_error(c, "batch dimensions do not broadcast"), false;
    g->dims[j] = da > db ? da : db;
    if (da == 0 || db == 0) g->dims[j] = 0;
    g->sa[j] = da == 1 ? 0 : (int64_t)stra;
    g->sb[j] = db == 1 ? 0 : (int64_t)strb;
    stra *= (uint64_t)da;
    strb *= (uint64_t)db;
    g->nbatch *= (uint64_t)g->dims[j];
  }
  g->nb = nb;
  g->rank = nb;
  if (ra >= 2) g->dims[g->rank++] = g->M;
  if (rb >= 2) g->dims[g->rank++] = g->N;
  return true;
}

/* y = (a - azp) @ (b - bzp), int32 or requantized (rq), on the shared integer GEMM. */
static int mm_run(RtCtx *c, const RtValue *a, const RtValue *azp, const RtValue *b,
                  const RtValue *bzp, const MmGeo *g, const MmReq *rq, RtValue *y) {
  int64_t zas, zbs;
  int32_t *za = zp_vec(azp, &zas), *zb = zp_vec(bzp, &zbs);
  void *bp = malloc(effc_qgemm_packb_size(g->K, g->N));
  EffcQgemm q;
  memset(&q, 0, sizeof q);
  q.M = g->M, q.N = g->N, q.K = g->K, q.a_signed = a->elem == ELEM_INT8, q.a_rs = g->K, q.a_cs = 1;
  q.za = za, q.za_stride = zas, q.bp = bp, q.y_rs = g->N, q.y_cs = 1, q.y_type = rq->y_type;
  q.mult = rq->mult, q.mult_rs = rq->mult_rs, q.yzp = rq->yzp, q.yzp_stride = rq->yzp_stride;
  int isa = host_isa();
  void *scr = malloc(effc_qgemm_scratch(isa, &q, 1));
  if (!za || !zb || !bp || !scr) {
    free(za), free(zb), free(bp), free(scr);
    return rt_error(c, "out of memory");
  }
  size_t esz = rq->y_type == EFFC_Q_I32 ? 4 : 1;
  uint64_t prev_ob = UINT64_MAX;
  for (uint64_t bi = 0; bi < g->nbatch; bi++) {
    uint64_t rem = bi, oa = 0, ob = 0;
    for (int j = g->nb - 1; j >= 0; j--) {
      uint64_t cj = rem % (uint64_t)g->dims[j];
      rem /= (uint64_t)g->dims[j];
      oa += cj * (uint64_t)g->sa[j];
      ob += cj * (uint64_t)g->sb[j];
    }
    if (ob != prev_ob)
      effc_qgemm_packb(g->K, g->N, (const uint8_t *)b->data + ob, b->elem == ELEM_INT8, g->N, 1, zb,
                       zbs, bp);
    prev_ob = ob;
    q.a = (const uint8_t *)a->data + oa;
    q.y = (uint8_t *)y->data + bi * (uint64_t)(g->M * g->N) * esz;
    effc_qgemm(isa, &q, scr, 0, 1);
  }
  free(za), free(zb), free(bp), free(scr);
  return 0;
}

int rt_k_MatMulInteger(RtCtx *c) {
  const RtValue *a = c->in[0], *b = c->in[1], *azp = c->n_in > 2 ? c->in[2] : NULL,
                *bzp = c->n_in > 3 ? c->in[3] : NULL;
  MmGeo g;
  if (!mm_geo(c, a, azp, b, bzp, &g)) return -1;
  RtValue *y = rt_out(c, 0, ELEM_INT32, g.rank, g.dims);
  if (!y) return -1;
  MmReq rq = {EFFC_Q_I32, NULL, NULL, 0, 0};
  return mm_run(c, a, azp, b, bzp, &g, &rq, y);
}

int rt_k_QLinearMatMul(RtCtx *c) {
  RtValue *a = c->in[0], *as = c->in[1], *az = c->in[2], *b = c->in[3], *bsc = c->in[4],
          *bz = c->in[5], *ys = c->in[6], *yz = c->in[7];
  if (!is_real(as) || !is_real(bsc) || !is_real(ys)) return rt_error(c, "scales must be float tensors");
  MmGeo g;
  if (!mm_geo(c, a, az, b, bz, &g)) return -1;
  int64_t M = g.M, N = g.N;
  if (!vec_ok(as, M) || !vec_ok(bsc, N) || !vec_ok(ys, M) || !vec_ok(yz, M))
    return rt_error(c, "scale or zero point size mismatch");
  ElemType ot = yz ? yz->elem : a->elem, st = as->elem;
  if (ot != ELEM_UINT8 && ot != ELEM_INT8) return rt_error(c, "output must be uint8 or int8");
  RtValue *y = rt_out(c, 0, ot, g.rank, g.dims);
  if (!y) return -1;
  /* The combined scale per (row, column); rows share it unless a or y is per row. */
  bool rows = as->numel != 1 || ys->numel != 1;
  int64_t mr = rows ? M : 1;
  double *mult = malloc(sizeof(double) * (size_t)(mr * N + 1)), *yzp = malloc(sizeof(double) * (size_t)(M + 1));
  if (!mult || !yzp) {
    free(mult), free(yzp);
    return rt_error(c, "out of memory");
  }
  for (int64_t m = 0; m < mr; m++)
    for (int64_t n = 0; n < N; n++) {
      double sa = getd(as, vec_at(as, (uint64_t)m)), sb = getd(bsc, vec_at(bsc, (uint64_t)n)),
             sy = getd(ys, vec_at(ys, (uint64_t)m));
      mult[m * N + n] = st == ELEM_FLOAT ? (double)effc_qmult_f32((float)sa, (float)sb, (float)sy)
                                         : fround(st, fround(st, sa * sb) / sy);
    }
  for (int64_t m = 0; m < M; m++) yzp[m] = yz ? getd(yz, vec_at(yz, (uint64_t)m)) : 0;
  MmReq rq = {ot == ELEM_UINT8 ? EFFC_Q_U8 : EFFC_Q_S8, mult, yzp, rows ? N : 0, 1};
  int r = mm_run(c, a, az, b, bz, &g, &rq, y);
  free(mult), free(yzp);
  return r;
}

/* ------------------------------------------------------------------ integer convolution */

typedef struct ConvP {
  int nsp;
  int64_t N, C, M, G, in[RT_MAX_RANK], k[RT_MAX_RANK], s[RT_MAX_RANK], d[RT_MAX_RANK],
      pb[RT_MAX_RANK], out[RT_MAX_RANK];
} ConvP;

static bool conv_setup(RtCtx *c, const RtValue *x, const RtValue *w, ConvP *p) {
  if (!is_q8(x) || !is_q8(w)) return rt_error(c, "x and w must be uint8 or int8 tensors"), false;
  if (x->rank < 3 || w->rank != x->rank) return rt_error(c, "x and w must have the same rank >= 3"), false;
  memset(p, 0, sizeof *p);
  p->nsp = x->rank - 2;
  p->N = x->dims[0];
  p->C = x->dims[1];
  p->M = w->dims[0];
  p->G = rt_attr_int(c, "group", 1);
  if (p->G < 1 || p->C % p->G || p->M % p->G || w->dims[1] != p->C / p->G)
    return rt_error(c, "channels do not match group %lld", (long long)p->G), false;
  size_t n;
  const int64_t *ks = rt_attr_ints(c, "kernel_shape", &n);
  if (ks && (int)n != p->nsp) return rt_error(c, "kernel_shape has the wrong length"), false;
  const int64_t *st = rt_attr_ints(c, "strides", &n);
  if (st && (int)n != p->nsp) return rt_error(c, "strides has the wrong length"), false;
  const int64_t *dl = rt_attr_ints(c, "dilations", &n);
  if (dl && (int)n != p->nsp) return rt_error(c, "dilations has the wrong length"), false;
  const int64_t *pd = rt_attr_ints(c, "pads", &n);
  if (pd && (int)n != 2 * p->nsp) return rt_error(c, "pads has the wrong length"), false;
  const char *ap = rt_attr_str(c, "auto_pad", "NOTSET");
  for (int i = 0; i < p->nsp; i++) {
    p->in[i] = x->dims[2 + i];
    p->k[i] = w->dims[2 + i];
    if (ks && ks[i] != p->k[i]) return rt_error(c, "kernel_shape differs from w"), false;
    p->s[i] = st ? st[i] : 1;
    p->d[i] = dl ? dl[i] : 1;
    if (p->s[i] < 1 || p->d[i] < 1) return rt_error(c, "strides and dilations must be >= 1"), false;
    int64_t ext = p->d[i] * (p->k[i] - 1) + 1, pe;
    if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
      p->out[i] = (p->in[i] + p->s[i] - 1) / p->s[i];
      int64_t tot = (p->out[i] - 1) * p->s[i] + ext - p->in[i];
      if (tot < 0) tot = 0;
      p->pb[i] = !strcmp(ap, "SAME_UPPER") ? tot / 2 : tot - tot / 2;
      continue;
    }
    if (!strcmp(ap, "VALID")) p->pb[i] = pe = 0;
    else if (!strcmp(ap, "NOTSET")) {
      p->pb[i] = pd ? pd[i] : 0;
      pe = pd ? pd[p->nsp + i] : 0;
    } else return rt_error(c, "unknown auto_pad '%s'", ap), false;
    if (p->pb[i] < 0 || pe < 0) return rt_error(c, "negative pads"), false;
    int64_t span = p->in[i] + p->pb[i] + pe - ext;
    p->out[i] = span < 0 ? 0 : span / p->s[i] + 1;
  }
  return true;
}

/* acc[n, m, o...] = bias[m] + sum (x - xzp) * (w - wzp[m]) over the group's channels and
 * the kernel window (padding contributes nothing), int32 or requantized with mult[m] and
 * yzp, on the shared integer convolution. */
static int conv_run(RtCtx *c, const RtValue *x, const RtValue *xzp, const RtValue *w,
                    const RtValue *wzp, const RtValue *bias, const ConvP *p, ElemType ot,
                    const double *mult, double yzp) {
  if (!is_q8(x) || !is_q8(w)) return rt_error(c, "x and w must be uint8 or int8 tensors");
  if (!vec_ok(xzp, 1) || !vec_ok(wzp, p->M) || (bias && (int64_t)bias->numel != p->M) ||
      (xzp && !is_int_t(xzp)) || (wzp && !is_int_t(wzp)))
    return rt_error(c, "zero point or bias size mismatch");
  if (p->nsp > 3) return rt_error(c, "more than 3 spatial dimensions");
  EffcQconv q;
  memset(&q, 0, sizeof q);
  q.N = p->N, q.C = p->C, q.M = p->M, q.G = p->G;
  for (int i = 0; i < 3; i++) {
    int j = i - (3 - p->nsp);
    q.in[i] = j >= 0 ? p->in[j] : 1;
    q.out[i] = j >= 0 ? p->out[j] : 1;
    q.k[i] = j >= 0 ? p->k[j] : 1;
    q.s[i] = j >= 0 ? p->s[j] : 1;
    q.d[i] = j >= 0 ? p->d[j] : 1;
    q.pb[i] = j >= 0 ? p->pb[j] : 0;
  }
  q.x = x->data, q.x_signed = x->elem == ELEM_INT8, q.xz = xzp ? (int32_t)geti(xzp, 0) : 0;
  q.y_type = ot == ELEM_INT32 ? EFFC_Q_I32 : ot == ELEM_UINT8 ? EFFC_Q_U8 : EFFC_Q_S8;
  q.mult = mult, q.yzp = yzp;
  int64_t dims[RT_MAX_RANK];
  dims[0] = p->N;
  dims[1] = p->M;
  for (int i = 0; i < p->nsp; i++) dims[2 + i] = p->out[i];
  RtValue *y = rt_out(c, 0, ot, p->nsp + 2, dims);
  if (!y) return -1;
  q.y = y->data;
  int64_t wzs;
  int32_t *wz = zp_vec(wzp, &wzs), *bv = malloc(sizeof(int32_t) * (size_t)(p->M + 1));
  void *wp = malloc(effc_qconv_pack_size(&q) + 1);
  int isa = host_isa();
  void *scr = malloc(effc_qconv_scratch(isa, &q, 1) + 1);
  if (!wz || !bv || !wp || !scr) {
    free(wz), free(bv), free(wp), free(scr);
    return rt_error(c, "out of memory");
  }
  for (int64_t m = 0; bias && m < p->M; m++) bv[m] = (int32_t)geti(bias, (uint64_t)m);
  q.bias = bias ? bv : NULL;
  effc_qconv_pack(&q, w->data, w->elem == ELEM_INT8, wz, wzs, wp);
  q.wp = wp;
  effc_qconv(isa, &q, scr, 0, 1);
  free(wz), free(bv), free(wp), free(scr);
  return 0;
}

int rt_k_ConvInteger(RtCtx *c) {
  ConvP p;
  if (!conv_setup(c, c->in[0], c->in[1], &p)) return -1;
  return conv_run(c, c->in[0], c->n_in > 2 ? c->in[2] : NULL, c->in[1], c->n_in > 3 ? c->in[3] : NULL,
                  NULL, &p, ELEM_INT32, NULL, 0);
}

int rt_k_QLinearConv(RtCtx *c) {
  RtValue *x = c->in[0], *xs = c->in[1], *xz = c->in[2], *w = c->in[3], *ws = c->in[4],
          *wz = c->in[5], *ys = c->in[6], *yz = c->in[7], *bias = c->n_in > 8 ? c->in[8] : NULL;
  if (!is_real(xs) || !is_real(ws) || !is_real(ys)) return rt_error(c, "scales must be float tensors");
  ConvP p;
  if (!conv_setup(c, x, w, &p)) return -1;
  if (!vec_ok(ws, p.M) || xs->numel != 1 || ys->numel != 1 || (yz && yz->numel != 1))
    return rt_error(c, "scale or zero point size mismatch");
  if (bias && (!is_int_t(bias) || (int64_t)bias->numel != p.M)) return rt_error(c, "bias must be int32[M]");
  ElemType ot = yz ? yz->elem : x->elem;
  if (ot != ELEM_UINT8 && ot != ELEM_INT8) return rt_error(c, "output must be uint8 or int8");
  double *mult = malloc(sizeof(double) * (size_t)(p.M + 1));
  if (!mult) return rt_error(c, "out of memory");
  for (int64_t m = 0; m < p.M; m++)
    mult[m] = effc_qmult_f32((float)getd(xs, 0), (float)getd(ws, vec_at(ws, (uint64_t)m)), (float)getd(ys, 0));
  int r = conv_run(c, x, xz, w, wz, bias, &p, ot, mult, yz ? getd(yz, 0) : 0);
  free(mult);
  return r;
}
