/* quant.c - element-wise quantization kernels (kern.h, "kern/quant.c"): QuantizeLinear and
 * DequantizeLinear on float32 with per-tensor or per-axis scales, DynamicQuantizeLinear;
 * the interpreter's formulas, computed in the same precision and order. */
#include "kern.h"

static int64_t qz_channel(int64_t i, int64_t inner, int64_t C) {
  return C == 1 ? 0 : (i / inner) % C;
}

EFFC_KERN void effc_quantize_f32(const float *x, int64_t i0, int64_t i1, int64_t inner, int64_t C,
                                 const float *scale, const int32_t *zp, int y_type, void *y) {
  double lo = y_type == EFFC_Q_U8 ? 0.0 : -128.0, hi = y_type == EFFC_Q_U8 ? 255.0 : 127.0;
  for (int64_t i = i0; i < i1; i++) {
    int64_t ch = qz_channel(i, inner, C);
    double v = (double)nearbyintf(x[i] / scale[ch]) + (zp ? zp[ch] : 0);
    if (!(v >= lo)) v = lo; /* NaN too */
    if (v > hi) v = hi;
    if (y_type == EFFC_Q_U8) ((uint8_t *)y)[i] = (uint8_t)(int)v;
    else ((int8_t *)y)[i] = (int8_t)(int)v;
  }
}

EFFC_KERN void effc_dequantize_f32(const void *x, int x_type, int64_t i0, int64_t i1, int64_t inner,
                                   int64_t C, const float *scale, const int32_t *zp, float *y) {
  for (int64_t i = i0; i < i1; i++) {
    int64_t ch = qz_channel(i, inner, C);
    int64_t v = x_type == EFFC_Q_U8 ? ((const uint8_t *)x)[i]
                : x_type == EFFC_Q_S8 ? ((const int8_t *)x)[i]
                                      : ((const int32_t *)x)[i];
    y[i] = (float)(v - (zp ? zp[ch] : 0)) * scale[ch];
  }
}

EFFC_KERN void effc_dynquant_params(const float *x, int64_t n, float *scale, uint8_t *zp) {
  float mn = 0, mx = 0;
  for (int64_t i = 0; i < n; i++) {
    if (x[i] < mn) mn = x[i];
    if (x[i] > mx) mx = x[i];
  }
  float s = mx == mn ? 1.0f : (mx - mn) / 255.0f;
  float z = 0.0f - mn / s;
  z = z < 0 ? 0 : z > 255 ? 255 : z;
  *scale = s;
  *zp = (uint8_t)nearbyintf(z);
}
