/* mcu_kern.c - the kernels of the MCU backend's emitted code (backends/mcu/mcu.c copies this
 * text into every model.c). Integer only, allocation-free, no stdio: every function is
 * always_inline and every call site passes its layer's shape as literals, so the compiler
 * specializes each layer's loops (the TinyEngine approach: code generated per layer).
 *
 * Layout NCHW (the graph's). Activations are int8 or uint8 (`s` = signed, a literal).
 * Weights are int8: uint8 weights are shifted by -128 at compile time (w - zw unchanged).
 * Convolution and fully connected layers gather one input column at a time (x - x_zero_point
 * as int16, K padded with zeros to MK_KPAD) and take dot products with each output channel's
 * weight row: SMLAD on two int16 pairs per step on Armv7E-M (weights pre-permuted so that
 * SXTB16 and SXTB16 ROR 8 give consecutive pairs), VMLADAVA on eight int16 lanes with Helium.
 * Requantization is the interpreter's rounding (half to even) done exactly in int64. */
#include <stdint.h>
#include <string.h>

#define MK static inline __attribute__((always_inline))

#if EFFC_MCU_ISA == 1 /* Armv7E-M DSP (Cortex-M4, M7) */
#include <arm_acle.h>
#define MK_KPAD 4
#elif EFFC_MCU_ISA == 2 /* Helium MVE (Cortex-M55) */
#include <arm_mve.h>
#define MK_KPAD 8
#else
#define MK_KPAD 1
#endif

MK int32_t mk_ld(const void *p, int s, int32_t i) {
  return s ? (int32_t)((const int8_t *)p)[i] : (int32_t)((const uint8_t *)p)[i];
}

MK void mk_st(void *p, int s, int32_t i, int32_t v) {
  if (s) ((int8_t *)p)[i] = (int8_t)v;
  else ((uint8_t *)p)[i] = (uint8_t)v;
}

MK int32_t mk_sat(int64_t v, int s) {
  int64_t lo = s ? -128 : 0, hi = s ? 127 : 255;
  return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}

/* The interpreter's sat(round_half_even(fl((double)acc * mult + zp))) exactly, in integers:
 * mult = m * 2^-sh (1 <= sh <= 54, m < 2^24, |acc| < 2^29, so acc * mult is exact in double);
 * t = the exact sum in units of 2^-sh, rounded to 53 significant bits (half to even) when it
 * has more, as the double addition does; then rounded half to even at 2^sh. See docs/mcu.md. */
MK int32_t mk_rq(int32_t acc, int32_t m, int32_t sh, int32_t zp, int s) {
  int64_t t = (int64_t)acc * m + (int64_t)zp * ((int64_t)1 << sh);
  if ((uint64_t)t + ((uint64_t)1 << 53) >= ((uint64_t)1 << 54)) { /* |t| >= 2^53 */
    uint64_t a = t < 0 ? 0 - (uint64_t)t : (uint64_t)t;
    int drop = 64 - __builtin_clzll(a) - 53;
    uint64_t rem = a & (((uint64_t)1 << drop) - 1), hf = (uint64_t)1 << (drop - 1);
    a >>= drop;
    a += rem > hf || (rem == hf && (a & 1));
    a <<= drop;
    t = t < 0 ? -(int64_t)a : (int64_t)a;
  }
  int64_t q = t >> sh; /* floor (arithmetic shift) */
  uint64_t r = (uint64_t)t & (((uint64_t)1 << sh) - 1), half = (uint64_t)1 << (sh - 1);
  q += r > half || (r == half && (q & 1));
  return mk_sat(q, s);
}

/* sum of col[k] * w[k] over k < kp (a multiple of MK_KPAD; DSP weights permuted in fours). */
MK int32_t mk_dot(const int16_t *col, const int8_t *w, int32_t kp) {
  int32_t acc = 0;
#if EFFC_MCU_ISA == 1
  for (int32_t k = 0; k < kp; k += 4) {
    uint32_t wv, c0, c1;
    memcpy(&wv, w + k, 4);
    memcpy(&c0, col + k, 4);
    memcpy(&c1, col + k + 2, 4);
    acc = __smlad((int16x2_t)c0, __sxtb16((int8x4_t)wv), acc);
    acc = __smlad((int16x2_t)c1, __sxtb16((int8x4_t)((wv >> 8) | (wv << 24))), acc);
  }
#elif EFFC_MCU_ISA == 2
  for (int32_t k = 0; k < kp; k += 8) acc = vmladavaq_s16(acc, vld1q_s16(col + k), vldrbq_s16(w + k));
#else
  for (int32_t k = 0; k < kp; k++) acc += (int32_t)col[k] * w[k];
#endif
  return acc;
}

/* One output pixel's outputs from its gathered column: channels [m0, m0 + mg). */
MK void mk_column_out(const int16_t *col, int32_t kp, int32_t csum, const int8_t *w,
                      const int32_t *bias, const int32_t *wz, const int32_t *mul,
                      const int8_t *sh, int32_t yz, int ys, void *y, int32_t m0, int32_t mg,
                      int32_t ystride, int32_t yoff) {
  for (int32_t m = m0; m < m0 + mg; m++) {
    int32_t acc = (bias ? bias[m] : 0) + mk_dot(col, w + m * kp, kp);
    if (wz) acc -= wz[m] * csum;
    mk_st(y, ys, m * ystride + yoff, mk_rq(acc, mul[m], sh[m], yz, ys));
  }
}

/* QLinearConv, 2-D, groups (not depthwise): x [C,H,W] -> y [M,OH,OW] for one image. col has
 * kp int16; wz NULL when every weight zero point is 0. */
MK void mk_conv(const void *x, int xs, int32_t xz, int32_t C, int32_t H, int32_t W,
                const int8_t *w, const int32_t *bias, const int32_t *wz, const int32_t *mul,
                const int8_t *sh, int32_t yz, int ys, void *y, int32_t M, int32_t OH, int32_t OW,
                int32_t KH, int32_t KW, int32_t SH, int32_t SW, int32_t PT, int32_t PL,
                int32_t DH, int32_t DW, int32_t G, int32_t kp, int16_t *col) {
  int32_t cg = C / G, mg = M / G, k = cg * KH * KW;
  for (int32_t i = k; i < kp; i++) col[i] = 0;
  for (int32_t g = 0; g < G; g++)
    for (int32_t oh = 0; oh < OH; oh++)
      for (int32_t ow = 0; ow < OW; ow++) {
        int32_t csum = 0, i = 0;
        for (int32_t c = 0; c < cg; c++)
          for (int32_t r = 0; r < KH; r++)
            for (int32_t q = 0; q < KW; q++, i++) {
              int32_t ih = oh * SH - PT + r * DH, iw = ow * SW - PL + q * DW;
              int32_t v = ih >= 0 && ih < H && iw >= 0 && iw < W
                              ? mk_ld(x, xs, ((g * cg + c) * H + ih) * W + iw) - xz
                              : 0;
              col[i] = (int16_t)v;
              csum += v;
            }
        mk_column_out(col, kp, csum, w, bias, wz, mul, sh, yz, ys, y, g * mg, mg, OH * OW,
                      oh * OW + ow);
      }
}

/* QLinearConv 1x1, no padding, group 1: the column is one pixel's channels. */
MK void mk_conv1x1(const void *x, int xs, int32_t xz, int32_t C, int32_t H, int32_t W,
                   const int8_t *w, const int32_t *bias, const int32_t *wz, const int32_t *mul,
                   const int8_t *sh, int32_t yz, int ys, void *y, int32_t M, int32_t OH,
                   int32_t OW, int32_t SH, int32_t SW, int32_t kp, int16_t *col) {
  for (int32_t i = C; i < kp; i++) col[i] = 0;
  for (int32_t oh = 0; oh < OH; oh++)
    for (int32_t ow = 0; ow < OW; ow++) {
      int32_t csum = 0, p = oh * SH * W + ow * SW;
      for (int32_t c = 0; c < C; c++) {
        int32_t v = mk_ld(x, xs, c * H * W + p) - xz;
        col[c] = (int16_t)v;
        csum += v;
      }
      mk_column_out(col, kp, csum, w, bias, wz, mul, sh, yz, ys, y, 0, M, OH * OW, oh * OW + ow);
    }
}

/* Depthwise QLinearConv (group = C = M): direct, weights [C, KH*KW] unpermuted. With tmp
 * (OH*OW bytes) each channel is computed there and then copied out: y may be x (in place,
 * the planner's inplace-dw; channel c of y covers exactly channel c of x). */
MK void mk_dwconv(const void *x, int xs, int32_t xz, int32_t C, int32_t H, int32_t W,
                  const int8_t *w, const int32_t *bias, const int32_t *wz, const int32_t *mul,
                  const int8_t *sh, int32_t yz, int ys, void *y, int32_t OH, int32_t OW,
                  int32_t KH, int32_t KW, int32_t SH, int32_t SW, int32_t PT, int32_t PL,
                  int32_t DH, int32_t DW, uint8_t *tmp) {
  for (int32_t c = 0; c < C; c++) {
    void *dst = tmp ? (void *)tmp : y;
    int32_t base = tmp ? 0 : c * OH * OW;
    const int8_t *wc = w + c * KH * KW;
    int32_t z = wz ? wz[c] : 0;
    for (int32_t oh = 0; oh < OH; oh++)
      for (int32_t ow = 0; ow < OW; ow++) {
        int32_t acc = bias ? bias[c] : 0;
        for (int32_t r = 0; r < KH; r++) {
          int32_t ih = oh * SH - PT + r * DH;
          if (ih < 0 || ih >= H) continue;
          for (int32_t q = 0; q < KW; q++) {
            int32_t iw = ow * SW - PL + q * DW;
            if (iw < 0 || iw >= W) continue;
            acc += (mk_ld(x, xs, (c * H + ih) * W + iw) - xz) * ((int32_t)wc[r * KW + q] - z);
          }
        }
        mk_st(dst, ys, base + oh * OW + ow, mk_rq(acc, mul[c], sh[c], yz, ys));
      }
    if (tmp) memcpy((uint8_t *)y + c * OH * OW, tmp, (size_t)(OH * OW));
  }
}

/* Fully connected (QLinearMatMul with constant B, QGemm): rows of a [R,K] -> y [R,N]; w is
 * B transposed, [N, kp]. */
MK void mk_fc(const void *a, int as, int32_t az, int32_t R, int32_t K, const int8_t *w,
              const int32_t *bias, const int32_t *wz, const int32_t *mul, const int8_t *sh,
              int32_t yz, int ys, void *y, int32_t N, int32_t kp, int16_t *col) {
  for (int32_t i = K; i < kp; i++) col[i] = 0;
  for (int32_t r = 0; r < R; r++) {
    int32_t csum = 0;
    for (int32_t k = 0; k < K; k++) {
      int32_t v = mk_ld(a, as, r * K + k) - az;
      col[k] = (int16_t)v;
      csum += v;
    }
    mk_column_out(col, kp, csum, w, bias, wz, mul, sh, yz, ys, y, 0, N, 1, r * N);
  }
}

/* MaxPool on integers over [C,H,W] (padding never wins). */
MK void mk_maxpool(const void *x, int s, int32_t C, int32_t H, int32_t W, void *y, int32_t OH,
                   int32_t OW, int32_t KH, int32_t KW, int32_t SH, int32_t SW, int32_t PT,
                   int32_t PL, int32_t DH, int32_t DW) {
  for (int32_t c = 0; c < C; c++)
    for (int32_t oh = 0; oh < OH; oh++)
      for (int32_t ow = 0; ow < OW; ow++) {
        int32_t best = s ? -128 : 0;
        for (int32_t r = 0; r < KH; r++) {
          int32_t ih = oh * SH - PT + r * DH;
          if (ih < 0 || ih >= H) continue;
          for (int32_t q = 0; q < KW; q++) {
            int32_t iw = ow * SW - PL + q * DW;
            if (iw < 0 || iw >= W) continue;
            int32_t v = mk_ld(x, s, (c * H + ih) * W + iw);
            best = v > best ? v : best;
          }
        }
        mk_st(y, s, (c * OH + oh) * OW + ow, best);
      }
}

/* QuantizeLinear of a float input: sat(round_half_even(x / scale) + zp), the division in
 * float as the interpreter does; channel ch = (i / inner) % C. The rounding adds and
 * subtracts 1.5 * 2^23 (exact half-to-even for |v| <= 512, the values that do not saturate). */
MK void mk_quantize(const float *x, int32_t n, int32_t inner, int32_t C, const float *scale,
                    const int32_t *zp, int s, void *y) {
  for (int32_t i = 0; i < n; i++) {
    int32_t ch = (i / inner) % C;
    float v = x[i] / scale[ch];
    if (!(v >= -512.0f)) v = -512.0f; /* NaN too */
    if (v > 512.0f) v = 512.0f;
    volatile float t = v + 12582912.0f;
    int32_t q = (int32_t)(t - 12582912.0f);
    mk_st(y, s, i, mk_sat((int64_t)q + zp[ch], s));
  }
}

/* DequantizeLinear to a float output: (x - zp) * scale in float. */
MK void mk_dequantize(const void *x, int s, int32_t n, int32_t inner, int32_t C,
                      const float *scale, const int32_t *zp, float *y) {
  for (int32_t i = 0; i < n; i++) {
    int32_t ch = (i / inner) % C;
    y[i] = (float)(mk_ld(x, s, i) - zp[ch]) * scale[ch];
  }
}
