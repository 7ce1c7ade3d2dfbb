/* act.c - the fused epilogue: y = act(y + bias [+ residual]) on one channel's values. */
#include "kern.h"

static float act_one(float v, const EffcEpilogue *e) {
  switch (e->act) {
  case EFFC_ACT_NONE:
    return v;
  case EFFC_ACT_RELU:
    return v < 0.0f ? 0.0f : v;
  case EFFC_ACT_LEAKY_RELU:
    return v < 0.0f ? e->alpha * v : v;
  case EFFC_ACT_CLIP:
    return v < e->alpha ? e->alpha : v > e->beta ? e->beta : v;
  case EFFC_ACT_SIGMOID:
    return 1.0f / (1.0f + expf(-v));
  case EFFC_ACT_TANH:
    return tanhf(v);
  case EFFC_ACT_HARD_SIGMOID: {
    float h = e->alpha * v + e->beta;
    return h < 0.0f ? 0.0f : h > 1.0f ? 1.0f : h;
  }
  case EFFC_ACT_HARD_SWISH: {
    float h = v / 6.0f + 0.5f;
    return v * (h < 0.0f ? 0.0f : h > 1.0f ? 1.0f : h);
  }
  case EFFC_ACT_SILU:
    return v / (1.0f + expf(-v));
  case EFFC_ACT_GELU:
    return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
  }
  return v;
}

EFFC_KERN void effc_act_apply(float *y, const float *res, size_t n, float b, const EffcEpilogue *e) {
  if (res)
    for (size_t i = 0; i < n; i++) y[i] = act_one(y[i] + b + res[i], e);
  else
    for (size_t i = 0; i < n; i++) y[i] = act_one(y[i] + b, e);
}
