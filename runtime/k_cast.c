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
  if (!is_real(x)) return rt_error(c, "x must be a float tensor");
  float mn = 0, mx = 0;
  for (uint64_t i = 0; i < x->numel; i++) {
    float v = (float)getd(x, i);
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  float scale = mx == mn ? 1.0f : (mx - mn) / 255.0f;
  float zpf = 0.0f - mn / scale;
  zpf = zpf < 0 ? 0 : zpf > 255 ? 255 : zpf;
  float zpi = nearbyintf(zpf);
  RtValue *y = rt_out(c, 0, ELEM_UINT8, x->rank, x->dims);
  RtValue *ys = rt_out(c, 1, x->elem, 0, NULL);
  RtValue *yz = rt_out(c, 2, ELEM_UINT8, 0, NULL);
  if (!y || !ys || !yz) return -1;
  for (uint64_t i = 0; i < x->numel; i++) {
    float v = nearbyintf((float)getd(x, i) / scale) + zpi;
    v = v < 0 ? 0 : v > 255 ? 255 : v;
    ((uint8_t *)y->data)[i] = (uint8_t)v;
  }
  st_bits(ys->data, ebits(x->elem), 0, fenc(x->elem, scale, &CVT_DEFAULT));
  ((uint8_t *)yz->data)[0] = (uint8_t)zpi;
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

/* y = (a - azp) @ (b - bzp) in int32, numpy matmul broadcasting. azp per row (M), bzp per
 * column (N). Returns the int32 result (caller unrefs) and M, N. */
static RtValue *mm_int(RtCtx *c, const RtValue *a, const RtValue *azp, const RtValue *b,
                       const RtValue *bzp, int64_t *Mo, int64_t *No) {
  if (!is_int_t(a) || !is_int_t(b)) return rt_error(c, "A and B must be integer tensors"), NULL;
  if ((azp && !is_int_t(azp)) || (bzp && !is_int_t(bzp)))
    return rt_error(c, "zero points must be integer tensors"), NULL;
  int ra = a->rank, rb = b->rank;
  if (ra < 1 || rb < 1) return rt_error(c, "matmul of a scalar"), NULL;
  int64_t M = ra >= 2 ? a->dims[ra - 2] : 1, K = a->dims[ra - 1];
  int64_t Kb = rb >= 2 ? b->dims[rb - 2] : b->dims[0], N = rb >= 2 ? b->dims[rb - 1] : 1;
  if (K != Kb) return rt_error(c, "inner dimensions differ (%lld vs %lld)", (long long)K, (long long)Kb), NULL;
  if (!vec_ok(azp, M) || !vec_ok(bzp, N)) return rt_error(c, "zero point size mismatch"), NULL;
  int ba = ra > 2 ? ra - 2 : 0, bb = rb > 2 ? rb - 2 : 0, nb = ba > bb ? ba : bb;
  int64_t dims[RT_MAX_RANK], sa[RT_MAX_RANK], sb[RT_MAX_RANK];
  if (nb + 2 > RT_MAX_RANK) return rt_error(c, "rank too large"), NULL;
  uint64_t nbatch = 1, stra = (uint64_t)(M * K), strb = (uint64_t)(K * N);
  for (int j = nb - 1; j >= 0; j--) {
    int ja = j - (nb - ba), jb = j - (nb - bb);
    int64_t da = ja >= 0 ? a->dims[ja] : 1, db = jb >= 0 ? b->dims[jb] : 1;
    if (da != db && da != 1 && db != 1) return rt_error(c, "batch dimensions do not broadcast"), NULL;
    dims[j] = da > db ? da : db;
    if (da == 0 || db == 0) dims[j] = 0;
    sa[j] = da == 1 ? 0 : (int64_t)stra;
    sb[j] = db == 1 ? 0 : (int64_t)strb;
    stra *= (uint64_t)da;
    strb *= (uint64_t)db;
    nbatch *= (uint64_t)dims[j];
  }
  int r = nb;
  if (ra >= 2) dims[r++] = M;
  if (rb >= 2) dims[r++] = N;
  RtValue *y = rt_tensor_new(ELEM_INT32, r, dims);
  if (!y) return rt_error(c, "rank too large"), NULL;
  int32_t *out = y->data;
  for (uint64_t bi = 0; bi < nbatch; bi++) {
    uint64_t rem = bi, oa = 0, ob = 0;
    for (int j = nb - 1; j >= 0; j--) {
      uint64_t cj = rem % (uint64_t)dims[j];
      rem /= (uint64_t)dims[j];
      oa += cj * (uint64_t)sa[j];
      ob += cj * (uint64_t)sb[j];
    }
    for (int64_t m = 0; m < M; m++) {
      int64_t za = azp ? geti(azp, vec_at(azp, (uint64_t)m)) : 0;
      for (int64_t n = 0; n < N; n++) {
        int64_t zb = bzp ? geti(bzp, vec_at(bzp, (uint64_t)n)) : 0, acc = 0;
        for (int64_t k = 0; k < K; k++)
          acc += (geti(a, oa + (uint64_t)(m * K + k)) - za) * (geti(b, ob + (uint64_t)(k * N + n)) - zb);
        out[(bi * (uint64_t)M + (uint64_t)m) * (uint64_t)N + (uint64_t)n] = (int32_t)(uint32_t)(uint64_t)acc;
      }
    }
  }
  *Mo = M;
  *No = N;
  return y;
}

int rt_k_MatMulInteger(RtCtx *c) {
  int64_t M, N;
  RtValue *y = mm_int(c, c->in[0], c->n_in > 2 ? c->in[2] : NULL, c->in[1],
                      c->n_in > 3 ? c->in[3] : NULL, &M, &N);
  if (!y) return -1;
  rt_set_out(c, 0, y);
  return 0;
}

/* Requantize an int32 accumulator: round(acc * factor + zp) saturated to ot. */
static void requant(RtValue *y, uint64_t i, int64_t acc, double factor, double zp) {
  st_qint(y, i, nearbyint((double)acc * factor + zp));
}

int rt_k_QLinearMatMul(RtCtx *c) {
  RtValue *a = c->in[0], *as = c->in[1], *az = c->in[2], *b = c->in[3], *bsc = c->in[4],
          *bz = c->in[5], *ys = c->in[6], *yz = c->in[7];
  if (!is_real(as) || !is_real(bsc) || !is_real(ys)) return rt_error(c, "scales must be float tensors");
  int64_t M, N;
  RtValue *acc = mm_int(c, a, az, b, bz, &M, &N);
  if (!acc) return -1;
  if (!vec_ok(as, M) || !vec_ok(bsc, N) || !vec_ok(ys, M) || !vec_ok(yz, M)) {
    rt_unref(acc);
    return rt_error(c, "scale or zero point size mismatch");
  }
  ElemType ot = yz ? yz->elem : a->elem, st = as->elem;
  RtValue *y = rt_out(c, 0, ot, acc->rank, acc->dims);
  if (!y || elem_class(ot) == CL_FLOAT) {
    rt_unref(acc);
    return y ? rt_error(c, "output must be an integer type") : -1;
  }
  const int32_t *p = acc->data;
  for (uint64_t i = 0; i < acc->numel; i++) {
    uint64_t n = i % (uint64_t)N, m = (i / (uint64_t)N) % (uint64_t)M;
    double f = fround(st, fround(st, getd(as, vec_at(as, m)) * getd(bsc, vec_at(bsc, n))) /
                              getd(ys, vec_at(ys, m)));
    requant(y, i, p[i], f, yz ? getd(yz, vec_at(yz, m)) : 0);
  }
  rt_unref(acc);
  return 0;
}

/* ------------------------------------------------------------------ integer convolution */

typedef struct ConvP {
  int nsp;
  int64_t N, C, M, G, in[RT_MAX_RANK], k[RT_MAX_RANK], s[RT_MAX_RANK], d[RT_MAX_RANK],
      pb[RT_MAX_RANK], out[RT_MAX_RANK];
} ConvP;

static bool conv_setup(RtCtx *c, const RtValue *x, const RtValue *w, ConvP *p) {
  if (!is_int_t(x) || !is_int_t(w)) return rt_error(c, "x and w must be integer tensors"), false;
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
 * the kernel window; padding contributes nothing. */
static RtValue *conv_int(RtCtx *c, const RtValue *x, const RtValue *xzp, const RtValue *w,
                         const RtValue *wzp, const RtValue *bias, ConvP *p) {
  if (!vec_ok(xzp, 1) || !vec_ok(wzp, p->M) || !vec_ok(bias, p->M) ||
      (bias && (int64_t)bias->numel != p->M) || (xzp && !is_int_t(xzp)) || (wzp && !is_int_t(wzp)))
    return rt_error(c, "zero point or bias size mismatch"), NULL;
  int64_t dims[RT_MAX_RANK];
  dims[0] = p->N;
  dims[1] = p->M;
  uint64_t nout = 1, nk = 1, nin = 1;
  for (int i = 0; i < p->nsp; i++) {
    dims[2 + i] = p->out[i];
    nout *= (uint64_t)p->out[i];
    nk *= (uint64_t)p->k[i];
    nin *= (uint64_t)p->in[i];
  }
  RtValue *y = rt_tensor_new(ELEM_INT32, p->nsp + 2, dims);
  if (!y) return rt_error(c, "rank too large"), NULL;
  int32_t *out = y->data;
  int64_t Cg = p->C / p->G, Mg = p->M / p->G, xz = xzp ? geti(xzp, 0) : 0;
  int64_t op[RT_MAX_RANK], kp[RT_MAX_RANK];
  for (int64_t n = 0; n < p->N; n++)
    for (int64_t m = 0; m < p->M; m++) {
      int64_t g = m / Mg, wz = wzp ? geti(wzp, vec_at(wzp, (uint64_t)m)) : 0;
      int64_t b0 = bias ? geti(bias, (uint64_t)m) : 0;
      for (uint64_t o = 0; o < nout; o++) {
        uint64_t r = o;
        for (int i = p->nsp - 1; i >= 0; i--) {
          op[i] = (int64_t)(r % (uint64_t)p->out[i]);
          r /= (uint64_t)p->out[i];
        }
        int64_t acc = b0;
        for (uint64_t kk = 0; kk < nk; kk++) {
          uint64_t rk = kk, xoff = 0;
          bool inb = true;
          for (int i = p->nsp - 1; i >= 0; i--) {
            kp[i] = (int64_t)(rk % (uint64_t)p->k[i]);
            rk /= (uint64_t)p->k[i];
          }
          for (int i = 0; i < p->nsp && inb; i++) {
            int64_t ix = op[i] * p->s[i] - p->pb[i] + kp[i] * p->d[i];
            if (ix < 0 || ix >= p->in[i]) inb = false;
            xoff = xoff * (uint64_t)p->in[i] + (uint64_t)ix;
          }
          if (!inb) continue;
          for (int64_t ci = 0; ci < Cg; ci++) {
            uint64_t xi = ((uint64_t)(n * p->C + g * Cg + ci)) * nin + xoff;
            uint64_t wi = ((uint64_t)(m * Cg + ci)) * nk + kk;
            acc += (geti(x, xi) - xz) * (geti(w, wi) - wz);
          }
        }
        out[((uint64_t)(n * p->M + m)) * nout + o] = (int32_t)(uint32_t)(uint64_t)acc;
      }
    }
  return y;
}

int rt_k_ConvInteger(RtCtx *c) {
  ConvP p;
  if (!conv_setup(c, c->in[0], c->in[1], &p)) return -1;
  RtValue *y = conv_int(c, c->in[0], c->n_in > 2 ? c->in[2] : NULL, c->in[1],
                        c->n_in > 3 ? c->in[3] : NULL, NULL, &p);
  if (!y) return -1;
  rt_set_out(c, 0, y);
  return 0;
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
  RtValue *acc = conv_int(c, x, xz, w, wz, bias, &p);
  if (!acc) return -1;
  ElemType ot = yz ? yz->elem : x->elem;
  RtValue *y = rt_out(c, 0, ot, acc->rank, acc->dims);
  if (!y || elem_class(ot) == CL_FLOAT) {
    rt_unref(acc);
    return y ? rt_error(c, "output must be an integer type") : -1;
  }
  uint64_t nm = (uint64_t)p.N * (uint64_t)p.M, per = nm ? acc->numel / nm : 1;
  const int32_t *a = acc->data;
  double z = yz ? getd(yz, 0) : 0;
  for (uint64_t i = 0; i < acc->numel; i++) {
    uint64_t m = (i / (per ? per : 1)) % (uint64_t)p.M;
    float f = (float)((float)getd(xs, 0) * (float)getd(ws, vec_at(ws, m))) / (float)getd(ys, 0);
    requant(y, i, a[i], f, z);
  }
  rt_unref(acc);
  return 0;
}
