/* test_pb.c - TensorProto/SequenceProto/OptionalProto/MapProto .pb reading (fixtures written by
 * python3-onnx: tests/data/pb/gen_pb.py), the TensorProto <-> Tensor conversion (typed fields,
 * sub-byte packing, size checks), the depth pre-scan and hostile wire data. */
#include <math.h>

#include "onnx.pb-c.h"
#include "testutil.h"

#define DATA EFFC_SOURCE_DIR "/tests/data/pb/"

/* ------------------------------------------------------------------ helpers */

static Type *tensor_t(Arena *a, ElemType e) {
  return ir_type_tensor(a, e, -1, NULL);
}
static Type *wrap(Arena *a, TypeKind k, Type *inner) {
  Type *t = ir_type_new(a, k);
  t->inner = inner;
  return t;
}

static void assert_dims(const Tensor *t, int rank, const int64_t *dims) {
  assert_int_equal(t->rank, rank);
  for (int i = 0; i < rank; i++) assert_int_equal(t->dims[i], dims[i]);
}

/* ------------------------------------------------------------------ .pb fixtures */

static void test_tensor_files(void **state) {
  (void)state;
  Arena a;
  ir_arena_init(&a);
  Cap c;
  cap_init(&c);
  Datum *x = ir_pb_read(&a, DATA "tensor_f32.pb", NULL, &c.d);
  assert_non_null(x);
  assert_int_equal(x->kind, TYPE_TENSOR);
  assert_int_equal(x->tensor->elem, ELEM_FLOAT);
  assert_dims(x->tensor, 2, (int64_t[]){2, 3});
  assert_string_equal(x->tensor->name, "x");
  const float want[] = {1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, -7.0f};
  assert_int_equal(x->tensor->nbytes, sizeof want);
  assert_memory_equal(x->tensor->data, want, sizeof want);

  x = ir_pb_read(&a, DATA "tensor_i32_typed.pb", tensor_t(&a, ELEM_INT32), &c.d);
  assert_non_null(x);
  const int32_t wi[] = {1, -1, 2147483647, -2147483647 - 1};
  assert_memory_equal(x->tensor->data, wi, sizeof wi);

  x = ir_pb_read(&a, DATA "tensor_u16_typed.pb", NULL, &c.d);
  assert_non_null(x);
  assert_int_equal(x->tensor->elem, ELEM_UINT16);
  const uint16_t wu[] = {65535, 7};
  assert_int_equal(x->tensor->nbytes, 4);
  assert_memory_equal(x->tensor->data, wu, sizeof wu);

  x = ir_pb_read(&a, DATA "tensor_str.pb", NULL, &c.d);
  assert_non_null(x);
  assert_int_equal(x->tensor->elem, ELEM_STRING);
  const IrStr *s = x->tensor->data;
  assert_int_equal(s[0].len, 2);
  assert_memory_equal(s[0].s, "ab", 2);
  assert_int_equal(s[1].len, 0);
  assert_int_equal(s[2].len, 2);
  assert_memory_equal(s[2].s, "\xc3\xa9", 2);
  assert_int_equal(c.d.errors, 0);
  cap_free(&c);
  ir_arena_free(&a);
}

static void test_sequence_files(void **state) {
  (void)state;
  Arena a;
  ir_arena_init(&a);
  Cap c;
  cap_init(&c);
  Type *st = wrap(&a, TYPE_SEQUENCE, tensor_t(&a, ELEM_INT64));
  Datum *x = ir_pb_read(&a, DATA "seq_i64.pb", st, &c.d);
  assert_non_null(x);
  assert_int_equal(x->kind, TYPE_SEQUENCE);
  assert_int_equal(x->n_items, 2);
  assert_int_equal(x->elem_hint, 1); /* SequenceProto.TENSOR */
  assert_dims(x->items[0]->tensor, 1, (int64_t[]){3});
  assert_memory_equal(x->items[0]->tensor->data, ((int64_t[]){1, 2, 3}), 24);
  assert_memory_equal(x->items[1]->tensor->data, ((int64_t[]){4}), 8);

  Type *sst = wrap(&a, TYPE_SEQUENCE, wrap(&a, TYPE_SEQUENCE, tensor_t(&a, ELEM_FLOAT)));
  x = ir_pb_read(&a, DATA "seq_seq.pb", sst, &c.d);
  assert_non_null(x);
  assert_int_equal(x->n_items, 2);
  assert_int_equal(x->items[0]->kind, TYPE_SEQUENCE);
  assert_int_equal(x->items[0]->n_items, 1);
  assert_int_equal(x->items[1]->n_items, 2);
  assert_memory_equal(x->items[1]->items[0]->tensor->data, ((float[]){2.0f, 3.0f}), 8);
  assert_memory_equal(x->items[1]->items[1]->tensor->data, ((float[]){4.0f}), 4);

  /* a declared element type the data does not have */
  x = ir_pb_read(&a, DATA "seq_i64.pb", wrap(&a, TYPE_SEQUENCE, tensor_t(&a, ELEM_FLOAT)), &c.d);
  assert_null(x);
  assert_non_null(strstr(cap_text(&c), "declared"));
  cap_free(&c);
  ir_arena_free(&a);
}

static void test_optional_and_map_files(void **state) {
  (void)state;
  Arena a;
  ir_arena_init(&a);
  Cap c;
  cap_init(&c);
  Type *ot = wrap(&a, TYPE_OPTIONAL, tensor_t(&a, ELEM_FLOAT));
  Datum *x = ir_pb_read(&a, DATA "opt_tensor.pb", ot, &c.d);
  assert_non_null(x);
  assert_int_equal(x->kind, TYPE_OPTIONAL);
  assert_int_equal(x->n_items, 1);
  assert_memory_equal(x->items[0]->tensor->data, ((float[]){9.0f, 8.0f}), 8);

  x = ir_pb_read(&a, DATA "opt_empty.pb", ot, &c.d);
  assert_non_null(x);
  assert_int_equal(x->kind, TYPE_OPTIONAL);
  assert_int_equal(x->n_items, 0);

  /* ONNX's node tests store a present optional as its bare TensorProto */
  x = ir_pb_read(&a, DATA "tensor_f32.pb", ot, &c.d);
  assert_non_null(x);
  assert_int_equal(x->kind, TYPE_OPTIONAL);
  assert_int_equal(x->n_items, 1);
  assert_int_equal(x->items[0]->tensor->elem, ELEM_FLOAT);

  Type *mt = ir_type_new(&a, TYPE_MAP);
  mt->elem = ELEM_INT64;
  mt->inner = tensor_t(&a, ELEM_FLOAT);
  x = ir_pb_read(&a, DATA "map_i64.pb", mt, &c.d);
  assert_non_null(x);
  assert_int_equal(x->kind, TYPE_MAP);
  assert_int_equal(x->tensor->elem, ELEM_INT64);
  assert_memory_equal(x->tensor->data, ((int64_t[]){10, 20}), 16);
  assert_int_equal(x->items[0]->n_items, 2);
  assert_memory_equal(x->items[0]->items[1]->tensor->data, ((float[]){2.0f}), 4);
  assert_int_equal(c.d.errors, 0);

  mt->elem = ELEM_STRING;
  assert_null(ir_pb_read(&a, DATA "map_i64.pb", mt, &c.d));
  assert_null(ir_pb_read(&a, DATA "tensor_f32.pb", tensor_t(&a, ELEM_INT64), &c.d));
  assert_null(ir_pb_read(&a, DATA "no_such_file.pb", NULL, &c.d));
  assert_int_equal(c.d.errors, 3);
  cap_free(&c);
  ir_arena_free(&a);
}

/* Every prefix of every fixture: decoded or refused, never a crash or a leak. */
static void test_truncated(void **state) {
  (void)state;
  static const char *files[] = {"tensor_f32.pb", "tensor_str.pb", "seq_i64.pb", "seq_seq.pb",
                                "opt_tensor.pb", "map_i64.pb"};
  FILE *null = fopen("/dev/null", "w");
  for (size_t k = 0; k < sizeof files / sizeof *files; k++) {
    char path[4096];
    snprintf(path, sizeof path, DATA "%s", files[k]);
    size_t len;
    uint8_t *b = slurp(path, &len);
    Arena a;
    ir_arena_init(&a);
    Type *types[] = {NULL, wrap(&a, TYPE_SEQUENCE, NULL), wrap(&a, TYPE_OPTIONAL, NULL),
                     ir_type_new(&a, TYPE_MAP)};
    int refused = 0;
    for (size_t n = 0; n < len; n++) {
      uint8_t *cut = malloc(n ? n : 1);
      memcpy(cut, b, n);
      for (int t = 0; t < 4; t++) {
        Diag d;
        ir_diag_init(&d, null, path, NULL, 0);
        if (!ir_pb_parse(&a, cut, n, types[t], path, &d)) refused++;
      }
      free(cut);
    }
    assert_true(refused > 0);
    /* cut one byte short of the end: the last field is cut */
    Diag d;
    ir_diag_init(&d, null, path, NULL, 0);
    uint8_t *cut = malloc(len - 1);
    memcpy(cut, b, len - 1);
    assert_null(ir_pb_parse(&a, cut, len - 1, NULL, path, &d));
    free(cut);
    ir_arena_free(&a);
    free(b);
  }
  fclose(null);
}

/* ------------------------------------------------------------------ depth and wire data */

/* n nested SequenceProtos: SequenceProto{elem_type: SEQUENCE, sequence_values: [...]},
 * the innermost an empty sequence of tensors. */
static size_t vsize(size_t v) {
  size_t n = 1;
  while (v > 0x7f) {
    v >>= 7;
    n++;
  }
  return n;
}

static uint8_t *nested_seq(int n, size_t *len) {
  /* sizes inside out, then the bytes outside in */
  size_t *sz = malloc((size_t)n * sizeof *sz);
  sz[0] = 2;
  for (int i = 1; i < n; i++) sz[i] = 3 + vsize(sz[i - 1]) + sz[i - 1];
  uint8_t *b = malloc(sz[n - 1]);
  size_t k = 0;
  for (int i = n - 1; i > 0; i--) {
    b[k++] = 0x10; /* elem_type = SEQUENCE */
    b[k++] = 0x03;
    b[k++] = 0x2a; /* field 5 (sequence_values), length-delimited */
    size_t v = sz[i - 1];
    do {
      b[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
      v >>= 7;
    } while (v);
  }
  b[k++] = 0x10; /* elem_type = TENSOR */
  b[k++] = 0x01;
  *len = sz[n - 1];
  assert_int_equal(k, *len);
  free(sz);
  return b;
}

static void test_depth(void **state) {
  (void)state;
  size_t len;
  uint8_t *b = nested_seq(64, &len);
  assert_true(ir_pb_depth_ok(&onnx__sequence_proto__descriptor, b, len, 64));
  assert_false(ir_pb_depth_ok(&onnx__sequence_proto__descriptor, b, len, 63));
  free(b);
  b = nested_seq(65, &len);
  assert_false(ir_pb_depth_ok(&onnx__sequence_proto__descriptor, b, len, IR_PB_MAX_DEPTH));
  free(b);

  Arena a;
  ir_arena_init(&a);
  Cap c;
  cap_init(&c);
  Type *seq = wrap(&a, TYPE_SEQUENCE, NULL);
  b = nested_seq(60, &len);
  Datum *x = ir_pb_parse(&a, b, len, seq, "deep.pb", &c.d);
  assert_non_null(x);
  for (int i = 0; i < 59; i++) {
    assert_int_equal(x->kind, TYPE_SEQUENCE);
    assert_int_equal(x->n_items, 1);
    x = x->items[0];
  }
  assert_int_equal(x->n_items, 0);
  free(b);
  b = nested_seq(100, &len);
  assert_null(ir_pb_parse(&a, b, len, seq, "deep.pb", &c.d));
  assert_non_null(strstr(cap_text(&c), "deeper than 64"));
  free(b);
  /* a million levels: refused by the iterative scan, no stack overflow */
  b = nested_seq(1000000, &len);
  assert_null(ir_pb_parse(&a, b, len, seq, "deeper.pb", &c.d));
  free(b);
  cap_free(&c);
  ir_arena_free(&a);
}

static void test_malformed_wire(void **state) {
  (void)state;
  const ProtobufCMessageDescriptor *td = &onnx__tensor_proto__descriptor;
  static const uint8_t group[] = {0x0b, 0x0c};                /* field 1 start/end group */
  static const uint8_t long_varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
  static const uint8_t past_end[] = {0x4a, 0x05, 0x01};       /* raw_data claims 5 bytes, has 1 */
  static const uint8_t field0[] = {0x00, 0x01};
  static const uint8_t huge_len[] = {0x4a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
  static const uint8_t ok[] = {0x08, 0x02, 0x10, 0x01, 0x4a, 0x08, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40};
  assert_false(ir_pb_depth_ok(td, group, sizeof group, 64));
  assert_false(ir_pb_depth_ok(td, long_varint, sizeof long_varint, 64));
  assert_false(ir_pb_depth_ok(td, past_end, sizeof past_end, 64));
  assert_false(ir_pb_depth_ok(td, field0, sizeof field0, 64));
  assert_false(ir_pb_depth_ok(td, huge_len, sizeof huge_len, 64));
  assert_true(ir_pb_depth_ok(td, ok, sizeof ok, 64));
  assert_true(ir_pb_depth_ok(td, NULL, 0, 64));

  Arena a;
  ir_arena_init(&a);
  Cap c;
  cap_init(&c);
  Datum *x = ir_pb_parse(&a, ok, sizeof ok, NULL, "ok.pb", &c.d);
  assert_non_null(x);
  assert_memory_equal(x->tensor->data, ((float[]){1.0f, 2.0f}), 8);
  assert_null(ir_pb_parse(&a, past_end, sizeof past_end, NULL, "bad.pb", &c.d));
  assert_non_null(strstr(cap_text(&c), "bad.pb: malformed"));
  /* an empty file is a TensorProto without data_type */
  assert_null(ir_pb_parse(&a, NULL, 0, NULL, "empty.pb", &c.d));
  assert_non_null(strstr(cap_text(&c), "data_type is missing"));
  cap_free(&c);
  ir_arena_free(&a);
}

/* ------------------------------------------------------------------ TensorProto conversion */

typedef struct Conv {
  Arena a;
  Cap c;
  Onnx__TensorProto p;
} Conv;

static void conv_init(Conv *v, int dtype, int n_dims, const int64_t *dims) {
  ir_arena_init(&v->a);
  cap_init(&v->c);
  onnx__tensor_proto__init(&v->p);
  v->p.has_data_type = 1;
  v->p.data_type = dtype;
  v->p.n_dims = (size_t)n_dims;
  v->p.dims = (int64_t *)dims;
}
static void conv_free(Conv *v) {
  cap_free(&v->c);
  ir_arena_free(&v->a);
}
static Tensor *conv(Conv *v) {
  return ir_tensor_from_proto(&v->a, &v->p, "t", &v->c.d);
}

static void test_subbyte_packing(void **state) {
  (void)state;
  Conv v;
  /* int4 [1, 2, 3] packed two per int32_data entry, low nibble first */
  int32_t packed[] = {0x21, 0x03};
  conv_init(&v, ELEM_INT4, 1, (int64_t[]){3});
  v.p.n_int32_data = 2;
  v.p.int32_data = packed;
  Tensor *t = conv(&v);
  assert_non_null(t);
  assert_int_equal(t->nbytes, 2);
  assert_memory_equal(t->data, ((uint8_t[]){0x21, 0x03}), 2);
  conv_free(&v);
  /* the same values one per entry (unpacked writers) pack to the same bytes */
  int32_t loose[] = {1, 2, 3};
  conv_init(&v, ELEM_INT4, 1, (int64_t[]){3});
  v.p.n_int32_data = 3;
  v.p.int32_data = loose;
  t = conv(&v);
  assert_non_null(t);
  assert_memory_equal(t->data, ((uint8_t[]){0x21, 0x03}), 2);
  conv_free(&v);
  /* int4 -1, -8 one per entry: two's complement nibbles 0xf, 0x8 */
  int32_t neg[] = {-1, -8};
  conv_init(&v, ELEM_INT4, 1, (int64_t[]){2});
  v.p.n_int32_data = 2;
  v.p.int32_data = neg;
  t = conv(&v);
  assert_non_null(t);
  /* two elements pack into one byte, so two entries are one per element */
  assert_int_equal(t->nbytes, 1);
  assert_memory_equal(t->data, ((uint8_t[]){0x8f}), 1);
  conv_free(&v);
  /* uint2 [0, 1, 2, 3, 1]: four per byte, first element in bits 0-1 */
  int32_t u2[] = {0xE4, 0x01};
  conv_init(&v, ELEM_UINT2, 1, (int64_t[]){5});
  v.p.n_int32_data = 2;
  v.p.int32_data = u2;
  t = conv(&v);
  assert_non_null(t);
  assert_memory_equal(t->data, ((uint8_t[]){0xE4, 0x01}), 2);
  conv_free(&v);
  /* float4e2m1 from raw_data: 3 elements need 2 bytes */
  conv_init(&v, ELEM_FLOAT4E2M1, 1, (int64_t[]){3});
  v.p.has_raw_data = 1;
  v.p.raw_data.len = 3;
  v.p.raw_data.data = (uint8_t *)"\x12\x34\x56";
  assert_null(conv(&v));
  assert_non_null(strstr(cap_text(&v.c), "raw_data holds 3 bytes"));
  v.p.raw_data.len = 2;
  assert_non_null(conv(&v));
  conv_free(&v);
  /* a wrong count for a sub-byte type */
  int32_t three[] = {1, 2, 3};
  conv_init(&v, ELEM_UINT4, 1, (int64_t[]){4});
  v.p.n_int32_data = 3;
  v.p.int32_data = three;
  assert_null(conv(&v));
  assert_non_null(strstr(cap_text(&v.c), "3 values given"));
  conv_free(&v);
}

static void test_typed_fields(void **state) {
  (void)state;
  Conv v;
  int32_t bools[] = {2, 0, 1};
  conv_init(&v, ELEM_BOOL, 1, (int64_t[]){3});
  v.p.n_int32_data = 3;
  v.p.int32_data = bools;
  Tensor *t = conv(&v);
  assert_non_null(t);
  assert_memory_equal(t->data, ((uint8_t[]){1, 0, 1}), 3);
  conv_free(&v);

  int32_t halves[] = {0x3C00, 0xC000};
  conv_init(&v, ELEM_FLOAT16, 1, (int64_t[]){2});
  v.p.n_int32_data = 2;
  v.p.int32_data = halves;
  t = conv(&v);
  assert_non_null(t);
  assert_memory_equal(t->data, ((uint16_t[]){0x3C00, 0xC000}), 4);
  conv_free(&v);

  uint64_t u32[] = {1, 4000000000u};
  conv_init(&v, ELEM_UINT32, 1, (int64_t[]){2});
  v.p.n_uint64_data = 2;
  v.p.uint64_data = u32;
  t = conv(&v);
  assert_non_null(t);
  assert_memory_equal(t->data, ((uint32_t[]){1, 4000000000u}), 8);
  conv_free(&v);

  float cplx[] = {1, 2, 3, -4};
  conv_init(&v, ELEM_COMPLEX64, 1, (int64_t[]){2});
  v.p.n_float_data = 4;
  v.p.float_data = cplx;
  t = conv(&v);
  assert_non_null(t);
  assert_int_equal(t->nbytes, 16);
  assert_memory_equal(t->data, cplx, 16);
  v.p.n_float_data = 2; /* one float per complex element is too few */
  assert_null(conv(&v));
  conv_free(&v);

  /* a typed field the type does not use */
  conv_init(&v, ELEM_INT32, 1, (int64_t[]){2});
  v.p.n_float_data = 2;
  v.p.float_data = cplx;
  assert_null(conv(&v));
  assert_non_null(strstr(cap_text(&v.c), "typed field"));
  conv_free(&v);

  /* two data fields */
  int32_t two[] = {1, 2};
  conv_init(&v, ELEM_INT32, 1, (int64_t[]){2});
  v.p.n_int32_data = 2;
  v.p.int32_data = two;
  v.p.has_raw_data = 1;
  v.p.raw_data.len = 8;
  v.p.raw_data.data = (uint8_t *)"\1\0\0\0\2\0\0\0";
  assert_null(conv(&v));
  assert_non_null(strstr(cap_text(&v.c), "more than one field"));
  conv_free(&v);
}

static void test_shapes_and_external(void **state) {
  (void)state;
  Conv v;
  conv_init(&v, ELEM_FLOAT, 2, (int64_t[]){2, -1});
  assert_null(conv(&v));
  assert_non_null(strstr(cap_text(&v.c), "negative dimension"));
  conv_free(&v);

  conv_init(&v, ELEM_FLOAT, 3, (int64_t[]){INT64_MAX, INT64_MAX, 4});
  assert_null(conv(&v));
  assert_non_null(strstr(cap_text(&v.c), "overflows"));
  conv_free(&v);

  /* no data at all: kept as a declaration */
  conv_init(&v, ELEM_FLOAT, 1, (int64_t[]){3});
  Tensor *t = conv(&v);
  assert_non_null(t);
  assert_false(t->has_data);
  conv_free(&v);
  /* no elements: all of its data is there */
  conv_init(&v, ELEM_FLOAT, 2, (int64_t[]){0, 5});
  t = conv(&v);
  assert_non_null(t);
  assert_true(t->has_data);
  assert_int_equal(t->nbytes, 0);
  conv_free(&v);

  conv_init(&v, 99, 0, NULL);
  assert_null(conv(&v));
  assert_non_null(strstr(cap_text(&v.c), "unknown data_type 99"));
  conv_free(&v);

  Onnx__StringStringEntryProto e[2], *ep[2] = {&e[0], &e[1]};
  onnx__string_string_entry_proto__init(&e[0]);
  onnx__string_string_entry_proto__init(&e[1]);
  e[0].key = "location";
  e[0].value = "w.safetensors";
  e[1].key = "offset";
  e[1].value = "4096";
  conv_init(&v, ELEM_FLOAT, 1, (int64_t[]){4});
  v.p.n_external_data = 2;
  v.p.external_data = ep;
  v.p.has_data_location = 1;
  v.p.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  t = conv(&v);
  assert_non_null(t);
  assert_false(t->has_data);
  assert_int_equal(t->n_external, 2);
  assert_string_equal(ir_tensor_external(t, "location"), "w.safetensors");
  assert_string_equal(ir_tensor_external(t, "offset"), "4096");
  v.p.has_raw_data = 1;
  v.p.raw_data.len = 16;
  v.p.raw_data.data = (uint8_t *)"0123456789abcdef";
  assert_null(conv(&v));
  v.p.has_raw_data = 0;
  v.p.n_external_data = 0;
  assert_null(conv(&v)); /* EXTERNAL without entries */
  conv_free(&v);
}

/* Tensor -> TensorProto -> bytes -> TensorProto -> Tensor, with unknown fields kept. */
static void test_to_proto_roundtrip(void **state) {
  (void)state;
  Arena a, s;
  ir_arena_init(&a);
  ir_arena_init(&s);
  Cap c;
  cap_init(&c);
  int64_t dims[] = {3};
  Tensor *t = ir_tensor_new(&a, ELEM_STRING, 1, dims);
  assert_true(ir_tensor_alloc_data(&a, t));
  t->has_data = true;
  IrStr *str = t->data;
  str[0] = ir_str(&a, "x", 1);
  str[1] = ir_str(&a, "a\0b", 3);
  str[2] = ir_str(&a, "", 0);
  t->name = "names";
  static const uint8_t unk[] = {0xea, 0x04, 0x02, 'z', 'z'}; /* field 77: "zz" */
  t->extra.data = unk;
  t->extra.len = sizeof unk;
  Onnx__TensorProto p;
  assert_true(ir_tensor_to_proto(&s, t, &p, &c.d));
  size_t n = onnx__tensor_proto__get_packed_size(&p);
  uint8_t *buf = malloc(n);
  assert_int_equal(onnx__tensor_proto__pack(&p, buf), n);
  /* the unknown field is re-emitted as written */
  assert_memory_equal(buf + n - sizeof unk, unk, sizeof unk);
  Onnx__TensorProto *q = onnx__tensor_proto__unpack(NULL, n, buf);
  assert_non_null(q);
  assert_int_equal(q->n_string_data, 3);
  Tensor *t2 = ir_tensor_from_proto(&a, q, "names", &c.d);
  assert_non_null(t2);
  assert_string_equal(t2->name, "names");
  const IrStr *s2 = t2->data;
  assert_int_equal(s2[1].len, 3);
  assert_memory_equal(s2[1].s, "a\0b", 3);
  assert_int_equal(t2->extra.len, sizeof unk);
  assert_memory_equal(t2->extra.data, unk, sizeof unk);
  onnx__tensor_proto__free_unpacked(q, NULL);
  free(buf);

  /* a payload that does not match the shape is refused */
  Tensor *bad = ir_tensor_new(&a, ELEM_FLOAT, 1, dims);
  bad->has_data = true;
  bad->data = ir_arena_alloc(&a, 8);
  bad->nbytes = 8;
  assert_false(ir_tensor_to_proto(&s, bad, &p, &c.d));
  cap_free(&c);
  ir_arena_free(&s);
  ir_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tensor_files),
      cmocka_unit_test(test_sequence_files),
      cmocka_unit_test(test_optional_and_map_files),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_depth),
      cmocka_unit_test(test_malformed_wire),
      cmocka_unit_test(test_subbyte_packing),
      cmocka_unit_test(test_typed_fields),
      cmocka_unit_test(test_shapes_and_external),
      cmocka_unit_test(test_to_proto_roundtrip),
  };
  return cmocka_run_group_tests_name("pb", tests, NULL, NULL);
}
