/* test_npy.c - the .npy reader and writer against files numpy wrote (tests/data/npy/gen.py:
 * every dtype, both byte orders, Fortran order, header versions 2 and 3, strings, 0-d and empty
 * arrays), hand-made broken headers, and numpy reading back what we write (check_written.py). */
#include <math.h>
#include <unistd.h>

#include "testutil.h"

#define DATA EFFC_SOURCE_DIR "/tests/data/npy/"

/* ------------------------------------------------------------------ helpers */

static Tensor *rd(Arena *a, const char *name, ElemType want, Cap *c) {
  char path[1024];
  snprintf(path, sizeof path, "%s%s", DATA, name);
  return ir_npy_read(a, path, want, &c->d);
}

/* Read a fixture that must load; checks type and shape. */
static Tensor *rd_ok(Arena *a, const char *name, ElemType want, ElemType elem, int rank,
                     const int64_t *dims) {
  Cap c;
  cap_init(&c);
  Tensor *t = rd(a, name, want, &c);
  if (!t) fprintf(stderr, "%s: %s\n", name, cap_text(&c));
  assert_non_null(t);
  assert_int_equal(c.d.errors, 0);
  cap_free(&c);
  assert_int_equal(t->elem, elem);
  assert_int_equal(t->rank, rank);
  for (int i = 0; i < rank; i++) assert_int_equal(t->dims[i], dims[i]);
  assert_true(t->has_data);
  return t;
}

/* A fixture that must be refused with a message containing `msg`. */
static void rd_fail(const char *name, ElemType want, const char *msg) {
  Arena a;
  ir_arena_init(&a);
  Cap c;
  cap_init(&c);
  Tensor *t = rd(&a, name, want, &c);
  assert_null(t);
  assert_true(c.d.errors > 0);
  if (!strstr(cap_text(&c), msg)) fprintf(stderr, "expected '%s' in: %s\n", msg, cap_text(&c));
  assert_non_null(strstr(cap_text(&c), msg));
  cap_free(&c);
  ir_arena_free(&a);
}

static uint64_t f32bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
static uint64_t f64bits(double f) {
  uint64_t u;
  memcpy(&u, &f, 8);
  return u;
}

static const int64_t D23[] = {2, 3};

/* The six values of each dtype, as gen.py writes them, in little-endian bytes. */
typedef struct Expect {
  const char *key;
  ElemType elem;
  int size;
  uint8_t bytes[6 * 16];
} Expect;

static void expected_values(Expect *e, int *n) {
  static const int64_t i1[] = {0, 1, -1, 127, -128, 42};
  static const uint64_t u1[] = {0, 1, 255, 128, 42, 7};
  static const int64_t i2[] = {0, 1, -1, 32767, -32768, 1234};
  static const uint64_t u2[] = {0, 1, 65535, 32768, 1234, 7};
  static const int64_t i4[] = {0, 1, -1, 2147483647, -2147483647 - 1, 123456};
  static const uint64_t u4[] = {0, 1, 4294967295u, 2147483648u, 123456, 7};
  static const int64_t i8[] = {0, 1, -1, INT64_MAX, INT64_MIN, 1234567890123};
  static const uint64_t u8[] = {0, 1, UINT64_MAX, 9223372036854775808u, 1234567890123, 7};
  static const int b1[] = {1, 0, 1, 1, 0, 0};
  /* float16 bits of 0, -0, 1.5, -2.25, 65504, inf (IEEE binary16 by hand) */
  static const uint16_t f2[] = {0x0000, 0x8000, 0x3e00, 0xc080, 0x7bff, 0x7c00};
  const float f4[] = {0.0f, -0.0f, 1.5f, -2.25f, 0.1f, INFINITY};
  const double f8[] = {0.0, -0.0, 1.5, -2.25, 0.1, -INFINITY};
  const double cz[][2] = {{1, 2}, {-0.5, 0.25}, {0, 0}, {3.5, -1}, {0.1, 0}, {-0.0, 1e-3}};
  int k = 0;
#define ROW(K, E, S) (e[k].key = K, e[k].elem = E, e[k].size = S, &e[k++])
  Expect *x;
  x = ROW("b1", ELEM_BOOL, 1);
  for (int i = 0; i < 6; i++) le(x->bytes + i, (uint64_t)b1[i], 1);
  x = ROW("i1", ELEM_INT8, 1);
  for (int i = 0; i < 6; i++) le(x->bytes + i, (uint64_t)i1[i], 1);
  x = ROW("u1", ELEM_UINT8, 1);
  for (int i = 0; i < 6; i++) le(x->bytes + i, u1[i], 1);
  x = ROW("i2", ELEM_INT16, 2);
  for (int i = 0; i < 6; i++) le(x->bytes + 2 * i, (uint64_t)i2[i], 2);
  x = ROW("u2", ELEM_UINT16, 2);
  for (int i = 0; i < 6; i++) le(x->bytes + 2 * i, u2[i], 2);
  x = ROW("i4", ELEM_INT32, 4);
  for (int i = 0; i < 6; i++) le(x->bytes + 4 * i, (uint64_t)i4[i], 4);
  x = ROW("u4", ELEM_UINT32, 4);
  for (int i = 0; i < 6; i++) le(x->bytes + 4 * i, u4[i], 4);
  x = ROW("i8", ELEM_INT64, 8);
  for (int i = 0; i < 6; i++) le(x->bytes + 8 * i, (uint64_t)i8[i], 8);
  x = ROW("u8", ELEM_UINT64, 8);
  for (int i = 0; i < 6; i++) le(x->bytes + 8 * i, u8[i], 8);
  x = ROW("f2", ELEM_FLOAT16, 2);
  for (int i = 0; i < 6; i++) le(x->bytes + 2 * i, f2[i], 2);
  x = ROW("f4", ELEM_FLOAT, 4);
  for (int i = 0; i < 6; i++) le(x->bytes + 4 * i, f32bits(f4[i]), 4);
  x = ROW("f8", ELEM_DOUBLE, 8);
  for (int i = 0; i < 6; i++) le(x->bytes + 8 * i, f64bits(f8[i]), 8);
  x = ROW("c8", ELEM_COMPLEX64, 8);
  for (int i = 0; i < 6; i++) {
    le(x->bytes + 8 * i, f32bits((float)cz[i][0]), 4);
    le(x->bytes + 8 * i + 4, f32bits((float)cz[i][1]), 4);
  }
  x = ROW("c16", ELEM_COMPLEX128, 16);
  for (int i = 0; i < 6; i++) {
    le(x->bytes + 16 * i, f64bits(cz[i][0]), 8);
    le(x->bytes + 16 * i + 8, f64bits(cz[i][1]), 8);
  }
#undef ROW
  *n = k;
}

static const char *const STRINGS[] = {"h\xc3\xa9llo",
                                      "",
                                      ("a\xe2\x98\x83"
                                       "b"),
                                      "\xf0\x9d\x84\x9ex",
                                      "plain",
                                      "tab\there"};

static void check_strings(const Tensor *t, const char *const *want, const size_t *lens, int n) {
  assert_int_equal(t->elem, ELEM_STRING);
  const IrStr *s = t->data;
  for (int i = 0; i < n; i++) {
    size_t l = lens ? lens[i] : strlen(want[i]);
    assert_int_equal(s[i].len, l);
    assert_memory_equal(s[i].s, want[i], l);
  }
}

/* Our bytes for t (ir_npy_write_fp). */
static char *write_mem(const Tensor *t, size_t *n) {
  char *b = NULL;
  FILE *f = open_memstream(&b, n);
  assert_true(ir_npy_write_fp(f, t));
  fclose(f);
  return b;
}

static void assert_same_tensor(const Tensor *x, const Tensor *y) {
  assert_int_equal(x->elem, y->elem);
  assert_int_equal(x->rank, y->rank);
  for (int i = 0; i < x->rank; i++) assert_int_equal(x->dims[i], y->dims[i]);
  if (x->elem == ELEM_STRING) {
    uint64_t n;
    assert_true(ir_tensor_numel(x, &n));
    const IrStr *a = x->data, *b = y->data;
    for (uint64_t i = 0; i < n; i++) {
      assert_int_equal(a[i].len, b[i].len);
      assert_memory_equal(a[i].s, b[i].s, a[i].len);
    }
  } else {
    assert_int_equal(x->nbytes, y->nbytes);
    if (x->nbytes) assert_memory_equal(x->data, y->data, x->nbytes);
  }
}

/* ------------------------------------------------------------------ reading numpy's files */

static void test_every_dtype(void **state) {
  (void)state;
  Expect e[16];
  int n;
  expected_values(e, &n);
  for (int i = 0; i < n; i++) {
    const char *suffix[] = {"_le", "_be"};
    for (int s = 0; s < (e[i].size == 1 ? 1 : 2); s++) {
      Arena a;
      ir_arena_init(&a);
      char name[64];
      snprintf(name, sizeof name, "%s%s.npy", e[i].key, e[i].size == 1 ? "" : suffix[s]);
      Tensor *t = rd_ok(&a, name, ELEM_UNDEFINED, e[i].elem, 2, D23);
      assert_int_equal(t->nbytes, (size_t)(6 * e[i].size));
      if (memcmp(t->data, e[i].bytes, t->nbytes)) fprintf(stderr, "values differ: %s\n", name);
      assert_memory_equal(t->data, e[i].bytes, t->nbytes);
      /* the same file read with want = its own type */
      Tensor *t2 = rd_ok(&a, name, e[i].elem, e[i].elem, 2, D23);
      assert_memory_equal(t2->data, e[i].bytes, t2->nbytes);
      ir_arena_free(&a);
    }
  }
}

static void test_fortran_order(void **state) {
  (void)state;
  Arena a;
  ir_arena_init(&a);
  const int64_t d234[] = {2, 3, 4}, d432[] = {4, 3, 2};
  Tensor *t = rd_ok(&a, "f4_fortran.npy", ELEM_UNDEFINED, ELEM_FLOAT, 3, d234);
  for (int k = 0; k < 24; k++) assert_true(((float *)t->data)[k] == (float)k);
  t = rd_ok(&a, "i8_be_fortran.npy", ELEM_INT64, ELEM_INT64, 3, d432);
  for (int k = 0; k < 24; k++) {
    uint8_t b[8];
    le(b, (uint64_t)k, 8);
    assert_memory_equal((uint8_t *)t->data + 8 * k, b, 8);
  }
  t = rd_ok(&a, "u_fortran.npy", ELEM_STRING, ELEM_STRING, 2, D23);
  check_strings(t, STRINGS, NULL, 6);
  ir_arena_free(&a);
}

static void test_versions_and_strings(void **state) {
  (void)state;
  Arena a;
  ir_arena_init(&a);
  const int64_t d32[] = {3, 2};
  Tensor *t = rd_ok(&a, "f8_v2.npy", ELEM_UNDEFINED, ELEM_DOUBLE, 2, d32);
  for (int k = 0; k < 6; k++) assert_true(((double *)t->data)[k] == (double)k);
  check_strings(rd_ok(&a, "u_v3.npy", ELEM_UNDEFINED, ELEM_STRING, 2, D23), STRINGS, NULL, 6);
  check_strings(rd_ok(&a, "u_le.npy", ELEM_UNDEFINED, ELEM_STRING, 2, D23), STRINGS, NULL, 6);
  check_strings(rd_ok(&a, "u_be.npy", ELEM_STRING, ELEM_STRING, 2, D23), STRINGS, NULL, 6);
  /* bytes strings: numpy drops trailing NULs but keeps inner ones */
  const int64_t d3[] = {3};
  const char *const sb[] = {"ab", "", "xyz\0q"};
  const size_t sl[] = {2, 0, 5};
  check_strings(rd_ok(&a, "s.npy", ELEM_UNDEFINED, ELEM_STRING, 1, d3), sb, sl, 3);
  ir_arena_free(&a);
}

static void test_scalar_and_empty(void **state) {
  (void)state;
  Arena a;
  ir_arena_init(&a);
  Tensor *t = rd_ok(&a, "scalar_f4.npy", ELEM_UNDEFINED, ELEM_FLOAT, 0, NULL);
  assert_int_equal(t->nbytes, 4);
  assert_true(*(float *)t->data == 3.5f);
  const char *const hi[] = {"hi"};
  check_strings(rd_ok(&a, "scalar_u.npy", ELEM_UNDEFINED, ELEM_STRING, 0, NULL), hi, NULL, 1);
  const int64_t d03[] = {0, 3}, d20[] = {2, 0};
  t = rd_ok(&a, "empty_f4.npy", ELEM_UNDEFINED, ELEM_FLOAT, 2, d03);
  assert_int_equal(t->nbytes, 0);
  t = rd_ok(&a, "empty_i8.npy", ELEM_INT64, ELEM_INT64, 2, d20);
  assert_int_equal(t->nbytes, 0);
  ir_arena_free(&a);
}

/* ------------------------------------------------------------------ types numpy lacks */

static void test_mapping(void **state) {
  (void)state;
  Arena a;
  ir_arena_init(&a);
  const int64_t d8[] = {8}, d5[] = {5}, d4[] = {4};
  /* bfloat16 from float32, round to nearest even: 1 -> 3f80; 1+2^-8 (a tie, even below) ->
   * 3f80; 1+3*2^-8 (a tie, odd below) -> 3f82; -3 -> c040; inf -> 7f80; nan stays nan;
   * 65504 = 0x477fe000 -> 0x4780 (rounds up); -0 -> 8000 */
  Tensor *t = rd_ok(&a, "bf16_src.npy", ELEM_BFLOAT16, ELEM_BFLOAT16, 1, d8);
  const uint16_t bf[] = {0x3f80, 0x3f80, 0x3f82, 0xc040, 0x7f80, 0, 0x4780, 0x8000};
  const uint16_t *h = t->data;
  assert_int_equal(t->nbytes, 16);
  for (int i = 0; i < 8; i++) {
    if (i == 5) {
      assert_int_equal(h[i] & 0x7f80, 0x7f80);
      assert_int_not_equal(h[i] & 0x7f, 0);
    } else {
      assert_int_equal(h[i], bf[i]);
    }
  }
  /* int4 from int8 values -8 -1 0 1 7: packed low nibble first */
  t = rd_ok(&a, "int4_src.npy", ELEM_INT4, ELEM_INT4, 1, d5);
  assert_int_equal(t->nbytes, 3);
  const uint8_t i4[] = {0xf8, 0x10, 0x07};
  assert_memory_equal(t->data, i4, 3);
  /* uint2 from uint8 values 0 1 2 3 3: four per byte, low bits first */
  t = rd_ok(&a, "uint2_src.npy", ELEM_UINT2, ELEM_UINT2, 1, d5);
  const uint8_t u2[] = {0xe4, 0x03};
  assert_int_equal(t->nbytes, 2);
  assert_memory_equal(t->data, u2, 2);
  /* uint4, float4e2m1 from the same uint8 values */
  const uint8_t u4[] = {0x10, 0x32, 0x03};
  t = rd_ok(&a, "uint2_src.npy", ELEM_UINT4, ELEM_UINT4, 1, d5);
  assert_memory_equal(t->data, u4, 3);
  t = rd_ok(&a, "uint2_src.npy", ELEM_FLOAT4E2M1, ELEM_FLOAT4E2M1, 1, d5);
  assert_memory_equal(t->data, u4, 3);
  /* float8 kinds and e8m0: the bytes as they are */
  const uint8_t f8[] = {0x00, 0x7e, 0xff, 0x38};
  ElemType kinds[] = {ELEM_FLOAT8E4M3FN, ELEM_FLOAT8E4M3FNUZ, ELEM_FLOAT8E5M2, ELEM_FLOAT8E5M2FNUZ,
                      ELEM_FLOAT8E8M0};
  for (int k = 0; k < 5; k++) {
    t = rd_ok(&a, "f8e4m3_src.npy", kinds[k], kinds[k], 1, d4);
    assert_int_equal(t->nbytes, 4);
    assert_memory_equal(t->data, f8, 4);
  }
  /* int2 from int8: -8 is out of range */
  rd_fail("int4_src.npy", ELEM_INT2, "outside int2's range [-2, 1]");
  rd_fail("int4_bad.npy", ELEM_INT4, "element 1 is 8, outside int4's range [-8, 7]");
  rd_fail("f4_fortran.npy", ELEM_UINT4,
          "dtype float32 but the input is uint4 (stored as uint8 values)");
  ir_arena_free(&a);
}

static void test_dtype_mismatch(void **state) {
  (void)state;
  rd_fail("f8_le.npy", ELEM_FLOAT, "f8_le.npy: dtype float64 but the input is float32");
  rd_fail("f4_le.npy", ELEM_DOUBLE, "dtype float32 but the input is float64");
  rd_fail("i4_le.npy", ELEM_INT64, "dtype int32 but the input is int64");
  rd_fail("f2_le.npy", ELEM_BFLOAT16,
          "dtype float16 but the input is bfloat16 (stored as float32 values)");
  rd_fail("u1.npy", ELEM_INT4, "dtype uint8 but the input is int4");
  rd_fail("u_le.npy", ELEM_FLOAT, "dtype str but the input is float32");
  rd_fail("f4_le.npy", ELEM_STRING, "dtype float32 but the input is str");
  rd_fail("b1.npy", ELEM_UINT8, "dtype bool but the input is uint8");
}

static void test_rejected_files(void **state) {
  (void)state;
  rd_fail("object.npy", ELEM_UNDEFINED, "object arrays");
  rd_fail("structured.npy", ELEM_UNDEFINED, "structured dtypes are not supported");
  rd_fail("no-such-file.npy", ELEM_UNDEFINED, "no-such-file.npy");
}

/* ------------------------------------------------------------------ hand-made headers */

/* A v1 (or v2/v3) file with header text h (padded with a newline as given) and dlen data bytes. */
static uint8_t *mk(const char *h, size_t dlen, int version, size_t *len) {
  size_t hl = strlen(h), pre = version == 1 ? 10 : 12;
  uint8_t *b = calloc(1, pre + hl + dlen + 1);
  memcpy(b, "\x93NUMPY", 6);
  b[6] = (uint8_t)version;
  b[7] = 0;
  if (version == 1)
    le(b + 8, hl, 2);
  else
    le(b + 8, hl, 4);
  memcpy(b + pre, h, hl);
  for (size_t i = 0; i < dlen; i++) b[pre + hl + i] = (uint8_t)(i * 7 + 1);
  *len = pre + hl + dlen;
  return b;
}

static Tensor *parse_mk(Arena *a, const char *h, size_t dlen, int version, ElemType want, Cap *c) {
  size_t len;
  uint8_t *b = mk(h, dlen, version, &len);
  Tensor *t = ir_npy_parse(a, b, len, want, "x.npy", &c->d);
  free(b);
  return t;
}

static void hdr_ok(const char *h, size_t dlen, int version, int rank, const int64_t *dims) {
  Arena a;
  ir_arena_init(&a);
  Cap c;
  cap_init(&c);
  Tensor *t = parse_mk(&a, h, dlen, version, ELEM_UNDEFINED, &c);
  if (!t) fprintf(stderr, "header %s: %s\n", h, cap_text(&c));
  assert_non_null(t);
  assert_int_equal(t->rank, rank);
  for (int i = 0; i < rank; i++) assert_int_equal(t->dims[i], dims[i]);
  cap_free(&c);
  ir_arena_free(&a);
}

static void hdr_fail(const char *h, size_t dlen, int version, const char *msg) {
  Arena a;
  ir_arena_init(&a);
  Cap c;
  cap_init(&c);
  Tensor *t = parse_mk(&a, h, dlen, version, ELEM_UNDEFINED, &c);
  assert_null(t);
  if (!strstr(cap_text(&c), msg))
    fprintf(stderr, "header %s: expected '%s' in: %s\n", h, msg, cap_text(&c));
  assert_non_null(strstr(cap_text(&c), msg));
  assert_non_null(strstr(cap_text(&c), "x.npy"));
  cap_free(&c);
  ir_arena_free(&a);
}

static void test_header_syntax(void **state) {
  (void)state;
  const int64_t d23[] = {2, 3}, d3[] = {3};
  /* accepted spellings: any key order, no trailing comma, double quotes, spaces, Python 2 'L' */
  hdr_ok("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24, 1, 2, d23);
  hdr_ok("{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}\n", 24, 1, 2, d23);
  hdr_ok("{\"descr\":\"<f4\",\"fortran_order\":True,\"shape\":(2,3,)}   \n", 24, 1, 2, d23);
  hdr_ok("{ 'descr' : '|u1' , 'fortran_order' : False , 'shape' : ( 3 , ) , }", 3, 2, 1, d3);
  hdr_ok("{'descr': '<i2', 'fortran_order': False, 'shape': (3L,), }\n", 6, 3, 1, d3);
  hdr_ok("{'descr': '>u2', 'fortran_order': False, 'shape': (), }\n", 2, 1, 0, NULL);
  /* refused */
  hdr_fail("{'descr': '<f4', 'fortran_order': False}\n", 0, 1, "missing key");
  hdr_fail("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}\n", 4, 1,
           "duplicate key 'descr'");
  hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}\n", 4, 1, "unknown key");
  hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}\n", 24, 1, "not a list");
  hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (3)}\n", 12, 1, "not a tuple");
  hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (-3,)}\n", 12, 1,
           "negative dimension");
  hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (03,)}\n", 12, 1, "leading zeros");
  hdr_fail("{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}\n", 12, 1, "True or False");
  hdr_fail("{'descr': '<f4', 'fortran_order': Falsey, 'shape': (3,)}\n", 12, 1, "True or False");
  hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} x\n", 12, 1,
           "text after the dict");
  hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)\n", 12, 1,
           "expected ',' or '}'");
  hdr_fail("{'descr': '<f4, 'fortran_order': False, 'shape': (3,)}\n", 12, 1,
           "unsupported .npy dtype");
  hdr_fail("{'descr': 'a\\x', 'fortran_order': False, 'shape': (3,)}\n", 12, 1, "escape");
  hdr_fail(" {'descr': '<f4', 'fortran_order': False, 'shape': (3,)}\n", 12, 1, "expected '{'");
  /* dtypes */
  hdr_fail("{'descr': '|O', 'fortran_order': False, 'shape': (3,)}\n", 24, 1, "object arrays");
  hdr_fail("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,)}\n", 12, 1,
           "structured");
  hdr_fail("{'descr': '<f16', 'fortran_order': False, 'shape': (3,)}\n", 48, 1,
           "unsupported .npy dtype '<f16'");
  hdr_fail("{'descr': '=f4', 'fortran_order': False, 'shape': (3,)}\n", 12, 1,
           "unsupported .npy dtype");
  hdr_fail("{'descr': '|f4', 'fortran_order': False, 'shape': (3,)}\n", 12, 1,
           "unsupported .npy dtype");
  hdr_fail("{'descr': 'f4', 'fortran_order': False, 'shape': (3,)}\n", 12, 1,
           "without a byte order");
  hdr_fail("{'descr': '<M8[s]', 'fortran_order': False, 'shape': (3,)}\n", 24, 1,
           "unsupported .npy dtype");
  hdr_fail("{'descr': '<V8', 'fortran_order': False, 'shape': (3,)}\n", 24, 1,
           "unsupported .npy dtype");
  hdr_fail("{'descr': '<U0', 'fortran_order': False, 'shape': (3,)}\n", 0, 1,
           "unsupported .npy dtype");
  /* sizes */
  hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}\n", 20, 1,
           "data is 20 bytes");
  hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}\n", 28, 1,
           "4 bytes of data after");
  hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4)}\n", 0, 1,
           "too many elements");
  hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (2305843009213693952, 2)}\n", 0, 1,
           "data is 0 bytes");
  hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}\n", 0, 1,
           "too large");
}

static void test_bad_prefix(void **state) {
  (void)state;
  Arena a;
  ir_arena_init(&a);
  struct {
    const char *bytes;
    size_t len;
    const char *msg;
  } cases[] = {
      {"", 0, "not a .npy file"},
      {"\x93NUMPY\x01", 7, "not a .npy file"},
      {"PK\x03\x04 zip", 10, ".npz archive"},
      {"\x80\x04\x95 pickle  ", 12, "pickle"},
      {"\x93NUMPY\x04\x00\x10\x00{}", 12, "unsupported .npy version 4.0"},
      {"\x93NUMPY\x01\x01\x02\x00{}", 12, "unsupported .npy version 1.1"},
      {"\x93NUMPY\x01\x00\xff\x00{}", 12, "runs past the end"},
      {"\x93NUMPY\x02\x00\x02\x00\x00", 11, "truncated"},
      {"\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14, "runs past the end"},
      {"\x93NUMPY\x01\x00\x02\x00{\0", 12, "NUL"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    Cap c;
    cap_init(&c);
    assert_null(ir_npy_parse(&a, (const uint8_t *)cases[i].bytes, cases[i].len, ELEM_UNDEFINED,
                             "x.npy", &c.d));
    if (!strstr(cap_text(&c), cases[i].msg)) fprintf(stderr, "case %zu: %s\n", i, cap_text(&c));
    assert_non_null(strstr(cap_text(&c), cases[i].msg));
    cap_free(&c);
  }
  ir_arena_free(&a);
}

/* ------------------------------------------------------------------ writing */

/* Writing what we read from a little-endian C-order file gives numpy's file back, byte for
 * byte; big-endian and Fortran files come back as their little-endian C-order twins. */
static void test_write_matches_numpy(void **state) {
  (void)state;
  const char *pairs[][2] = {
      {"b1.npy", "b1.npy"},
      {"i1.npy", "i1.npy"},
      {"u1.npy", "u1.npy"},
      {"i2_le.npy", "i2_le.npy"},
      {"i2_be.npy", "i2_le.npy"},
      {"u2_be.npy", "u2_le.npy"},
      {"i4_be.npy", "i4_le.npy"},
      {"u4_le.npy", "u4_le.npy"},
      {"i8_be.npy", "i8_le.npy"},
      {"u8_be.npy", "u8_le.npy"},
      {"f2_be.npy", "f2_le.npy"},
      {"f4_be.npy", "f4_le.npy"},
      {"f8_be.npy", "f8_le.npy"},
      {"c8_be.npy", "c8_le.npy"},
      {"c16_be.npy", "c16_le.npy"},
      {"u_be.npy", "u_le.npy"},
      {"u_v3.npy", "u_le.npy"},
      {"u_fortran.npy", "u_le.npy"},
      {"scalar_f4.npy", "scalar_f4.npy"},
      {"scalar_u.npy", "scalar_u.npy"},
      {"empty_f4.npy", "empty_f4.npy"},
      {"empty_i8.npy", "empty_i8.npy"},
      {"int4_src.npy", "int4_src.npy"},
      {"bf16_src.npy", NULL},
  };
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
    Arena a;
    ir_arena_init(&a);
    Cap c;
    cap_init(&c);
    Tensor *t = rd(&a, pairs[i][0], ELEM_UNDEFINED, &c);
    assert_non_null(t);
    size_t n;
    char *mine = write_mem(t, &n);
    if (pairs[i][1]) {
      char path[1024];
      size_t m;
      snprintf(path, sizeof path, "%s%s", DATA, pairs[i][1]);
      char *theirs = slurp(path, &m);
      if (n != m || memcmp(mine, theirs, n))
        fprintf(stderr, "differs from numpy: %s\n", pairs[i][0]);
      assert_int_equal(n, m);
      assert_memory_equal(mine, theirs, n);
      free(theirs);
    }
    /* and reading our bytes gives the same tensor */
    Tensor *u = ir_npy_parse(&a, (const uint8_t *)mine, n, ELEM_UNDEFINED, "mine.npy", &c.d);
    assert_non_null(u);
    assert_same_tensor(t, u);
    free(mine);
    cap_free(&c);
    ir_arena_free(&a);
  }
}

/* Types numpy lacks go out through their carriers and come back unchanged. */
static void test_write_mapped_roundtrip(void **state) {
  (void)state;
  struct {
    const char *file;
    ElemType want;
  } cases[] = {
      {"bf16_src.npy", ELEM_BFLOAT16},     {"int4_src.npy", ELEM_INT4},
      {"uint2_src.npy", ELEM_UINT2},       {"uint2_src.npy", ELEM_UINT4},
      {"uint2_src.npy", ELEM_FLOAT4E2M1},  {"f8e4m3_src.npy", ELEM_FLOAT8E5M2FNUZ},
      {"f8e4m3_src.npy", ELEM_FLOAT8E8M0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    Arena a;
    ir_arena_init(&a);
    Cap c;
    cap_init(&c);
    Tensor *t = rd(&a, cases[i].file, cases[i].want, &c);
    assert_non_null(t);
    size_t n;
    char *mine = write_mem(t, &n);
    Tensor *u = ir_npy_parse(&a, (const uint8_t *)mine, n, cases[i].want, "mine.npy", &c.d);
    assert_non_null(u);
    if (cases[i].want == ELEM_BFLOAT16) { /* NaN payloads may differ; compare the rest */
      for (int k = 0; k < 8; k++)
        if (k != 5) assert_int_equal(((uint16_t *)t->data)[k], ((uint16_t *)u->data)[k]);
    } else {
      assert_same_tensor(t, u);
    }
    /* the carrier file itself: int4/int2 back to int8 values, sign-extended */
    if (cases[i].want == ELEM_INT4) {
      Tensor *raw = ir_npy_parse(&a, (const uint8_t *)mine, n, ELEM_INT8, "mine.npy", &c.d);
      assert_non_null(raw);
      const int8_t want[] = {-8, -1, 0, 1, 7};
      assert_memory_equal(raw->data, want, 5);
    }
    free(mine);
    cap_free(&c);
    ir_arena_free(&a);
  }
}

static void test_write_errors(void **state) {
  (void)state;
  Arena a;
  ir_arena_init(&a);
  const int64_t d1[] = {1};
  Tensor *t = ir_tensor_new(&a, ELEM_STRING, 1, d1);
  assert_true(ir_tensor_alloc_data(&a, t));
  IrStr *s = t->data;
  s[0] = ir_str(&a, "\xff", 1); /* not UTF-8 */
  char *b = NULL;
  size_t n;
  FILE *f = open_memstream(&b, &n);
  assert_false(ir_npy_write_fp(f, t));
  s[0] = ir_str(&a, "a\0", 2); /* a trailing NUL numpy would drop */
  assert_false(ir_npy_write_fp(f, t));
  Tensor *u = ir_tensor_new(&a, ELEM_FLOAT, 1, d1); /* no data */
  assert_false(ir_npy_write_fp(f, u));
  fclose(f);
  free(b);
  /* a failed write leaves no file behind */
  char dir[] = "/tmp/effc-npy-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/out.npy", dir);
  Cap c;
  cap_init(&c);
  assert_false(ir_npy_write(path, u, &c.d));
  assert_non_null(strstr(cap_text(&c), "out.npy"));
  assert_int_equal(access(path, F_OK), -1);
  cap_free(&c);
  rmdir(dir);
  ir_arena_free(&a);
}

/* Write a set of files, then let numpy load them and compare with numpy.save's bytes. */
static Tensor *mk_tensor(Arena *a, ElemType e, int rank, const int64_t *dims, const void *bytes,
                         size_t n) {
  Tensor *t = ir_tensor_new(a, e, rank, dims);
  assert_true(ir_tensor_alloc_data(a, t));
  assert_int_equal(t->nbytes, n);
  memcpy(t->data, bytes, n);
  return t;
}

static bool write_file(const char *dir, const char *name, const Tensor *t) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  Cap c;
  cap_init(&c);
  bool ok = ir_npy_write(path, t, &c.d);
  if (!ok) fprintf(stderr, "%s\n", cap_text(&c));
  cap_free(&c);
  return ok;
}

static void test_numpy_reads_ours(void **state) {
  (void)state;
  if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) skip();
  Arena a;
  ir_arena_init(&a);
  char dir[] = "/tmp/effc-npy-XXXXXX";
  assert_non_null(mkdtemp(dir));
  Expect e[16];
  int n;
  expected_values(e, &n);
  char name[64];
  for (int i = 0; i < n; i++) {
    snprintf(name, sizeof name, "w_%s.npy", e[i].key);
    assert_true(write_file(dir, name,
                           mk_tensor(&a, e[i].elem, 2, D23, e[i].bytes, (size_t)(6 * e[i].size))));
  }
  Tensor *t = ir_tensor_new(&a, ELEM_STRING, 2, D23);
  assert_true(ir_tensor_alloc_data(&a, t));
  for (int i = 0; i < 6; i++) ((IrStr *)t->data)[i] = ir_str(&a, STRINGS[i], strlen(STRINGS[i]));
  assert_true(write_file(dir, "w_str.npy", t));
  double sc = 3.25;
  assert_true(write_file(dir, "w_scalar.npy", mk_tensor(&a, ELEM_DOUBLE, 0, NULL, &sc, 8)));
  const int64_t d03[] = {0, 3}, d5[] = {5}, d234[] = {2, 3, 4}, d4[] = {4}, d3[] = {3};
  assert_true(write_file(dir, "w_empty.npy", mk_tensor(&a, ELEM_FLOAT, 2, d03, "", 0)));
  const int32_t i1d[] = {0, 1, 2, 3, 4};
  assert_true(write_file(dir, "w_1d.npy", mk_tensor(&a, ELEM_INT32, 1, d5, i1d, sizeof i1d)));
  int16_t i3d[24];
  for (int i = 0; i < 24; i++) i3d[i] = (int16_t)i;
  assert_true(write_file(dir, "w_3d.npy", mk_tensor(&a, ELEM_INT16, 3, d234, i3d, sizeof i3d)));
  const uint16_t bf[] = {0x3f80, 0x3f82, 0xc040, 0x7f80}; /* 1, 1.015625, -3, inf */
  assert_true(write_file(dir, "w_bf16.npy", mk_tensor(&a, ELEM_BFLOAT16, 1, d4, bf, sizeof bf)));
  const uint8_t i4[] = {0xf8, 0x10, 0x07}; /* -8 -1 0 1 7 */
  assert_true(write_file(dir, "w_int4.npy", mk_tensor(&a, ELEM_INT4, 1, d5, i4, 3)));
  const uint8_t u4[] = {0xf0, 0x03}; /* 0 15 3 */
  assert_true(write_file(dir, "w_uint4.npy", mk_tensor(&a, ELEM_UINT4, 1, d3, u4, 2)));
  const uint8_t i2[] = {0x4e}; /* -2 -1 0 1 = 10 11 00 01 (low bits first) */
  assert_true(write_file(dir, "w_int2.npy", mk_tensor(&a, ELEM_INT2, 1, d4, i2, 1)));
  const uint8_t u2[] = {0xe4, 0x03}; /* 0 1 2 3 3 */
  assert_true(write_file(dir, "w_uint2.npy", mk_tensor(&a, ELEM_UINT2, 1, d5, u2, 2)));
  const uint8_t f4[] = {0xf0, 0x09}; /* 0 15 9 */
  assert_true(write_file(dir, "w_f4e2m1.npy", mk_tensor(&a, ELEM_FLOAT4E2M1, 1, d3, f4, 2)));
  const uint8_t f8[] = {0x00, 0x7e, 0xff};
  assert_true(write_file(dir, "w_f8e4m3fn.npy", mk_tensor(&a, ELEM_FLOAT8E4M3FN, 1, d3, f8, 3)));
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %scheck_written.py %s 1>&2", DATA, dir);
  int rc = system(cmd);
  assert_int_equal(tmpdir_remove(dir), 0);
  assert_int_equal(rc, 0);
  ir_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_dtype),
      cmocka_unit_test(test_fortran_order),
      cmocka_unit_test(test_versions_and_strings),
      cmocka_unit_test(test_scalar_and_empty),
      cmocka_unit_test(test_mapping),
      cmocka_unit_test(test_dtype_mismatch),
      cmocka_unit_test(test_rejected_files),
      cmocka_unit_test(test_header_syntax),
      cmocka_unit_test(test_bad_prefix),
      cmocka_unit_test(test_write_matches_numpy),
      cmocka_unit_test(test_write_mapped_roundtrip),
      cmocka_unit_test(test_write_errors),
      cmocka_unit_test(test_numpy_reads_ours),
  };
  return cmocka_run_group_tests_name("npy", tests, NULL, NULL);
}
