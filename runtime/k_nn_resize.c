/* k_nn_resize.c - resampling kernels: Resize (all versions) and Upsample as separable 1-D
 * passes with per-coordinate tap tables, GridSample (N-D, linear/nearest/cubic, every
 * padding mode) and AffineGrid. All in double, rounded once into the element type. */
#include "k_nn_util.h"

/* ------------------------------------------------------------------ Resize taps */

typedef enum { RS_NEAREST, RS_LINEAR, RS_CUBIC } RsMode;

typedef struct RsParams {
  RsMode mode;
  const char *ctm;     /* coordinate_transformation_mode */
  const char *nearest; /* nearest_mode; "simple" = floor upsampling, ceil downsampling */
  double cubic_a, extrap;
  bool exclude_outside, antialias;
} RsParams;

/* One dimension's taps: for output j, ntap (index, weight) pairs, or ext[j] = extrapolate. */
typedef struct RsTaps {
  int ntap;
  int64_t *idx;
  double *w;
  bool *ext;
} RsTaps;

static double cubic_w(double x, double A) {
  x = fabs(x);
  if (x <= 1.0) return ((A + 2) * x - (A + 3)) * x * x + 1;
  if (x < 2.0) return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return 0.0;
}

/* Coefficients for fractional position r in (0, 1]; returns their count (<= max). */
static int rs_coeffs(const RsParams *p, double r, double scale, double *cf, int max) {
  if (p->mode == RS_NEAREST) {
    const char *nm = p->nearest;
    bool up;
    if (r == 1.0) up = true;
    else if (!strcmp(nm, "round_prefer_ceil")) up = r >= 0.5;
    else if (!strcmp(nm, "floor")) up = false;
    else if (!strcmp(nm, "ceil")) up = true;
    else if (!strcmp(nm, "simple")) up = scale < 1.0;
    else up = r > 0.5; /* round_prefer_floor */
    cf[0] = up ? 0.0 : 1.0, cf[1] = up ? 1.0 : 0.0;
    return 2;
  }
  if (!p->antialias || scale >= 1.0) {
    if (p->mode == RS_LINEAR) {
      cf[0] = 1 - r, cf[1] = r;
      return 2;
    }
    double A = p->cubic_a;
    cf[0] = cubic_w(r + 1, A), cf[1] = cubic_w(r, A), cf[2] = cubic_w(1 - r, A);
    cf[3] = cubic_w(2 - r, A);
    return 4;
  }
  double s = scale, sum = 0.0;
  int64_t start = p->mode == RS_LINEAR ? (int64_t)floor(-1.0 / s) + 1 : (int64_t)floor(-2.0 / s) + 1;
  int n = (int)(2 - 2 * start);
  if (n > max) n = max;
  for (int i = 0; i < n; i++) {
    double a = ((double)(start + i) - r) * s;
    cf[i] = p->mode == RS_LINEAR ? (fabs(a) < 1.0 ? 1.0 - fabs(a) : 0.0) : cubic_w(a, p->cubic_a);
    sum += cf[i];
  }
  for (int i = 0; i < n; i++) cf[i] /= sum;
  return n;
}

#define RS_MAXTAP 4096

/* Build the taps of one dimension: in -> out with scale, roi [r0, r1]. */
static bool rs_taps(RtCtx *c, const RsParams *p, int64_t in, int64_t out, double scale, double r0,
                    double r1, RsTaps *t) {
  double cf[RS_MAXTAP];
  double ow = scale * (double)in;
  int n = rs_coeffs(p, 0.5, scale, cf, RS_MAXTAP);
  if (n >= RS_MAXTAP) {
    rt_error(c, "scale %g needs too many taps", scale);
    return false;
  }
  t->ntap = n;
  t->idx = nn_alloc((uint64_t)(out * n), sizeof *t->idx);
  t->w = nn_alloc((uint64_t)(out * n), sizeof *t->w);
  t->ext = nn_zalloc((uint64_t)out, sizeof *t->ext);
  const char *m = p->ctm;
  for (int64_t j = 0; j < out; j++) {
    double x, jd = (double)j;
    if (!strcmp(m, "align_corners")) x = ow == 1.0 ? 0.0 : jd * (double)(in - 1) / (ow - 1);
    else if (!strcmp(m, "asymmetric")) x = jd / scale;
    else if (!strcmp(m, "tf_crop_and_resize")) {
      x = ow == 1.0 ? (r1 - r0) * (double)(in - 1) / 2 : jd * (r1 - r0) * (double)(in - 1) / (ow - 1);
      x += r0 * (double)(in - 1);
      if (x < 0 || x > (double)(in - 1)) t->ext[j] = true;
    } else if (!strcmp(m, "tf_half_pixel_for_nn")) x = (jd + 0.5) / scale;
    else if (!strcmp(m, "pytorch_half_pixel")) x = ow == 1.0 ? -0.5 : (jd + 0.5) / scale - 0.5;
    else if (!strcmp(m, "half_pixel_symmetric")) {
      double adj = (double)out / ow, off = (double)in / 2 * (1 - adj);
      x = off + (jd + 0.5) / scale - 0.5;
    } else x = (jd + 0.5) / scale - 0.5; /* half_pixel */
    if (!(fabs(x) < 1e15)) { /* NaN or absurd roi/scale: extrapolate or take the edge */
      if (!strcmp(m, "tf_crop_and_resize")) t->ext[j] = true;
      x = isnan(x) ? 0.0 : x < 0 ? -1e15 : 1e15;
    }
    double base = ceil(x) - 1, r = x - base;
    if (!(r > 0 && r <= 1)) base = floor(x), r = 1.0; /* NaN/inf guard */
    rs_coeffs(p, r, scale, cf, RS_MAXTAP);
    double sum = 0.0;
    for (int k = 0; k < n; k++) {
      double id = base - n / 2 + 1 + k;
      if (p->exclude_outside && (id < 0 || id >= (double)in)) cf[k] = 0.0;
      sum += cf[k];
      int64_t ii = id < 0 ? 0 : id > (double)(in - 1) ? in - 1 : (int64_t)id;
      t->idx[j * n + k] = ii;
    }
    for (int k = 0; k < n; k++) t->w[j * n + k] = p->exclude_outside && sum != 0 ? cf[k] / sum : cf[k];
  }
  return true;
}

/* Resample x (dims in[]) to out[] with the given per-dimension scales and roi (2r values or
 * NULL), writing Y. */
static int rs_run(RtCtx *c, const RsParams *p, const RtValue *X, const int64_t *out,
                  const double *scales, const double *roi) {
  int r = X->rank;
  RtValue *Y = rt_out(c, 0, X->elem, r, out);
  if (!Y) return -1;
  if (Y->numel == 0) return 0;
  if (X->numel == 0) return rt_error(c, "cannot resize an empty input to a non-empty output");
  int64_t cur[RT_MAX_RANK];
  memcpy(cur, X->dims, sizeof cur);
  double *buf = nn_get_f64(X);
  bool tf = !strcmp(p->ctm, "tf_crop_and_resize");
  for (int d = r - 1; d >= 0; d--) {
    if (out[d] == cur[d] && scales[d] == 1.0 && !tf) continue;
    RsTaps t;
    if (!rs_taps(c, p, cur[d], out[d], scales[d], roi ? roi[d] : 0.0, roi ? roi[d + r] : 1.0, &t)) {
      free(buf);
      return -1;
    }
    int64_t outer = 1, inner = 1;
    for (int e = 0; e < d; e++) outer *= cur[e];
    for (int e = d + 1; e < r; e++) inner *= cur[e];
    double *nb = nn_zalloc((uint64_t)(outer * out[d] * inner), sizeof *nb);
    for (int64_t o = 0; o < outer; o++)
      for (int64_t j = 0; j < out[d]; j++) {
        double *dst = nb + (o * out[d] + j) * inner;
        if (t.ext[j]) {
          for (int64_t i = 0; i < inner; i++) dst[i] = p->extrap;
          continue;
        }
        for (int k = 0; k < t.ntap; k++) {
          double w = t.w[j * t.ntap + k];
          if (w == 0.0) continue;
          const double *src = buf + (o * cur[d] + t.idx[j * t.ntap + k]) * inner;
          for (int64_t i = 0; i < inner; i++) dst[i] += w * src[i];
        }
      }
    free(t.idx), free(t.w), free(t.ext), free(buf);
    buf = nb;
    cur[d] = out[d];
  }
  nn_put_f64(Y, buf);
  free(buf);
  return 0;
}

static bool rs_mode(RtCtx *c, const char *m, RsMode *mode) {
  if (!strcmp(m, "nearest")) *mode = RS_NEAREST;
  else if (!strcmp(m, "linear") || !strcmp(m, "bilinear") || !strcmp(m, "trilinear")) *mode = RS_LINEAR;
  else if (!strcmp(m, "cubic") || !strcmp(m, "bicubic")) *mode = RS_CUBIC;
  else {
    rt_error(c, "unknown mode '%s'", m);
    return false;
  }
  return true;
}

/* A float input as doubles; *n = 0 when absent or empty. */
static bool rs_floats(RtCtx *c, int i, double *out, int max, int *n) {
  const RtValue *v = i < c->n_in ? c->in[i] : NULL;
  *n = 0;
  if (!v || v->numel == 0) return true;
  if (v->kind != TYPE_TENSOR || !nn_is_real(v->elem)) {
    rt_error(c, "input %d must be a float tensor", i);
    return false;
  }
  if (v->numel > (uint64_t)max) {
    rt_error(c, "input %d has too many values", i);
    return false;
  }
  for (uint64_t k = 0; k < v->numel; k++) out[k] = rt_get_f64(v, k);
  *n = (int)v->numel;
  return true;
}

static bool rs_check_x(RtCtx *c, const RtValue *X) {
  if (!X || X->kind != TYPE_TENSOR || X->elem == ELEM_STRING || X->elem == ELEM_UNDEFINED ||
      X->elem == ELEM_COMPLEX64 || X->elem == ELEM_COMPLEX128) {
    rt_error(c, "X must be a numeric tensor");
    return false;
  }
  return true;
}

/* Output sizes from scales (floor(scale * in)). */
static int rs_from_scales(RtCtx *c, const RsParams *p, const RtValue *X, const double *sc) {
  int64_t out[RT_MAX_RANK];
  for (int d = 0; d < X->rank; d++) {
    double o = floor(sc[d] * (double)X->dims[d]);
    if (!(sc[d] > 0) || !(o < 1e12)) return rt_error(c, "scale %g is not usable", sc[d]);
    out[d] = (int64_t)o;
  }
  return rs_run(c, p, X, out, sc, NULL);
}

int rt_k_Resize(RtCtx *c) {
  const RtValue *X = c->in[0];
  if (!rs_check_x(c, X)) return -1;
  int r = X->rank, since = c->op->since;
  RsParams p;
  if (!rs_mode(c, rt_attr_str(c, "mode", "nearest"), &p.mode)) return -1;
  p.cubic_a = rt_attr_float(c, "cubic_coeff_a", -0.75f);
  p.extrap = rt_attr_float(c, "extrapolation_value", 0.0f);
  p.exclude_outside = rt_attr_int(c, "exclude_outside", 0) != 0;
  p.antialias = rt_attr_int(c, "antialias", 0) != 0;
  if (since < 11) {
    p.ctm = "asymmetric", p.nearest = "simple";
    double sc[RT_MAX_RANK];
    int ns;
    if (!rs_floats(c, 1, sc, RT_MAX_RANK, &ns)) return -1;
    if (ns != r) return rt_error(c, "scales must have %d values", r);
    return rs_from_scales(c, &p, X, sc);
  }
  p.ctm = rt_attr_str(c, "coordinate_transformation_mode", "half_pixel");
  p.nearest = rt_attr_str(c, "nearest_mode", "round_prefer_floor");
  static const char *const ctms[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                                     "align_corners", "asymmetric", "tf_half_pixel_for_nn",
                                     "tf_crop_and_resize"};
  size_t ci = 0;
  while (ci < sizeof ctms / sizeof ctms[0] && strcmp(ctms[ci], p.ctm)) ci++;
  if (ci == sizeof ctms / sizeof ctms[0])
    return rt_error(c, "unknown coordinate_transformation_mode '%s'", p.ctm);
  static const char *const nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  size_t ni = 0;
  while (ni < sizeof nms / sizeof nms[0] && strcmp(nms[ni], p.nearest)) ni++;
  if (ni == sizeof nms / sizeof nms[0]) return rt_error(c, "unknown nearest_mode '%s'", p.nearest);
  const char *pol = rt_attr_str(c, "keep_aspect_ratio_policy", "stretch");
  int64_t axes[RT_MAX_RANK];
  int na = r;
  size_t nax = 0;
  const int64_t *ax = rt_attr_ints(c, "axes", &nax);
  if (ax) {
    if (nax > (size_t)r) return rt_error(c, "too many axes");
    na = (int)nax;
    for (int i = 0; i < na; i++) {
      int a;
      if (!rt_axis(c, ax[i], r, &a)) return -1;
      axes[i] = a;
    }
  } else {
    for (int i = 0; i < r; i++) axes[i] = i;
  }
  double roi_in[2 * RT_MAX_RANK], roi[2 * RT_MAX_RANK], sc_in[RT_MAX_RANK], sc[RT_MAX_RANK];
  int nroi, nsc;
  if (!rs_floats(c, 1, roi_in, 2 * RT_MAX_RANK, &nroi) || !rs_floats(c, 2, sc_in, RT_MAX_RANK, &nsc))
    return -1;
  int64_t sz_in[RT_MAX_RANK], out[RT_MAX_RANK];
  size_t nsz = 0;
  if (c->n_in > 3 && c->in[3] && c->in[3]->numel && !rt_in_ints(c, 3, sz_in, RT_MAX_RANK, &nsz))
    return -1;
  for (int d = 0; d < r; d++) roi[d] = 0.0, roi[d + r] = 1.0, sc[d] = 1.0, out[d] = X->dims[d];
  if (nroi) {
    if (nroi != 2 * na) return rt_error(c, "roi must have %d values", 2 * na);
    for (int i = 0; i < na; i++) roi[axes[i]] = roi_in[i], roi[axes[i] + r] = roi_in[i + na];
  }
  if (nsc && nsz) return rt_error(c, "only one of scales and sizes may be given");
  if (nsc) {
    if (nsc != na) return rt_error(c, "scales must have %d values", na);
    for (int i = 0; i < na; i++) {
      double o = floor(sc_in[i] * (double)X->dims[axes[i]]);
      if (!(sc_in[i] > 0) || !(o < 1e12)) return rt_error(c, "scale %g is not usable", sc_in[i]);
      sc[axes[i]] = sc_in[i];
      out[axes[i]] = (int64_t)o;
    }
  } else if (nsz) {
    if ((int)nsz != na) return rt_error(c, "sizes must have %d values", na);
    for (int i = 0; i < na; i++) {
      if (sz_in[i] < 0) return rt_error(c, "negative size");
      out[axes[i]] = sz_in[i];
      sc[axes[i]] = X->dims[axes[i]] ? (double)sz_in[i] / (double)X->dims[axes[i]] : 1.0;
    }
    bool nl = !strcmp(pol, "not_larger"), ns = !strcmp(pol, "not_smaller");
    if (nl || ns) {
      double s = sc[axes[0]];
      for (int i = 1; i < na; i++) s = nl ? fmin(s, sc[axes[i]]) : fmax(s, sc[axes[i]]);
      for (int i = 0; i < na; i++) {
        sc[axes[i]] = s;
        out[axes[i]] = (int64_t)(s * (double)X->dims[axes[i]] + 0.5);
      }
    } else if (strcmp(pol, "stretch")) {
      return rt_error(c, "unknown keep_aspect_ratio_policy '%s'", pol);
    }
  } else {
    return rt_error(c, "one of scales and sizes must be given");
  }
  return rs_run(c, &p, X, out, sc, roi);
}

int rt_k_Upsample(RtCtx *c) {
  const RtValue *X = c->in[0];
  if (!rs_check_x(c, X)) return -1;
  int r = X->rank;
  RsParams p = {.ctm = "asymmetric", .nearest = "simple", .cubic_a = -0.75};
  if (!rs_mode(c, rt_attr_str(c, "mode", "nearest"), &p.mode)) return -1;
  if (p.mode == RS_CUBIC) return rt_error(c, "Upsample has no cubic mode");
  double sc[RT_MAX_RANK];
  if (c->op->since >= 9) {
    int ns;
    if (!rs_floats(c, 1, sc, RT_MAX_RANK, &ns)) return -1;
    if (ns != r) return rt_error(c, "scales must have %d values", r);
  } else if (c->op->since >= 7) {
    size_t ns = 0;
    const float *f = rt_attr_floats(c, "scales", &ns);
    if (!f || (int)ns != r) return rt_error(c, "scales must have %d values", r);
    for (int d = 0; d < r; d++) sc[d] = f[d];
  } else {
    if (r != 4) return rt_error(c, "Upsample-1 needs a 4-D input");
    sc[0] = sc[1] = 1.0;
    sc[2] = rt_attr_float(c, "height_scale", 1.0f);
    sc[3] = rt_attr_float(c, "width_scale", 1.0f);
  }
  return rs_from_scales(c, &p, X, sc);
}

/* ------------------------------------------------------------------ GridSample */

static double gs_reflect(double x, double lo, double hi) {
  double rng = hi - lo;
  if (rng <= 0) return lo;
  if (x < lo) {
    double dx = lo - x, n = floor(dx / rng), r = dx - n * rng;
    return fmod(n, 2.0) == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    double dx = x - hi, n = floor(dx / rng), r = dx - n * rng;
    return fmod(n, 2.0) == 0 ? hi - r : lo + r;
  }
  return x;
}

typedef enum { GS_ZEROS, GS_BORDER, GS_REFLECT } GsPad;

/* Index i of a dimension of size n under the padding mode; -1 = zero. */
static int64_t gs_index(int64_t i, int64_t n, GsPad pad, double lo, double hi) {
  if (pad == GS_ZEROS) return i >= 0 && i < n ? i : -1;
  if (pad == GS_BORDER) return i < 0 ? 0 : i >= n ? n - 1 : i;
  int64_t k = (int64_t)gs_reflect((double)i, lo, hi);
  return k < 0 ? 0 : k >= n ? n - 1 : k;
}

int rt_k_GridSample(RtCtx *c) {
  if (!nn_real_in(c, 0, 3) || !nn_real_in(c, 1, 3)) return -1;
  const RtValue *X = c->in[0], *G = c->in[1];
  int S = X->rank - 2;
  if (G->rank != X->rank || G->dims[0] != X->dims[0] || G->dims[X->rank - 1] != S)
    return rt_error(c, "grid must be [N, out..., %d]", S);
  RsMode mode;
  if (!rs_mode(c, rt_attr_str(c, "mode", c->op->since >= 20 ? "linear" : "bilinear"), &mode)) return -1;
  const char *pm = rt_attr_str(c, "padding_mode", "zeros");
  GsPad pad = !strcmp(pm, "border") ? GS_BORDER : !strcmp(pm, "reflection") ? GS_REFLECT : GS_ZEROS;
  if (pad == GS_ZEROS && strcmp(pm, "zeros")) return rt_error(c, "unknown padding_mode '%s'", pm);
  bool ac = rt_attr_int(c, "align_corners", 0) != 0;
  int64_t N = X->dims[0], C = X->dims[1], dims[RT_MAX_RANK] = {N, C}, P = 1, inprod = 1;
  for (int d = 0; d < S; d++) dims[d + 2] = G->dims[d + 1], P *= G->dims[d + 1], inprod *= X->dims[d + 2];
  RtValue *Y = rt_out(c, 0, X->elem, X->rank, dims);
  if (!Y) return -1;
  if (Y->numel == 0) return 0;
  if (inprod == 0) return rt_error(c, "X has an empty spatial dimension");
  double *x = nn_get_f64(X), *g = nn_get_f64(G), *y = nn_alloc(Y->numel, sizeof *y);
  const int64_t *in = X->dims + 2;
  int nt = mode == RS_NEAREST ? 1 : mode == RS_LINEAR ? 2 : 4;
  int64_t tidx[NN_MAXS][4];
  double tw[NN_MAXS][4];
  for (int64_t n = 0; n < N; n++)
    for (int64_t p = 0; p < P; p++) {
      const double *gp = g + (n * P + p) * S;
      for (int d = 0; d < S; d++) {
        double v = gp[S - 1 - d], len = (double)in[d];
        double xx = ac ? (v + 1) / 2.0 * (len - 1) : ((v + 1) * len - 1) / 2.0;
        double lo = ac ? 0.0 : -0.5, hi = ac ? len - 1 : len - 0.5;
        if (mode == RS_NEAREST) xx = nearbyint(xx);
        if (xx < lo || xx > hi) {
          if (pad == GS_BORDER) xx = xx < 0 ? 0 : xx > len - 1 ? len - 1 : xx;
          else if (pad == GS_REFLECT) xx = gs_reflect(xx, lo, hi);
        }
        if (isnan(xx)) xx = -1e9;
        if (xx > 1e15) xx = 1e15;
        if (xx < -1e15) xx = -1e15;
        if (mode == RS_NEAREST) {
          tidx[d][0] = gs_index((int64_t)xx, in[d], pad, lo, hi), tw[d][0] = 1.0;
          continue;
        }
        double f = floor(xx), t = xx - f;
        int64_t i0 = (int64_t)f;
        if (mode == RS_LINEAR) {
          tw[d][0] = 1 - t, tw[d][1] = t;
          for (int k = 0; k < 2; k++) tidx[d][k] = gs_index(i0 + k, in[d], pad, lo, hi);
        } else {
          tw[d][0] = cubic_w(t + 1, -0.75), tw[d][1] = cubic_w(t, -0.75);
          tw[d][2] = cubic_w(1 - t, -0.75), tw[d][3] = cubic_w(2 - t, -0.75);
          for (int k = 0; k < 4; k++) tidx[d][k] = gs_index(i0 - 1 + k, in[d], pad, lo, hi);
        }
      }
      for (int64_t ch = 0; ch < C; ch++) {
        const double *plane = x + (n * C + ch) * inprod;
        double acc = 0.0;
        int64_t k[NN_MAXS] = {0}, tn[NN_MAXS];
        for (int d = 0; d < S; d++) tn[d] = nt;
        do {
          double w = 1.0;
          int64_t off = 0;
          bool zero = false;
          for (int d = 0; d < S; d++) {
            int64_t i = tidx[d][k[d]];
            if (i < 0) zero = true;
            w *= tw[d][k[d]];
            off = off * in[d] + i;
          }
          if (!zero) acc += w * plane[off];
        } while (nn_next(S, tn, k));
        y[(n * C + ch) * P + p] = acc;
      }
    }
  nn_put_f64(Y, y);
  free(x), free(g), free(y);
  return 0;
}

/* ------------------------------------------------------------------ AffineGrid */

int rt_k_AffineGrid(RtCtx *c) {
  if (!nn_real_in(c, 0, 3)) return -1;
  const RtValue *T = c->in[0];
  int64_t sz[5];
  size_t ns;
  if (!rt_in_ints(c, 1, sz, 5, &ns)) return -1;
  if (ns != 4 && ns != 5) return rt_error(c, "size must have 4 or 5 values");
  int S = (int)ns - 2;
  if (T->rank != 3 || T->dims[0] != sz[0] || T->dims[1] != S || T->dims[2] != S + 1)
    return rt_error(c, "theta must be [N, %d, %d]", S, S + 1);
  bool ac = rt_attr_int(c, "align_corners", 0) != 0;
  int64_t dims[RT_MAX_RANK] = {sz[0]}, P = 1;
  for (int d = 0; d < S; d++) {
    if (sz[d + 2] < 0) return rt_error(c, "negative size");
    dims[d + 1] = sz[d + 2], P *= sz[d + 2];
  }
  dims[S + 1] = S;
  RtValue *Y = rt_out(c, 0, T->elem, S + 2, dims);
  if (!Y) return -1;
  if (Y->numel == 0) return 0;
  double *th = nn_get_f64(T), *y = nn_alloc(Y->numel, sizeof *y);
  for (int64_t n = 0; n < sz[0]; n++) {
    const double *m = th + n * S * (S + 1);
    int64_t idx[NN_MAXS] = {0};
    int64_t p = 0;
    do {
      double base[4]; /* x (last spatial dim) first, then y, z, then 1 */
      for (int d = 0; d < S; d++) {
        int64_t len = sz[2 + S - 1 - d], i = idx[S - 1 - d];
        double v;
        if (len <= 1) v = 0.0;
        else if (ac) v = -1.0 + 2.0 * (double)i / (double)(len - 1);
        else v = -1.0 + (2.0 * (double)i + 1.0) / (double)len;
        base[d] = v;
      }
      base[S] = 1.0;
      for (int r = 0; r < S; r++) {
        double acc = 0.0;
        for (int k = 0; k <= S; k++) acc += m[r * (S + 1) + k] * base[k];
        y[(n * P + p) * S + r] = acc;
      }
      p++;
    } while (nn_next(S, sz + 2, idx));
  }
  nn_put_f64(Y, y);
  free(th), free(y);
  return 0;
}
