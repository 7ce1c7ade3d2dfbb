/* test_prune.c - the `prune` pass: exact zero counts of fine-grained pruning (per layer and
 * global), the N:M pattern in every group along the reduction dimension (Conv rows, Gemm
 * columns with transB 0), and the channel groups of prune_groups.c on small graphs whose
 * dependencies were worked out by hand. */
#include "testutil.h"

#include <math.h>

#include "passes.h"

#define HEAD "<ir_version: 8, opset_import: [\"\" : 17]>\n"

static void run(Model *m, const char *pipeline) {
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
}

/* The weight (input 1) of the node producing `out`. */
static const Tensor *weight_of(Model *m, const char *out) {
  Value *v = ir_graph_lookup(m->graph, out);
  assert_non_null(v);
  assert_non_null(v->producer);
  const Tensor *t = pass_const_data(v->producer->inputs[1]);
  assert_non_null(t);
  return t;
}

static float at(const Tensor *t, uint64_t i) {
  return ((const float *)t->data)[i];
}

/* "{v0,v1,...}" with n distinct magnitudes: v_i = +-(1 + (i*7 % n)) / 8 */
static char *values(int n) {
  char *s = malloc((size_t)n * 16 + 4);
  size_t k = 0;
  s[k++] = '{';
  for (int i = 0; i < n; i++)
    k += (size_t)sprintf(s + k, "%s%g", i ? "," : "", (i % 3 ? 1 : -1) * (1 + (i * 7) % n) / 8.0);
  s[k++] = '}';
  s[k] = 0;
  return s;
}

static Model *two_layers(void) {
  char *w = values(72), *b = values(30);
  char txt[4096];
  snprintf(txt, sizeof txt,
           HEAD "g (float[1,2,5,5] x, float[1,6] a) => (float[1,4,3,3] y, float[1,5] z)\n"
                "  <float[4,2,3,3] w = %s, float[6,5] b = %s> {\n"
                "  y = Conv (x, w)\n  z = Gemm (a, b)\n}\n",
           w, b);
  free(w);
  free(b);
  return parse_verified(txt);
}

static void test_element_counts(void **s) {
  (void)s;
  Model *m = two_layers();
  run(m, "prune{sparsity=0.3}");
  const Tensor *ts[2] = {weight_of(m, "y"), weight_of(m, "z")};
  const int want[2] = {21, 9}; /* floor(0.3 * 72), floor(0.3 * 30) */
  for (int k = 0; k < 2; k++) {
    uint64_t n;
    ir_tensor_numel(ts[k], &n);
    int zeros = 0;
    float max_zeroed = 0, min_kept = INFINITY;
    /* the zeroed ones are the smallest magnitudes of the original values */
    char *orig = values((int)n);
    double *ov = malloc(n * sizeof *ov);
    const char *p = orig + 1;
    for (uint64_t i = 0; i < n; i++, p++) ov[i] = strtod(p, (char **)&p);
    for (uint64_t i = 0; i < n; i++) {
      if (at(ts[k], i) == 0) {
        zeros++;
        max_zeroed = fmaxf(max_zeroed, (float)fabs(ov[i]));
      } else {
        assert_true(at(ts[k], i) == (float)ov[i]);
        min_kept = fminf(min_kept, (float)fabs(ov[i]));
      }
    }
    assert_int_equal(zeros, want[k]);
    assert_true(max_zeroed <= min_kept);
    free(ov);
    free(orig);
  }
  /* the node carries the fraction of zeros */
  Node *conv = ir_graph_lookup(m->graph, "y")->producer;
  assert_float_equal(ir_attr_float(conv, "__effc_sparsity", -1), 21.0f / 72.0f, 1e-6);
  ir_model_free(m);
}

static void test_element_global(void **s) {
  (void)s;
  Model *m = two_layers();
  run(m, "prune{sparsity=0.5,scope=global}");
  int zeros = 0;
  const Tensor *ts[2] = {weight_of(m, "y"), weight_of(m, "z")};
  for (int k = 0; k < 2; k++) {
    uint64_t n;
    ir_tensor_numel(ts[k], &n);
    for (uint64_t i = 0; i < n; i++) zeros += at(ts[k], i) == 0;
  }
  assert_int_equal(zeros, 51); /* floor(0.5 * 102) over both layers */
  ir_model_free(m);
  /* a table entry overrides, skip leaves a layer dense */
  m = two_layers();
  run(m, "prune{sparsity=0.5,layers=[w=0.25],skip=[z]}");
  zeros = 0;
  for (int i = 0; i < 72; i++) zeros += at(weight_of(m, "y"), (uint64_t)i) == 0;
  assert_int_equal(zeros, 18);
  for (int i = 0; i < 30; i++) assert_true(at(weight_of(m, "z"), (uint64_t)i) != 0);
  ir_model_free(m);
}

static void test_nm(void **s) {
  (void)s;
  char *w = values(64), *b = values(48);
  char txt[4096];
  snprintf(txt, sizeof txt,
           HEAD "g (float[1,4,3,3] x, float[1,8] a) => (float[1,4,2,2] y, float[1,6] z)\n"
                "  <float[4,4,2,2] w = %s, float[8,6] b = %s> {\n"
                "  y = Conv (x, w)\n  z = Gemm (a, b)\n}\n",
           w, b);
  free(w);
  free(b);
  Model *m = parse_verified(txt);
  run(m, "prune{granularity=nm,n=2,m=4}");
  /* Conv: rows of 16 (C*kh*kw), groups of 4 consecutive */
  const Tensor *cw = weight_of(m, "y");
  for (int g = 0; g < 16; g++) {
    int nz = 0;
    for (int j = 0; j < 4; j++) nz += at(cw, (uint64_t)(g * 4 + j)) != 0;
    assert_int_equal(nz, 2);
  }
  /* Gemm transB 0: B is [K=8, N=6]; groups run down each column */
  const Tensor *gw = weight_of(m, "z");
  for (int col = 0; col < 6; col++)
    for (int k0 = 0; k0 < 8; k0 += 4) {
      int nz = 0;
      for (int j = 0; j < 4; j++) nz += at(gw, (uint64_t)((k0 + j) * 6 + col)) != 0;
      assert_int_equal(nz, 2);
    }
  Node *conv = ir_graph_lookup(m->graph, "y")->producer;
  size_t n;
  const int64_t *nm = ir_attr_ints(conv, "__effc_nm", &n);
  assert_non_null(nm);
  assert_int_equal(n, 2);
  assert_int_equal(nm[0], 2);
  assert_int_equal(nm[1], 4);
  assert_float_equal(ir_attr_float(conv, "__effc_sparsity", -1), 0.5f, 1e-6);
  ir_model_free(m);
}

/* Groups: a residual Add ties c1 and c2 (one group, two producers); c3's channels reach a
 * graph output (fixed); c4 adds a graph input's channels (fixed); Concat keeps c5 and c6
 * apart; the Gemm's outputs are the graph output. */
static void test_groups(void **s) {
  (void)s;
  char *wg = values(160), txt[4096];
  snprintf(txt, sizeof txt,
      HEAD "g (float[1,2,4,4] x, float[1,3,4,4] e) => (float[1,3,4,4] o, float[1,3,4,4] q, float[1,2] z)\n"
           "  <float[3,2,1,1] w1 = {1,2,3,4,5,6}, float[3,3,1,1] w2 = {1,0,0,0,1,0,0,0,1},\n"
           "   float[3,3,1,1] w3 = {1,1,1,1,1,1,1,1,1}, float[3,2,1,1] w4 = {1,1,1,1,1,1},\n"
           "   float[2,3,1,1] w5 = {1,2,3,4,5,6}, float[3,3,1,1] w6 = {1,1,1,2,2,2,3,3,3},\n"
           "   float[2,80] wg = %s> {\n"
           "  c1 = Conv (x, w1)\n  r1 = Relu (c1)\n  c2 = Conv (r1, w2)\n  a = Add (c2, r1)\n"
           "  o = Conv (a, w3)\n  c4 = Conv (x, w4)\n  q = Add (c4, e)\n"
           "  c5 = Conv (a, w5)\n  c6 = Conv (a, w6)\n  cat = Concat <axis = 1> (c5, c6)\n"
           "  f = Flatten (cat)\n  z = Gemm <transB = 1> (f, wg)\n}\n", wg);
  free(wg);
  Model *m = parse_verified(txt);
  Cap c;
  cap_init(&c);
  assert_int_equal(ir_infer_model(m, &c.d), 0);
  cap_free(&c);
  PruneGroups *pg = prune_groups_build(m);
  int n;
  const PruneGroup *G = prune_groups_get(pg, &n);
  /* {c1,c2}, o (c3), c4, c5, c6, z */
  assert_int_equal(n, 6);
  assert_int_equal(G[0].n_producers, 2);
  assert_int_equal(G[0].n_classes, 3);
  assert_int_equal(G[0].n_fixed, 0);
  assert_int_equal(G[1].n_classes, 3); /* o: a graph output */
  assert_int_equal(G[1].n_fixed, 3);
  assert_int_equal(G[2].n_fixed, 3); /* c4: added to the input e */
  assert_int_equal(G[3].n_classes, 2);
  assert_int_equal(G[3].n_fixed, 0);
  assert_int_equal(G[4].n_classes, 3);
  assert_int_equal(G[4].n_fixed, 0);
  assert_int_equal(G[5].n_fixed, 2); /* z */
  /* L2 importance of c5's channels: |(1,2,3)| and |(4,5,6)| */
  double *imp = malloc((size_t)prune_groups_n_elements(pg) * sizeof *imp);
  prune_groups_importance(pg, PRUNE_IMP_L2, false, imp);
  assert_float_equal(imp[G[3].classes[0]], sqrt(14.0), 1e-9);
  assert_float_equal(imp[G[3].classes[1]], sqrt(77.0), 1e-9);
  free(imp);
  prune_groups_free(pg);
  /* pruning half: the group {c1,c2} keeps 2 of 3, c5 1 of 2, c6 2 of 3; the Gemm loses
   * the matching 16-wide column blocks of the flattened Concat: 80 -> 48 */
  run(m, "prune{granularity=channel,sparsity=0.5}");
  assert_int_equal(weight_of(m, "c1")->dims[0], 2);
  assert_int_equal(weight_of(m, "c2")->dims[0], 2);
  assert_int_equal(weight_of(m, "c2")->dims[1], 2);
  assert_int_equal(weight_of(m, "o")->dims[1], 2);
  assert_int_equal(weight_of(m, "o")->dims[0], 3);
  assert_int_equal(weight_of(m, "c5")->dims[0], 1);
  assert_int_equal(weight_of(m, "c6")->dims[0], 2);
  assert_int_equal(weight_of(m, "z")->dims[1], 48);
  assert_int_equal(weight_of(m, "c4")->dims[0], 3);
  ir_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_element_counts),
      cmocka_unit_test(test_element_global),
      cmocka_unit_test(test_nm),
      cmocka_unit_test(test_groups),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
