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
