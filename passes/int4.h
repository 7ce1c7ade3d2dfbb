/* int4.h - the numerics of weight-only group-wise quantization (quantize-int4, int4.c):
 * code packing as ONNX Runtime's MatMulNBits stores it, round-to-nearest per group, GPTQ
 * (OBQ-style error feedback through the Cholesky factor of the inverse Hessian) and the AWQ
 * scale search. Weights are W[n][k] (n output channel, k reduction index), the layout of
 * MatMulNBits' B; groups run along k. The unit tests call these directly. */
#ifndef EFFC_INT4_H
#define EFFC_INT4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A quantized layer: codes q[n][kb * group] (padding past K is code zp), scales and zero
 * points per (n, block) (kb = ceil(K / group)); g_idx[k] the block of k (NULL: k / group). */
typedef struct Int4Layer {
  int64_t K, N, group, kb;
  int bits;
  bool sym; /* zero point 2^(bits-1) everywhere (MatMulNBits' default: not stored) */
  uint8_t *q;
  float *scales;
  uint8_t *zp;
  int32_t *g_idx;
} Int4Layer;

/* Allocate the arrays of a layer (codes and zero points set to the middle code). */
void int4_layer_init(Int4Layer *l, int64_t K, int64_t N, int64_t group, int bits, bool sym);
void int4_layer_free(Int4Layer *l);
/* Pack n codes of `bits` bits low bits first (ceil(n * bits / 8) bytes) and back. */
void int4_pack(const uint8_t *codes, int64_t n, int bits, uint8_t *out);
void int4_unpack(const uint8_t *packed, int64_t n, int bits, uint8_t *codes);
/* Min-max scale and zero point of n weights: asymmetric over [min(w, 0), max(w, 0)], or
 * symmetric (zero point 2^(bits-1), scale max|w| / (2^(bits-1) - 1)). Never a zero scale. */
void int4_group_params(const double *w, int64_t n, int64_t stride, int bits, bool sym,
                       float *scale, uint8_t *zp);
/* The code of w and its dequantized value (q - zp) * scale in float. */
uint8_t int4_code(double w, float scale, uint8_t zp, int bits);
float int4_deq(uint8_t q, float scale, uint8_t zp);
/* Dequantized W[n][k] (N x K floats) of a layer. */
void int4_dequant(const Int4Layer *l, float *w);

/* Round to nearest: w is N x K (row-major). */
void int4_rtn(const double *w, Int4Layer *l);
/* GPTQ: H is the K x K Hessian 2 X^T X / rows (overwritten); damp * mean(diag H) is added
 * to the diagonal (more, tenfold at a time, while the Cholesky factorization fails); columns
 * are quantized in blocks of `block` with lazy updates; act_order permutes by diag(H)
 * descending and records g_idx (groups follow the permuted order). w (N x K) is
 * overwritten. 0, or -1 when H stays singular. *damp_used receives the damping factor. */
int int4_gptq(double *w, double *H, Int4Layer *l, double damp, int64_t block, bool act_order,
              double *damp_used);
/* AWQ: x holds `rows` rows of the layer's input (rows x K), xmean[k] = mean |x_k| over the
 * calibration set. For alpha on a grid of `grid` + 1 points in [0, 1], s_k = xmean_k^alpha
 * (normalized by sqrt(max s * min s)); the weights W * s are quantized by RTN and the output
 * error ||x W^T - (x / s) Q(W s)^T||^2 measured; the best alpha's layer goes to l and its s to
 * s (K floats; the input must be divided by s). Returns the best alpha; err receives the
 * chosen error and err0 alpha = 0's (plain RTN). */
double int4_awq(const double *w, const float *x, int64_t rows, const double *xmean, int grid,
                Int4Layer *l, float *s, double *err, double *err0);
/* Sum over rows of ||x W^T - x Wq^T||^2 (x rows x K, w and wq N x K). */
double int4_output_err(const float *x, int64_t rows, const double *w, const float *wq,
                       int64_t N, int64_t K);

#endif
