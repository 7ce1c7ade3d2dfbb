/* nbits.c - com.microsoft MatMulNBits on float32 activations (kern.h): B's 2/4/8-bit codes are
 * dequantized 16 columns at a time into a k-major tile (w[k * 16 + j]) in the thread's scratch,
 * then multiplied with A four rows at a time (AVX2: two 8-wide FMA accumulators per row; NEON:
 * four 4-wide; a portable loop over j elsewhere). Tiles of columns are
 * split over threads; every output sums k in order, so results do not depend on nt. */
#include "kern.h"

#define NB_TILE 16

/* Code k of B's row n (packed low bits first). */
static int nb_code(const EffcNbits *p, const uint8_t *row, int64_t k) {
  int64_t bit = k * p->bits;
  return (row[bit >> 3] >> (bit & 7)) & ((1 << p->bits) - 1);
}

/* Scale and zero point of block g of row n. */
static void nb_block(const EffcNbits *p, int64_t n, int64_t g, float *s, float *z) {
  int64_t kb = (p->K + p->block - 1) / p->block;
  *s = p->scales[n * kb + g];
  if (p->zp_float) {
    *z = p->zp_float[n * kb + g];
  } else if (p->zp_packed) {
    int64_t per = (kb * p->bits + 7) / 8, bit = g * p->bits;
    *z = (float)((p->zp_packed[n * per + (bit >> 3)] >> (bit & 7)) & ((1 << p->bits) - 1));
  } else {
    *z = (float)(1 << (p->bits - 1));
  }
}

EFFC_KERN const char *effc_nbits_check(int64_t K, int64_t N, int64_t bits, int64_t block,
                                       int64_t n_b, int64_t n_scales, int64_t n_zp, int zp_float,
                                       int64_t n_gidx, int64_t n_bias) {
  if (K < 1 || N < 1 || K > ((int64_t)1 << 40) || N > ((int64_t)1 << 40))
    return "K and N must be positive";
  if (bits != 2 && bits != 4 && bits != 8) return "bits must be 2, 4 or 8";
  if (block < 16 || block > ((int64_t)1 << 20) || (block & (block - 1)))
    return "block_size must be a power of two >= 16";
  int64_t kb = (K + block - 1) / block;
  if (n_b != N * kb * (block * bits / 8))
    return "B must hold N * ceil(K / block_size) * block_size * bits / 8 bytes";
  if (n_scales != N * kb) return "scales must hold N * ceil(K / block_size) values";
  if (n_zp >= 0 && n_zp != (zp_float ? N * kb : N * ((kb * bits + 7) / 8)))
    return "zero_points must hold N * ceil(K / block_size) floats, or N * ceil(ceil(K / "
           "block_size) * bits / 8) packed uint8";
  if (n_gidx >= 0 && n_gidx != K) return "g_idx must hold K values";
  if (n_bias >= 0 && n_bias != N) return "bias must hold N values";
  return NULL;
}

EFFC_KERN void effc_nbits_dequant_row(const EffcNbits *p, int64_t n, float *w) {
  int64_t kb = (p->K + p->block - 1) / p->block, blob = p->block * p->bits / 8;
  const uint8_t *row = p->b + n * kb * blob;
  if (p->g_idx) {
    for (int64_t k = 0; k < p->K; k++) {
      float s, z;
      nb_block(p, n, p->g_idx[k], &s, &z);
      w[k] = ((float)nb_code(p, row, k) - z) * s;
    }
    return;
  }
  for (int64_t g = 0; g < kb; g++) {
    float s, z;
    nb_block(p, n, g, &s, &z);
    int64_t k0 = g * p->block, k1 = k0 + p->block < p->K ? k0 + p->block : p->K;
    const uint8_t *blk = row + g * blob;
    if (p->bits == 4 && k1 - k0 == p->block) { /* the common case, two codes a byte */
      for (int64_t i = 0; i < p->block / 2; i++) {
        w[k0 + 2 * i] = ((float)(blk[i] & 15) - z) * s;
        w[k0 + 2 * i + 1] = ((float)(blk[i] >> 4) - z) * s;
      }
    } else {
      for (int64_t k = k0; k < k1; k++) w[k] = ((float)nb_code(p, blk, k - k0) - z) * s;
    }
  }
}

EFFC_KERN size_t effc_nbits_scratch(const EffcNbits *p, int nt) {
  return (size_t)nt * (size_t)(p->K + 1) * (NB_TILE + 1) * sizeof(float);
}

/* Columns [n0, n0 + nc) of B into the k-major tile t (missing columns zero). */
static void nb_tile(const EffcNbits *p, int64_t n0, int64_t nc, float *row, float *t) {
  for (int64_t j = 0; j < NB_TILE; j++) {
    if (j < nc) effc_nbits_dequant_row(p, n0 + j, row);
    for (int64_t k = 0; k < p->K; k++) t[k * NB_TILE + j] = j < nc ? row[k] : 0.0f;
  }
}

/* Y rows [m0, m0 + mr) (mr <= 4), columns [n0, n0 + nc), from the tile t: portable. */
static void nb_rows(const EffcNbits *p, const float *A, const float *t, int64_t m0, int64_t mr,
                    int64_t n0, int64_t nc, float *Y) {
  for (int64_t r = 0; r < mr; r++) {
    float acc[NB_TILE] = {0};
    const float *a = A + (m0 + r) * p->K;
    for (int64_t k = 0; k < p->K; k++)
      for (int j = 0; j < NB_TILE; j++) acc[j] += a[k] * t[k * NB_TILE + j];
    for (int64_t j = 0; j < nc; j++)
      Y[(m0 + r) * p->N + n0 + j] = acc[j] + (p->bias ? p->bias[n0 + j] : 0.0f);
  }
}

#if defined(EFFC_HAVE_AVX2)
EFFC_TARGET_AVX2 static void nb_rows_avx2(const EffcNbits *p, const float *A, const float *t,
                                          int64_t m0, int64_t mr, int64_t n0, int64_t nc,
                                          float *Y) {
  __m256 acc[4][2];
  const float *a[4];
  for (int r = 0; r < 4; r++) {
    acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    a[r] = A + (m0 + (r < mr ? r : 0)) * p->K;
  }
  for (int64_t k = 0; k < p->K; k++) {
    __m256 w0 = _mm256_loadu_ps(t + k * NB_TILE), w1 = _mm256_loadu_ps(t + k * NB_TILE + 8);
    for (int r = 0; r < 4; r++) {
      __m256 x = _mm256_broadcast_ss(a[r] + k);
      acc[r][0] = _mm256_fmadd_ps(x, w0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x, w1, acc[r][1]);
    }
  }
  for (int64_t r = 0; r < mr; r++) {
    float o[NB_TILE];
    _mm256_storeu_ps(o, acc[r][0]);
    _mm256_storeu_ps(o + 8, acc[r][1]);
    for (int64_t j = 0; j < nc; j++)
      Y[(m0 + r) * p->N + n0 + j] = o[j] + (p->bias ? p->bias[n0 + j] : 0.0f);
  }
}
#endif

#if defined(EFFC_HAVE_NEON)
static void nb_rows_neon(const EffcNbits *p, const float *A, const float *t, int64_t m0,
                         int64_t mr, int64_t n0, int64_t nc, float *Y) {
  float32x4_t acc[4][4];
  const float *a[4];
  for (int r = 0; r < 4; r++) {
    for (int q = 0; q < 4; q++) acc[r][q] = vdupq_n_f32(0.0f);
    a[r] = A + (m0 + (r < mr ? r : 0)) * p->K;
  }
  for (int64_t k = 0; k < p->K; k++) {
    float32x4_t w[4];
    for (int q = 0; q < 4; q++) w[q] = vld1q_f32(t + k * NB_TILE + 4 * q);
    for (int r = 0; r < 4; r++) {
      float32x4_t x = vdupq_n_f32(a[r][k]);
      for (int q = 0; q < 4; q++) acc[r][q] = vfmaq_f32(acc[r][q], x, w[q]);
    }
  }
  for (int64_t r = 0; r < mr; r++) {
    float o[NB_TILE];
    for (int q = 0; q < 4; q++) vst1q_f32(o + 4 * q, acc[r][q]);
    for (int64_t j = 0; j < nc; j++)
      Y[(m0 + r) * p->N + n0 + j] = o[j] + (p->bias ? p->bias[n0 + j] : 0.0f);
  }
}
#endif

EFFC_KERN void effc_matmul_nbits(int isa, const EffcNbits *p, const float *A, float *Y,
                                 void *scratch, int tid, int nt) {
  int64_t tiles = (p->N + NB_TILE - 1) / NB_TILE;
  int64_t lo = tiles * tid / nt, hi = tiles * (tid + 1) / nt;
  float *t = (float *)scratch + (size_t)tid * (size_t)(p->K + 1) * (NB_TILE + 1);
  float *row = t + p->K * NB_TILE;
  for (int64_t ti = lo; ti < hi; ti++) {
    int64_t n0 = ti * NB_TILE, nc = p->N - n0 < NB_TILE ? p->N - n0 : NB_TILE;
    nb_tile(p, n0, nc, row, t);
    for (int64_t m0 = 0; m0 < p->M; m0 += 4) {
      int64_t mr = p->M - m0 < 4 ? p->M - m0 : 4;
#if defined(EFFC_HAVE_AVX2)
      if (isa == EFFC_ISA_AVX2 || isa == EFFC_ISA_AVX512) {
        nb_rows_avx2(p, A, t, m0, mr, n0, nc, Y);
        continue;
      }
#endif
#if defined(EFFC_HAVE_NEON)
      if (isa == EFFC_ISA_NEON) {
        nb_rows_neon(p, A, t, m0, mr, n0, nc, Y);
        continue;
      }
#endif
      nb_rows(p, A, t, m0, mr, n0, nc, Y);
    }
  }
  (void)isa;
}
