/* test_infer.c - shape and type inference: conv/pool arithmetic worked by hand, symbolic
 * dims through broadcasting and matmul, constant-driven shapes, contradictions, MACs. */
#include "testutil.h"

/* Parse ONNX text (verified) into a model. */
static Model *parse(const char *txt) {
  size_t n = strlen(txt);
  char *buf = calloc(n + 2, 1);
  memcpy(buf, txt, n);
  Cap c;
  cap_init(&c);
  Model *m = fe_parse("t", buf, n, &c.d);
  if (!m || ir_verify(m, &c.d)) fprintf(stderr, "%s", cap_text(&c));
  assert_non_null(m);
  cap_free(&c);
  free(buf);
  return m;
}

/* Infer and return the type of value `name` of the main graph as text. */
static char typebuf[256];
static const char *infer_type(Model *m, const char *name) {
  Cap c;
  cap_init(&c);
  int rc = ir_infer_model(m, &c.d);
  if (rc) fprintf(stderr, "%s", cap_text(&c));
  assert_int_equal(rc, 0);
  cap_free(&c);
  Value *v = ir_graph_lookup(m->graph, name);
  assert_non_null(v);
  ir_type_to_str(v->type, typebuf, sizeof typebuf);
  return typebuf;
}

/* MACs the rule of value `name`'s producer reports. */
static uint64_t macs_of(Model *m, const char *name) {
  Value *v = ir_graph_lookup(m->graph, name);
  Node *n = v->producer;
  const Type *in[8] = {0};
  const Tensor *data[8] = {0};
  Type *out[8] = {0};
  for (int i = 0; i < n->n_inputs; i++) in[i] = n->inputs[i] ? n->inputs[i]->type : NULL;
  Cap c;
  cap_init(&c);
  InferCtx ctx = {n, n->op, in, data, out, &m->arena, &c.d, 0};
  assert_int_equal(n->op->infer(&ctx), 0);
  cap_free(&c);
  return ctx.macs;
}

#define HEAD "<ir_version: 8, opset_import: [\"\" : 17]>\n"

static void test_conv_shapes(void **s) {
  (void)s;
  /* (32 + 2 + 2 - 5) / 2 + 1 = 16; MACs 1*8*16*16 * 3*5*5 = 153600 */
  Model *m = parse(HEAD "g (float[1,3,32,32] x, float[8,3,5,5] w) => (float[1,8,16,16] y) {\n"
                        "  y = Conv <strides = [2,2], pads = [2,2,2,2]> (x, w)\n}\n");
  assert_string_equal(infer_type(m, "y"), "float[1,8,16,16]");
  assert_int_equal(macs_of(m, "y"), 153600);
  ir_model_free(m);
  /* dilation 2, kernel 3: effective 5; (10 - 5) / 1 + 1 = 6; group 2: W has C/2 channels */
  m = parse(HEAD "g (float[2,4,10,10] x, float[6,2,3,3] w) => (y) {\n"
                 "  y = Conv <dilations = [2,2], group = 2> (x, w)\n}\n");
  assert_string_equal(infer_type(m, "y"), "float[2,6,6,6]");
  assert_int_equal(macs_of(m, "y"), 2ull * 6 * 6 * 6 * 2 * 9);
  ir_model_free(m);
  /* SAME_UPPER, stride 2: ceil(7 / 2) = 4; symbolic batch carried */
  m = parse(HEAD "g (float[N,1,7,7] x, float[1,1,3,3] w) => (y) {\n"
                 "  y = Conv <auto_pad = \"SAME_UPPER\", strides = [2,2]> (x, w)\n}\n");
  assert_string_equal(infer_type(m, "y"), "float[N,1,4,4]");
  ir_model_free(m);
}

static void test_conv_transpose_and_pools(void **s) {
  (void)s;
  /* 2 * (3 - 1) + 0 + 3 - 0 - 0 = 7; output channels W[1] * group = 2 */
  Model *m = parse(HEAD "g (float[1,1,3,3] x, float[1,2,3,3] w) => (y) {\n"
                        "  y = ConvTranspose <strides = [2,2]> (x, w)\n}\n");
  assert_string_equal(infer_type(m, "y"), "float[1,2,7,7]");
  assert_int_equal(macs_of(m, "y"), 9ull * 2 * 9);
  ir_model_free(m);
  /* floor((32 - 3) / 2) + 1 = 15; ceil mode: 16 */
  m = parse(HEAD
            "g (float[1,1,32,32] x) => (y, z) {\n"
            "  y = MaxPool <kernel_shape = [3,3], strides = [2,2]> (x)\n"
            "  z = AveragePool <kernel_shape = [3,3], strides = [2,2], ceil_mode = 1> (x)\n}\n");
  assert_string_equal(infer_type(m, "y"), "float[1,1,15,15]");
  assert_string_equal(infer_type(m, "z"), "float[1,1,16,16]");
  ir_model_free(m);
  m = parse(HEAD "g (float[B,5,7,9] x) => (y) {\n  y = GlobalAveragePool (x)\n}\n");
  assert_string_equal(infer_type(m, "y"), "float[B,5,1,1]");
  ir_model_free(m);
}

static void test_symbolic_broadcast(void **s) {
  (void)s;
  Model *m = parse(HEAD "g (float[N,1] a, float[1,4] b, float[N,3] c, float[3] d, float[B,4,5] e,"
                        " float[5,6] f) => (x, y, z, w) {\n"
                        "  x = Add (a, b)\n  y = Mul (c, d)\n  z = Less (a, b)\n"
                        "  w = MatMul (e, f)\n}\n");
  assert_string_equal(infer_type(m, "x"), "float[N,4]");
  assert_string_equal(infer_type(m, "y"), "float[N,3]");
  assert_string_equal(infer_type(m, "z"), "bool[N,4]");
  assert_string_equal(infer_type(m, "w"), "float[B,4,6]");
  ir_model_free(m);
}

static void test_constant_shapes(void **s) {
  (void)s;
  /* Reshape by an initializer; Shape feeding Reshape; Slice and Concat; Unsqueeze */
  Model *m = parse(HEAD "g (float[2,3,4] x, float[24] z) => (a, b, c, d, e) <int64[2] sh = {0,-1},"
                        " int64[1] st = {1}, int64[1] en = {3}, int64[1] ax = {0}> {\n"
                        "  a = Reshape (x, sh)\n  s = Shape (x)\n  b = Reshape (z, s)\n"
                        "  c = Slice (x, st, en, ax)\n  d = Concat <axis = 1> (x, x)\n"
                        "  e = Unsqueeze (x, ax)\n}\n");
  assert_string_equal(infer_type(m, "a"), "float[2,12]");
  assert_string_equal(infer_type(m, "b"), "float[2,3,4]");
  assert_string_equal(infer_type(m, "c"), "float[1,3,4]");
  assert_string_equal(infer_type(m, "d"), "float[2,6,4]");
  assert_string_equal(infer_type(m, "e"), "float[1,2,3,4]");
  ir_model_free(m);
}

static void test_gemm_reduce_cast(void **s) {
  (void)s;
  Model *m =
      parse(HEAD "g (float[4,6] a, float[5,6] b, float[2,3,4] x) => (y, r, k, q) {\n"
                 "  y = Gemm <transB = 1> (a, b)\n  r = ReduceMean <axes = [1], keepdims = 0> (x)\n"
                 "  k = ArgMax <axis = -1> (x)\n  q = Cast <to = 7> (x)\n}\n");
  assert_string_equal(infer_type(m, "y"), "float[4,5]");
  assert_int_equal(macs_of(m, "y"), 4 * 5 * 6);
  assert_string_equal(infer_type(m, "r"), "float[2,4]");
  assert_string_equal(infer_type(m, "k"), "int64[2,3,1]");
  assert_string_equal(infer_type(m, "q"), "int64[2,3,4]");
  ir_model_free(m);
}

static void test_data_propagation(void **s) {
  (void)s;
  /* Shape -> Gather -> Mul -> Concat -> Reshape: [2,3,4] becomes [2,12] with every step
   * computed on constants; Range with a length from Size; TopK with a constant k */
  Model *m =
      parse(HEAD "g (float[2,3,4] x) => (a, r, t, i) <int64[1] i0 = {0}, int64[2] i12 = {1,2},"
                 " int64 k = {2}> {\n"
                 "  s = Shape (x)\n  b = Gather (s, i0)\n  hw = Gather (s, i12)\n"
                 "  p = ReduceProd <keepdims = 1> (hw)\n  sh = Concat <axis = 0> (b, p)\n"
                 "  a = Reshape (x, sh)\n  n = Size (x)\n  z = Constant <value_int = 0> ()\n"
                 "  one = Constant <value_int = 1> ()\n  r = Range (z, n, one)\n"
                 "  kk = Unsqueeze (k, i0)\n  t, i = TopK <axis = 1> (x, kk)\n}\n");
  /* ReduceProd is not propagated: Concat has an unknown part, so only the rank is known */
  assert_string_equal(infer_type(m, "a"), "float[?,?]");
  assert_string_equal(infer_type(m, "r"), "int64[24]");
  assert_string_equal(infer_type(m, "t"), "float[2,2,4]");
  assert_string_equal(infer_type(m, "i"), "int64[2,2,4]");
  ir_model_free(m);
  m = parse(HEAD "g (float[2,3,4] x) => (a) <int64[1] i0 = {0}, int64[1] m1 = {-1}> {\n"
                 "  s = Shape (x)\n  b = Gather (s, i0)\n  sh = Concat <axis = 0> (b, m1)\n"
                 "  a = Reshape (x, sh)\n}\n");
  assert_string_equal(infer_type(m, "a"), "float[2,12]");
  ir_model_free(m);
  /* symbols copied by 0 cancel out of -1 */
  m = parse(HEAD "g (float[N,3,4] x) => (a) <int64[2] sh = {0,-1}> {\n  a = Reshape (x, sh)\n}\n");
  assert_string_equal(infer_type(m, "a"), "float[N,12]");
  ir_model_free(m);
}

static void test_if_and_rnn(void **s) {
  (void)s;
  Model *m =
      parse(HEAD "g (bool c, float[5,2,3] x, float[2,21,3] w, float[2,21,7] r) => (y, yy, h) {\n"
                 "  y = If (c) <then_branch = g1 () => (float[N,4] t) {\n"
                 "    t = Constant <value = float[1,4] {1,2,3,4}> ()\n  },"
                 " else_branch = g2 () => (float[N,5] e) {\n"
                 "    e = Constant <value = float[1,5] {1,2,3,4,5}> ()\n  }>\n"
                 "  yy, h = GRU <hidden_size = 7, direction = \"bidirectional\"> (x, w, r)\n}\n");
  assert_string_equal(infer_type(m, "y"), "float[N,?]");
  assert_string_equal(infer_type(m, "yy"), "float[5,2,2,7]");
  assert_string_equal(infer_type(m, "h"), "float[2,2,7]");
  ir_model_free(m);
}

static void test_contradiction(void **s) {
  (void)s;
  Model *m = parse(HEAD "g (float[4] x) => (float[5] y) {\n  y = Relu (x)\n}\n");
  Cap c;
  cap_init_file(&c, "t");
  assert_int_equal(ir_infer_model(m, &c.d), -1);
  assert_non_null(
      strstr(cap_text(&c),
             "t:3:3: error: Relu: 'y' is declared float[5] but the operator produces float[4]"));
  cap_free(&c);
  ir_model_free(m);
  /* declared unknown dims are filled, declared symbols kept */
  m = parse(HEAD "g (float[N,4] x) => (float[?,?] y) {\n  y = Relu (x)\n}\n");
  assert_string_equal(infer_type(m, "y"), "float[N,4]");
  ir_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv_shapes),        cmocka_unit_test(test_conv_transpose_and_pools),
      cmocka_unit_test(test_symbolic_broadcast), cmocka_unit_test(test_constant_shapes),
      cmocka_unit_test(test_gemm_reduce_cast),   cmocka_unit_test(test_data_propagation),
      cmocka_unit_test(test_if_and_rnn),         cmocka_unit_test(test_contradiction),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
