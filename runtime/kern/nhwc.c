/* nhwc.c - float32 2-D convolution on channels-last images: x[N, H, W, C], y[N, OH, OW, M]
 * (the kernels of nodes the `layout` pass marks `__effc_layout: string = "NHWC"`,
 * passes/layout.c). Channels are contiguous, so the kernels vectorize over them:
 *  - dense convolutions (group 1) are GEMMs y[P, M] = col[P, K] w^T[K, M] on the packed
 *    SGEMM (kern/gemm.c), K = KH*KW*C in (kh, kw, c) order: 1x1 stride 1 straight on the
 *    input (one GEMM over every pixel of the batch), the others on im2col tiles of a fixed
 *    number of output positions (each row KH*KW runs of C floats); the GEMM's epilogue adds
 *    the bias per column and the residual, and applies the activation;
 *  - depthwise (group = C = M) runs directly per output row: 4 pixels x 8 channels (AVX2) or
 *    4 x 4 (NEON) accumulators starting from the bias, each tap's weights w[kh][kw][c..]
 *    loaded once for the 4 pixels, taps in (kh, kw) order; then residual and activation.
 * Work is split by output rows, tiles or the GEMM's fixed row blocks, never by nt-dependent
 * sizes, so results do not depend on the thread count. */
#include "kern.h"

/* The method: 1 depthwise, 2 dense 1x1 stride 1 on the input, 3 dense im2col, 0 none. */
static int nh_kind(const EffcConv2d *p) {
  if (p->G > 1) return p->G == p->C && p->M == p->C ? 1 : 0;
  if (p->KH == 1 && p->KW == 1 && p->SH == 1 && p->SW == 1 && p->PT == 0 && p->PL == 0 &&
      p->OH == p->H && p->OW == p->W)
    return 2;
  return 3;
}

/* Whether this file runs the shape (depthwise with multiplier 1, or group 1). */
EFFC_KERN int effc_conv2d_nhwc_ok(const EffcConv2d *p) { return nh_kind(p) != 0; }

static int64_t nh_k(const EffcConv2d *p) { return p->KH * p->KW * (p->C / p->G); }

/* Output positions per im2col tile: about 128 KB of col, a multiple of 24 (the GEMM's row
 * strips), at least 24 and at most 240. */
static int64_t nh_tile(const EffcConv2d *p) {
  int64_t t = 32768 / nh_k(p) / 24 * 24;
  return t < 24 ? 24 : t > 240 ? 240 : t;
}

EFFC_KERN size_t effc_conv2d_nhwc_packed_size(const EffcConv2d *p, int isa) {
  if (nh_kind(p) == 1) return (size_t)(p->KH * p->KW * p->C);
  return effc_sgemm_pack_b_size(isa, nh_k(p), p->M) / sizeof(float);
}

EFFC_KERN size_t effc_conv2d_nhwc_pack_tmp(const EffcConv2d *p) {
  return nh_kind(p) == 1 ? 0 : (size_t)(p->M * nh_k(p)) * sizeof(float);
}

/* w[M, C/G, KH, KW] -> depthwise: wd[kh][kw][c]; dense: w'[m][(kh, kw, c)] (in tmp) packed
 * as the GEMM's transposed B. */
EFFC_KERN void effc_conv2d_nhwc_pack(const EffcConv2d *p, int isa, const float *w,
                                     float *packed, void *tmp) {
  int64_t kk = p->KH * p->KW, K = nh_k(p), Cg = p->C / p->G;
  if (nh_kind(p) == 1) {
    for (int64_t c = 0; c < p->C; c++)
      for (int64_t t = 0; t < kk; t++) packed[t * p->C + c] = w[c * kk + t];
    return;
  }
  float *wt = tmp;
  for (int64_t m = 0; m < p->M; m++)
    for (int64_t c = 0; c < Cg; c++)
      for (int64_t t = 0; t < kk; t++) wt[m * K + t * Cg + c] = w[(m * Cg + c) * kk + t];
  effc_sgemm_pack_b(isa, K, p->M, wt, K, 1, packed);
}

static size_t nh_al(size_t n) { return (n + 63) / 64 * 64; }

/* One thread's im2col tile and GEMM scratch. */
static size_t nh_tile_bytes(const EffcConv2d *p, int isa) {
  return nh_al((size_t)(nh_tile(p) * nh_k(p)) * sizeof(float)) +
         effc_sgemm_scratch(isa, nh_tile(p), p->M, nh_k(p), 1, 1);
}

EFFC_KERN size_t effc_conv2d_nhwc_scratch(const EffcConv2d *p, int isa, int nt) {
  int k = nh_kind(p);
  if (k == 1) return 0;
  if (k == 2) return effc_sgemm_scratch(isa, p->N * p->H * p->W, p->M, p->C, 1, nt);
  return (size_t)nt * nh_tile_bytes(p, isa);
}

/* col[j][(kh, kw, c)] for output positions [p0, p0 + np) of image xn: the input pixel's C
 * channels, or zeros outside the image. */
static void nh_im2col(const EffcConv2d *p, const float *xn, int64_t p0, int64_t np, float *col) {
  int64_t C = p->C, K = nh_k(p);
  for (int64_t j = 0; j < np; j++) {
    int64_t oh = (p0 + j) / p->OW, ow = (p0 + j) % p->OW;
    float *cr = col + j * K;
    for (int64_t kh = 0; kh < p->KH; kh++) {
      int64_t ih = oh * p->SH - p->PT + kh * p->DH;
      for (int64_t kw = 0; kw < p->KW; kw++, cr += C) {
        int64_t iw = ow * p->SW - p->PL + kw * p->DW;
        if (ih < 0 || ih >= p->H || iw < 0 || iw >= p->W)
          memset(cr, 0, (size_t)C * sizeof *cr);
        else
          memcpy(cr, xn + (ih * p->W + iw) * C, (size_t)C * sizeof *cr);
      }
    }
  }
}

static void nh_dense(const EffcConv2d *p, int isa, const float *x, const float *w, float *y,
                     const EffcEpilogue *e, void *scratch, int tid, int nt) {
  int64_t K = nh_k(p), P = p->OH * p->OW, tp = nh_tile(p), npt = (P + tp - 1) / tp;
  int64_t n_items = p->N * npt, lo = n_items * tid / nt, hi = n_items * (tid + 1) / nt;
  char *mine = (char *)scratch + (size_t)tid * nh_tile_bytes(p, isa);
  float *col = (float *)mine;
  void *gs = mine + nh_al((size_t)(tp * K) * sizeof(float));
  for (int64_t it = lo; it < hi; it++) {
    int64_t n = it / npt, p0 = it % npt * tp, np = P - p0 < tp ? P - p0 : tp;
    nh_im2col(p, x + n * p->H * p->W * p->C, p0, np, col);
    int64_t yo = (n * P + p0) * p->M;
    EffcEpilogue eg = *e;
    eg.residual = e->residual ? e->residual + yo : NULL;
    eg.bias_rows = 0;
    effc_sgemm_packed(isa, np, p->M, K, 1.0f, col, K, 0, w, y + yo, p->M, &eg, gs, 0, 1);
  }
}

/* ------------------------------------------------------------------ depthwise */

/* The kw taps [*k0, *k1) of output column ow that read inside the image. */
static void nh_kw_range(const EffcConv2d *p, int64_t ow, int64_t *k0, int64_t *k1) {
  int64_t b = ow * p->SW - p->PL;
  *k0 = 0, *k1 = p->KW;
  while (*k0 < *k1 && b + *k0 * p->DW < 0) (*k0)++;
  while (*k1 > *k0 && b + (*k1 - 1) * p->DW >= p->W) (*k1)--;
}

/* Channels [c0, C) of r pixels starting at column ow (all with taps [k0, k1) inside), taps
 * kh in [h0, h1): scalar. */
static void nh_dw_scalar(const EffcConv2d *p, const float *xn, const float *w, const float *bias,
                         float *yr, int64_t oh, int64_t ow, int r, int64_t k0, int64_t k1,
                         int64_t h0, int64_t h1, int64_t c0) {
  int64_t C = p->C;
  for (int j = 0; j < r; j++)
    for (int64_t c = c0; c < C; c++) {
      float acc = bias ? bias[c] : 0.0f;
      for (int64_t kh = h0; kh < h1; kh++) {
        int64_t ih = oh * p->SH - p->PT + kh * p->DH;
        for (int64_t kw = k0; kw < k1; kw++) {
          int64_t iw = (ow + j) * p->SW - p->PL + kw * p->DW;
          acc += w[(kh * p->KW + kw) * C + c] * xn[(ih * p->W + iw) * C + c];
        }
      }
      yr[(ow + j) * C + c] = acc;
    }
}

/* Whether the vector paths apply the epilogue's residual and activation in registers
 * (the others run effc_act_apply on the row afterwards). */
static int nh_vec_epi(const EffcEpilogue *e) {
  return e->act == EFFC_ACT_NONE || e->act == EFFC_ACT_RELU || e->act == EFFC_ACT_CLIP;
}

#if defined(EFFC_HAVE_AVX2)
/* v + residual, then Relu / Clip (nh_vec_epi acts; others untouched). */
EFFC_TARGET_AVX2 static inline __m256 nh_epi_avx2(__m256 v, const float *res,
                                                  const EffcEpilogue *e) {
  if (!nh_vec_epi(e)) return v;
  if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(res));
  if (e->act == EFFC_ACT_RELU) v = _mm256_max_ps(_mm256_setzero_ps(), v);
  if (e->act == EFFC_ACT_CLIP)
    v = _mm256_min_ps(_mm256_set1_ps(e->beta), _mm256_max_ps(_mm256_set1_ps(e->alpha), v));
  return v;
}

/* The same, 8 channels at a time from c = 0: 4 pixels with every kw tap inside (r = 4) or
 * one pixel with taps [k0, k1); returns the channels done. res: the residual row or NULL. */
EFFC_TARGET_AVX2 static int64_t nh_dw_avx2(const EffcConv2d *p, const float *xn, const float *w,
                                           const EffcEpilogue *e, const float *res, float *yr,
                                           int64_t oh, int64_t ow, int r, int64_t k0, int64_t k1,
                                           int64_t h0, int64_t h1) {
  const int64_t C = p->C, xs = p->SW * C, dwc = p->DW * C, KW = p->KW;
  const float *bias = e->bias;
  const float *x0 = xn + (ow * p->SW - p->PL) * C;
  int64_t c = 0;
  for (; c + 8 <= C; c += 8) {
    __m256 b = bias ? _mm256_loadu_ps(bias + c) : _mm256_setzero_ps();
    __m256 a0 = b, a1 = b, a2 = b, a3 = b;
    for (int64_t kh = h0; kh < h1; kh++) {
      const float *wr = w + (kh * KW + k0) * C + c;
      const float *xr = x0 + ((oh * p->SH - p->PT + kh * p->DH) * p->W) * C + k0 * dwc + c;
      if (r == 4) {
        for (int64_t kw = k0; kw < k1; kw++, wr += C, xr += dwc) {
          __m256 wv = _mm256_loadu_ps(wr);
          a0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xr), a0);
          a1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xr + xs), a1);
          a2 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xr + 2 * xs), a2);
          a3 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xr + 3 * xs), a3);
        }
      } else {
        for (int64_t kw = k0; kw < k1; kw++, wr += C, xr += dwc)
          a0 = _mm256_fmadd_ps(_mm256_loadu_ps(wr), _mm256_loadu_ps(xr), a0);
      }
    }
    int64_t o = ow * C + c;
    _mm256_storeu_ps(yr + o, nh_epi_avx2(a0, res ? res + o : NULL, e));
    if (r == 4) {
      _mm256_storeu_ps(yr + o + C, nh_epi_avx2(a1, res ? res + o + C : NULL, e));
      _mm256_storeu_ps(yr + o + 2 * C, nh_epi_avx2(a2, res ? res + o + 2 * C : NULL, e));
      _mm256_storeu_ps(yr + o + 3 * C, nh_epi_avx2(a3, res ? res + o + 3 * C : NULL, e));
    }
  }
  return c;
}
#endif

#if defined(EFFC_HAVE_NEON)
static inline float32x4_t nh_epi_neon(float32x4_t v, const float *res, const EffcEpilogue *e) {
  if (!nh_vec_epi(e)) return v;
  if (res) v = vaddq_f32(v, vld1q_f32(res));
  if (e->act == EFFC_ACT_RELU) v = vmaxq_f32(vdupq_n_f32(0.0f), v);
  if (e->act == EFFC_ACT_CLIP)
    v = vminq_f32(vdupq_n_f32(e->beta), vmaxq_f32(vdupq_n_f32(e->alpha), v));
  return v;
}

static int64_t nh_dw_neon(const EffcConv2d *p, const float *xn, const float *w,
                          const EffcEpilogue *e, const float *res, float *yr, int64_t oh,
                          int64_t ow, int r, int64_t k0, int64_t k1, int64_t h0, int64_t h1) {
  const int64_t C = p->C, xs = p->SW * C, dwc = p->DW * C, KW = p->KW;
  const float *bias = e->bias;
  const float *x0 = xn + (ow * p->SW - p->PL) * C;
  int64_t c = 0;
  for (; c + 4 <= C; c += 4) {
    float32x4_t b = bias ? vld1q_f32(bias + c) : vdupq_n_f32(0.0f);
    float32x4_t a0 = b, a1 = b, a2 = b, a3 = b;
    for (int64_t kh = h0; kh < h1; kh++) {
      const float *wr = w + (kh * KW + k0) * C + c;
      const float *xr = x0 + ((oh * p->SH - p->PT + kh * p->DH) * p->W) * C + k0 * dwc + c;
      if (r == 4) {
        for (int64_t kw = k0; kw < k1; kw++, wr += C, xr += dwc) {
          float32x4_t wv = vld1q_f32(wr);
          a0 = vfmaq_f32(a0, wv, vld1q_f32(xr));
          a1 = vfmaq_f32(a1, wv, vld1q_f32(xr + xs));
          a2 = vfmaq_f32(a2, wv, vld1q_f32(xr + 2 * xs));
          a3 = vfmaq_f32(a3, wv, vld1q_f32(xr + 3 * xs));
        }
      } else {
        for (int64_t kw = k0; kw < k1; kw++, wr += C, xr += dwc)
          a0 = vfmaq_f32(a0, vld1q_f32(wr), vld1q_f32(xr));
      }
    }
    int64_t o = ow * C + c;
    vst1q_f32(yr + o, nh_epi_neon(a0, res ? res + o : NULL, e));
    if (r == 4) {
      vst1q_f32(yr + o + C, nh_epi_neon(a1, res ? res + o + C : NULL, e));
      vst1q_f32(yr + o + 2 * C, nh_epi_neon(a2, res ? res + o + 2 * C : NULL, e));
      vst1q_f32(yr + o + 3 * C, nh_epi_neon(a3, res ? res + o + 3 * C : NULL, e));
    }
  }
  return c;
}
#endif

/* r pixels from column ow: the ISA's channel vectors (epilogue included when nh_vec_epi),
 * then the channel tail (no epilogue: the caller applies it). Returns the first channel the
 * vectors did not finish. */
static int64_t nh_dw_px(const EffcConv2d *p, int isa, const float *xn, const float *w,
                        const EffcEpilogue *e, const float *res, float *yr, int64_t oh,
                        int64_t ow, int r, int64_t k0, int64_t k1, int64_t h0, int64_t h1) {
  int64_t c = 0;
#if defined(EFFC_HAVE_AVX2)
  if (isa == EFFC_ISA_AVX2 || isa == EFFC_ISA_AVX512)
    c = nh_dw_avx2(p, xn, w, e, res, yr, oh, ow, r, k0, k1, h0, h1);
#endif
#if defined(EFFC_HAVE_NEON)
  if (isa == EFFC_ISA_NEON) c = nh_dw_neon(p, xn, w, e, res, yr, oh, ow, r, k0, k1, h0, h1);
#endif
  (void)isa, (void)res;
  nh_dw_scalar(p, xn, w, e->bias, yr, oh, ow, r, k0, k1, h0, h1, c);
  return c;
}

static void nh_depthwise(const EffcConv2d *p, int isa, const float *x, const float *w, float *y,
                         const EffcEpilogue *e, int tid, int nt) {
  int64_t rows = p->N * p->OH, lo = rows * tid / nt, hi = rows * (tid + 1) / nt;
  int64_t C = p->C, rn = p->OW * C;
  for (int64_t it = lo; it < hi; it++) {
    int64_t n = it / p->OH, oh = it % p->OH, h0 = 0, h1 = p->KH, cv = C;
    while (h0 < h1 && oh * p->SH - p->PT + h0 * p->DH < 0) h0++;
    while (h1 > h0 && oh * p->SH - p->PT + (h1 - 1) * p->DH >= p->H) h1--;
    const float *xn = x + n * p->H * p->W * C;
    const float *res = e->residual ? e->residual + it * rn : NULL;
    float *yr = y + it * rn;
    for (int64_t ow = 0; ow < p->OW;) {
      int64_t k0, k1, q0, q1;
      nh_kw_range(p, ow, &k0, &k1);
      int full = k0 == 0 && k1 == p->KW;
      if (full && ow + 4 <= p->OW) nh_kw_range(p, ow + 3, &q0, &q1);
      int r = full && ow + 4 <= p->OW && q0 == 0 && q1 == p->KW ? 4 : 1;
      cv = nh_dw_px(p, isa, xn, w, e, res, yr, oh, ow, r, k0, k1, h0, h1);
      ow += r;
    }
    /* what the vectors left: every channel (scalar code or other activations), else the
     * channel tail of each pixel */
    if (!nh_vec_epi(e) || cv == 0) {
      if (res || e->act != EFFC_ACT_NONE) effc_act_apply(yr, res, (size_t)rn, 0.0f, e);
    } else if (cv < C) {
      for (int64_t ow = 0; ow < p->OW; ow++)
        effc_act_apply(yr + ow * C + cv, res ? res + ow * C + cv : NULL, (size_t)(C - cv), 0.0f,
                       e);
    }
  }
}

/* ------------------------------------------------------------------ entry point */

/* y[N, OH, OW, M] = epilogue(conv(x[N, H, W, C], w)); packed from effc_conv2d_nhwc_pack. The
 * epilogue's bias is per output channel (bias_rows is ignored). */
EFFC_KERN void effc_conv2d_nhwc(const EffcConv2d *p, int isa, const float *x, const float *packed,
                                float *y, const EffcEpilogue *e, void *scratch, int tid, int nt) {
  int k = nh_kind(p);
  if (k == 1) {
    nh_depthwise(p, isa, x, packed, y, e, tid, nt);
  } else if (k == 2) {
    EffcEpilogue eg = *e;
    eg.bias_rows = 0;
    effc_sgemm_packed(isa, p->N * p->H * p->W, p->M, p->C, 1.0f, x, p->C, 0, packed, y, p->M,
                      &eg, scratch, tid, nt);
  } else if (k == 3) {
    nh_dense(p, isa, x, packed, y, e, scratch, tid, nt);
  }
}
