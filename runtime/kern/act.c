/* act.c - the epilogue activations in scalar C: the reference every vector epilogue matches
 * (same formulas as the interpreter's elementwise kernels, computed in float). */
#include "kern.h"

static float act_sigmoid(float x) {
  if (x >= 0) return 1.0f / (1.0f + expf(-x));
  float e = expf(x);
  return e / (1.0f + e);
}

static float act_clamp01(float v) { return v < 0 ? 0.0f : v > 1 ? 1.0f : v; }

/* NaN passes through every branch below (comparisons with NaN are false). */
EFFC_KERN float effc_act1(float x, const EffcEpilogue *e) {
  switch (e->act) {
  case EFFC_ACT_NONE:
    return x;
  case EFFC_ACT_RELU:
    return x < 0 ? 0.0f : x;
  case EFFC_ACT_LEAKY_RELU:
    return x < 0 ? e->alpha * x : x;
  case EFFC_ACT_CLIP:
    return x < e->alpha ? e->alpha : x > e->beta ? e->beta : x;
  case EFFC_ACT_SIGMOID:
    return act_sigmoid(x);
  case EFFC_ACT_TANH:
    return tanhf(x);
  case EFFC_ACT_HARD_SIGMOID:
    return act_clamp01(e->alpha * x + e->beta);
  case EFFC_ACT_HARD_SWISH:
    return x * act_clamp01(x / 6.0f + 0.5f);
  case EFFC_ACT_SILU:
    return x * act_sigmoid(x);
  case EFFC_ACT_GELU:
    return 0.5f * x * (1.0f + erff(x * 0.70710678f));
  }
  return x;
}

EFFC_KERN void effc_act_apply(float *y, const float *res, size_t n, float b,
                              const EffcEpilogue *e) {
  for (size_t i = 0; i < n; i++) {
    float v = y[i] + b;
    if (res) v += res[i];
    y[i] = effc_act1(v, e);
  }
}

/* ------------------------------------------------------------------ vector Sigmoid */

#if defined(EFFC_HAVE_AVX2)
/* exp(v) for v <= 0 (Cephes' expf: range reduction by ln 2 in two parts, degree-6
 * polynomial, then 2^n applied as two factors 2^(n/2) so that subnormal results come out
 * right; relative error about 2 ulp for normal results; v below -104 gives 0). */
EFFC_TARGET_AVX2 static __m256 act_exp_neg_avx2(__m256 v) {
  v = _mm256_max_ps(v, _mm256_set1_ps(-104.0f));
  __m256 fx = _mm256_round_ps(_mm256_mul_ps(v, _mm256_set1_ps(1.44269504088896341f)),
                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  v = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), v);
  v = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), v);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(v, v), _mm256_add_ps(v, _mm256_set1_ps(1.0f)));
  __m256i n = _mm256_cvtps_epi32(fx), n1 = _mm256_srai_epi32(n, 1), bias = _mm256_set1_epi32(127);
  __m256 e1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  __m256 e2 = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(n, n1), bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, e1), e2);
}

/* y = sigmoid(x), 8 at a time: t = exp(-|x|), 1/(1+t) for x >= 0, t/(1+t) below; NaN kept.
 * Returns the count done. */
EFFC_TARGET_AVX2 static int64_t act_sigmoid_avx2(const float *x, float *y, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    __m256 t = act_exp_neg_avx2(_mm256_or_ps(v, sign)); /* exp(-|x|) */
    __m256 d = _mm256_add_ps(one, t);
    __m256 r = _mm256_div_ps(_mm256_blendv_ps(one, t, v), d); /* x's sign bit selects */
    r = _mm256_blendv_ps(r, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    _mm256_storeu_ps(y + i, r);
  }
  return i;
}
#endif

/* y[i] = sigmoid(x[i]) for i < n (the interpreter's formula in the scalar tail; the vector
 * path within a few ulp of it). x and y may be the same array. */
EFFC_KERN void effc_sigmoid_f32(int isa, const float *x, float *y, int64_t n) {
  int64_t i = 0;
#if defined(EFFC_HAVE_AVX2)
  if (isa == EFFC_ISA_AVX2 || isa == EFFC_ISA_AVX512) i = act_sigmoid_avx2(x, y, n);
#endif
  (void)isa;
  for (; i < n; i++) y[i] = act_sigmoid(x[i]);
}
