/* sparse.c - sparse-weight x dense-activation products (fp32) for pruned Gemm/MatMul/Conv.
 *
 * The constant operand W (M outputs x K reductions: Gemm/MatMul's B transposed, Conv's
 * weights per output channel) is packed at compile time into one of two formats:
 *  - CSR: per output row the nonzero values and their uint16 column indices (K <= 65535),
 *    padded with a zero to an even count (the kernels take the nonzeros in pairs);
 *  - 2:4: every group of 4 consecutive k holds at most 2 nonzeros; per row K/2 values and a
 *    4-bit index byte half per group (i0 | i1 << 2), half the MACs of the dense product.
 * Y(m, p) = sum_k W(m, k) B(k, p) runs over a panel of up to EFFC_CONV_NT columns of B held
 * contiguously (B itself, a transposed copy or an im2col tile): for each output row the
 * nonzeros are broadcast and multiplied into 32/8 columns at once (AVX2, NEON 16/4), so
 * every MAC the pruning removed is skipped. A few columns (P < 8: Gemm with batch 1..7)
 * run one dot product per output instead (AVX2: gathers for CSR, permutes for 2:4).
 * Every output is computed by one code path chosen by its column alone (never by tid/nt),
 * and the sum runs over the nonzeros in order, so results do not depend on the threads. */
#include "kern.h"

/* Header of a packed blob (16 bytes; the sections after it are 16-byte aligned). */
typedef struct EffcSpHdr {
  int32_t fmt, M, K, nnz;
} EffcSpHdr;

static size_t sp_al(size_t n) { return (n + 15) / 16 * 16; }

/* The sections of a packed blob. */
typedef struct SpView {
  int fmt;
  int64_t M, K;
  const int32_t *rp;    /* CSR: row starts, M + 1 */
  const float *val;     /* CSR: nnz values; 2:4: M * K / 2 */
  const uint16_t *idx;  /* CSR: nnz column indices */
  const uint8_t *nib;   /* 2:4: M * K / 8 index bytes */
} SpView;

static SpView sp_view(const void *packed) {
  const EffcSpHdr *h = packed;
  const char *q = (const char *)packed + sizeof *h;
  SpView v = {h->fmt, h->M, h->K, NULL, NULL, NULL, NULL};
  if (h->fmt == EFFC_SPARSE_CSR) {
    v.rp = (const int32_t *)q;
    q += sp_al((size_t)(h->M + 1) * 4);
    v.val = (const float *)q;
    q += sp_al((size_t)h->nnz * 4);
    v.idx = (const uint16_t *)q;
  } else {
    v.val = (const float *)q;
    q += sp_al((size_t)(h->M * h->K / 2) * 4);
    v.nib = (const uint8_t *)q;
  }
  return v;
}

/* ------------------------------------------------------------------ packing */

/* Stored entries of one CSR row: its nonzeros rounded up to even. */
static int64_t sp_row_nnz(const float *w, int64_t K, int64_t cs) {
  int64_t n = 0;
  for (int64_t k = 0; k < K; k++) n += w[k * cs] != 0.0f;
  return n + n % 2;
}

EFFC_KERN int effc_sparse_fits_24(int64_t M, int64_t K, const float *w, int64_t rs, int64_t cs) {
  if (K % 8 || K <= 0) return 0;
  for (int64_t m = 0; m < M; m++)
    for (int64_t g = 0; g < K; g += 4) {
      int nz = 0;
      for (int i = 0; i < 4; i++) nz += w[m * rs + (g + i) * cs] != 0.0f;
      if (nz > 2) return 0;
    }
  return 1;
}

EFFC_KERN size_t effc_sparse_pack_size(int fmt, int64_t M, int64_t K, const float *w, int64_t rs,
                                       int64_t cs) {
  if (fmt == EFFC_SPARSE_24)
    return sizeof(EffcSpHdr) + sp_al((size_t)(M * K / 2) * 4) + sp_al((size_t)(M * K / 8));
  size_t nnz = 0;
  for (int64_t m = 0; m < M; m++) nnz += (size_t)sp_row_nnz(w + m * rs, K, cs);
  return sizeof(EffcSpHdr) + sp_al((size_t)(M + 1) * 4) + sp_al(nnz * 4) + sp_al(nnz * 2);
}

EFFC_KERN void effc_sparse_pack(int fmt, int64_t M, int64_t K, const float *w, int64_t rs,
                                int64_t cs, float alpha, void *packed) {
  memset(packed, 0, effc_sparse_pack_size(fmt, M, K, w, rs, cs));
  EffcSpHdr *h = packed;
  h->fmt = fmt, h->M = (int32_t)M, h->K = (int32_t)K;
  if (fmt == EFFC_SPARSE_CSR) /* the sections after the row starts depend on the count */
    for (int64_t m = 0; m < M; m++) h->nnz += (int32_t)sp_row_nnz(w + m * rs, K, cs);
  SpView v = sp_view(packed);
  if (fmt == EFFC_SPARSE_24) {
    float *val = (float *)v.val;
    uint8_t *nib = (uint8_t *)v.nib;
    for (int64_t m = 0; m < M; m++)
      for (int64_t g = 0; g < K / 4; g++) {
        int got = 0, ix[2] = {0, 1};
        float vv[2] = {0.0f, 0.0f};
        for (int i = 0; i < 4 && got < 2; i++) {
          float x = w[m * rs + (4 * g + i) * cs];
          if (x != 0.0f) ix[got] = i, vv[got++] = alpha * x;
        }
        if (got == 1 && ix[0] == ix[1]) ix[1] = ix[0] == 0 ? 1 : 0; /* a distinct dummy */
        val[m * K / 2 + 2 * g] = vv[0], val[m * K / 2 + 2 * g + 1] = vv[1];
        nib[(m * K / 4 + g) / 2] |= (uint8_t)((ix[0] | ix[1] << 2) << (4 * (g & 1)));
      }
    return;
  }
  int32_t *rp = (int32_t *)v.rp, z = 0;
  float *val = (float *)v.val;
  uint16_t *idx = (uint16_t *)v.idx;
  for (int64_t m = 0; m < M; m++) {
    rp[m] = z;
    for (int64_t k = 0; k < K; k++) {
      float x = w[m * rs + k * cs];
      if (x != 0.0f) val[z] = alpha * x, idx[z++] = (uint16_t)k;
    }
    if ((z - rp[m]) % 2) val[z] = 0.0f, idx[z] = 0, z++; /* even: the kernels take pairs */
  }
  rp[M] = z;
}

/* ------------------------------------------------------------------ row kernels */

/* One output row: npair pairs of nonzeros (values val[2q], val[2q+1]); their k from ks (CSR,
 * rows padded to an even count) or decoded from the 2:4 index nibbles. */
typedef struct SpRow {
  int64_t npair;
  const float *val;
  const uint16_t *ks;
  const uint8_t *nib;
} SpRow;

/* Where the vector kernels put a strip of one row: straight into y with the epilogue
 * (contiguous output; NONE, RELU or CLIP) when y is set, else into t for sp_store. */
typedef struct SpOut {
  float *y;         /* Y(m, first column of the strip), or NULL */
  const float *res; /* the residual at the same place, or NULL */
  float bias, lo, hi;
  int act;
} SpOut;

static SpRow sp_row(const SpView *v, int64_t m) {
  SpRow r = {0, NULL, NULL, NULL};
  if (v->fmt == EFFC_SPARSE_CSR)
    r.npair = (v->rp[m + 1] - v->rp[m]) / 2, r.val = v->val + v->rp[m], r.ks = v->idx + v->rp[m];
  else
    r.npair = v->K / 4, r.val = v->val + m * v->K / 2, r.nib = v->nib + m * v->K / 8;
  return r;
}

/* The k of pair q's two nonzeros (is24: r->nib is set; a constant in the specialized
 * kernels below, so the test folds away). */
static inline __attribute__((always_inline)) void sp_pair2(const SpRow *r, int is24, int64_t q,
                                                           int64_t *k0, int64_t *k1) {
  if (is24) {
    int b = r->nib[q >> 1] >> (4 * (q & 1));
    *k0 = 4 * q + (b & 3), *k1 = 4 * q + (b >> 2 & 3);
  } else {
    *k0 = r->ks[2 * q], *k1 = r->ks[2 * q + 1];
  }
}
static inline void sp_pair(const SpRow *r, int64_t q, int64_t *k0, int64_t *k1) {
  sp_pair2(r, r->nib != NULL, q, k0, k1);
}

/* t[j] = sum over the row's nonzeros of val * b[k * ldb + j], for j in [j0, w): the scalar
 * path (even and odd nonzeros summed apart, as the vector paths do). */
static void sp_cols_scalar(const SpRow *r, const float *b, int64_t ldb, int64_t j0, int64_t w,
                           float *t) {
  for (int64_t j = j0; j < w; j++) {
    float s0 = 0.0f, s1 = 0.0f;
    for (int64_t q = 0; q < r->npair; q++) {
      int64_t k0, k1;
      sp_pair(r, q, &k0, &k1);
      s0 += r->val[2 * q] * b[k0 * ldb + j];
      s1 += r->val[2 * q + 1] * b[k1 * ldb + j];
    }
    t[j] = s0 + s1;
  }
}

#if defined(EFFC_HAVE_AVX2)
/* 8 results of a strip at column j: into t, or with the epilogue into o->y. */
EFFC_TARGET_AVX2 static inline __attribute__((always_inline)) void sp_put(const SpOut *o, float *t,
                                                                          int64_t j, __m256 v) {
  if (!o->y) {
    _mm256_storeu_ps(t + j, v);
    return;
  }
  v = _mm256_add_ps(v, _mm256_set1_ps(o->bias));
  if (o->res) v = _mm256_add_ps(v, _mm256_loadu_ps(o->res + j));
  if (o->act == EFFC_ACT_RELU) v = _mm256_max_ps(_mm256_setzero_ps(), v);
  if (o->act == EFFC_ACT_CLIP) v = _mm256_min_ps(_mm256_set1_ps(o->hi), _mm256_max_ps(_mm256_set1_ps(o->lo), v));
  _mm256_storeu_ps(o->y + j, v);
}

/* Columns [0, w) in 32s and 8s; returns the count done. */
EFFC_TARGET_AVX2 static inline __attribute__((always_inline)) int64_t
sp_cols_avx2_body(const SpRow *r, int is24, const float *b, int64_t ldb, int64_t w, float *t,
                  const SpOut *o) {
  int64_t j = 0;
  for (; j + 32 <= w; j += 32) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0,
           c3 = a0;
    for (int64_t q = 0; q < r->npair; q++) {
      int64_t k0, k1;
      sp_pair2(r, is24, q, &k0, &k1);
      __m256 v0 = _mm256_broadcast_ss(r->val + 2 * q), v1 = _mm256_broadcast_ss(r->val + 2 * q + 1);
      const float *r0 = b + k0 * ldb + j, *r1 = b + k1 * ldb + j;
      a0 = _mm256_fmadd_ps(v0, _mm256_loadu_ps(r0), a0);
      a1 = _mm256_fmadd_ps(v0, _mm256_loadu_ps(r0 + 8), a1);
      a2 = _mm256_fmadd_ps(v0, _mm256_loadu_ps(r0 + 16), a2);
      a3 = _mm256_fmadd_ps(v0, _mm256_loadu_ps(r0 + 24), a3);
      c0 = _mm256_fmadd_ps(v1, _mm256_loadu_ps(r1), c0);
      c1 = _mm256_fmadd_ps(v1, _mm256_loadu_ps(r1 + 8), c1);
      c2 = _mm256_fmadd_ps(v1, _mm256_loadu_ps(r1 + 16), c2);
      c3 = _mm256_fmadd_ps(v1, _mm256_loadu_ps(r1 + 24), c3);
    }
    sp_put(o, t, j, _mm256_add_ps(a0, c0)), sp_put(o, t, j + 8, _mm256_add_ps(a1, c1));
    sp_put(o, t, j + 16, _mm256_add_ps(a2, c2)), sp_put(o, t, j + 24, _mm256_add_ps(a3, c3));
  }
  for (; j + 8 <= w; j += 8) {
    __m256 a0 = _mm256_setzero_ps(), c0 = a0;
    for (int64_t q = 0; q < r->npair; q++) {
      int64_t k0, k1;
      sp_pair2(r, is24, q, &k0, &k1);
      a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(r->val + 2 * q), _mm256_loadu_ps(b + k0 * ldb + j), a0);
      c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(r->val + 2 * q + 1),
                           _mm256_loadu_ps(b + k1 * ldb + j), c0);
    }
    sp_put(o, t, j, _mm256_add_ps(a0, c0));
  }
  return j;
}

EFFC_TARGET_AVX2 static int64_t sp_cols_avx2_csr(const SpRow *r, const float *b, int64_t ldb,
                                                 int64_t w, float *t, const SpOut *o) {
  return sp_cols_avx2_body(r, 0, b, ldb, w, t, o);
}
EFFC_TARGET_AVX2 static int64_t sp_cols_avx2_24(const SpRow *r, const float *b, int64_t ldb,
                                                int64_t w, float *t, const SpOut *o) {
  return sp_cols_avx2_body(r, 1, b, ldb, w, t, o);
}

/* Y[j] = act(t[j] + bias + res[j]) for NONE, RELU and CLIP, 8 at a time; returns the count
 * done. */
EFFC_TARGET_AVX2 static int64_t sp_store_avx2(const EffcEpilogue *e, float bias, const float *res,
                                              const float *t, float *y, int64_t w) {
  if (e && e->act != EFFC_ACT_NONE && e->act != EFFC_ACT_RELU && e->act != EFFC_ACT_CLIP) return 0;
  __m256 bv = _mm256_set1_ps(bias), zero = _mm256_setzero_ps();
  __m256 lo = _mm256_set1_ps(e ? e->alpha : 0.0f), hi = _mm256_set1_ps(e ? e->beta : 0.0f);
  int64_t j = 0;
  for (; j + 8 <= w; j += 8) {
    __m256 v = _mm256_add_ps(_mm256_loadu_ps(t + j), bv);
    if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(res + j));
    if (e && e->act == EFFC_ACT_RELU) v = _mm256_max_ps(zero, v);
    if (e && e->act == EFFC_ACT_CLIP) v = _mm256_min_ps(hi, _mm256_max_ps(lo, v));
    _mm256_storeu_ps(y + j, v);
  }
  return j;
}

/* Horizontal sum of 8 lanes (fixed order). */
EFFC_TARGET_AVX2 static float sp_hsum(__m256 a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

/* One output of a CSR row against x (contiguous in k): gathers, 16 nonzeros at a time. */
EFFC_TARGET_AVX2 static float sp_dot_csr_avx2(const SpRow *r, const float *x) {
  __m256 a = _mm256_setzero_ps(), c = a;
  int64_t nz = 2 * r->npair, z = 0;
  for (; z + 16 <= nz; z += 16) {
    __m256i i0 = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(r->ks + z)));
    __m256i i1 = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(r->ks + z + 8)));
    a = _mm256_fmadd_ps(_mm256_loadu_ps(r->val + z), _mm256_i32gather_ps(x, i0, 4), a);
    c = _mm256_fmadd_ps(_mm256_loadu_ps(r->val + z + 8), _mm256_i32gather_ps(x, i1, 4), c);
  }
  float s = sp_hsum(_mm256_add_ps(a, c));
  for (; z < nz; z++) s += r->val[z] * x[r->ks[z]];
  return s;
}

/* One output of a 2:4 row against x: per 16 k, two loads and two permutes pick the 8
 * operands of the 8 stored values. */
EFFC_TARGET_AVX2 static float sp_dot_24_avx2(const SpRow *r, const float *x) {
  const __m256i sh = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
  const __m256i base = _mm256_setr_epi32(0, 0, 4, 4, 8, 8, 12, 12);
  const __m256i three = _mm256_set1_epi32(3);
  __m256 acc = _mm256_setzero_ps();
  int64_t K = 4 * r->npair, k = 0;
  for (; k + 16 <= K; k += 16) {
    int bits = r->nib[k / 8] | r->nib[k / 8 + 1] << 8;
    __m256i ix = _mm256_add_epi32(
        base, _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(bits), sh), three));
    __m256 lo = _mm256_permutevar8x32_ps(_mm256_loadu_ps(x + k), ix);
    __m256 hi = _mm256_permutevar8x32_ps(_mm256_loadu_ps(x + k + 8), ix);
    __m256 sel = _mm256_blendv_ps(lo, hi, _mm256_castsi256_ps(_mm256_slli_epi32(ix, 28)));
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(r->val + k / 2), sel, acc);
  }
  float s = sp_hsum(acc);
  for (int64_t q = k / 4; q < r->npair; q++) {
    int64_t k0, k1;
    sp_pair(r, q, &k0, &k1);
    s += r->val[2 * q] * x[k0] + r->val[2 * q + 1] * x[k1];
  }
  return s;
}
#endif

#if defined(EFFC_HAVE_NEON)
static int64_t sp_cols_neon(const SpRow *r, const float *b, int64_t ldb, int64_t w, float *t) {
  int64_t j = 0;
  for (; j + 16 <= w; j += 16) {
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0,
                c3 = a0;
    for (int64_t q = 0; q < r->npair; q++) {
      int64_t k0, k1;
      sp_pair(r, q, &k0, &k1);
      float v0 = r->val[2 * q], v1 = r->val[2 * q + 1];
      const float *r0 = b + k0 * ldb + j, *r1 = b + k1 * ldb + j;
      a0 = vfmaq_n_f32(a0, vld1q_f32(r0), v0), a1 = vfmaq_n_f32(a1, vld1q_f32(r0 + 4), v0);
      a2 = vfmaq_n_f32(a2, vld1q_f32(r0 + 8), v0), a3 = vfmaq_n_f32(a3, vld1q_f32(r0 + 12), v0);
      c0 = vfmaq_n_f32(c0, vld1q_f32(r1), v1), c1 = vfmaq_n_f32(c1, vld1q_f32(r1 + 4), v1);
      c2 = vfmaq_n_f32(c2, vld1q_f32(r1 + 8), v1), c3 = vfmaq_n_f32(c3, vld1q_f32(r1 + 12), v1);
    }
    vst1q_f32(t + j, vaddq_f32(a0, c0)), vst1q_f32(t + j + 4, vaddq_f32(a1, c1));
    vst1q_f32(t + j + 8, vaddq_f32(a2, c2)), vst1q_f32(t + j + 12, vaddq_f32(a3, c3));
  }
  for (; j + 4 <= w; j += 4) {
    float32x4_t a0 = vdupq_n_f32(0.0f), c0 = a0;
    for (int64_t q = 0; q < r->npair; q++) {
      int64_t k0, k1;
      sp_pair(r, q, &k0, &k1);
      a0 = vfmaq_n_f32(a0, vld1q_f32(b + k0 * ldb + j), r->val[2 * q]);
      c0 = vfmaq_n_f32(c0, vld1q_f32(b + k1 * ldb + j), r->val[2 * q + 1]);
    }
    vst1q_f32(t + j, vaddq_f32(a0, c0));
  }
  return j;
}
#endif

/* Columns [0, w) of one row: B(k, j) = b[k * ldb + j]; returns how many went straight to
 * o->y (AVX2), the rest are in t. */
static int64_t sp_row_cols(int isa, const SpRow *r, const float *b, int64_t ldb, int64_t w,
                           float *t, const SpOut *o) {
  int64_t j = 0;
#if defined(EFFC_HAVE_AVX2)
  if (isa == EFFC_ISA_AVX2 || isa == EFFC_ISA_AVX512) {
    j = r->nib ? sp_cols_avx2_24(r, b, ldb, w, t, o) : sp_cols_avx2_csr(r, b, ldb, w, t, o);
    sp_cols_scalar(r, b, ldb, j, w, t);
    return o->y ? j : 0;
  }
#endif
#if defined(EFFC_HAVE_NEON)
  if (isa == EFFC_ISA_NEON) j = sp_cols_neon(r, b, ldb, w, t);
#endif
  (void)isa, (void)o;
  sp_cols_scalar(r, b, ldb, j, w, t);
  return 0;
}

/* Row m's strip at column p: straight to y when it is contiguous and the activation simple. */
static SpOut sp_out(const EffcEpilogue *e, int64_t m, int64_t p, float *y, int64_t y_rs,
                    int64_t y_cs) {
  SpOut o = {NULL, NULL, 0.0f, 0.0f, 0.0f, EFFC_ACT_NONE};
  if (y_cs != 1 || (e && (e->bias_rows || (e->act != EFFC_ACT_NONE && e->act != EFFC_ACT_RELU &&
                                           e->act != EFFC_ACT_CLIP))))
    return o;
  o.y = y + m * y_rs + p;
  if (e) {
    o.res = e->residual ? e->residual + m * y_rs + p : NULL;
    o.bias = e->bias ? e->bias[m] : 0.0f, o.lo = e->alpha, o.hi = e->beta, o.act = (int)e->act;
  }
  return o;
}

/* Y(m, p0 + j) = act(t[j] + bias + residual) for j < w; Y(m, p) = y[m * y_rs + p * y_cs],
 * the residual laid out as y, the bias per m (per p with bias_rows). */
static void sp_store(int isa, const EffcEpilogue *e, int64_t m, int64_t p0, int64_t w, float *t,
                     float *y, int64_t y_rs, int64_t y_cs) {
  int64_t j = 0;
  if (y_cs == 1 && !(e && e->bias_rows)) {
    float *yr = y + m * y_rs + p0, b = e && e->bias ? e->bias[m] : 0.0f;
    const float *res = e && e->residual ? e->residual + m * y_rs + p0 : NULL;
#if defined(EFFC_HAVE_AVX2)
    if (isa == EFFC_ISA_AVX2 || isa == EFFC_ISA_AVX512) j = sp_store_avx2(e, b, res, t, yr, w);
#endif
    (void)isa;
    if (!e) {
      memcpy(yr + j, t + j, (size_t)(w - j) * sizeof *t);
    } else if (j < w) {
      memcpy(yr + j, t + j, (size_t)(w - j) * sizeof *t);
      effc_act_apply(yr + j, res ? res + j : NULL, (size_t)(w - j), b, e);
    }
    return;
  }
  for (; j < w; j++) {
    int64_t o = m * y_rs + (p0 + j) * y_cs;
    if (!e) {
      y[o] = t[j];
      continue;
    }
    float s = t[j] + (e->bias ? e->bias[e->bias_rows ? p0 + j : m] : 0.0f);
    if (e->residual) s += e->residual[o];
    y[o] = e->act == EFFC_ACT_NONE ? s : e->act == EFFC_ACT_RELU ? (s > 0.0f ? s : 0.0f)
                                                                 : effc_act1(s, e);
  }
}

/* Rows [m0, m1) over one panel of w <= EFFC_CONV_NT columns starting at column p0, in strips
 * of EFFC_SPARSE_STRIP columns (all rows of a strip while its rows of B stay in cache). */
#define EFFC_SPARSE_STRIP 32
static void sp_panel(int isa, const SpView *v, int64_t m0, int64_t m1, const float *b, int64_t ldb,
                     int64_t p0, int64_t w, float *y, int64_t y_rs, int64_t y_cs,
                     const EffcEpilogue *e) {
  float t[EFFC_SPARSE_STRIP];
  for (int64_t j = 0; j < w; j += EFFC_SPARSE_STRIP) {
    int64_t sw = w - j < EFFC_SPARSE_STRIP ? w - j : EFFC_SPARSE_STRIP;
    for (int64_t m = m0; m < m1; m++) {
      SpRow r = sp_row(v, m);
      SpOut o = sp_out(e, m, p0 + j, y, y_rs, y_cs);
      int64_t d = sp_row_cols(isa, &r, b + j, ldb, sw, t, &o);
      sp_store(isa, e, m, p0 + j + d, sw - d, t + d, y, y_rs, y_cs);
    }
  }
}

/* Split n items into nt shares: [*lo, *hi) for tid. */
static void sp_share(int64_t n, int tid, int nt, int64_t *lo, int64_t *hi) {
  *lo = n * tid / nt, *hi = n * (tid + 1) / nt;
}

/* Items of (panel, row block) for nt threads: enough row blocks that no thread idles. */
static int64_t sp_blocks(int64_t panels, int64_t M, int nt) {
  int64_t nmb = 1;
  while (panels * nmb < nt && nmb * 2 <= M) nmb *= 2;
  return nmb;
}

/* ------------------------------------------------------------------ entry points */

EFFC_KERN size_t effc_spmm_scratch(const void *packed, const EffcSpmm *s, int nt) {
  SpView v = sp_view(packed);
  size_t tb = s->P >= EFFC_SPARSE_MIN_COLS && s->b_cs != 1
                  ? sp_al((size_t)(v.K * (s->P < EFFC_CONV_NT ? s->P : EFFC_CONV_NT)) * 4)
                  : 0;
  return (size_t)nt * tb;
}

EFFC_KERN void effc_spmm(int isa, const void *packed, const EffcSpmm *s, const EffcEpilogue *e,
                         void *scratch, int tid, int nt) {
  SpView v = sp_view(packed);
  int64_t lo, hi, K = v.K, P = s->P;
  if (P < EFFC_SPARSE_MIN_COLS) { /* one dot product per output, rows over the threads */
    sp_share(v.M, tid, nt, &lo, &hi);
    for (int64_t m = lo; m < hi; m++)
      for (int64_t p = 0; p < P; p++) {
        const float *x = s->b + p * s->b_cs;
        SpRow r = sp_row(&v, m);
        float d;
#if defined(EFFC_HAVE_AVX2)
        if ((isa == EFFC_ISA_AVX2 || isa == EFFC_ISA_AVX512) && s->b_rs == 1) {
          d = r.nib ? sp_dot_24_avx2(&r, x) : sp_dot_csr_avx2(&r, x);
        } else
#endif
        {
          float s0 = 0.0f, s1 = 0.0f;
          for (int64_t q = 0; q < r.npair; q++) {
            int64_t k0, k1;
            sp_pair(&r, q, &k0, &k1);
            s0 += r.val[2 * q] * x[k0 * s->b_rs], s1 += r.val[2 * q + 1] * x[k1 * s->b_rs];
          }
          d = s0 + s1;
        }
        sp_store(isa, e, m, p, 1, &d, s->y, s->y_rs, s->y_cs);
      }
    (void)isa;
    return;
  }
  int64_t tp = P < EFFC_CONV_NT ? P : EFFC_CONV_NT, npan = (P + tp - 1) / tp;
  int64_t nmb = sp_blocks(npan, v.M, nt);
  size_t tb = s->b_cs != 1 ? sp_al((size_t)(K * tp) * 4) : 0;
  float *col = (float *)((char *)scratch + (size_t)tid * tb);
  int64_t built = -1;
  sp_share(npan * nmb, tid, nt, &lo, &hi);
  for (int64_t it = lo; it < hi; it++) {
    int64_t pan = it / nmb, mb = it % nmb, p0 = pan * tp, w = P - p0 < tp ? P - p0 : tp;
    const float *b = s->b + p0 * s->b_cs;
    int64_t ldb = s->b_rs;
    if (s->b_cs != 1) { /* the panel transposed: col[k][j] = B(k, p0 + j) */
      if (built != pan)
        for (int64_t k = 0; k < K; k++)
          for (int64_t j = 0; j < w; j++) col[k * tp + j] = b[k * s->b_rs + j * s->b_cs];
      built = pan, b = col, ldb = tp;
    }
    sp_panel(isa, &v, v.M * mb / nmb, v.M * (mb + 1) / nmb, b, ldb, p0, w, s->y, s->y_rs,
             s->y_cs, e);
  }
}

EFFC_KERN int effc_spconv2d_ok(const EffcConv2d *p) {
  return p->G == 1 && p->C * p->KH * p->KW <= 65535 && effc_conv2d_algo(p) != EFFC_CONV_DEPTHWISE;
}

/* B straight from the input: 1x1, stride 1, no padding. */
static int sp_conv_direct(const EffcConv2d *p) {
  return p->KH == 1 && p->KW == 1 && p->SH == 1 && p->SW == 1 && p->PT == 0 && p->PL == 0 &&
         p->OH == p->H && p->OW == p->W;
}

EFFC_KERN size_t effc_spconv2d_scratch(const EffcConv2d *p, const void *packed, int nt) {
  SpView v = sp_view(packed);
  size_t tb = sp_conv_direct(p) ? 0 : sp_al((size_t)(v.K * EFFC_CONV_NT) * 4);
  return (size_t)nt * tb;
}

EFFC_KERN void effc_spconv2d(const EffcConv2d *p, int isa, const float *x, const void *packed,
                             float *y, const EffcEpilogue *e, void *scratch, int tid, int nt) {
  SpView v = sp_view(packed);
  int64_t P = p->OH * p->OW, npan = (P + EFFC_CONV_NT - 1) / EFFC_CONV_NT, lo, hi;
  int64_t nmb = sp_blocks(p->N * npan, p->M, nt);
  int direct = sp_conv_direct(p);
  size_t tb = direct ? 0 : sp_al((size_t)(v.K * EFFC_CONV_NT) * 4);
  float *col = (float *)((char *)scratch + (size_t)tid * tb);
  int64_t built = -1;
  sp_share(p->N * npan * nmb, tid, nt, &lo, &hi);
  for (int64_t it = lo; it < hi; it++) {
    int64_t mb = it % nmb, tile = it / nmb, pan = tile % npan, n = tile / npan;
    int64_t p0 = pan * EFFC_CONV_NT, w = P - p0 < EFFC_CONV_NT ? P - p0 : EFFC_CONV_NT;
    const float *xn = x + n * p->C * p->H * p->W, *b = xn + p0;
    int64_t ldb = P;
    if (!direct) {
      if (built != tile) effc_conv2d_im2col(p, xn, p0, w, col);
      built = tile, b = col, ldb = EFFC_CONV_NT;
    }
    EffcEpilogue en;
    const EffcEpilogue *ep = NULL;
    if (e) {
      en = *e;
      en.bias_rows = 0;
      en.residual = e->residual ? e->residual + n * p->M * P : NULL;
      ep = &en;
    }
    sp_panel(isa, &v, v.M * mb / nmb, v.M * (mb + 1) / nmb, b, ldb, p0, w, y + n * p->M * P, P, 1,
             ep);
  }
}
