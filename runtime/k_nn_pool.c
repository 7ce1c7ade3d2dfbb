/* k_nn_pool.c - pooling kernels: AveragePool, MaxPool (with Indices), LpPool, the Global
 * pools, MaxUnpool, MaxRoiPool and RoiAlign. Windows are walked per output position and
 * computed in double, then rounded once into the input's element type. */
#include "k_nn_util.h"

typedef enum { POOL_AVG, POOL_MAX, POOL_LP } PoolKind;

static bool pool_type_ok(RtCtx *c, const RtValue *x, PoolKind kind) {
  if (!x || x->kind != TYPE_TENSOR) {
    rt_error(c, "input 0 must be a tensor");
    return false;
  }
  bool ok = nn_is_real(x->elem) ||
            (kind == POOL_MAX && (x->elem == ELEM_INT8 || x->elem == ELEM_UINT8));
  if (!ok) {
    rt_error(c, "unsupported element type %s", ir_elem(x->elem)->name);
    return false;
  }
  if (x->rank < 3) {
    rt_error(c, "input must have rank >= 3");
    return false;
  }
  return true;
}

/* The 2-D max/average fast path (no indices): clipped window bounds instead of an
 * odometer per tap. Same results as pool_run. */
static void pool_run_2d(const NnGeo *g, PoolKind kind, bool include_pad, int64_t planes,
                        const double *x, double *y) {
  int64_t H = g->in[0], W = g->in[1], OH = g->out[0], OW = g->out[1];
  int64_t dh = g->dil[0], dw = g->dil[1];
  for (int64_t pl = 0; pl < planes; pl++) {
    const double *xp = x + pl * H * W;
    double *yp = y + pl * OH * OW;
    for (int64_t i = 0; i < OH; i++) {
      int64_t h0 = i * g->st[0] - g->pb[0], kh0 = 0, kh1 = g->k[0], ph = 0;
      while (kh0 < kh1 && h0 + kh0 * dh < 0) kh0++;
      while (kh1 > kh0 && h0 + (kh1 - 1) * dh >= H) kh1--;
      for (int64_t k = 0; k < g->k[0]; k++) {
        int64_t q = h0 + k * dh;
        if (q >= -g->pb[0] && q < H + g->pe[0]) ph++;
      }
      for (int64_t j = 0; j < OW; j++) {
        int64_t w0 = j * g->st[1] - g->pb[1], kw0 = 0, kw1 = g->k[1], pw = 0;
        while (kw0 < kw1 && w0 + kw0 * dw < 0) kw0++;
        while (kw1 > kw0 && w0 + (kw1 - 1) * dw >= W) kw1--;
        double acc = kind == POOL_MAX ? -INFINITY : 0.0;
        bool any = false;
        for (int64_t a = kh0; a < kh1; a++) {
          const double *row = xp + (h0 + a * dh) * W + w0;
          for (int64_t b = kw0; b < kw1; b++) {
            double v = row[b * dw];
            if (kind == POOL_AVG) acc += v;
            else if (!isnan(v) && (!any || v > acc)) acc = v, any = true;
          }
        }
        int64_t cnt = (kh1 - kh0) * (kw1 - kw0);
        if (kind == POOL_AVG) {
          for (int64_t k = 0; k < g->k[1]; k++) {
            int64_t q = w0 + k * dw;
            if (q >= -g->pb[1] && q < W + g->pe[1]) pw++;
          }
          int64_t div = include_pad ? ph * pw : cnt;
          acc = div ? acc / (double)div : NAN;
        } else if (!any) {
          acc = cnt ? NAN : -INFINITY;
        }
        yp[i * OW + j] = acc;
      }
    }
  }
}

/* One pooling pass over x[N*C planes] with geometry g into y (and indices when idx). */
static void pool_run(const NnGeo *g, PoolKind kind, bool include_pad, double p, int64_t planes,
                     const double *x, double *y, int64_t *idx, bool col_major) {
  int S = g->S;
  int64_t cstr[NN_MAXS];
  for (int d = 0; d < S; d++) cstr[d] = d ? cstr[d - 1] * g->in[d - 1] : 1;
  for (int64_t pl = 0; pl < planes; pl++) {
    const double *xp = x + pl * g->inprod;
    int64_t oidx[NN_MAXS] = {0};
    int64_t o = pl * g->outprod;
    do {
      double acc = kind == POOL_MAX ? -INFINITY : 0.0;
      int64_t cnt = 0, padcnt = 0, best = -1;
      bool any = false;
      int64_t kidx[NN_MAXS] = {0};
      do {
        bool inside = true, inpad = true;
        int64_t off = 0, coff = 0;
        for (int d = 0; d < S; d++) {
          int64_t q = oidx[d] * g->st[d] - g->pb[d] + kidx[d] * g->dil[d];
          if (q < 0 || q >= g->in[d]) inside = false;
          if (q < -g->pb[d] || q >= g->in[d] + g->pe[d]) inpad = false;
          off = off * g->in[d] + q;
          coff += q * cstr[d];
        }
        if (inpad) padcnt++;
        if (!inside) continue;
        double v = xp[off];
        cnt++;
        if (kind == POOL_AVG) acc += v;
        else if (kind == POOL_LP) acc += pow(fabs(v), p);
        else if (!isnan(v) && (!any || v > acc)) {
          acc = v, any = true;
          best = col_major ? coff : off;
        }
      } while (nn_next(S, g->k, kidx));
      if (kind == POOL_AVG) {
        int64_t div = include_pad ? padcnt : cnt;
        acc = div ? acc / (double)div : NAN;
      } else if (kind == POOL_LP) {
        acc = pow(acc, 1.0 / p);
      } else if (!any) {
        acc = cnt ? NAN : -INFINITY;
      }
      y[o] = acc;
      if (idx) idx[o] = best < 0 ? -1 : pl * g->inprod + best;
      o++;
    } while (nn_next(S, g->out, oidx));
  }
}

/* float32 max/average pooling of 1-D and 2-D images by the shared kernels (kern/pool.c). */
static void pool_fast(const NnGeo *g, bool max, bool global, bool include_pad, int64_t planes,
                      const float *x, float *y) {
  int isa = effc_host_isa(), o = g->S - 1;
  if (global) {
    effc_global_pool(max, isa, planes, g->inprod, x, y, 0, 1);
    return;
  }
  EffcPool2d p = {planes, o ? g->in[0] : 1, g->in[o], o ? g->out[0] : 1, g->out[o],
                  o ? g->k[0] : 1, g->k[o], o ? g->st[0] : 1, g->st[o], o ? g->dil[0] : 1,
                  g->dil[o], o ? g->pb[0] : 0, g->pb[o], o ? g->pe[0] : 0, g->pe[o], include_pad};
  (max ? effc_maxpool2d : effc_avgpool2d)(&p, isa, x, y, 0, 1);
}

static int pool_kernel(RtCtx *c, PoolKind kind, bool global) {
  const RtValue *X = c->in[0];
  if (!pool_type_ok(c, X, kind)) return -1;
  NnGeo g;
  g.S = X->rank - 2;
  for (int d = 0; d < g.S; d++) g.in[d] = X->dims[d + 2];
  double p = 2.0;
  if (kind == POOL_LP) {
    const Attr *a = rt_attr(c, "p");
    if (a && a->type == ATTR_FLOAT) p = a->f;
    else if (a && a->type == ATTR_INT) p = (double)a->i;
    else if (!a) p = c->op->since == 1 ? rt_attr_float(c, "p", 2.0f) : (double)rt_attr_int(c, "p", 2);
  }
  if (global) {
    for (int d = 0; d < g.S; d++) {
      g.k[d] = g.in[d], g.out[d] = 1, g.st[d] = g.dil[d] = 1;
      g.pb[d] = g.pe[d] = 0;
    }
    nn_geo_prods(&g);
  } else {
    size_t nk = 0;
    const int64_t *ks = rt_attr_ints(c, "kernel_shape", &nk);
    if (!ks || nk != (size_t)g.S) return rt_error(c, "kernel_shape must have %d values", g.S);
    for (int d = 0; d < g.S; d++) g.k[d] = ks[d];
    bool ceil_mode = rt_attr_int(c, "ceil_mode", 0) != 0;
    if (!nn_geo_attrs(c, &g, ceil_mode, rt_attr(c, "dilations") != NULL)) return -1;
  }
  int64_t dims[RT_MAX_RANK] = {X->dims[0], X->dims[1]};
  for (int d = 0; d < g.S; d++) dims[d + 2] = g.out[d];
  RtValue *Y = rt_out(c, 0, X->elem, X->rank, dims);
  if (!Y) return -1;
  RtValue *I = NULL;
  if (kind == POOL_MAX && c->n_out > 1 && c->node->outputs[1]) {
    I = rt_out(c, 1, ELEM_INT64, X->rank, dims);
    if (!I) return -1;
  }
  if (Y->numel == 0) return 0;
  bool include_pad = rt_attr_int(c, "count_include_pad", 0) != 0;
  bool col_major = rt_attr_int(c, "storage_order", 0) != 0;
  if (X->elem == ELEM_FLOAT && kind != POOL_LP && !I && g.S <= 2) {
    pool_fast(&g, kind == POOL_MAX, global, include_pad, X->dims[0] * X->dims[1], X->data, Y->data);
    return 0;
  }
  double *x = nn_get_f64(X), *y = nn_alloc(Y->numel, sizeof *y);
  if (g.S == 2 && kind != POOL_LP && !I)
    pool_run_2d(&g, kind, include_pad, X->dims[0] * X->dims[1], x, y);
  else
    pool_run(&g, kind, include_pad, p, X->dims[0] * X->dims[1], x, y, I ? I->data : NULL,
             col_major);
  nn_put_f64(Y, y);
  free(x), free(y);
  return 0;
}

int rt_k_AveragePool(RtCtx *c) { return pool_kernel(c, POOL_AVG, false); }
int rt_k_MaxPool(RtCtx *c) { return pool_kernel(c, POOL_MAX, false); }
int rt_k_LpPool(RtCtx *c) { return pool_kernel(c, POOL_LP, false); }
int rt_k_GlobalAveragePool(RtCtx *c) { return pool_kernel(c, POOL_AVG, true); }
int rt_k_GlobalMaxPool(RtCtx *c) { return pool_kernel(c, POOL_MAX, true); }
int rt_k_GlobalLpPool(RtCtx *c) { return pool_kernel(c, POOL_LP, true); }

/* ------------------------------------------------------------------ MaxUnpool */

int rt_k_MaxUnpool(RtCtx *c) {
  const RtValue *X = c->in[0], *I = c->in[1];
  if (!pool_type_ok(c, X, POOL_MAX)) return -1;
  if (!I || I->kind != TYPE_TENSOR || I->elem != ELEM_INT64 || !rt_same_shape(X, I))
    return rt_error(c, "I must be an int64 tensor of X's shape");
  int S = X->rank - 2;
  int64_t inf[RT_MAX_RANK], dims[RT_MAX_RANK], st[NN_MAXS], pads[2 * NN_MAXS];
  size_t nk = 0, n = 0;
  const int64_t *ks = rt_attr_ints(c, "kernel_shape", &nk);
  if (!ks || nk != (size_t)S) return rt_error(c, "kernel_shape must have %d values", S);
  if (!nn_ints_attr(c, "strides", S, 1, st, true) || !nn_ints_attr(c, "pads", 2 * S, 0, pads, false))
    return -1;
  inf[0] = X->dims[0], inf[1] = X->dims[1];
  for (int d = 0; d < S; d++) {
    inf[d + 2] = (X->dims[d + 2] - 1) * st[d] + ks[d] - pads[d] - pads[d + S];
    if (inf[d + 2] < 0) return rt_error(c, "negative output dimension");
  }
  memcpy(dims, inf, sizeof dims);
  if (c->n_in > 2 && c->in[2]) {
    if (!rt_in_ints(c, 2, dims, RT_MAX_RANK, &n)) return -1;
    if ((int)n != X->rank) return rt_error(c, "output_shape must have %d values", X->rank);
  }
  /* scatter into the inferred shape, then place that at the origin of the output */
  RtValue *T = rt_tensor_new(X->elem, X->rank, inf);
  if (!T) return rt_error(c, "bad output shape");
  const int64_t *ix = I->data;
  for (uint64_t i = 0; i < X->numel; i++) {
    if (ix[i] < 0 || (uint64_t)ix[i] >= T->numel) {
      rt_unref(T);
      return rt_error(c, "index %lld is out of range", (long long)ix[i]);
    }
    rt_set_f64(T, (uint64_t)ix[i], rt_get_f64(X, i));
  }
  RtValue *Y = rt_out(c, 0, X->elem, X->rank, dims);
  if (!Y) {
    rt_unref(T);
    return -1;
  }
  int64_t ext[RT_MAX_RANK], idx[RT_MAX_RANK] = {0};
  bool empty = false;
  for (int d = 0; d < X->rank; d++) {
    ext[d] = inf[d] < dims[d] ? inf[d] : dims[d];
    if (!ext[d]) empty = true;
  }
  if (!empty) do {
      uint64_t si = 0, di = 0;
      for (int d = 0; d < X->rank; d++) {
        si = si * (uint64_t)inf[d] + (uint64_t)idx[d];
        di = di * (uint64_t)dims[d] + (uint64_t)idx[d];
      }
      rt_set_f64(Y, di, rt_get_f64(T, si));
    } while (nn_next(X->rank, ext, idx));
  rt_unref(T);
  return 0;
}

/* ------------------------------------------------------------------ MaxRoiPool */

int rt_k_MaxRoiPool(RtCtx *c) {
  const RtValue *X = c->in[0], *R = c->in[1];
  if (!nn_real_in(c, 0, 4) || !nn_real_in(c, 1, 2)) return -1;
  if (X->rank != 4 || R->rank != 2 || R->dims[1] != 5)
    return rt_error(c, "X must be 4-D and rois [num_rois, 5]");
  size_t np = 0;
  const int64_t *ps = rt_attr_ints(c, "pooled_shape", &np);
  if (!ps || np != 2 || ps[0] < 1 || ps[1] < 1) return rt_error(c, "pooled_shape must be 2 positive values");
  double scale = rt_attr_float(c, "spatial_scale", 1.0f);
  int64_t N = X->dims[0], C = X->dims[1], H = X->dims[2], W = X->dims[3], nr = R->dims[0];
  int64_t dims[4] = {nr, C, ps[0], ps[1]};
  RtValue *Y = rt_out(c, 0, X->elem, 4, dims);
  if (!Y) return -1;
  double *x = nn_get_f64(X), *r = nn_get_f64(R);
  uint64_t o = 0;
  for (int64_t ri = 0; ri < nr; ri++) {
    const double *roi = r + ri * 5;
    bool finite = true;
    for (int k = 0; k < 5; k++)
      if (!(fabs(roi[k] * (k ? scale : 1.0)) < 1e15)) finite = false;
    int64_t b = finite ? (int64_t)roi[0] : -1;
    if (b < 0 || b >= N) {
      free(x), free(r);
      return rt_error(c, "roi %lld has batch index %lld", (long long)ri, (long long)b);
    }
    int64_t x1 = (int64_t)round(roi[1] * scale), y1 = (int64_t)round(roi[2] * scale);
    int64_t x2 = (int64_t)round(roi[3] * scale), y2 = (int64_t)round(roi[4] * scale);
    int64_t rw = x2 - x1 + 1 > 1 ? x2 - x1 + 1 : 1, rh = y2 - y1 + 1 > 1 ? y2 - y1 + 1 : 1;
    double bh = (double)rh / (double)ps[0], bw = (double)rw / (double)ps[1];
    for (int64_t ch = 0; ch < C; ch++) {
      const double *pl = x + (b * C + ch) * H * W;
      for (int64_t i = 0; i < ps[0]; i++)
        for (int64_t j = 0; j < ps[1]; j++) {
          int64_t hs = (int64_t)floor((double)i * bh) + y1, he = (int64_t)ceil((double)(i + 1) * bh) + y1;
          int64_t ws = (int64_t)floor((double)j * bw) + x1, we = (int64_t)ceil((double)(j + 1) * bw) + x1;
          hs = hs < 0 ? 0 : hs > H ? H : hs, he = he < 0 ? 0 : he > H ? H : he;
          ws = ws < 0 ? 0 : ws > W ? W : ws, we = we < 0 ? 0 : we > W ? W : we;
          double m = (he <= hs || we <= ws) ? 0.0 : -INFINITY;
          for (int64_t h = hs; h < he; h++)
            for (int64_t w = ws; w < we; w++)
              if (pl[h * W + w] > m) m = pl[h * W + w];
          rt_set_f64(Y, o++, m);
        }
    }
  }
  free(x), free(r);
  return 0;
}

/* ------------------------------------------------------------------ RoiAlign */

int rt_k_RoiAlign(RtCtx *c) {
  const RtValue *X = c->in[0], *R = c->in[1], *BI = c->in[2];
  if (!nn_real_in(c, 0, 4) || !nn_real_in(c, 1, 2)) return -1;
  if (X->rank != 4 || R->rank != 2 || R->dims[1] != 4)
    return rt_error(c, "X must be 4-D and rois [num_rois, 4]");
  if (!BI || BI->kind != TYPE_TENSOR || (BI->elem != ELEM_INT64 && BI->elem != ELEM_INT32) ||
      (int64_t)BI->numel != R->dims[0])
    return rt_error(c, "batch_indices must hold one integer per roi");
  const char *mode = rt_attr_str(c, "mode", "avg");
  bool is_max = !strcmp(mode, "max");
  if (!is_max && strcmp(mode, "avg")) return rt_error(c, "unknown mode '%s'", mode);
  const char *ctm = rt_attr_str(c, "coordinate_transformation_mode",
                                c->op->since >= 16 ? "half_pixel" : "output_half_pixel");
  bool half = !strcmp(ctm, "half_pixel");
  int64_t oh = rt_attr_int(c, "output_height", 1), ow = rt_attr_int(c, "output_width", 1);
  int64_t sr = rt_attr_int(c, "sampling_ratio", 0);
  double scale = rt_attr_float(c, "spatial_scale", 1.0f);
  if (oh < 1 || ow < 1 || sr < 0) return rt_error(c, "invalid output size or sampling_ratio");
  int64_t N = X->dims[0], C = X->dims[1], H = X->dims[2], W = X->dims[3], nr = R->dims[0];
  int64_t dims[4] = {nr, C, oh, ow};
  RtValue *Y = rt_out(c, 0, X->elem, 4, dims);
  if (!Y) return -1;
  if (Y->numel == 0) return 0;
  if (H == 0 || W == 0) return rt_error(c, "X has an empty spatial dimension");
  double *x = nn_get_f64(X), *r = nn_get_f64(R), *y = nn_alloc(Y->numel, sizeof *y);
  double off = half ? 0.5 : 0.0;
  for (int64_t ri = 0; ri < nr; ri++) {
    int64_t b = rt_get_i64(BI, (uint64_t)ri);
    if (b < 0 || b >= N) {
      free(x), free(r), free(y);
      return rt_error(c, "roi %lld has batch index %lld", (long long)ri, (long long)b);
    }
    const double *roi = r + ri * 4;
    double sw = roi[0] * scale - off, sh = roi[1] * scale - off;
    double rw = roi[2] * scale - off - sw, rh = roi[3] * scale - off - sh;
    if (!half) {
      rw = rw > 1.0 ? rw : 1.0;
      rh = rh > 1.0 ? rh : 1.0;
    }
    double bh = rh / (double)oh, bw = rw / (double)ow;
    double ghd = sr > 0 ? (double)sr : ceil(rh / (double)oh);
    double gwd = sr > 0 ? (double)sr : ceil(rw / (double)ow);
    if (!(ghd < 1e5 && gwd < 1e5)) {
      free(x), free(r), free(y);
      return rt_error(c, "roi %lld is too large or not finite", (long long)ri);
    }
    int64_t gh = ghd > 0 ? (int64_t)ghd : 0, gw = gwd > 0 ? (int64_t)gwd : 0;
    double count = gh * gw > 1 ? (double)(gh * gw) : 1.0;
    for (int64_t ch = 0; ch < C; ch++) {
      const double *pl = x + (b * C + ch) * H * W;
      for (int64_t i = 0; i < oh; i++)
        for (int64_t j = 0; j < ow; j++) {
          double acc = 0.0;
          bool first = true;
          for (int64_t iy = 0; iy < gh; iy++) {
            double yy = sh + (double)i * bh + ((double)iy + 0.5) * bh / (double)gh;
            for (int64_t ix = 0; ix < gw; ix++) {
              double xx = sw + (double)j * bw + ((double)ix + 0.5) * bw / (double)gw;
              double w4[4] = {0, 0, 0, 0}, v4[4] = {0, 0, 0, 0};
              if (!(yy < -1.0 || yy > (double)H || xx < -1.0 || xx > (double)W)) {
                double ty = yy > 0 ? yy : 0, tx = xx > 0 ? xx : 0;
                int64_t yl = (int64_t)ty, xl = (int64_t)tx, yh, xh;
                if (yl >= H - 1) yh = yl = H - 1, ty = (double)yl;
                else yh = yl + 1;
                if (xl >= W - 1) xh = xl = W - 1, tx = (double)xl;
                else xh = xl + 1;
                double ly = ty - (double)yl, lx = tx - (double)xl, hy = 1 - ly, hx = 1 - lx;
                w4[0] = hy * hx, w4[1] = hy * lx, w4[2] = ly * hx, w4[3] = ly * lx;
                v4[0] = pl[yl * W + xl], v4[1] = pl[yl * W + xh];
                v4[2] = pl[yh * W + xl], v4[3] = pl[yh * W + xh];
              }
              if (is_max) {
                for (int q = 0; q < 4; q++) {
                  double t = w4[q] * v4[q];
                  if (first || t > acc) acc = t;
                  first = false;
                }
              } else {
                acc += w4[0] * v4[0] + w4[1] * v4[1] + w4[2] * v4[2] + w4[3] * v4[3];
              }
            }
          }
          y[((ri * C + ch) * oh + i) * ow + j] = is_max ? acc : acc / count;
        }
    }
  }
  nn_put_f64(Y, y);
  free(x), free(r), free(y);
  return 0;
}
