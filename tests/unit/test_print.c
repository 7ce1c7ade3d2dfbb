/* test_print.c - the canonical text printer: float formatting against numpy's shortest
 * round-trip digits, exact text of small hand-built models (layout checked by hand against
 * ONNX's printer.cc), every element type's data, warnings for fields text cannot hold. */
#include <float.h>
#include <math.h>

#include "testutil.h"

/* ------------------------------------------------------------------ helpers */

static char *print_model(const Model *m, Diag *d) {
  Cap c;
  cap_init(&c);
  assert_int_equal(ir_print_model(c.fp, m, d), 0);
  return cap_take(&c);
}

static char *print_type(const Type *t) {
  Cap c;
  cap_init(&c);
  assert_int_equal(ir_print_type(c.fp, t), 0);
  return cap_take(&c);
}

static char *print_data(const Tensor *t) {
  Cap c;
  cap_init(&c);
  assert_int_equal(ir_print_tensor_data(c.fp, t), 0);
  return cap_take(&c);
}

static void expect_text(char *got, const char *want) {
  if (strcmp(got, want)) {
    fprintf(stderr, "--- want\n%s\n--- got\n%s\n---\n", want, got);
  }
  assert_string_equal(got, want);
  free(got);
}

static Model *new_model(int64_t ir, int n_opsets, ...) {
  Model *m = ir_model_new();
  m->has_ir_version = true;
  m->ir_version = ir;
  m->n_opsets = n_opsets;
  m->opsets = ir_arena_alloc(&m->arena, sizeof *m->opsets * (size_t)(n_opsets ? n_opsets : 1));
  va_list ap;
  va_start(ap, n_opsets);
  for (int i = 0; i < n_opsets; i++) {
    m->opsets[i].domain = va_arg(ap, const char *);
    m->opsets[i].version = va_arg(ap, int);
  }
  va_end(ap);
  return m;
}

/* Tensor type; dims given as a string: "2,?,N" (numbers, ? unknown, names symbolic), ""
 * for a scalar, NULL for unknown rank. */
static Type *ty(Model *m, ElemType e, const char *dims) {
  if (!dims) return ir_type_tensor(&m->arena, e, -1, NULL);
  int rank = 0;
  if (dims[0]) {
    rank = 1;
    for (const char *p = dims; *p; p++) rank += *p == ',';
  }
  Type *t = ir_type_tensor(&m->arena, e, rank, NULL);
  const char *p = dims;
  for (int i = 0; i < rank; i++) {
    const char *q = strchr(p, ',');
    size_t n = q ? (size_t)(q - p) : strlen(p);
    if (n == 1 && p[0] == '?')
      t->dims[i].value = -1;
    else if (p[0] >= '0' && p[0] <= '9')
      t->dims[i].value = strtoll(p, NULL, 10);
    else
      t->dims[i].param = ir_arena_strndup(&m->arena, p, n);
    p = q ? q + 1 : p + n;
  }
  return t;
}

static Tensor *tensor(Model *m, ElemType e, int rank, const int64_t *dims, const void *data,
                      size_t nbytes) {
  Tensor *t = ir_tensor_new(&m->arena, e, rank, dims);
  if (data) {
    t->data = ir_arena_dup(&m->arena, data, nbytes);
    t->nbytes = nbytes;
    t->has_data = true;
  }
  return t;
}

static void add_init(Graph *g, Value *v, Tensor *t) {
  v->init = t;
  ir_vec_push(g->initializers, v);
}

static IrStr s_(Model *m, const char *s) {
  return ir_str(&m->arena, s, strlen(s));
}

/* ------------------------------------------------------------------ floats */

static void fmt32(float f, const char *want) {
  char b[40];
  int n = ir_format_f32(b, f);
  assert_int_equal(n, (int)strlen(b));
  if (strcmp(b, want)) fprintf(stderr, "float %.9g: got %s want %s\n", (double)f, b, want);
  assert_string_equal(b, want);
}

static void fmt64(double f, const char *want) {
  char b[40];
  int n = ir_format_f64(b, f);
  assert_int_equal(n, (int)strlen(b));
  if (strcmp(b, want)) fprintf(stderr, "double %.17g: got %s want %s\n", f, b, want);
  assert_string_equal(b, want);
}

/* Layout as C++ std::to_chars writes it (ONNX's printer): the shorter of fixed and
 * scientific, fixed on a tie; the conformance files show 0.001, 1e-05, 2e-04, 6.2831855. */
static void test_float_cases(void **state) {
  (void)state;
  fmt32(0.1f, "0.1");
  fmt32(1e-45f, "1e-45");
  fmt32(FLT_MAX, "3.4028235e+38");
  fmt32(FLT_MIN, "1.1754944e-38");
  fmt32(-0.0f, "-0");
  fmt32(0.0f, "0");
  fmt32(NAN, "nan");
  fmt32(-NAN, "nan");
  fmt32(INFINITY, "inf");
  fmt32(-INFINITY, "-inf");
  fmt32(16777217.0f, "16777216");
  fmt32(1e10f, "1e+10");
  fmt32(6.2831855f, "6.2831855");
  fmt32(1.0f, "1");
  fmt32(-2.0f, "-2");
  fmt32(0.001f, "0.001");
  fmt32(1e-5f, "1e-05");
  fmt32(2e-4f, "2e-04");
  fmt32(1e-7f, "1e-07");
  fmt32(10000.0f, "10000");
  fmt32(100000.0f, "1e+05");
  fmt32(123456.0f, "123456");
  fmt32(1.0f / 6.0f, "0.16666667");
  fmt32(1.050701f, "1.050701");
  fmt32(123456789.0f, "123456790");
  fmt32(-1.5f, "-1.5");
  fmt64(0.1, "0.1");
  fmt64(1e300, "1e+300");
  fmt64(5e-324, "5e-324");
  fmt64(-0.0, "-0");
  fmt64(1.0 / 3.0, "0.3333333333333333");
  fmt64(DBL_MAX, "1.7976931348623157e+308");
  fmt64(3.14, "3.14");
  fmt64(NAN, "nan");
  fmt64(-INFINITY, "-inf");
  fmt64(1e22, "1e+22");
  fmt64(123.0, "123");
}

/* Split "d.ddde[+-]x" or any strtod-readable text into significant digits and the decimal
 * exponent of the first digit. */
static void sig_digits(const char *s, char *dig, int *exp10) {
  const char *p = s;
  if (*p == '-') p++;
  char all[64];
  int n = 0, intdigits = -1;
  for (; *p && *p != 'e' && *p != 'E' && n < 60; p++) {
    if (*p == '.')
      intdigits = n;
    else
      all[n++] = *p;
  }
  if (intdigits < 0) intdigits = n;
  int e = *p ? atoi(p + 1) : 0;
  int lead = 0;
  while (lead < n - 1 && all[lead] == '0') lead++;
  intdigits -= lead;
  int k = 0;
  for (int i = lead; i < n; i++) dig[k++] = all[i];
  while (k > 1 && dig[k - 1] == '0') k--;
  dig[k] = 0;
  *exp10 = e + intdigits - 1;
}

static void check_shortest_file(const char *name, bool f32) {
  char path[512];
  snprintf(path, sizeof path, "%s/tests/data/print/%s", EFFC_SOURCE_DIR, name);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[128];
  int count = 0, bad = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long long bits;
    char want[64];
    if (sscanf(line, "%llx %63s", &bits, want) != 2) continue;
    char got[40];
    double x;
    if (f32) {
      uint32_t b = (uint32_t)bits;
      float v;
      memcpy(&v, &b, 4);
      x = v;
      ir_format_f32(got, v);
      if (strtof(got, NULL) != v) bad++;
    } else {
      memcpy(&x, &bits, 8);
      ir_format_f64(got, x);
      if (strtod(got, NULL) != x) bad++;
    }
    char dw[40], dg[40];
    int ew, eg;
    sig_digits(want, dw, &ew);
    sig_digits(got, dg, &eg);
    if (strcmp(dw, dg) || ew != eg) {
      if (bad < 10) fprintf(stderr, "%s: %.17g: numpy %s, ours %s\n", name, x, want, got);
      bad++;
    }
    count++;
  }
  fclose(f);
  assert_true(count > 1000);
  assert_int_equal(bad, 0);
}

static void test_float_shortest_vs_numpy(void **state) {
  (void)state;
  check_shortest_file("f32_shortest.txt", true);
  check_shortest_file("f64_shortest.txt", false);
}

/* Every float32 pattern in a stride reads back exactly. */
static void test_float_roundtrip_sweep(void **state) {
  (void)state;
  int bad = 0;
  for (uint64_t b = 0; b < 0x100000000ull; b += 65521) {
    uint32_t u = (uint32_t)b;
    float f;
    memcpy(&f, &u, 4);
    char s[40];
    ir_format_f32(s, f);
    float g = strtof(s, NULL);
    if (isnan(f) ? !isnan(g) : memcmp(&f, &g, 4) != 0) bad++;
  }
  assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------ models */

static void test_print_simple(void **state) {
  (void)state;
  Model *m = new_model(8, 1, "", 15);
  Graph *g = m->graph = ir_graph_new(m, NULL, "g");
  add_input(g, "X", ty(m, ELEM_FLOAT, "N,4"));
  add_node(g, "", "Relu", NAMES("X"), NAMES("Y"));
  add_output(g, "Y", ty(m, ELEM_FLOAT, "N,3"));
  Diag d;
  ir_diag_init(&d, stderr, "t", NULL, 0);
  expect_text(print_model(m, &d), "<\n"
                                  "   ir_version: 8,\n"
                                  "   opset_import: [\"\" : 15]\n"
                                  ">\n"
                                  "g (float[N,4] X) => (float[N,3] Y) {\n"
                                  "   Y = Relu (X)\n"
                                  "}\n");
  assert_int_equal(d.warnings, 0);
  ir_model_free(m);
}

static void test_print_node_forms(void **state) {
  (void)state;
  Model *m = new_model(9, 2, "", 18, "com.ms", 1);
  m->producer_name = "effc-test";
  m->has_model_version = true;
  m->model_version = 3;
  m->doc_string = "say \"hi\"";
  m->n_metadata_props = 1;
  m->metadata_props = ir_arena_alloc(&m->arena, sizeof *m->metadata_props);
  m->metadata_props[0] = (StrPair){"k", "v"};
  Graph *g = m->graph = ir_graph_new(m, NULL, "main");
  add_input(g, "x", ty(m, ELEM_FLOAT, "2"));
  add_input(g, "m", ty(m, ELEM_FLOAT, ""));
  add_input(g, "x y", ty(m, ELEM_FLOAT, "?"));
  Node *clip = add_node(g, "", "Clip", NAMES("x", "", "m", ""), NAMES("y"));
  clip->name = "n1";
  Node *foo = add_node(g, "com.ms", "Foo", NAMES("x y"), NAMES("a/b", ""));
  foo->name = "";
  foo->overload = "ov";
  Attr *a = add_attr(foo, "alpha", ATTR_FLOAT);
  a->f = 0.5f;
  a = add_attr(foo, "axes", ATTR_INTS);
  a->n = 2;
  a->ints = ir_arena_dup(&m->arena, (int64_t[]){1, -1}, 2 * sizeof(int64_t));
  a = add_attr(foo, "mode", ATTR_STRING);
  a->s = s_(m, "a\"b\\");
  a = add_attr(foo, "names", ATTR_STRINGS);
  a->n = 2;
  a->strings = ir_arena_alloc(&m->arena, 2 * sizeof(IrStr));
  a->strings[0] = s_(m, "p");
  a->strings[1] = s_(m, "q");
  a = add_attr(foo, "t", ATTR_TENSOR);
  a->t = tensor(m, ELEM_FLOAT, 1, (int64_t[]){2}, (float[]){1, 2.5f}, 8);
  a = add_attr(foo, "T", ATTR_TYPE_PROTO);
  a->tp = ir_type_new(&m->arena, TYPE_SEQUENCE);
  a->tp->inner = ty(m, ELEM_FLOAT, "?,3");
  a = add_attr(foo, "e", ATTR_FLOATS);
  a = add_attr(foo, "i", ATTR_INT);
  a->i = INT64_MIN;
  add_node(g, "", "Identity", NAMES("a/b"), NAMES("out"));
  add_node(g, "com.ms", "Sink", NAMES("out"), NONE);
  add_output(g, "out", NULL);
  expect_text(
      print_model(m, NULL),
      "<\n"
      "   ir_version: 9,\n"
      "   opset_import: [\"\" : 18, \"com.ms\" : 1],\n"
      "   producer_name: \"effc-test\",\n"
      "   model_version: 3,\n"
      "   doc_string: \"say \\\"hi\\\"\",\n"
      "   metadata_props: [\"k\": \"v\"]\n"
      ">\n"
      "main (float[2] x, float m, float[?] \"x y\") => (out) {\n"
      "   [n1] y = Clip (x, \"\", m)\n"
      "   \"a/b\", \"\" = com.ms.Foo:ov <alpha: float = 0.5, axes: ints = [1, -1], "
      "mode: string = \"a\\\"b\\\\\", names: strings = [\"p\", \"q\"], t: tensor = float[2] "
      "{1,2.5}, "
      "T: type_proto = seq(float[?,3]), e: floats = [], i: int = -9223372036854775808> (\"x y\")\n"
      "   out = Identity (\"a/b\")\n"
      "    = com.ms.Sink (out)\n"
      "}\n");
  ir_model_free(m);
}

/* Graph attributes follow the inputs; nested graphs indent by three, their closing brace
 * three less (ONNX's printer, as in the conformance file test_if). */
static void test_print_subgraphs(void **state) {
  (void)state;
  Model *m = new_model(8, 1, "", 13);
  Graph *g = m->graph = ir_graph_new(m, NULL, "iff");
  add_input(g, "c", ty(m, ELEM_BOOL, ""));
  add_input(g, "a", ty(m, ELEM_FLOAT, "2"));
  Node *n = add_node(g, "", "If", NAMES("c"), NAMES("r"));
  Graph *t = sub_graph(n, "then_branch", "t");
  add_node(t, "", "Identity", NAMES("a"), NAMES("to"));
  add_output(t, "to", ty(m, ELEM_FLOAT, "2"));
  Graph *e = sub_graph(n, "else_branch", "e");
  Node *k = add_node(e, "", "Constant", NONE, NAMES("k"));
  Attr *kv = add_attr(k, "value", ATTR_TENSOR);
  kv->t = tensor(m, ELEM_FLOAT, 1, (int64_t[]){2}, (float[]){1, 2}, 8);
  Node *inner = add_node(e, "", "If", NAMES("c"), NAMES("eo"));
  Graph *t2 = sub_graph(inner, "then_branch", "t2");
  add_node(t2, "", "Neg", NAMES("k"), NAMES("x2"));
  add_output(t2, "x2", NULL);
  Attr *ia = add_attr(inner, "axis", ATTR_INT);
  ia->i = 0;
  add_output(e, "eo", ty(m, ELEM_FLOAT, "2"));
  Node *s = add_node(g, "x", "Scan", NAMES("a"), NAMES("s"));
  Attr *at = add_attr(s, "bodies", ATTR_GRAPHS);
  at->n = 2;
  at->graphs = ir_arena_alloc(&m->arena, 2 * sizeof(Graph *));
  at->graphs[0] = sub_graph(s, NULL, "g1");
  at->graphs[1] = sub_graph(s, NULL, "g2");
  add_node(at->graphs[1], "", "Abs", NAMES("a"), NAMES("z"));
  add_output(g, "r", ty(m, ELEM_FLOAT, "2"));
  expect_text(print_model(m, NULL), "<\n"
                                    "   ir_version: 8,\n"
                                    "   opset_import: [\"\" : 13]\n"
                                    ">\n"
                                    "iff (bool c, float[2] a) => (float[2] r) {\n"
                                    "   r = If (c) <then_branch: graph = t () => (float[2] to) {\n"
                                    "      to = Identity (a)\n"
                                    "   }, else_branch: graph = e () => (float[2] eo) {\n"
                                    "      k = Constant <value: tensor = float[2] {1,2}> ()\n"
                                    "      eo = If (c) <then_branch: graph = t2 () => (x2) {\n"
                                    "         x2 = Neg (k)\n"
                                    "      }, axis: int = 0>\n"
                                    "   }>\n"
                                    "   s = x.Scan (a) <bodies: graphs = [g1 () => () {\n"
                                    "   }, g2 () => () {\n"
                                    "      z = Abs (a)\n"
                                    "   }]>\n"
                                    "}\n");
  ir_model_free(m);
}

static void test_print_initializers(void **state) {
  (void)state;
  Model *m = new_model(9, 1, "", 19);
  Graph *g = m->graph = ir_graph_new(m, NULL, "m");
  Value *x = add_input(g, "x", ty(m, ELEM_FLOAT, "2"));
  add_input(g, "y", ty(m, ELEM_FLOAT, "N"));
  Value *w = add_input(g, "w", ty(m, ELEM_FLOAT, "M"));
  Value *k = ir_graph_def(g, "k", ir_noloc);
  add_init(g, k, tensor(m, ELEM_INT64, 0, NULL, (int64_t[]){3}, 8));
  add_init(g, x, tensor(m, ELEM_FLOAT, 1, (int64_t[]){2}, (float[]){1, 2}, 8));
  add_init(g, w, tensor(m, ELEM_FLOAT, 1, (int64_t[]){2}, (float[]){5, 6}, 8));
  Value *big = ir_graph_def(g, "big", ir_noloc);
  Tensor *bt = tensor(m, ELEM_FLOAT, 2, (int64_t[]){64, 64}, NULL, 0);
  bt->n_external = 3;
  bt->external = ir_arena_alloc(&m->arena, 3 * sizeof(StrPair));
  bt->external[0] = (StrPair){"location", "m.safetensors"};
  bt->external[1] = (StrPair){"offset", "4096"};
  bt->external[2] = (StrPair){"length", "16384"};
  add_init(g, big, bt);
  add_node(g, "", "Add", NAMES("y", "y"), NAMES("h"));
  Value *h = ir_graph_lookup(g, "h");
  h->type = ty(m, ELEM_FLOAT, "N");
  h->has_value_info = true;
  ir_vec_push(g->value_infos, h);
  add_node(g, "", "Mul", NAMES("h", "k"), NAMES("z"));
  add_output(g, "z", ty(m, ELEM_FLOAT, "N"));
  expect_text(
      print_model(m, NULL),
      "<\n"
      "   ir_version: 9,\n"
      "   opset_import: [\"\" : 19]\n"
      ">\n"
      "m (float[2] x = {1,2}, float[N] y, float[M] w) => (float[N] z)\n"
      "   <int64 k = {3}, float[2] w = {5,6}, float[64,64] big = [\"location\": \"m.safetensors\", "
      "\"offset\": \"4096\", \"length\": \"16384\"], float[N] h>\n"
      "{\n"
      "   h = Add (y, y)\n"
      "   z = Mul (h, k)\n"
      "}\n");
  ir_model_free(m);
}

static void test_print_data_types(void **state) {
  (void)state;
  Model *m = new_model(9, 0);
  struct {
    ElemType e;
    int64_t n;
    const void *data;
    size_t nbytes;
    const char *want;
  } cases[] = {
      {ELEM_INT4, 5, (uint8_t[]){0x78, 0xF0, 0x03}, 3, "{-8,7,0,-1,3}"},
      {ELEM_UINT4, 3, (uint8_t[]){0x0F, 0x09}, 2, "{15,0,9}"},
      {ELEM_INT2, 5, (uint8_t[]){0x4E, 0x02}, 2, "{-2,-1,0,1,-2}"},
      {ELEM_UINT2, 4, (uint8_t[]){27}, 1, "{3,2,1,0}"},
      {ELEM_FLOAT4E2M1, 2, (uint8_t[]){0xF1}, 1, "{1,15}"},
      {ELEM_FLOAT16, 2, (uint16_t[]){0x3C00, 0xC000}, 4, "{15360,49152}"},
      {ELEM_BFLOAT16, 1, (uint16_t[]){0x3F80}, 2, "{16256}"},
      {ELEM_FLOAT8E4M3FN, 2, (uint8_t[]){0x38, 0xFF}, 2, "{56,255}"},
      {ELEM_FLOAT8E8M0, 1, (uint8_t[]){127}, 1, "{127}"},
      {ELEM_BOOL, 3, (uint8_t[]){1, 0, 1}, 3, "{1,0,1}"},
      {ELEM_UINT64, 2, (uint64_t[]){UINT64_MAX, 0}, 16, "{18446744073709551615,0}"},
      {ELEM_INT64, 2, (int64_t[]){INT64_MIN, -1}, 16, "{-9223372036854775808,-1}"},
      {ELEM_INT8, 2, (int8_t[]){-128, 127}, 2, "{-128,127}"},
      {ELEM_UINT8, 1, (uint8_t[]){255}, 1, "{255}"},
      {ELEM_INT16, 1, (int16_t[]){-32768}, 2, "{-32768}"},
      {ELEM_UINT16, 1, (uint16_t[]){65535}, 2, "{65535}"},
      {ELEM_INT32, 2, (int32_t[]){INT32_MIN, 7}, 8, "{-2147483648,7}"},
      {ELEM_UINT32, 1, (uint32_t[]){4294967295u}, 4, "{4294967295}"},
      {ELEM_COMPLEX64, 2, (float[]){1, -2, 0.5f, 0}, 16, "{1,-2,0.5,0}"},
      {ELEM_COMPLEX128, 1, (double[]){0.1, 1e300}, 16, "{0.1,1e+300}"},
      {ELEM_DOUBLE, 2, (double[]){0.1, -0.0}, 16, "{0.1,-0}"},
      {ELEM_FLOAT, 4, (float[]){NAN, INFINITY, -INFINITY, 1e-45f}, 16, "{nan,inf,-inf,1e-45}"},
      {ELEM_FLOAT, 0, (float[]){0}, 0, "{}"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    Tensor *t = tensor(m, cases[i].e, 1, &cases[i].n, cases[i].data, cases[i].nbytes);
    char *got = print_data(t);
    if (strcmp(got, cases[i].want))
      fprintf(stderr, "case %zu (%s)\n", i, ir_elem(cases[i].e)->name);
    expect_text(got, cases[i].want);
  }
  /* strings: quoted, backslash before '"' and '\' */
  IrStr strs[3] = {s_(m, "a"), s_(m, "q\"uote"), s_(m, "back\\slash")};
  Tensor *st = tensor(m, ELEM_STRING, 1, (int64_t[]){3}, strs, sizeof strs);
  expect_text(print_data(st), "{\"a\", \"q\\\"uote\", \"back\\\\slash\"}");
  /* a payload shorter than the shape says prints what is there, never past it */
  Tensor *shortt = tensor(m, ELEM_INT32, 1, (int64_t[]){4}, (int32_t[]){1, 2}, 8);
  expect_text(print_data(shortt), "{1,2}");
  ir_model_free(m);
}

static void test_print_function(void **state) {
  (void)state;
  Model *m = new_model(8, 2, "", 15, "local", 1);
  Graph *g = m->graph = ir_graph_new(m, NULL, "main");
  add_input(g, "X", ty(m, ELEM_FLOAT, "4"));
  Node *call = add_node(g, "local", "scaled_add", NAMES("X", "X"), NAMES("Z"));
  add_attr(call, "alpha", ATTR_FLOAT)->f = 2.0f;
  add_output(g, "Z", ty(m, ELEM_FLOAT, "4"));

  Function *f = ir_arena_alloc(&m->arena, sizeof *f);
  f->name = "scaled_add";
  f->domain = "local";
  f->doc_string = "fn doc";
  f->n_opsets = 1;
  f->opsets = ir_arena_alloc(&m->arena, sizeof *f->opsets);
  f->opsets[0] = (OpsetImport){"", 15};
  f->n_attr_names = 1;
  f->attr_names = ir_arena_alloc(&m->arena, sizeof *f->attr_names);
  f->attr_names[0] = "alpha";
  f->n_attr_defaults = 1;
  f->attr_defaults = ir_arena_alloc(&m->arena, sizeof *f->attr_defaults);
  f->attr_defaults[0].name = "beta";
  f->attr_defaults[0].type = ATTR_FLOAT;
  f->attr_defaults[0].f = 1.5f;
  f->n_attr_order = 2;
  f->attr_order = ir_arena_alloc(&m->arena, 2 * sizeof(int));
  f->attr_order[0] = 0;
  f->attr_order[1] = ~0;
  Graph *b = f->body = ir_graph_new(m, NULL, "scaled_add");
  b->function = f;
  add_input(b, "a", NULL);
  add_input(b, "b", ty(m, ELEM_FLOAT, "4"));
  Node *k = add_node(b, "", "Constant", NONE, NAMES("k"));
  Attr *ka = add_attr(k, "value_float", ATTR_FLOAT);
  ka->ref_attr_name = "alpha";
  add_node(b, "", "Mul", NAMES("k", "a"), NAMES("t"));
  add_node(b, "", "Add", NAMES("t", "b"), NAMES("c"));
  add_output(b, "c", NULL);

  Function *f2 = ir_arena_alloc(&m->arena, sizeof *f2);
  f2->name = "scaled_add";
  f2->domain = "local";
  f2->overload = "v2";
  f2->body = ir_graph_new(m, NULL, "scaled_add");
  f2->body->function = f2;
  add_input(f2->body, "a", NULL);
  add_node(f2->body, "", "Identity", NAMES("a"), NAMES("c"));
  add_output(f2->body, "c", NULL);

  m->n_functions = 2;
  m->functions = ir_arena_alloc(&m->arena, 2 * sizeof(Function *));
  m->functions[0] = f;
  m->functions[1] = f2;
  expect_text(print_model(m, NULL), "<\n"
                                    "   ir_version: 8,\n"
                                    "   opset_import: [\"\" : 15, \"local\" : 1]\n"
                                    ">\n"
                                    "main (float[4] X) => (float[4] Z) {\n"
                                    "   Z = local.scaled_add <alpha: float = 2> (X, X)\n"
                                    "}\n"
                                    "<\n"
                                    "  domain: \"local\",\n"
                                    "  opset_import: [\"\" : 15],\n"
                                    "  doc_string: \"fn doc\"\n"
                                    ">\n"
                                    "scaled_add <alpha,beta: float = 1.5>(a, float[4] b) => (c)\n"
                                    "{\n"
                                    "   k = Constant <value_float: float = @alpha> ()\n"
                                    "   t = Mul (k, a)\n"
                                    "   c = Add (t, b)\n"
                                    "}\n"
                                    "<\n"
                                    "  domain: \"local\",\n"
                                    "  overload: \"v2\",\n"
                                    "  opset_import: []\n"
                                    ">\n"
                                    "scaled_add (a) => (c)\n"
                                    "{\n"
                                    "   c = Identity (a)\n"
                                    "}\n");
  ir_model_free(m);
}

static void test_print_types(void **state) {
  (void)state;
  Model *m = new_model(9, 0);
  expect_text(print_type(ty(m, ELEM_FLOAT, "")), "float");
  expect_text(print_type(ty(m, ELEM_FLOAT, NULL)), "float[]");
  Type *t = ty(m, ELEM_FLOAT, "2,?,N,x");
  t->dims[3].param = "batch size";
  expect_text(print_type(t), "float[2,?,N,\"batch size\"]");
  Type *seq = ir_type_new(&m->arena, TYPE_SEQUENCE);
  Type *map = seq->inner = ir_type_new(&m->arena, TYPE_MAP);
  map->elem = ELEM_INT64;
  Type *opt = map->inner = ir_type_new(&m->arena, TYPE_OPTIONAL);
  opt->inner = ty(m, ELEM_FLOAT16, "3");
  expect_text(print_type(seq), "seq(map(int64, optional(float16[3])))");
  Type *sp = ty(m, ELEM_FLOAT, "4,4");
  sp->kind = TYPE_SPARSE;
  expect_text(print_type(sp), "sparse_tensor(float[4,4])");
  Type *op = ir_type_new(&m->arena, TYPE_OPAQUE);
  op->opaque_domain = "qc";
  op->opaque_name = "qubit";
  expect_text(print_type(op), "opaque(qc,qubit)");
  expect_text(print_type(ir_type_new(&m->arena, TYPE_OPAQUE)), "opaque()");
  expect_text(print_type(ty(m, ELEM_FLOAT8E5M2FNUZ, "1")), "float8e5m2fnuz[1]");
  ir_model_free(m);
}

/* Names: bare identifiers, everything else quoted, and identifiers the parser would take
 * for a type or a float (float, seq, inf, NaN) quoted too. */
static void test_print_names(void **state) {
  (void)state;
  Model *m = new_model(9, 1, "", 21);
  Graph *g = m->graph = ir_graph_new(m, NULL, "my graph");
  add_input(g, "float", ty(m, ELEM_FLOAT, ""));
  add_input(g, "inf", ty(m, ELEM_FLOAT, ""));
  add_input(g, "NaN", ty(m, ELEM_FLOAT, ""));
  add_input(g, "seq", ty(m, ELEM_FLOAT, ""));
  add_input(g, "_ok1", ty(m, ELEM_FLOAT, ""));
  add_input(g, "1abc", ty(m, ELEM_FLOAT, ""));
  add_input(g, "ünï", ty(m, ELEM_FLOAT, ""));
  add_node(g, "", "Sum", NAMES("float", "inf", "NaN", "seq", "_ok1", "1abc", "ünï"),
           NAMES("floaty"));
  add_output(g, "floaty", NULL);
  expect_text(
      print_model(m, NULL),
      "<\n"
      "   ir_version: 9,\n"
      "   opset_import: [\"\" : 21]\n"
      ">\n"
      "\"my graph\" (float \"float\", float \"inf\", float \"NaN\", float \"seq\", float _ok1, "
      "float \"1abc\", float \"ünï\") => (floaty) {\n"
      "   floaty = Sum (\"float\", \"inf\", \"NaN\", \"seq\", _ok1, \"1abc\", \"ünï\")\n"
      "}\n");
  ir_model_free(m);
}

static void test_print_header_variants(void **state) {
  (void)state;
  Model *m = ir_model_new();
  Graph *g = m->graph = ir_graph_new(m, NULL, "g");
  add_input(g, "x", ty(m, ELEM_FLOAT, ""));
  add_output(g, "x", NULL);
  /* no header keys: no header */
  expect_text(print_model(m, NULL), "g (float x) => (float x) {\n}\n");
  m->producer_version = "1.0";
  m->domain = "ai.effc";
  expect_text(print_model(m, NULL), "<\n   producer_version: \"1.0\",\n   domain: "
                                    "\"ai.effc\"\n>\ng (float x) => (float x) {\n}\n");
  ir_model_free(m);
}

static void test_print_lost_fields(void **state) {
  (void)state;
  Model *m = new_model(9, 1, "", 21);
  Graph *g = m->graph = ir_graph_new(m, NULL, "g");
  g->doc_string = "graph doc";
  Value *x = add_input(g, "x", ty(m, ELEM_FLOAT, ""));
  x->doc_string = "value doc";
  x->type->denotation = "IMAGE";
  Node *n1 = add_node(g, "", "Relu", NAMES("x"), NAMES("y"));
  n1->doc_string = "n1 doc";
  Node *n2 = add_node(g, "", "Relu", NAMES("y"), NAMES("z"));
  n2->name = "second";
  n2->doc_string = "n2 doc";
  static const uint8_t extra[] = {0x08, 0x01};
  n2->extra = (IrBytes){extra, 2};
  Attr *sp = add_attr(n2, "s", ATTR_SPARSE_TENSOR);
  (void)sp;
  add_output(g, "z", NULL);
  m->extra = (IrBytes){extra, 2};
  Cap c;
  cap_init_file(&c, "t.onnx");
  char *txt = print_model(m, &c.d);
  const char *diag_text = cap_text(&c);
  /* the sparse attribute is left out entirely, the rest prints */
  expect_text(txt, "<\n   ir_version: 9,\n   opset_import: [\"\" : 21]\n>\n"
                   "g (float x) => (z) {\n   y = Relu (x)\n   [second] z = Relu (y)\n}\n");
  /* model extra, graph doc, node doc (x2, one warning), node extra, sparse attr, value doc,
   * denotation */
  assert_int_equal(c.d.warnings, 7);
  assert_non_null(strstr(
      diag_text,
      "a node doc_string cannot be written as ONNX text and is dropped (node 'Relu', and 1 more)"));
  assert_non_null(strstr(diag_text, "t.onnx: warning: a graph doc_string cannot be written as ONNX "
                                    "text and is dropped (graph 'g')\n"));
  assert_non_null(strstr(
      diag_text,
      "a sparse tensor attribute cannot be written as ONNX text and is dropped (attribute 's')"));
  assert_non_null(strstr(
      diag_text,
      "a type or dimension denotation cannot be written as ONNX text and is dropped (value 'x')"));
  cap_free(&c);
  ir_model_free(m);
}

/* Deep nesting prints without recursion; a long chain prints every node. */
static void test_print_deep_and_long(void **state) {
  (void)state;
  Model *m = new_model(9, 1, "", 21);
  Graph *g = m->graph = ir_graph_new(m, NULL, "g");
  add_input(g, "c", ty(m, ELEM_BOOL, ""));
  Graph *cur = g;
  const int depth = 1000;
  for (int i = 0; i < depth; i++) {
    Node *n = add_node(cur, "", "If", NAMES("c"), NAMES(i == 0 ? "r" : "o"));
    Graph *b = sub_graph(n, "then_branch", "b");
    if (i) add_output(cur, "o", NULL);
    cur = b;
  }
  add_node(cur, "", "Identity", NAMES("c"), NAMES("o"));
  add_output(cur, "o", NULL);
  add_output(g, "r", NULL);
  char *txt = print_model(m, NULL);
  size_t lines = 0;
  for (char *p = txt; *p; p++) lines += *p == '\n';
  /* header 4 + signature 1 + per level: node line and closing line, + innermost node + } */
  assert_int_equal(lines, 4 + 1 + 2 * depth + 1 + 1);
  /* indentation stops at 150 columns, so the text stays linear in the nesting */
  size_t maxlead = 0;
  for (char *p = txt; *p;) {
    size_t lead = strspn(p, " ");
    if (lead > maxlead) maxlead = lead;
    char *nl = strchr(p, '\n');
    if (!nl) break;
    p = nl + 1;
  }
  assert_int_equal(maxlead, 150);
  free(txt);
  ir_model_free(m);

  m = new_model(9, 1, "", 21);
  g = m->graph = ir_graph_new(m, NULL, "chain");
  add_input(g, "v0", ty(m, ELEM_FLOAT, "1"));
  char in[32], out[32];
  const int n = 200000;
  for (int i = 0; i < n; i++) {
    snprintf(in, sizeof in, "v%d", i);
    snprintf(out, sizeof out, "v%d", i + 1);
    Node *nd = ir_node_new(g, "", "Relu", 1, 1);
    ir_node_set_input(nd, 0, ir_graph_lookup(g, in));
    ir_node_set_output(nd, 0, ir_graph_def(g, ir_arena_strdup(&m->arena, out), ir_noloc));
    ir_node_append(g, nd);
  }
  add_output(g, out, NULL);
  txt = print_model(m, NULL);
  lines = 0;
  for (char *p = txt; *p; p++) lines += *p == '\n';
  assert_int_equal(lines, 4 + 1 + (size_t)n + 1);
  assert_non_null(strstr(txt, "   v200000 = Relu (v199999)\n}\n"));
  free(txt);
  ir_model_free(m);
}

static void test_print_graph_alone(void **state) {
  (void)state;
  Model *m = new_model(9, 1, "", 21);
  Graph *g = m->graph = ir_graph_new(m, NULL, "g");
  add_input(g, "x", ty(m, ELEM_FLOAT, "3"));
  add_node(g, "", "Neg", NAMES("x"), NAMES("y"));
  add_output(g, "y", NULL);
  Cap c;
  cap_init(&c);
  assert_int_equal(ir_print_graph(c.fp, g, 6), 0);
  expect_text(cap_take(&c), "g (float[3] x) => (y) {\n      y = Neg (x)\n   }");
  ir_model_free(m);
}

/* ------------------------------------------------------------------ round trips */

static Model *parse_text(const char *name, const char *text, size_t len) {
  char *buf = malloc(len + 2);
  assert_non_null(buf);
  memcpy(buf, text, len);
  buf[len] = buf[len + 1] = 0;
  Diag d;
  ir_diag_init(&d, stderr, name, buf, len);
  Model *m = fe_parse(name, buf, len, &d);
  free(buf);
  return m;
}

static bool str_same(const char *a, const char *b) {
  return (a ? a : "")[0] == (b ? b : "")[0] && !strcmp(a ? a : "", b ? b : "");
}

static void same_tensor(const Tensor *a, const Tensor *b) {
  assert_true((a == NULL) == (b == NULL));
  if (!a) return;
  assert_int_equal(a->elem, b->elem);
  assert_int_equal(a->rank, b->rank);
  for (int i = 0; i < a->rank; i++) assert_int_equal(a->dims[i], b->dims[i]);
  assert_true(str_same(a->name, b->name));
  assert_int_equal(a->n_external, b->n_external);
  for (int i = 0; i < a->n_external; i++) {
    assert_string_equal(a->external[i].key, b->external[i].key);
    assert_string_equal(a->external[i].value, b->external[i].value);
  }
  if (a->n_external) return;
  assert_int_equal(a->has_data, b->has_data);
  assert_int_equal(a->nbytes, b->nbytes);
  if (a->elem == ELEM_STRING) {
    const IrStr *x = a->data, *y = b->data;
    for (size_t i = 0; i < a->nbytes / sizeof(IrStr); i++) {
      assert_int_equal(x[i].len, y[i].len);
      assert_memory_equal(x[i].s, y[i].s, x[i].len);
    }
  } else if (a->nbytes) {
    assert_memory_equal(a->data, b->data, a->nbytes); /* bit-exact: -0, nan payload aside */
  }
}

static void same_type(const Type *a, const Type *b) {
  assert_true(ir_type_equal(a, b));
}

static void same_graph(const Graph *a, const Graph *b);

static void same_attr(const Attr *a, const Attr *b) {
  assert_string_equal(a->name, b->name);
  assert_int_equal(a->type, b->type);
  assert_true(str_same(a->ref_attr_name, b->ref_attr_name));
  if (a->ref_attr_name) return;
  switch (a->type) {
  case ATTR_FLOAT: /* bit-exact, except that text keeps no NaN sign or payload */
    assert_true((isnan(a->f) && isnan(b->f)) || !memcmp(&a->f, &b->f, sizeof a->f));
    break;
  case ATTR_INT:
    assert_int_equal(a->i, b->i);
    break;
  case ATTR_STRING:
    assert_int_equal(a->s.len, b->s.len);
    assert_memory_equal(a->s.s, b->s.s, a->s.len);
    break;
  case ATTR_TENSOR:
    same_tensor(a->t, b->t);
    break;
  case ATTR_GRAPH:
    same_graph(a->g, b->g);
    break;
  case ATTR_TYPE_PROTO:
    same_type(a->tp, b->tp);
    break;
  default:
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
      if (a->type == ATTR_FLOATS)
        assert_true((isnan(a->floats[i]) && isnan(b->floats[i])) ||
                    !memcmp(&a->floats[i], &b->floats[i], sizeof(float)));
      if (a->type == ATTR_INTS) assert_int_equal(a->ints[i], b->ints[i]);
      if (a->type == ATTR_STRINGS)
        assert_true(a->strings[i].len == b->strings[i].len &&
                    !memcmp(a->strings[i].s, b->strings[i].s, a->strings[i].len));
      if (a->type == ATTR_TENSORS) same_tensor(a->tensors[i], b->tensors[i]);
      if (a->type == ATTR_GRAPHS) same_graph(a->graphs[i], b->graphs[i]);
      if (a->type == ATTR_TYPE_PROTOS) same_type(a->types[i], b->types[i]);
    }
  }
}

static void same_values(Value *const *a, Value *const *b, int n) {
  for (int i = 0; i < n; i++) {
    assert_true((a[i] == NULL) == (b[i] == NULL));
    if (!a[i]) continue;
    assert_string_equal(a[i]->name, b[i]->name);
    same_type(a[i]->type, b[i]->type);
  }
}

/* Two IR graphs hold the same thing (recursing into subgraphs: test models are shallow). */
static void same_graph(const Graph *a, const Graph *b) {
  assert_true(str_same(a->name, b->name));
  assert_int_equal(a->n_inputs, b->n_inputs);
  assert_int_equal(a->n_outputs, b->n_outputs);
  same_values(a->inputs, b->inputs, a->n_inputs);
  same_values(a->outputs, b->outputs, a->n_outputs);
  for (int i = 0; i < a->n_inputs; i++) same_tensor(a->inputs[i]->init, b->inputs[i]->init);
  /* initializers as a set (inline ones print in the input list, so order may change) */
  assert_int_equal(a->initializers.n, b->initializers.n);
  for (size_t i = 0; i < a->initializers.n; i++) {
    const Value *v = a->initializers.v[i];
    const Value *w = ir_graph_lookup_local(b, v->name);
    assert_non_null(w);
    same_tensor(v->init, w->init);
  }
  assert_int_equal(a->value_infos.n, b->value_infos.n);
  for (size_t i = 0; i < a->value_infos.n; i++) {
    assert_string_equal(a->value_infos.v[i]->name, b->value_infos.v[i]->name);
    same_type(a->value_infos.v[i]->type, b->value_infos.v[i]->type);
  }
  assert_int_equal(a->nodes.n, b->nodes.n);
  for (size_t i = 0; i < a->nodes.n; i++) {
    const Node *x = a->nodes.v[i], *y = b->nodes.v[i];
    assert_true(str_same(x->name, y->name));
    assert_true(str_same(x->domain, y->domain));
    assert_string_equal(x->op_type, y->op_type);
    assert_true(str_same(x->overload, y->overload));
    int nx = x->n_inputs, ny = y->n_inputs;
    while (nx > 0 && !x->inputs[nx - 1]) nx--; /* trailing missing inputs are dropped */
    while (ny > 0 && !y->inputs[ny - 1]) ny--;
    assert_int_equal(nx, ny);
    for (int k = 0; k < nx; k++) {
      assert_true((x->inputs[k] == NULL) == (y->inputs[k] == NULL));
      if (x->inputs[k]) assert_string_equal(x->inputs[k]->name, y->inputs[k]->name);
    }
    assert_int_equal(x->n_outputs, y->n_outputs);
    for (int k = 0; k < x->n_outputs; k++) {
      assert_true((x->outputs[k] == NULL) == (y->outputs[k] == NULL));
      if (x->outputs[k]) assert_string_equal(x->outputs[k]->name, y->outputs[k]->name);
    }
    assert_int_equal(x->n_attrs, y->n_attrs);
    for (int k = 0; k < x->n_attrs; k++) same_attr(&x->attrs[k], &y->attrs[k]);
  }
}

static void same_model(const Model *a, const Model *b) {
  assert_int_equal(a->has_ir_version, b->has_ir_version);
  assert_int_equal(a->ir_version, b->ir_version);
  assert_int_equal(a->has_model_version, b->has_model_version);
  assert_int_equal(a->model_version, b->model_version);
  assert_int_equal(a->n_opsets, b->n_opsets);
  for (int i = 0; i < a->n_opsets; i++) {
    assert_string_equal(a->opsets[i].domain, b->opsets[i].domain);
    assert_int_equal(a->opsets[i].version, b->opsets[i].version);
  }
  assert_true(str_same(a->producer_name, b->producer_name) &&
              str_same(a->producer_version, b->producer_version));
  assert_true(str_same(a->domain, b->domain) && str_same(a->doc_string, b->doc_string));
  assert_int_equal(a->n_metadata_props, b->n_metadata_props);
  same_graph(a->graph, b->graph);
  assert_int_equal(a->n_functions, b->n_functions);
  for (int i = 0; i < a->n_functions; i++) {
    const Function *f = a->functions[i], *g = b->functions[i];
    assert_string_equal(f->name, g->name);
    assert_true(str_same(f->domain, g->domain) && str_same(f->overload, g->overload));
    assert_true(str_same(f->doc_string, g->doc_string));
    assert_int_equal(f->n_attr_names, g->n_attr_names);
    assert_int_equal(f->n_attr_defaults, g->n_attr_defaults);
    for (int k = 0; k < f->n_attr_defaults; k++)
      same_attr(&f->attr_defaults[k], &g->attr_defaults[k]);
    assert_int_equal(f->n_opsets, g->n_opsets);
    same_graph(f->body, g->body);
  }
}

/* parse -> print -> parse -> print: the two prints are identical and the two models hold
 * the same thing; the model verifies. */
static char *roundtrip(const char *name, const char *text, size_t len) {
  Model *m1 = parse_text(name, text, len);
  assert_non_null(m1);
  Diag d;
  ir_diag_init(&d, stderr, name, NULL, 0);
  assert_int_equal(ir_verify(m1, &d), 0);
  size_t l1, l2;
  char *p1 = NULL, *p2 = NULL;
  FILE *f = open_memstream(&p1, &l1);
  assert_int_equal(ir_print_model(f, m1, &d), 0);
  fclose(f);
  assert_int_equal(d.warnings, 0);
  Model *m2 = parse_text("reprint", p1, l1);
  if (!m2) fprintf(stderr, "%s", p1);
  assert_non_null(m2);
  f = open_memstream(&p2, &l2);
  assert_int_equal(ir_print_model(f, m2, NULL), 0);
  fclose(f);
  if (strcmp(p1, p2)) fprintf(stderr, "--- first\n%s--- second\n%s", p1, p2);
  assert_string_equal(p1, p2);
  same_model(m1, m2);
  free(p2);
  ir_model_free(m1);
  ir_model_free(m2);
  return p1;
}

static void test_roundtrip_fixture(void **state) {
  (void)state;
  char path[512], err[256];
  snprintf(path, sizeof path, "%s/tests/data/print/roundtrip.onnxtxt", EFFC_SOURCE_DIR);
  MappedFile mf;
  assert_true(ir_file_map(path, &mf, err, sizeof err));
  char *p1 = roundtrip(path, (const char *)mf.data, mf.len);
  /* spot checks of the canonical spelling, by hand from ONNX's printer rules */
  assert_non_null(strstr(p1, "main (float[2] x = {1,2.5}, float[N,\"batch size\",?] y, int64 k,"));
  assert_non_null(strstr(p1, "float16[2] h = {15360,49152}"));
  assert_non_null(strstr(p1, "double[3] dd = {0.1,-0,5e-324}"));
  assert_non_null(strstr(p1, "float[5] ff = {nan,inf,-inf,1e-45,3.4028235e+38}"));
  assert_non_null(strstr(p1, "   [lbl] z = com.ms.Fused <alpha: float = 0.5, beta: float = 2, "));
  assert_non_null(strstr(p1, "> (t1, \"\", k)\n"));
  assert_non_null(strstr(p1, "   out2, \"\", o3 = local.f:v2 <p: int = 3> (z)\n"));
  assert_non_null(strstr(
      p1,
      "f <p,q: int = 4,r: string = \"x\">(a, float[2] b) => (c, d, e)\n   <float[2] tmp>\n{\n"));
  assert_non_null(strstr(
      p1, "}, else_branch: graph = g2 () => (float[N] b)\n      <float[1] one = {1}>\n   {\n"));
  free(p1);
  ir_file_unmap(&mf);
}

/* Small texts whose canonical form is known by hand. */
static void test_roundtrip_normalizes(void **state) {
  (void)state;
  static const struct {
    const char *in, *node;
  } cases[] = {
      {"y = Clip (x, , )", "   y = Clip (x)\n"},
      {"y = Clip (x, \"\", m)", "   y = Clip (x, \"\", m)\n"},
      {"y = Foo <a = 1.0, b = 1e-5, c = -0.0, d = [1, 2], e = [0.5, 1], f = \"s\"> (x)",
       "   y = Foo <a: float = 1, b: float = 1e-05, c: float = -0, d: ints = [1, 2], e: floats = "
       "[0.5, 1], f: string = \"s\"> (x)\n"},
      {"y = Foo (x) <a: float = 3, b = inf, c = -nan>",
       "   y = Foo <a: float = 3, b: float = inf, c: float = nan> (x)\n"},
      {"y = Foo <t = float[2] {1.5, 0.1}, u = float {16777217}, s = string[1] {\"q\\\\\"}> (x)",
       "   y = Foo <t: tensor = float[2] {1.5,0.1}, u: tensor = float {16777216}, s: tensor = "
       "string[1]{\"q\\\\\"}> (x)\n"},
      /* no space before a string tensor's braces: ONNX writes "string[3] keys_tensor{"a", ...}" */
      {"[\"my node\"] y, \"\", z = d1.d2.Op (x)", "   [\"my node\"] y, \"\", z = d1.d2.Op (x)\n"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[512];
    snprintf(text, sizeof text,
             "<ir_version: 10, opset_import: [\"\" : 21, \"d1.d2\" : 1]>\ng (float x, float m) => "
             "(y) {\n  %s\n}\n",
             cases[i].in);
    char *p1 = roundtrip("case", text, strlen(text));
    char want[1024];
    snprintf(want, sizeof want,
             "<\n   ir_version: 10,\n   opset_import: [\"\" : 21, \"d1.d2\" : 1]\n>\n"
             "g (float x, float m) => (y) {\n%s}\n",
             cases[i].node);
    expect_text(p1, want);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_float_cases),           cmocka_unit_test(test_float_shortest_vs_numpy),
      cmocka_unit_test(test_float_roundtrip_sweep), cmocka_unit_test(test_print_simple),
      cmocka_unit_test(test_print_node_forms),      cmocka_unit_test(test_print_subgraphs),
      cmocka_unit_test(test_print_initializers),    cmocka_unit_test(test_print_data_types),
      cmocka_unit_test(test_print_function),        cmocka_unit_test(test_print_types),
      cmocka_unit_test(test_print_names),           cmocka_unit_test(test_print_header_variants),
      cmocka_unit_test(test_print_lost_fields),     cmocka_unit_test(test_print_deep_and_long),
      cmocka_unit_test(test_print_graph_alone),     cmocka_unit_test(test_roundtrip_fixture),
      cmocka_unit_test(test_roundtrip_normalizes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
