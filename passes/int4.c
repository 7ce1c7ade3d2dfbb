/* int4.c - the numerics of quantize-int4 (int4.h): packing, min-max groups, RTN, GPTQ and the
 * AWQ scale search. Everything is double precision except the stored scales (float, as
 * MatMulNBits reads them): codes are chosen against the float scale actually stored. */
#include "int4.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void *xalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (!p) abort();
  return p;
}

void int4_layer_init(Int4Layer *l, int64_t K, int64_t N, int64_t group, int bits, bool sym) {
  memset(l, 0, sizeof *l);
  l->K = K, l->N = N, l->group = group, l->bits = bits, l->sym = sym;
  l->kb = (K + group - 1) / group;
  l->q = xalloc((size_t)(N * l->kb * group), 1);
  l->scales = xalloc((size_t)(N * l->kb), sizeof *l->scales);
  l->zp = xalloc((size_t)(N * l->kb), 1);
  memset(l->zp, 1 << (bits - 1), (size_t)(N * l->kb));
  memset(l->q, 1 << (bits - 1), (size_t)(N * l->kb * group));
}

void int4_layer_free(Int4Layer *l) {
  free(l->q), free(l->scales), free(l->zp), free(l->g_idx);
  memset(l, 0, sizeof *l);
}

void int4_pack(const uint8_t *codes, int64_t n, int bits, uint8_t *out) {
  memset(out, 0, (size_t)((n * bits + 7) / 8));
  for (int64_t i = 0; i < n; i++)
    out[(i * bits) >> 3] |= (uint8_t)((codes[i] & ((1 << bits) - 1)) << ((i * bits) & 7));
}

void int4_unpack(const uint8_t *packed, int64_t n, int bits, uint8_t *codes) {
  for (int64_t i = 0; i < n; i++)
    codes[i] = (uint8_t)((packed[(i * bits) >> 3] >> ((i * bits) & 7)) & ((1 << bits) - 1));
}

void int4_group_params(const double *w, int64_t n, int64_t stride, int bits, bool sym,
                       float *scale, uint8_t *zp) {
  double lo = 0, hi = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = w[i * stride];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  int qmax = (1 << bits) - 1, mid = 1 << (bits - 1);
  if (sym) {
    double a = fmax(-lo, hi);
    *scale = a > 0 ? (float)(a / (mid - 1)) : 1.0f;
    *zp = (uint8_t)mid;
    return;
  }
  if (hi - lo <= 0) {
    *scale = 1.0f;
    *zp = (uint8_t)mid;
    return;
  }
  *scale = (float)((hi - lo) / qmax);
  double z = nearbyint(-lo / *scale);
  *zp = (uint8_t)(z < 0 ? 0 : z > qmax ? qmax : z);
}

uint8_t int4_code(double w, float scale, uint8_t zp, int bits) {
  double q = nearbyint(w / scale) + zp, qmax = (1 << bits) - 1;
  return (uint8_t)(q < 0 ? 0 : q > qmax ? qmax : q);
}

float int4_deq(uint8_t q, float scale, uint8_t zp) { return ((float)q - (float)zp) * scale; }

static int64_t blk(const Int4Layer *l, int64_t k) { return l->g_idx ? l->g_idx[k] : k / l->group; }

void int4_dequant(const Int4Layer *l, float *w) {
  for (int64_t n = 0; n < l->N; n++)
    for (int64_t k = 0; k < l->K; k++) {
      int64_t b = n * l->kb + blk(l, k);
      w[n * l->K + k] = int4_deq(l->q[n * l->kb * l->group + k], l->scales[b], l->zp[b]);
    }
}

void int4_rtn(const double *w, Int4Layer *l) {
  for (int64_t n = 0; n < l->N; n++)
    for (int64_t g = 0; g < l->kb; g++) {
      int64_t k0 = g * l->group, cnt = l->K - k0 < l->group ? l->K - k0 : l->group;
      int64_t b = n * l->kb + g;
      int4_group_params(w + n * l->K + k0, cnt, 1, l->bits, l->sym, &l->scales[b], &l->zp[b]);
      for (int64_t k = k0; k < k0 + cnt; k++)
        l->q[n * l->kb * l->group + k] = int4_code(w[n * l->K + k], l->scales[b], l->zp[b], l->bits);
    }
}

/* In-place lower Cholesky factor of the K x K matrix a (upper triangle left as is); false
 * when a is not positive definite. */
static bool cholesky(double *a, int64_t K) {
  for (int64_t j = 0; j < K; j++) {
    double d = a[j * K + j];
    for (int64_t p = 0; p < j; p++) d -= a[j * K + p] * a[j * K + p];
    if (!(d > 0)) return false;
    d = sqrt(d);
    a[j * K + j] = d;
    for (int64_t i = j + 1; i < K; i++) {
      double s = a[i * K + j];
      for (int64_t p = 0; p < j; p++) s -= a[i * K + p] * a[j * K + p];
      a[i * K + j] = s / d;
    }
  }
  return true;
}

/* U, the upper Cholesky factor of H^-1 (H^-1 = U^T U), from H (K x K); false if H is not
 * positive definite. */
static bool inv_chol_upper(const double *H, int64_t K, double *U) {
  double *L = xalloc((size_t)(K * K), sizeof *L), *Li = xalloc((size_t)(K * K), sizeof *Li);
  memcpy(L, H, (size_t)(K * K) * sizeof *L);
  bool ok = cholesky(L, K);
  if (ok) {
    for (int64_t c = 0; c < K; c++) /* Li = L^-1, column by column (lower) */
      for (int64_t i = c; i < K; i++) {
        double s = i == c ? 1.0 : 0.0;
        for (int64_t p = c; p < i; p++) s -= L[i * K + p] * Li[p * K + c];
        Li[i * K + c] = s / L[i * K + i];
      }
    for (int64_t i = 0; i < K; i++) /* H^-1 = Li^T Li (symmetric) */
      for (int64_t j = 0; j <= i; j++) {
        double s = 0;
        for (int64_t p = i; p < K; p++) s += Li[p * K + i] * Li[p * K + j];
        U[i * K + j] = U[j * K + i] = s;
      }
    ok = cholesky(U, K); /* lower factor of H^-1; its transpose is the upper one */
    for (int64_t i = 0; i < K && ok; i++)
      for (int64_t j = 0; j < K; j++) {
        if (j > i) U[i * K + j] = U[j * K + i];
        else if (j < i) U[i * K + j] = 0;
      }
  }
  free(L), free(Li);
  return ok;
}

int int4_gptq(double *w, double *H, Int4Layer *l, double damp, int64_t block, bool act_order,
              double *damp_used) {
  int64_t K = l->K, N = l->N, G = l->group;
  int64_t *perm = xalloc((size_t)K, sizeof *perm);
  for (int64_t k = 0; k < K; k++) {
    perm[k] = k;
    if (H[k * K + k] == 0) { /* a dead input: its weights do not matter */
      H[k * K + k] = 1;
      for (int64_t n = 0; n < N; n++) w[n * K + k] = 0;
    }
  }
  if (act_order) { /* stable insertion sort by diag(H) descending */
    for (int64_t i = 1; i < K; i++) {
      int64_t p = perm[i], j = i;
      for (; j > 0 && H[perm[j - 1] * K + perm[j - 1]] < H[p * K + p]; j--) perm[j] = perm[j - 1];
      perm[j] = p;
    }
  }
  /* W and H in the permuted order */
  double *W = xalloc((size_t)(N * K), sizeof *W), *Hp = xalloc((size_t)(K * K), sizeof *Hp);
  double *U = xalloc((size_t)(K * K), sizeof *U);
  for (int64_t n = 0; n < N; n++)
    for (int64_t k = 0; k < K; k++) W[n * K + k] = w[n * K + perm[k]];
  double mean = 0;
  for (int64_t k = 0; k < K; k++) mean += H[k * K + k] / (double)K;
  int tries = 0;
  for (double f = damp;; f *= 10) {
    for (int64_t i = 0; i < K; i++)
      for (int64_t j = 0; j < K; j++)
        Hp[i * K + j] = H[perm[i] * K + perm[j]] + (i == j ? f * mean : 0);
    if (inv_chol_upper(Hp, K, U)) {
      *damp_used = f;
      break;
    }
    if (++tries == 6) {
      free(perm), free(W), free(Hp), free(U);
      return -1;
    }
  }
  /* codes in the permuted order: group g covers permuted columns [g G, (g + 1) G) */
  uint8_t *qp = xalloc((size_t)(N * K), 1);
  double *err = xalloc((size_t)(N * block), sizeof *err);
  for (int64_t i1 = 0; i1 < K; i1 += block) {
    int64_t i2 = i1 + block < K ? i1 + block : K;
    for (int64_t i = i1; i < i2; i++) {
      double d = U[i * K + i];
      for (int64_t n = 0; n < N; n++) {
        double *r = W + n * K;
        int64_t g = i / G, b = n * l->kb + g;
        if (i % G == 0) {
          int64_t cnt = K - i < G ? K - i : G;
          int4_group_params(r + i, cnt, 1, l->bits, l->sym, &l->scales[b], &l->zp[b]);
        }
        uint8_t q = int4_code(r[i], l->scales[b], l->zp[b], l->bits);
        qp[n * K + i] = q;
        double e = (r[i] - (double)int4_deq(q, l->scales[b], l->zp[b])) / d;
        for (int64_t j = i + 1; j < i2; j++) r[j] -= e * U[i * K + j];
        err[n * block + (i - i1)] = e;
      }
    }
    for (int64_t n = 0; n < N; n++) /* the lazy update of the columns after the block */
      for (int64_t i = i1; i < i2; i++) {
        double e = err[n * block + (i - i1)];
        for (int64_t j = i2; j < K; j++) W[n * K + j] -= e * U[i * K + j];
      }
  }
  for (int64_t n = 0; n < N; n++)
    for (int64_t k = 0; k < K; k++) l->q[n * l->kb * G + perm[k]] = qp[n * K + k];
  if (act_order) {
    l->g_idx = xalloc((size_t)K, sizeof *l->g_idx);
    for (int64_t k = 0; k < K; k++) l->g_idx[perm[k]] = (int32_t)(k / G);
  }
  memcpy(w, W, (size_t)(N * K) * sizeof *w);
  free(perm), free(W), free(Hp), free(U), free(qp), free(err);
  return 0;
}

double int4_output_err(const float *x, int64_t rows, const double *w, const float *wq,
                       int64_t N, int64_t K) {
  double tot = 0;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t n = 0; n < N; n++) {
      double a = 0, b = 0;
      for (int64_t k = 0; k < K; k++) {
        a += (double)x[r * K + k] * w[n * K + k];
        b += (double)x[r * K + k] * wq[n * K + k];
      }
      tot += (a - b) * (a - b);
    }
  return tot;
}

double int4_awq(const double *w, const float *x, int64_t rows, const double *xmean, int grid,
                Int4Layer *l, float *s, double *err, double *err0) {
  int64_t K = l->K, N = l->N;
  double *ws = xalloc((size_t)(N * K), sizeof *ws), *sc = xalloc((size_t)K, sizeof *sc);
  float *wq = xalloc((size_t)(N * K), sizeof *wq);
  double best = INFINITY, best_alpha = 0;
  for (int gi = 0; gi <= grid; gi++) {
    double alpha = (double)gi / grid, mx = 0, mn = INFINITY;
    for (int64_t k = 0; k < K; k++) {
      sc[k] = pow(fmax(xmean[k], 1e-8), alpha);
      mx = fmax(mx, sc[k]), mn = fmin(mn, sc[k]);
    }
    double norm = sqrt(mx * mn);
    for (int64_t k = 0; k < K; k++) sc[k] = (double)(float)(sc[k] / norm);
    for (int64_t n = 0; n < N; n++)
      for (int64_t k = 0; k < K; k++) ws[n * K + k] = w[n * K + k] * sc[k];
    int4_rtn(ws, l);
    int4_dequant(l, wq);
    for (int64_t n = 0; n < N; n++) /* (x / s) Q(W s)^T = x (Q(W s) / s)^T */
      for (int64_t k = 0; k < K; k++) wq[n * K + k] = (float)(wq[n * K + k] / sc[k]);
    double e = int4_output_err(x, rows, w, wq, N, K);
    if (gi == 0) *err0 = e;
    if (e < best) {
      best = e, best_alpha = alpha;
      for (int64_t k = 0; k < K; k++) s[k] = (float)sc[k];
    }
  }
  /* the chosen layer again (the loop left the last alpha's) */
  for (int64_t n = 0; n < N; n++)
    for (int64_t k = 0; k < K; k++) ws[n * K + k] = w[n * K + k] * s[k];
  int4_rtn(ws, l);
  *err = best;
  free(ws), free(sc), free(wq);
  return best_alpha;
}
