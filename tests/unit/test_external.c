/* test_external.c - ONNX external data: externalizing a model's large tensors (initializers,
 * sparse parts, attribute tensors, subgraphs, function bodies) into one safetensors file,
 * loading them back by location/offset/length, and refusing bad references. */
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char g_dir[64];

static Tensor *filled(Arena *a, ElemType e, int rank, const int64_t *dims, int seed) {
  Tensor *t = ir_tensor_new(a, e, rank, dims);
  assert_true(ir_tensor_alloc_data(a, t));
  if (e == ELEM_STRING) {
    uint64_t n;
    assert_true(ir_tensor_numel(t, &n));
    for (uint64_t i = 0; i < n; i++) ((IrStr *)t->data)[i] = ir_str(a, "some string value", 17);
    return t;
  }
  for (size_t i = 0; i < t->nbytes; i++)
    ((uint8_t *)t->data)[i] = (uint8_t)(i * 31 + (size_t)seed * 7 + 1);
  return t;
}

static Value *add_init(Graph *g, const char *name, Tensor *t) {
  Value *v = ir_value_new(g, name, ir_type_tensor(&g->model->arena, t->elem, t->rank, t->dims));
  assert_non_null(v);
  v->init = t;
  ir_vec_push(g->initializers, v);
  return v;
}

/* A node op named `name` with room for n_attrs attributes (no inputs or outputs). */
static Node *add_attr_node(Graph *g, const char *op, const char *name, int n_attrs) {
  Node *n = ir_node_new(g, "", op, 0, 0);
  n->name = name;
  n->attrs = ir_arena_alloc(&g->model->arena, (size_t)n_attrs * sizeof(Attr));
  n->n_attrs = n_attrs;
  ir_node_append(g, n);
  return n;
}

/* The model of test_externalize, and the tensors in it (in the order kept in `all`). */
typedef struct Fixture {
  Model *m;
  Tensor *w, *b, *q, *names, *spv, *spi, *cst, *l0, *l1, *sub_w, *fn_c;
} Fixture;

static void build(Fixture *f) {
  Model *m = ir_model_new();
  f->m = m;
  Arena *a = &m->arena;
  m->base_dir = ir_arena_strdup(a, g_dir);
  Graph *g = m->graph = ir_graph_new(m, NULL, "main");
  const int64_t d45[] = {4, 5}, d3[] = {3}, d200[] = {200}, d20[] = {20}, d32[] = {32},
                d25[] = {25}, d30[] = {30}, d1_20[] = {1, 20};
  f->w = filled(a, ELEM_FLOAT, 2, d45, 1);      /* 80 bytes: out */
  f->b = filled(a, ELEM_FLOAT, 1, d3, 2);       /* 12 bytes: stays */
  f->q = filled(a, ELEM_INT4, 1, d200, 3);      /* 100 bytes: out */
  f->names = filled(a, ELEM_STRING, 1, d20, 0); /* strings: always inline */
  add_init(g, "w", f->w);
  add_init(g, "b", f->b);
  add_init(g, "q", f->q);
  add_init(g, "names", f->names);
  /* a sparse initializer: values float[20] (80 bytes), indices int64[1,20] (160 bytes) */
  Value *sp = ir_value_new(g, "sp", NULL);
  sp->sparse_init = ir_arena_alloc(a, sizeof(SparseTensor));
  f->spv = sp->sparse_init->values = filled(a, ELEM_FLOAT, 1, d20, 4);
  f->spi = sp->sparse_init->indices = filled(a, ELEM_INT64, 2, d1_20, 5);
  ir_vec_push(g->initializers, sp);
  /* Constant without a node name; a named node with a list of tensors */
  Node *c = add_attr_node(g, "Constant", NULL, 1);
  c->attrs[0].name = "value";
  c->attrs[0].type = ATTR_TENSOR;
  f->cst = c->attrs[0].t = filled(a, ELEM_FLOAT, 1, d32, 6);
  Node *n1 = add_attr_node(g, "Custom", "n1", 1);
  n1->attrs[0].name = "tensors";
  n1->attrs[0].type = ATTR_TENSORS;
  n1->attrs[0].n = 2;
  n1->attrs[0].tensors = ir_arena_alloc(a, 2 * sizeof(Tensor *));
  f->l0 = n1->attrs[0].tensors[0] = filled(a, ELEM_INT32, 1, d25, 7);
  f->l1 = n1->attrs[0].tensors[1] = filled(a, ELEM_INT32, 1, d25, 8);
  /* a subgraph whose initializer reuses the name "w" */
  Node *iff = add_attr_node(g, "If", NULL, 1);
  iff->attrs[0].name = "then_branch";
  iff->attrs[0].type = ATTR_GRAPH;
  Graph *sub = iff->attrs[0].g = sub_graph(iff, NULL, "then");
  f->sub_w = filled(a, ELEM_FLOAT, 1, d30, 9);
  add_init(sub, "w", f->sub_w);
  /* a function body with another unnamed Constant */
  m->functions = ir_arena_alloc(a, sizeof(Function *));
  m->n_functions = 1;
  Function *fn = m->functions[0] = ir_arena_alloc(a, sizeof(Function));
  fn->name = "fn";
  fn->domain = "local";
  fn->body = ir_graph_new(m, NULL, "fn");
  fn->body->function = fn;
  Node *fc = add_attr_node(fn->body, "Constant", NULL, 1);
  fc->attrs[0].name = "value";
  fc->attrs[0].type = ATTR_TENSOR;
  f->fn_c = fc->attrs[0].t = filled(a, ELEM_FLOAT, 1, d20, 10);
}

static void check_ref(const SafeTensors *st, const Tensor *t, const char *name) {
  const StEntry *e = ir_st_find(st, name);
  if (!e) fprintf(stderr, "no entry '%s'\n", name);
  assert_non_null(e);
  assert_int_equal(t->n_external, 3);
  assert_string_equal(t->external[0].key, "location");
  assert_string_equal(t->external[0].value, "m.safetensors");
  assert_string_equal(t->external[1].key, "offset");
  assert_string_equal(t->external[2].key, "length");
  char buf[32];
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)(st->data_start + e->begin));
  assert_string_equal(t->external[1].value, buf);
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)(e->end - e->begin));
  assert_string_equal(t->external[2].value, buf);
  assert_int_equal(e->end - e->begin, t->nbytes);
  assert_int_equal(e->elem, t->elem);
  assert_true(t->has_data);
  assert_memory_equal(st->file.data + st->data_start + e->begin, t->data, t->nbytes);
}

static void test_externalize(void **state) {
  (void)state;
  Fixture f;
  build(&f);
  Cap c;
  cap_init_file(&c, "m.onnxtxt");
  char path[128];
  snprintf(path, sizeof path, "%s/m.safetensors", g_dir);
  bool ok = ir_external_externalize(f.m, path, "m.safetensors", 64, &c.d);
  if (!ok) fprintf(stderr, "%s\n", cap_text(&c));
  assert_true(ok);
  SafeTensors st;
  assert_true(ir_st_open(&st, path, &c.d));
  assert_int_equal(st.n_entries, 9);
  check_ref(&st, f.w, "w");
  check_ref(&st, f.q, "q");
  check_ref(&st, f.spv, "sp.values");
  check_ref(&st, f.spi, "sp.indices");
  check_ref(&st, f.cst, "Constant_0.value");
  check_ref(&st, f.l0, "n1.tensors.0");
  check_ref(&st, f.l1, "n1.tensors.1");
  check_ref(&st, f.sub_w, "w_1");
  check_ref(&st, f.fn_c, "Constant_0.value_1");
  assert_int_equal(f.b->n_external, 0);
  assert_int_equal(f.names->n_external, 0);
  assert_null(ir_st_find(&st, "b"));
  ir_st_close(&st);

  /* drop the in-memory bytes and load everything back from the file */
  Tensor *all[] = {f.w, f.q, f.spv, f.spi, f.cst, f.l0, f.l1, f.sub_w, f.fn_c};
  enum { N = sizeof all / sizeof all[0] };
  void *saved[N];
  for (int i = 0; i < N; i++) {
    saved[i] = malloc(all[i]->nbytes);
    memcpy(saved[i], all[i]->data, all[i]->nbytes);
    all[i]->data = NULL;
    all[i]->has_data = false;
  }
  assert_true(ir_external_load_all(f.m, &c.d));
  assert_int_equal(c.d.errors, 0);
  for (int i = 0; i < N; i++) {
    assert_true(all[i]->has_data);
    assert_memory_equal(all[i]->data, saved[i], all[i]->nbytes);
    free(saved[i]);
  }
  /* one mapping for the file: pointers differ exactly as the offsets do (w and l0 are both
   * aligned, so neither was copied) */
  long long dp = (long long)((uint8_t *)f.l0->data - (uint8_t *)f.w->data);
  long long doff = atoll(f.l0->external[1].value) - atoll(f.w->external[1].value);
  assert_int_equal(dp, doff);
  /* writing into a loaded tensor changes the private copy, not the file */
  uint8_t before = ((uint8_t *)f.w->data)[0];
  ((uint8_t *)f.w->data)[0] ^= 0xff;
  assert_true(ir_st_open(&st, path, &c.d));
  assert_int_equal(st.file.data[atoll(f.w->external[1].value)], before);
  ir_st_close(&st);
  /* loading again is a no-op */
  assert_true(ir_external_load_all(f.m, &c.d));
  cap_free(&c);
  ir_model_free(f.m);
}

/* Re-externalizing a model whose tensors are already external (loaded lazily first), into a
 * new file, and with a threshold that brings some back inline. */
static void test_reexternalize(void **state) {
  (void)state;
  Fixture f;
  build(&f);
  Cap c;
  cap_init_file(&c, "m.onnxtxt");
  char p1[128], p2[128];
  snprintf(p1, sizeof p1, "%s/m.safetensors", g_dir);
  snprintf(p2, sizeof p2, "%s/sub/n.safetensors", g_dir);
  assert_true(ir_external_externalize(f.m, p1, "m.safetensors", 64, &c.d));
  uint8_t w0[80];
  memcpy(w0, f.w->data, 80);
  f.w->has_data = false; /* as if parsed from text: the reference only */
  f.w->data = NULL;
  f.q->has_data = false;
  f.q->data = NULL;
  char sub[128];
  snprintf(sub, sizeof sub, "%s/sub", g_dir);
  mkdir(sub, 0755);
  assert_true(ir_external_externalize(f.m, p2, "sub/n.safetensors", 100, &c.d));
  assert_int_equal(c.d.errors, 0);
  assert_true(f.w->has_data);
  assert_memory_equal(f.w->data, w0, 80);
  assert_int_equal(f.w->n_external, 0); /* 80 bytes <= 100: inline now */
  assert_int_equal(f.q->n_external, 0); /* 100 bytes: inline */
  assert_int_equal(f.spi->n_external, 3);
  assert_string_equal(f.spi->external[0].value, "sub/n.safetensors");
  SafeTensors st;
  assert_true(ir_st_open(&st, p2, &c.d));
  assert_int_equal(st.n_entries, 3); /* sp.indices 160, Constant_0.value 128, w (sub) 120 */
  assert_non_null(ir_st_find(&st, "w"));
  assert_non_null(ir_st_find(&st, "Constant_0.value"));
  ir_st_close(&st);
  /* the new reference loads */
  f.spi->has_data = false;
  assert_true(ir_external_load(f.m, f.spi, &c.d));
  /* nothing above the threshold: no file */
  char p3[128];
  snprintf(p3, sizeof p3, "%s/none.safetensors", g_dir);
  assert_true(ir_external_externalize(f.m, p3, "none.safetensors", 1 << 20, &c.d));
  assert_int_equal(access(p3, F_OK), -1);
  assert_int_equal(f.spi->n_external, 0);
  cap_free(&c);
  ir_model_free(f.m);
}

/* ------------------------------------------------------------------ bad references */

static void write_bytes(const char *name, size_t n) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  for (size_t i = 0; i < n; i++) fputc((int)(i & 0xff), fp);
  fclose(fp);
}

/* A float[20] tensor (80 bytes) referring to `loc` / `off` / `len` (NULL = absent). */
static Tensor *ref(Model *m, const char *loc, const char *off, const char *len) {
  const int64_t d20[] = {20};
  Tensor *t = ir_tensor_new(&m->arena, ELEM_FLOAT, 1, d20);
  t->name = "t";
  t->loc = (SrcLoc){3, 5};
  t->external = ir_arena_alloc(&m->arena, 3 * sizeof(StrPair));
  int n = 0;
  if (loc) t->external[n++] = (StrPair){"location", loc};
  if (off) t->external[n++] = (StrPair){"offset", off};
  if (len) t->external[n++] = (StrPair){"length", len};
  t->n_external = n;
  return t;
}

static void load_fail(Model *m, Tensor *t, const char *msg) {
  Cap c;
  cap_init_file(&c, "m.onnxtxt");
  assert_false(ir_external_load(m, t, &c.d));
  if (!strstr(cap_text(&c), msg)) fprintf(stderr, "expected '%s' in: %s\n", msg, cap_text(&c));
  assert_non_null(strstr(cap_text(&c), msg));
  assert_non_null(strstr(cap_text(&c), "m.onnxtxt:3:5: error:"));
  assert_false(t->has_data);
  cap_free(&c);
}

static Tensor *load_ok(Model *m, Tensor *t) {
  Cap c;
  cap_init_file(&c, "m.onnxtxt");
  bool ok = ir_external_load(m, t, &c.d);
  if (!ok) fprintf(stderr, "%s\n", cap_text(&c));
  assert_true(ok);
  assert_true(t->has_data);
  assert_int_equal(t->nbytes, 80);
  cap_free(&c);
  return t;
}

static void test_bad_references(void **state) {
  (void)state;
  write_bytes("raw.bin", 100);
  char sub[128];
  snprintf(sub, sizeof sub, "%s/d", g_dir);
  mkdir(sub, 0755);
  Model *m = ir_model_new();
  m->base_dir = g_dir;
  load_fail(m, ref(m, "/etc/passwd", NULL, "80"), "is an absolute path");
  load_fail(m, ref(m, "../raw.bin", NULL, "80"), "leaves the model's directory");
  load_fail(m, ref(m, "d/../../raw.bin", NULL, "80"), "leaves the model's directory");
  load_fail(m, ref(m, "d/./../../x", NULL, "80"), "leaves the model's directory");
  load_fail(m, ref(m, "", NULL, "80"), "is empty");
  load_fail(m, ref(m, NULL, "0", "80"), "without a \"location\"");
  load_fail(m, ref(m, "missing.bin", NULL, "80"), "No such file");
  load_fail(m, ref(m, "d", NULL, "80"), "not a regular file");
  load_fail(m, ref(m, "raw.bin", "101", "0"), "offset 101 is past the end");
  load_fail(m, ref(m, "raw.bin", "40", "80"), "runs past the end");
  load_fail(m, ref(m, "raw.bin", "18446744073709551615", "80"), "past the end");
  load_fail(m, ref(m, "raw.bin", "0", "8"), "length is 8 bytes but float tensor needs 80");
  load_fail(m, ref(m, "raw.bin", NULL, NULL), "length is 100 bytes");
  load_fail(m, ref(m, "raw.bin", "-1", "80"), "offset \"-1\" is not a non-negative integer");
  load_fail(m, ref(m, "raw.bin", "", "80"), "offset \"\" is not");
  load_fail(m, ref(m, "raw.bin", "0", "8x"), "length \"8x\" is not");
  load_fail(m, ref(m, "raw.bin", "0", "99999999999999999999"), "is not a non-negative integer");
  Tensor *s = ref(m, "raw.bin", "0", "80");
  s->elem = ELEM_STRING;
  load_fail(m, s, "string tensors cannot be stored as external data");
  Tensor *u = ref(m, "raw.bin", "0", "80");
  u->dims[0] = -1;
  load_fail(m, u, "shape is unknown");

  /* accepted: "./" and "d/.." stay inside; absent length = to the end of the file; absent
   * offset = 0; an odd offset is copied to aligned memory */
  Tensor *t = load_ok(m, ref(m, "./raw.bin", "20", "80"));
  assert_int_equal(((uint8_t *)t->data)[0], 20);
  t = load_ok(m, ref(m, "d/../raw.bin", "20", NULL));
  assert_int_equal(((uint8_t *)t->data)[79], 99);
  t = load_ok(m, ref(m, "raw.bin", NULL, "80"));
  assert_int_equal(((uint8_t *)t->data)[5], 5);
  t = load_ok(m, ref(m, "raw.bin", "1", "80"));
  assert_int_equal((uintptr_t)t->data % 4, 0);
  assert_int_equal(((uint8_t *)t->data)[0], 1);
  assert_int_equal(((uint8_t *)t->data)[79], 80);
  /* load_all reports every bad reference, not just the first */
  m->graph = ir_graph_new(m, NULL, "g");
  Value *v1 = ir_value_new(m->graph, "a", NULL), *v2 = ir_value_new(m->graph, "b", NULL);
  v1->init = ref(m, "../x", NULL, NULL);
  v2->init = ref(m, "raw.bin", "0", "4");
  ir_vec_push(m->graph->initializers, v1);
  ir_vec_push(m->graph->initializers, v2);
  Cap c;
  cap_init_file(&c, "m.onnxtxt");
  assert_false(ir_external_load_all(m, &c.d));
  assert_int_equal(c.d.errors, 2);
  cap_free(&c);
  /* externalize refuses a bad location before writing anything */
  cap_init_file(&c, "m.onnxtxt");
  assert_false(ir_external_externalize(m, "/tmp/x.safetensors", "../x.safetensors", 64, &c.d));
  assert_non_null(strstr(cap_text(&c), "leaves the model's directory"));
  cap_free(&c);
  ir_model_free(m);
}

/* A deep chain of subgraphs is walked without recursion. */
static void test_deep_nesting(void **state) {
  (void)state;
  Model *m = ir_model_new();
  m->base_dir = g_dir;
  Graph *g = m->graph = ir_graph_new(m, NULL, "g");
  const int64_t d20[] = {20};
  for (int i = 0; i < 20000; i++) {
    Node *n = add_attr_node(g, "If", NULL, 1);
    n->attrs[0].name = "then_branch";
    n->attrs[0].type = ATTR_GRAPH;
    n->attrs[0].g = ir_graph_new(m, g, "sub");
    g = n->attrs[0].g;
  }
  Tensor *t = filled(&m->arena, ELEM_FLOAT, 1, d20, 1);
  add_init(g, "deep", t);
  char path[128];
  snprintf(path, sizeof path, "%s/deep.safetensors", g_dir);
  Cap c;
  cap_init_file(&c, "m.onnxtxt");
  assert_true(ir_external_externalize(m, path, "deep.safetensors", 64, &c.d));
  assert_int_equal(t->n_external, 3);
  t->has_data = false;
  assert_true(ir_external_load_all(m, &c.d));
  assert_true(t->has_data);
  cap_free(&c);
  ir_model_free(m);
}

/* A model in text form whose initializer is moved out, printed, parsed back and loaded: the
 * same bytes come back through the printed reference. */
static void test_text_roundtrip(void **state) {
  (void)state;
  char path[128], out[128], st_path[128];
  snprintf(path, sizeof path, "%s/t.onnxtxt", g_dir);
  snprintf(out, sizeof out, "%s/t2.onnxtxt", g_dir);
  snprintf(st_path, sizeof st_path, "%s/t2.safetensors", g_dir);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs("<ir_version: 10, opset_import: [\"\" : 21]>\n"
        "g (float[4,5] x) => (float[4,5] y)\n"
        "<float[4,5] w = {",
        fp);
  for (int i = 0; i < 20; i++) fprintf(fp, "%s%g", i ? ", " : "", 0.5 * i - 3);
  fputs("}, float[2] b = {1, 2}>\n{\n  y = Add(x, w)\n}\n", fp);
  fclose(fp);
  Cap c;
  cap_init_file(&c, "m.onnxtxt");
  Model *m = fe_load(path, &c.d);
  if (!m) fprintf(stderr, "%s\n", cap_text(&c));
  assert_non_null(m);
  assert_true(ir_external_externalize(m, st_path, "t2.safetensors", 64, &c.d));
  fp = fopen(out, "w");
  assert_int_equal(ir_print_model(fp, m, NULL), 0);
  fclose(fp);
  ir_model_free(m);
  m = fe_load(out, &c.d);
  if (!m) fprintf(stderr, "%s\n", cap_text(&c));
  assert_non_null(m);
  Value *w = ir_graph_lookup(m->graph, "w"), *b = ir_graph_lookup(m->graph, "b");
  assert_non_null(w);
  assert_non_null(w->init);
  assert_int_equal(w->init->n_external, 3);
  assert_string_equal(ir_tensor_external(w->init, "location"), "t2.safetensors");
  assert_int_equal(b->init->n_external, 0);
  assert_true(ir_external_load_all(m, &c.d));
  assert_int_equal(c.d.errors, 0);
  assert_true(w->init->has_data);
  for (int i = 0; i < 20; i++) assert_true(((float *)w->init->data)[i] == (float)(0.5 * i - 3));
  cap_free(&c);
  ir_model_free(m);
}

static int setup(void **state) {
  (void)state;
  return tmpdir_make(g_dir, sizeof g_dir, "/tmp/effc-ext-XXXXXX");
}
static int teardown(void **state) {
  (void)state;
  return tmpdir_remove(g_dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_externalize),    cmocka_unit_test(test_reexternalize),
      cmocka_unit_test(test_bad_references), cmocka_unit_test(test_deep_nesting),
      cmocka_unit_test(test_text_roundtrip),
  };
  return cmocka_run_group_tests_name("external", tests, setup, teardown);
}
