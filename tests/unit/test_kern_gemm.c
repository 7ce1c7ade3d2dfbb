/* test_kern_gemm.c - effc_sgemm (runtime/kern/gemm.c) checked by kern_gemm_check.h for every
 * ISA this host runs, and the activations of kern/act.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#define GEMM_CHECK_FAIL() fail()
#include "kern_gemm_check.h"

static void test_shapes(void **s) {
  (void)s;
  check_shapes();
}

static void test_epilogues(void **s) {
  (void)s;
  check_epilogues();
}

/* The activations alone, against the formulas above, and effc_act_apply's bias/residual. */
static void test_act_apply(void **s) {
  (void)s;
  float y[64], res[64], x[64];
  for (int act = EFFC_ACT_NONE; act <= EFFC_ACT_GELU; act++) {
    EffcEpilogue e = {.act = (EffcAct)act, .alpha = 0.2f, .beta = 0.6f};
    for (int i = 0; i < 64; i++) x[i] = y[i] = (float)(i - 32) / 5.0f, res[i] = frand();
    effc_act_apply(y, res, 64, 0.25f, &e);
    for (int i = 0; i < 64; i++) {
      double want = ref_act((double)x[i] + 0.25 + res[i], &e);
      assert_true(fabs(y[i] - want) <= 1e-4 * fabs(want) + 1e-6);
    }
  }
  EffcEpilogue r = {.act = EFFC_ACT_RELU};
  assert_true(isnan(effc_act1(NAN, &r)));
}

int main(void) {
  isas[n_isas++] = EFFC_ISA_SCALAR;
  int host = effc_host_isa();
  if (host == EFFC_ISA_AVX2 || host == EFFC_ISA_AVX512) isas[n_isas++] = EFFC_ISA_AVX2;
  if (host == EFFC_ISA_AVX512) isas[n_isas++] = EFFC_ISA_AVX512;
  if (host == EFFC_ISA_NEON) isas[n_isas++] = EFFC_ISA_NEON;
  /* Another target's layout in portable C (what compile-time packing for it produces). */
  isas[n_isas++] = host == EFFC_ISA_NEON ? EFFC_ISA_AVX2 : EFFC_ISA_NEON;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shapes),
      cmocka_unit_test(test_epilogues),
      cmocka_unit_test(test_act_apply),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
