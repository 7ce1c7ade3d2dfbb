/* test_parser.c - the ONNX text parser (frontend/parse.c, lexer.l, parser.y): the worked
 * examples of notes/onnx-text-syntax.md checked field by field, each syntax feature, tensor
 * data layouts for every element type (bytes worked out by hand from the IEEE/ONNX encodings),
 * and each error with its exact line:col and message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frontend.h"

/* ------------------------------------------------------------------ helpers */

static char *last_msgs;

/* Parse src (copied into a buffer with the two trailing NULs the contract asks for); the
 * diagnostics are kept in last_msgs. */
static Model *parse(const char *src) {
  size_t n = strlen(src);
  char *buf = malloc(n + 2);
  assert_non_null(buf);
  memcpy(buf, src, n);
  buf[n] = buf[n + 1] = 0;
  free(last_msgs);
  last_msgs = NULL;
  size_t olen = 0;
  FILE *f = open_memstream(&last_msgs, &olen);
  assert_non_null(f);
  Diag d;
  ir_diag_init(&d, f, "t.onnxtxt", buf, n);
  Model *m = fe_parse("t.onnxtxt", buf, n, &d);
  fclose(f);
  free(buf);
  return m;
}

static Model *ok(const char *src) {
  Model *m = parse(src);
  if (!m) fprintf(stderr, "unexpected errors:\n%s", last_msgs);
  assert_non_null(m);
  assert_string_equal(last_msgs, "");
  return m;
}

/* Expect the parse to fail with this "line:col: error: message" among its diagnostics. */
static void fails(const char *src, const char *where_what) {
  Model *m = parse(src);
  char want[512];
  snprintf(want, sizeof want, "t.onnxtxt:%s", where_what);
  if (m || !strstr(last_msgs, want))
    fprintf(stderr, "wanted: %s\ngot:\n%s", want, last_msgs ? last_msgs : "(nothing)");
  assert_null(m);
  assert_non_null(strstr(last_msgs, want));
}

static Value *val(const Graph *g, const char *name) {
  Value *v = ir_graph_lookup_local(g, name);
  if (!v) fprintf(stderr, "no value '%s'\n", name);
  assert_non_null(v);
  return v;
}

static Node *node(const Graph *g, size_t i) {
  assert_true(i < g->nodes.n);
  return g->nodes.v[i];
}

static Attr *attr(const Node *n, const char *name) {
  Attr *a = ir_node_attr(n, name);
  if (!a) fprintf(stderr, "no attribute '%s'\n", name);
  assert_non_null(a);
  return a;
}

static void dims_are(const Type *t, int rank, ...) {
  assert_non_null(t);
  assert_int_equal(t->kind, TYPE_TENSOR);
  assert_int_equal(t->rank, rank);
  va_list ap;
  va_start(ap, rank);
  for (int i = 0; i < rank; i++) {
    const char *p = va_arg(ap, const char *); /* NULL: numeric */
    int64_t v = va_arg(ap, int64_t);
    if (p) assert_string_equal(t->dims[i].param, p);
    else assert_null(t->dims[i].param);
    assert_int_equal(t->dims[i].value, v);
  }
  va_end(ap);
}
#define NUM(v) (const char *)NULL, (int64_t)(v)
#define SYM(s) (s), (int64_t)-1

static uint32_t f32_bits(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  return b;
}

static void bytes_are(const Tensor *t, const char *hex) {
  assert_non_null(t);
  assert_true(t->has_data);
  size_t n = strlen(hex) / 2;
  assert_int_equal(t->nbytes, n);
  for (size_t i = 0; i < n; i++) {
    unsigned b;
    sscanf(hex + 2 * i, "%2x", &b);
    if (((const uint8_t *)t->data)[i] != b) fprintf(stderr, "byte %zu: %02x, want %02x\n", i, ((const uint8_t *)t->data)[i], b);
    assert_int_equal(((const uint8_t *)t->data)[i], b);
  }
}

/* The initializer tensor of a one-initializer graph "g () => () <INIT> {}". */
static Model *init_model(const char *init) {
  char src[4096];
  snprintf(src, sizeof src, "g () => () <%s> {}", init);
  return parse(src);
}

static Tensor *the_init(Model *m) {
  assert_non_null(m);
  assert_int_equal(m->graph->initializers.n, 1);
  return m->graph->initializers.v[0]->init;
}

static void init_bytes(const char *init, const char *hex) {
  Model *m = init_model(init);
  if (!m) fprintf(stderr, "%s", last_msgs);
  bytes_are(the_init(m), hex);
  ir_model_free(m);
}

static void init_fails(const char *init, const char *col_msg) {
  char src[4096];
  snprintf(src, sizeof src, "g () => () <%s> {}", init);
  fails(src, col_msg);
}

/* ------------------------------------------------------------------ worked examples */

static const char ex1[] =
    "<\n"
    "  ir_version: 8,\n"
    "  opset_import: [ \"\" : 15 ],\n"
    "  producer_name: \"example\",\n"
    "  doc_string: \"MLP with initializers\"\n"
    ">\n"
    "mlp (float[N, 4] X) => (float[N, 3] Y)\n"
    "<\n"
    "  float[4, 8] W1 = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8,\n"
    "                    0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8,\n"
    "                    0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8,\n"
    "                    0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8},\n"
    "  float[8] B1 = {0, 0, 0, 0, 0, 0, 0, 0},\n"
    "  float[8, 3] W2 = {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0},\n"
    "  float[3] B2 = {0.5, -0.5, 1e-3},\n"
    "  float[N, 8] H\n"
    ">\n"
    "{\n"
    "  # comments run to end of line\n"
    "  T1 = MatMul (X, W1)\n"
    "  A1 = Add (T1, B1)\n"
    "  H = Relu (A1)\n"
    "  T2 = Gemm <alpha = 1.0, beta = 1.0, transB = 0> (H, W2, B2)\n"
    "  Y = Softmax <axis = -1> (T2)\n"
    "}\n";

static void test_ex1_mlp(void **state) {
  (void)state;
  Model *m = ok(ex1);
  assert_true(m->has_ir_version);
  assert_int_equal(m->ir_version, 8);
  assert_false(m->has_model_version);
  assert_int_equal(m->n_opsets, 1);
  assert_string_equal(m->opsets[0].domain, "");
  assert_int_equal(m->opsets[0].version, 15);
  assert_string_equal(m->producer_name, "example");
  assert_string_equal(m->doc_string, "MLP with initializers");
  assert_null(m->producer_version);
  assert_int_equal(m->n_functions, 0);
  Graph *g = m->graph;
  assert_string_equal(g->name, "mlp");
  assert_int_equal(g->n_inputs, 1);
  assert_int_equal(g->n_outputs, 1);
  assert_string_equal(g->inputs[0]->name, "X");
  dims_are(g->inputs[0]->type, 2, SYM("N"), NUM(4));
  assert_int_equal(g->inputs[0]->type->elem, ELEM_FLOAT);
  assert_string_equal(g->outputs[0]->name, "Y");
  dims_are(g->outputs[0]->type, 2, SYM("N"), NUM(3));
  /* initializers in order, value_info H */
  assert_int_equal(g->initializers.n, 4);
  const char *names[] = {"W1", "B1", "W2", "B2"};
  for (int i = 0; i < 4; i++) {
    assert_string_equal(g->initializers.v[i]->name, names[i]);
    assert_string_equal(g->initializers.v[i]->init->name, names[i]);
    assert_null(g->initializers.v[i]->producer);
  }
  Tensor *w1 = val(g, "W1")->init;
  assert_int_equal(w1->elem, ELEM_FLOAT);
  assert_int_equal(w1->rank, 2);
  assert_int_equal(w1->dims[0], 4);
  assert_int_equal(w1->dims[1], 8);
  assert_int_equal(w1->nbytes, 32 * 4);
  /* 0.1f = 0x3dcccccd, 0.8f = 0x3f4ccccd, little-endian */
  assert_memory_equal(w1->data, "\xcd\xcc\xcc\x3d", 4);
  assert_memory_equal((char *)w1->data + 7 * 4, "\xcd\xcc\x4c\x3f", 4);
  assert_memory_equal((char *)w1->data + 31 * 4, "\xcd\xcc\x4c\x3f", 4);
  /* B2 = {0.5, -0.5, 1e-3}: 0x3f000000, 0xbf000000, 0x3a83126f */
  bytes_are(val(g, "B2")->init, "0000003f000000bf6f12833a");
  Tensor *b1 = val(g, "B1")->init;
  for (size_t i = 0; i < b1->nbytes; i++) assert_int_equal(((uint8_t *)b1->data)[i], 0);
  Value *h = val(g, "H");
  assert_true(h->has_value_info);
  assert_int_equal(g->value_infos.n, 1);
  assert_ptr_equal(g->value_infos.v[0], h);
  dims_are(h->type, 2, SYM("N"), NUM(8));
  /* nodes */
  assert_int_equal(g->nodes.n, 5);
  const char *ops[] = {"MatMul", "Add", "Relu", "Gemm", "Softmax"};
  for (int i = 0; i < 5; i++) {
    assert_string_equal(node(g, (size_t)i)->op_type, ops[i]);
    assert_string_equal(node(g, (size_t)i)->domain, "");
    assert_null(node(g, (size_t)i)->name);
  }
  Node *mm = node(g, 0);
  assert_int_equal(mm->n_inputs, 2);
  assert_ptr_equal(mm->inputs[0], g->inputs[0]);
  assert_ptr_equal(mm->inputs[1], val(g, "W1"));
  assert_ptr_equal(mm->outputs[0], val(g, "T1"));
  assert_ptr_equal(val(g, "T1")->producer, mm);
  assert_ptr_equal(h->producer, node(g, 2));
  assert_false(h->undefined);
  Node *gemm = node(g, 3);
  assert_int_equal(gemm->n_attrs, 3);
  assert_string_equal(gemm->attrs[0].name, "alpha");
  assert_int_equal(gemm->attrs[0].type, ATTR_FLOAT);
  assert_true(gemm->attrs[0].f == 1.0f);
  assert_int_equal(attr(gemm, "beta")->type, ATTR_FLOAT);
  assert_int_equal(attr(gemm, "transB")->type, ATTR_INT);
  assert_int_equal(attr(gemm, "transB")->i, 0);
  assert_ptr_equal(gemm->inputs[2], val(g, "B2"));
  Node *sm = node(g, 4);
  assert_int_equal(attr(sm, "axis")->type, ATTR_INT);
  assert_int_equal(attr(sm, "axis")->i, -1);
  assert_ptr_equal(sm->outputs[0], g->outputs[0]);
  /* locations */
  assert_int_equal(g->inputs[0]->loc.line, 7);
  assert_int_equal(g->inputs[0]->loc.col, 18);
  assert_int_equal(mm->loc.line, 20);
  assert_int_equal(mm->loc.col, 3);
  assert_int_equal(attr(gemm, "beta")->loc.line, 23);
  assert_int_equal(attr(gemm, "beta")->loc.col, 27);
  assert_int_equal(w1->loc.line, 9);
  assert_int_equal(w1->loc.col, 3);
  ir_model_free(m);
}

static void test_ex2_conv_attrs(void **state) {
  (void)state;
  Model *m = ok("<ir_version: 8, opset_import: [\"\" : 13]>\n"
                "convnet (float[1, 1, 5, 5] x) => (float[1, 2, 3, 3] y)\n"
                "<float[2, 1, 3, 3] w = {1,0,0, 0,1,0, 0,0,1,  0,0,1, 0,1,0, 1,0,0}, float[2] b = {0.0, 1.0}>\n"
                "{\n"
                "  c = Conv <kernel_shape = [3, 3], pads = [0, 0, 0, 0], strides = [1, 1], dilations = [1, 1], group = 1> (x, w, b)\n"
                "  y = Clip (c, , )\n"
                "}\n");
  Graph *g = m->graph;
  dims_are(g->inputs[0]->type, 4, NUM(1), NUM(1), NUM(5), NUM(5));
  Tensor *w = val(g, "w")->init;
  assert_int_equal(w->rank, 4);
  assert_int_equal(w->nbytes, 18 * 4);
  /* element 3 is 0, element 4 is 1.0f = 0x3f800000 */
  assert_memory_equal((char *)w->data + 16, "\x00\x00\x80\x3f", 4);
  bytes_are(val(g, "b")->init, "000000000000803f");
  Node *conv = node(g, 0);
  assert_int_equal(conv->n_attrs, 5);
  Attr *ks = attr(conv, "kernel_shape");
  assert_int_equal(ks->type, ATTR_INTS);
  assert_int_equal(ks->n, 2);
  assert_int_equal(ks->ints[0], 3);
  assert_int_equal(ks->ints[1], 3);
  assert_int_equal(attr(conv, "pads")->n, 4);
  assert_int_equal(attr(conv, "group")->type, ATTR_INT);
  assert_int_equal(attr(conv, "group")->i, 1);
  /* Clip (c, , ): "c", then an empty input before the second comma; the trailing one is dropped */
  Node *clip = node(g, 1);
  assert_int_equal(clip->n_inputs, 2);
  assert_ptr_equal(clip->inputs[0], val(g, "c"));
  assert_null(clip->inputs[1]);
  ir_model_free(m);
}

static const char ex3[] =
    "<\n"
    "  ir_version: 8,\n"
    "  opset_import: [ \"\" : 15, \"local\" : 1 ]\n"
    ">\n"
    "main (bool cond, float[4] X) => (float[4] Z)\n"
    "{\n"
    "  S = local.scaled_add <alpha = 2.0> (X, X)\n"
    "  Z = If (cond) <\n"
    "      then_branch = g1 () => (float[4] z_then) { z_then = Identity (S) },\n"
    "      else_branch = g2 () => (float[4] z_else) { z_else = Neg (S) }\n"
    "  >\n"
    "}\n"
    "<\n"
    "  domain: \"local\",\n"
    "  opset_import: [ \"\" : 15 ],\n"
    "  doc_string: \"function with an attribute parameter\"\n"
    ">\n"
    "scaled_add <alpha> (a, b) => (c)\n"
    "{\n"
    "  k = Constant <value_float: float = @alpha> ()\n"
    "  t = Mul (k, a)\n"
    "  c = Add (t, b)\n"
    "}\n";

static void test_ex3_if_func(void **state) {
  (void)state;
  Model *m = ok(ex3);
  assert_int_equal(m->n_opsets, 2);
  assert_string_equal(m->opsets[1].domain, "local");
  assert_int_equal(m->opsets[1].version, 1);
  Graph *g = m->graph;
  assert_int_equal(g->inputs[0]->type->elem, ELEM_BOOL);
  assert_int_equal(g->inputs[0]->type->rank, 0);
  Node *call = node(g, 0);
  assert_string_equal(call->domain, "local");
  assert_string_equal(call->op_type, "scaled_add");
  assert_int_equal(attr(call, "alpha")->type, ATTR_FLOAT);
  assert_true(attr(call, "alpha")->f == 2.0f);
  Node *iff = node(g, 1);
  assert_int_equal(iff->n_attrs, 2);
  Attr *tb = attr(iff, "then_branch");
  assert_int_equal(tb->type, ATTR_GRAPH);
  Graph *g1 = tb->g;
  assert_string_equal(g1->name, "g1");
  assert_ptr_equal(g1->parent, g);
  assert_ptr_equal(g1->parent_node, iff);
  assert_int_equal(g1->n_inputs, 0);
  assert_int_equal(g1->n_outputs, 1);
  assert_string_equal(g1->outputs[0]->name, "z_then");
  dims_are(g1->outputs[0]->type, 1, NUM(4));
  assert_int_equal(g1->nodes.n, 1);
  /* S resolves to the outer graph's value */
  assert_ptr_equal(node(g1, 0)->inputs[0], val(g, "S"));
  assert_ptr_equal(g1->outputs[0]->producer, node(g1, 0));
  assert_string_equal(attr(iff, "else_branch")->g->name, "g2");
  assert_ptr_equal(iff->outputs[0], g->outputs[0]);
  /* the function */
  assert_int_equal(m->n_functions, 1);
  Function *f = m->functions[0];
  assert_string_equal(f->name, "scaled_add");
  assert_string_equal(f->domain, "local");
  assert_null(f->overload);
  assert_string_equal(f->doc_string, "function with an attribute parameter");
  assert_int_equal(f->n_opsets, 1);
  assert_string_equal(f->opsets[0].domain, "");
  assert_int_equal(f->opsets[0].version, 15);
  assert_int_equal(f->n_attr_names, 1);
  assert_string_equal(f->attr_names[0], "alpha");
  assert_int_equal(f->n_attr_defaults, 0);
  assert_int_equal(f->n_attr_order, 1);
  assert_int_equal(f->attr_order[0], 0);
  Graph *b = f->body;
  assert_ptr_equal(b->function, f);
  assert_null(b->parent);
  assert_int_equal(b->n_inputs, 2);
  assert_string_equal(b->inputs[0]->name, "a");
  assert_null(b->inputs[0]->type);
  assert_string_equal(b->outputs[0]->name, "c");
  assert_int_equal(b->nodes.n, 3);
  Node *k = node(b, 0);
  assert_int_equal(k->n_inputs, 0);
  Attr *vf = attr(k, "value_float");
  assert_int_equal(vf->type, ATTR_FLOAT);
  assert_string_equal(vf->ref_attr_name, "alpha");
  assert_ptr_equal(b->outputs[0]->producer, node(b, 2));
  ir_model_free(m);
}

static void test_ex3b_attr_default(void **state) {
  (void)state;
  char src[sizeof ex3 + 64];
  const char *at = strstr(ex3, "scaled_add <alpha>");
  assert_non_null(at);
  snprintf(src, sizeof src, "%.*sscaled_add <alpha: float = 1.0>%s", (int)(at - ex3), ex3,
           at + strlen("scaled_add <alpha>"));
  Model *m = ok(src);
  Function *f = m->functions[0];
  assert_int_equal(f->n_attr_names, 0);
  assert_int_equal(f->n_attr_defaults, 1);
  assert_string_equal(f->attr_defaults[0].name, "alpha");
  assert_int_equal(f->attr_defaults[0].type, ATTR_FLOAT);
  assert_true(f->attr_defaults[0].f == 1.0f);
  assert_int_equal(f->n_attr_order, 1);
  assert_int_equal(f->attr_order[0], ~0);
  ir_model_free(m);
}

static void test_ex4_qdq(void **state) {
  (void)state;
  Model *m = ok("<ir_version: 8, opset_import: [\"\" : 13]>\n"
                "qdq_matmul (float[1, 4] x) => (float[1, 2] y)\n"
                "<\n"
                "  float xs = {0.05}, uint8 xz = {128},\n"
                "  int8[4, 2] wq = {1, -1, 2, -2, 3, -3, 4, -4},\n"
                "  float[2] ws = {0.1, 0.2}, int8[2] wz = {0, 0}\n"
                ">\n"
                "{\n"
                "  xq = QuantizeLinear (x, xs, xz)\n"
                "  xd = DequantizeLinear (xq, xs, xz)\n"
                "  wd = DequantizeLinear <axis = 1> (wq, ws, wz)\n"
                "  y = MatMul (xd, wd)\n"
                "}\n");
  Graph *g = m->graph;
  assert_int_equal(g->initializers.n, 5);
  Tensor *xs = val(g, "xs")->init;
  assert_int_equal(xs->rank, 0);
  assert_int_equal(val(g, "xs")->type->rank, 0);
  bytes_are(xs, "cdcc4c3d"); /* 0.05f = 0x3d4ccccd */
  bytes_are(val(g, "xz")->init, "80");
  bytes_are(val(g, "wq")->init, "01ff02fe03fd04fc");
  bytes_are(val(g, "wz")->init, "0000");
  bytes_are(val(g, "ws")->init, "cdcccc3dcdcc4c3e");
  assert_int_equal(attr(node(g, 2), "axis")->i, 1);
  assert_ptr_equal(node(g, 1)->inputs[0], node(g, 0)->outputs[0]);
  ir_model_free(m);
}

/* ------------------------------------------------------------------ lexical features */

static void test_comments_quoted_ids(void **state) {
  (void)state;
  Model *m = ok("# leading comment\n"
                "\"my graph\" (float \"input/X\", float \"a\\\"b\", float \"c\\\\d\", float \"\\n\") # c\n"
                "  => (float \"#y\") {\n"
                "  \"#y\" = Add(\"input/X\", \"a\\\"b\") # trailing\n"
                "}\n");
  Graph *g = m->graph;
  assert_string_equal(g->name, "my graph");
  assert_string_equal(g->inputs[0]->name, "input/X");
  assert_string_equal(g->inputs[1]->name, "a\"b");
  assert_string_equal(g->inputs[2]->name, "c\\d");
  assert_string_equal(g->inputs[3]->name, "n"); /* a backslash takes the next char literally */
  assert_string_equal(g->outputs[0]->name, "#y");
  assert_ptr_equal(node(g, 0)->inputs[1], g->inputs[1]);
  ir_model_free(m);
}

static void test_keywords_are_names(void **state) {
  (void)state;
  /* type keywords, composite keywords and inf/nan are names wherever a name can stand */
  Model *m = ok("float (float float, int64[2] seq, inf) => (float nan) {\n"
                "  map = optional.sparse_tensor (float, seq, inf)\n"
                "  nan = float (map)\n"
                "}\n");
  Graph *g = m->graph;
  assert_string_equal(g->name, "float");
  assert_string_equal(g->inputs[0]->name, "float");
  assert_int_equal(g->inputs[0]->type->elem, ELEM_FLOAT);
  assert_string_equal(g->inputs[1]->name, "seq");
  assert_string_equal(g->inputs[2]->name, "inf");
  assert_null(g->inputs[2]->type);
  Node *n0 = node(g, 0);
  assert_string_equal(n0->domain, "optional");
  assert_string_equal(n0->op_type, "sparse_tensor");
  assert_ptr_equal(n0->inputs[1], g->inputs[1]);
  assert_string_equal(node(g, 1)->op_type, "float");
  ir_model_free(m);
}

static void test_numbers(void **state) {
  (void)state;
  Model *m = ok("g () => () {\n"
                "  y = Op <a = 1., b = 1e3, c = 2E-2, d = -0.5, e: float = -0, f = inf, g = -Infinity,\n"
                "          h = NaN, i = 9223372036854775807, j = -9223372036854775808, k: float = 3,\n"
                "          l = 1.5e+1> ()\n"
                "}\n");
  Node *n = node(m->graph, 0);
  assert_int_equal(attr(n, "a")->type, ATTR_FLOAT);
  assert_true(attr(n, "a")->f == 1.0f);
  assert_true(attr(n, "b")->f == 1000.0f);
  assert_int_equal(f32_bits(attr(n, "c")->f), f32_bits(2e-2f));
  assert_true(attr(n, "d")->f == -0.5f);
  assert_int_equal(attr(n, "e")->type, ATTR_FLOAT);
  assert_int_equal(f32_bits(attr(n, "e")->f), 0x80000000u); /* -0 keeps its sign */
  assert_int_equal(f32_bits(attr(n, "f")->f), 0x7f800000u);
  assert_int_equal(f32_bits(attr(n, "g")->f), 0xff800000u);
  assert_true(attr(n, "h")->f != attr(n, "h")->f);
  assert_int_equal(attr(n, "i")->i, INT64_MAX);
  assert_int_equal(attr(n, "j")->i, INT64_MIN);
  assert_int_equal(attr(n, "k")->type, ATTR_FLOAT);
  assert_true(attr(n, "k")->f == 3.0f);
  assert_true(attr(n, "l")->f == 15.0f);
  ir_model_free(m);
  /* strtof, not (float)strtod: 1.00000005960464477539062500001 rounds up to 1+2^-23 as a
   * float but to 1.0000000596046448 as a double, which then rounds (to even) to 1.0f */
  m = ok("g () => () { y = Op <a = 1.00000005960464477539062500001> () }");
  assert_int_equal(f32_bits(attr(node(m->graph, 0), "a")->f), 0x3f800001u);
  ir_model_free(m);
}

static void test_number_errors(void **state) {
  (void)state;
  fails("g () => () { y = Op <a = .5> () }",
        "1:26: error: expected identifier, integer, number, string, '[' or '@' but found '.'");
  fails("g () => () { y = Op <a = 9223372036854775808> () }",
        "1:26: error: integer 9223372036854775808 is out of range for int64");
  fails("g () => () { y = Op <a = 1e39> () }", "1:26: error: value 1e39 is out of range for float");
  fails("g () => () { y = Op <a = 1e> () }", "1:26: error: malformed number (exponent without digits): '1e'");
  fails("g () => () { y = Op <a = - 5> () }", "1:26: error: expected identifier, integer, number, string, '[' or '@' but found '-'");
}

static void test_arrow_adjacent(void **state) {
  (void)state;
  fails("g (float x) = > (float y) {}", "1:13: error: expected '=>' but found '='");
  Model *m = ok("g(float x)=>(float y){y=Relu(x)}");
  assert_int_equal(m->graph->nodes.n, 1);
  ir_model_free(m);
}

static void test_crlf_and_strings_spanning_lines(void **state) {
  (void)state;
  Model *m = ok("g () => () {\r\n  y = Op <s = \"two\nlines\"> ()\r\n  z = Op2 ()\r\n}\r\n");
  Node *n = node(m->graph, 0);
  assert_int_equal(attr(n, "s")->s.len, 9);
  assert_memory_equal(attr(n, "s")->s.s, "two\nlines", 9);
  assert_int_equal(node(m->graph, 1)->loc.line, 4);
  assert_int_equal(node(m->graph, 1)->loc.col, 3);
  ir_model_free(m);
  /* a location after a multi-line string is still exact */
  fails("g () => () {\n  y = Op <s = \"a\nb\nc\"> ()\n  z = Op2 (\n}\n", "6:1: error: expected identifier, string, ',' or ')' but found '}'");
}

static void test_nul_and_bad_chars(void **state) {
  (void)state;
  /* an embedded NUL byte is an error, not the end of the input */
  const char src[] = "g () => () {\n  y = Op ()\x00 z = Op ()\n}";
  char *buf = malloc(sizeof src + 1);
  memcpy(buf, src, sizeof src);
  buf[sizeof src] = 0;
  size_t olen;
  char *out = NULL;
  FILE *f = open_memstream(&out, &olen);
  Diag d;
  ir_diag_init(&d, f, "t.onnxtxt", buf, sizeof src - 1);
  Model *m = fe_parse("t.onnxtxt", buf, sizeof src - 1, &d);
  fclose(f);
  assert_null(m);
  assert_non_null(strstr(out, "t.onnxtxt:2:12: error: unexpected NUL byte"));
  free(out);
  free(buf);
  fails("g () => () { y = Op ($) }", "1:22: error: expected identifier, string, ',' or ')' but found '$'");
  fails("g () => () { y = Op (\"abc) }\n", "1:22: error: unterminated string (the closing '\"' is missing)");
}

/* ------------------------------------------------------------------ graphs and nodes */

static void test_labels_domains_overloads(void **state) {
  (void)state;
  Model *m = ok("g (float x) => (float y) {\n"
                "  [first] a = com.microsoft.FusedConv:ov1 (x)\n"
                "  [\"the second\"] b = local.f (a)\n"
                "  [] y = ai.onnx.ml.Scaler <scale = [1.0]> (b)\n"
                "}\n");
  Graph *g = m->graph;
  Node *n0 = node(g, 0), *n1 = node(g, 1), *n2 = node(g, 2);
  assert_string_equal(n0->name, "first");
  assert_string_equal(n0->domain, "com.microsoft");
  assert_string_equal(n0->op_type, "FusedConv");
  assert_string_equal(n0->overload, "ov1");
  assert_int_equal(n0->loc.line, 2);
  assert_int_equal(n0->loc.col, 3);
  assert_string_equal(n1->name, "the second");
  assert_null(n1->overload);
  assert_string_equal(n2->name, "");
  assert_string_equal(n2->domain, "ai.onnx.ml");
  assert_string_equal(n2->op_type, "Scaler");
  assert_int_equal(attr(n2, "scale")->type, ATTR_FLOATS);
  ir_model_free(m);
}

static void test_missing_inputs_outputs(void **state) {
  (void)state;
  Model *m = ok("g (float x, float z) => () {\n"
                "  a, , c = Op1 (x, , z)\n"
                "  d = Op2 (x, \"\", z)\n"
                "  e = Op3 ( , z)\n"
                "  f = Op4 (x,)\n"
                "  h = Op5 (,)\n"
                "  \"\", k = Op6 ()\n"
                "  = Op7 (x)\n"
                "}\n");
  Graph *g = m->graph;
  Value *x = g->inputs[0], *z = g->inputs[1];
  Node *n = node(g, 0);
  assert_int_equal(n->n_outputs, 3);
  assert_non_null(n->outputs[0]);
  assert_null(n->outputs[1]);
  assert_string_equal(n->outputs[2]->name, "c");
  assert_int_equal(n->n_inputs, 3);
  assert_ptr_equal(n->inputs[0], x);
  assert_null(n->inputs[1]);
  assert_ptr_equal(n->inputs[2], z);
  n = node(g, 1);
  assert_int_equal(n->n_inputs, 3);
  assert_null(n->inputs[1]);
  n = node(g, 2);
  assert_int_equal(n->n_inputs, 2);
  assert_null(n->inputs[0]);
  assert_ptr_equal(n->inputs[1], z);
  n = node(g, 3);
  assert_int_equal(n->n_inputs, 1);
  assert_ptr_equal(n->inputs[0], x);
  n = node(g, 4);
  assert_int_equal(n->n_inputs, 1);
  assert_null(n->inputs[0]);
  n = node(g, 5);
  assert_int_equal(n->n_outputs, 2);
  assert_null(n->outputs[0]);
  assert_string_equal(n->outputs[1]->name, "k");
  n = node(g, 6);
  assert_int_equal(n->n_outputs, 0);
  assert_int_equal(n->loc.col, 3);
  ir_model_free(m);
}

static void test_attrs_before_or_after(void **state) {
  (void)state;
  Model *m = ok("g (float x) => () {\n  a = Op <k = 1> (x)\n  b = Op (x) <k = 2>\n}\n");
  assert_int_equal(attr(node(m->graph, 0), "k")->i, 1);
  assert_int_equal(attr(node(m->graph, 1), "k")->i, 2);
  ir_model_free(m);
  fails("g (float x) => () {\n  a = Op <k = 1> (x) <j = 2>\n}\n", "2:22: error: expected identifier, string, ',', '[', '}' or '=' but found '<'");
}

static void test_graph_io_and_blocks(void **state) {
  (void)state;
  /* inputs with default data (input + initializer), no <...> block, an empty one, untyped
   * outputs, and the input list left out altogether */
  Model *m = ok("g (float[2] x = {1, 2}, int64 n) => (y, float[2] x) <> { y = Identity (x) }");
  Graph *g = m->graph;
  Value *x = g->inputs[0];
  assert_ptr_equal(x, val(g, "x"));
  assert_non_null(x->init);
  assert_int_equal(g->initializers.n, 1);
  assert_ptr_equal(g->initializers.v[0], x);
  bytes_are(x->init, "0000803f00000040");
  assert_string_equal(x->init->name, "x");
  assert_null(g->outputs[0]->type);
  assert_ptr_equal(g->outputs[1], x);
  assert_int_equal(g->value_infos.n, 0);
  ir_model_free(m);
  m = ok("g => (float y) { y = Constant <value_float = 1.0> () }");
  assert_int_equal(m->graph->n_inputs, 0);
  assert_int_equal(m->graph->n_outputs, 1);
  ir_model_free(m);
  /* an input also listed as an initializer in <...> (IR < 4 style) is one value */
  m = ok("g (float[1] w) => (float[1] w) <float[1] w = {3}> {}");
  g = m->graph;
  assert_int_equal(g->initializers.n, 1);
  assert_ptr_equal(g->initializers.v[0], g->inputs[0]);
  bytes_are(g->inputs[0]->init, "00004040");
  ir_model_free(m);
}

static void test_forward_references(void **state) {
  (void)state;
  /* a use before the definition binds to the same value once it is defined */
  Model *m = ok("g (float x) => (float y) {\n  y = Relu (t)\n  t = Abs (x)\n  u = Neg (never)\n}\n");
  Graph *g = m->graph;
  Value *t = val(g, "t");
  assert_ptr_equal(node(g, 0)->inputs[0], t);
  assert_ptr_equal(t->producer, node(g, 1));
  assert_false(t->undefined);
  assert_int_equal(t->loc.line, 3);
  assert_int_equal(t->uses->node, node(g, 0));
  Value *nv = val(g, "never"); /* left for the verifier, with the use's location */
  assert_true(nv->undefined);
  assert_int_equal(nv->loc.line, 4);
  assert_int_equal(nv->loc.col, 12);
  ir_model_free(m);
}

static void test_duplicate_definitions(void **state) {
  (void)state;
  fails("g (float x) => (float y) {\n  y = Relu (x)\n  y = Abs (x)\n}\n", "3:3: error: 'y' is already defined");
  assert_non_null(strstr(last_msgs, "t.onnxtxt:2:3: note: 'y' was defined here"));
  fails("g (float x, float x) => () {}", "1:19: error: 'x' is already defined");
  fails("g (float x) => () <float[1] w = {1}, float[1] w = {2}> {}", "1:47: error: 'w' has two initializers");
}

static void test_value_info_conflicts(void **state) {
  (void)state;
  Model *m = ok("g (float[2] x) => (float[2] x) <float[2] x> {}");
  assert_true(m->graph->inputs[0]->has_value_info);
  ir_model_free(m);
  fails("g (float[2] x) => () <float[3] x> {}", "1:23: error: 'x' is declared here with a different type");
  fails("g () => () <float[3] x, float[3] x> {}", "1:34: error: 'x' has two value_info entries");
}

/* ------------------------------------------------------------------ attributes */

static void test_attribute_inference(void **state) {
  (void)state;
  Model *m = ok("g () => () {\n"
                "  y = Op <i = 3, f = 0.5, s = \"str\", is = [1, 2], fs = [0.5, 1], ss = [\"a\", \"b\"],\n"
                "          ei: ints = [], ef: floats = [], es: strings = [], fi: floats = [1, 2],\n"
                "          tp = float[3], tp2 = seq(int64[N]), t = float[2] {1, 2},\n"
                "          tn = float[2] named {3, 4}, te = float[2] = {5, 6}, tt: tensor = int32 w = {7},\n"
                "          tnodata = float[2] name, tps = [float, int64[2]],\n"
                "          ts: tensors = [float[1] {1}, int64[1] {2}], sing: int = [4, 5]> ()\n"
                "}\n");
  Node *n = node(m->graph, 0);
  assert_int_equal(n->n_attrs, 20);
  assert_int_equal(attr(n, "i")->type, ATTR_INT);
  assert_int_equal(attr(n, "i")->i, 3);
  assert_int_equal(attr(n, "f")->type, ATTR_FLOAT);
  assert_int_equal(attr(n, "s")->type, ATTR_STRING);
  assert_int_equal(attr(n, "s")->s.len, 3);
  assert_memory_equal(attr(n, "s")->s.s, "str", 3);
  assert_int_equal(attr(n, "is")->type, ATTR_INTS);
  assert_int_equal(attr(n, "is")->ints[1], 2);
  Attr *fs = attr(n, "fs");
  assert_int_equal(fs->type, ATTR_FLOATS);
  assert_int_equal(fs->n, 2);
  assert_true(fs->floats[0] == 0.5f && fs->floats[1] == 1.0f);
  assert_int_equal(attr(n, "ss")->type, ATTR_STRINGS);
  assert_memory_equal(attr(n, "ss")->strings[1].s, "b", 1);
  assert_int_equal(attr(n, "ei")->type, ATTR_INTS);
  assert_int_equal(attr(n, "ei")->n, 0);
  assert_int_equal(attr(n, "ef")->type, ATTR_FLOATS);
  assert_int_equal(attr(n, "es")->type, ATTR_STRINGS);
  assert_int_equal(attr(n, "fi")->type, ATTR_FLOATS);
  assert_true(attr(n, "fi")->floats[1] == 2.0f);
  Attr *tp = attr(n, "tp");
  assert_int_equal(tp->type, ATTR_TYPE_PROTO);
  dims_are(tp->tp, 1, NUM(3));
  Attr *tp2 = attr(n, "tp2");
  assert_int_equal(tp2->type, ATTR_TYPE_PROTO);
  assert_int_equal(tp2->tp->kind, TYPE_SEQUENCE);
  dims_are(tp2->tp->inner, 1, SYM("N"));
  Attr *t = attr(n, "t");
  assert_int_equal(t->type, ATTR_TENSOR);
  assert_null(t->t->name);
  bytes_are(t->t, "0000803f00000040");
  assert_string_equal(attr(n, "tn")->t->name, "named");
  bytes_are(attr(n, "tn")->t, "0000404000008040");
  assert_null(attr(n, "te")->t->name);
  bytes_are(attr(n, "te")->t, "0000a0400000c040");
  assert_string_equal(attr(n, "tt")->t->name, "w");
  assert_int_equal(attr(n, "tt")->t->rank, 0);
  bytes_are(attr(n, "tt")->t, "07000000");
  Attr *nd = attr(n, "tnodata");
  assert_int_equal(nd->type, ATTR_TENSOR);
  assert_false(nd->t->has_data);
  assert_string_equal(nd->t->name, "name");
  Attr *tps = attr(n, "tps");
  assert_int_equal(tps->type, ATTR_TYPE_PROTOS);
  assert_int_equal(tps->n, 2);
  assert_int_equal(tps->types[0]->rank, 0);
  assert_int_equal(tps->types[1]->elem, ELEM_INT64);
  Attr *ts = attr(n, "ts");
  assert_int_equal(ts->type, ATTR_TENSORS);
  assert_int_equal(ts->n, 2);
  bytes_are(ts->tensors[1], "0200000000000000");
  /* as parser.cc does, a singular annotation with a list value gives the list type */
  assert_int_equal(attr(n, "sing")->type, ATTR_INTS);
  assert_int_equal(attr(n, "sing")->n, 2);
  /* attribute order is kept */
  assert_string_equal(n->attrs[0].name, "i");
  assert_string_equal(n->attrs[19].name, "sing");
  ir_model_free(m);
}

static void test_graph_attributes(void **state) {
  (void)state;
  Model *m = ok("g (float x) => (float y) {\n"
                "  y = Loop (x) <body: graph = b (int64 i, bool c, float v) => (bool c2, float v2) {\n"
                "      c2 = Identity (c)\n"
                "      v2 = Add (v, x)\n"
                "  }, branches: graphs = [g1 () => (float o) { o = Identity (x) }, g2 () => (float o) { o = Neg (x) }]>\n"
                "}\n");
  Graph *g = m->graph;
  Node *n = node(g, 0);
  Graph *body = attr(n, "body")->g;
  assert_string_equal(body->name, "b");
  assert_int_equal(body->n_inputs, 3);
  assert_ptr_equal(node(body, 1)->inputs[1], g->inputs[0]); /* outer scope */
  assert_ptr_equal(body->parent_node, n);
  Attr *gs = attr(n, "branches");
  assert_int_equal(gs->type, ATTR_GRAPHS);
  assert_int_equal(gs->n, 2);
  assert_string_equal(gs->graphs[1]->name, "g2");
  assert_ptr_equal(gs->graphs[1]->parent_node, n);
  assert_ptr_equal(gs->graphs[0]->parent, g);
  /* the same name "o" in two sibling subgraphs: two values */
  assert_ptr_not_equal(gs->graphs[0]->outputs[0], gs->graphs[1]->outputs[0]);
  ir_model_free(m);
}

static void test_attribute_errors(void **state) {
  (void)state;
  fails("g () => () {\n  y = Op <a = []> ()\n}", "2:15: error: an empty list needs a type annotation, e.g. 'a: ints = []'");
  fails("g () => () {\n  y = Op <a: int = []> ()\n}", "2:20: error: 'int' is not a list type");
  fails("g () => () {\n  y = Op <a = [1, 0.5]> ()\n}", "2:19: error: list elements must all be ints, but this one is a float");
  fails("g () => () {\n  y = Op <a = [\"s\", 1]> ()\n}", "2:21: error: list elements must all be strings, but this one is an integer");
  fails("g () => () {\n  y = Op <a = @x> ()\n}", "2:15: error: a reference '@x' needs the attribute's type");
  fails("g () => () {\n  y = Op <a: ints = 5> ()\n}",
        "2:21: error: attribute 'a' is declared 'ints' but its value is an integer (write a list: [...])");
  fails("g () => () {\n  y = Op <a: int = 0.5> ()\n}", "2:20: error: attribute 'a' is declared 'int' but its value is a float");
  fails("g () => () {\n  y = Op <a: foo = 1> ()\n}", "2:14: error: unknown attribute type 'foo'");
  fails("g () => () {\n  y = Op <a = 1, b = 2, a = 3> ()\n}", "2:25: error: duplicate attribute 'a'");
  assert_non_null(strstr(last_msgs, "t.onnxtxt:2:11: note: 'a' is first given here"));
  fails("g () => () {\n  y = Op <a = [@x]> ()\n}", "2:16: error: an attribute reference cannot be a list element");
  /* many attributes (the hashed duplicate check): a20 repeats a3 */
  char src[1024], *p = src;
  p += sprintf(p, "g () => () { y = Op <");
  for (int i = 0; i < 20; i++) p += sprintf(p, "%sa%d = %d", i ? ", " : "", i, i);
  sprintf(p, ", a3 = 9> () }");
  int col = (int)(strstr(src, ", a3 = 9") - src) + 3;
  char want[128];
  snprintf(want, sizeof want, "1:%d: error: duplicate attribute 'a3'", col);
  fails(src, want);
  snprintf(want, sizeof want, "t.onnxtxt:1:%d: note: 'a3' is first given here", (int)(strstr(src, "a3 = 3") - src) + 1);
  assert_non_null(strstr(last_msgs, want));
  fails("g () => () {\n  y = Op <> ()\n}", "2:11: error: expected identifier but found '>'");
}

/* ------------------------------------------------------------------ types */

static void test_types(void **state) {
  (void)state;
  Model *m = ok("g (float s, float[] u, float[N, ?, 3, \"batch size\"] d, seq(float[N]) q,\n"
                "   map(int64, seq(float)) mp, optional(seq(float)) o, sparse_tensor(float[2, 3]) sp,\n"
                "   opaque() o0, opaque(thing) o1, opaque(com.example, thing) o2, opaque(\"d-x\", \"n y\") o3,\n"
                "   bfloat16[2] b, float8e4m3fn f8, float8e8m0 e8, int4 i4, uint2 u2, float4e2m1 f4,\n"
                "   complex128 c, sparse_tensor(int8) sp0) => () {}");
  Graph *g = m->graph;
  Type *t = val(g, "s")->type;
  assert_int_equal(t->kind, TYPE_TENSOR);
  assert_int_equal(t->rank, 0);
  assert_int_equal(val(g, "u")->type->rank, -1);
  t = val(g, "d")->type;
  assert_int_equal(t->rank, 4);
  assert_string_equal(t->dims[0].param, "N");
  assert_null(t->dims[1].param);
  assert_int_equal(t->dims[1].value, -1);
  assert_int_equal(t->dims[2].value, 3);
  assert_string_equal(t->dims[3].param, "batch size");
  t = val(g, "q")->type;
  assert_int_equal(t->kind, TYPE_SEQUENCE);
  dims_are(t->inner, 1, SYM("N"));
  t = val(g, "mp")->type;
  assert_int_equal(t->kind, TYPE_MAP);
  assert_int_equal(t->elem, ELEM_INT64);
  assert_int_equal(t->inner->kind, TYPE_SEQUENCE);
  assert_int_equal(t->inner->inner->elem, ELEM_FLOAT);
  t = val(g, "o")->type;
  assert_int_equal(t->kind, TYPE_OPTIONAL);
  assert_int_equal(t->inner->kind, TYPE_SEQUENCE);
  t = val(g, "sp")->type;
  assert_int_equal(t->kind, TYPE_SPARSE);
  assert_int_equal(t->elem, ELEM_FLOAT);
  assert_int_equal(t->rank, 2);
  assert_int_equal(t->dims[1].value, 3);
  assert_int_equal(val(g, "sp0")->type->rank, 0);
  t = val(g, "o0")->type;
  assert_int_equal(t->kind, TYPE_OPAQUE);
  assert_null(t->opaque_domain);
  assert_null(t->opaque_name);
  assert_null(val(g, "o1")->type->opaque_domain);
  assert_string_equal(val(g, "o1")->type->opaque_name, "thing");
  assert_string_equal(val(g, "o2")->type->opaque_domain, "com.example");
  assert_string_equal(val(g, "o2")->type->opaque_name, "thing");
  assert_string_equal(val(g, "o3")->type->opaque_domain, "d-x");
  assert_string_equal(val(g, "o3")->type->opaque_name, "n y");
  assert_int_equal(val(g, "b")->type->elem, ELEM_BFLOAT16);
  assert_int_equal(val(g, "f8")->type->elem, ELEM_FLOAT8E4M3FN);
  assert_int_equal(val(g, "e8")->type->elem, ELEM_FLOAT8E8M0);
  assert_int_equal(val(g, "i4")->type->elem, ELEM_INT4);
  assert_int_equal(val(g, "u2")->type->elem, ELEM_UINT2);
  assert_int_equal(val(g, "f4")->type->elem, ELEM_FLOAT4E2M1);
  assert_int_equal(val(g, "c")->type->elem, ELEM_COMPLEX128);
  ir_model_free(m);
  fails("g (map(seq(float), float) m) => () {}", "1:8: error: expected type name but found 'seq'");
  fails("g (float[-1] x) => () {}", "1:10: error: dimension -1 is negative");
  fails("g (float[99999999999999999999] x) => () {}", "1:10: error: dimension '99999999999999999999' is out of range");
  fails("g (float) => () {}", "1:9: error: expected");
}

/* ------------------------------------------------------------------ tensor data */

static void test_data_every_type(void **state) {
  (void)state;
  init_bytes("float[3] t = {1, -2.5, 0}", "0000803f000020c000000000");
  init_bytes("double[2] t = {1, -0.5}", "000000000000f03f000000000000e0bf");
  init_bytes("int8[3] t = {-128, 127, -1}", "807fff");
  init_bytes("uint8[2] t = {0, 255}", "00ff");
  init_bytes("int16[2] t = {-32768, 258}", "00800201");
  init_bytes("uint16[1] t = {65535}", "ffff");
  init_bytes("int32[2] t = {-2147483648, 16909060}", "0000008004030201");
  init_bytes("int64[2] t = {-9223372036854775808, 1}", "00000000000000800100000000000000");
  init_bytes("uint32[1] t = {4294967295}", "ffffffff");
  init_bytes("uint64[2] t = {18446744073709551615, 256}", "ffffffffffffffff0001000000000000");
  init_bytes("bool[3] t = {1, 0, 1}", "010001");
  /* float16 and bfloat16 are written as bit patterns: 1.0 = 0x3c00, -2 = 0xc000; bf16 1.0 = 0x3f80 */
  init_bytes("float16[2] t = {15360, 49152}", "003c00c0");
  init_bytes("bfloat16[1] t = {16256}", "803f");
  init_bytes("float8e4m3fn[2] t = {56, 255}", "38ff");
  init_bytes("float8e4m3fnuz[1] t = {128}", "80");
  init_bytes("float8e5m2[1] t = {60}", "3c");
  init_bytes("float8e5m2fnuz[1] t = {64}", "40");
  init_bytes("float8e8m0[1] t = {127}", "7f");
  /* sub-byte: one value per element, packed low bits first */
  init_bytes("int4[5] t = {-8, 7, 0, -1, 3}", "78f003");
  init_bytes("uint4[3] t = {1, 15, 2}", "f102");
  init_bytes("float4e2m1[2] t = {2, 15}", "f2");
  init_bytes("int2[5] t = {-2, 1, 0, -1, 1}", "c601");
  init_bytes("uint2[4] t = {0, 1, 2, 3}", "e4");
  /* complex as (real, imaginary) pairs */
  init_bytes("complex64[2] t = {1, 2, 3, 4}", "0000803f000000400000404000008040");
  init_bytes("complex128[1] t = {1.5, -2}", "000000000000f83f00000000000000c0");
  /* special float values */
  init_bytes("float[5] t = {nan, -inf, Infinity, INF, -NaN}", "0000c07f000080ff0000807f0000807f0000c0ff");
  /* scalars, empty tensors */
  init_bytes("int64 t = {5}", "0500000000000000");
  init_bytes("float[0] t = {}", "");
  init_bytes("float[2, 0] t = {}", "");
  /* strings */
  Model *m = init_model("string[3] t = {\"a\", \"b\\\"c\", \"\"}");
  Tensor *t = the_init(m);
  assert_int_equal(t->nbytes, 3 * sizeof(IrStr));
  const IrStr *s = t->data;
  assert_int_equal(s[0].len, 1);
  assert_memory_equal(s[0].s, "a", 1);
  assert_int_equal(s[1].len, 3);
  assert_memory_equal(s[1].s, "b\"c", 3);
  assert_int_equal(s[2].len, 0);
  ir_model_free(m);
}

static void test_data_errors(void **state) {
  (void)state;
  init_fails("uint8[2] t = {1, 300}", "1:30: error: value 300 is out of range for uint8 (0 to 255)");
  init_fails("int8[1] t = {-129}", "1:26: error: value -129 is out of range for int8 (-128 to 127)");
  init_fails("uint4[1] t = {16}", "1:27: error: value 16 is out of range for uint4 (0 to 15)");
  init_fails("int4[1] t = {-9}", "1:26: error: value -9 is out of range for int4 (-8 to 7)");
  init_fails("int2[1] t = {2}", "1:26: error: value 2 is out of range for int2 (-2 to 1)");
  init_fails("bool[1] t = {2}", "1:26: error: value 2 is out of range for bool (0 to 1)");
  init_fails("float16[1] t = {65536}", "1:29: error: value 65536 is out of range for float16 (0 to 65535, a bit pattern)");
  init_fails("float16[1] t = {1.5}", "1:29: error: float16 data are integers (the bit patterns of the values)");
  init_fails("int32[1] t = {2147483648}", "1:27: error: value 2147483648 is out of range for int32");
  init_fails("int64[1] t = {9223372036854775808}", "1:27: error: value 9223372036854775808 is out of range for int64");
  init_fails("uint32[1] t = {4294967296}", "1:28: error: value 4294967296 is out of range for uint32");
  init_fails("uint64[1] t = {18446744073709551616}", "1:28: error: value 18446744073709551616 is out of range for uint64");
  init_fails("uint64[1] t = {-1}", "1:28: error: value -1 is out of range for uint64");
  init_fails("float[1] t = {1e39}", "1:27: error: value 1e39 is out of range for float");
  init_fails("double[1] t = {1e309}", "1:28: error: value 1e309 is out of range for double");
  init_fails("float[1] t = {\"x\"}", "1:27: error: float data are numbers, not strings");
  init_fails("string[1] t = {1}", "1:28: error: string data are written in quotes");
  init_fails("int32[1] t = {1.5}", "1:27: error: int32 data are integers");
  /* element counts */
  init_fails("float[2, 2] t = {1, 2, 3}", "1:37: error: too few values: float[2,2] needs 4 values, found 3");
  init_fails("float[2] t = {1, 2, 3}", "1:33: error: too many values: float[2] holds 2 values");
  init_fails("float t = {1, 2}", "1:27: error: too many values: float holds 1 values");
  init_fails("complex64[1] t = {1}", "1:32: error: too few values: complex64[1] needs 2 numbers");
  init_fails("float[1] t = {1,}", "1:29: error: expected integer, number, 'inf'/'nan' or string but found '}'");
  /* types that cannot hold data */
  init_fails("int32[N] t = {1}", "1:19: error: tensor data needs numeric dimensions, but dimension 0 is 'N'");
  init_fails("int32[2, ?] t = {1}", "1:22: error: tensor data needs numeric dimensions, but dimension 1 is '?'");
  init_fails("float[] t = {1}", "1:13: error: tensor data needs a shape, but 'float[]' has an unknown rank");
  init_fails("seq(float) t = {1}", "1:13: error: tensor data needs a tensor type, not a sequence type");
  init_fails("t = {1}", "1:13: error: tensor data needs a tensor type");
  init_fails("float[1] t = ", "1:26: error: expected '[' or '{' but found '>'");
  /* several semantic errors are each reported */
  Model *m = init_model("uint8[2] a = {1, 300}, int8[1] b = {200}");
  assert_null(m);
  assert_non_null(strstr(last_msgs, "1:30: error: value 300"));
  assert_non_null(strstr(last_msgs, "1:49: error: value 200"));
}

static void test_external_data(void **state) {
  (void)state;
  Model *m = init_model("float[4] w = [\"location\": \"w.bin\", \"offset\": \"16\", \"length\": \"16\"]");
  Tensor *t = the_init(m);
  assert_false(t->has_data);
  assert_int_equal(t->n_external, 3);
  assert_string_equal(t->external[0].key, "location");
  assert_string_equal(t->external[0].value, "w.bin");
  assert_string_equal(ir_tensor_external(t, "offset"), "16");
  assert_string_equal(ir_tensor_external(t, "length"), "16");
  ir_model_free(m);
  init_fails("float[4] w = [\"offset\": 16]", "1:37: error: external data values are strings: write \"16\"");
  init_fails("float[4] w = []", "1:27: error: expected string but found ']'");
  /* in an attribute */
  m = ok("g () => () { y = Constant <value = float[2] w [\"location\": \"x\"]> () }");
  Tensor *at = attr(node(m->graph, 0), "value")->t;
  assert_string_equal(at->name, "w");
  assert_int_equal(at->n_external, 1);
  ir_model_free(m);
}

/* ------------------------------------------------------------------ headers and functions */

static void test_model_header(void **state) {
  (void)state;
  Model *m = ok("<ir_version: 10, opset_import: [\"\": 21, \"com.microsoft\": 1], producer_name: \"p\",\n"
                " producer_version: \"1.2\", domain: \"org.example\", model_version: 7,\n"
                " doc_string: \"multi\nline \\\"doc\\\"\", metadata_props: [\"k1\": \"v1\", \"k2\": \"\"]>\n"
                "g () => () {}");
  assert_int_equal(m->ir_version, 10);
  assert_int_equal(m->n_opsets, 2);
  assert_string_equal(m->opsets[1].domain, "com.microsoft");
  assert_string_equal(m->producer_name, "p");
  assert_string_equal(m->producer_version, "1.2");
  assert_string_equal(m->domain, "org.example");
  assert_true(m->has_model_version);
  assert_int_equal(m->model_version, 7);
  assert_string_equal(m->doc_string, "multi\nline \"doc\"");
  assert_int_equal(m->n_metadata_props, 2);
  assert_string_equal(m->metadata_props[0].key, "k1");
  assert_string_equal(m->metadata_props[1].value, "");
  ir_model_free(m);
  m = ok("<opset_import: [], metadata_props: []> g () => () {}");
  assert_int_equal(m->n_opsets, 0);
  assert_false(m->has_ir_version);
  ir_model_free(m);
  fails("<ir_version: 8, color: \"red\">\ng () => () {}", "1:17: error: unknown model header key 'color'");
  fails("<ir_version: 8, ir_version: 9>\ng () => () {}", "1:17: error: 'ir_version' is given twice in the model header");
  fails("<ir_version: \"8\">\ng () => () {}", "1:14: error: 'ir_version' takes an integer, not a string");
  fails("<opset_import: [\"\": \"13\"]>\ng () => () {}", "1:21: error: an opset version is an integer, not a string");
  fails("<opset_import: [\"\": 13, \"\": 14]>\ng () => () {}", "1:25: error: domain \"\" is imported twice");
  fails("<>\ng () => () {}", "1:2: error: expected identifier but found '>'");
  fails("", "1:1: error: expected identifier, string or '<' but found end of input");
}

static void test_functions(void **state) {
  (void)state;
  Model *m = ok("g (float x) => (float y) { y = d.f <alpha = 1.0> (x) }\n"
                "<domain: \"d\", opset_import: [\"\": 18], doc_string: \"doc\", overload: \"ov\">\n"
                "f <alpha: float = 1.0, beta, gamma = 2, \"q p\", ts: ints = [1]> (float[N] a, b) => (c, float d)\n"
                "<float[N] t, u>\n"
                "{\n  t = Mul (a, b)\n  c = Add (t, a)\n  d = Neg (a)\n  u = Abs (a)\n}\n"
                "f2 (x) => (y) { y = Identity (x) }\n");
  assert_int_equal(m->n_functions, 2);
  Function *f = m->functions[0];
  assert_string_equal(f->domain, "d");
  assert_string_equal(f->overload, "ov");
  assert_string_equal(f->doc_string, "doc");
  assert_int_equal(f->n_opsets, 1);
  assert_int_equal(f->opsets[0].version, 18);
  assert_int_equal(f->n_attr_names, 2);
  assert_string_equal(f->attr_names[0], "beta");
  assert_string_equal(f->attr_names[1], "q p");
  assert_int_equal(f->n_attr_defaults, 3);
  assert_string_equal(f->attr_defaults[0].name, "alpha");
  assert_int_equal(f->attr_defaults[0].type, ATTR_FLOAT);
  assert_string_equal(f->attr_defaults[1].name, "gamma");
  assert_int_equal(f->attr_defaults[1].type, ATTR_INT);
  assert_int_equal(f->attr_defaults[1].i, 2);
  assert_int_equal(f->attr_defaults[2].type, ATTR_INTS);
  assert_int_equal(f->n_attr_order, 5);
  int order[] = {~0, 0, ~1, 1, ~2};
  for (int i = 0; i < 5; i++) assert_int_equal(f->attr_order[i], order[i]);
  Graph *b = f->body;
  dims_are(b->inputs[0]->type, 1, SYM("N"));
  assert_null(b->inputs[1]->type);
  assert_null(b->outputs[0]->type);
  assert_int_equal(b->outputs[1]->type->rank, 0);
  assert_int_equal(b->value_infos.n, 2);
  assert_string_equal(b->value_infos.v[0]->name, "t");
  assert_true(b->value_infos.v[0]->has_value_info);
  assert_null(b->value_infos.v[1]->type);
  Function *f2 = m->functions[1];
  assert_string_equal(f2->domain, "");
  assert_int_equal(f2->n_opsets, 0);
  assert_null(f2->doc_string);
  assert_int_equal(f2->n_attr_order, 0);
  ir_model_free(m);
  fails("g () => () {}\n<domain: \"d\", ir_version: 8>\nf (x) => (y) {}",
        "2:15: error: unknown function header key 'ir_version' (expected domain, opset_import, doc_string or overload)");
  fails("g () => () {}\nf <a, a> (x) => (y) {}", "2:7: error: duplicate attribute parameter 'a'");
  fails("g () => () {}\nf (x) => (y) {}\nf (x) => (y) {}", "3:1: error: function 'f' is defined twice");
  char many[2048], *p = many;
  p += sprintf(many, "g () => () {}\n");
  for (int i = 0; i < 20; i++) p += sprintf(p, "<domain: \"d\"> f%d (x) => (y) {}\n", i);
  sprintf(p, "<domain: \"d\"> f1 (x) => (y) {}\n<domain: \"e\"> f1 (x) => (y) {}\n<overload: \"o\", domain: \"d\"> f1 (x) => (y) {}\n");
  fails(many, "22:15: error: function 'd.f1' is defined twice");
  assert_non_null(strstr(last_msgs, "t.onnxtxt:3:15: note: the first definition is here"));
  assert_null(strstr(last_msgs, "23:15"));
  assert_null(strstr(last_msgs, "24:"));
  fails("g () => () {}\nf <> (x) => (y) {}", "2:4: error: expected identifier or string but found '>'");
}

/* ------------------------------------------------------------------ syntax errors */

static void test_syntax_error_messages(void **state) {
  (void)state;
  fails("g (float x) => (float y) {\n  y = Relu(x\n}\n", "3:1: error: expected ',' or ')' but found '}'");
  fails("g (float x) => (float y) {\n  y = Relu(x)\n", "3:1: error: expected identifier, string, '<', ',', '[', '}' or '=' but found end of input");
  fails("g (float x) => (float y) {\n  y Relu(x)\n}", "2:5: error: expected ',' or '=' but found 'Relu'");
  fails("g (float x) => (float y) {\n  y = (x)\n}", "2:7: error: expected identifier but found '('");
  fails("g (float x) => (float y) {\n  y = Relu.(x)\n}", "2:12: error: expected identifier but found '('");
  fails("g (float x y) => () {}", "1:12: error: expected ',', ')' or '=' but found 'y'");
  fails("g () => () {} junk", "1:19: error: expected");
}

static void test_deep_nesting_is_an_error(void **state) {
  (void)state;
  /* types nested far beyond the parser's stack limit: an error, not a stack overflow */
  size_t depth = 100000;
  char *src = malloc(depth * 5 + 64), *p = src;
  p += sprintf(p, "g (");
  for (size_t i = 0; i < depth; i++) p += sprintf(p, "seq(");
  p += sprintf(p, "float");
  for (size_t i = 0; i < depth; i++) *p++ = ')';
  p += sprintf(p, " x) => () {}");
  fails(src, "");
  assert_non_null(strstr(last_msgs, "error: nesting too deep"));
  /* subgraphs nested deeply */
  depth = 20000;
  src = realloc(src, depth * 64 + 64);
  p = src;
  p += sprintf(p, "g () => () {\n");
  for (size_t i = 0; i < depth; i++) p += sprintf(p, "y = If (c) <b = s () => () {\n");
  for (size_t i = 0; i < depth; i++) p += sprintf(p, "}>\n");
  p += sprintf(p, "}\n");
  fails(src, "");
  assert_non_null(strstr(last_msgs, "error: nesting too deep"));
  /* a modest depth is fine */
  p = src;
  p += sprintf(p, "g (");
  for (size_t i = 0; i < 200; i++) p += sprintf(p, "seq(");
  p += sprintf(p, "float");
  for (size_t i = 0; i < 200; i++) *p++ = ')';
  p += sprintf(p, " x) => () {}");
  Model *m = ok(src);
  Type *t = m->graph->inputs[0]->type;
  for (int i = 0; i < 200; i++) {
    assert_int_equal(t->kind, TYPE_SEQUENCE);
    t = t->inner;
  }
  assert_int_equal(t->kind, TYPE_TENSOR);
  ir_model_free(m);
  free(src);
}

static void test_large_chain(void **state) {
  (void)state;
  /* left-recursive lists: a long node list parses without deepening the parser stack */
  size_t n = 200000;
  char *src = malloc(n * 40 + 128), *p = src;
  p += sprintf(p, "chain (float[4] x0) => (float[4] x%zu) {\n", n);
  for (size_t i = 0; i < n; i++) p += sprintf(p, "  x%zu = Relu (x%zu)\n", i + 1, i);
  p += sprintf(p, "}\n");
  Model *m = ok(src);
  Graph *g = m->graph;
  assert_int_equal(g->nodes.n, n);
  assert_ptr_equal(g->outputs[0]->producer, node(g, n - 1));
  assert_ptr_equal(node(g, n - 1)->inputs[0], node(g, n - 2)->outputs[0]);
  assert_int_equal(node(g, n - 1)->loc.line, (int)n + 1);
  ir_model_free(m);
  free(src);
}

static int teardown(void **state) {
  (void)state;
  free(last_msgs);
  last_msgs = NULL;
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ex1_mlp),
      cmocka_unit_test(test_ex2_conv_attrs),
      cmocka_unit_test(test_ex3_if_func),
      cmocka_unit_test(test_ex3b_attr_default),
      cmocka_unit_test(test_ex4_qdq),
      cmocka_unit_test(test_comments_quoted_ids),
      cmocka_unit_test(test_keywords_are_names),
      cmocka_unit_test(test_numbers),
      cmocka_unit_test(test_number_errors),
      cmocka_unit_test(test_arrow_adjacent),
      cmocka_unit_test(test_crlf_and_strings_spanning_lines),
      cmocka_unit_test(test_nul_and_bad_chars),
      cmocka_unit_test(test_labels_domains_overloads),
      cmocka_unit_test(test_missing_inputs_outputs),
      cmocka_unit_test(test_attrs_before_or_after),
      cmocka_unit_test(test_graph_io_and_blocks),
      cmocka_unit_test(test_forward_references),
      cmocka_unit_test(test_duplicate_definitions),
      cmocka_unit_test(test_value_info_conflicts),
      cmocka_unit_test(test_attribute_inference),
      cmocka_unit_test(test_graph_attributes),
      cmocka_unit_test(test_attribute_errors),
      cmocka_unit_test(test_types),
      cmocka_unit_test(test_data_every_type),
      cmocka_unit_test(test_data_errors),
      cmocka_unit_test(test_external_data),
      cmocka_unit_test(test_model_header),
      cmocka_unit_test(test_functions),
      cmocka_unit_test(test_syntax_error_messages),
      cmocka_unit_test(test_deep_nesting_is_an_error),
      cmocka_unit_test(test_large_chain),
  };
  int rc = cmocka_run_group_tests_name("parser", tests, NULL, teardown);
  free(last_msgs);
  return rc;
}
