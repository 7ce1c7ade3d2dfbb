/* test_passes.c - the pass manager and the passes: pipeline strings (good ones, and bad
 * ones with the column of the error), then each pass on a small hand-written model whose
 * result was worked out by hand. */
#include "testutil.h"

#include "passes.h"
#include "runtime.h"


/* Run `pipeline` with --verify-each; return the printed model (malloc'd). */
static char *run_pipeline(Model *m, const char *pipeline) {
  Cap c;
  cap_init(&c);
  PassPipeline *p = pass_pipeline_parse(pipeline, &c.d);
  assert_non_null(p);
  PassRunOptions ro = {.verify_each = true};
  int rc = pass_pipeline_run(m, p, &ro, &c.d);
  if (rc) fprintf(stderr, "%s", cap_text(&c));
  assert_int_equal(rc, 0);
  pass_pipeline_free(p);
  cap_free(&c);
  Cap o;
  cap_init(&o);
  assert_int_equal(ir_print_model(o.fp, m, NULL), 0);
  return cap_take(&o);
}

/* ------------------------------------------------------------------ pipelines */

static void test_pipeline_good(void **s) {
  (void)s;
  Cap c;
  cap_init(&c);
  PassPipeline *p = pass_pipeline_parse(
      " fold{max-bytes=10, skip=[Shape,Gather]} , dce,inline{max-depth='3'}", &c.d);
  assert_non_null(p);
  assert_int_equal(p->n, 3);
  assert_string_equal(p->steps[0].pass->name, "fold");
  assert_int_equal(pass_opt_int(&p->steps[0], "max-bytes"), 10);
  assert_string_equal(pass_opt_str(&p->steps[0], "skip"), "Shape,Gather");
  assert_string_equal(p->steps[1].pass->name, "dce");
  assert_int_equal(pass_opt_int(&p->steps[2], "max-depth"), 3);
  assert_int_equal(pass_opt_int(&p->steps[2], "keep-functions"), 0); /* default */
  pass_pipeline_free(p);
  p = pass_pipeline_parse("fold{skip=\"A,B\"},fold{}", &c.d);
  assert_non_null(p);
  assert_string_equal(pass_opt_str(&p->steps[0], "skip"), "A,B");
  assert_int_equal(p->steps[1].n, 0);
  pass_pipeline_free(p);
  assert_int_equal(c.d.errors, 0);
  cap_free(&c);
}

static void bad(const char *pipeline, const char *want) {
  Cap c;
  cap_init_file(&c, "<pipeline>");
  c.d.src = pipeline;
  c.d.src_len = strlen(pipeline);
  assert_null(pass_pipeline_parse(pipeline, &c.d));
  if (!strstr(cap_text(&c), want)) fprintf(stderr, "got: %s\nwant: %s\n", cap_text(&c), want);
  assert_non_null(strstr(cap_text(&c), want));
  cap_free(&c);
}

static void test_pipeline_bad(void **s) {
  (void)s;
  bad("", "<pipeline>:1:1: error: empty pipeline");
  bad("nope", "<pipeline>:1:1: error: unknown pass 'nope'");
  bad("fold,,dce", "<pipeline>:1:6: error: expected a pass name, found ','");
  bad("dce,", "<pipeline>:1:5: error: expected a pass name at the end");
  bad("dce dce", "<pipeline>:1:5: error: expected ',' between passes, found 'd'");
  bad("fold{max-bytes=x}",
      "<pipeline>:1:16: error: option 'max-bytes' of pass 'fold' needs an integer, not 'x'");
  bad("fold{bogus=1}", "<pipeline>:1:6: error: pass 'fold' has no option 'bogus'");
  bad("fold{max-bytes=1", "<pipeline>:1:17: error: missing '}' after the options of 'fold'");
  bad("fold{max-bytes 1}", "<pipeline>:1:16: error: expected '=' after option 'max-bytes'");
  bad("fold{skip=[a,b}", "<pipeline>:1:11: error: unterminated '[' in value");
  bad("fold{skip='a,b}", "<pipeline>:1:11: error: unterminated quoted value");
  bad("fold{max-bytes=1,max-bytes=2}", "<pipeline>:1:18: error: option 'max-bytes' given twice");
  /* the caret line */
  bad("dce,nope", "dce,nope\n    ^\n");
}

/* ------------------------------------------------------------------ passes */

#define HEAD "<ir_version: 8, opset_import: [\"\" : 17]>\n"

static void test_dce(void **s) {
  (void)s;
  Model *m = parse_verified(
      HEAD
      "g (float[2] x, bool c) => (float[2] y) <float[2] k = {1,2}, float[2] unused = {3,4}> {\n"
      "  a = Neg (x)\n  dead1 = Abs (x)\n  dead2 = Relu (dead1)\n"
      "  y = If (c) <then_branch = g1 () => (float[2] t) { t = Add (a, k) },"
      " else_branch = g2 () => (float[2] e) { e = Identity (a)  unused_in_sub = Neg (a) }>\n}\n");
  char *out = run_pipeline(m, "dce");
  assert_null(strstr(out, "dead1"));
  assert_null(strstr(out, "dead2"));
  assert_null(strstr(out, "unused_in_sub"));
  assert_null(strstr(out, "unused ="));
  assert_non_null(strstr(out, "a = Neg (x)")); /* read only inside the subgraphs */
  assert_non_null(strstr(out, "k = {1,2}"));
  free(out);
  ir_model_free(m);
}

static void test_identity_elim(void **s) {
  (void)s;
  Model *m = parse_verified(
      HEAD "g (float[2] x) => (float[2] y, float[2] z, float[2] w) {\n"
           "  a = Neg (x)\n  b = Identity (a)\n  c = Abs (b)\n  y = Identity (c)\n"
           "  z = Identity (x)\n  d, mask = Dropout (c)\n  w = Relu (d)\n  q = Relu (mask)\n}\n");
  /* q uses the mask: that Dropout stays; z = Identity(x) stays (x is an input) */
  char *out = run_pipeline(m, "identity-elim");
  /* y is an output: Abs writes it directly, and c's other use (the Dropout) reads y */
  assert_non_null(strstr(out, "y = Abs (a)"));
  assert_non_null(strstr(out, "Dropout (y)"));
  assert_non_null(strstr(out, "z = Identity (x)"));
  assert_non_null(strstr(out, "Dropout"));
  free(out);
  ir_model_free(m);
  m = parse_verified(HEAD "g (float[2] x) => (float[2] y) {\n  a = Neg (x)\n  y = Identity (a)\n"
                 "  d = Dropout (x)\n  e = Abs (d)\n}\n");
  out = run_pipeline(m, "identity-elim,dce");
  assert_non_null(strstr(out, "y = Neg (x)"));
  assert_null(strstr(out, "Dropout"));
  free(out);
  ir_model_free(m);
}

static void test_fold_bn(void **s) {
  (void)s;
  /* s = 3 / sqrt(3 + 1) = 1.5; W' = 2 * 1.5 = 3; b' = (0 - 0.5) * 1.5 + 1 = 0.25 */
  Model *m = parse_verified(
      HEAD "g (float[1,1,2,2] x) => (float[1,1,2,2] y) <float[1,1,1,1] w = {2}, float[1] sc = {3},"
           " float[1] b = {1}, float[1] mu = {0.5}, float[1] var = {3}> {\n"
           "  c = Conv (x, w)\n  y = BatchNormalization <epsilon = 1.0> (c, sc, b, mu, var)\n}\n");
  char *out = run_pipeline(m, "fold-bn,dce");
  assert_non_null(strstr(out, "w_bn = {3}"));
  assert_non_null(strstr(out, "y_bn_bias = {0.25}"));
  assert_non_null(strstr(out, "y = Conv (x, w_bn, y_bn_bias)"));
  assert_null(strstr(out, "BatchNormalization"));
  free(out);
  ir_model_free(m);
  /* Gemm, transB = 1: B is [N=2, K=1]; per output column n: s = [1.5, 0.5];
   * C' = (beta * C - mean) * s + bias = ((2*1 - 0.5) * 1.5 + 1, (2*2 - 1) * 0.5 + 0) = (3.25, 1.5)
   */
  m = parse_verified(HEAD "g (float[3,1] x) => (float[3,2] y) <float[2,1] w = {2, 4}, float[2] cb = {1, 2},"
                 " float[2] sc = {3, 1}, float[2] b = {1, 0}, float[2] mu = {0.5, 1}, float[2] var "
                 "= {3, 3}> {\n"
                 "  c = Gemm <transB = 1, beta = 2.0> (x, w, cb)\n"
                 "  y = BatchNormalization <epsilon = 1.0> (c, sc, b, mu, var)\n}\n");
  out = run_pipeline(m, "fold-bn,dce");
  assert_non_null(strstr(out, "w_bn = {3,2}"));
  assert_non_null(strstr(out, "y_bn_bias = {3.25,1.5}"));
  assert_non_null(strstr(out, "beta: float = 1"));
  free(out);
  ir_model_free(m);
}

static void test_fuse(void **s) {
  (void)s;
  Model *m = parse_verified(HEAD "g (float[1,1,2,2] x, float[2,3] a, float[3,4] b) => (float[1,1,2,2] y, "
                        "float[2,4] z, float[2,4] q)"
                        " <float[1,1,1,1] w = {2}> {\n"
                        "  c = Conv (x, w)\n  y = LeakyRelu <alpha = 0.25> (c)\n"
                        "  g1 = Gemm (a, b)\n  z = HardSigmoid (g1)\n"
                        "  g2 = Gemm (a, b)\n  q = Relu (g2)\n  r = Neg (g2)\n}\n");
  char *out = run_pipeline(m, "fuse");
  assert_non_null(strstr(out, "\"com.microsoft\" : 1"));
  assert_non_null(strstr(out, "y = com.microsoft.FusedConv <activation: string = \"LeakyRelu\", "
                              "activation_params: floats = [0.25]> (x, w)"));
  assert_non_null(
      strstr(out, "z = com.microsoft.FusedGemm <activation: string = \"HardSigmoid\", "
                  "activation_alpha: float = 0.2, activation_beta: float = 0.5> (a, b)"));
  assert_non_null(strstr(out, "q = Relu (g2)")); /* g2 has two uses */
  free(out);
  ir_model_free(m);
}

static void test_inline(void **s) {
  (void)s;
  Model *m = parse_verified(
      "<ir_version: 8, opset_import: [\"\" : 17, \"local\" : 1]>\n"
      "g (float[2] x) => (float[2] y) {\n  t = local.act <a = 0.5> (x)\n  y = local.act (t)\n}\n"
      "<domain: \"local\", opset_import: [\"\" : 17]>\n"
      "act <a: float = 0.125> (u) => (v) {\n  n = Neg (u)\n  v = LeakyRelu <alpha: float = @a> "
      "(n)\n}\n");
  char *out = run_pipeline(m, "inline");
  assert_null(strstr(out, "local.act"));
  assert_null(strstr(out, "act <"));
  assert_non_null(strstr(out, "LeakyRelu <alpha: float = 0.5>"));
  assert_non_null(strstr(out, "LeakyRelu <alpha: float = 0.125>"));
  assert_non_null(strstr(out, "y = LeakyRelu"));
  free(out);
  ir_model_free(m);
}

static void test_fold(void **s) {
  (void)s;
  const OpDef *add = ir_op_find("", "Add", 17), *mul = ir_op_find("", "Mul", 17);
  Model *m =
      parse_verified(HEAD "g (float[2] x) => (float[2] y) <float[2] a = {1, 2}, float[2] b = {10, 20}> {\n"
                 "  c = Add (a, b)\n  d = Mul (c, a)\n  y = Add (x, d)\n}\n");
  char *out = run_pipeline(m, "fold,dce");
  if (!rt_kernel(add) || !rt_kernel(mul)) { /* no kernels linked: nothing folds, nothing breaks */
    assert_non_null(strstr(out, "c = Add (a, b)"));
    free(out);
    ir_model_free(m);
    return;
  }
  assert_non_null(strstr(out, "d = {11,44}"));
  assert_non_null(strstr(out, "y = Add (x, d)"));
  assert_null(strstr(out, "Mul"));
  free(out);
  ir_model_free(m);
}

static void test_shape_infer_and_specialize(void **s) {
  (void)s;
  Model *m = parse_verified(HEAD "g (float[N,3] x) => (y) {\n  a = Relu (x)\n  y = Neg (a)\n}\n");
  Cap c;
  cap_init(&c);
  assert_int_equal(pass_bind_dim(m, "N=5", &c.d), 0);
  cap_free(&c);
  char *out = run_pipeline(m, "shape-infer");
  assert_non_null(strstr(out, "(float[5,3] x) => (float[5,3] y)"));
  assert_non_null(strstr(out, "float[5,3] a"));
  free(out);
  ir_model_free(m);
  m = parse_verified(HEAD "g (float[?,3] x) => (y) {\n  y = Relu (x)\n}\n");
  cap_init(&c);
  assert_int_equal(pass_set_input_shape(m, "x=2,3", &c.d), 0);
  assert_int_equal(pass_set_input_shape(m, "x=2,4", &c.d), -1);
  assert_non_null(strstr(cap_text(&c), "dimension 1 of input 'x' is 3, not 4"));
  cap_free(&c);
  out = run_pipeline(m, "shape-infer");
  assert_non_null(strstr(out, "=> (float[2,3] y)"));
  free(out);
  ir_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pipeline_good),
      cmocka_unit_test(test_pipeline_bad),
      cmocka_unit_test(test_dce),
      cmocka_unit_test(test_identity_elim),
      cmocka_unit_test(test_fold_bn),
      cmocka_unit_test(test_fuse),
      cmocka_unit_test(test_inline),
      cmocka_unit_test(test_fold),
      cmocka_unit_test(test_shape_infer_and_specialize),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
