/* k_attention_signal.c - signal processing kernels (DFT, STFT, the Blackman/Hamming/Hann
 * windows, MelWeightMatrix) and NonMaxSuppression. Transforms compute in double with exact
 * twiddle angles and round once to the output type. */
#include "runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

static RtValue *in_at(RtCtx *c, int i) {
  return i < c->n_in ? c->in[i] : NULL;
}

static bool is_fp(const RtValue *v) {
  return v && v->kind == TYPE_TENSOR &&
         (v->elem == ELEM_FLOAT || v->elem == ELEM_FLOAT16 || v->elem == ELEM_BFLOAT16 ||
          v->elem == ELEM_DOUBLE);
}

static double *dalloc(uint64_t n) {
  double *p = calloc(n ? n : 1, sizeof *p);
  if (!p) abort();
  return p;
}

/* A scalar (or one-element) integer input; false after reporting. */
static bool in_scalar_int(RtCtx *c, int i, int64_t *out) {
  const RtValue *v = in_at(c, i);
  if (!v || v->kind != TYPE_TENSOR || v->numel != 1 ||
      (v->elem != ELEM_INT64 && v->elem != ELEM_INT32))
    return rt_error(c, "input %d must be an integer scalar", i), false;
  *out = rt_get_i64(v, 0);
  return true;
}

static bool in_scalar_f64(RtCtx *c, int i, double *out) {
  const RtValue *v = in_at(c, i);
  if (!v || v->kind != TYPE_TENSOR || v->numel != 1 || v->elem == ELEM_STRING)
    return rt_error(c, "input %d must be a scalar", i), false;
  *out = rt_get_f64(v, 0);
  return true;
}

/* e^(sign * 2*pi*i * k*m/n), the angle reduced exactly first. */
static void twiddle(int64_t k, int64_t m, int64_t n, int sign, double *re, double *im) {
  /* k, m < n, and n fits in 32 bits for any tensor that fits in memory */
  uint64_t r = ((uint64_t)k * (uint64_t)m) % (uint64_t)n;
  double a = 2.0 * PI * (double)r / (double)n;
  *re = cos(a);
  *im = sign * sin(a);
}

/* ------------------------------------------------------------------ DFT */

/* One 1-D transform of n points. in: nin complex points (re, im); out: nout points. */
typedef struct {
  int64_t n, nin, nout;
  bool inverse, half_in; /* half_in: input is the onesided half spectrum (irfft) */
} DftPlan;

static void dft_1d(const DftPlan *p, const double *in, double *out) {
  int sign = p->inverse ? 1 : -1;
  for (int64_t m = 0; m < p->nout; m++) {
    double sr = 0, si = 0;
    for (int64_t k = 0; k < p->n; k++) {
      double xr = 0, xi = 0;
      if (p->half_in) {
        int64_t src = k <= p->n / 2 ? k : p->n - k;
        if (src < p->nin) {
          xr = in[2 * src];
          xi = k <= p->n / 2 ? in[2 * src + 1] : -in[2 * src + 1];
        }
      } else if (k < p->nin) {
        xr = in[2 * k];
        xi = in[2 * k + 1];
      }
      double wr, wi;
      twiddle(k, m, p->n, sign, &wr, &wi);
      sr += xr * wr - xi * wi;
      si += xr * wi + xi * wr;
    }
    if (p->inverse) {
      sr /= (double)p->n;
      si /= (double)p->n;
    }
    out[2 * m] = sr;
    out[2 * m + 1] = si;
  }
}

/* A float32 complex FFT computed in the order of the mixed-radix FFTPACK scheme numpy's
 * single-precision FFT uses, so results carry the same rounding (the transforms' exact
 * zeros come out as that scheme's float32 residue). Lengths whose factors are 2, 3, 4 and 5
 * only, and not a multiple of 8; fft_f32 returns false for others. */
typedef struct {
  float r, i;
} Cf;

static Cf cf_add(Cf a, Cf b) {
  return (Cf){a.r + b.r, a.i + b.i};
}
static Cf cf_sub(Cf a, Cf b) {
  return (Cf){a.r - b.r, a.i - b.i};
}
/* a * w (inverse) or a * conj(w) (forward) */
static Cf cf_tw(Cf a, Cf w, bool fwd) {
  if (fwd) return (Cf){a.r * w.r + a.i * w.i, a.i * w.r - a.r * w.i};
  return (Cf){a.r * w.r - a.i * w.i, a.r * w.i + a.i * w.r};
}

typedef struct {
  int64_t ido, l1;
  bool fwd;
  const Cf *cc;
  Cf *ch;
  const Cf *wa;
} FftPass;

#define CCX(p, a, b, c, cdim) ((p)->cc[(a) + (p)->ido * ((b) + (cdim) * (c))])
#define CHX(p, a, b, c) ((p)->ch[(a) + (p)->ido * ((b) + (p)->l1 * (c))])
#define WAX(p, x, i) ((p)->wa[(i)-1 + (x) * ((p)->ido - 1)])

static void fft_pass2(const FftPass *p) {
  for (int64_t k = 0; k < p->l1; k++)
    for (int64_t i = 0; i < p->ido; i++) {
      Cf a = CCX(p, i, 0, k, 2), b = CCX(p, i, 1, k, 2);
      CHX(p, i, k, 0) = cf_add(a, b);
      CHX(p, i, k, 1) = i ? cf_tw(cf_sub(a, b), WAX(p, 0, i), p->fwd) : cf_sub(a, b);
    }
}

static void fft_pass3(const FftPass *p) {
  const float twr = -0.5f, twi = (p->fwd ? -1 : 1) * 0.8660254037844386467637231707529362f;
  for (int64_t k = 0; k < p->l1; k++)
    for (int64_t i = 0; i < p->ido; i++) {
      Cf t0 = CCX(p, i, 0, k, 3), c1 = CCX(p, i, 1, k, 3), c2 = CCX(p, i, 2, k, 3);
      Cf t1 = cf_add(c1, c2), t2 = cf_sub(c1, c2);
      CHX(p, i, k, 0) = cf_add(t0, t1);
      Cf ca = {t0.r + t1.r * twr, t0.i + t1.i * twr}, cb = {t2.r * twi, t2.i * twi};
      cb = (Cf){-cb.i, cb.r};
      Cf d1 = cf_add(ca, cb), d2 = cf_sub(ca, cb);
      CHX(p, i, k, 1) = i ? cf_tw(d1, WAX(p, 0, i), p->fwd) : d1;
      CHX(p, i, k, 2) = i ? cf_tw(d2, WAX(p, 1, i), p->fwd) : d2;
    }
}

static Cf rotx90(Cf a, bool fwd) {
  return fwd ? (Cf){a.i, -a.r} : (Cf){-a.i, a.r};
}

static void fft_pass4(const FftPass *p) {
  for (int64_t k = 0; k < p->l1; k++)
    for (int64_t i = 0; i < p->ido; i++) {
      Cf c0 = CCX(p, i, 0, k, 4), c1 = CCX(p, i, 1, k, 4), c2 = CCX(p, i, 2, k, 4),
         c3 = CCX(p, i, 3, k, 4);
      Cf t2 = cf_add(c0, c2), t1 = cf_sub(c0, c2), t3 = cf_add(c1, c3),
         t4 = rotx90(cf_sub(c1, c3), p->fwd);
      Cf o[4] = {cf_add(t2, t3), cf_add(t1, t4), cf_sub(t2, t3), cf_sub(t1, t4)};
      CHX(p, i, k, 0) = o[0];
      for (int u = 1; u < 4; u++)
        CHX(p, i, k, u) = i ? cf_tw(o[u], WAX(p, u - 1, i), p->fwd) : o[u];
    }
}

static void fft_pass5(const FftPass *p) {
  const float s = p->fwd ? -1.0f : 1.0f;
  const float w1r = 0.3090169943749474241022934171828191f,
              w1i = s * 0.9510565162951535721164393333793821f,
              w2r = -0.8090169943749474241022934171828191f,
              w2i = s * 0.5877852522924731291687059546390728f;
  for (int64_t k = 0; k < p->l1; k++)
    for (int64_t i = 0; i < p->ido; i++) {
      Cf t0 = CCX(p, i, 0, k, 5), c1 = CCX(p, i, 1, k, 5), c2 = CCX(p, i, 2, k, 5),
         c3 = CCX(p, i, 3, k, 5), c4 = CCX(p, i, 4, k, 5);
      Cf t1 = cf_add(c1, c4), t4 = cf_sub(c1, c4), t2 = cf_add(c2, c3), t3 = cf_sub(c2, c3);
      CHX(p, i, k, 0) = (Cf){t0.r + t1.r + t2.r, t0.i + t1.i + t2.i};
      /* outputs (1, 4) use (w1r, w2r, +w1i, +w2i); (2, 3) use (w2r, w1r, +w2i, -w1i) */
      const float ar[2] = {w1r, w2r}, br[2] = {w2r, w1r}, ai[2] = {w1i, w2i}, bi[2] = {w2i, -w1i};
      const int u1[2] = {1, 2}, u2[2] = {4, 3};
      for (int q = 0; q < 2; q++) {
        Cf ca = {t0.r + ar[q] * t1.r + br[q] * t2.r, t0.i + ar[q] * t1.i + br[q] * t2.i};
        Cf cb;
        cb.i = ai[q] * t4.r + bi[q] * t3.r;
        cb.r = -(ai[q] * t4.i + bi[q] * t3.i);
        Cf d1 = cf_add(ca, cb), d2 = cf_sub(ca, cb);
        CHX(p, i, k, u1[q]) = i ? cf_tw(d1, WAX(p, u1[q] - 1, i), p->fwd) : d1;
        CHX(p, i, k, u2[q]) = i ? cf_tw(d2, WAX(p, u2[q] - 1, i), p->fwd) : d2;
      }
    }
}

/* In-place transform of n points, scaled by fct. */
static bool fft_f32(Cf *c, int64_t n, bool fwd, float fct) {
  int64_t fac[64], nf = 0, len = n;
  if (n < 1 || n % 8 == 0) return false;
  while (len % 4 == 0) fac[nf++] = 4, len /= 4;
  if (len % 2 == 0) {
    len /= 2;
    fac[nf++] = 2;
    int64_t t = fac[0];
    fac[0] = fac[nf - 1];
    fac[nf - 1] = t;
  }
  while (len % 3 == 0) fac[nf++] = 3, len /= 3;
  while (len % 5 == 0) fac[nf++] = 5, len /= 5;
  if (len != 1) return false;
  Cf *ch = malloc(sizeof *ch * (size_t)n), *tw = malloc(sizeof *tw * (size_t)(4 * n + 1));
  if (!ch || !tw) abort();
  Cf *p1 = c, *p2 = ch;
  int64_t l1 = 1;
  for (int64_t f = 0; f < nf; f++) {
    int64_t ip = fac[f], ido = n / (l1 * ip);
    for (int64_t j = 1; j < ip; j++)
      for (int64_t i = 1; i < ido; i++) {
        double re, im;
        twiddle(j * l1 * i, 1, n, 1, &re, &im);
        tw[(j - 1) * (ido - 1) + i - 1] = (Cf){(float)re, (float)im};
      }
    FftPass ps = {ido, l1, fwd, p1, p2, tw};
    if (ip == 2)
      fft_pass2(&ps);
    else if (ip == 3)
      fft_pass3(&ps);
    else if (ip == 4)
      fft_pass4(&ps);
    else
      fft_pass5(&ps);
    Cf *t = p1;
    p1 = p2;
    p2 = t;
    l1 *= ip;
  }
  for (int64_t i = 0; i < n; i++) c[i] = fct != 1.0f ? (Cf){p1[i].r * fct, p1[i].i * fct} : p1[i];
  free(ch);
  free(tw);
  return true;
}

#undef CCX
#undef CHX
#undef WAX

/* The plan's transform through fft_f32; false when its length is not supported. */
static bool dft_f32(const DftPlan *p, const double *in, double *out) {
  Cf *c = malloc(sizeof *c * (size_t)p->n);
  if (!c) abort();
  for (int64_t k = 0; k < p->n; k++)
    c[k] = k < p->nin ? (Cf){(float)in[2 * k], (float)in[2 * k + 1]} : (Cf){0, 0};
  bool ok = fft_f32(c, p->n, !p->inverse, p->inverse ? (float)(1.0 / (double)p->n) : 1.0f);
  for (int64_t m = 0; ok && m < p->nout; m++) {
    out[2 * m] = c[m].r;
    out[2 * m + 1] = c[m].i;
  }
  free(c);
  return ok;
}

int rt_k_DFT(RtCtx *c) {
  const RtValue *X = in_at(c, 0);
  if (!is_fp(X) || X->rank < 2 || (X->dims[X->rank - 1] != 1 && X->dims[X->rank - 1] != 2))
    return rt_error(c, "input must be a floating-point tensor whose last dimension is 1 or 2");
  int r = X->rank;
  int64_t axis;
  if (c->op->since >= 20) {
    axis = -2;
    if (in_at(c, 2) && !in_scalar_int(c, 2, &axis)) return -1;
  } else {
    axis = rt_attr_int(c, "axis", 1);
  }
  if (axis < 0) axis += r;
  if (axis < 0 || axis > r - 2) return rt_error(c, "axis out of range");
  bool inverse = rt_attr_int(c, "inverse", 0) != 0, onesided = rt_attr_int(c, "onesided", 0) != 0;
  int64_t nin = X->dims[axis];
  DftPlan p = {0, nin, 0, inverse, inverse && onesided};
  p.n = p.half_in ? 2 * (nin - 1) : nin;
  if (in_at(c, 1) && !in_scalar_int(c, 1, &p.n)) return -1;
  if (p.n < 1) return rt_error(c, "dft_length must be positive");
  p.nout = (onesided && !inverse) ? p.n / 2 + 1 : p.n;
  int64_t od[RT_MAX_RANK];
  memcpy(od, X->dims, sizeof(int64_t) * (size_t)r);
  od[axis] = p.nout;
  od[r - 1] = p.half_in ? 1 : 2;
  RtValue *Y = rt_out(c, 0, X->elem, r, od);
  if (!Y) return -1;
  if (!Y->numel || !X->numel) return 0;
  int64_t comp = X->dims[r - 1], outer = 1, inner = 1;
  for (int i = 0; i < axis; i++) outer *= X->dims[i];
  for (int i = axis + 1; i < r - 1; i++) inner *= X->dims[i];
  double *in = dalloc((uint64_t)(2 * nin)), *out = dalloc((uint64_t)(2 * p.nout));
  /* The reference transforms complex float32 input in single precision (real input is
   * transformed in double): match its rounding. */
  bool f32 = X->elem == ELEM_FLOAT && X->dims[r - 1] == 2 && !p.half_in && p.nout == p.n;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t q = 0; q < inner; q++) {
      for (int64_t k = 0; k < nin; k++) {
        uint64_t base = (uint64_t)(((o * nin + k) * inner + q) * comp);
        in[2 * k] = rt_get_f64(X, base);
        in[2 * k + 1] = comp == 2 ? rt_get_f64(X, base + 1) : 0.0;
      }
      if (!f32 || !dft_f32(&p, in, out)) dft_1d(&p, in, out);
      int64_t oc = od[r - 1];
      for (int64_t m = 0; m < p.nout; m++) {
        uint64_t base = (uint64_t)(((o * p.nout + m) * inner + q) * oc);
        rt_set_f64(Y, base, out[2 * m]);
        if (oc == 2) rt_set_f64(Y, base + 1, out[2 * m + 1]);
      }
    }
  free(in);
  free(out);
  return 0;
}

/* ------------------------------------------------------------------ STFT */

int rt_k_STFT(RtCtx *c) {
  const RtValue *X = in_at(c, 0), *win = in_at(c, 2);
  if (!is_fp(X) || X->rank != 3 || (X->dims[2] != 1 && X->dims[2] != 2))
    return rt_error(c, "signal must be [batch, length, 1 or 2]");
  int64_t step, fl = -1;
  if (!in_scalar_int(c, 1, &step)) return -1;
  if (in_at(c, 3) && !in_scalar_int(c, 3, &fl)) return -1;
  if (win) {
    if (!is_fp(win) || win->rank != 1) return rt_error(c, "window must be 1-D");
    if (fl >= 0 && fl != win->dims[0])
      return rt_error(c, "window length differs from frame_length");
    fl = win->dims[0];
  }
  if (fl < 0) return rt_error(c, "frame_length or window is required");
  int64_t B = X->dims[0], L = X->dims[1], comp = X->dims[2];
  if (step < 1 || fl < 1 || fl > L) return rt_error(c, "bad frame_step or frame_length");
  bool onesided = rt_attr_int(c, "onesided", 1) != 0;
  int64_t frames = 1 + (L - fl) / step;
  DftPlan p = {fl, fl, onesided ? fl / 2 + 1 : fl, false, false};
  int64_t od[4] = {B, frames, p.nout, 2};
  RtValue *Y = rt_out(c, 0, X->elem, 4, od);
  if (!Y) return -1;
  if (!Y->numel) return 0;
  double *in = dalloc((uint64_t)(2 * fl)), *out = dalloc((uint64_t)(2 * p.nout));
  for (int64_t b = 0; b < B; b++)
    for (int64_t f = 0; f < frames; f++) {
      for (int64_t k = 0; k < fl; k++) {
        uint64_t base = (uint64_t)((b * L + f * step + k) * comp);
        double w = win ? rt_get_f64(win, (uint64_t)k) : 1.0;
        /* the windowed frame is rounded to the signal type, as the reference does */
        in[2 * k] = rt_round_to(X->elem, rt_get_f64(X, base) * w);
        in[2 * k + 1] = comp == 2 ? rt_round_to(X->elem, rt_get_f64(X, base + 1) * w) : 0.0;
      }
      dft_1d(&p, in, out);
      for (int64_t m = 0; m < p.nout; m++) {
        uint64_t base = (uint64_t)(((b * frames + f) * p.nout + m) * 2);
        rt_set_f64(Y, base, out[2 * m]);
        rt_set_f64(Y, base + 1, out[2 * m + 1]);
      }
    }
  free(in);
  free(out);
  return 0;
}

/* ------------------------------------------------------------------ windows */

static int window(RtCtx *c, double a0, double a1, double a2) {
  int64_t n;
  if (!in_scalar_int(c, 0, &n)) return -1;
  if (n < 0) return rt_error(c, "size must be non-negative");
  int64_t dt = rt_attr_int(c, "output_datatype", ELEM_FLOAT);
  if (!ir_elem_valid((int)dt) || dt == ELEM_STRING) return rt_error(c, "bad output_datatype");
  double den = rt_attr_int(c, "periodic", 1) ? (double)n : (double)(n - 1);
  int64_t dims[1] = {n};
  RtValue *Y = rt_out(c, 0, (ElemType)dt, 1, dims);
  if (!Y) return -1;
  for (int64_t i = 0; i < n; i++) {
    double x = 2.0 * PI * (double)i / den;
    rt_set_f64(Y, (uint64_t)i, a0 - a1 * cos(x) + a2 * cos(2.0 * x));
  }
  return 0;
}

int rt_k_HannWindow(RtCtx *c) {
  return window(c, 0.5, 0.5, 0.0);
}
int rt_k_HammingWindow(RtCtx *c) {
  return window(c, 25.0 / 46.0, 21.0 / 46.0, 0.0);
}
int rt_k_BlackmanWindow(RtCtx *c) {
  return window(c, 0.42, 0.5, 0.08);
}

/* ------------------------------------------------------------------ MelWeightMatrix */

int rt_k_MelWeightMatrix(RtCtx *c) {
  int64_t nmel, dftl, sr;
  double lo, hi;
  if (!in_scalar_int(c, 0, &nmel) || !in_scalar_int(c, 1, &dftl) || !in_scalar_int(c, 2, &sr) ||
      !in_scalar_f64(c, 3, &lo) || !in_scalar_f64(c, 4, &hi))
    return -1;
  if (nmel < 1 || dftl < 1 || sr < 1) return rt_error(c, "sizes and sample_rate must be positive");
  if (nmel > (1 << 24) || dftl > ((int64_t)1 << 40)) return rt_error(c, "sizes too large");
  int64_t dt = rt_attr_int(c, "output_datatype", ELEM_FLOAT);
  if (!ir_elem_valid((int)dt) || dt == ELEM_STRING) return rt_error(c, "bad output_datatype");
  int64_t nbins = dftl / 2 + 1;
  /* the edges in float32, as the reference computes them from float32 inputs */
  float lmel = 2595.0f * log10f(1.0f + (float)lo / 700.0f);
  float hmel = 2595.0f * log10f(1.0f + (float)hi / 700.0f);
  float step = (hmel - lmel) / (float)(nmel + 2);
  int64_t *fb = malloc(sizeof *fb * (size_t)(nmel + 2));
  if (!fb) abort();
  for (int64_t i = 0; i < nmel + 2; i++) {
    double f = (double)i * (double)step + (double)lmel;
    f = 700.0 * (pow(10.0, f / 2595.0) - 1.0);
    fb[i] = (int64_t)floor((double)(dftl + 1) * f / (double)sr);
    if (fb[i] < 0 || fb[i] >= nbins) {
      free(fb);
      return rt_error(c, "mel band edge outside the spectrum");
    }
  }
  int64_t dims[2] = {nbins, nmel};
  RtValue *Y = rt_out(c, 0, (ElemType)dt, 2, dims);
  if (!Y) {
    free(fb);
    return -1;
  }
  for (int64_t i = 0; i < nmel; i++) {
    int64_t l = fb[i], ce = fb[i + 1], h = fb[i + 2];
    if (ce == l)
      rt_set_f64(Y, (uint64_t)(ce * nmel + i), 1.0);
    else
      for (int64_t j = l; j <= ce; j++)
        rt_set_f64(Y, (uint64_t)(j * nmel + i), (double)(j - l) / (double)(ce - l));
    for (int64_t j = ce; j < h; j++)
      rt_set_f64(Y, (uint64_t)(j * nmel + i), (double)(h - j) / (double)(h - ce));
  }
  free(fb);
  return 0;
}

/* ------------------------------------------------------------------ NonMaxSuppression */

/* Whether box a suppresses box b: IOU > thr, in float32 as the reference. */
static bool nms_suppress(const float *a, const float *b, bool center, float thr) {
  float ax0, ax1, ay0, ay1, bx0, bx1, by0, by1;
  if (center) {
    ax0 = a[0] - a[2] / 2, ax1 = a[0] + a[2] / 2, ay0 = a[1] - a[3] / 2, ay1 = a[1] + a[3] / 2;
    bx0 = b[0] - b[2] / 2, bx1 = b[0] + b[2] / 2, by0 = b[1] - b[3] / 2, by1 = b[1] + b[3] / 2;
  } else {
    ax0 = fminf(a[1], a[3]), ax1 = fmaxf(a[1], a[3]), ay0 = fminf(a[0], a[2]),
    ay1 = fmaxf(a[0], a[2]);
    bx0 = fminf(b[1], b[3]), bx1 = fmaxf(b[1], b[3]), by0 = fminf(b[0], b[2]),
    by1 = fmaxf(b[0], b[2]);
  }
  float ix0 = fmaxf(ax0, bx0), ix1 = fminf(ax1, bx1), iy0 = fmaxf(ay0, by0), iy1 = fminf(ay1, by1);
  if (ix1 <= ix0 || iy1 <= iy0) return false;
  float inter = (ix1 - ix0) * (iy1 - iy0);
  float area_a = (ax1 - ax0) * (ay1 - ay0), area_b = (bx1 - bx0) * (by1 - by0);
  float uni = area_a + area_b - inter;
  if (inter <= 0 || area_a <= 0 || area_b <= 0 || uni <= 0) return false;
  return inter / uni > thr;
}

typedef struct {
  float score;
  int64_t idx;
} NmsCand;

static int nms_cmp(const void *pa, const void *pb) {
  const NmsCand *a = pa, *b = pb;
  if (a->score != b->score) return a->score > b->score ? -1 : 1;
  return a->idx < b->idx ? -1 : a->idx > b->idx;
}

int rt_k_NonMaxSuppression(RtCtx *c) {
  const RtValue *boxes = in_at(c, 0), *scores = in_at(c, 1);
  if (!is_fp(boxes) || !is_fp(scores) || boxes->rank != 3 || boxes->dims[2] != 4 ||
      scores->rank != 3 || scores->dims[0] != boxes->dims[0] || scores->dims[2] != boxes->dims[1])
    return rt_error(c, "boxes must be [batch, boxes, 4] and scores [batch, classes, boxes]");
  int64_t maxout = 0;
  double iou = 0, sthr = 0;
  bool has_sthr = false;
  const RtValue *v = in_at(c, 2);
  if (v && v->numel) {
    if (!in_scalar_int(c, 2, &maxout)) return -1;
    if (maxout < 0) maxout = 0;
  }
  v = in_at(c, 3);
  if (v && v->numel && !in_scalar_f64(c, 3, &iou)) return -1;
  v = in_at(c, 4);
  if (v && v->numel) {
    if (!in_scalar_f64(c, 4, &sthr)) return -1;
    has_sthr = true;
  }
  bool center = rt_attr_int(c, "center_point_box", 0) != 0;
  int64_t Bn = boxes->dims[0], Nb = boxes->dims[1], Cn = scores->dims[1];
  float *bx = malloc(sizeof *bx * (size_t)(Bn * Nb * 4 + 1));
  NmsCand *cand = malloc(sizeof *cand * (size_t)(Nb + 1));
  int64_t *sel = malloc(sizeof *sel * (size_t)(Nb + 1));
  int64_t *res = NULL, nres = 0, cap = 0;
  if (!bx || !cand || !sel) abort();
  for (uint64_t i = 0; i < boxes->numel; i++) bx[i] = (float)rt_get_f64(boxes, i);
  for (int64_t b = 0; b < Bn; b++)
    for (int64_t cl = 0; cl < Cn; cl++) {
      int64_t nc = 0, ns = 0;
      for (int64_t i = 0; i < Nb; i++) {
        float s = (float)rt_get_f64(scores, (uint64_t)((b * Cn + cl) * Nb + i));
        if (has_sthr && !(s > (float)sthr)) continue;
        cand[nc].score = s;
        cand[nc++].idx = i;
      }
      qsort(cand, (size_t)nc, sizeof *cand, nms_cmp);
      for (int64_t k = 0; k < nc && ns < maxout; k++) {
        const float *a = bx + (b * Nb + cand[k].idx) * 4;
        bool keep = true;
        for (int64_t s = 0; s < ns && keep; s++)
          if (nms_suppress(a, bx + (b * Nb + sel[s]) * 4, center, (float)iou)) keep = false;
        if (!keep) continue;
        sel[ns++] = cand[k].idx;
        if (nres == cap) {
          cap = cap ? 2 * cap : 16;
          res = realloc(res, sizeof *res * (size_t)(cap * 3));
          if (!res) abort();
        }
        res[nres * 3] = b;
        res[nres * 3 + 1] = cl;
        res[nres * 3 + 2] = cand[k].idx;
        nres++;
      }
    }
  free(bx);
  free(cand);
  free(sel);
  int64_t dims[2] = {nres, 3};
  RtValue *Y = rt_out(c, 0, ELEM_INT64, 2, dims);
  if (Y)
    for (int64_t i = 0; i < nres * 3; i++) rt_set_i64(Y, (uint64_t)i, res[i]);
  free(res);
  return Y ? 0 : -1;
}
