/* Two compiled models in one program (tests/lit/compile_prefix.onnxtxt): every exported symbol carries
 * its --prefix, and the kernels, thread pools and weights do not clash. Both are
 * compile_api.onnxtxt (outputs: x, the constant {1.5, -2, 3.25}, k/2 and b, copied). */
#include <stdio.h>
#include <string.h>

#include "alpha.h"
#include "beta.h"

int main(void) {
  const float x[6] = {1, 2, 3, 4, 5, 6}, c[3] = {1.5f, -2, 3.25f};
  const int64_t k[4] = {7, -8, 9, 1LL << 40};
  const uint8_t b[2] = {1, 0};
  float ya[6], ca[3], yb[6], cb[3];
  int64_t ka[4], kb[4];
  uint8_t ba[2], bb[2];
  alpha_ctx *a = alpha_create();
  beta_ctx *be = beta_create();
  if (!a || !be) return 1;
  if (alpha_run(a, x, k, b, ya, ca, ka, ba) || beta_run(be, x, k, b, yb, cb, kb, bb)) return 1;
  int bad = memcmp(ya, x, sizeof x) || memcmp(yb, x, sizeof x) || memcmp(ca, c, sizeof c) ||
            memcmp(cb, c, sizeof c) || memcmp(ka, k, sizeof k) || memcmp(kb, k, sizeof k) ||
            memcmp(ba, b, sizeof b) || memcmp(bb, b, sizeof b);
  alpha_destroy(a);
  beta_destroy(be);
  printf("%s: %d + %d inputs, %d + %d outputs, threads %d and %d\n", bad ? "WRONG" : "ok",
         ALPHA_NUM_INPUTS, BETA_NUM_INPUTS, ALPHA_NUM_OUTPUTS, BETA_NUM_OUTPUTS, ALPHA_THREADS,
         BETA_THREADS);
  return bad;
}
