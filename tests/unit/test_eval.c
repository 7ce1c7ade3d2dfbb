/* test_eval.c - runtime/eval.c through its library interface: rt_rows on whole-byte,
 * sub-byte and string rows, and rt_eval_sqnr / rt_eval_top1 on a hand-made model whose
 * results are computed by hand (the driver's `effc eval` is covered by tests/lit/eval*). */
#include "testutil.h"

#include <math.h>

#include "eval.h"

static void test_rows_float(void **state) {
  (void)state;
  int64_t dims[2] = {4, 3};
  RtValue *x = rt_tensor_new(ELEM_FLOAT, 2, dims);
  for (uint64_t i = 0; i < 12; i++) rt_set_f64(x, i, (double)i);
  RtValue *r = rt_rows(x, 1, 2);
  assert_non_null(r);
  assert_int_equal(r->dims[0], 2);
  assert_int_equal(r->dims[1], 3);
  for (uint64_t i = 0; i < 6; i++) assert_true(rt_get_f64(r, i) == (double)(i + 3));
  rt_unref(r);
  r = rt_rows(x, 4, 0); /* an empty slice at the end */
  assert_non_null(r);
  assert_int_equal(r->numel, 0);
  rt_unref(r);
  assert_null(rt_rows(x, 3, 2)); /* past the end */
  assert_null(rt_rows(x, -1, 1));
  rt_unref(x);
}

/* int4 rows of 3 elements: row 1 starts at bit 12, inside a byte */
static void test_rows_int4(void **state) {
  (void)state;
  int64_t dims[2] = {3, 3};
  RtValue *x = rt_tensor_new(ELEM_INT4, 2, dims);
  for (uint64_t i = 0; i < 9; i++) rt_set_i64(x, i, (int64_t)i - 4);
  RtValue *r = rt_rows(x, 1, 2);
  assert_non_null(r);
  for (uint64_t i = 0; i < 6; i++) assert_int_equal(rt_get_i64(r, i), (int64_t)i - 1);
  rt_unref(r);
  rt_unref(x);
}

static void test_rows_string(void **state) {
  (void)state;
  int64_t dims[1] = {3};
  RtValue *x = rt_tensor_new(ELEM_STRING, 1, dims);
  rt_str_set(x, 0, "a", 1);
  rt_str_set(x, 1, "bc", 2);
  rt_str_set(x, 2, "def", 3);
  RtValue *r = rt_rows(x, 1, 2);
  assert_non_null(r);
  const IrStr *s = r->data;
  assert_int_equal(s[0].len, 2);
  assert_memory_equal(s[0].s, "bc", 2);
  assert_int_equal(s[1].len, 3);
  assert_memory_equal(s[1].s, "def", 3);
  rt_unref(r);
  rt_unref(x);
}

static const char *model_txt(float w) {
  static char buf[512];
  snprintf(buf, sizeof buf,
           "<ir_version: 8, opset_import: [\"\" : 17]>\n"
           "g (float[N,4] x) => (float[N,4] y) <float[1] w = {%.9g}> {\n"
           "  h = Mul(x, w)\n"
           "  y = Relu(h)\n"
           "}\n",
           w);
  return buf;
}

/* y = Relu(w x): with w = 1.25 against w = 1, every value differs by a quarter of itself,
 * SQNR = 10 log10(1 / 0.0625) = 12.041 dB. Top-1 of rows whose argmax is the last column. */
static void test_sqnr_top1(void **state) {
  (void)state;
  Model *ref = parse_verified(model_txt(1.0f)), *test = parse_verified(model_txt(1.25f));
  int64_t dims[2] = {5, 4}, ld[1] = {5};
  RtValue *x = rt_tensor_new(ELEM_FLOAT, 2, dims), *y = rt_tensor_new(ELEM_INT64, 1, ld);
  for (uint64_t i = 0; i < 20; i++) rt_set_f64(x, i, 0.5 * (double)i - 1);
  for (uint64_t i = 0; i < 5; i++) rt_set_i64(y, i, i < 4 ? 3 : 1);
  Cap c;
  cap_init(&c);
  double db = 0, acc = 0;
  assert_int_equal(rt_eval_sqnr(ref, test, x, 2, &db, &c.d), 0);
  assert_true(fabs(db - 10 * log10(1 / 0.0625)) < 1e-6);
  assert_int_equal(rt_eval_sqnr(ref, ref, x, 0, &db, &c.d), 0);
  assert_true(isinf(db) && db > 0);
  assert_int_equal(rt_eval_top1(ref, x, y, 3, &acc, &c.d), 0);
  assert_true(acc == 0.8);
  assert_int_equal(c.d.errors, 0);
  rt_set_i64(y, 4, 7);
  assert_int_equal(rt_eval_top1(ref, x, y, 3, &acc, &c.d), -1);
  assert_non_null(strstr(cap_text(&c), "label 7 (element 4) is out of range for 4 classes"));
  cap_free(&c);
  rt_unref(x);
  rt_unref(y);
  ir_model_free(ref);
  ir_model_free(test);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rows_float),
      cmocka_unit_test(test_rows_int4),
      cmocka_unit_test(test_rows_string),
      cmocka_unit_test(test_sqnr_top1),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
