/* conv.c - 2-D float32 convolution (NCHW) by the best method per shape: 1x1 stride 1 as one
 * GEMM straight on the input, KxK through im2col tiles + GEMM, 3x3 stride 1 with many
 * channels by Winograd F(2x2, 3x3), depthwise direct (AVX2 / NEON / scalar), grouped as
 * GEMMs per group; ConvTranspose as GEMM + col2im. 1-D convolutions are 2-D with H = 1.
 * Weights are packed once by effc_conv2d_pack (at compile time in emitted code). The GEMM is kern/gemm.c's: y[M, P] = w[M, K] * b[K, P] with the
 * channel bias per row; bias, residual and activation are applied by its epilogue while the
 * tile is in registers (depthwise and ConvTranspose: per output row, right after it).
 * Tiles and GEMM row blocks are fixed (row blocks on multiples of 24, every micro-kernel's
 * height), so every output goes through the same instructions whatever nt is. */
#include "kern.h"

#define EFFC_CONV_MB 24  /* GEMM row blocks are multiples of this */

/* The method for a shape. */
EFFC_KERN int effc_conv2d_algo(const EffcConv2d *p) {
  if (p->G == p->C && p->M == p->C && p->G > 1) return EFFC_CONV_DEPTHWISE;
  if (p->KH == 3 && p->KW == 3 && p->SH == 1 && p->SW == 1 && p->DH == 1 && p->DW == 1 &&
      p->C / p->G >= 128 && p->M / p->G >= 32 && p->OH >= 4 && p->OW >= 4)
    return EFFC_CONV_WINOGRAD;
  if (p->KH == 1 && p->KW == 1 && p->SH == 1 && p->SW == 1 && p->PT == 0 && p->PL == 0 &&
      p->OH == p->H && p->OW == p->W)
    return EFFC_CONV_GEMM;
  return EFFC_CONV_IM2COL;
}

/* Small images (few output positions) run the transposed product y^T[P, M] = col^T w^T with
 * w^T pre-packed per group for the SGEMM's micro-kernel; large ones run y = w col, where
 * packing w as the GEMM goes costs little. */
static int cv_transposed(const EffcConv2d *p) {
  int algo = effc_conv2d_algo(p);
  return (algo == EFFC_CONV_GEMM || algo == EFFC_CONV_IM2COL) && p->OH * p->OW <= 4 * EFFC_CONV_NT;
}

static int64_t cv_k(const EffcConv2d *p) { return p->C / p->G * p->KH * p->KW; }

/* Floats of one group's packed w^T. */
static size_t cv_gpack(const EffcConv2d *p, int isa) {
  return effc_sgemm_pack_b_size(isa, cv_k(p), p->M / p->G) / sizeof(float);
}

/* Winograd (below): floats of one U[xi] packed, and the packing of all. */
static size_t cv_wino_gpack(const EffcConv2d *p, int isa) {
  return effc_sgemm_pack_b_size(isa, p->C / p->G, p->M / p->G) / sizeof(float);
}

/* u (Mg x Cg floats of temporary memory) holds one U[xi] at a time. */
static void cv_wino_pack(const EffcConv2d *p, int isa, const float *w, float *packed, float *u) {
  int64_t Cg = p->C / p->G, Mg = p->M / p->G;
  for (int64_t g = 0; g < p->G; g++)
    for (int xi = 0; xi < 16; xi++) {
      for (int64_t m = 0; m < Mg; m++)
        for (int64_t c = 0; c < Cg; c++) {
          const float *k = w + ((g * Mg + m) * Cg + c) * 9;
          float t[4][3], r[4];
          for (int j = 0; j < 3; j++) { /* G g */
            t[0][j] = k[j];
            t[1][j] = 0.5f * (k[j] + k[3 + j] + k[6 + j]);
            t[2][j] = 0.5f * (k[j] - k[3 + j] + k[6 + j]);
            t[3][j] = k[6 + j];
          }
          const float *ti = t[xi / 4]; /* row xi/4 of (G g) G^T */
          r[0] = ti[0];
          r[1] = 0.5f * (ti[0] + ti[1] + ti[2]);
          r[2] = 0.5f * (ti[0] - ti[1] + ti[2]);
          r[3] = ti[2];
          u[m * Cg + c] = r[xi % 4];
        }
      effc_sgemm_pack_b(isa, Cg, Mg, u, Cg, 1, packed + (size_t)(g * 16 + xi) * cv_wino_gpack(p, isa));
    }
}

/* Packed weight size in floats for isa. */
EFFC_KERN size_t effc_conv2d_packed_size(const EffcConv2d *p, int isa) {
  if (effc_conv2d_algo(p) == EFFC_CONV_WINOGRAD) return (size_t)(p->G * 16) * cv_wino_gpack(p, isa);
  if (cv_transposed(p)) return (size_t)p->G * cv_gpack(p, isa);
  return (size_t)(p->M * cv_k(p));
}

/* Bytes of temporary memory effc_conv2d_pack needs. */
EFFC_KERN size_t effc_conv2d_pack_tmp(const EffcConv2d *p) {
  return effc_conv2d_algo(p) == EFFC_CONV_WINOGRAD ? (size_t)(p->M / p->G * (p->C / p->G)) * sizeof(float) : 0;
}

/* w[M, C/G, KH, KW]: as it is, transposed and packed per group, or Winograd-transformed
 * and packed; tmp: effc_conv2d_pack_tmp bytes. */
EFFC_KERN void effc_conv2d_pack(const EffcConv2d *p, int isa, const float *w, float *packed,
                                void *tmp) {
  int64_t Mg = p->M / p->G, K = cv_k(p);
  if (effc_conv2d_algo(p) == EFFC_CONV_WINOGRAD) {
    cv_wino_pack(p, isa, w, packed, tmp);
    return;
  }
  (void)tmp;
  if (!cv_transposed(p)) {
    memcpy(packed, w, effc_conv2d_packed_size(p, isa) * sizeof *w);
    return;
  }
  for (int64_t g = 0; g < p->G; g++)
    effc_sgemm_pack_b(isa, K, Mg, w + g * Mg * K, K, 1, packed + (size_t)g * cv_gpack(p, isa));
}

/* Split n items into nt shares: [*lo, *hi) for tid. */
static void cv_share(int64_t n, int tid, int nt, int64_t *lo, int64_t *hi) {
  *lo = n * tid / nt, *hi = n * (tid + 1) / nt;
}

/* ------------------------------------------------------------------ row epilogue */

#if defined(EFFC_HAVE_AVX2)
/* y = act(y + b + res) for NONE, RELU and CLIP, 8 at a time; returns the count done. */
EFFC_TARGET_AVX2 static size_t cv_epi_avx2(float *y, const float *res, size_t n, float b,
                                           const EffcEpilogue *e) {
  __m256 bv = _mm256_set1_ps(b), zero = _mm256_setzero_ps(), lo = _mm256_set1_ps(e->alpha),
         hi = _mm256_set1_ps(e->beta);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_add_ps(_mm256_loadu_ps(y + i), bv);
    if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(res + i));
    if (e->act == EFFC_ACT_RELU) v = _mm256_max_ps(zero, v);
    if (e->act == EFFC_ACT_CLIP) v = _mm256_min_ps(hi, _mm256_max_ps(lo, v));
    _mm256_storeu_ps(y + i, v);
  }
  return i;
}
#endif

/* The epilogue of mr output rows (channels m0...) of np values, row stride ldc. */
static void cv_epilogue(int isa, const EffcEpilogue *e, int64_t m0, int mr, float *c,
                        int64_t ldc, const float *res, int64_t np) {
  for (int i = 0; i < mr; i++) {
    float *y = c + i * ldc, b = e->bias ? e->bias[m0 + i] : 0.0f;
    const float *r = res ? res + i * ldc : NULL;
    size_t j = 0;
#if defined(EFFC_HAVE_AVX2)
    if ((isa == EFFC_ISA_AVX2 || isa == EFFC_ISA_AVX512) &&
        (e->act == EFFC_ACT_NONE || e->act == EFFC_ACT_RELU || e->act == EFFC_ACT_CLIP))
      j = cv_epi_avx2(y, r, (size_t)np, b, e);
#endif
    (void)isa;
    effc_act_apply(y + j, r ? r + j : NULL, (size_t)np - j, b, e);
  }
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
      } else { /* valid columns: 0 <= o*SW + base < W for o in [l, h) */
        const float *xr = xc + ih * p->W;
        int64_t l = base >= 0 ? 0 : (-base + p->SW - 1) / p->SW;
        int64_t h = p->W - base <= 0 ? 0 : (p->W - 1 - base) / p->SW + 1;
        l = l < ow ? ow : l > ow + n ? ow + n : l;
        h = h > ow + n ? ow + n : h < l ? l : h;
        float *cj = col + j - ow;
        for (int64_t o = ow; o < l; o++) cj[o] = 0.0f;
        if (p->SW == 1)
          memcpy(cj + l, xr + l + base, (size_t)(h - l) * sizeof *col);
        else
          for (int64_t o = l; o < h; o++) cj[o] = xr[o * p->SW + base];
        for (int64_t o = h; o < ow + n; o++) cj[o] = 0.0f;
      }
      j += n, ow = 0, oh++;
    }
  }
}

EFFC_KERN void effc_conv2d_im2col(const EffcConv2d *p, const float *xn, int64_t p0, int64_t np,
                                  float *col) {
  cv_im2col(p, xn, 0, cv_k(p), p0, np, col);
}

/* ------------------------------------------------------------------ GEMM-based Conv */

/* Bytes of one thread's im2col tile and the GEMM's scratch for it (transposed: plus the
 * output tile). */
static size_t cv_al(size_t n) { return (n + 63) / 64 * 64; }
static size_t cv_col_tile(const EffcConv2d *p) {
  return effc_conv2d_algo(p) == EFFC_CONV_IM2COL
             ? cv_al((size_t)(cv_k(p) * EFFC_CONV_NT) * sizeof(float))
             : 0;
}
static size_t cv_tile_bytes(const EffcConv2d *p, int isa) {
  int64_t K = cv_k(p);
  if (cv_transposed(p))
    return cv_col_tile(p) + cv_al((size_t)(EFFC_CONV_NT * (p->M / p->G)) * sizeof(float)) +
           effc_sgemm_scratch(isa, EFFC_CONV_NT, p->M / p->G, K, 1, 1);
  return cv_col_tile(p) + effc_sgemm_scratch(isa, p->M / p->G, EFFC_CONV_NT, K, 0, 1);
}

/* 1x1 stride 1, large images: per image and group one GEMM on the input itself, split by
 * the GEMM. */
static void cv_conv_1x1(const EffcConv2d *p, int isa, const float *x, const float *w, float *y,
                        const EffcEpilogue *e, void *scratch, int tid, int nt) {
  int64_t Cg = p->C / p->G, Mg = p->M / p->G, P = p->OH * p->OW;
  for (int64_t n = 0; n < p->N; n++)
    for (int64_t g = 0; g < p->G; g++) {
      int64_t yo = (n * p->M + g * Mg) * P;
      EffcEpilogue eg = *e;
      eg.bias = e->bias ? e->bias + g * Mg : NULL;
      eg.residual = e->residual ? e->residual + yo : NULL;
      eg.bias_rows = 1;
      effc_sgemm(isa, Mg, P, Cg, 1.0f, w + g * Mg * Cg, Cg, 0, x + (n * p->C + g * Cg) * P, P,
                 0, y + yo, P, &eg, scratch, tid, nt);
    }
}

/* Tiles: items (image, group, position tile, channel block) over the threads; each builds
 * its im2col tile (KxK) in its scratch and runs a one-thread GEMM for its output block.
 * Direct: y[block rows, tile] = w[block] col, the epilogue in the GEMM; channel blocks of
 * EFFC_CONV_MB rows only when threads would otherwise idle. Transposed: t = col^T w^T into
 * scratch, then written transposed into y with the epilogue; position tiles shrink (to
 * multiples of EFFC_CONV_MB, the GEMM's row strips) when threads would idle. */
static void cv_conv_tiles(const EffcConv2d *p, int isa, const float *x, const float *w,
                          float *y, const EffcEpilogue *e, void *scratch, int tid, int nt) {
  int64_t Cg = p->C / p->G, Mg = p->M / p->G, K = cv_k(p), P = p->OH * p->OW, lo, hi;
  int64_t tp = EFFC_CONV_NT, nmb = 1, tr = cv_transposed(p);
  int64_t nblk = (Mg + EFFC_CONV_MB - 1) / EFFC_CONV_MB;
  int im2col = effc_conv2d_algo(p) == EFFC_CONV_IM2COL;
  if (tr)
    while (nt > 1 && p->N * p->G * ((P + tp - 1) / tp) < 2 * nt && tp > EFFC_CONV_MB)
      tp = (tp / 2 + EFFC_CONV_MB - 1) / EFFC_CONV_MB * EFFC_CONV_MB;
  int64_t npt = (P + tp - 1) / tp;
  if (!tr)
    while (nt > 1 && p->N * p->G * npt * nmb < 4 * nt && nmb * 2 <= nblk) nmb *= 2;
  char *mine = (char *)scratch + (size_t)tid * cv_tile_bytes(p, isa);
  float *col = (float *)mine, *t = (float *)(mine + cv_col_tile(p));
  void *gs = mine + cv_col_tile(p) +
             (tr ? cv_al((size_t)(EFFC_CONV_NT * Mg) * sizeof(float)) : 0);
  cv_share(p->N * p->G * npt * nmb, tid, nt, &lo, &hi);
  int64_t built = -1; /* the tile col holds */
  for (int64_t it = lo; it < hi; it++) {
    int64_t mb = it % nmb, tile = it / nmb, pt = tile % npt, g = tile / npt % p->G,
            n = tile / npt / p->G;
    int64_t p0 = pt * tp, np = P - p0 < tp ? P - p0 : tp;
    const float *xg = x + (n * p->C + g * Cg) * p->H * p->W, *b = xg + p0;
    int64_t ldb = P;
    if (im2col) {
      if (built != tile) cv_im2col(p, xg, 0, K, p0, np, col);
      built = tile, b = col, ldb = EFFC_CONV_NT;
    }
    if (tr) {
      effc_sgemm_packed(isa, np, Mg, K, 1.0f, b, ldb, 1, w + (size_t)g * cv_gpack(p, isa), t,
                        Mg, NULL, gs, 0, 1);
      float *yb = y + (n * p->M + g * Mg) * P + p0;
      for (int64_t j = 0; j < Mg; j++)
        for (int64_t i = 0; i < np; i++) yb[j * P + i] = t[i * Mg + j];
      cv_epilogue(isa, e, g * Mg, (int)Mg, yb, P, e->residual ? e->residual + (yb - y) : NULL,
                  np);
      continue;
    }
    int64_t m0 = nblk * mb / nmb * EFFC_CONV_MB, m1 = nblk * (mb + 1) / nmb * EFFC_CONV_MB;
    if (m1 > Mg) m1 = Mg;
    int64_t yo = (n * p->M + g * Mg + m0) * P + p0;
    EffcEpilogue eg = *e;
    eg.bias = e->bias ? e->bias + g * Mg + m0 : NULL;
    eg.residual = e->residual ? e->residual + yo : NULL;
    eg.bias_rows = 1;
    effc_sgemm(isa, m1 - m0, np, K, 1.0f, w + (g * Mg + m0) * K, K, 0, b, ldb, 0, y + yo, P,
               &eg, gs, 0, 1);
  }
}

/* ------------------------------------------------------------------ Winograd F(2x2, 3x3) */

/* 3x3 stride 1 convolutions as 16 products per block of 2x2 output tiles (Lavin & Gray):
 * V = B^T d B for each 4x4 input tile d, U = G g G^T for each 3x3 filter g (at pack time),
 * M[xi] = V[xi]^T U[xi] on the SGEMM with U[xi] packed, Y = A^T M A. 2.25x fewer
 * multiplies than direct; each item (image, group, tile block) runs in its own scratch.
 * Chosen from 128 input channels per group: bench/conv measured 78-93 GFLOP/s (direct-flop
 * equivalent) against 56-76 for im2col on ResNet's 3x3 layers with 128-512 channels, but 46
 * against 64 with 64 channels. */
#define EFFC_WINO_TB 64 /* tiles per block (GEMM rows) */

static size_t cv_wino_bytes(const EffcConv2d *p, int isa) {
  int64_t Cg = p->C / p->G, Mg = p->M / p->G;
  return cv_al((size_t)(16 * EFFC_WINO_TB * (Cg + Mg)) * sizeof(float)) +
         effc_sgemm_scratch(isa, EFFC_WINO_TB, Mg, Cg, 1, 1);
}

static void cv_conv_wino(const EffcConv2d *p, int isa, const float *x, const float *w, float *y,
                         const EffcEpilogue *e, void *scratch, int tid, int nt) {
  int64_t Cg = p->C / p->G, Mg = p->M / p->G, TH = (p->OH + 1) / 2, TW = (p->OW + 1) / 2;
  int64_t T = TH * TW, nb = (T + EFFC_WINO_TB - 1) / EFFC_WINO_TB, lo, hi, P = p->OH * p->OW;
  char *mine = (char *)scratch + (size_t)tid * cv_wino_bytes(p, isa);
  float *v = (float *)mine, *mt = v + 16 * EFFC_WINO_TB * Cg; /* [t][xi][c], [t][xi][m] */
  void *gs = mine + cv_al((size_t)(16 * EFFC_WINO_TB * (Cg + Mg)) * sizeof(float));
  cv_share(p->N * p->G * nb, tid, nt, &lo, &hi);
  for (int64_t it = lo; it < hi; it++) {
    int64_t b = it % nb, g = it / nb % p->G, n = it / nb / p->G;
    int64_t t0 = b * EFFC_WINO_TB, tn = T - t0 < EFFC_WINO_TB ? T - t0 : EFFC_WINO_TB;
    const float *xg = x + (n * p->C + g * Cg) * p->H * p->W;
    /* v[t][xi][c] = (B^T d B)[xi] */
    for (int64_t t = 0; t < tn; t++) {
      int64_t r0 = (t0 + t) / TW * 2 - p->PT, c0 = (t0 + t) % TW * 2 - p->PL;
      int inside = r0 >= 0 && c0 >= 0 && r0 + 4 <= p->H && c0 + 4 <= p->W;
      for (int64_t c = 0; c < Cg; c++) {
        const float *xc = xg + c * p->H * p->W;
        float d[4][4], s[4][4];
        if (inside)
          for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) d[i][j] = xc[(r0 + i) * p->W + c0 + j];
        else
          for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
              int64_t r = r0 + i, q = c0 + j;
              d[i][j] = r >= 0 && r < p->H && q >= 0 && q < p->W ? xc[r * p->W + q] : 0.0f;
            }
        for (int j = 0; j < 4; j++) {
          s[0][j] = d[0][j] - d[2][j], s[1][j] = d[1][j] + d[2][j];
          s[2][j] = d[2][j] - d[1][j], s[3][j] = d[1][j] - d[3][j];
        }
        float *vt = v + t * 16 * Cg + c;
        for (int i = 0; i < 4; i++) {
          vt[(i * 4 + 0) * Cg] = s[i][0] - s[i][2];
          vt[(i * 4 + 1) * Cg] = s[i][1] + s[i][2];
          vt[(i * 4 + 2) * Cg] = s[i][2] - s[i][1];
          vt[(i * 4 + 3) * Cg] = s[i][1] - s[i][3];
        }
      }
    }
    for (int xi = 0; xi < 16; xi++)
      effc_sgemm_packed(isa, tn, Mg, Cg, 1.0f, v + xi * Cg, 16 * Cg, 0,
                        w + (size_t)(g * 16 + xi) * cv_wino_gpack(p, isa), mt + xi * Mg,
                        16 * Mg, NULL, gs, 0, 1);
    /* Y = A^T M A, then the epilogue */
    for (int64_t t = 0; t < tn; t++) {
      int64_t oh = (t0 + t) / TW * 2, ow = (t0 + t) % TW * 2;
      for (int64_t m = 0; m < Mg; m++) {
        const float *mm = mt + t * 16 * Mg + m;
        float s[2][4], out[2][2];
        for (int j = 0; j < 4; j++) {
          float m0 = mm[j * Mg], m1 = mm[(4 + j) * Mg], m2 = mm[(8 + j) * Mg],
                m3 = mm[(12 + j) * Mg];
          s[0][j] = m0 + m1 + m2, s[1][j] = m1 - m2 - m3;
        }
        for (int i = 0; i < 2; i++)
          out[i][0] = s[i][0] + s[i][1] + s[i][2], out[i][1] = s[i][1] - s[i][2] - s[i][3];
        float *yo = y + (n * p->M + g * Mg + m) * P + oh * p->OW + ow;
        for (int i = 0; i < 2 && oh + i < p->OH; i++)
          for (int j = 0; j < 2 && ow + j < p->OW; j++) yo[i * p->OW + j] = out[i][j];
      }
    }
    /* the epilogue on what this block wrote: per tile row, two output row segments */
    for (int64_t t = 0; t < tn;) {
      int64_t ty = (t0 + t) / TW, tx = (t0 + t) % TW, cnt = TW - tx < tn - t ? TW - tx : tn - t;
      int64_t ow = 2 * tx, w = 2 * (tx + cnt) < p->OW ? 2 * cnt : p->OW - ow;
      for (int64_t oh = 2 * ty; oh < 2 * ty + 2 && oh < p->OH; oh++) {
        int64_t off = (n * p->M + g * Mg) * P + oh * p->OW + ow;
        cv_epilogue(isa, e, g * Mg, (int)Mg, y + off, P, e->residual ? e->residual + off : NULL, w);
      }
      t += cnt;
    }
  }
}

/* ------------------------------------------------------------------ depthwise */

/* Each plane is first copied into a zero-padded plane q (scratch) of pw columns, so that
 * every tap of every output reads inside it. With stride 1, output (oh, ow) reads
 * q[oh*pw + ow + tap offset]: the outputs of the whole plane, as a flat index f = oh*pw + ow,
 * read q contiguously, so the plane runs 8 (AVX2) or 4 (NEON) flat outputs at a time into a
 * flat buffer whose columns ow < OW are then copied out (the rest read padding and are
 * dropped). With stride 2 the same runs per output row, loads taking every other float.
 * Other strides, and scalar code, run outputs one by one. Sum order: taps (kh, kw)
 * ascending. */
static int64_t cv_dw_ph(const EffcConv2d *p) {
  return (p->OH - 1) * p->SH + (p->KH - 1) * p->DH + 1;
}
static int64_t cv_dw_pw(const EffcConv2d *p) {
  return (p->OW - 1) * p->SW + (p->KW - 1) * p->DW + 1;
}
/* Floats of q (with zero rows past the plane that the flat loads may touch) and of the
 * flat output buffer. */
static size_t cv_dw_q(const EffcConv2d *p) {
  return (size_t)((cv_dw_ph(p) + 2) * cv_dw_pw(p) + 64);
}
static size_t cv_dw_t(const EffcConv2d *p) { return (size_t)(p->OH * cv_dw_pw(p) + 8); }
static size_t cv_dw_bytes(const EffcConv2d *p) {
  return ((cv_dw_q(p) + cv_dw_t(p)) * sizeof(float) + 63) / 64 * 64;
}

/* The padded plane: q[r][c] = x[r - PT][c - PL] inside the image, else 0. */
static void cv_dw_pad(const EffcConv2d *p, const float *xp, float *q) {
  int64_t ph = cv_dw_ph(p), pw = cv_dw_pw(p);
  for (int64_t r = 0; r < ph; r++) {
    float *qr = q + r * pw;
    int64_t ih = r - p->PT;
    if (ih < 0 || ih >= p->H) {
      memset(qr, 0, (size_t)pw * sizeof *qr);
      continue;
    }
    int64_t c0 = p->PL < 0 ? 0 : p->PL, n = p->W - (c0 - p->PL); /* image columns copied */
    if (c0 + n > pw) n = pw - c0;
    if (n < 0) n = 0;
    memset(qr, 0, (size_t)c0 * sizeof *qr);
    memcpy(qr + c0, xp + ih * p->W + (c0 - p->PL), (size_t)n * sizeof *qr);
    memset(qr + c0 + n, 0, (size_t)(pw - c0 - n) * sizeof *qr);
  }
  memset(q + ph * pw, 0, (cv_dw_q(p) - (size_t)(ph * pw)) * sizeof *q);
}

/* One output row from the padded plane, scalar. */
static void cv_dw_row(const EffcConv2d *p, const float *q, const float *wc, int64_t oh,
                      float *yr) {
  int64_t pw = cv_dw_pw(p);
  for (int64_t j = 0; j < p->OW; j++) {
    float acc = 0.0f;
    for (int64_t kh = 0; kh < p->KH; kh++) {
      const float *qr = q + (oh * p->SH + kh * p->DH) * pw + j * p->SW;
      for (int64_t kw = 0; kw < p->KW; kw++) acc += wc[kh * p->KW + kw] * qr[kw * p->DW];
    }
    yr[j] = acc;
  }
}

#if defined(EFFC_HAVE_AVX2)
/* t[f] = sum of taps of q[s*f + tap offset] for f in [0, n), 8 at a time (n rounded up). */
EFFC_TARGET_AVX2 static void cv_dw_flat_avx2(const EffcConv2d *p, const float *q,
                                             const float *wc, int64_t n, float *t) {
  int64_t pw = cv_dw_pw(p), s = p->SW;
  for (int64_t f = 0; f < n; f += 8) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t kh = 0; kh < p->KH; kh++) {
      const float *qr = q + kh * p->DH * pw + f * s;
      for (int64_t kw = 0; kw < p->KW; kw++) {
        const float *a = qr + kw * p->DW;
        __m256 v;
        if (s == 1) {
          v = _mm256_loadu_ps(a);
        } else { /* even lanes of 16: a[0], a[2], ..., a[14] */
          __m256 sh = _mm256_shuffle_ps(_mm256_loadu_ps(a), _mm256_loadu_ps(a + 8), 0x88);
          v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(sh), 0xd8));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(wc[kh * p->KW + kw]), v, acc);
      }
    }
    _mm256_storeu_ps(t + f, acc);
  }
}
#endif

#if defined(EFFC_HAVE_NEON)
static void cv_dw_flat_neon(const EffcConv2d *p, const float *q, const float *wc, int64_t n,
                            float *t) {
  int64_t pw = cv_dw_pw(p), s = p->SW;
  for (int64_t f = 0; f < n; f += 4) {
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (int64_t kh = 0; kh < p->KH; kh++) {
      const float *qr = q + kh * p->DH * pw + f * s;
      for (int64_t kw = 0; kw < p->KW; kw++) {
        const float *a = qr + kw * p->DW;
        float32x4_t v = s == 1 ? vld1q_f32(a) : vld2q_f32(a).val[0];
        acc = vfmaq_n_f32(acc, v, wc[kh * p->KW + kw]);
      }
    }
    vst1q_f32(t + f, acc);
  }
}
#endif

/* Flat outputs [0, n) from q into t for the isa. */
static void cv_dw_flat(const EffcConv2d *p, int isa, const float *q, const float *wc, int64_t n,
                       float *t) {
#if defined(EFFC_HAVE_AVX2)
  if (isa == EFFC_ISA_AVX2 || isa == EFFC_ISA_AVX512) cv_dw_flat_avx2(p, q, wc, n, t);
#endif
#if defined(EFFC_HAVE_NEON)
  if (isa == EFFC_ISA_NEON) cv_dw_flat_neon(p, q, wc, n, t);
#endif
  (void)p, (void)isa, (void)q, (void)wc, (void)n, (void)t;
}

static void cv_conv_dw(const EffcConv2d *p, int isa, const float *x, const float *w, float *y,
                       const EffcEpilogue *e, void *scratch, int tid, int nt) {
  int64_t P = p->OH * p->OW, lo, hi, pw = cv_dw_pw(p);
  float *q = (float *)((char *)scratch + (size_t)tid * cv_dw_bytes(p)), *t = q + cv_dw_q(p);
  int vec = p->SW <= 2 && (isa == EFFC_ISA_AVX2 || isa == EFFC_ISA_AVX512 || isa == EFFC_ISA_NEON);
  int flat = vec && p->SW == 1 && p->SH == 1;
  cv_share(p->N * p->C, tid, nt, &lo, &hi);
  for (int64_t pl = lo; pl < hi; pl++) {
    int64_t ch = pl % p->C;
    const float *wc = w + ch * p->KH * p->KW;
    float *yp = y + pl * P;
    cv_dw_pad(p, x + pl * p->H * p->W, q);
    if (flat) cv_dw_flat(p, isa, q, wc, p->OH * pw, t);
    for (int64_t oh = 0; oh < p->OH; oh++) {
      float *yr = yp + oh * p->OW;
      if (flat) {
        memcpy(yr, t + oh * pw, (size_t)p->OW * sizeof *yr);
      } else if (vec) {
        cv_dw_flat(p, isa, q + oh * p->SH * pw, wc, p->OW, t);
        memcpy(yr, t, (size_t)p->OW * sizeof *yr);
      } else {
        cv_dw_row(p, q, wc, oh, yr);
      }
    }
    cv_epilogue(isa, e, ch, 1, yp, P, e->residual ? e->residual + pl * P : NULL, P);
  }
}

/* ------------------------------------------------------------------ entry points */

/* Scratch bytes for nt threads. */
EFFC_KERN size_t effc_conv2d_scratch(const EffcConv2d *p, int isa, int nt) {
  int algo = effc_conv2d_algo(p);
  if (algo == EFFC_CONV_GEMM && !cv_transposed(p))
    return effc_sgemm_scratch(isa, p->M / p->G, p->OH * p->OW, p->C / p->G, 0, nt);
  if (algo == EFFC_CONV_DEPTHWISE) return (size_t)nt * cv_dw_bytes(p);
  if (algo == EFFC_CONV_WINOGRAD) return (size_t)nt * cv_wino_bytes(p, isa);
  return (size_t)nt * cv_tile_bytes(p, isa);
}

/* y[N, M, OH, OW] = epilogue(conv(x, w)); packed from effc_conv2d_pack. */
EFFC_KERN void effc_conv2d(const EffcConv2d *p, int isa, const float *x, const float *packed,
                           float *y, const EffcEpilogue *e, void *scratch, int tid, int nt) {
  int algo = effc_conv2d_algo(p);
  if (algo == EFFC_CONV_DEPTHWISE)
    cv_conv_dw(p, isa, x, packed, y, e, scratch, tid, nt);
  else if (algo == EFFC_CONV_WINOGRAD)
    cv_conv_wino(p, isa, x, packed, y, e, scratch, tid, nt);
  else if (algo == EFFC_CONV_GEMM && !cv_transposed(p))
    cv_conv_1x1(p, isa, x, packed, y, e, scratch, tid, nt);
  else
    cv_conv_tiles(p, isa, x, packed, y, e, scratch, tid, nt);
}

/* ------------------------------------------------------------------ ConvTranspose */

/* Weights as they are: the GEMM reads w[C, M/G, KH, KW] transposed. */
EFFC_KERN size_t effc_convt2d_packed_size(const EffcConv2d *p) {
  return (size_t)(p->C * (p->M / p->G) * p->KH * p->KW);
}

EFFC_KERN void effc_convt2d_pack(const EffcConv2d *p, const float *w, float *packed) {
  memcpy(packed, w, effc_convt2d_packed_size(p) * sizeof *w);
}

static size_t cv_col_bytes(const EffcConv2d *p) {
  return ((size_t)(p->KH * p->KW * EFFC_CONV_NT) * sizeof(float) + 63) / 64 * 64;
}

/* Per thread: one column tile of KH*KW rows and the GEMM's scratch. */
EFFC_KERN size_t effc_convt2d_scratch(const EffcConv2d *p, int isa, int nt) {
  return (size_t)nt * (cv_col_bytes(p) +
                       effc_sgemm_scratch(isa, p->KH * p->KW, EFFC_CONV_NT, p->C / p->G, 0, 1));
}

/* y[N, M, OH, OW] = epilogue(convT(x, w)): per output channel and tile of input positions,
 * col = w_m^T x (GEMM), then col2im adds col into the channel's image. Threads split over
 * (image, channel). */
EFFC_KERN void effc_convt2d(const EffcConv2d *p, int isa, const float *x, const float *packed,
                            float *y, const EffcEpilogue *e, void *scratch, int tid, int nt) {
  int64_t Cg = p->C / p->G, Mg = p->M / p->G, kk = p->KH * p->KW;
  int64_t P = p->H * p->W, OP = p->OH * p->OW, lo, hi;
  char *mine = (char *)scratch + (size_t)tid * (effc_convt2d_scratch(p, isa, 1));
  float *col = (float *)mine;
  void *gs = mine + cv_col_bytes(p);
  cv_share(p->N * p->M, tid, nt, &lo, &hi);
  for (int64_t it = lo; it < hi; it++) {
    int64_t n = it / p->M, m = it % p->M, g = m / Mg;
    const float *xg = x + (n * p->C + g * Cg) * P;
    /* A(t, c) = w[(g*Cg + c), m % Mg, t]: transposed, row stride Mg*kk */
    const float *wm = packed + (g * Cg * Mg + m % Mg) * kk;
    float *ym = y + it * OP;
    memset(ym, 0, (size_t)OP * sizeof *ym);
    for (int64_t p0 = 0; p0 < P; p0 += EFFC_CONV_NT) {
      int64_t np = P - p0 < EFFC_CONV_NT ? P - p0 : EFFC_CONV_NT;
      effc_sgemm(isa, kk, np, Cg, 1.0f, wm, Mg * kk, 1, xg + p0, P, 0, col, EFFC_CONV_NT, NULL,
                 gs, 0, 1);
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
    cv_epilogue(isa, e, m, 1, ym, OP, e->residual ? e->residual + it * OP : NULL, OP);
  }
}
