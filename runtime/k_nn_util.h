/* k_nn_util.h - helpers shared by the k_nn*.c kernels (conv/pool geometry, element
 * buffers). Everything here is static inline so each file keeps only what it uses. */
#ifndef EFFC_K_NN_UTIL_H
#define EFFC_K_NN_UTIL_H

#include "kern.h"
#include "runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NN_MAXS (RT_MAX_RANK - 2) /* spatial dimensions at most */

static inline void *nn_alloc(uint64_t n, size_t size) {
  void *p = malloc((size_t)(n ? n : 1) * size);
  if (!p) abort();
  return p;
}

static inline void *nn_zalloc(uint64_t n, size_t size) {
  void *p = calloc((size_t)(n ? n : 1), size);
  if (!p) abort();
  return p;
}

/* A tensor's elements as a fresh double array. */
static inline double *nn_get_f64(const RtValue *v) {
  double *b = nn_alloc(v->numel, sizeof *b);
  if (v->elem == ELEM_DOUBLE) {
    if (v->numel) memcpy(b, v->data, (size_t)v->numel * sizeof *b);
  } else if (v->elem == ELEM_FLOAT) {
    const float *f = v->data;
    for (uint64_t i = 0; i < v->numel; i++) b[i] = f[i];
  } else {
    for (uint64_t i = 0; i < v->numel; i++) b[i] = rt_get_f64(v, i);
  }
  return b;
}

/* Store a double array into a tensor of any element type (rounding once). */
static inline void nn_put_f64(RtValue *v, const double *b) {
  if (v->elem == ELEM_DOUBLE) {
    if (v->numel) memcpy(v->data, b, (size_t)v->numel * sizeof *b);
  } else if (v->elem == ELEM_FLOAT) {
    float *f = v->data;
    for (uint64_t i = 0; i < v->numel; i++) f[i] = (float)b[i];
  } else {
    for (uint64_t i = 0; i < v->numel; i++) rt_set_f64(v, i, b[i]);
  }
}

static inline bool nn_is_real(ElemType e) {
  return e == ELEM_FLOAT || e == ELEM_DOUBLE || e == ELEM_FLOAT16 || e == ELEM_BFLOAT16;
}

/* A tensor input that must be present and of a real float type. */
static inline bool nn_real_in(RtCtx *c, int i, int min_rank) {
  const RtValue *v = i < c->n_in ? c->in[i] : NULL;
  if (!v || v->kind != TYPE_TENSOR) {
    rt_error(c, "input %d must be a tensor", i);
    return false;
  }
  if (!nn_is_real(v->elem)) {
    rt_error(c, "input %d has unsupported element type %s", i, ir_elem(v->elem)->name);
    return false;
  }
  if (v->rank < min_rank) {
    rt_error(c, "input %d must have rank >= %d", i, min_rank);
    return false;
  }
  return true;
}

/* Sliding-window geometry: a grid of `out` window positions over an image `in`; window
 * position o, kernel offset k reads image index o*st - pb + k*dil. */
typedef struct NnGeo {
  int S;
  int64_t in[NN_MAXS], out[NN_MAXS], k[NN_MAXS], st[NN_MAXS], dil[NN_MAXS], pb[NN_MAXS],
      pe[NN_MAXS];
  int64_t inprod, outprod, kprod;
} NnGeo;

static inline void nn_geo_prods(NnGeo *g) {
  g->inprod = g->outprod = g->kprod = 1;
  for (int d = 0; d < g->S; d++) {
    g->inprod *= g->in[d];
    g->outprod *= g->out[d];
    g->kprod *= g->k[d];
  }
}

/* An ints attribute of S entries (or 2S for pads) with a default value. */
static inline bool nn_ints_attr(RtCtx *c, const char *name, int n, int64_t dflt, int64_t *out,
                                bool positive) {
  size_t len = 0;
  const int64_t *v = rt_attr_ints(c, name, &len);
  if (!v || len == 0) {
    for (int i = 0; i < n; i++) out[i] = dflt;
    return true;
  }
  if ((int)len != n) {
    rt_error(c, "attribute %s has %zu values, expected %d", name, len, n);
    return false;
  }
  for (int i = 0; i < n; i++) {
    if (positive ? v[i] < 1 : v[i] < 0) {
      rt_error(c, "attribute %s has an invalid value %lld", name, (long long)v[i]);
      return false;
    }
    out[i] = v[i];
  }
  return true;
}

/* Fill strides, dilations and pads of g (in, k and S set) from the attributes and compute
 * the output grid. ceil_mode rounds the window count up (pooling), dropping a last window
 * that would start in the end padding. */
static inline bool nn_geo_attrs(RtCtx *c, NnGeo *g, bool ceil_mode, bool has_dil) {
  int S = g->S;
  int64_t pads[2 * NN_MAXS];
  if (!nn_ints_attr(c, "strides", S, 1, g->st, true)) return false;
  if (has_dil) {
    if (!nn_ints_attr(c, "dilations", S, 1, g->dil, true)) return false;
  } else {
    for (int d = 0; d < S; d++) g->dil[d] = 1;
  }
  if (!nn_ints_attr(c, "pads", 2 * S, 0, pads, false)) return false;
  const char *ap = rt_attr_str(c, "auto_pad", "NOTSET");
  bool same = !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER");
  bool valid = !strcmp(ap, "VALID");
  if (!same && !valid && strcmp(ap, "NOTSET") && strcmp(ap, "")) {
    rt_error(c, "unknown auto_pad '%s'", ap);
    return false;
  }
  for (int d = 0; d < S; d++) {
    int64_t ek = (g->k[d] - 1) * g->dil[d] + 1;
    if (g->k[d] < 1) {
      rt_error(c, "kernel dimension %d is %lld", d, (long long)g->k[d]);
      return false;
    }
    if (same) {
      g->out[d] = (g->in[d] + g->st[d] - 1) / g->st[d];
      int64_t total = (g->out[d] - 1) * g->st[d] + ek - g->in[d];
      if (total < 0) total = 0;
      g->pb[d] = ap[5] == 'U' ? total / 2 : total - total / 2;
      g->pe[d] = total - g->pb[d];
      continue;
    }
    g->pb[d] = valid ? 0 : pads[d];
    g->pe[d] = valid ? 0 : pads[d + S];
    int64_t span = g->in[d] + g->pb[d] + g->pe[d] - ek;
    if (span < 0) {
      rt_error(c, "kernel (extent %lld) larger than padded input (%lld) in dimension %d",
               (long long)ek, (long long)(g->in[d] + g->pb[d] + g->pe[d]), d);
      return false;
    }
    g->out[d] = (ceil_mode ? (span + g->st[d] - 1) / g->st[d] : span / g->st[d]) + 1;
    if (ceil_mode && (g->out[d] - 1) * g->st[d] >= g->in[d] + g->pb[d]) g->out[d]--;
  }
  nn_geo_prods(g);
  return true;
}

/* Odometer step over dims[0..n); returns false when it wraps around. */
static inline bool nn_next(int n, const int64_t *dims, int64_t *idx) {
  for (int d = n - 1; d >= 0; d--) {
    if (++idx[d] < dims[d]) return true;
    idx[d] = 0;
  }
  return false;
}

/* The float32 fast path of 2-D and 1-D convolutions (runtime/kern/conv.c): y = act(conv(x, w)
 * + bias + residual) on one thread, weights packed per call. g as rt_k_Conv fills it (for
 * ConvTranspose, g->in is the output image). False when the shape is not covered. */
static inline bool nn_conv_fast(const NnGeo *g, int64_t N, int64_t C, int64_t M, int64_t G,
                                bool transposed, const float *x, const float *w, float *y,
                                const EffcEpilogue *e) {
  if (g->S < 1 || g->S > 2) return false;
  int o = g->S - 1; /* the last spatial dimension; a 1-D conv has H = 1 */
  const int64_t *img = transposed ? g->out : g->in, *oimg = transposed ? g->in : g->out;
  EffcConv2d p = {N, C, o ? img[0] : 1, img[o], M, o ? oimg[0] : 1, oimg[o],
                  o ? g->k[0] : 1, g->k[o], o ? g->st[0] : 1, g->st[o],
                  o ? g->dil[0] : 1, g->dil[o], o ? g->pb[0] : 0, g->pb[o], G};
  int isa = effc_host_isa();
  size_t np = transposed ? effc_convt2d_packed_size(&p) : effc_conv2d_packed_size(&p, isa);
  size_t ns = transposed ? effc_convt2d_scratch(&p, isa, 1) : effc_conv2d_scratch(&p, isa, 1);
  float *pk = nn_alloc(np, sizeof *pk);
  void *scratch = nn_alloc(ns, 1);
  if (transposed) {
    effc_convt2d_pack(&p, w, pk);
    effc_convt2d(&p, isa, x, pk, y, e, scratch, 0, 1);
  } else {
    void *tmp = nn_alloc(effc_conv2d_pack_tmp(&p), 1);
    effc_conv2d_pack(&p, isa, w, pk, tmp);
    free(tmp);
    effc_conv2d(&p, isa, x, pk, y, e, scratch, 0, 1);
  }
  free(pk), free(scratch);
  return true;
}

/* Y[M,N] = act(alpha * op(A) op(B) + beta * C) in float32 by the shared kernel
 * (kern/gemm.c) on one thread: op transposes with ta / tb, C is NULL or cm x cn broadcast
 * to M x N (copied into Y as the residual), ep NULL or the activation. The float MatMul, Gemm
 * and FusedGemm paths. */
static inline void nn_gemm_f32(int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                               bool ta, const float *B, bool tb, float beta, const float *C,
                               int64_t cm, int64_t cn, float *Y, const EffcEpilogue *ep) {
  if (M <= 0 || N <= 0) return;
  EffcEpilogue e = {EFFC_ACT_NONE, 0, 0, NULL, NULL, 0};
  if (ep) e.act = ep->act, e.alpha = ep->alpha, e.beta = ep->beta;
  if (C) {
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++)
        Y[i * N + j] = beta * C[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
    e.residual = Y;
  }
  int isa = effc_host_isa();
  void *scratch = nn_alloc(effc_sgemm_scratch(isa, M, N, K, 0, 1), 1);
  effc_sgemm(isa, M, N, K, alpha, A, ta ? M : K, ta, B, tb ? K : N, tb, Y, N, &e, scratch, 0,
             1);
  free(scratch);
}

#endif
