/* test_infer.c - shape and type inference: conv/pool arithmetic worked by hand, symbolic
 * dims through broadcasting and matmul, constant-driven shapes, contradictions, MACs. */
#include "testutil.h"


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
  Model *m = parse_verified(HEAD "g (float[1,3,32,32] x, float[8,3,5,5] w) => (float[1,8,16,16] y) {\n"
                        "  y = Conv <strides = [2,2], pads = [2,2,2,2]> (x, w)\n}\n");
  assert_string_equal(infer_type(m, "y"), "float[1,8,16,16]");
  assert_int_equal(macs_of(m, "y"), 153600);
  ir_model_free(m);
  /* dilation 2, kernel 3: effective 5; (10 - 5) / 1 + 1 = 6; group 2: W has C/2 channels */
  m = parse_verified(HEAD "g (float[2,4,10,10] x, float[6,2,3,3] w) => (y) {\n"
                 "  y = Conv <dilations = [2,2], group = 2> (x, w)\n}\n");
  assert_string_equal(infer_type(m, "y"), "float[2,6,6,6]");
  assert_int_equal(macs_of(m, "y"), 2ull * 6 * 6 * 6 * 2 * 9);
  ir_model_free(m);
  /* SAME_UPPER, stride 2: ceil(7 / 2) = 4; symbolic batch carried */
  m = parse_verified(HEAD "g (float[N,1,7,7] x, float[1,1,3,3] w) => (y) {\n"
                 "  y = Conv <auto_pad = \"SAME_UPPER\", strides = [2,2]> (x, w)\n}\n");
  assert_string_equal(infer_type(m, "y"), "float[N,1,4,4]");
  ir_model_free(m);
}

static void test_conv_transpose_and_pools(void **s) {
  (void)s;
  /* 2 * (3 - 1) + 0 + 3 - 0 - 0 = 7; output channels W[1] * group = 2 */
  Model *m = parse_verified(HEAD "g (float[1,1,3,3] x, float[1,2,3,3] w) => (y) {\n"
                        "  y = ConvTranspose <strides = [2,2]> (x, w)\n}\n");
  assert_string_equal(infer_type(m, "y"), "float[1,2,7,7]");
  assert_int_equal(macs_of(m, "y"), 9ull * 2 * 9);
  ir_model_free(m);
  /* floor((32 - 3) / 2) + 1 = 15; ceil mode: 16 */
  m = parse_verified(HEAD
            "g (float[1,1,32,32] x) => (y, z) {\n"
            "  y = MaxPool <kernel_shape = [3,3], strides = [2,2]> (x)\n"
            "  z = AveragePool <kernel_shape = [3,3], strides = [2,2], ceil_mode = 1> (x)\n}\n");
  assert_string_equal(infer_type(m, "y"), "float[1,1,15,15]");
  assert_string_equal(infer_type(m, "z"), "float[1,1,16,16]");
  ir_model_free(m);
  m = parse_verified(HEAD "g (float[B,5,7,9] x) => (y) {\n  y = GlobalAveragePool (x)\n}\n");
  assert_string_equal(infer_type(m, "y"), "float[B,5,1,1]");
  ir_model_free(m);
}

static void test_symbolic_broadcast(void **s) {
  (void)s;
  Model *m = parse_verified(HEAD "g (float[N,1] a, float[1,4] b, float[N,3] c, float[3] d, float[B,4,5] e,"
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
  Model *m = parse_verified(HEAD "g (float[2,3,4] x, float[24] z) => (a, b, c, d, e) <int64[2] sh = {0,-1},"
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
      parse_verified(HEAD "g (float[4,6] a, float[5,6] b, float[2,3,4] x) => (y, r, k, q) {\n"
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
      parse_verified(HEAD "g (float[2,3,4] x) => (a, r, t, i) <int64[1] i0 = {0}, int64[2] i12 = {1,2},"
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
  m = parse_verified(HEAD "g (float[2,3,4] x) => (a) <int64[1] i0 = {0}, int64[1] m1 = {-1}> {\n"
                 "  s = Shape (x)\n  b = Gather (s, i0)\n  sh = Concat <axis = 0> (b, m1)\n"
                 "  a = Reshape (x, sh)\n}\n");
  assert_string_equal(infer_type(m, "a"), "float[2,12]");
  ir_model_free(m);
  /* symbols copied by 0 cancel out of -1 */
  m = parse_verified(HEAD "g (float[N,3,4] x) => (a) <int64[2] sh = {0,-1}> {\n  a = Reshape (x, sh)\n}\n");
  assert_string_equal(infer_type(m, "a"), "float[N,12]");
  ir_model_free(m);
}

static void test_if_and_rnn(void **s) {
  (void)s;
  Model *m =
      parse_verified(HEAD "g (bool c, float[5,2,3] x, float[2,21,3] w, float[2,21,7] r) => (y, yy, h) {\n"
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

static void test_loop_scan(void **s) {
  (void)s;
  /* M = 3 with no cond and a pass-through cond: 3 iterations; the carried value joins
   * float[2] (initial) with float[2] (body); a computed cond makes the count unknown */
  Model *m = parse_verified(HEAD "g (float[2] x) => (a, b, c, d) <int64 m = {3}, int64 z = {0}> {\n"
                        "  a, b = Loop (m, , x) <body = l (int64 i, bool ci, float[2] v) =>"
                        " (bool co, float[2] w, float[1,2] o) {\n"
                        "    co = Identity (ci)\n    w = Neg (v)\n    o = Unsqueeze (w, z)\n  }>\n"
                        "  c, d = Loop (m, , x) <body = l2 (int64 i, bool ci, float[2] v) =>"
                        " (bool co, float[2] w, float[2] o) {\n"
                        "    lim = Constant <value_int = 2> ()\n    co = Less (i, lim)\n"
                        "    w = Neg (v)\n    o = Identity (w)\n  }>\n}\n");
  assert_string_equal(infer_type(m, "a"), "float[2]");
  assert_string_equal(infer_type(m, "b"), "float[3,1,2]");
  assert_string_equal(infer_type(m, "d"), "float[?,2]");
  ir_model_free(m);
  /* M = 0: nothing to stack, the scan output stays unknown */
  m = parse_verified(HEAD "g (float[2] x) => (a, b) <int64 m = {0}> {\n"
                 "  a, b = Loop (m, , x) <body = l (int64 i, bool ci, float[2] v) =>"
                 " (bool co, float[2] w, float[2] o) {\n"
                 "    co = Identity (ci)\n    w = Neg (v)\n    o = Identity (w)\n  }>\n}\n");
  assert_string_equal(infer_type(m, "b"), "?");
  ir_model_free(m);
  /* Scan-9: sequence length 5 from axis 1 of xs [4,5]; the scan output [4] stacks at axis 1
   * -> [4,5]; the state joins float[4] with float[?] -> float[?] */
  m = parse_verified(HEAD "g (float[?] st, float[4,5] xs) => (a, b) {\n"
                 "  a, b = Scan (st, xs) <num_scan_inputs = 1, scan_input_axes = [1],"
                 " scan_output_axes = [1], body = sb (float[4] p, float[4] n) =>"
                 " (float[4] q, float[4] o) {\n"
                 "    q = Add (p, n)\n    o = Identity (q)\n  }>\n}\n");
  assert_string_equal(infer_type(m, "a"), "float[?]");
  assert_string_equal(infer_type(m, "b"), "float[4,5]");
  ir_model_free(m);
  /* untyped body inputs take what the node says: the scan slice of xs [5,3] along axis 0 is
   * [3], stacked back to [5,3]; the Loop's carried value only its element type */
  m = parse_verified(HEAD "g (float[2] st, float[5,3] xs, int64 n) => (a, b, c, d) {\n"
                 "  a, b = Scan (st, xs) <num_scan_inputs = 1, body = sb (p, q) => (r, o) {\n"
                 "    r = Identity (p)\n    o = Identity (q)\n  }>\n"
                 "  c, d = Loop (n, , st) <body = l (i, ci, v) => (co, w, k) {\n"
                 "    co = Identity (ci)\n    w = Identity (v)\n    k = Identity (i)\n  }>\n}\n");
  assert_string_equal(infer_type(m, "b"), "float[5,3]");
  assert_string_equal(infer_type(m, "c"), "float[]");
  assert_string_equal(infer_type(m, "d"), "int64[?]");
  ir_model_free(m);
}

static void test_more_rules(void **s) {
  (void)s;
  /* GatherND: [2,3] + data[2:] = [2,3,6]; Unique along axis 1 of [3,4]: [3,?], inverse [4];
   * STFT two-sided: (100 - 20) / 10 + 1 = 9 frames of 20 bins; DFT-17 with dft_length 16;
   * Col2Im 1-D: 6 / 3 = 2 channels; MaxRoiPool [7 rois, 8 channels, 3, 3] */
  Model *m = parse_verified(
      "<ir_version: 8, opset_import: [\"\" : 18]>\n"
      "g (float[4,5,6] d, int64[2,3,2] ix, float[3,4] x, float[2,100,2] sg, float[20] win,"
      " float[2,10,1] r, float[2,6,8] cols, float[1,8,10,10] f, float[7,5] rois, float[4,4] mt)"
      " => (g, u, ui, uinv, uc, st, df, ci, mr, hw, rn, dt)"
      " <int64 step = {10}, int64 len = {16}, int64[1] img = {10}, int64[1] blk = {3},"
      " int64 wn = {7}> {\n"
      "  g = GatherND (d, ix)\n"
      "  u, ui, uinv, uc = Unique <axis = 1> (x)\n"
      "  st = STFT <onesided = 0> (sg, step, win)\n"
      "  df = DFT <axis = 1> (r, len)\n"
      "  ci = Col2Im (cols, img, blk)\n"
      "  mr = MaxRoiPool <pooled_shape = [3, 3]> (f, rois)\n"
      "  hw = BlackmanWindow <output_datatype = 11> (wn)\n"
      "  rn = RandomUniform <shape = [2, 3]> ()\n"
      "  dt = Det (mt)\n}\n");
  assert_string_equal(infer_type(m, "g"), "float[2,3,6]");
  assert_string_equal(infer_type(m, "u"), "float[3,?]");
  assert_string_equal(infer_type(m, "uinv"), "int64[4]");
  assert_string_equal(infer_type(m, "uc"), "int64[?]");
  assert_string_equal(infer_type(m, "st"), "float[2,9,20,2]");
  assert_string_equal(infer_type(m, "df"), "float[2,16,2]");
  assert_string_equal(infer_type(m, "ci"), "float[2,2,10]");
  assert_string_equal(infer_type(m, "mr"), "float[7,8,3,3]");
  assert_string_equal(infer_type(m, "hw"), "double[7]");
  assert_string_equal(infer_type(m, "rn"), "float[2,3]");
  assert_string_equal(infer_type(m, "dt"), "float");
  ir_model_free(m);
  /* MaxUnpool: (3 - 1) * 2 + 3 - 1 - 0 = 6 and (4 - 1) * 2 + 3 - 0 - 1 = 8; StringSplit adds
   * an unknown axis; TfIdf: max(ngram_indexes) + 1 = 10 per row; LabelEncoder takes the
   * values' type; TreeEnsemble [N, n_targets] in X's type */
  m = parse_verified("<ir_version: 8, opset_import: [\"\" : 20, \"ai.onnx.ml\" : 5]>\n"
            "g (float[1,2,3,4] x, int64[1,2,3,4] i, string[2,3] s, int64[4,9] tk, double[5,3] f)"
            " => (mu, ss, sl, tf, le, te) {\n"
            "  mu = MaxUnpool <kernel_shape = [3, 3], strides = [2, 2], pads = [1, 0, 0, 1]> (x, i)\n"
            "  ss, sl = StringSplit (s)\n"
            "  tf = TfIdfVectorizer <max_gram_length = 1, max_skip_count = 0, min_gram_length = 1,"
            " mode = \"TF\", ngram_counts = [0], ngram_indexes = [3, 9, 0],"
            " pool_int64s = [1, 2, 3]> (tk)\n"
            "  le = ai.onnx.ml.LabelEncoder <keys_strings = [\"a\"], values_int64s = [1]> (s)\n"
            "  te = ai.onnx.ml.TreeEnsemble <n_targets = 2, leaf_targetids = [0],"
            " leaf_weights = double[1] {1}, nodes_falseleafs = [1], nodes_falsenodeids = [0],"
            " nodes_featureids = [0], nodes_modes = uint8[1] {0}, nodes_splits = double[1] {0},"
            " nodes_trueleafs = [1], nodes_truenodeids = [0], tree_roots = [0]> (f)\n}\n");
  assert_string_equal(infer_type(m, "mu"), "float[1,2,6,8]");
  assert_string_equal(infer_type(m, "ss"), "string[2,3,?]");
  assert_string_equal(infer_type(m, "sl"), "int64[2,3]");
  assert_string_equal(infer_type(m, "tf"), "float[4,10]");
  assert_string_equal(infer_type(m, "le"), "int64[2,3]");
  assert_string_equal(infer_type(m, "te"), "double[5,2]");
  ir_model_free(m);
  /* DeformConv as Conv: (5 + 1 + 1 - 3) / 2 + 1 = 3; CategoryMapper string -> int64 */
  m = parse_verified("<ir_version: 8, opset_import: [\"\" : 19, \"ai.onnx.ml\" : 1]>\n"
            "g (float[1,4,5,5] x, float[6,2,3,3] w, float[1,18,3,3] off, string[2,3] s)"
            " => (dc, cm) {\n"
            "  dc = DeformConv <group = 2, strides = [2, 2], pads = [1, 1, 1, 1]> (x, w, off)\n"
            "  cm = ai.onnx.ml.CategoryMapper <cats_strings = [\"a\"], cats_int64s = [1]> (s)\n}\n");
  assert_string_equal(infer_type(m, "dc"), "float[1,6,3,3]");
  assert_string_equal(infer_type(m, "cm"), "int64[2,3]");
  ir_model_free(m);
}

static void test_function_calls(void **s) {
  (void)s;
  /* each call infers the body with its own input types: [2,3]x[3,4] and [5,3]x[3,4]; the
   * body keeps its untyped formals; a body using an attribute reference is left alone */
  Model *m = parse_verified("<ir_version: 8, opset_import: [\"\" : 17, \"local\" : 1]>\n"
                   "g (float[2,3] a, float[5,3] b, float[3,4] w) => (y1, y2, y3) {\n"
                   "  y1 = local.f (a, w)\n  y2 = local.f (b, w)\n  y3 = local.h (a)\n}\n"
                   "<domain: \"local\", opset_import: [\"\" : 17]>\n"
                   "f (x, k) => (y) {\n  t = MatMul (x, k)\n  y = Relu (t)\n}\n"
                   "<domain: \"local\", opset_import: [\"\" : 17]>\n"
                   "h <perm> (x) => (y) {\n  y = Transpose <perm: ints = @perm> (x)\n}\n");
  assert_string_equal(infer_type(m, "y1"), "float[2,4]");
  assert_string_equal(infer_type(m, "y2"), "float[5,4]");
  assert_string_equal(infer_type(m, "y3"), "?");
  Graph *body = m->functions[0]->body;
  assert_null(body->inputs[0]->type);
  assert_null(body->outputs[0]->type);
  ir_model_free(m);
}

static void test_contradiction(void **s) {
  (void)s;
  Model *m = parse_verified(HEAD "g (float[4] x) => (float[5] y) {\n  y = Relu (x)\n}\n");
  Cap c;
  cap_init_file(&c, "t");
  assert_int_equal(ir_infer_model(m, &c.d), -1);
  assert_non_null(
      strstr(cap_text(&c),
             "t:3:3: error: Relu: 'y' is declared float[5] but the operator produces float[4]"));
  cap_free(&c);
  ir_model_free(m);
  /* declared unknown dims are filled, declared symbols kept */
  m = parse_verified(HEAD "g (float[N,4] x) => (float[?,?] y) {\n  y = Relu (x)\n}\n");
  assert_string_equal(infer_type(m, "y"), "float[N,4]");
  ir_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv_shapes),        cmocka_unit_test(test_conv_transpose_and_pools),
      cmocka_unit_test(test_symbolic_broadcast), cmocka_unit_test(test_constant_shapes),
      cmocka_unit_test(test_gemm_reduce_cast),   cmocka_unit_test(test_data_propagation),
      cmocka_unit_test(test_if_and_rnn),         cmocka_unit_test(test_contradiction),
      cmocka_unit_test(test_loop_scan),          cmocka_unit_test(test_more_rules),
      cmocka_unit_test(test_function_calls),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
