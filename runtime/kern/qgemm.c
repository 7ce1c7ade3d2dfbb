/* qgemm.c - exact 8-bit integer GEMM and convolution (kern.h, "kern/qgemm.c"): B packed
 * once (int8, panels of 16 columns, k in fours), A packed per block of rows in the form the
 * ISA's micro-kernel multiplies (uint8 for AVX-512 VNNI vpdpbusd and scalar, int16 for AVX2
 * vpmaddwd, int8 for NEON sdot), zero points applied through row and column sums in wrapping
 * int32, then stored as int32 or requantized in double. Depthwise convolution is direct. */
#include "kern.h"

#define QNR 16   /* columns per B panel */
#define QMB 32   /* rows of A packed at once (a multiple of every MR) */
#define QPCH 8   /* panels per work unit */

/* Keep a product rounded on its own: the requantization is a multiply then an add, each
 * rounded, exactly as the interpreter evaluates it, never a fused multiply-add (which a
 * compiler may otherwise form under -ffp-contract=fast). */
#if defined(__GNUC__) || defined(__clang__)
#define QFENCE_MEM(v) __asm__("" : "+m"(v))
#else
#define QFENCE_MEM(v) do { volatile double qf_ = (v); (v) = qf_; } while (0)
#endif

static size_t q_align(size_t n) {
  return (n + 63) & ~(size_t)63;
}

static int64_t q_kq(int64_t K) {
  return (K + 3) / 4;
}

static int64_t q_np(int64_t N) {
  return (N + QNR - 1) / QNR;
}

/* ------------------------------------------------------------------ packing B */

EFFC_KERN size_t effc_qgemm_packb_size(int64_t K, int64_t N) {
  size_t np = (size_t)q_np(N);
  return np * QNR * 2 * sizeof(int32_t) + np * (size_t)q_kq(K) * QNR * 4;
}

/* Layout: int32 zb'[np*16] (zero point minus the offset of b'), int32 q[np*16] (column sum
 * of b' minus K * zb'), then int8 b'[np][kq][16][4]; padding is zero. */
EFFC_KERN void effc_qgemm_packb(int64_t K, int64_t N, const void *b, int b_signed, int64_t rs,
                                int64_t cs, const int32_t *zb, int64_t zb_stride, void *packed) {
  int64_t np = q_np(N), kq = q_kq(K);
  int32_t *zbp = packed, *q = zbp + np * QNR;
  int8_t *d = (int8_t *)(q + np * QNR);
  const uint8_t *src = b;
  memset(packed, 0, effc_qgemm_packb_size(K, N));
  for (int64_t k = 0; k < K; k++)
    for (int64_t n = 0; n < N; n++) {
      unsigned raw = src[k * rs + n * cs] ^ (b_signed ? 0u : 0x80u);
      int v = (int)raw - (raw >= 128 ? 256 : 0);
      d[((n / QNR) * kq + k / 4) * QNR * 4 + (n % QNR) * 4 + k % 4] = (int8_t)v;
      q[n] = (int32_t)((uint32_t)q[n] + (uint32_t)v);
    }
  for (int64_t n = 0; n < N; n++) {
    zbp[n] = (zb ? zb[n * zb_stride] : 0) - (b_signed ? 0 : 128);
    q[n] = (int32_t)((uint32_t)q[n] - (uint32_t)K * (uint32_t)zbp[n]);
  }
}

/* ------------------------------------------------------------------ requantization */

static void qreq_scalar(const int32_t *acc, int64_t n, const double *mult, int64_t mcs,
                        double zp, int y_type, void *out) {
  double lo = y_type == EFFC_Q_U8 ? 0.0 : -128.0, hi = y_type == EFFC_Q_U8 ? 255.0 : 127.0;
  for (int64_t i = 0; i < n; i++) {
    double p = (double)acc[i] * mult[i * mcs];
    QFENCE_MEM(p);
    double v = nearbyint(p + zp);
    if (!(v >= lo)) v = lo; /* NaN too */
    if (v > hi) v = hi;
    if (y_type == EFFC_Q_U8) ((uint8_t *)out)[i] = (uint8_t)(int)v;
    else ((int8_t *)out)[i] = (int8_t)(int)v;
  }
}

#if defined(EFFC_HAVE_AVX2)
EFFC_TARGET_AVX2 static void qreq_avx2(const int32_t *acc, int64_t n, const double *mult,
                                       int64_t mcs, double zp, int y_type, void *out) {
  int u8 = y_type == EFFC_Q_U8;
  __m256d lo = _mm256_set1_pd(u8 ? 0.0 : -128.0), hi = _mm256_set1_pd(u8 ? 255.0 : 127.0);
  __m256d z = _mm256_set1_pd(zp), m0 = _mm256_set1_pd(mult[0]), m1 = m0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    if (mcs) {
      m0 = _mm256_loadu_pd(mult + i);
      m1 = _mm256_loadu_pd(mult + i + 4);
    }
    __m256d p0 = _mm256_mul_pd(_mm256_cvtepi32_pd(_mm_loadu_si128((const __m128i *)(acc + i))), m0);
    __m256d p1 = _mm256_mul_pd(_mm256_cvtepi32_pd(_mm_loadu_si128((const __m128i *)(acc + i + 4))), m1);
    __asm__("" : "+x"(p0), "+x"(p1));
    p0 = _mm256_round_pd(_mm256_add_pd(p0, z), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    p1 = _mm256_round_pd(_mm256_add_pd(p1, z), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    p0 = _mm256_min_pd(_mm256_max_pd(p0, lo), hi); /* max(NaN, lo) = lo */
    p1 = _mm256_min_pd(_mm256_max_pd(p1, lo), hi);
    __m128i w = _mm_packs_epi32(_mm256_cvtpd_epi32(p0), _mm256_cvtpd_epi32(p1));
    w = u8 ? _mm_packus_epi16(w, w) : _mm_packs_epi16(w, w);
    _mm_storel_epi64((__m128i *)((uint8_t *)out + i), w);
  }
  if (i < n) qreq_scalar(acc + i, n - i, mult + i * mcs, mcs, zp, y_type, (uint8_t *)out + i);
}
#endif

#if defined(EFFC_HAVE_AVX512)
EFFC_TARGET_AVX512 static void qreq_avx512(const int32_t *acc, int64_t n, const double *mult,
                                           int64_t mcs, double zp, int y_type, void *out) {
  int u8 = y_type == EFFC_Q_U8;
  __m512d lo = _mm512_set1_pd(u8 ? 0.0 : -128.0), hi = _mm512_set1_pd(u8 ? 255.0 : 127.0);
  __m512d z = _mm512_set1_pd(zp), m = _mm512_set1_pd(mult[0]);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    if (mcs) m = _mm512_loadu_pd(mult + i);
    __m512d p = _mm512_mul_pd(_mm512_cvtepi32_pd(_mm256_loadu_si256((const __m256i *)(acc + i))), m);
    __asm__("" : "+v"(p));
    p = _mm512_roundscale_pd(_mm512_add_pd(p, z), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    p = _mm512_min_pd(_mm512_max_pd(p, lo), hi);
    __m128i w = _mm256_cvtepi32_epi8(_mm512_cvtpd_epi32(p)); /* in range: truncation exact */
    _mm_storel_epi64((__m128i *)((uint8_t *)out + i), w);
  }
  if (i < n) qreq_scalar(acc + i, n - i, mult + i * mcs, mcs, zp, y_type, (uint8_t *)out + i);
}
#endif

#if defined(EFFC_HAVE_NEON)
static void qreq_neon(const int32_t *acc, int64_t n, const double *mult, int64_t mcs, double zp,
                      int y_type, void *out) {
  int u8 = y_type == EFFC_Q_U8;
  float64x2_t lo = vdupq_n_f64(u8 ? 0.0 : -128.0), hi = vdupq_n_f64(u8 ? 255.0 : 127.0);
  float64x2_t z = vdupq_n_f64(zp), m = vdupq_n_f64(mult[0]);
  int64_t i = 0;
  for (; i + 2 <= n; i += 2) {
    if (mcs) m = vld1q_f64(mult + i);
    float64x2_t p = vmulq_f64(vcvtq_f64_s64(vmovl_s32(vld1_s32(acc + i))), m);
    __asm__("" : "+w"(p));
    p = vrndnq_f64(vaddq_f64(p, z));
    p = vminq_f64(vmaxnmq_f64(p, lo), hi); /* maxnm(NaN, lo) = lo */
    int64x2_t r = vcvtq_s64_f64(p);
    for (int j = 0; j < 2; j++) {
      int v = (int)vgetq_lane_s64(r, 0);
      if (j) v = (int)vgetq_lane_s64(r, 1);
      if (u8) ((uint8_t *)out)[i + j] = (uint8_t)v;
      else ((int8_t *)out)[i + j] = (int8_t)v;
    }
  }
  if (i < n) qreq_scalar(acc + i, n - i, mult + i * mcs, mcs, zp, y_type, (uint8_t *)out + i);
}
#endif

EFFC_KERN void effc_qrequant(int isa, const int32_t *acc, int64_t n, const double *mult,
                             int64_t mult_cs, double zp, int y_type, void *out) {
  (void)isa;
#if defined(EFFC_HAVE_AVX512)
  if (isa == EFFC_ISA_AVX512) {
    qreq_avx512(acc, n, mult, mult_cs, zp, y_type, out);
    return;
  }
#endif
#if defined(EFFC_HAVE_AVX2)
  if (isa == EFFC_ISA_AVX2 || isa == EFFC_ISA_AVX512) {
    qreq_avx2(acc, n, mult, mult_cs, zp, y_type, out);
    return;
  }
#endif
#if defined(EFFC_HAVE_NEON)
  if (isa == EFFC_ISA_NEON) {
    qreq_neon(acc, n, mult, mult_cs, zp, y_type, out);
    return;
  }
#endif
  qreq_scalar(acc, n, mult, mult_cs, zp, y_type, out);
}

EFFC_KERN float effc_qmult_f32(float a_scale, float b_scale, float y_scale) {
  volatile float ab = a_scale * b_scale; /* rounded to float before the division */
  return ab / y_scale;
}

/* ------------------------------------------------------------------ micro-kernels
 * kern(kq, apack, bpanel, tile): tile[r * 16 + c] = sum over k of a'[r][k] * b'[k][c] for
 * the MR rows of one packed A block and one 16-column panel, in wrapping int32. */

typedef enum { QA_U8, QA_S8, QA_I16 } QaKind;

typedef void (*QKern)(int64_t kq, const void *pa, const int8_t *pb, int32_t *tile);

static void qk_scalar(int64_t kq, const void *pa_, const int8_t *pb, int32_t *tile) {
  const uint8_t *pa = pa_;
  uint32_t acc[4][QNR] = {{0}};
  for (int64_t k = 0; k < kq; k++, pa += 16, pb += 64)
    for (int r = 0; r < 4; r++)
      for (int c = 0; c < QNR; c++)
        for (int j = 0; j < 4; j++) acc[r][c] += (uint32_t)((int)pa[r * 4 + j] * (int)pb[c * 4 + j]);
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < QNR; c++) tile[r * QNR + c] = (int32_t)acc[r][c];
}

#if defined(EFFC_HAVE_AVX2)
/* Two rows: A as int16 quads broadcast to every 64-bit lane; each B load of 16 bytes holds
 * four columns' quads, sign-extended to int16; vpmaddwd (exact for 8-bit operands) leaves
 * two partial sums per column, folded by vphaddd at the end. */
EFFC_TARGET_AVX2 static void qk_avx2(int64_t kq, const void *pa_, const int8_t *pb, int32_t *tile) {
  const int16_t *pa = pa_;
  __m256i c0[4], c1[4];
#pragma GCC unroll 4
  for (int j = 0; j < 4; j++) c0[j] = c1[j] = _mm256_setzero_si256();
  for (int64_t k = 0; k < kq; k++, pa += 8, pb += 64) {
    long long t0, t1;
    memcpy(&t0, pa, 8);
    memcpy(&t1, pa + 4, 8);
    __m256i a0 = _mm256_set1_epi64x(t0), a1 = _mm256_set1_epi64x(t1);
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
      __m256i b = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(pb + 16 * j)));
      c0[j] = _mm256_add_epi32(c0[j], _mm256_madd_epi16(a0, b));
      c1[j] = _mm256_add_epi32(c1[j], _mm256_madd_epi16(a1, b));
    }
  }
#pragma GCC unroll 2
  for (int h = 0; h < 2; h++) {
    __m256i s0 = _mm256_permute4x64_epi64(_mm256_hadd_epi32(c0[2 * h], c0[2 * h + 1]), 0xD8);
    __m256i s1 = _mm256_permute4x64_epi64(_mm256_hadd_epi32(c1[2 * h], c1[2 * h + 1]), 0xD8);
    _mm256_storeu_si256((__m256i *)(tile + 8 * h), s0);
    _mm256_storeu_si256((__m256i *)(tile + QNR + 8 * h), s1);
  }
}
#endif

#if defined(EFFC_HAVE_AVX512)
/* Eight rows: vpdpbusd multiplies the broadcast uint8 quad of a row by the int8 quads of
 * the 16 columns and adds the four products to each int32 lane (no saturation). */
EFFC_TARGET_AVX512 static void qk_avx512(int64_t kq, const void *pa_, const int8_t *pb, int32_t *tile) {
  const uint8_t *pa = pa_;
  __m512i c[8];
#pragma GCC unroll 8
  for (int r = 0; r < 8; r++) c[r] = _mm512_setzero_si512();
  for (int64_t k = 0; k < kq; k++, pa += 32, pb += 64) {
    __m512i b = _mm512_loadu_si512((const void *)pb);
#pragma GCC unroll 8
    for (int r = 0; r < 8; r++) {
      int32_t t;
      memcpy(&t, pa + 4 * r, 4);
      c[r] = _mm512_dpbusd_epi32(c[r], _mm512_set1_epi32(t), b);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < 8; r++) _mm512_storeu_si512((void *)(tile + r * QNR), c[r]);
}
#endif

/* sdot: built with dot-product instructions, or in emitted code (whose create() checks the
 * CPU has them) enabled for this function alone. */
#if defined(EFFC_HAVE_NEON) && defined(__ARM_FEATURE_DOTPROD)
#define QNEON_SDOT 1
#define QNEON_TARGET
#elif defined(EFFC_HAVE_NEON) && !defined(EFFC_KERN_RUNTIME) && defined(__clang__)
#define QNEON_SDOT 1
#define QNEON_TARGET __attribute__((target("dotprod")))
#elif defined(EFFC_HAVE_NEON) && !defined(EFFC_KERN_RUNTIME) && defined(__GNUC__) && __GNUC__ >= 10
#define QNEON_SDOT 1
#define QNEON_TARGET __attribute__((target("arch=armv8.2-a+dotprod")))
#endif
#if defined(QNEON_SDOT)
/* Four rows: one 16-byte load holds the four rows' int8 quads; sdot by lane. */
QNEON_TARGET static void qk_neon(int64_t kq, const void *pa_, const int8_t *pb, int32_t *tile) {
  const int8_t *pa = pa_;
  int32x4_t c[4][4];
  for (int r = 0; r < 4; r++)
    for (int j = 0; j < 4; j++) c[r][j] = vdupq_n_s32(0);
  for (int64_t k = 0; k < kq; k++, pa += 16, pb += 64) {
    int8x16_t a = vld1q_s8(pa);
    for (int j = 0; j < 4; j++) {
      int8x16_t b = vld1q_s8(pb + 16 * j);
      c[0][j] = vdotq_laneq_s32(c[0][j], b, a, 0);
      c[1][j] = vdotq_laneq_s32(c[1][j], b, a, 1);
      c[2][j] = vdotq_laneq_s32(c[2][j], b, a, 2);
      c[3][j] = vdotq_laneq_s32(c[3][j], b, a, 3);
    }
  }
  for (int r = 0; r < 4; r++)
    for (int j = 0; j < 4; j++) vst1q_s32(tile + r * QNR + 4 * j, c[r][j]);
}
#endif

typedef struct QIsa {
  int mr;
  QaKind ak;
  QKern kern;
} QIsa;

static QIsa q_isa(int isa) {
  QIsa q = {4, QA_U8, qk_scalar};
  (void)isa;
#if defined(EFFC_HAVE_AVX512)
  if (isa == EFFC_ISA_AVX512) q = (QIsa){8, QA_U8, qk_avx512};
#endif
#if defined(EFFC_HAVE_AVX2)
  if (isa == EFFC_ISA_AVX2) q = (QIsa){2, QA_I16, qk_avx2};
#endif
#if defined(QNEON_SDOT)
  if (isa == EFFC_ISA_NEON) q = (QIsa){4, QA_S8, qk_neon};
#endif
  return q;
}

/* ------------------------------------------------------------------ driver */

/* Pack `rows` rows of A (element (r, k) at src[r * rs + k * cs]) for the micro-kernel, rows
 * padded with zeros to a multiple of MR, and sum each row of a'. */
static void q_packa(const QIsa *qi, int64_t K, const uint8_t *src, int64_t rs, int64_t cs,
                    int a_signed, int64_t rows, void *dst, int32_t *rowsum) {
  int64_t kq = q_kq(K), mr = qi->mr, padded = (rows + mr - 1) / mr * mr;
  size_t esz = qi->ak == QA_I16 ? 2 : 1;
  memset(dst, 0, (size_t)(padded * kq * 4) * esz);
  unsigned flip = (qi->ak == QA_S8) == (a_signed != 0) ? 0u : 0x80u;
  int sub = qi->ak == QA_S8 ? 256 : 0; /* a' >= 128 means a' - 256 for int8 */
  for (int64_t r = 0; r < rows; r++) {
    int32_t sum = 0;
    const uint8_t *row = src + r * rs;
    int64_t base = (r / mr) * kq * mr * 4 + (r % mr) * 4, step = mr * 4;
    if (qi->ak == QA_I16) {
      int16_t *d = (int16_t *)dst + base;
      for (int64_t k = 0; k < K; k++) {
        int v = (int)(row[k * cs] ^ flip);
        d[(k >> 2) * step + (k & 3)] = (int16_t)v;
        sum += v;
      }
    } else {
      uint8_t *d = (uint8_t *)dst + base;
      for (int64_t k = 0; k < K; k++) {
        unsigned u = row[k * cs] ^ flip;
        d[(k >> 2) * step + (k & 3)] = (uint8_t)u;
        sum += (int)u - (u >= 128 ? sub : 0);
      }
    }
    rowsum[r] = sum;
  }
}

/* The offset of a' (a = a' + offset) for the ISA's A form. */
static int32_t q_aoff(const QIsa *qi, int a_signed) {
  if (qi->ak == QA_S8) return a_signed ? 0 : 128;
  return a_signed ? -128 : 0;
}

/* v[c] = tile[c] - zb'[c] * rowsum - za' * q[c] + bias[c] (wrapping int32). */
static void q_correct_scalar(const int32_t *tile, const int32_t *zbp, const int32_t *qs,
                             const int32_t *bias, int32_t rsum, int32_t za, int64_t nc, int32_t *v) {
  for (int64_t c = 0; c < nc; c++) {
    uint32_t t = (uint32_t)tile[c] - (uint32_t)zbp[c] * (uint32_t)rsum - (uint32_t)za * (uint32_t)qs[c];
    v[c] = (int32_t)(t + (bias ? (uint32_t)bias[c] : 0u));
  }
}

#if defined(EFFC_HAVE_AVX2)
EFFC_TARGET_AVX2 static void q_correct_avx2(const int32_t *tile, const int32_t *zbp, const int32_t *qs,
                                            const int32_t *bias, int32_t rsum, int32_t za, int32_t *v) {
  __m256i rs = _mm256_set1_epi32(rsum), z = _mm256_set1_epi32(za);
#pragma GCC unroll 2
  for (int h = 0; h < 16; h += 8) {
    __m256i t = _mm256_loadu_si256((const __m256i *)(tile + h));
    t = _mm256_sub_epi32(t, _mm256_mullo_epi32(_mm256_loadu_si256((const __m256i *)(zbp + h)), rs));
    t = _mm256_sub_epi32(t, _mm256_mullo_epi32(_mm256_loadu_si256((const __m256i *)(qs + h)), z));
    if (bias) t = _mm256_add_epi32(t, _mm256_loadu_si256((const __m256i *)(bias + h)));
    _mm256_storeu_si256((__m256i *)(v + h), t);
  }
}
#endif

static void q_correct(int isa, const int32_t *tile, const int32_t *zbp, const int32_t *qs,
                      const int32_t *bias, int32_t rsum, int32_t za, int64_t nc, int32_t *v) {
  (void)isa;
#if defined(EFFC_HAVE_AVX2)
  if (nc == QNR && (isa == EFFC_ISA_AVX2 || isa == EFFC_ISA_AVX512)) {
    q_correct_avx2(tile, zbp, qs, bias, rsum, za, v);
    return;
  }
#endif
  q_correct_scalar(tile, zbp, qs, bias, rsum, za, nc, v);
}

static void q_store(const EffcQgemm *p, int isa, const int32_t *v, int64_t m, int64_t n0, int64_t nc) {
  size_t esz = p->y_type == EFFC_Q_I32 ? 4 : 1;
  uint8_t *y = (uint8_t *)p->y + (size_t)(m * p->y_rs + n0 * p->y_cs) * esz;
  uint8_t tmp[QNR];
  const uint8_t *src = (const uint8_t *)v;
  if (p->y_type != EFFC_Q_I32) {
    effc_qrequant(isa, v, nc, p->mult + m * p->mult_rs + n0, 1, p->yzp[m * p->yzp_stride],
                  p->y_type, tmp);
    src = tmp;
  }
  if (p->y_cs == 1) memcpy(y, src, (size_t)nc * esz);
  else
    for (int64_t c = 0; c < nc; c++) memcpy(y + (size_t)(c * p->y_cs) * esz, src + c * esz, esz);
}

static size_t q_gbytes(const EffcQgemm *p) {
  return p->gather ? q_align((size_t)(QMB * p->K)) : 0;
}

static size_t q_abytes(const EffcQgemm *p) {
  return q_align((size_t)(QMB * q_kq(p->K) * 4 * 2));
}

static size_t q_thread_scratch(const EffcQgemm *p) {
  return q_gbytes(p) + q_abytes(p) + q_align(QMB * sizeof(int32_t));
}

EFFC_KERN size_t effc_qgemm_scratch(int isa, const EffcQgemm *p, int nt) {
  (void)isa;
  return q_thread_scratch(p) * (size_t)(nt > 0 ? nt : 1);
}

EFFC_KERN void effc_qgemm(int isa, const EffcQgemm *p, void *scratch, int tid, int nt) {
  QIsa qi = q_isa(isa);
  int64_t M = p->M, N = p->N, K = p->K, kq = q_kq(K), np = q_np(N);
  if (M <= 0 || N <= 0) return;
  int64_t nb = (M + QMB - 1) / QMB, nc = (np + QPCH - 1) / QPCH, units = nb * nc;
  int64_t u0 = units * tid / nt, u1 = units * (tid + 1) / nt;
  uint8_t *ts = (uint8_t *)scratch + q_thread_scratch(p) * (size_t)tid;
  uint8_t *gbuf = ts;
  void *apack = ts + q_gbytes(p);
  int32_t *rowsum = (int32_t *)(ts + q_gbytes(p) + q_abytes(p));
  const int32_t *zbp = p->bp, *qs = zbp + np * QNR;
  const int8_t *bd = (const int8_t *)(qs + np * QNR);
  int32_t aoff = q_aoff(&qi, p->a_signed);
  size_t ablk = (size_t)(qi.mr * kq * 4) * (qi.ak == QA_I16 ? 2 : 1);
  int64_t cur = -1;
  int32_t tile[8 * QNR], v[QNR];
  for (int64_t u = u0; u < u1; u++) {
    int64_t rb = u / nc, cc = u % nc, m0 = rb * QMB, rows = M - m0 < QMB ? M - m0 : QMB;
    if (rb != cur) {
      if (p->gather) {
        p->gather(p->gather_ctx, m0, rows, gbuf);
        q_packa(&qi, K, gbuf, K, 1, p->a_signed, rows, apack, rowsum);
      } else {
        q_packa(&qi, K, (const uint8_t *)p->a + m0 * p->a_rs, p->a_rs, p->a_cs, p->a_signed, rows,
                apack, rowsum);
      }
      cur = rb;
    }
    int64_t j1 = (cc + 1) * QPCH < np ? (cc + 1) * QPCH : np;
    for (int64_t j = cc * QPCH; j < j1; j++) {
      int64_t n0 = j * QNR, ncols = N - n0 < QNR ? N - n0 : QNR;
      for (int64_t s = 0; s < rows; s += qi.mr) {
        qi.kern(kq, (const uint8_t *)apack + (size_t)(s / qi.mr) * ablk, bd + j * kq * QNR * 4, tile);
        int64_t rr = rows - s < qi.mr ? rows - s : qi.mr;
        for (int64_t r = 0; r < rr; r++) {
          int64_t m = m0 + s + r;
          int32_t za = (p->za ? p->za[m * p->za_stride] : 0) - aoff;
          q_correct(isa, tile + r * QNR, zbp + n0, qs + n0, p->bias ? p->bias + n0 : NULL,
                    rowsum[s + r], za, ncols, v);
          q_store(p, isa, v, m, n0, ncols);
        }
      }
    }
  }
}

/* ------------------------------------------------------------------ convolution */

typedef struct QConvGeo {
  int64_t P, Cg, Mg, kvol, K;
  int dw, direct; /* depthwise; 1x1 read in place */
} QConvGeo;

static QConvGeo q_geo(const EffcQconv *p) {
  QConvGeo g;
  g.P = p->out[0] * p->out[1] * p->out[2];
  g.Cg = p->C / p->G;
  g.Mg = p->M / p->G;
  g.kvol = p->k[0] * p->k[1] * p->k[2];
  g.K = g.Cg * g.kvol;
  g.dw = g.Cg == 1;
  g.direct = g.kvol == 1;
  for (int i = 0; i < 3; i++)
    if (p->s[i] != 1 || p->pb[i] != 0 || p->out[i] != p->in[i]) g.direct = 0;
  return g;
}

EFFC_KERN size_t effc_qconv_pack_size(const EffcQconv *p) {
  QConvGeo g = q_geo(p);
  if (g.dw) return q_align((size_t)(p->M * g.kvol) * sizeof(int16_t));
  return (size_t)p->G * effc_qgemm_packb_size(g.K, g.Mg);
}

EFFC_KERN void effc_qconv_pack(const EffcQconv *p, const void *w, int w_signed, const int32_t *wz,
                               int64_t wz_stride, void *packed) {
  QConvGeo g = q_geo(p);
  const uint8_t *wb = w;
  if (g.dw) { /* w - wz as int16 */
    int16_t *d = packed;
    for (int64_t m = 0; m < p->M; m++)
      for (int64_t k = 0; k < g.kvol; k++) {
        int v = wb[m * g.kvol + k];
        if (w_signed && v >= 128) v -= 256;
        d[m * g.kvol + k] = (int16_t)(v - (wz ? wz[m * wz_stride] : 0));
      }
    return;
  }
  size_t gsz = effc_qgemm_packb_size(g.K, g.Mg);
  for (int64_t gi = 0; gi < p->G; gi++) /* B = W_g^T: element (k, m) at w[m * K + k] */
    effc_qgemm_packb(g.K, g.Mg, wb + gi * g.Mg * g.K, w_signed, 1, g.K,
                     wz ? wz + gi * g.Mg * wz_stride : NULL, wz_stride, (uint8_t *)packed + gi * gsz);
}

typedef struct QGather {
  const EffcQconv *p;
  QConvGeo g;
  int64_t n, gi;
} QGather;

/* im2col rows: row = output pixel, column = (channel, window position); padding reads xz. */
static void q_gather(const void *ctx, int64_t m0, int64_t rows, uint8_t *dst) {
  const QGather *q = ctx;
  const EffcQconv *p = q->p;
  const uint8_t *x = (const uint8_t *)p->x + (q->n * p->C + q->gi * q->g.Cg) * p->in[0] * p->in[1] * p->in[2];
  uint8_t zb = (uint8_t)(p->xz & 0xff);
  int64_t ivol = p->in[0] * p->in[1] * p->in[2];
  if (p->in[0] == 1 && p->k[0] == 1 && p->out[0] == 1) { /* 1-D and 2-D: one test per tap */
    int64_t k1 = p->k[1], k2 = p->k[2], in1 = p->in[1], in2 = p->in[2];
    for (int64_t r = 0; r < rows; r++, dst += q->g.K) {
      int64_t o = m0 + r, o2 = o % p->out[2], o1 = o / p->out[2], k = 0;
      int64_t base1 = o1 * p->s[1] - p->pb[1], base2 = o2 * p->s[2] - p->pb[2];
      for (int64_t c = 0; c < q->g.Cg; c++)
        for (int64_t b = 0; b < k1; b++) {
          int64_t i1 = base1 + b * p->d[1];
          if (i1 < 0 || i1 >= in1) {
            memset(dst + k, zb, (size_t)k2);
            k += k2;
            continue;
          }
          const uint8_t *xr = x + c * ivol + i1 * in2;
          for (int64_t e = 0; e < k2; e++, k++) {
            int64_t i2 = base2 + e * p->d[2];
            dst[k] = (uint64_t)i2 < (uint64_t)in2 ? xr[i2] : zb;
          }
        }
    }
    return;
  }
  for (int64_t r = 0; r < rows; r++, dst += q->g.K) {
    int64_t o = m0 + r, o2 = o % p->out[2], o1 = (o / p->out[2]) % p->out[1], o0 = o / (p->out[2] * p->out[1]);
    int64_t k = 0;
    for (int64_t c = 0; c < q->g.Cg; c++)
      for (int64_t a = 0; a < p->k[0]; a++) {
        int64_t i0 = o0 * p->s[0] - p->pb[0] + a * p->d[0];
        for (int64_t b = 0; b < p->k[1]; b++) {
          int64_t i1 = o1 * p->s[1] - p->pb[1] + b * p->d[1];
          for (int64_t e = 0; e < p->k[2]; e++, k++) {
            int64_t i2 = o2 * p->s[2] - p->pb[2] + e * p->d[2];
            int in = i0 >= 0 && i0 < p->in[0] && i1 >= 0 && i1 < p->in[1] && i2 >= 0 && i2 < p->in[2];
            dst[k] = in ? x[c * ivol + (i0 * p->in[1] + i1) * p->in[2] + i2] : zb;
          }
        }
      }
  }
}

static EffcQgemm q_conv_gemm(const EffcQconv *p, const QConvGeo *g, QGather *gc, int64_t n, int64_t gi) {
  size_t esz = p->y_type == EFFC_Q_I32 ? 4 : 1;
  EffcQgemm q;
  memset(&q, 0, sizeof q);
  q.M = g->P;
  q.N = g->Mg;
  q.K = g->K;
  q.a_signed = p->x_signed;
  if (g->direct) {
    q.a = (const uint8_t *)p->x + (n * p->C + gi * g->Cg) * g->P;
    q.a_rs = 1;
    q.a_cs = g->P;
  } else {
    gc->p = p;
    gc->g = *g;
    gc->n = n;
    gc->gi = gi;
    q.gather = q_gather;
    q.gather_ctx = gc;
  }
  q.za = &p->xz;
  q.bp = (const uint8_t *)p->wp + (size_t)gi * effc_qgemm_packb_size(g->K, g->Mg);
  q.bias = p->bias ? p->bias + gi * g->Mg : NULL;
  q.y = (uint8_t *)p->y + (size_t)((n * p->M + gi * g->Mg) * g->P) * esz;
  q.y_rs = 1;
  q.y_cs = g->P;
  q.y_type = p->y_type;
  q.mult = p->mult ? p->mult + gi * g->Mg : NULL;
  q.yzp = &p->yzp;
  return q;
}

EFFC_KERN size_t effc_qconv_scratch(int isa, const EffcQconv *p, int nt) {
  QConvGeo g = q_geo(p);
  if (g.dw) return q_align((size_t)g.P * sizeof(int32_t)) * (size_t)(nt > 0 ? nt : 1);
  QGather gc;
  EffcQgemm q = q_conv_gemm(p, &g, &gc, 0, 0);
  return effc_qgemm_scratch(isa, &q, nt);
}

/* The window positions [lo, hi) of one dim whose input index o * s - pb + e * d is inside. */
static void q_krange(int64_t o, int64_t s, int64_t pb, int64_t d, int64_t k, int64_t in,
                     int64_t *lo, int64_t *hi) {
  int64_t t = pb - o * s, u = in - 1 + pb - o * s;
  if (d == 1) { /* the common case, without divisions */
    *lo = t <= 0 ? 0 : t;
    *hi = u < 0 ? 0 : u + 1 < k ? u + 1 : k;
  } else {
    *lo = t <= 0 ? 0 : (t + d - 1) / d;
    *hi = u < 0 ? 0 : u / d + 1 < k ? u / d + 1 : k;
  }
  if (*hi < *lo) *hi = *lo;
}

/* Depthwise: each output channel reads one input channel; plane by plane, the window
 * clipped to the image per output position (no bounds tests in the inner loop). */
static void q_conv_dw(int isa, const EffcQconv *p, const QConvGeo *g, void *scratch, int tid, int nt) {
  int64_t units = p->N * p->M, u0 = units * tid / nt, u1 = units * (tid + 1) / nt;
  int32_t *acc = (int32_t *)((uint8_t *)scratch + q_align((size_t)g->P * sizeof(int32_t)) * (size_t)tid);
  int64_t ivol = p->in[0] * p->in[1] * p->in[2], k12 = p->k[1] * p->k[2];
  unsigned flip = p->x_signed ? 0x80u : 0u;
  int32_t xzz = p->xz + (p->x_signed ? 128 : 0); /* x - xz = (x ^ flip) - xzz */
  for (int64_t u = u0; u < u1; u++) {
    int64_t n = u / p->M, m = u % p->M;
    const uint8_t *x = (const uint8_t *)p->x + (n * p->C + m / g->Mg) * ivol;
    const int16_t *w = (const int16_t *)p->wp + m * g->kvol;
    uint32_t b0 = p->bias ? (uint32_t)p->bias[m] : 0;
    int64_t o = 0;
    for (int64_t o0 = 0; o0 < p->out[0]; o0++) {
      int64_t a0, a1;
      q_krange(o0, p->s[0], p->pb[0], p->d[0], p->k[0], p->in[0], &a0, &a1);
      for (int64_t o1 = 0; o1 < p->out[1]; o1++) {
        int64_t b0r, b1r;
        q_krange(o1, p->s[1], p->pb[1], p->d[1], p->k[1], p->in[1], &b0r, &b1r);
        for (int64_t o2 = 0; o2 < p->out[2]; o2++, o++) {
          int64_t e0, e1;
          q_krange(o2, p->s[2], p->pb[2], p->d[2], p->k[2], p->in[2], &e0, &e1);
          uint32_t sum = 0; /* wrapping, as every accumulator here */
          for (int64_t a = a0; a < a1; a++)
            for (int64_t b = b0r; b < b1r; b++) {
              const uint8_t *xr = x + ((o0 * p->s[0] - p->pb[0] + a * p->d[0]) * p->in[1] +
                                       o1 * p->s[1] - p->pb[1] + b * p->d[1]) * p->in[2] +
                                  o2 * p->s[2] - p->pb[2];
              const int16_t *wk = w + a * k12 + b * p->k[2];
              for (int64_t e = e0; e < e1; e++) sum += (uint32_t)(((int32_t)(xr[e * p->d[2]] ^ flip) - xzz) * wk[e]);
            }
          acc[o] = (int32_t)(b0 + sum);
        }
      }
    }
    uint8_t *y = (uint8_t *)p->y + (size_t)((n * p->M + m) * g->P) * (p->y_type == EFFC_Q_I32 ? 4 : 1);
    if (p->y_type == EFFC_Q_I32) memcpy(y, acc, (size_t)g->P * sizeof(int32_t));
    else effc_qrequant(isa, acc, g->P, p->mult + m, 0, p->yzp, p->y_type, y);
  }
}

/* Output positions o in [0, out) whose input index o * s + off lies in [0, in). */
static void q_orange(int64_t off, int64_t s, int64_t in, int64_t out, int64_t *lo, int64_t *hi) {
  int64_t a = -off, b = in - 1 - off;
  int64_t l = a <= 0 ? 0 : (a + s - 1) / s, h = b < 0 ? 0 : b / s + 1;
  *lo = l < out ? l : out;
  *hi = h < out ? h : out;
  if (*hi < *lo) *hi = *lo;
}

#if defined(EFFC_HAVE_AVX2)
/* ar[o] += ((x[o] ^ flip) - xzz) * w for o in [lo, hi), 8 at a time; returns where it stopped. */
EFFC_TARGET_AVX2 static int64_t q_dw_row_avx2(uint32_t *ar, const uint8_t *xr, int64_t lo, int64_t hi,
                                              int32_t flip, int32_t xzz, int32_t w) {
  __m256i vf = _mm256_set1_epi32(flip), vz = _mm256_set1_epi32(xzz), vw = _mm256_set1_epi32(w);
  int64_t o = lo;
  for (; o + 8 <= hi; o += 8) {
    __m256i xv = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(xr + o)));
    xv = _mm256_sub_epi32(_mm256_xor_si256(xv, vf), vz);
    __m256i a = _mm256_loadu_si256((const __m256i *)(ar + o));
    _mm256_storeu_si256((__m256i *)(ar + o), _mm256_add_epi32(a, _mm256_mullo_epi32(xv, vw)));
  }
  return o;
}
#endif

/* Depthwise 1-D / 2-D: per plane, tap by tap, each tap's valid rectangle of outputs
 * accumulated row by row (contiguous for stride 1); wrapping int32 sums, so the order of the
 * taps does not change a bit. */
static void q_conv_dw2d(int isa, const EffcQconv *p, const QConvGeo *g, void *scratch, int tid, int nt) {
  int64_t units = p->N * p->M, u0 = units * tid / nt, u1 = units * (tid + 1) / nt;
  uint32_t *acc = (uint32_t *)((uint8_t *)scratch + q_align((size_t)g->P * sizeof(int32_t)) * (size_t)tid);
  int64_t H = p->in[1], W = p->in[2], OH = p->out[1], OW = p->out[2], KH = p->k[1], KW = p->k[2];
  int32_t flip = p->x_signed ? 0x80 : 0, xzz = p->xz + (p->x_signed ? 128 : 0);
  for (int64_t u = u0; u < u1; u++) {
    int64_t n = u / p->M, m = u % p->M;
    const uint8_t *x = (const uint8_t *)p->x + (n * p->C + m / g->Mg) * H * W;
    const int16_t *w = (const int16_t *)p->wp + m * g->kvol;
    uint32_t b0 = p->bias ? (uint32_t)p->bias[m] : 0;
    for (int64_t i = 0; i < g->P; i++) acc[i] = b0;
    for (int64_t a = 0; a < KH; a++) {
      int64_t r0, r1, offr = a * p->d[1] - p->pb[1];
      q_orange(offr, p->s[1], H, OH, &r0, &r1);
      for (int64_t e = 0; e < KW; e++) {
        int64_t c0, c1, offc = e * p->d[2] - p->pb[2];
        int32_t wv = w[a * KW + e];
        q_orange(offc, p->s[2], W, OW, &c0, &c1);
        for (int64_t oh = r0; oh < r1; oh++) {
          const uint8_t *xr = x + (oh * p->s[1] + offr) * W + offc;
          uint32_t *ar = acc + oh * OW;
          int64_t o = c0;
          if (p->s[2] == 1) {
#if defined(EFFC_HAVE_AVX2)
            if (isa == EFFC_ISA_AVX2 || isa == EFFC_ISA_AVX512) o = q_dw_row_avx2(ar, xr, c0, c1, flip, xzz, wv);
#endif
            for (; o < c1; o++) ar[o] += (uint32_t)((((int32_t)xr[o] ^ flip) - xzz) * wv);
          } else {
            for (; o < c1; o++) ar[o] += (uint32_t)((((int32_t)xr[o * p->s[2]] ^ flip) - xzz) * wv);
          }
        }
      }
    }
    uint8_t *y = (uint8_t *)p->y + (size_t)((n * p->M + m) * g->P) * (p->y_type == EFFC_Q_I32 ? 4 : 1);
    if (p->y_type == EFFC_Q_I32) memcpy(y, acc, (size_t)g->P * sizeof(int32_t));
    else effc_qrequant(isa, (const int32_t *)acc, g->P, p->mult + m, 0, p->yzp, p->y_type, y);
  }
}

EFFC_KERN void effc_qconv(int isa, const EffcQconv *p, void *scratch, int tid, int nt) {
  QConvGeo g = q_geo(p);
  if (g.P <= 0 || p->M <= 0) return;
  if (g.dw) {
    if (p->in[0] == 1 && p->k[0] == 1 && p->out[0] == 1) q_conv_dw2d(isa, p, &g, scratch, tid, nt);
    else q_conv_dw(isa, p, &g, scratch, tid, nt);
    return;
  }
  QGather gc;
  for (int64_t n = 0; n < p->N; n++)
    for (int64_t gi = 0; gi < p->G; gi++) {
      EffcQgemm q = q_conv_gemm(p, &g, &gc, n, gi);
      effc_qgemm(isa, &q, scratch, tid, nt);
    }
}
