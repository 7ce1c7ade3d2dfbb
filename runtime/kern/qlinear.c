/* qlinear.c - 8-bit element-wise and data-movement kernels (kern.h, "kern/qlinear.c") of the
 * com.microsoft quantized operators: QLinearAdd, QLinearMul, QLinearGlobalAveragePool,
 * QLinearConcat's requantization, and MaxPool on uint8 / int8. The same code runs in the
 * interpreter and in emitted models, so their outputs are bit-identical. */
#include "kern.h"

#include <string.h>

/* A product rounded on its own (never fused into the following add). */
#if defined(__GNUC__) || defined(__clang__)
#define QLFENCE(v) __asm__("" : "+m"(v))
#else
#define QLFENCE(v) do { volatile double qlf_ = (v); (v) = qlf_; } while (0)
#endif

static int32_t ql_load(const void *p, int type, int64_t i) {
  return type == EFFC_Q_U8 ? ((const uint8_t *)p)[i] : ((const int8_t *)p)[i];
}

/* y[i] = saturate(round_half_even(v)); NaN gives the type's minimum. */
static void ql_store(void *y, int type, int64_t i, double v) {
  double lo = type == EFFC_Q_U8 ? 0.0 : -128.0, hi = type == EFFC_Q_U8 ? 255.0 : 127.0;
  v = nearbyint(v);
  if (!(v >= lo)) v = lo;
  if (v > hi) v = hi;
  if (type == EFFC_Q_U8) ((uint8_t *)y)[i] = (uint8_t)(int)v;
  else ((int8_t *)y)[i] = (int8_t)(int)v;
}

EFFC_KERN float effc_qratio_f32(float a_scale, float y_scale) {
  return a_scale / y_scale;
}

EFFC_KERN float effc_qgap_mult_f32(float x_scale, float y_scale, int64_t n) {
  float d = y_scale * (float)n;
  return x_scale / d;
}

static double ql_value(const EffcQbin *p, int32_t a, int32_t b) {
  if (p->op == EFFC_QBIN_MUL) {
    double v = (double)((int64_t)(a - p->za) * (b - p->zb)) * p->ma;
    QLFENCE(v);
    return v + p->zy;
  }
  double u = (double)(a - p->za) * p->ma, w = (double)(b - p->zb) * p->mb;
  QLFENCE(u);
  QLFENCE(w);
  double s = u + w;
  QLFENCE(s);
  return s + p->zy;
}

EFFC_KERN void effc_qbinary(const EffcQbin *p, int64_t i0, int64_t i1) {
  if (i0 >= i1) return;
  int r = p->rank;
  int64_t idx[EFFC_QBIN_MAXR], oa = 0, ob = 0, rem = i0;
  for (int k = r - 1; k >= 0; k--) {
    idx[k] = p->dims[k] ? rem % p->dims[k] : 0;
    rem = p->dims[k] ? rem / p->dims[k] : 0;
    oa += idx[k] * p->sa[k];
    ob += idx[k] * p->sb[k];
  }
  int64_t inner = r ? p->dims[r - 1] : 1, ia = r ? p->sa[r - 1] : 0, ib = r ? p->sb[r - 1] : 0;
  for (int64_t i = i0; i < i1;) {
    /* the rest of this innermost row */
    int64_t j0 = r ? idx[r - 1] : 0, cnt = inner - j0;
    if (cnt > i1 - i) cnt = i1 - i;
    for (int64_t j = 0; j < cnt; j++)
      ql_store(p->y, p->y_type, i + j,
               ql_value(p, ql_load(p->a, p->a_type, oa + j * ia), ql_load(p->b, p->b_type, ob + j * ib)));
    i += cnt;
    if (!r) break;
    oa += cnt * ia, ob += cnt * ib;
    idx[r - 1] += cnt;
    for (int k = r - 1; k > 0 && idx[k] == p->dims[k]; k--) { /* carry */
      oa -= idx[k] * p->sa[k], ob -= idx[k] * p->sb[k];
      idx[k] = 0;
      idx[k - 1]++;
      oa += p->sa[k - 1], ob += p->sb[k - 1];
    }
  }
}

EFFC_KERN void effc_qgavgpool(const void *x, int x_type, int64_t N, int64_t C, int64_t n,
                              int channels_last, int32_t xz, double mult, double yz, int y_type,
                              void *y, int64_t p0, int64_t p1) {
  for (int64_t pl = p0; pl < p1; pl++) {
    int64_t b = pl / (C ? C : 1), c = pl % (C ? C : 1), base = channels_last ? b * n * C + c : pl * n,
            step = channels_last ? C : 1, acc = 0;
    for (int64_t i = 0; i < n; i++) acc += ql_load(x, x_type, base + i * step) - xz;
    double v = (double)acc * mult;
    QLFENCE(v);
    ql_store(y, y_type, pl, v + yz);
  }
  (void)N;
}

EFFC_KERN void effc_qconcat_part(const void *x, int x_type, int64_t len, int32_t xz, double mult,
                                 void *y, int y_type, int64_t y_len, int64_t y_off, double yz,
                                 int64_t o0, int64_t o1) {
  int copy = x_type == y_type && mult == 1.0 && (double)xz == yz;
  uint8_t lut[256]; /* the requantization of every byte value: a function of x alone */
  for (int v = 0; !copy && v < 256; v++) {
    double t = (double)(ql_load(&(uint8_t){(uint8_t)v}, x_type, 0) - xz) * mult;
    QLFENCE(t);
    ql_store(lut, y_type, v, t + yz);
  }
  for (int64_t o = o0; o < o1; o++) {
    const uint8_t *xs = (const uint8_t *)x + o * len;
    uint8_t *yd = (uint8_t *)y + o * y_len + y_off;
    if (copy) memcpy(yd, xs, (size_t)len);
    else
      for (int64_t i = 0; i < len; i++) yd[i] = lut[xs[i]];
  }
}

/* The window positions [lo, hi) of one dim whose input index o * s - pb + k * d is inside. */
static void ql_krange(int64_t o, int64_t s, int64_t pb, int64_t d, int64_t k, int64_t in, int64_t *lo,
                      int64_t *hi) {
  int64_t t = pb - o * s, u = in - 1 + pb - o * s;
  *lo = t <= 0 ? 0 : (t + d - 1) / d;
  *hi = u < 0 ? 0 : u / d + 1 < k ? u / d + 1 : k;
  if (*hi < *lo) *hi = *lo;
}

/* int8 is compared as uint8 after flipping the sign bit (an order-preserving map). */
EFFC_KERN void effc_maxpool2d_q8(const EffcPool2d *p, int x_signed, const void *x, void *y,
                                 int tid, int nt) {
  int64_t lo = p->NC * tid / nt, hi = p->NC * (tid + 1) / nt;
  uint8_t flip = x_signed ? 0x80 : 0;
  for (int64_t pl = lo; pl < hi; pl++) {
    const uint8_t *xp = (const uint8_t *)x + pl * p->H * p->W;
    uint8_t *yp = (uint8_t *)y + pl * p->OH * p->OW;
    for (int64_t oh = 0; oh < p->OH; oh++) {
      int64_t a0, a1;
      ql_krange(oh, p->SH, p->PT, p->DH, p->KH, p->H, &a0, &a1);
      for (int64_t ow = 0; ow < p->OW; ow++) {
        int64_t b0, b1;
        ql_krange(ow, p->SW, p->PL, p->DW, p->KW, p->W, &b0, &b1);
        uint8_t m = 0; /* an empty window gives the type's minimum */
        for (int64_t a = a0; a < a1; a++) {
          const uint8_t *xr = xp + (oh * p->SH - p->PT + a * p->DH) * p->W + ow * p->SW - p->PL;
          for (int64_t b = b0; b < b1; b++) {
            uint8_t v = (uint8_t)(xr[b * p->DW] ^ flip);
            m = v > m ? v : m;
          }
        }
        yp[oh * p->OW + ow] = (uint8_t)(m ^ flip);
      }
    }
  }
}
