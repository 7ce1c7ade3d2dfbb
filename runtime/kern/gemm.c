/* gemm.c - fp32 GEMM in the BLIS/GotoBLAS structure: cache blocks (KC x NC panels of B,
 * MC x KC blocks of A), both packed into micro-panels, and register-blocked micro-kernels
 * (AVX2+FMA 6x16, AVX-512 12x32, NEON 8x12, portable C 4x8), with a fused epilogue.
 *
 * API (declared in kern.h; needs kern/act.c):
 *   effc_sgemm(isa, M, N, K, alpha, A, lda, trans_a, B, ldb, trans_b, C, ldc, ep,
 *              scratch, tid, nt)
 *     C[i*ldc+j] = act(alpha * sum_k A(i,k) B(k,j) + residual[i*ldc+j] + bias)
 *     A(i,k) = A[i*lda+k], or A[k*lda+i] with trans_a; B(k,j) = B[k*ldb+j], or B[j*ldb+k]
 *     with trans_b. ep (NULL: none) gives act, bias (bias[j] per column, or bias[i] per row
 *     with ep->bias_rows) and residual (the output's layout, row stride ldc; it may alias C:
 *     each element is read before it is written). K = 0 gives act(residual + bias).
 *   effc_sgemm_scratch(isa, M, N, K, packed_b, nt): scratch bytes for all nt threads.
 *   effc_sgemm_pack_b_size(isa, K, N): bytes of B packed for isa's micro-kernel;
 *   effc_sgemm_pack_b(isa, K, N, B, ldb, trans_b, packed): pack it (weights, compile time);
 *   effc_sgemm_packed(isa, M, N, K, alpha, A, lda, trans_a, Bp, C, ldc, ep, scratch, tid,
 *              nt): effc_sgemm with B packed by effc_sgemm_pack_b for the same isa.
 * Threads: thread tid of nt computes a range of whole MR-row (or NR-column) strips of C and
 * packs what it reads itself; every element goes through the same instructions (same KC
 * blocks, same tile grid) whatever nt is, so results are identical for any nt.
 * The packing functions are plain C for every isa, so effc packs weights for any target. */
#include "kern.h"

typedef struct GemmBlk {
  int mr, nr;     /* micro-tile */
  int64_t mc, kc; /* A block (L2) and the K step (a B micro-panel kc x nr stays in L1) */
  int64_t nc;     /* B panel (L3) */
} GemmBlk;

/* Block sizes per isa, for every isa in every build (packing for other targets). */
static GemmBlk gemm_blk(int isa) {
  GemmBlk b = {4, 8, 128, 256, 2048};
  if (isa == EFFC_ISA_AVX2) b = (GemmBlk){6, 16, 144, 256, 4080};
  if (isa == EFFC_ISA_AVX512) b = (GemmBlk){12, 32, 144, 256, 4096};
  if (isa == EFFC_ISA_NEON) b = (GemmBlk){8, 12, 128, 256, 3072};
  return b;
}

#define GEMM_TILE_MAX (12 * 32)
#define GEMM_MR_MAX 12
#define GEMM_A_SLACK 16 /* floats after the packed A block (vector stores spill into it) */

static int64_t gemm_min(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t gemm_up(int64_t a, int64_t m) { return (a + m - 1) / m * m; }

/* ------------------------------------------------------------------ epilogue */

/* Where one tile goes: the first K block starts from the residual (or zero), later blocks
 * add to C, the last applies bias and activation. bias is offset to the tile. */
typedef struct GemmOut {
  float *c;
  int64_t ldc;
  const float *res, *bias;
  int bias_rows, first, last;
  const EffcEpilogue *ep;
} GemmOut;

static int gemm_simple_act(const EffcEpilogue *e) {
  return e->act == EFFC_ACT_NONE || e->act == EFFC_ACT_RELU || e->act == EFFC_ACT_LEAKY_RELU ||
         e->act == EFFC_ACT_CLIP;
}

/* ------------------------------------------------------------------ micro-kernels */
/* t[r*nr+c] = sum_k a[k*mr+r] * b[k*nr+c] for one mr x nr tile (t holds the full tile). */

static inline void gemm_mk_c(int mr, int nr, int64_t kc, const float *a, const float *b,
                             float *t) {
  for (int i = 0; i < mr * nr; i++) t[i] = 0.0f;
  for (int64_t k = 0; k < kc; k++, a += mr, b += nr)
    for (int r = 0; r < mr; r++)
      for (int c = 0; c < nr; c++) t[r * nr + c] += a[r] * b[c];
}

static void gemm_mk_scalar(int64_t kc, const float *a, const float *b, float *t) {
  float acc[4][8] = {{0}};
  for (int64_t k = 0; k < kc; k++, a += 4, b += 8)
    for (int r = 0; r < 4; r++)
      for (int c = 0; c < 8; c++) acc[r][c] += a[r] * b[c];
  memcpy(t, acc, sizeof acc);
}

#if defined(EFFC_HAVE_AVX2)
/* The epilogue on 8 values v of row r, columns [j, j+8) of the tile o. */
EFFC_TARGET_AVX2 static inline __m256 gemm_ep_avx2(__m256 v, const GemmOut *o, int r, int j) {
  if (!o->first)
    v = _mm256_add_ps(v, _mm256_loadu_ps(o->c + r * o->ldc + j));
  else if (o->res)
    v = _mm256_add_ps(v, _mm256_loadu_ps(o->res + r * o->ldc + j));
  const EffcEpilogue *e = o->ep;
  if (!o->last || !e) return v;
  if (o->bias)
    v = _mm256_add_ps(v, o->bias_rows ? _mm256_set1_ps(o->bias[r]) : _mm256_loadu_ps(o->bias + j));
  __m256 zero = _mm256_setzero_ps();
  switch (e->act) { /* max(0, v) and blends give NaN and -0 as the scalar comparisons do */
  case EFFC_ACT_RELU:
    return _mm256_max_ps(zero, v);
  case EFFC_ACT_CLIP:
    return _mm256_min_ps(_mm256_set1_ps(e->beta), _mm256_max_ps(_mm256_set1_ps(e->alpha), v));
  case EFFC_ACT_LEAKY_RELU:
    return _mm256_blendv_ps(v, _mm256_mul_ps(_mm256_set1_ps(e->alpha), v),
                            _mm256_cmp_ps(v, zero, _CMP_LT_OQ));
  default:
    return v;
  }
}

#define GEMM_AVX2_ROW(r)                                                                     \
  x = _mm256_broadcast_ss(a + r);                                                            \
  c##r##0 = _mm256_fmadd_ps(x, b0, c##r##0);                                                 \
  c##r##1 = _mm256_fmadd_ps(x, b1, c##r##1);
#define GEMM_AVX2_ST(r)                                                                      \
  _mm256_storeu_ps(t + r * 16, c##r##0);                                                     \
  _mm256_storeu_ps(t + r * 16 + 8, c##r##1);
#define GEMM_AVX2_OUT(r)                                                                     \
  _mm256_storeu_ps(o->c + r * o->ldc, gemm_ep_avx2(c##r##0, o, r, 0));                       \
  _mm256_storeu_ps(o->c + r * o->ldc + 8, gemm_ep_avx2(c##r##1, o, r, 8));

/* A 6x16 tile; a full tile with a vector epilogue goes straight to C (returns 1), any
 * other into t for gemm_store (returns 0). */
EFFC_TARGET_AVX2 static int gemm_mk_avx2(int64_t kc, const float *a, const float *b, float *t,
                                         const GemmOut *o, int full) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  if (full)
    for (int r = 0; r < 6; r++) {
      _mm_prefetch((const char *)(o->c + r * o->ldc), _MM_HINT_T0);
      _mm_prefetch((const char *)(o->c + r * o->ldc + 15), _MM_HINT_T0);
    }
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; k++, a += 6, b += 16) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), x;
    GEMM_AVX2_ROW(0) GEMM_AVX2_ROW(1) GEMM_AVX2_ROW(2)
    GEMM_AVX2_ROW(3) GEMM_AVX2_ROW(4) GEMM_AVX2_ROW(5)
  }
  if (full) {
    GEMM_AVX2_OUT(0) GEMM_AVX2_OUT(1) GEMM_AVX2_OUT(2) GEMM_AVX2_OUT(3) GEMM_AVX2_OUT(4)
    GEMM_AVX2_OUT(5)
    return 1;
  }
  GEMM_AVX2_ST(0) GEMM_AVX2_ST(1) GEMM_AVX2_ST(2) GEMM_AVX2_ST(3) GEMM_AVX2_ST(4)
  GEMM_AVX2_ST(5)
  return 0;
}
#undef GEMM_AVX2_ROW
#undef GEMM_AVX2_ST
#undef GEMM_AVX2_OUT
#endif

#if defined(EFFC_HAVE_AVX512)
#define GEMM_AVX512_ROW(r)                                                                   \
  x = _mm512_set1_ps(a[r]);                                                                  \
  c[r][0] = _mm512_fmadd_ps(x, b0, c[r][0]);                                                 \
  c[r][1] = _mm512_fmadd_ps(x, b1, c[r][1]);

EFFC_TARGET_AVX512 static void gemm_mk_avx512(int64_t kc, const float *a, const float *b,
                                              float *t) {
  __m512 c[12][2];
  for (int r = 0; r < 12; r++) c[r][0] = c[r][1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; k++, a += 12, b += 32) {
    __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16), x;
    GEMM_AVX512_ROW(0) GEMM_AVX512_ROW(1) GEMM_AVX512_ROW(2) GEMM_AVX512_ROW(3)
    GEMM_AVX512_ROW(4) GEMM_AVX512_ROW(5) GEMM_AVX512_ROW(6) GEMM_AVX512_ROW(7)
    GEMM_AVX512_ROW(8) GEMM_AVX512_ROW(9) GEMM_AVX512_ROW(10) GEMM_AVX512_ROW(11)
  }
  for (int r = 0; r < 12; r++) {
    _mm512_storeu_ps(t + r * 32, c[r][0]);
    _mm512_storeu_ps(t + r * 32 + 16, c[r][1]);
  }
}
#undef GEMM_AVX512_ROW
#endif

#if defined(EFFC_HAVE_NEON)
#define GEMM_NEON_ROW(r, av, l)                                                              \
  c##r##0 = vfmaq_laneq_f32(c##r##0, b0, av, l);                                             \
  c##r##1 = vfmaq_laneq_f32(c##r##1, b1, av, l);                                             \
  c##r##2 = vfmaq_laneq_f32(c##r##2, b2, av, l);
#define GEMM_NEON_ST(r)                                                                      \
  vst1q_f32(t + r * 12, c##r##0);                                                            \
  vst1q_f32(t + r * 12 + 4, c##r##1);                                                        \
  vst1q_f32(t + r * 12 + 8, c##r##2);

static void gemm_mk_neon(int64_t kc, const float *a, const float *b, float *t) {
  float32x4_t c00 = vdupq_n_f32(0.0f), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
  float32x4_t c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
  float32x4_t c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00;
  float32x4_t c60 = c00, c61 = c00, c62 = c00, c70 = c00, c71 = c00, c72 = c00;
  for (int64_t k = 0; k < kc; k++, a += 8, b += 12) {
    float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
    float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
    GEMM_NEON_ROW(0, a0, 0) GEMM_NEON_ROW(1, a0, 1) GEMM_NEON_ROW(2, a0, 2)
    GEMM_NEON_ROW(3, a0, 3) GEMM_NEON_ROW(4, a1, 0) GEMM_NEON_ROW(5, a1, 1)
    GEMM_NEON_ROW(6, a1, 2) GEMM_NEON_ROW(7, a1, 3)
  }
  GEMM_NEON_ST(0) GEMM_NEON_ST(1) GEMM_NEON_ST(2) GEMM_NEON_ST(3)
  GEMM_NEON_ST(4) GEMM_NEON_ST(5) GEMM_NEON_ST(6) GEMM_NEON_ST(7)
}
#undef GEMM_NEON_ROW
#undef GEMM_NEON_ST
#endif

/* One tile: into t (returns 0), or straight through the epilogue into C (returns 1). */
static int gemm_mk(int isa, const GemmBlk *bk, int64_t kc, const float *a, const float *b,
                   float *t, const GemmOut *o, int full) {
#if defined(EFFC_HAVE_AVX2)
  if (isa == EFFC_ISA_AVX2) return gemm_mk_avx2(kc, a, b, t, o, full);
#endif
  (void)isa, (void)o, (void)full;
#if defined(EFFC_HAVE_AVX512)
  if (isa == EFFC_ISA_AVX512) {
    gemm_mk_avx512(kc, a, b, t);
    return 0;
  }
#endif
#if defined(EFFC_HAVE_NEON)
  if (isa == EFFC_ISA_NEON) {
    gemm_mk_neon(kc, a, b, t);
    return 0;
  }
#endif
  if (bk->mr == 4 && bk->nr == 8)
    gemm_mk_scalar(kc, a, b, t);
  else /* an isa this build has no kernel for: its layout, in portable C */
    gemm_mk_c(bk->mr, bk->nr, kc, a, b, t);
  return 0;
}

/* Columns [j, n) of row r, in scalar C: the reference of the vector rows below. */
static void gemm_row_c(const float *t, const GemmOut *o, int r, int j, int n) {
  float *c = o->c + r * o->ldc;
  const float *res = o->res ? o->res + r * o->ldc : NULL;
  for (; j < n; j++) {
    float v = t[j];
    if (!o->first)
      v += c[j];
    else if (res)
      v += res[j];
    if (o->last && o->ep) {
      if (o->bias) v += o->bias_rows ? o->bias[r] : o->bias[j];
      v = effc_act1(v, o->ep);
    }
    c[j] = v;
  }
}

#if defined(EFFC_HAVE_AVX2)
EFFC_TARGET_AVX2 static int gemm_row_avx2(const float *t, const GemmOut *o, int r, int n) {
  int j = 0;
  for (; j + 8 <= n; j += 8)
    _mm256_storeu_ps(o->c + r * o->ldc + j, gemm_ep_avx2(_mm256_loadu_ps(t + j), o, r, j));
  return j;
}
#endif

#if defined(EFFC_HAVE_NEON)
static int gemm_row_neon(const float *t, const GemmOut *o, int r, int n) {
  float *c = o->c + r * o->ldc;
  const float *res = o->res ? o->res + r * o->ldc : NULL;
  const EffcEpilogue *e = o->last ? o->ep : NULL;
  const float *bias = e ? o->bias : NULL;
  float32x4_t zero = vdupq_n_f32(0.0f), lo = vdupq_n_f32(e ? e->alpha : 0.0f);
  float32x4_t hi = vdupq_n_f32(e ? e->beta : 0.0f);
  float32x4_t brow = vdupq_n_f32(bias && o->bias_rows ? bias[r] : 0.0f);
  int j = 0;
  for (; j + 4 <= n; j += 4) {
    float32x4_t v = vld1q_f32(t + j);
    if (!o->first)
      v = vaddq_f32(v, vld1q_f32(c + j));
    else if (res)
      v = vaddq_f32(v, vld1q_f32(res + j));
    if (bias) v = vaddq_f32(v, o->bias_rows ? brow : vld1q_f32(bias + j));
    /* selects, not vmaxq/vminq, so that NaN and -0 behave as the scalar comparisons */
    if (e && e->act == EFFC_ACT_RELU) v = vbslq_f32(vcltq_f32(v, zero), zero, v);
    if (e && e->act == EFFC_ACT_CLIP) {
      v = vbslq_f32(vcltq_f32(v, lo), lo, v);
      v = vbslq_f32(vcgtq_f32(v, hi), hi, v);
    }
    if (e && e->act == EFFC_ACT_LEAKY_RELU) v = vbslq_f32(vcltq_f32(v, zero), vmulq_f32(lo, v), v);
    vst1q_f32(c + j, v);
  }
  return j;
}
#endif

/* Write rows x cols of the tile t (row stride nr) through the epilogue. */
static void gemm_store(int isa, const float *t, int nr, int rows, int cols, const GemmOut *o) {
  int vec = !o->last || !o->ep || gemm_simple_act(o->ep);
  for (int r = 0; r < rows; r++) {
    const float *tr = t + r * nr;
    int j = 0;
    if (vec) {
#if defined(EFFC_HAVE_AVX2)
      if (isa == EFFC_ISA_AVX2 || isa == EFFC_ISA_AVX512) j = gemm_row_avx2(tr, o, r, cols);
#endif
#if defined(EFFC_HAVE_NEON)
      if (isa == EFFC_ISA_NEON) j = gemm_row_neon(tr, o, r, cols);
#endif
    }
    (void)isa;
    gemm_row_c(tr, o, r, j, cols);
  }
}

/* ------------------------------------------------------------------ packing */

#if defined(EFFC_HAVE_AVX2)
/* Six rows of alpha*A into one 6-row micro-panel, 8 columns at a time by an 8x8 transpose.
 * Each k's 8-float store spills 2 floats past its 6, which the next store (or the next
 * panel, or the scratch slack after the A block) takes. */
EFFC_TARGET_AVX2 static int64_t gemm_pack_a6_avx2(const float *const src[6], int64_t kc,
                                                  float alpha, float *d) {
  __m256 al = _mm256_set1_ps(alpha), z = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    __m256 r0 = _mm256_mul_ps(al, _mm256_loadu_ps(src[0] + k));
    __m256 r1 = _mm256_mul_ps(al, _mm256_loadu_ps(src[1] + k));
    __m256 r2 = _mm256_mul_ps(al, _mm256_loadu_ps(src[2] + k));
    __m256 r3 = _mm256_mul_ps(al, _mm256_loadu_ps(src[3] + k));
    __m256 r4 = _mm256_mul_ps(al, _mm256_loadu_ps(src[4] + k));
    __m256 r5 = _mm256_mul_ps(al, _mm256_loadu_ps(src[5] + k));
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xee);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xee);
    __m256 s4 = _mm256_shuffle_ps(t4, z, 0x44), s5 = _mm256_shuffle_ps(t4, z, 0xee);
    __m256 s6 = _mm256_shuffle_ps(t5, z, 0x44), s7 = _mm256_shuffle_ps(t5, z, 0xee);
    float *o = d + k * 6;
    _mm256_storeu_ps(o, _mm256_permute2f128_ps(s0, s4, 0x20));
    _mm256_storeu_ps(o + 6, _mm256_permute2f128_ps(s1, s5, 0x20));
    _mm256_storeu_ps(o + 12, _mm256_permute2f128_ps(s2, s6, 0x20));
    _mm256_storeu_ps(o + 18, _mm256_permute2f128_ps(s3, s7, 0x20));
    _mm256_storeu_ps(o + 24, _mm256_permute2f128_ps(s0, s4, 0x31));
    _mm256_storeu_ps(o + 30, _mm256_permute2f128_ps(s1, s5, 0x31));
    _mm256_storeu_ps(o + 36, _mm256_permute2f128_ps(s2, s6, 0x31));
    _mm256_storeu_ps(o + 42, _mm256_permute2f128_ps(s3, s7, 0x31));
  }
  return k;
}
#endif

/* Rows [i0, i0+mc) x columns [k0, k0+kc) of alpha*A into mr-row micro-panels:
 * Ap[(s/mr)*kc*mr + k*mr + r] = alpha * A(i0+s+r, k0+k), zero past the last row. */
static void gemm_pack_a(int isa, const float *A, int64_t lda, int ta, float alpha, int64_t i0,
                        int64_t mc, int64_t k0, int64_t kc, int mr, float *Ap) {
  (void)isa;
  for (int64_t s = 0; s < mc; s += mr) {
    int rows = (int)gemm_min(mr, mc - s);
    float *d = Ap + s * kc;
    if (!ta && rows == mr) { /* k outer: mr read streams, one contiguous write stream */
      const float *src[GEMM_MR_MAX];
      for (int r = 0; r < mr; r++) src[r] = A + (i0 + s + r) * lda + k0;
      int64_t k = 0;
#if defined(EFFC_HAVE_AVX2)
      if (isa == EFFC_ISA_AVX2 && mr == 6) k = gemm_pack_a6_avx2(src, kc, alpha, d);
#endif
      for (d += k * mr; k < kc; k++, d += mr)
        for (int r = 0; r < mr; r++) d[r] = alpha * src[r][k];
      continue;
    }
    if (!ta) {
      for (int r = 0; r < rows; r++) {
        const float *src = A + (i0 + s + r) * lda + k0;
        for (int64_t k = 0; k < kc; k++) d[k * mr + r] = alpha * src[k];
      }
    } else {
      for (int64_t k = 0; k < kc; k++) {
        const float *src = A + (k0 + k) * lda + i0 + s;
        for (int r = 0; r < rows; r++) d[k * mr + r] = alpha * src[r];
      }
    }
    for (int r = rows; r < mr; r++)
      for (int64_t k = 0; k < kc; k++) d[k * mr + r] = 0.0f;
  }
}

/* Rows [k0, k0+kc) x columns [j0, j0+nc) of B into nr-column micro-panels:
 * Bp[(s/nr)*kc*nr + k*nr + c] = B(k0+k, j0+s+c), zero past the last column. */
static void gemm_pack_b(const float *B, int64_t ldb, int tb, int64_t k0, int64_t kc, int64_t j0,
                        int64_t nc, int nr, float *Bp) {
  for (int64_t s = 0; s < nc; s += nr) {
    int cols = (int)gemm_min(nr, nc - s);
    float *d = Bp + s * kc;
    const float *src = B + k0 * ldb + j0 + s;
    if (!tb && cols == 16 && nr == 16) { /* the AVX2 layout: a copy of constant size */
      for (int64_t k = 0; k < kc; k++) memcpy(d + k * 16, src + k * ldb, 16 * sizeof(float));
    } else if (!tb) {
      for (int64_t k = 0; k < kc; k++) {
        for (int c = 0; c < cols; c++) d[k * nr + c] = src[k * ldb + c];
        for (int c = cols; c < nr; c++) d[k * nr + c] = 0.0f;
      }
    } else {
      for (int c = 0; c < cols; c++) {
        const float *src = B + (j0 + s + c) * ldb + k0;
        for (int64_t k = 0; k < kc; k++) d[k * nr + c] = src[k];
      }
      for (int64_t k = 0; k < kc; k++)
        for (int c = cols; c < nr; c++) d[k * nr + c] = 0.0f;
    }
  }
}

/* A pre-packed B is the K blocks one after the other, each the whole width N (padded to nr)
 * packed as above: block k0 starts at k0 * up(N, nr). */
EFFC_KERN size_t effc_sgemm_pack_b_size(int isa, int64_t K, int64_t N) {
  GemmBlk bk = gemm_blk(isa);
  return (size_t)(K * gemm_up(N, bk.nr)) * sizeof(float);
}

EFFC_KERN void effc_sgemm_pack_b(int isa, int64_t K, int64_t N, const float *B, int64_t ldb,
                                 int trans_b, float *packed) {
  GemmBlk bk = gemm_blk(isa);
  int64_t np = gemm_up(N, bk.nr);
  for (int64_t k0 = 0; k0 < K; k0 += bk.kc)
    gemm_pack_b(B, ldb, trans_b, k0, gemm_min(bk.kc, K - k0), 0, N, bk.nr, packed + k0 * np);
}

/* ------------------------------------------------------------------ driver */

static size_t gemm_thread_bytes(const GemmBlk *bk, int64_t M, int64_t N, int64_t K,
                                int packed_b) {
  int64_t mc = gemm_min(bk->mc, gemm_up(M, bk->mr)), kc = gemm_min(bk->kc, K);
  int64_t nc = gemm_min(bk->nc, gemm_up(N, bk->nr));
  size_t a = (size_t)gemm_up((mc * kc + GEMM_A_SLACK) * (int64_t)sizeof(float), 64);
  size_t b = packed_b ? 0 : (size_t)gemm_up(nc * kc * (int64_t)sizeof(float), 64);
  return 64 + a + b;
}

EFFC_KERN size_t effc_sgemm_scratch(int isa, int64_t M, int64_t N, int64_t K, int packed_b,
                                    int nt) {
  GemmBlk bk = gemm_blk(isa);
  if (M <= 0 || N <= 0 || K < 0) return 0;
  return (size_t)(nt < 1 ? 1 : nt) * gemm_thread_bytes(&bk, M, N, K, packed_b);
}

/* This thread's rows [m0,m1) and columns [n0,n1): whole strips of one dimension. With B
 * packed already, splitting rows packs nothing twice; otherwise columns, unless they are
 * too few, since every thread packs the A rows it needs. */
static void gemm_part(const GemmBlk *bk, int64_t M, int64_t N, int packed_b, int tid, int nt,
                      int64_t r[4]) {
  int64_t mu = (M + bk->mr - 1) / bk->mr, nu = (N + bk->nr - 1) / bk->nr;
  int split_m = packed_b ? mu >= nt || mu >= nu : nu < 2 * nt && mu > nu;
  int64_t u = split_m ? mu : nu, step = split_m ? bk->mr : bk->nr, lim = split_m ? M : N;
  int64_t a = gemm_min(u * tid / nt * step, lim), b = gemm_min(u * (tid + 1) / nt * step, lim);
  r[0] = split_m ? a : 0, r[1] = split_m ? b : M;
  r[2] = split_m ? 0 : a, r[3] = split_m ? N : b;
}

static void gemm_run(int isa, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                     int64_t lda, int ta, const float *B, int64_t ldb, int tb, const float *Bp,
                     float *C, int64_t ldc, const EffcEpilogue *ep, void *scratch, int tid,
                     int nt) {
  if (M <= 0 || N <= 0 || nt < 1 || tid < 0 || tid >= nt) return;
  GemmBlk bk = gemm_blk(isa);
  int64_t p[4];
  gemm_part(&bk, M, N, Bp != NULL, tid, nt, p);
  int64_t m0 = p[0], m1 = p[1], n0 = p[2], n1 = p[3];
  const float *bias = ep ? ep->bias : NULL, *res = ep ? ep->residual : NULL;
  int brow = ep && ep->bias_rows;
  if (K <= 0) {
    for (int64_t i = m0; i < m1; i++)
      for (int64_t j = n0; j < n1; j++) {
        float v = res ? res[i * ldc + j] : 0.0f;
        if (bias) v += brow ? bias[i] : bias[j];
        C[i * ldc + j] = ep ? effc_act1(v, ep) : v;
      }
    return;
  }
  if (m0 >= m1 || n0 >= n1) return;
  uintptr_t base = (uintptr_t)scratch + (uintptr_t)tid * gemm_thread_bytes(&bk, M, N, K, Bp != NULL);
  float *Ap = (float *)((base + 63) / 64 * 64);
  int64_t mcap = gemm_min(bk.mc, gemm_up(M, bk.mr)), kcap = gemm_min(bk.kc, K);
  float *Bw = Ap + gemm_up(mcap * kcap + GEMM_A_SLACK, 16);
  int64_t np = gemm_up(N, bk.nr);
  int vec_ep = !ep || gemm_simple_act(ep);
  float t[GEMM_TILE_MAX] __attribute__((aligned(64)));
  for (int64_t jc = n0; jc < n1; jc += bk.nc) {
    int64_t nc = gemm_min(bk.nc, n1 - jc);
    for (int64_t pc = 0; pc < K; pc += bk.kc) {
      int64_t kc = gemm_min(bk.kc, K - pc);
      const float *bpan = Bp ? Bp + pc * np + jc * kc : Bw;
      if (!Bp) gemm_pack_b(B, ldb, tb, pc, kc, jc, nc, bk.nr, Bw);
      for (int64_t ic = m0; ic < m1; ic += bk.mc) {
        int64_t mc = gemm_min(bk.mc, m1 - ic);
        gemm_pack_a(isa, A, lda, ta, alpha, ic, mc, pc, kc, bk.mr, Ap);
        for (int64_t jr = 0; jr < nc; jr += bk.nr) {
          int cols = (int)gemm_min(bk.nr, nc - jr);
          for (int64_t ir = 0; ir < mc; ir += bk.mr) {
            int rows = (int)gemm_min(bk.mr, mc - ir);
            int64_t i = ic + ir, j = jc + jr;
            GemmOut o = {C + i * ldc + j, ldc, res ? res + i * ldc + j : NULL,
                         bias ? bias + (brow ? i : j) : NULL, brow, pc == 0, pc + kc >= K, ep};
            int full = rows == bk.mr && cols == bk.nr && (!o.last || !ep || vec_ep);
            if (!gemm_mk(isa, &bk, kc, Ap + ir * kc, bpan + jr * kc, t, &o, full))
              gemm_store(isa, t, bk.nr, rows, cols, &o);
          }
        }
      }
    }
  }
}

EFFC_KERN void effc_sgemm(int isa, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                          int64_t lda, int trans_a, const float *B, int64_t ldb, int trans_b,
                          float *C, int64_t ldc, const EffcEpilogue *ep, void *scratch, int tid,
                          int nt) {
  gemm_run(isa, M, N, K, alpha, A, lda, trans_a, B, ldb, trans_b, NULL, C, ldc, ep, scratch,
           tid, nt);
}

EFFC_KERN void effc_sgemm_packed(int isa, int64_t M, int64_t N, int64_t K, float alpha,
                                 const float *A, int64_t lda, int trans_a, const float *Bp,
                                 float *C, int64_t ldc, const EffcEpilogue *ep, void *scratch,
                                 int tid, int nt) {
  gemm_run(isa, M, N, K, alpha, A, lda, trans_a, NULL, 0, 0, Bp, C, ldc, ep, scratch, tid, nt);
}
