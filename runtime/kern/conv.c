/* conv.c - 2-D float32 convolution (NCHW) by the best method per shape: 1x1 stride 1 as a
 * GEMM straight on the input, KxK through im2col tiles, depthwise direct, grouped as one
 * GEMM per group; ConvTranspose as GEMM + col2im. 1-D convolutions are 2-D with H = 1.
 *
 * The GEMM is y[M, P] = w[M, K] * b[K, P] with the weights pre-packed (effc_conv2d_pack) in
 * panels of EFFC_CONV_MR output channels, k-major, and b read in place (1x1) or from an im2col
 * tile of EFFC_CONV_NT columns x EFFC_CONV_KC rows built in scratch. Each output tile gets its
 * epilogue (bias, residual, activation) right after its last k block, while it is in cache.
 * Every output's sum runs over k in the same order whatever the tile and thread split, so
 * results do not depend on nt. */
#include "kern.h"

#define EFFC_CONV_MR 4   /* output channels per packed weight panel */
#define EFFC_CONV_NT 96  /* output positions per tile */
#define EFFC_CONV_KC 256 /* reduction rows per block */

static int64_t cv_panels(int64_t m) { return (m + EFFC_CONV_MR - 1) / EFFC_CONV_MR; }

/* The method for a shape. */
EFFC_KERN int effc_conv2d_algo(const EffcConv2d *p) {
  if (p->G == p->C && p->M == p->C && p->G > 1) return EFFC_CONV_DEPTHWISE;
  if (p->KH == 1 && p->KW == 1 && p->SH == 1 && p->SW == 1 && p->PT == 0 && p->PL == 0 &&
      p->OH == p->H && p->OW == p->W)
    return EFFC_CONV_GEMM;
  return EFFC_CONV_IM2COL;
}

/* Packed weight size in floats. */
EFFC_KERN size_t effc_conv2d_packed_size(const EffcConv2d *p) {
  if (effc_conv2d_algo(p) == EFFC_CONV_DEPTHWISE) return (size_t)(p->C * p->KH * p->KW);
  int64_t K = p->C / p->G * p->KH * p->KW;
  return (size_t)(p->G * cv_panels(p->M / p->G) * EFFC_CONV_MR * K);
}

/* Pack w[M, C/G, KH, KW] into panels: per group, per panel, per k, MR channels (zero rows
 * past the group's end). */
EFFC_KERN void effc_conv2d_pack(const EffcConv2d *p, const float *w, float *packed) {
  if (effc_conv2d_algo(p) == EFFC_CONV_DEPTHWISE) {
    memcpy(packed, w, effc_conv2d_packed_size(p) * sizeof *w);
    return;
  }
  int64_t Mg = p->M / p->G, K = p->C / p->G * p->KH * p->KW;
  for (int64_t g = 0; g < p->G; g++)
    for (int64_t pn = 0; pn < cv_panels(Mg); pn++)
      for (int64_t k = 0; k < K; k++)
        for (int64_t r = 0; r < EFFC_CONV_MR; r++) {
          int64_t m = pn * EFFC_CONV_MR + r;
          *packed++ = m < Mg ? w[(g * Mg + m) * K + k] : 0.0f;
        }
}

/* ------------------------------------------------------------------ micro-kernels */

/* c[MR x nr] (=|+=) a[kc x MR] * b[kc x nr] (row stride ldb); rows >= mr not stored. The
 * portable kernel, also the tail of the SIMD ones: the same sum order per output. */
static void cv_mk_any(int64_t kc, const float *a, const float *b, int64_t ldb, float *c,
                      int64_t ldc, int mr, int nr, int first) {
  float acc[EFFC_CONV_MR][32];
  for (int i = 0; i < EFFC_CONV_MR; i++)
    for (int j = 0; j < nr; j++) acc[i][j] = first || i >= mr ? 0.0f : c[i * ldc + j];
  for (int64_t k = 0; k < kc; k++, a += EFFC_CONV_MR, b += ldb)
    for (int i = 0; i < EFFC_CONV_MR; i++)
      for (int j = 0; j < nr; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nr; j++) c[i * ldc + j] = acc[i][j];
}

#if defined(EFFC_HAVE_AVX2)
/* 4 x 24: 12 accumulators, 3 loads of b and 4 broadcasts of a per k. */
EFFC_TARGET_AVX2 static void cv_mk_avx2(int64_t kc, const float *a, const float *b, int64_t ldb,
                                        float *c, int64_t ldc, int mr, int first) {
  __m256 c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32;
  float tmp[EFFC_CONV_MR * 24];
  float *cc = c;
  int64_t lc = ldc;
  if (mr < EFFC_CONV_MR) cc = tmp, lc = 24;
  if (first) {
    c00 = c01 = c02 = c10 = c11 = c12 = c20 = c21 = c22 = c30 = c31 = c32 = _mm256_setzero_ps();
  } else {
    if (mr < EFFC_CONV_MR)
      for (int i = 0; i < EFFC_CONV_MR; i++)
        for (int j = 0; j < 24; j++) tmp[i * 24 + j] = i < mr ? c[i * ldc + j] : 0.0f;
    c00 = _mm256_loadu_ps(cc), c01 = _mm256_loadu_ps(cc + 8), c02 = _mm256_loadu_ps(cc + 16);
    c10 = _mm256_loadu_ps(cc + lc), c11 = _mm256_loadu_ps(cc + lc + 8);
    c12 = _mm256_loadu_ps(cc + lc + 16);
    c20 = _mm256_loadu_ps(cc + 2 * lc), c21 = _mm256_loadu_ps(cc + 2 * lc + 8);
    c22 = _mm256_loadu_ps(cc + 2 * lc + 16);
    c30 = _mm256_loadu_ps(cc + 3 * lc), c31 = _mm256_loadu_ps(cc + 3 * lc + 8);
    c32 = _mm256_loadu_ps(cc + 3 * lc + 16);
  }
  for (int64_t k = 0; k < kc; k++, a += EFFC_CONV_MR, b += ldb) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), b2 = _mm256_loadu_ps(b + 16);
    __m256 av = _mm256_broadcast_ss(a);
    c00 = _mm256_fmadd_ps(av, b0, c00), c01 = _mm256_fmadd_ps(av, b1, c01);
    c02 = _mm256_fmadd_ps(av, b2, c02);
    av = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(av, b0, c10), c11 = _mm256_fmadd_ps(av, b1, c11);
    c12 = _mm256_fmadd_ps(av, b2, c12);
    av = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(av, b0, c20), c21 = _mm256_fmadd_ps(av, b1, c21);
    c22 = _mm256_fmadd_ps(av, b2, c22);
    av = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(av, b0, c30), c31 = _mm256_fmadd_ps(av, b1, c31);
    c32 = _mm256_fmadd_ps(av, b2, c32);
  }
  _mm256_storeu_ps(cc, c00), _mm256_storeu_ps(cc + 8, c01), _mm256_storeu_ps(cc + 16, c02);
  _mm256_storeu_ps(cc + lc, c10), _mm256_storeu_ps(cc + lc + 8, c11);
  _mm256_storeu_ps(cc + lc + 16, c12);
  _mm256_storeu_ps(cc + 2 * lc, c20), _mm256_storeu_ps(cc + 2 * lc + 8, c21);
  _mm256_storeu_ps(cc + 2 * lc + 16, c22);
  _mm256_storeu_ps(cc + 3 * lc, c30), _mm256_storeu_ps(cc + 3 * lc + 8, c31);
  _mm256_storeu_ps(cc + 3 * lc + 16, c32);
  if (mr < EFFC_CONV_MR)
    for (int i = 0; i < mr; i++) memcpy(c + i * ldc, tmp + i * 24, 24 * sizeof *c);
}
#endif

#if defined(EFFC_HAVE_NEON)
/* 4 x 16: 16 accumulators. */
static void cv_mk_neon(int64_t kc, const float *a, const float *b, int64_t ldb, float *c,
                       int64_t ldc, int mr, int first) {
  float32x4_t acc[EFFC_CONV_MR][4];
  for (int i = 0; i < EFFC_CONV_MR; i++)
    for (int j = 0; j < 4; j++)
      acc[i][j] = first || i >= mr ? vdupq_n_f32(0.0f) : vld1q_f32(c + i * ldc + 4 * j);
  for (int64_t k = 0; k < kc; k++, a += EFFC_CONV_MR, b += ldb) {
    float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8),
                b3 = vld1q_f32(b + 12), av = vld1q_f32(a);
    acc[0][0] = vfmaq_laneq_f32(acc[0][0], b0, av, 0);
    acc[0][1] = vfmaq_laneq_f32(acc[0][1], b1, av, 0);
    acc[0][2] = vfmaq_laneq_f32(acc[0][2], b2, av, 0);
    acc[0][3] = vfmaq_laneq_f32(acc[0][3], b3, av, 0);
    acc[1][0] = vfmaq_laneq_f32(acc[1][0], b0, av, 1);
    acc[1][1] = vfmaq_laneq_f32(acc[1][1], b1, av, 1);
    acc[1][2] = vfmaq_laneq_f32(acc[1][2], b2, av, 1);
    acc[1][3] = vfmaq_laneq_f32(acc[1][3], b3, av, 1);
    acc[2][0] = vfmaq_laneq_f32(acc[2][0], b0, av, 2);
    acc[2][1] = vfmaq_laneq_f32(acc[2][1], b1, av, 2);
    acc[2][2] = vfmaq_laneq_f32(acc[2][2], b2, av, 2);
    acc[2][3] = vfmaq_laneq_f32(acc[2][3], b3, av, 2);
    acc[3][0] = vfmaq_laneq_f32(acc[3][0], b0, av, 3);
    acc[3][1] = vfmaq_laneq_f32(acc[3][1], b1, av, 3);
    acc[3][2] = vfmaq_laneq_f32(acc[3][2], b2, av, 3);
    acc[3][3] = vfmaq_laneq_f32(acc[3][3], b3, av, 3);
  }
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < 4; j++) vst1q_f32(c + i * ldc + 4 * j, acc[i][j]);
}
#endif

/* One weight panel (mr live rows) times b[kc x np] into c, column tiles of the ISA's width. */
static void cv_panel(int isa, int64_t kc, const float *a, const float *b, int64_t ldb,
                     int64_t np, float *c, int64_t ldc, int mr, int first) {
  int64_t j = 0;
#if defined(EFFC_HAVE_AVX2)
  if (isa == EFFC_ISA_AVX2 || isa == EFFC_ISA_AVX512)
    for (; j + 24 <= np; j += 24) cv_mk_avx2(kc, a, b + j, ldb, c + j, ldc, mr, first);
#endif
#if defined(EFFC_HAVE_NEON)
  if (isa == EFFC_ISA_NEON)
    for (; j + 16 <= np; j += 16) cv_mk_neon(kc, a, b + j, ldb, c + j, ldc, mr, first);
#endif
  (void)isa;
  for (; j < np; j += 16) {
    int nr = np - j < 16 ? (int)(np - j) : 16;
    cv_mk_any(kc, a, b + j, ldb, c + j, ldc, mr, nr, first);
  }
}

/* The epilogue of rows [m0, m0+mr) x columns [0, np) of one image's output (channel m0 at c,
 * row stride ldc; the residual has the same layout). */
static void cv_epilogue(const EffcEpilogue *e, int64_t m0, int mr, float *c, int64_t ldc,
                        const float *res, int64_t np) {
  for (int i = 0; i < mr; i++)
    effc_act_apply(c + i * ldc, res ? res + i * ldc : NULL, (size_t)np,
                   e->bias ? e->bias[m0 + i] : 0.0f, e);
}

/* ------------------------------------------------------------------ im2col tiles */

/* col[k - k0][j] for reduction rows [k0, k0+kc) and output positions [p0, p0+np) of one
 * group's input x (Cg channels): the input pixel the tap k reads at position p, or 0. */
static void cv_im2col(const EffcConv2d *p, const float *x, int64_t k0, int64_t kc, int64_t p0,
                      int64_t np, float *col) {
  int64_t kk = p->KH * p->KW;
  for (int64_t k = k0; k < k0 + kc; k++, col += EFFC_CONV_NT) {
    int64_t ch = k / kk, kh = k % kk / p->KW, kw = k % p->KW;
    const float *xc = x + ch * p->H * p->W;
    int64_t oh = p0 / p->OW, ow = p0 % p->OW, j = 0;
    int64_t base = kw * p->DW - p->PL; /* column read at ow: ow*SW + base */
    while (j < np) {
      int64_t n = p->OW - ow < np - j ? p->OW - ow : np - j; /* the rest of this row */
      int64_t ih = oh * p->SH - p->PT + kh * p->DH;
      if (ih < 0 || ih >= p->H) {
        memset(col + j, 0, (size_t)n * sizeof *col);
      } else {
        const float *xr = xc + ih * p->W;
        for (int64_t o = 0; o < n; o++) {
          int64_t iw = (ow + o) * p->SW + base;
          col[j + o] = iw >= 0 && iw < p->W ? xr[iw] : 0.0f;
        }
      }
      j += n, ow = 0, oh++;
    }
  }
}

/* ------------------------------------------------------------------ GEMM-based Conv */

/* Scratch for the im2col tiles, per thread. */
static size_t cv_tile_bytes(void) { return (size_t)EFFC_CONV_KC * EFFC_CONV_NT * sizeof(float); }

/* Split n items into nt shares: [*lo, *hi) for tid. */
static void cv_share(int64_t n, int tid, int nt, int64_t *lo, int64_t *hi) {
  *lo = n * tid / nt, *hi = n * (tid + 1) / nt;
}

static void cv_conv_gemm(const EffcConv2d *p, int algo, int isa, const float *x,
                         const float *packed, float *y, const EffcEpilogue *e, float *tile,
                         int tid, int nt) {
  int64_t Cg = p->C / p->G, Mg = p->M / p->G, K = Cg * p->KH * p->KW, P = p->OH * p->OW;
  int64_t npt = (P + EFFC_CONV_NT - 1) / EFFC_CONV_NT, npan = cv_panels(Mg);
  /* Items: (image, group, position tile, panel block); more panel blocks when threads
   * would otherwise idle (an image's tile is then im2col'ed once per block). */
  int64_t nmb = 1;
  while (nt > 1 && p->N * p->G * npt * nmb < 4 * nt && nmb * 2 <= npan) nmb *= 2;
  int64_t lo, hi;
  cv_share(p->N * p->G * npt * nmb, tid, nt, &lo, &hi);
  for (int64_t it = lo; it < hi; it++) {
    int64_t mb = it % nmb, pt = it / nmb % npt, g = it / nmb / npt % p->G,
            n = it / nmb / npt / p->G;
    int64_t pa = npan * mb / nmb, pb = npan * (mb + 1) / nmb;
    int64_t p0 = pt * EFFC_CONV_NT, np = P - p0 < EFFC_CONV_NT ? P - p0 : EFFC_CONV_NT;
    const float *xg = x + (n * p->C + g * Cg) * p->H * p->W;
    float *yg = y + (n * p->M + g * Mg) * P + p0;
    const float *rg = e->residual ? e->residual + (n * p->M + g * Mg) * P + p0 : NULL;
    const float *ag = packed + g * npan * EFFC_CONV_MR * K;
    for (int64_t k0 = 0; k0 < K; k0 += EFFC_CONV_KC) {
      int64_t kc = K - k0 < EFFC_CONV_KC ? K - k0 : EFFC_CONV_KC, ldb = EFFC_CONV_NT;
      const float *b = tile;
      if (algo == EFFC_CONV_GEMM)
        b = xg + k0 * P + p0, ldb = P;
      else
        cv_im2col(p, xg, k0, kc, p0, np, tile);
      int last = k0 + kc == K;
      for (int64_t pn = pa; pn < pb; pn++) {
        int64_t m0 = pn * EFFC_CONV_MR;
        int mr = Mg - m0 < EFFC_CONV_MR ? (int)(Mg - m0) : EFFC_CONV_MR;
        cv_panel(isa, kc, ag + (pn * K + k0) * EFFC_CONV_MR, b, ldb, np, yg + m0 * P, P, mr,
                 k0 == 0);
        if (last)
          cv_epilogue(e, g * Mg + m0, mr, yg + m0 * P, P, rg ? rg + m0 * P : NULL, np);
      }
    }
  }
}

/* ------------------------------------------------------------------ depthwise */

/* The output columns [lo, hi) whose taps all read inside a row of width w. */
static void cv_interior(int64_t ow, int64_t s, int64_t pl, int64_t ext, int64_t w, int64_t *lo,
                        int64_t *hi) {
  int64_t l = (pl + s - 1) / s, h = w - ext + pl < 0 ? 0 : (w - ext + pl) / s + 1;
  if (h > ow) h = ow;
  if (l > h) l = h;
  *lo = l, *hi = h;
}

/* One output pixel of a depthwise plane, taps checked against the image. */
static float cv_dw_pixel(const EffcConv2d *p, const float *xp, const float *wc, int64_t oh,
                         int64_t ow) {
  float acc = 0.0f;
  for (int64_t kh = 0; kh < p->KH; kh++) {
    int64_t ih = oh * p->SH - p->PT + kh * p->DH;
    if (ih < 0 || ih >= p->H) continue;
    for (int64_t kw = 0; kw < p->KW; kw++) {
      int64_t iw = ow * p->SW - p->PL + kw * p->DW;
      if (iw >= 0 && iw < p->W) acc = fmaf(wc[kh * p->KW + kw], xp[ih * p->W + iw], acc);
    }
  }
  return acc;
}

#if defined(EFFC_HAVE_AVX2)
/* Interior columns [lo, hi) of one output row, 8 at a time for stride 1 or 2; returns the
 * first column not done. Sum order as cv_dw_pixel (taps kh, kw ascending). */
EFFC_TARGET_AVX2 static int64_t cv_dw_row_avx2(const EffcConv2d *p, const float *xp,
                                               const float *wc, int64_t oh, int64_t lo,
                                               int64_t hi, float *yr) {
  int64_t ow = lo;
  if (p->SW > 2) return lo;
  for (; ow + 8 <= hi; ow += 8) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t kh = 0; kh < p->KH; kh++) {
      int64_t ih = oh * p->SH - p->PT + kh * p->DH;
      if (ih < 0 || ih >= p->H) continue;
      const float *xr = xp + ih * p->W + ow * p->SW - p->PL;
      for (int64_t kw = 0; kw < p->KW; kw++) {
        const float *q = xr + kw * p->DW;
        __m256 v;
        if (p->SW == 1) {
          v = _mm256_loadu_ps(q);
        } else { /* even lanes of 16: q[0], q[2], ..., q[14] */
          __m256 a = _mm256_loadu_ps(q), b = _mm256_loadu_ps(q + 8);
          __m256 s = _mm256_shuffle_ps(a, b, 0x88); /* a0 a2 b0 b2 | a4 a6 b4 b6 */
          v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), 0xd8));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(wc[kh * p->KW + kw]), v, acc);
      }
    }
    _mm256_storeu_ps(yr + ow, acc);
  }
  return ow;
}
#endif

#if defined(EFFC_HAVE_NEON)
static int64_t cv_dw_row_neon(const EffcConv2d *p, const float *xp, const float *wc,
                              int64_t oh, int64_t lo, int64_t hi, float *yr) {
  int64_t ow = lo;
  if (p->SW > 2) return lo;
  for (; ow + 4 <= hi; ow += 4) {
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (int64_t kh = 0; kh < p->KH; kh++) {
      int64_t ih = oh * p->SH - p->PT + kh * p->DH;
      if (ih < 0 || ih >= p->H) continue;
      const float *xr = xp + ih * p->W + ow * p->SW - p->PL;
      for (int64_t kw = 0; kw < p->KW; kw++) {
        const float *q = xr + kw * p->DW;
        float32x4_t v = p->SW == 1 ? vld1q_f32(q) : vld2q_f32(q).val[0];
        acc = vfmaq_n_f32(acc, v, wc[kh * p->KW + kw]);
      }
    }
    vst1q_f32(yr + ow, acc);
  }
  return ow;
}
#endif

static void cv_conv_dw(const EffcConv2d *p, int isa, const float *x, const float *w, float *y,
                       const EffcEpilogue *e, int tid, int nt) {
  int64_t P = p->OH * p->OW, lo, hi, ilo, ihi;
  /* Interior columns; with stride 2 the SIMD loads read one pixel past the last tap, so
   * the interior ends one column earlier there. */
  int64_t ext = (p->KW - 1) * p->DW + 1 + (p->SW == 2 ? 1 : 0);
  cv_interior(p->OW, p->SW, p->PL, ext, p->W, &ilo, &ihi);
  cv_share(p->N * p->C, tid, nt, &lo, &hi);
  for (int64_t pl = lo; pl < hi; pl++) {
    int64_t ch = pl % p->C;
    const float *xp = x + pl * p->H * p->W, *wc = w + ch * p->KH * p->KW;
    float *yp = y + pl * P;
    for (int64_t oh = 0; oh < p->OH; oh++) {
      float *yr = yp + oh * p->OW;
      int64_t ow = 0;
      for (; ow < ilo; ow++) yr[ow] = cv_dw_pixel(p, xp, wc, oh, ow);
#if defined(EFFC_HAVE_AVX2)
      if (isa == EFFC_ISA_AVX2 || isa == EFFC_ISA_AVX512)
        ow = cv_dw_row_avx2(p, xp, wc, oh, ow, ihi, yr);
#endif
#if defined(EFFC_HAVE_NEON)
      if (isa == EFFC_ISA_NEON) ow = cv_dw_row_neon(p, xp, wc, oh, ow, ihi, yr);
#endif
      for (; ow < p->OW; ow++) yr[ow] = cv_dw_pixel(p, xp, wc, oh, ow);
    }
    (void)isa;
    cv_epilogue(e, ch, 1, yp, P, e->residual ? e->residual + pl * P : NULL, P);
  }
}

/* ------------------------------------------------------------------ entry points */

/* Scratch bytes for nt threads. */
EFFC_KERN size_t effc_conv2d_scratch(const EffcConv2d *p, int nt) {
  return effc_conv2d_algo(p) == EFFC_CONV_IM2COL ? (size_t)nt * cv_tile_bytes() : 0;
}

/* y[N, M, OH, OW] = epilogue(conv(x, w)); packed from effc_conv2d_pack. */
EFFC_KERN void effc_conv2d(const EffcConv2d *p, int isa, const float *x, const float *packed,
                           float *y, const EffcEpilogue *e, void *scratch, int tid, int nt) {
  int algo = effc_conv2d_algo(p);
  if (algo == EFFC_CONV_DEPTHWISE)
    cv_conv_dw(p, isa, x, packed, y, e, tid, nt);
  else
    cv_conv_gemm(p, algo, isa, x, packed, y, e,
                 scratch ? (float *)((char *)scratch + (size_t)tid * cv_tile_bytes()) : NULL,
                 tid, nt);
}

/* ------------------------------------------------------------------ ConvTranspose */

/* Packed weights: per group and output channel, the KH*KW x Cg matrix of w[C, M/G, KH, KW]
 * transposed, in panels. */
EFFC_KERN size_t effc_convt2d_packed_size(const EffcConv2d *p) {
  return (size_t)(p->M * cv_panels(p->KH * p->KW) * EFFC_CONV_MR * (p->C / p->G));
}

EFFC_KERN void effc_convt2d_pack(const EffcConv2d *p, const float *w, float *packed) {
  int64_t Cg = p->C / p->G, Mg = p->M / p->G, kk = p->KH * p->KW;
  for (int64_t m = 0; m < p->M; m++) {
    int64_t g = m / Mg, ml = m % Mg;
    for (int64_t pn = 0; pn < cv_panels(kk); pn++)
      for (int64_t c = 0; c < Cg; c++)
        for (int64_t r = 0; r < EFFC_CONV_MR; r++) {
          int64_t t = pn * EFFC_CONV_MR + r;
          *packed++ = t < kk ? w[((g * Cg + c) * Mg + ml) * kk + t] : 0.0f;
        }
  }
}

/* Per thread: one column tile of KH*KW rows (panel-padded). */
EFFC_KERN size_t effc_convt2d_scratch(const EffcConv2d *p, int nt) {
  return (size_t)nt * (size_t)(cv_panels(p->KH * p->KW) * EFFC_CONV_MR) * EFFC_CONV_NT *
         sizeof(float);
}

/* y[N, M, OH, OW] = epilogue(convT(x, w)): per output channel, col = w_m^T x (GEMM), then
 * col2im adds col into the channel's image. Threads split over (image, channel). */
EFFC_KERN void effc_convt2d(const EffcConv2d *p, int isa, const float *x, const float *packed,
                            float *y, const EffcEpilogue *e, void *scratch, int tid, int nt) {
  int64_t Cg = p->C / p->G, Mg = p->M / p->G, kk = p->KH * p->KW, npk = cv_panels(kk);
  int64_t P = p->H * p->W, OP = p->OH * p->OW, lo, hi;
  float *col = (float *)((char *)scratch + (size_t)tid * (size_t)(npk * EFFC_CONV_MR) *
                                               EFFC_CONV_NT * sizeof(float));
  cv_share(p->N * p->M, tid, nt, &lo, &hi);
  for (int64_t it = lo; it < hi; it++) {
    int64_t n = it / p->M, m = it % p->M, g = m / Mg;
    const float *xg = x + (n * p->C + g * Cg) * P, *am = packed + m * npk * EFFC_CONV_MR * Cg;
    float *ym = y + it * OP;
    memset(ym, 0, (size_t)OP * sizeof *ym);
    for (int64_t p0 = 0; p0 < P; p0 += EFFC_CONV_NT) {
      int64_t np = P - p0 < EFFC_CONV_NT ? P - p0 : EFFC_CONV_NT;
      for (int64_t pn = 0; pn < npk; pn++) {
        int mr = kk - pn * EFFC_CONV_MR < EFFC_CONV_MR ? (int)(kk - pn * EFFC_CONV_MR)
                                                       : EFFC_CONV_MR;
        for (int64_t k0 = 0; k0 < Cg; k0 += EFFC_CONV_KC) {
          int64_t kc = Cg - k0 < EFFC_CONV_KC ? Cg - k0 : EFFC_CONV_KC;
          cv_panel(isa, kc, am + (pn * Cg + k0) * EFFC_CONV_MR, xg + k0 * P + p0, P, np,
                   col + pn * EFFC_CONV_MR * EFFC_CONV_NT, EFFC_CONV_NT, mr, k0 == 0);
        }
      }
      /* col2im: tap t of input position p0+j adds to output (i*s - pad + kh*d, ...). */
      for (int64_t t = 0; t < kk; t++) {
        int64_t kh = t / p->KW, kw = t % p->KW;
        const float *cr = col + t * EFFC_CONV_NT;
        for (int64_t j = 0; j < np; j++) {
          int64_t i = (p0 + j) / p->W, i2 = (p0 + j) % p->W;
          int64_t oh = i * p->SH - p->PT + kh * p->DH, ow = i2 * p->SW - p->PL + kw * p->DW;
          if (oh >= 0 && oh < p->OH && ow >= 0 && ow < p->OW) ym[oh * p->OW + ow] += cr[j];
        }
      }
    }
    cv_epilogue(e, m, 1, ym, OP, e->residual ? e->residual + it * OP : NULL, OP);
  }
}
