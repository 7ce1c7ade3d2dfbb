/* test_ir.c - the IR core: arena, element codecs (values checked against the format
 * definitions by hand), symbol tables, the use/def builder, diagnostics and atomic files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir.h"

static void test_arena(void **state) {
  (void)state;
  Arena a;
  ir_arena_init(&a);
  char *s = ir_arena_strndup(&a, "hello world", 5);
  assert_string_equal(s, "hello");
  uint8_t *big = ir_arena_alloc(&a, 1 << 20);
  for (size_t i = 0; i < (1u << 20); i++) assert_int_equal(big[i], 0);
  /* aligned as the size allows: 16 for multiples of 16, else 8; strings (cut from the other
   * end of the chunk) never overlap the objects */
  uint8_t *prev = NULL;
  size_t prev_n = 0;
  for (int i = 0; i < 10000; i++) {
    size_t n = (size_t)(i % 100) + 1;
    uint8_t *p = ir_arena_alloc(&a, n);
    assert_int_equal((uintptr_t)p % (n % 16 ? 8 : 16), 0);
    for (size_t k = 0; k < n; k++) assert_int_equal(p[k], 0);
    memset(p, 0xab, n);
    size_t sl = (size_t)(i % 12);
    char *str = ir_arena_strndup(&a, "abcdefghijkl", sl);
    assert_int_equal(strlen(str), sl);
    assert_memory_equal(str, "abcdefghijkl", sl);
    if (prev)
      for (size_t k = 0; k < prev_n; k++) assert_int_equal(prev[k], 0xab);
    prev = p;
    prev_n = n;
  }
  assert_string_equal(ir_arena_printf(&a, "%d-%s", 42, "x"), "42-x");
  ir_arena_free(&a);
}

/* A big arena: chunks grow to their largest size and (outside sanitizer builds) come from
 * the helper that faults them in ahead; every block is zeroed, aligned and disjoint. */
static void test_arena_big(void **state) {
  (void)state;
  Arena a;
  ir_arena_init(&a);
  enum { N = 300000 };
  uint64_t **blk = malloc(N * sizeof *blk);
  assert_non_null(blk);
  for (int i = 0; i < N; i++) {
    size_t words = (size_t)(i % 24) + 1;
    blk[i] = ir_arena_alloc(&a, words * 8);
    for (size_t k = 0; k < words; k++) assert_true(blk[i][k] == 0);
    for (size_t k = 0; k < words; k++) blk[i][k] = (uint64_t)i * 31 + k;
  }
  assert_true(a.total >= (size_t)N * 8);
  for (int i = 0; i < N; i++) {
    size_t words = (size_t)(i % 24) + 1;
    for (size_t k = 0; k < words; k++) assert_true(blk[i][k] == (uint64_t)i * 31 + k);
  }
  free(blk);
  ir_arena_free(&a);
  ir_arena_free(&a); /* freeing twice is harmless */
}

static void test_f16_bf16(void **state) {
  (void)state;
  /* IEEE binary16: 0x3c00 = 1, 0xc000 = -2, 0x7bff = 65504, 0x0001 = 2^-24, 0x7c00 = inf */
  assert_true(ir_f16_to_f32(0x3c00) == 1.0f);
  assert_true(ir_f16_to_f32(0xc000) == -2.0f);
  assert_true(ir_f16_to_f32(0x7bff) == 65504.0f);
  assert_true(ir_f16_to_f32(0x0001) == ldexpf(1, -24));
  assert_true(isinf(ir_f16_to_f32(0x7c00)));
  assert_true(isnan(ir_f16_to_f32(0x7e00)));
  assert_int_equal(ir_f32_to_f16(1.0f), 0x3c00);
  assert_int_equal(ir_f32_to_f16(65504.0f), 0x7bff);
  assert_int_equal(ir_f32_to_f16(65520.0f), 0x7c00); /* halfway to 2^16 rounds to inf */
  assert_int_equal(ir_f32_to_f16(ldexpf(1, -25)), 0x0000); /* tie to even: 0 */
  assert_int_equal(ir_f32_to_f16(ldexpf(3, -26)), 0x0001);
  assert_int_equal(ir_f32_to_f16(1.0f + ldexpf(1, -11)), 0x3c00); /* tie, even stays */
  assert_int_equal(ir_f32_to_f16(1.0f + ldexpf(3, -11)), 0x3c02); /* tie, odd rounds up */
  for (uint32_t h = 0; h < 0x7c00; h++) assert_int_equal(ir_f32_to_f16(ir_f16_to_f32((uint16_t)h)), h);
  assert_true(ir_bf16_to_f32(0x3f80) == 1.0f);
  assert_int_equal(ir_f32_to_bf16(1.0f), 0x3f80);
  assert_int_equal(ir_f32_to_bf16(1.00390625f), 0x3f80); /* 1 + 2^-8: tie to even */
  assert_int_equal(ir_f32_to_bf16(1.01171875f), 0x3f82); /* 1 + 3*2^-8: tie to odd up */
}

static double dec(ElemType t, uint8_t code) {
  return ir_elem(t)->to_f64(&code, 0);
}
static uint8_t enc(ElemType t, double x) {
  uint8_t b = 0;
  ir_elem(t)->from_f64(&b, 0, x);
  return b;
}

/* Storing a double rounds once, to nearest even: 1 + 2^-11 + 2^-40 lies just above the
 * midpoint of float16's 1 and 1 + 2^-10, so it rounds up, although float32 would first
 * round it to the midpoint itself (and then to even, 1.0). bfloat16 likewise with 2^-8. */
static void test_round_once(void **state) {
  (void)state;
  uint16_t h = 0;
  ir_elem(ELEM_FLOAT16)->from_f64(&h, 0, 1.0 + ldexp(1, -11) + ldexp(1, -40));
  assert_int_equal(h, 0x3C01);
  ir_elem(ELEM_FLOAT16)->from_f64(&h, 0, 1.0 + ldexp(1, -11));
  assert_int_equal(h, 0x3C00); /* exact tie: even */
  ir_elem(ELEM_BFLOAT16)->from_f64(&h, 0, 1.0 + ldexp(1, -8) + ldexp(1, -40));
  assert_int_equal(h, 0x3F81);
  ir_elem(ELEM_FLOAT16)->from_f64(&h, 0, -1.0 - ldexp(1, -11) - ldexp(1, -40));
  assert_int_equal(h, 0xBC01);
  ir_elem(ELEM_FLOAT16)->from_f64(&h, 0, 1e6);
  assert_int_equal(h, 0x7C00); /* overflow is inf */
  uint8_t e = 0;
  ir_elem(ELEM_FLOAT8E8M0)->from_f64(&e, 0, INFINITY);
  assert_int_equal(e, 0xFF);
}

static void test_float8(void **state) {
  (void)state;
  /* E4M3FN: bias 7, max 0x7e = 448, NaN 0x7f, min subnormal 0x01 = 2^-9 */
  assert_true(dec(ELEM_FLOAT8E4M3FN, 0x7e) == 448);
  assert_true(isnan(dec(ELEM_FLOAT8E4M3FN, 0x7f)));
  assert_true(dec(ELEM_FLOAT8E4M3FN, 0x01) == ldexp(1, -9));
  assert_true(dec(ELEM_FLOAT8E4M3FN, 0x38) == 1.0);
  assert_int_equal(enc(ELEM_FLOAT8E4M3FN, 1000), 0x7e); /* saturates */
  assert_int_equal(enc(ELEM_FLOAT8E4M3FN, -1.0), 0xb8);
  /* E4M3FNUZ: bias 8, 0x80 NaN, max 0x7f = 240 */
  assert_true(dec(ELEM_FLOAT8E4M3FNUZ, 0x7f) == 240);
  assert_true(isnan(dec(ELEM_FLOAT8E4M3FNUZ, 0x80)));
  assert_int_equal(enc(ELEM_FLOAT8E4M3FNUZ, -0.0), 0x00);
  /* E5M2: bias 15, 0x7c inf, max 0x7b = 57344 */
  assert_true(isinf(dec(ELEM_FLOAT8E5M2, 0x7c)));
  assert_true(dec(ELEM_FLOAT8E5M2, 0x7b) == 57344);
  assert_true(dec(ELEM_FLOAT8E5M2, 0x3c) == 1.0);
  /* E5M2FNUZ: bias 16, max 0x7f = 57344 */
  assert_true(dec(ELEM_FLOAT8E5M2FNUZ, 0x7f) == 57344);
  /* E8M0: 127 = 1.0, 0xff NaN */
  assert_true(dec(ELEM_FLOAT8E8M0, 127) == 1.0);
  assert_true(isnan(dec(ELEM_FLOAT8E8M0, 0xff)));
  assert_int_equal(enc(ELEM_FLOAT8E8M0, 4.0), 129);
  /* round trip of every finite code */
  const ElemType kinds[] = {ELEM_FLOAT8E4M3FN, ELEM_FLOAT8E4M3FNUZ, ELEM_FLOAT8E5M2, ELEM_FLOAT8E5M2FNUZ};
  for (int k = 0; k < 4; k++)
    for (int c = 0; c < 256; c++) {
      double v = dec(kinds[k], (uint8_t)c);
      if (!isfinite(v) || (v == 0 && c != 0)) continue;
      assert_int_equal(enc(kinds[k], v), c);
    }
}

static void test_subbyte(void **state) {
  (void)state;
  uint8_t b[2] = {0, 0};
  const ElemTraits *i4 = ir_elem(ELEM_INT4), *u2 = ir_elem(ELEM_UINT2), *f4 = ir_elem(ELEM_FLOAT4E2M1);
  i4->from_f64(b, 0, -1); /* low nibble 0xf */
  i4->from_f64(b, 1, 7);  /* high nibble 0x7 */
  assert_int_equal(b[0], 0x7f);
  assert_true(i4->to_f64(b, 0) == -1 && i4->to_f64(b, 1) == 7);
  b[0] = 0;
  u2->from_f64(b, 0, 3);
  u2->from_f64(b, 3, 2);
  assert_int_equal(b[0], 0x83);
  /* float4 e2m1 codes 0..7: 0 .5 1 1.5 2 3 4 6 */
  const double f4v[8] = {0, .5, 1, 1.5, 2, 3, 4, 6};
  for (int c = 0; c < 8; c++) {
    uint8_t x = (uint8_t)c;
    assert_true(f4->to_f64(&x, 0) == f4v[c]);
  }
  size_t n;
  assert_true(ir_elem_nbytes(ELEM_INT4, 3, &n));
  assert_int_equal(n, 2);
  assert_true(ir_elem_nbytes(ELEM_INT2, 5, &n));
  assert_int_equal(n, 2);
  assert_false(ir_elem_nbytes(ELEM_INT64, UINT64_MAX / 2, &n));
  assert_int_equal(ir_elem_from_name("float8e4m3fnuz", 14), ELEM_FLOAT8E4M3FNUZ);
  assert_int_equal(ir_elem_from_name("floa", 4), ELEM_UNDEFINED);
}

static void test_use_def(void **state) {
  (void)state;
  Model *m = ir_model_new();
  Graph *g = ir_graph_new(m, NULL, "g");
  Value *x = ir_graph_def(g, "x", ir_noloc);
  assert_non_null(x);
  assert_null(ir_graph_def(g, "x", ir_noloc)); /* duplicate */
  Value *fwd = ir_graph_use(g, "y", ir_loc(3, 4));
  assert_true(fwd->undefined);
  Value *y = ir_graph_def(g, "y", ir_loc(5, 1));
  assert_ptr_equal(fwd, y);
  assert_false(y->undefined);
  Graph *sub = ir_graph_new(m, g, "sub");
  assert_ptr_equal(ir_graph_use(sub, "x", ir_noloc), x); /* outer scope */
  assert_null(ir_graph_lookup_local(sub, "x"));
  char name[32];
  for (int i = 0; i < 5000; i++) {
    snprintf(name, sizeof name, "v%d", i);
    assert_non_null(ir_graph_def(g, ir_arena_strdup(&m->arena, name), ir_noloc));
  }
  for (int i = 0; i < 5000; i++) {
    snprintf(name, sizeof name, "v%d", i);
    assert_string_equal(ir_graph_lookup(sub, name)->name, name);
  }
  Node *n = ir_node_new(g, "", "Add", 2, 1);
  ir_node_set_input(n, 0, x);
  ir_node_set_input(n, 1, x);
  ir_node_set_output(n, 0, y);
  ir_node_append(g, n);
  assert_ptr_equal(y->producer, n);
  assert_non_null(x->uses);
  assert_non_null(x->uses->next);
  assert_null(x->uses->next->next);
  ir_model_free(m);
}

static void test_diag(void **state) {
  (void)state;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  const char *src = "line one\n  bad token here\n";
  Diag d;
  ir_diag_init(&d, f, "m.onnxtxt", src, strlen(src));
  ir_error(&d, ir_loc(2, 7), "unexpected '%s'", "token");
  ir_note(&d, ir_noloc, "see above");
  fclose(f);
  assert_string_equal(buf, "m.onnxtxt:2:7: error: unexpected 'token'\n"
                           "  bad token here\n"
                           "      ^\n"
                           "m.onnxtxt: note: see above\n");
  assert_int_equal(d.errors, 1);
  free(buf);
}

static void test_atomic(void **state) {
  (void)state;
  char dir[] = "/tmp/effc_atomicXXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[128], err[256];
  snprintf(path, sizeof path, "%s/out.txt", dir);
  AtomicFile af;
  assert_true(ir_atomic_open(&af, path, err, sizeof err));
  fputs("hello", af.fp);
  assert_int_equal(access(path, F_OK), -1); /* not visible before commit */
  assert_true(ir_atomic_commit(&af, err, sizeof err));
  MappedFile mf;
  assert_true(ir_file_map(path, &mf, err, sizeof err));
  assert_int_equal(mf.len, 5);
  assert_memory_equal(mf.data, "hello\0", 6);
  ir_file_unmap(&mf);
  assert_true(ir_atomic_open(&af, path, err, sizeof err));
  fputs("partial", af.fp);
  ir_atomic_abort(&af);
  assert_true(ir_file_map(path, &mf, err, sizeof err));
  assert_int_equal(mf.len, 5); /* the old content survives an aborted write */
  ir_file_unmap(&mf);
  assert_false(ir_file_map(dir, &mf, err, sizeof err));
  assert_non_null(strstr(err, "is a directory"));
  unlink(path);
  rmdir(dir);
  /* special files are written in place, never replaced by a rename */
  assert_true(ir_atomic_open(&af, "/dev/null", err, sizeof err));
  fputs("x", af.fp);
  assert_true(ir_atomic_commit(&af, err, sizeof err));
  struct stat st;
  assert_int_equal(stat("/dev/null", &st), 0);
  assert_true(S_ISCHR(st.st_mode));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_arena),   cmocka_unit_test(test_arena_big),
      cmocka_unit_test(test_f16_bf16), cmocka_unit_test(test_float8),
      cmocka_unit_test(test_round_once),
      cmocka_unit_test(test_subbyte),  cmocka_unit_test(test_use_def),
      cmocka_unit_test(test_diag),     cmocka_unit_test(test_atomic),
  };
  return cmocka_run_group_tests_name("ir", tests, NULL, NULL);
}
