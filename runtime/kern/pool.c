/* pool.c - float32 NCHW pooling: MaxPool and AveragePool over 2-D windows (1-D as H = 1)
 * with pads, strides, dilations, ceil_mode (the caller sizes the output) and
 * count_include_pad; GlobalAveragePool and GlobalMaxPool. Max ignores NaN unless a whole
 * window is NaN (NaN then), an empty window gives -inf (max) or NaN (average), as the
 * interpreter defines. Output columns whose windows lie inside the row run 8 at a time
 * (AVX2) for strides 1 and 2; planes are split over threads. */
#include "kern.h"

/* The interpreter's max over one window: NaN skipped. */
static float pl_max_pixel(const EffcPool2d *p, const float *xp, int64_t oh, int64_t ow) {
  float acc = -INFINITY;
  int any = 0, cnt = 0;
  for (int64_t kh = 0; kh < p->KH; kh++) {
    int64_t ih = oh * p->SH - p->PT + kh * p->DH;
    if (ih < 0 || ih >= p->H) continue;
    for (int64_t kw = 0; kw < p->KW; kw++) {
      int64_t iw = ow * p->SW - p->PL + kw * p->DW;
      if (iw < 0 || iw >= p->W) continue;
      float v = xp[ih * p->W + iw];
      cnt++;
      if (!isnan(v) && (!any || v > acc)) acc = v, any = 1;
    }
  }
  return any || !cnt ? acc : NAN;
}

/* Taps of one dimension inside [lo_bound, hi_bound) for the window starting at q0. */
static int64_t pl_count(int64_t q0, int64_t k, int64_t d, int64_t lo_bound, int64_t hi_bound) {
  int64_t n = 0;
  for (int64_t i = 0; i < k; i++) n += q0 + i * d >= lo_bound && q0 + i * d < hi_bound;
  return n;
}

/* The divisor of an average window (0: an empty window). */
static int64_t pl_div(const EffcPool2d *p, int64_t oh, int64_t ow) {
  int64_t h0 = oh * p->SH - p->PT, w0 = ow * p->SW - p->PL;
  if (p->count_include_pad)
    return pl_count(h0, p->KH, p->DH, -p->PT, p->H + p->PB) *
           pl_count(w0, p->KW, p->DW, -p->PL, p->W + p->PR);
  return pl_count(h0, p->KH, p->DH, 0, p->H) * pl_count(w0, p->KW, p->DW, 0, p->W);
}

static float pl_avg_pixel(const EffcPool2d *p, const float *xp, int64_t oh, int64_t ow) {
  float acc = 0.0f;
  for (int64_t kh = 0; kh < p->KH; kh++) {
    int64_t ih = oh * p->SH - p->PT + kh * p->DH;
    if (ih < 0 || ih >= p->H) continue;
    for (int64_t kw = 0; kw < p->KW; kw++) {
      int64_t iw = ow * p->SW - p->PL + kw * p->DW;
      if (iw >= 0 && iw < p->W) acc += xp[ih * p->W + iw];
    }
  }
  int64_t div = pl_div(p, oh, ow);
  return div ? acc / (float)div : NAN;
}

#if defined(EFFC_HAVE_AVX2)
/* Columns [ow, hi) of output row oh, 8 at a time; returns the first column not done. Max
 * uses max(v, acc), which keeps acc when v is NaN; a result of -inf (all taps NaN or -inf)
 * is recomputed exactly by the caller. */
EFFC_TARGET_AVX2 static int64_t pl_row_avx2(const EffcPool2d *p, int max, const float *xp,
                                            int64_t oh, int64_t ow, int64_t hi, float *yr) {
  if (p->SW > 2) return ow;
  for (; ow + 8 <= hi; ow += 8) {
    __m256 acc = _mm256_set1_ps(max ? -INFINITY : 0.0f);
    for (int64_t kh = 0; kh < p->KH; kh++) {
      int64_t ih = oh * p->SH - p->PT + kh * p->DH;
      if (ih < 0 || ih >= p->H) continue;
      const float *xr = xp + ih * p->W + ow * p->SW - p->PL;
      for (int64_t kw = 0; kw < p->KW; kw++) {
        const float *q = xr + kw * p->DW;
        __m256 v;
        if (p->SW == 1) {
          v = _mm256_loadu_ps(q);
        } else {
          __m256 s = _mm256_shuffle_ps(_mm256_loadu_ps(q), _mm256_loadu_ps(q + 8), 0x88);
          v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), 0xd8));
        }
        acc = max ? _mm256_max_ps(v, acc) : _mm256_add_ps(acc, v);
      }
    }
    _mm256_storeu_ps(yr, acc);
    if (max) {
      for (int j = 0; j < 8; j++)
        if (yr[j] == -INFINITY) yr[j] = pl_max_pixel(p, xp, oh, ow + j);
    } else {
      for (int j = 0; j < 8; j++) {
        int64_t div = pl_div(p, oh, ow + j);
        yr[j] = div ? yr[j] / (float)div : NAN;
      }
    }
    yr += 8;
  }
  return ow;
}
#endif

static void pl_pool(const EffcPool2d *p, int max, int isa, const float *x, float *y, int tid,
                    int nt) {
  int64_t lo = p->NC * tid / nt, hi = p->NC * (tid + 1) / nt;
  /* Columns whose taps all lie in the row (stride 2 SIMD loads read one pixel more). */
  int64_t ext = (p->KW - 1) * p->DW + 1 + (p->SW == 2), ilo = (p->PL + p->SW - 1) / p->SW;
  int64_t ihi = p->W - ext + p->PL < 0 ? 0 : (p->W - ext + p->PL) / p->SW + 1;
  if (ihi > p->OW) ihi = p->OW;
  if (ilo > ihi) ilo = ihi;
  for (int64_t pl = lo; pl < hi; pl++) {
    const float *xp = x + pl * p->H * p->W;
    for (int64_t oh = 0; oh < p->OH; oh++) {
      float *yr = y + (pl * p->OH + oh) * p->OW;
      int64_t ow = 0;
      for (; ow < ilo; ow++) yr[ow] = max ? pl_max_pixel(p, xp, oh, ow) : pl_avg_pixel(p, xp, oh, ow);
#if defined(EFFC_HAVE_AVX2)
      if (isa == EFFC_ISA_AVX2 || isa == EFFC_ISA_AVX512)
        ow = pl_row_avx2(p, max, xp, oh, ow, ihi, yr + ow);
#endif
      for (; ow < p->OW; ow++) yr[ow] = max ? pl_max_pixel(p, xp, oh, ow) : pl_avg_pixel(p, xp, oh, ow);
    }
  }
  (void)isa;
}

EFFC_KERN void effc_maxpool2d(const EffcPool2d *p, int isa, const float *x, float *y, int tid,
                              int nt) {
  pl_pool(p, 1, isa, x, y, tid, nt);
}

EFFC_KERN void effc_avgpool2d(const EffcPool2d *p, int isa, const float *x, float *y, int tid,
                              int nt) {
  pl_pool(p, 0, isa, x, y, tid, nt);
}

#if defined(EFFC_HAVE_AVX2)
/* The first n - n % 8 values folded into acc, 8 lanes at a time. */
EFFC_TARGET_AVX2 static float pl_global_avx2(int max, const float *x, int64_t n, float acc) {
  float lanes[8];
  __m256 a = _mm256_set1_ps(acc);
  for (int64_t i = 0; i + 8 <= n; i += 8)
    a = max ? _mm256_max_ps(_mm256_loadu_ps(x + i), a) : _mm256_add_ps(a, _mm256_loadu_ps(x + i));
  _mm256_storeu_ps(lanes, a);
  for (int j = 0; j < 8; j++) acc = max ? (lanes[j] > acc ? lanes[j] : acc) : acc + lanes[j];
  return acc;
}
#endif

/* Global pools: one value per plane of n elements. */
static float pl_global(int max, int isa, const float *x, int64_t n) {
  int64_t i = 0;
  float acc = max ? -INFINITY : 0.0f;
#if defined(EFFC_HAVE_AVX2)
  if (isa == EFFC_ISA_AVX2 || isa == EFFC_ISA_AVX512) {
    acc = pl_global_avx2(max, x, n, acc);
    i = n - n % 8;
  }
#endif
  (void)isa;
  for (; i < n; i++) {
    if (max) acc = x[i] > acc ? x[i] : acc; /* NaN skipped */
    else acc += x[i];
  }
  if (!max) return n ? acc / (float)n : NAN;
  if (acc == -INFINITY && n) /* all NaN gives NaN */
    for (i = 0; i < n; i++)
      if (!isnan(x[i])) return acc;
  return n && acc == -INFINITY ? NAN : acc;
}

EFFC_KERN void effc_global_pool(int max, int isa, int64_t planes, int64_t n, const float *x,
                                float *y, int tid, int nt) {
  for (int64_t pl = planes * tid / nt; pl < planes * (tid + 1) / nt; pl++)
    y[pl] = pl_global(max, isa, x + pl * n, n);
}

/* ------------------------------------------------------------------ channels last */

/* One output pixel (oh, ow) of image xn[H, W, C] into yo[C]: the window's taps folded per
 * channel (max: NaN skipped; a result of -inf is recomputed exactly as the NCHW kernel does),
 * then the average's divisor. Output rows are split over threads. */
EFFC_KERN void effc_pool2d_nhwc(int max, const EffcPool2d *p, int64_t C, const float *x, float *y,
                                int tid, int nt) {
  int64_t rows = p->NC * p->OH, lo = rows * tid / nt, hi = rows * (tid + 1) / nt;
  for (int64_t it = lo; it < hi; it++) {
    int64_t n = it / p->OH, oh = it % p->OH;
    const float *xn = x + n * p->H * p->W * C;
    for (int64_t ow = 0; ow < p->OW; ow++) {
      float *yo = y + (it * p->OW + ow) * C;
      for (int64_t c = 0; c < C; c++) yo[c] = max ? -INFINITY : 0.0f;
      for (int64_t kh = 0; kh < p->KH; kh++) {
        int64_t ih = oh * p->SH - p->PT + kh * p->DH;
        if (ih < 0 || ih >= p->H) continue;
        for (int64_t kw = 0; kw < p->KW; kw++) {
          int64_t iw = ow * p->SW - p->PL + kw * p->DW;
          if (iw < 0 || iw >= p->W) continue;
          const float *xp = xn + (ih * p->W + iw) * C;
          if (max)
            for (int64_t c = 0; c < C; c++) yo[c] = xp[c] > yo[c] ? xp[c] : yo[c];
          else
            for (int64_t c = 0; c < C; c++) yo[c] += xp[c];
        }
      }
      if (max) {
        for (int64_t c = 0; c < C; c++) {
          if (yo[c] != -INFINITY) continue;
          /* the plane of channel c seen through a one-channel geometry */
          float acc = -INFINITY;
          int any = 0, cnt = 0;
          for (int64_t kh = 0; kh < p->KH; kh++) {
            int64_t ih = oh * p->SH - p->PT + kh * p->DH;
            for (int64_t kw = 0; kw < p->KW && ih >= 0 && ih < p->H; kw++) {
              int64_t iw = ow * p->SW - p->PL + kw * p->DW;
              if (iw < 0 || iw >= p->W) continue;
              float v = xn[(ih * p->W + iw) * C + c];
              cnt++;
              if (!isnan(v) && (!any || v > acc)) acc = v, any = 1;
            }
          }
          yo[c] = any || !cnt ? acc : NAN;
        }
      } else {
        int64_t div = pl_div(p, oh, ow);
        for (int64_t c = 0; c < C; c++) yo[c] = div ? yo[c] / (float)div : NAN;
      }
    }
  }
}

/* y[n, c] over the P pixels of image n; channels split over threads (per image). */
EFFC_KERN void effc_global_pool_nhwc(int max, int64_t N, int64_t P, int64_t C, const float *x,
                                     float *y, int tid, int nt) {
  int64_t items = N * C, lo = items * tid / nt, hi = items * (tid + 1) / nt;
  while (lo < hi) {
    int64_t n = lo / C, c0 = lo % C, c1 = (n + 1) * C < hi ? C : hi - n * C;
    const float *xn = x + n * P * C;
    float *yn = y + n * C;
    for (int64_t c = c0; c < c1; c++) yn[c] = max ? -INFINITY : 0.0f;
    for (int64_t q = 0; q < P; q++) {
      const float *xp = xn + q * C;
      if (max)
        for (int64_t c = c0; c < c1; c++) yn[c] = xp[c] > yn[c] ? xp[c] : yn[c];
      else
        for (int64_t c = c0; c < c1; c++) yn[c] += xp[c];
    }
    for (int64_t c = c0; c < c1; c++) {
      if (!max) {
        yn[c] = P ? yn[c] / (float)P : NAN;
      } else if (yn[c] == -INFINITY && P) { /* all NaN gives NaN */
        int nan = 1;
        for (int64_t q = 0; q < P && nan; q++) nan = isnan(xn[q * C + c]);
        if (nan) yn[c] = NAN;
      }
    }
    lo = n * C + c1;
  }
}
