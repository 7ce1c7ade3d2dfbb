/* test_safetensors.c - the safetensors reader on files a plain Python writer made
 * (tests/data/safetensors/gen.py), on hand-made broken headers, and the writer checked by an
 * independent Python reader (check_written.py: Hugging Face's layout rules, alignment, values). */
#include <math.h>
#include <unistd.h>

#include "testutil.h"

#define DATA EFFC_SOURCE_DIR "/tests/data/safetensors/"

static const StEntry *must_find(const SafeTensors *st, const char *name, ElemType e, int rank,
                                const int64_t *dims) {
  const StEntry *x = ir_st_find(st, name);
  if (!x) fprintf(stderr, "no entry %s\n", name);
  assert_non_null(x);
  assert_string_equal(x->name, name);
  assert_int_equal(x->elem, e);
  assert_int_equal(x->rank, rank);
  for (int i = 0; i < rank; i++) assert_int_equal(x->dims[i], dims[i]);
  return x;
}

static Tensor *tensor_of(Arena *a, const SafeTensors *st, const char *name) {
  Cap c;
  cap_init(&c);
  const StEntry *e = ir_st_find(st, name);
  assert_non_null(e);
  Tensor *t = ir_st_tensor(a, st, e, "x.safetensors", &c.d);
  if (!t) fprintf(stderr, "%s\n", cap_text(&c));
  assert_non_null(t);
  cap_free(&c);
  return t;
}

/* ------------------------------------------------------------------ files from Python */

static void test_read_plain(void **state) {
  (void)state;
  SafeTensors st;
  Cap c;
  cap_init(&c);
  assert_true(ir_st_open(&st, DATA "plain.safetensors", &c.d));
  cap_free(&c);
  assert_int_equal(st.n_entries, 10);
  assert_int_equal(st.n_metadata, 1);
  assert_string_equal(st.metadata[0].key, "format");
  assert_string_equal(st.metadata[0].value, "pt");
  const int64_t d23[] = {2, 3}, d2[] = {2}, d3[] = {3}, d04[] = {0, 4};
  must_find(&st, "fc.weight", ELEM_FLOAT, 2, d23);
  must_find(&st, "fc.bias", ELEM_FLOAT, 1, d2);
  must_find(&st, "ids", ELEM_INT64, 1, d3);
  must_find(&st, "mask", ELEM_BOOL, 1, d3);
  must_find(&st, "half", ELEM_FLOAT16, 1, d2);
  must_find(&st, "brain", ELEM_BFLOAT16, 1, d2);
  must_find(&st, "bytes", ELEM_UINT8, 1, d3);
  must_find(&st, "scalar", ELEM_DOUBLE, 0, NULL);
  must_find(&st, "empty", ELEM_FLOAT, 2, d04);
  must_find(&st, "e4m3", ELEM_FLOAT8E4M3FN, 1, d2);
  assert_null(ir_st_find(&st, "nope"));
  assert_null(ir_st_find(&st, "__metadata__"));
  Arena a;
  ir_arena_init(&a);
  Tensor *t = tensor_of(&a, &st, "fc.weight");
  for (int i = 0; i < 6; i++) assert_true(((float *)t->data)[i] == (float)i);
  t = tensor_of(&a, &st, "fc.bias");
  assert_true(((float *)t->data)[0] == 0.5f && ((float *)t->data)[1] == -1.0f);
  t = tensor_of(&a, &st, "ids");
  assert_true(((int64_t *)t->data)[1] == -2);
  t = tensor_of(&a, &st, "mask");
  assert_memory_equal(t->data, "\1\0\1", 3);
  t = tensor_of(&a, &st, "half"); /* 1.5 = 0x3e00, -2 = 0xc000 */
  assert_int_equal(((uint16_t *)t->data)[0], 0x3e00);
  assert_int_equal(((uint16_t *)t->data)[1], 0xc000);
  t = tensor_of(&a, &st, "brain");
  assert_int_equal(((uint16_t *)t->data)[1], 0xc040);
  t = tensor_of(&a, &st, "scalar");
  assert_true(*(double *)t->data == 2.5);
  t = tensor_of(&a, &st, "empty");
  assert_int_equal(t->nbytes, 0);
  t = tensor_of(&a, &st, "e4m3");
  assert_memory_equal(t->data, "\x38\xff", 2);
  ir_arena_free(&a);
  ir_st_close(&st);
}

static void test_read_effc_types(void **state) {
  (void)state;
  SafeTensors st;
  Cap c;
  cap_init(&c);
  assert_true(ir_st_open(&st, DATA "effc_types.safetensors", &c.d));
  cap_free(&c);
  const int64_t d35[] = {3, 5}, d3[] = {3}, d2[] = {2};
  must_find(&st, "q", ELEM_INT4, 2, d35);
  must_find(&st, "s", ELEM_STRING, 1, d3);
  must_find(&st, "c", ELEM_COMPLEX64, 1, d2);
  must_find(&st, "w", ELEM_FLOAT, 1, d2);
  Arena a;
  ir_arena_init(&a);
  /* int4 values (i % 16) - 8 for i < 15: -8..6, packed low nibble first */
  Tensor *t = tensor_of(&a, &st, "q");
  assert_int_equal(t->nbytes, 8);
  const uint8_t q[] = {0x98, 0xba, 0xdc, 0xfe, 0x10, 0x32, 0x54, 0x06};
  assert_memory_equal(t->data, q, 8);
  t = tensor_of(&a, &st, "s");
  const IrStr *s = t->data;
  assert_int_equal(s[0].len, 2);
  assert_memory_equal(s[0].s, "ab", 2);
  assert_int_equal(s[1].len, 6);
  assert_memory_equal(s[1].s, "h\xc3\xa9llo", 6);
  assert_int_equal(s[2].len, 0);
  t = tensor_of(&a, &st, "c");
  const float cz[] = {1, 2, -0.5f, 0.25f};
  assert_memory_equal(t->data, cz, 16);
  ir_arena_free(&a);
  ir_st_close(&st);
}

/* ------------------------------------------------------------------ broken headers */

/* A safetensors image: u64 header length, the JSON text, dlen data bytes. */
static uint8_t *mk(const char *json, size_t dlen, size_t *len) {
  size_t hl = strlen(json);
  uint8_t *b = calloc(1, 8 + hl + dlen + 1);
  le(b, hl, 8);
  memcpy(b + 8, json, hl);
  *len = 8 + hl + dlen;
  return b;
}

static void st_fail(const char *json, size_t dlen, const char *msg) {
  size_t len;
  uint8_t *b = mk(json, dlen, &len);
  SafeTensors st;
  Cap c;
  cap_init(&c);
  bool ok = ir_st_parse(&st, b, len, "x.safetensors", &c.d);
  if (ok || !strstr(cap_text(&c), msg))
    fprintf(stderr, "header %s: expected '%s' in: %s\n", json, msg, cap_text(&c));
  assert_false(ok);
  assert_non_null(strstr(cap_text(&c), msg));
  assert_non_null(strstr(cap_text(&c), "x.safetensors"));
  assert_int_equal(st.n_entries, 0);
  ir_st_close(&st); /* safe on a failed parse */
  cap_free(&c);
  free(b);
}

static void st_ok(const char *json, size_t dlen, int n) {
  size_t len;
  uint8_t *b = mk(json, dlen, &len);
  SafeTensors st;
  Cap c;
  cap_init(&c);
  bool ok = ir_st_parse(&st, b, len, "x.safetensors", &c.d);
  if (!ok) fprintf(stderr, "header %s: %s\n", json, cap_text(&c));
  assert_true(ok);
  assert_int_equal(st.n_entries, n);
  ir_st_close(&st);
  cap_free(&c);
  free(b);
}

#define T(dt, shape, off) "{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":" off "}"

static void test_bad_headers(void **state) {
  (void)state;
  /* accepted: empty, metadata only, zero-size tensors sharing an offset, gaps, spaces */
  st_ok("{}", 0, 0);
  st_ok("{\"__metadata__\":{}}  ", 0, 0);
  st_ok("{\"a\":" T("F32", "[0]", "[0,0]") ",\"b\":" T("F32", "[2,0]", "[0,0]") "}", 0, 2);
  st_ok("{\"a\":" T("F32", "[1]", "[4,8]") ",\"b\":" T("I8", "[1]", "[9,10]") "}", 16, 2);
  st_ok("{\"a\":" T("F32", "[1.0]", "[0,4e0]") "}", 4, 1);

  st_fail("[]", 0, "must be a JSON object");
  st_fail(" {}", 0, "must be a JSON object");
  st_fail("{\"a\":", 0, "invalid JSON");
  st_fail("{} x", 0, "text after");
  st_fail("{\"\xff\":1}", 0, "not valid UTF-8");
  st_fail("{\"a\":1}", 0, "entry must be an object");
  st_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "needs dtype, shape and data_offsets");
  st_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4,
          "unknown key \"x\"");
  st_fail("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
          "duplicate key \"dtype\"");
  st_fail("{\"a\":" T("F4", "[1]", "[0,1]") "}", 1, "unsupported dtype \"F4\"");
  st_fail("{\"a\":" T("f32", "[1]", "[0,4]") "}", 4, "unsupported dtype");
  st_fail("{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
          "dtype must be a string");
  st_fail("{\"a\":" T("F32", "1", "[0,4]") "}", 4, "shape must be an array");
  st_fail("{\"a\":" T("F32", "[-1]", "[0,4]") "}", 4, "shape entries must be integers");
  st_fail("{\"a\":" T("F32", "[1.5]", "[0,4]") "}", 4, "shape entries must be integers");
  st_fail("{\"a\":" T("F32", "[\"1\"]", "[0,4]") "}", 4, "shape entries must be integers");
  st_fail("{\"a\":" T("U8", "[9007199254740992]", "[0,4]") "}", 4,
          "shape entries must be integers");
  st_fail("{\"a\":" T("U8", "[1e400]", "[0,4]") "}", 4, "shape entries must be integers");
  st_fail("{\"a\":" T("F32", "[4503599627370496,4503599627370496]", "[0,4]") "}", 4,
          "too many elements");
  st_fail("{\"a\":" T("F32", "[1]", "[0]") "}", 4, "data_offsets must be two integers");
  st_fail("{\"a\":" T("F32", "[1]", "[0,4,8]") "}", 8, "data_offsets must be two integers");
  st_fail("{\"a\":" T("F32", "[1]", "[0.5,4]") "}", 4, "data_offsets must be two integers");
  st_fail("{\"a\":" T("F32", "[1]", "[8,4]") "}", 8, "lie outside the data section");
  st_fail("{\"a\":" T("F32", "[1]", "[0,4]") "}", 3, "lie outside the data section (3 bytes)");
  st_fail("{\"a\":" T("F32", "[2]", "[0,4]") "}", 8,
          "4 bytes in data_offsets but shape and dtype need 8");
  st_fail("{\"a\":" T("F32", "[1]", "[0,4]") ",\"a\":" T("F32", "[1]", "[4,8]") "}", 8,
          "duplicate tensor name 'a'");
  st_fail("{\"a\":" T("F32", "[2]", "[0,8]") ",\"b\":" T("F32", "[1]", "[4,8]") "}", 8, "overlap");
  st_fail("{\"__metadata__\":[]}", 0, "__metadata__ must be an object");
  st_fail("{\"__metadata__\":{\"k\":1}}", 0, "must be a string");
  st_fail("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate key \"__metadata__\"");
  st_fail("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, "duplicate __metadata__ key");
  /* effc's retyping of U8 entries */
  st_fail("{\"__metadata__\":{\"effc.type.z\":\"int4[2]\"}}", 0, "names no tensor");
  st_fail("{\"__metadata__\":{\"effc.type.a\":\"int4[2]\"},\"a\":" T("I8", "[1]", "[0,1]") "}", 1,
          "must be U8");
  st_fail("{\"__metadata__\":{\"effc.type.a\":\"int4[2]\"},\"a\":" T("U8", "[1,1]", "[0,1]") "}", 1,
          "must be U8 with a 1-D shape");
  st_fail("{\"__metadata__\":{\"effc.type.a\":\"int4\"},\"a\":" T("U8", "[1]", "[0,1]") "}", 1,
          "bad type \"int4\"");
  st_fail("{\"__metadata__\":{\"effc.type.a\":\"int5[2]\"},\"a\":" T("U8", "[1]", "[0,1]") "}", 1,
          "bad type");
  st_fail("{\"__metadata__\":{\"effc.type.a\":\"int4[2,]\"},\"a\":" T("U8", "[1]", "[0,1]") "}", 1,
          "bad type");
  st_fail("{\"__metadata__\":{\"effc.type.a\":\"int4[02]\"},\"a\":" T("U8", "[1]", "[0,1]") "}", 1,
          "bad type");
  st_fail("{\"__metadata__\":{\"effc.type.a\":\"int4[2] \"},\"a\":" T("U8", "[1]", "[0,1]") "}", 1,
          "bad type");
  st_fail("{\"__metadata__\":{\"effc.type.a\":\"uint8[1]\"},\"a\":" T("U8", "[1]", "[0,1]") "}", 1,
          "must not be stored as U8");
  st_fail("{\"__metadata__\":{\"effc.type.a\":\"int4[3]\"},\"a\":" T("U8", "[1]", "[0,1]") "}", 1,
          "1 bytes but int4[3] needs 2");
  st_fail("{\"__metadata__\":{\"effc.type.a\":\"string[2]\"},\"a\":" T("U8", "[8]", "[0,8]") "}", 8,
          "cannot hold 2 string lengths");
  st_fail("{\"__metadata__\":{\"effc.type.a\":\"int4[99999999999999999999]\"},\"a\":" T(
              "U8", "[1]", "[0,1]") "}",
          1, "bad type");
}

static void test_bad_prefix(void **state) {
  (void)state;
  SafeTensors st;
  Cap c;
  cap_init(&c);
  uint8_t b[16] = {0};
  assert_false(ir_st_parse(&st, b, 7, "x.safetensors", &c.d));
  assert_non_null(strstr(cap_text(&c), "too short"));
  le(b, 9, 8);
  assert_false(ir_st_parse(&st, b, 16, "x.safetensors", &c.d));
  assert_non_null(strstr(cap_text(&c), "runs past the end"));
  le(b, UINT64_MAX, 8);
  assert_false(ir_st_parse(&st, b, 16, "x.safetensors", &c.d));
  le(b, 2, 8);
  memcpy(b + 8, "{\0", 2);
  assert_false(ir_st_parse(&st, b, 10, "x.safetensors", &c.d));
  assert_non_null(strstr(cap_text(&c), "NUL byte"));
  cap_free(&c);
  cap_init(&c);
  assert_false(ir_st_open(&st, DATA "missing.safetensors", &c.d));
  assert_non_null(strstr(cap_text(&c), "missing.safetensors"));
  cap_free(&c);
}

/* String data that does not match its lengths is refused when the tensor is made. */
static void test_bad_string_data(void **state) {
  (void)state;
  const char *json =
      "{\"__metadata__\":{\"effc.type.s\":\"string[1]\"},\"s\":" T("U8", "[10]", "[0,10]") "}";
  size_t len;
  uint8_t *b = mk(json, 10, &len);
  size_t hl = strlen(json);
  for (int k = 0; k < 3; k++) {
    uint64_t l = k == 0 ? 2 : k == 1 ? 3 : UINT64_MAX; /* exact; one too many; absurd */
    le(b + 8 + hl, l, 8);
    SafeTensors st;
    Cap c;
    cap_init(&c);
    assert_true(ir_st_parse(&st, b, len, "x.safetensors", &c.d));
    Arena a;
    ir_arena_init(&a);
    Tensor *t = ir_st_tensor(&a, &st, ir_st_find(&st, "s"), "x.safetensors", &c.d);
    if (k == 0) {
      assert_non_null(t);
      assert_int_equal(((IrStr *)t->data)[0].len, 2);
    } else {
      assert_null(t);
      assert_non_null(strstr(cap_text(&c), "string data does not match"));
    }
    ir_arena_free(&a);
    ir_st_close(&st);
    cap_free(&c);
  }
  free(b);
}

/* ------------------------------------------------------------------ writing */

#define ODD_NAME "odd \"name\"\\\n\xc3\xa9"

static Tensor *mk_tensor(Arena *a, const char *name, ElemType e, int rank, const int64_t *dims,
                         const void *bytes) {
  Tensor *t = ir_tensor_new(a, e, rank, dims);
  t->name = name;
  assert_true(ir_tensor_alloc_data(a, t));
  if (e != ELEM_STRING && t->nbytes) memcpy(t->data, bytes, t->nbytes);
  return t;
}

/* The set check_written.py expects. */
static int make_set(Arena *a, Tensor **ts) {
  int n = 0;
  const int64_t d23[] = {2, 3}, d17[] = {17}, d3[] = {3}, d35[] = {3, 5}, d2[] = {2}, d0[] = {0},
                d4[] = {4};
  float w[6], b[17];
  for (int i = 0; i < 6; i++) w[i] = 0.5f * (float)i;
  for (int i = 0; i < 17; i++) b[i] = (float)i - 8;
  const int64_t ids[] = {1, -2, 3};
  const uint16_t h[] = {0x3e00, 0xc000, 0x3400}; /* 1.5, -2, 0.25 */
  const uint8_t q[] = {0x98, 0xba, 0xdc, 0xfe, 0x10, 0x32, 0x54, 0x06};
  const float cz[] = {1, 2, -0.5f, 0.25f};
  const uint8_t f8[] = {0x00, 0x7e, 0xff, 0x38};
  const uint16_t bf[] = {0x3f80, 0xc040};
  const double dbl = 2.5;
  const int8_t odd[] = {1, 2, 3};
  ts[n++] = mk_tensor(a, "w", ELEM_FLOAT, 2, d23, w);
  ts[n++] = mk_tensor(a, "q", ELEM_INT4, 2, d35, q);
  ts[n++] = mk_tensor(a, "b", ELEM_FLOAT, 1, d17, b);
  ts[n++] = mk_tensor(a, "h", ELEM_FLOAT16, 1, d3, h);
  Tensor *s = mk_tensor(a, "s", ELEM_STRING, 1, d2, NULL);
  ((IrStr *)s->data)[0] = ir_str(a, "ab", 2);
  ((IrStr *)s->data)[1] = ir_str(a, "h\xc3\xa9llo", 6);
  ts[n++] = s;
  ts[n++] = mk_tensor(a, "ids", ELEM_INT64, 1, d3, ids);
  ts[n++] = mk_tensor(a, "c", ELEM_COMPLEX64, 1, d2, cz);
  ts[n++] = mk_tensor(a, "e", ELEM_UINT8, 1, d0, NULL);
  ts[n++] = mk_tensor(a, "f8", ELEM_FLOAT8E4M3FN, 1, d4, f8);
  ts[n++] = mk_tensor(a, "bf", ELEM_BFLOAT16, 1, d2, bf);
  ts[n++] = mk_tensor(a, "dbl", ELEM_DOUBLE, 0, NULL, &dbl);
  ts[n++] = mk_tensor(a, ODD_NAME, ELEM_INT8, 1, d3, odd);
  return n;
}

static char g_dir[64];

static void write_set(const char *path, uint64_t *offs, int *n_out, Arena *a, Tensor **ts) {
  int n = make_set(a, ts);
  Cap c;
  cap_init(&c);
  bool ok = ir_st_write(path, ts, n, offs, &c.d);
  if (!ok) fprintf(stderr, "%s\n", cap_text(&c));
  assert_true(ok);
  cap_free(&c);
  *n_out = n;
}

static void test_write_read(void **state) {
  (void)state;
  Arena a;
  ir_arena_init(&a);
  Tensor *ts[32];
  uint64_t offs[32];
  int n;
  char path[128];
  snprintf(path, sizeof path, "%s/ours.safetensors", g_dir);
  write_set(path, offs, &n, &a, ts);
  SafeTensors st;
  Cap c;
  cap_init(&c);
  assert_true(ir_st_open(&st, path, &c.d));
  assert_int_equal(st.n_entries, n);
  assert_int_equal(st.data_start % 4096, 0);
  uint64_t covered = 0;
  for (int i = 0; i < n; i++) {
    const StEntry *e = ir_st_find(&st, ts[i]->name);
    assert_non_null(e);
    assert_int_equal(e->elem, ts[i]->elem);
    assert_int_equal(e->rank, ts[i]->rank);
    for (int k = 0; k < e->rank; k++) assert_int_equal(e->dims[k], ts[i]->dims[k]);
    /* the external-data offset counts from the start of the file */
    assert_int_equal(offs[i], st.data_start + e->begin);
    /* every tensor aligned to its element size: 8-byte types first, then 4, 2, 1 */
    int bits = ir_elem(e->elem)->bits, align = (e->elem == ELEM_COMPLEX64) ? 4
                                               : bits >= 16                ? bits / 8
                                                                           : 1;
    if (e->elem == ELEM_COMPLEX128) align = 8;
    if (ir_elem(e->elem)->st_dtype == NULL) align = 1;
    assert_int_equal(e->begin % (uint64_t)align, 0);
    covered += e->end - e->begin;
    Tensor *t = ir_st_tensor(&a, &st, e, path, &c.d);
    assert_non_null(t);
    if (t->elem == ELEM_STRING) {
      const IrStr *x = t->data, *y = ts[i]->data;
      for (int k = 0; k < 2; k++) {
        assert_int_equal(x[k].len, y[k].len);
        assert_memory_equal(x[k].s, y[k].s, x[k].len);
      }
    } else {
      assert_int_equal(t->nbytes, ts[i]->nbytes);
      if (t->nbytes) assert_memory_equal(t->data, ts[i]->data, t->nbytes);
      /* and the bytes sit at offs[i] in the file */
      if (t->nbytes) assert_memory_equal(st.file.data + offs[i], ts[i]->data, t->nbytes);
    }
  }
  /* contiguous: no gaps, the data ends at the end of the file */
  assert_int_equal(st.data_start + covered, st.file.len);
  /* the 4-byte group starts after the 8-byte group: w (given first) is not first in the file */
  assert_int_equal(ir_st_find(&st, "ids")->begin, 0);
  cap_free(&c);
  ir_st_close(&st);
  ir_arena_free(&a);
}

static void test_python_reads_ours(void **state) {
  (void)state;
  if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) skip();
  Arena a;
  ir_arena_init(&a);
  Tensor *ts[32];
  uint64_t offs[32];
  int n;
  char path[128], cmd[512];
  snprintf(path, sizeof path, "%s/py.safetensors", g_dir);
  write_set(path, offs, &n, &a, ts);
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %scheck_written.py %s 1>&2", DATA, path);
  assert_int_equal(system(cmd), 0);
  ir_arena_free(&a);
}

static void write_fail(Tensor **ts, int n, const char *msg) {
  char path[128];
  snprintf(path, sizeof path, "%s/bad.safetensors", g_dir);
  Cap c;
  cap_init(&c);
  assert_false(ir_st_write(path, ts, n, NULL, &c.d));
  if (!strstr(cap_text(&c), msg)) fprintf(stderr, "expected '%s' in: %s\n", msg, cap_text(&c));
  assert_non_null(strstr(cap_text(&c), msg));
  assert_int_equal(access(path, F_OK), -1);
  cap_free(&c);
}

static void test_write_errors(void **state) {
  (void)state;
  Arena a;
  ir_arena_init(&a);
  const int64_t d1[] = {1};
  const float one = 1;
  Tensor *x = mk_tensor(&a, "x", ELEM_FLOAT, 1, d1, &one),
         *y = mk_tensor(&a, "x", ELEM_FLOAT, 1, d1, &one);
  Tensor *ts[2] = {x, y};
  write_fail(ts, 2, "duplicate tensor name 'x'");
  y->name = "__metadata__";
  write_fail(ts, 2, "__metadata__");
  y->name = "\xff";
  write_fail(ts, 2, "not valid UTF-8");
  y->name = NULL;
  write_fail(ts, 2, "has no name");
  y->name = "y";
  y->has_data = false;
  write_fail(ts, 2, "'y' has no data");
  Tensor *u = ir_tensor_new(&a, ELEM_FLOAT, 1, (const int64_t[]){-1});
  u->name = "u";
  u->has_data = true;
  ts[1] = u;
  write_fail(ts, 2, "unknown dimension");
  /* an empty file is fine: header only */
  char path[128];
  snprintf(path, sizeof path, "%s/empty.safetensors", g_dir);
  Cap c;
  cap_init(&c);
  assert_true(ir_st_write(path, ts, 0, NULL, &c.d));
  SafeTensors st;
  assert_true(ir_st_open(&st, path, &c.d));
  assert_int_equal(st.n_entries, 0);
  assert_int_equal(st.file.len, 4096);
  ir_st_close(&st);
  cap_free(&c);
  ir_arena_free(&a);
}

static int setup(void **state) {
  (void)state;
  return tmpdir_make(g_dir, sizeof g_dir, "/tmp/effc-st-XXXXXX");
}
static int teardown(void **state) {
  (void)state;
  return tmpdir_remove(g_dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_read_plain),        cmocka_unit_test(test_read_effc_types),
      cmocka_unit_test(test_bad_headers),       cmocka_unit_test(test_bad_prefix),
      cmocka_unit_test(test_bad_string_data),   cmocka_unit_test(test_write_read),
      cmocka_unit_test(test_python_reads_ours), cmocka_unit_test(test_write_errors),
  };
  return cmocka_run_group_tests_name("safetensors", tests, setup, teardown);
}
