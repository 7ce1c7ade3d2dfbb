/* test_kern_ops.c - the scalar kernels of the general operators (runtime/kern/ew.c,
 * remap.c), against values computed by hand from ONNX's and numpy's definitions. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "kern.h"

static void ipow_wraps(void **state) {
  (void)state;
  assert_int_equal(effc_ipow(3, 4, 0), 81);
  assert_int_equal(effc_ipow(-2, 3, 0), -8);
  assert_int_equal(effc_ipow(2, 64, 0), 0); /* wraps in 64 bits */
  assert_int_equal(effc_ipow(2, -1, 0), 0); /* negative exponents: 1, -1 or 0 */
  assert_int_equal(effc_ipow(-1, -3, 0), -1);
  assert_int_equal(effc_ipow(1, -5, 0), 1);
  assert_int_equal(effc_ipow(7, 0, 0), 1);
  /* uint64: 2^63 as bits */
  assert_true((uint64_t)effc_ipow(2, 63, 1) == (uint64_t)1 << 63);
}

static void f2i_truncates(void **state) {
  (void)state;
  assert_int_equal((int64_t)effc_f2i(2.9, 0), 2);
  assert_int_equal((int64_t)effc_f2i(-2.9, 0), -2);
  assert_true(effc_f2i(NAN, 0) == 0x8000000000000000ull);
  assert_true(effc_f2i(1e30, 0) == 0x8000000000000000ull);
  assert_true(effc_f2i(1e19, 1) == 10000000000000000000ull); /* uint64 range */
  assert_true(effc_f2i(1e19, 0) == 0x8000000000000000ull);
  assert_int_equal((int8_t)effc_f2i(300.5, 0), 44); /* wraps to the target width: 300 - 256 */
}

static void pad_sources(void **state) {
  (void)state;
  /* 4 elements [a b c d]; positions -2..5 */
  static const int64_t reflect[8] = {2, 1, 0, 1, 2, 3, 2, 1};
  static const int64_t edge[8] = {0, 0, 0, 1, 2, 3, 3, 3};
  static const int64_t wrap[8] = {2, 3, 0, 1, 2, 3, 0, 1};
  for (int s = -2; s < 6; s++) {
    assert_int_equal(effc_pad_src(s, 4, EFFC_PAD_REFLECT), reflect[s + 2]);
    assert_int_equal(effc_pad_src(s, 4, EFFC_PAD_EDGE), edge[s + 2]);
    assert_int_equal(effc_pad_src(s, 4, EFFC_PAD_WRAP), wrap[s + 2]);
    assert_int_equal(effc_pad_src(s, 4, EFFC_PAD_CONSTANT), s >= 0 && s < 4 ? s : -1);
  }
  assert_int_equal(effc_pad_src(-3, 1, EFFC_PAD_REFLECT), 0);
}

static void slice_ranges(void **state) {
  (void)state;
  int64_t first;
  assert_int_equal(effc_slice_range(10, 2, 7, 1, &first), 5);
  assert_int_equal(first, 2);
  assert_int_equal(effc_slice_range(10, 0, 10, 3, &first), 4); /* 0 3 6 9 */
  assert_int_equal(effc_slice_range(10, -1, -11, -1, &first), 10); /* reversed, whole */
  assert_int_equal(first, 9);
  assert_int_equal(effc_slice_range(10, 20, 1000, 1, &first), 0); /* clamped: empty */
  assert_int_equal(effc_slice_range(10, 8, 2, -2, &first), 3); /* 8 6 4 */
  assert_int_equal(first, 8);
  assert_int_equal(effc_slice_range(5, 0, INT64_MAX, 1, &first), 5);
}

/* Half precision against its definition: 1 + 2^-10 is the step above 1; 2^-24 the
 * smallest subnormal; 65504 the largest finite; ties go to even. */
static void f16_round_trip(void **state) {
  (void)state;
  assert_true(effc_f64_to_f16(1.0) == 0x3c00);
  assert_true(effc_f64_to_f16(-2.0) == 0xc000);
  assert_true(effc_f64_to_f16(1.0 + 0x1p-10) == 0x3c01);
  assert_true(effc_f64_to_f16(1.0 + 0x1p-11) == 0x3c00);             /* tie: to even */
  assert_true(effc_f64_to_f16(1.0 + 3 * 0x1p-11) == 0x3c02);         /* tie: to even */
  assert_true(effc_f64_to_f16(1.0 + 0x1p-11 + 0x1p-40) == 0x3c01);   /* above the tie */
  assert_true(effc_f64_to_f16(0x1p-24) == 0x0001);
  assert_true(effc_f64_to_f16(0x1p-25) == 0x0000);                   /* tie: to even (0) */
  assert_true(effc_f64_to_f16(65504.0) == 0x7bff);
  assert_true(effc_f64_to_f16(65519.9) == 0x7bff);
  assert_true(effc_f64_to_f16(65520.0) == 0x7c00);
  assert_true(effc_f64_to_f16(-INFINITY) == 0xfc00);
  assert_true((effc_f64_to_f16(NAN) & 0x7c00) == 0x7c00 && (effc_f64_to_f16(NAN) & 0x3ff));
  for (unsigned h = 0; h < 0x10000; h++) { /* every finite half survives the round trip */
    if ((h & 0x7c00) == 0x7c00) continue;
    assert_true(effc_f64_to_f16(effc_f16_to_f32((uint16_t)h)) == h);
  }
  assert_true(effc_f16_to_f32(0x0400) == 0x1p-14f);
  assert_true(isinf(effc_f16_to_f32(0x7c00)) && isnan(effc_f16_to_f32(0x7e00)));
}

/* The vector Sigmoid (on the host's ISA) against the double-precision formula: relative
 * error below 1e-6 for results above 1e-37, absolute below 1e-43 under it, inf/NaN kept. */
static void sigmoid_vector(void **state) {
  (void)state;
  enum { N = 40011 };
  static float x[N], y[N];
  for (int i = 0; i < N; i++) x[i] = -110.0f + 220.0f * (float)i / N;
  x[0] = INFINITY, x[1] = -INFINITY, x[2] = NAN, x[3] = -0.0f, x[4] = -87.5f, x[5] = -100.0f;
  effc_sigmoid_f32(effc_host_isa(), x, y, N);
  assert_true(y[0] == 1.0f && y[1] == 0.0f && isnan(y[2]) && y[3] == 0.5f);
  for (int i = 3; i < N; i++) {
    double r = 1.0 / (1.0 + exp(-(double)x[i]));
    if (r > 1e-37)
      assert_true(fabs(y[i] - r) <= 1e-6 * r);
    else
      assert_true(fabs(y[i] - r) <= 1e-43);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(ipow_wraps),
      cmocka_unit_test(f2i_truncates),
      cmocka_unit_test(pad_sources),
      cmocka_unit_test(slice_ranges),
      cmocka_unit_test(f16_round_trip),
      cmocka_unit_test(sigmoid_vector),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
