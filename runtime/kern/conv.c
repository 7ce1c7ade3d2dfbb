/* conv.c - 2-D float32 convolution (NCHW) by the best method per shape: 1x1 stride 1 as one
 * GEMM straight on the input, KxK through im2col tiles + GEMM, depthwise direct (AVX2 / NEON
 * / scalar), grouped as GEMMs per group; ConvTranspose as GEMM + col2im. 1-D convolutions
 * are 2-D with H = 1. The GEMM is kern/gemm.c's: y[M, P] = w[M, K] * b[K, P] with the
 * channel bias per row; bias, residual and activation are applied by its epilogue while the
 * tile is in registers (depthwise and ConvTranspose: per output row, right after it).
 * Tiles and GEMM row blocks are fixed (row blocks on multiples of 24, every micro-kernel's
 * height), so every output goes through the same instructions whatever nt is. */
#include "kern.h"

#define EFFC_CONV_NT 256 /* output positions per im2col tile */
#define EFFC_CONV_MB 24  /* GEMM row blocks are multiples of this */

/* The method for a shape. */
EFFC_KERN int effc_conv2d_algo(const EffcConv2d *p) {
  if (p->G == p->C && p->M == p->C && p->G > 1) return EFFC_CONV_DEPTHWISE;
  if (p->KH == 1 && p->KW == 1 && p->SH == 1 && p->SW == 1 && p->PT == 0 && p->PL == 0 &&
      p->OH == p->H && p->OW == p->W)
    return EFFC_CONV_GEMM;
  return EFFC_CONV_IM2COL;
}

/* Packed weight size in floats: w[M, C/G, KH, KW] as it is (the GEMM packs row blocks of it
 * as it goes; that costs 1/(2*EFFC_CONV_NT) of the multiply-adds). */
EFFC_KERN size_t effc_conv2d_packed_size(const EffcConv2d *p) {
  return (size_t)(p->M * (p->C / p->G) * p->KH * p->KW);
}

EFFC_KERN void effc_conv2d_pack(const EffcConv2d *p, const float *w, float *packed) {
  memcpy(packed, w, effc_conv2d_packed_size(p) * sizeof *w);
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

/* ------------------------------------------------------------------ GEMM-based Conv */

/* Bytes of one thread's im2col tile and the GEMM's scratch for it. */
static size_t cv_tile_bytes(const EffcConv2d *p, int isa) {
  int64_t K = p->C / p->G * p->KH * p->KW;
  size_t t = (size_t)(K * EFFC_CONV_NT) * sizeof(float);
  return (t + 63) / 64 * 64 + effc_sgemm_scratch(isa, p->M / p->G, EFFC_CONV_NT, K, 0, 1);
}

/* 1x1 stride 1: per image and group one GEMM on the input itself, split by the GEMM. */
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

/* KxK: items (image, group, position tile, row block) over the threads; each builds its
 * im2col tile in its scratch and runs a one-thread GEMM into the output. Row blocks only
 * when threads would otherwise idle (a tile is then built once per block). */
static void cv_conv_im2col(const EffcConv2d *p, int isa, const float *x, const float *w,
                           float *y, const EffcEpilogue *e, void *scratch, int tid, int nt) {
  int64_t Cg = p->C / p->G, Mg = p->M / p->G, K = Cg * p->KH * p->KW, P = p->OH * p->OW;
  int64_t npt = (P + EFFC_CONV_NT - 1) / EFFC_CONV_NT, nmb = 1, lo, hi;
  int64_t nblk = (Mg + EFFC_CONV_MB - 1) / EFFC_CONV_MB;
  while (nt > 1 && p->N * p->G * npt * nmb < 4 * nt && nmb * 2 <= nblk) nmb *= 2;
  char *mine = (char *)scratch + (size_t)tid * cv_tile_bytes(p, isa);
  float *col = (float *)mine;
  void *gs = mine + ((size_t)(K * EFFC_CONV_NT) * sizeof(float) + 63) / 64 * 64;
  cv_share(p->N * p->G * npt * nmb, tid, nt, &lo, &hi);
  int64_t built = -1; /* the tile col holds */
  for (int64_t it = lo; it < hi; it++) {
    int64_t mb = it % nmb, tile = it / nmb, pt = tile % npt, g = tile / npt % p->G,
            n = tile / npt / p->G;
    int64_t m0 = nblk * mb / nmb * EFFC_CONV_MB, m1 = nblk * (mb + 1) / nmb * EFFC_CONV_MB;
    if (m1 > Mg) m1 = Mg;
    int64_t p0 = pt * EFFC_CONV_NT, np = P - p0 < EFFC_CONV_NT ? P - p0 : EFFC_CONV_NT;
    if (built != tile) {
      cv_im2col(p, x + (n * p->C + g * Cg) * p->H * p->W, 0, K, p0, np, col);
      built = tile;
    }
    int64_t yo = (n * p->M + g * Mg + m0) * P + p0;
    EffcEpilogue eg = *e;
    eg.bias = e->bias ? e->bias + g * Mg + m0 : NULL;
    eg.residual = e->residual ? e->residual + yo : NULL;
    eg.bias_rows = 1;
    effc_sgemm(isa, m1 - m0, np, K, 1.0f, w + (g * Mg + m0) * K, K, 0, col, EFFC_CONV_NT, 0,
               y + yo, P, &eg, gs, 0, 1);
  }
}

/* ------------------------------------------------------------------ depthwise */

/* Each plane is first copied into a zero-padded plane (scratch), so that every tap of every
 * output reads inside it: no bounds checks, and whole rows run 8 (AVX2) or 4 (NEON) columns
 * at a time, the last block overlapping the one before when OW is not a multiple (outputs
 * recomputed by the same instructions). Sum order: taps (kh, kw) ascending. */
#define EFFC_DW_SLACK 16 /* floats past each padded row end that vector loads may touch */

static int64_t cv_dw_ph(const EffcConv2d *p) { return (p->OH - 1) * p->SH + (p->KH - 1) * p->DH + 1; }
static int64_t cv_dw_pw(const EffcConv2d *p) {
  return (p->OW - 1) * p->SW + (p->KW - 1) * p->DW + 1 + EFFC_DW_SLACK;
}
static size_t cv_dw_bytes(const EffcConv2d *p) {
  return ((size_t)(cv_dw_ph(p) * cv_dw_pw(p) + 8 * EFFC_DW_SLACK) * sizeof(float) + 63) / 64 * 64;
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
}

/* Output columns [ow, ow+cnt) of row oh from the padded plane, scalar. */
static void cv_dw_cols(const EffcConv2d *p, const float *q, const float *wc, int64_t oh,
                       int64_t ow, int64_t cnt, float *yr) {
  int64_t pw = cv_dw_pw(p);
  for (int64_t j = ow; j < ow + cnt; j++) {
    float acc = 0.0f;
    for (int64_t kh = 0; kh < p->KH; kh++) {
      const float *qr = q + (oh * p->SH + kh * p->DH) * pw + j * p->SW;
      for (int64_t kw = 0; kw < p->KW; kw++) acc += wc[kh * p->KW + kw] * qr[kw * p->DW];
    }
    yr[j] = acc;
  }
}

#if defined(EFFC_HAVE_AVX2)
/* One output row, 8 columns at a time (OW >= 8), strides 1 and 2. */
EFFC_TARGET_AVX2 static void cv_dw_row_avx2(const EffcConv2d *p, const float *q, const float *wc,
                                            int64_t oh, float *yr) {
  int64_t pw = cv_dw_pw(p);
  for (int64_t ow = 0; ow < p->OW; ow += 8) {
    if (ow + 8 > p->OW) ow = p->OW - 8;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t kh = 0; kh < p->KH; kh++) {
      const float *qr = q + (oh * p->SH + kh * p->DH) * pw + ow * p->SW;
      for (int64_t kw = 0; kw < p->KW; kw++) {
        const float *a = qr + kw * p->DW;
        __m256 v;
        if (p->SW == 1) {
          v = _mm256_loadu_ps(a);
        } else { /* even lanes of 16: a[0], a[2], ..., a[14] */
          __m256 s = _mm256_shuffle_ps(_mm256_loadu_ps(a), _mm256_loadu_ps(a + 8), 0x88);
          v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), 0xd8));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(wc[kh * p->KW + kw]), v, acc);
      }
    }
    _mm256_storeu_ps(yr + ow, acc);
  }
}
#endif

#if defined(EFFC_HAVE_NEON)
static void cv_dw_row_neon(const EffcConv2d *p, const float *q, const float *wc, int64_t oh,
                           float *yr) {
  int64_t pw = cv_dw_pw(p);
  for (int64_t ow = 0; ow < p->OW; ow += 4) {
    if (ow + 4 > p->OW) ow = p->OW - 4;
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (int64_t kh = 0; kh < p->KH; kh++) {
      const float *qr = q + (oh * p->SH + kh * p->DH) * pw + ow * p->SW;
      for (int64_t kw = 0; kw < p->KW; kw++) {
        const float *a = qr + kw * p->DW;
        float32x4_t v = p->SW == 1 ? vld1q_f32(a) : vld2q_f32(a).val[0];
        acc = vfmaq_n_f32(acc, v, wc[kh * p->KW + kw]);
      }
    }
    vst1q_f32(yr + ow, acc);
  }
}
#endif

static void cv_conv_dw(const EffcConv2d *p, int isa, const float *x, const float *w, float *y,
                       const EffcEpilogue *e, void *scratch, int tid, int nt) {
  int64_t P = p->OH * p->OW, lo, hi;
  float *q = (float *)((char *)scratch + (size_t)tid * cv_dw_bytes(p));
  int vec = 0;
#if defined(EFFC_HAVE_AVX2)
  if ((isa == EFFC_ISA_AVX2 || isa == EFFC_ISA_AVX512) && p->SW <= 2 && p->OW >= 8) vec = 1;
#endif
#if defined(EFFC_HAVE_NEON)
  if (isa == EFFC_ISA_NEON && p->SW <= 2 && p->OW >= 4) vec = 1;
#endif
  cv_share(p->N * p->C, tid, nt, &lo, &hi);
  for (int64_t pl = lo; pl < hi; pl++) {
    int64_t ch = pl % p->C;
    const float *wc = w + ch * p->KH * p->KW;
    float *yp = y + pl * P;
    cv_dw_pad(p, x + pl * p->H * p->W, q);
    for (int64_t oh = 0; oh < p->OH; oh++) {
      float *yr = yp + oh * p->OW;
      if (!vec) {
        cv_dw_cols(p, q, wc, oh, 0, p->OW, yr);
        continue;
      }
#if defined(EFFC_HAVE_AVX2)
      if (isa == EFFC_ISA_AVX2 || isa == EFFC_ISA_AVX512) cv_dw_row_avx2(p, q, wc, oh, yr);
#endif
#if defined(EFFC_HAVE_NEON)
      if (isa == EFFC_ISA_NEON) cv_dw_row_neon(p, q, wc, oh, yr);
#endif
    }
    cv_epilogue(isa, e, ch, 1, yp, P, e->residual ? e->residual + pl * P : NULL, P);
  }
}

/* ------------------------------------------------------------------ entry points */

/* Scratch bytes for nt threads. */
EFFC_KERN size_t effc_conv2d_scratch(const EffcConv2d *p, int isa, int nt) {
  int algo = effc_conv2d_algo(p);
  if (algo == EFFC_CONV_GEMM)
    return effc_sgemm_scratch(isa, p->M / p->G, p->OH * p->OW, p->C / p->G, 0, nt);
  if (algo == EFFC_CONV_DEPTHWISE) return (size_t)nt * cv_dw_bytes(p);
  return (size_t)nt * cv_tile_bytes(p, isa);
}

/* y[N, M, OH, OW] = epilogue(conv(x, w)); packed from effc_conv2d_pack. */
EFFC_KERN void effc_conv2d(const EffcConv2d *p, int isa, const float *x, const float *packed,
                           float *y, const EffcEpilogue *e, void *scratch, int tid, int nt) {
  int algo = effc_conv2d_algo(p);
  if (algo == EFFC_CONV_DEPTHWISE)
    cv_conv_dw(p, isa, x, packed, y, e, scratch, tid, nt);
  else if (algo == EFFC_CONV_GEMM)
    cv_conv_1x1(p, isa, x, packed, y, e, scratch, tid, nt);
  else
    cv_conv_im2col(p, isa, x, packed, y, e, scratch, tid, nt);
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
