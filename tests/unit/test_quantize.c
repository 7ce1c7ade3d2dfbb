/* test_quantize.c - the calibration library and the `quantize` pass: range choices on
 * hand-made data whose answers are known in closed form, statistics collected through the
 * interpreter, per-channel weight scales, an error bound derived for one quantized Gemm, and
 * dynamic quantization of a tiny MatMul computed by hand. */
#include "testutil.h"

#include <math.h>

#include "calib.h"

static char dir[256];

static int setup(void **s) {
  (void)s;
  return tmpdir_make(dir, sizeof dir, "/tmp/effc-quant-XXXXXX");
}
static int teardown(void **s) {
  (void)s;
  return tmpdir_remove(dir);
}

/* A float32 .npy in the temp dir; returns its path (static buffer per call site). */
static const char *write_npy(const char *name, int rank, const int64_t *dims, const float *v) {
  static char path[4][512];
  static int k;
  char *p = path[k++ % 4];
  snprintf(p, 512, "%s/%s", dir, name);
  Arena a;
  ir_arena_init(&a);
  Tensor *t = ir_tensor_new(&a, ELEM_FLOAT, rank, dims);
  assert_true(ir_tensor_alloc_data(&a, t));
  t->has_data = true;
  memcpy(t->data, v, t->nbytes);
  Cap c;
  cap_init(&c);
  assert_true(ir_npy_write(p, t, &c.d));
  cap_free(&c);
  ir_arena_free(&a);
  return p;
}

/* A histogram of v (two passes, as calib_collect makes it). */
static CalibHist hist_of(const float *v, int64_t n) {
  RtValue *r = rt_tensor_new(ELEM_FLOAT, 1, &n);
  memcpy(r->data, v, (size_t)n * sizeof *v);
  CalibHist h = {0};
  calib_hist_add(&h, r, false);
  h.amax = fmax(fabs(h.min), fabs(h.max));
  h.bins = calloc(2 * CALIB_BINS, sizeof *h.bins);
  calib_hist_add(&h, r, true);
  rt_unref(r);
  return h;
}

/* ------------------------------------------------------------------ range choices */

static void test_ranges_uniform(void **s) {
  (void)s;
  enum { N = 20000 };
  static float v[N];
  for (int i = 0; i < N; i++) v[i] = (float)(-1 + 2 * (i + 0.5) / N); /* uniform on [-1, 1] */
  CalibHist h = hist_of(v, N);
  double lo, hi;
  calib_range(&h, CALIB_MINMAX, 0, false, 255, &lo, &hi);
  assert_true(lo == v[0] && hi == v[N - 1]);
  /* the 99th percentile of |x| is 0.99; of x, the 1st and 99th are -0.98 and 0.98 */
  double w = 1.0 / CALIB_BINS;
  calib_range(&h, CALIB_PERCENTILE, 99, true, 254, &lo, &hi);
  assert_true(fabs(hi - 0.99) < 2 * w && lo == -hi);
  calib_range(&h, CALIB_PERCENTILE, 99, false, 255, &lo, &hi);
  assert_true(fabs(lo + 0.98) < 2 * w && fabs(hi - 0.98) < 2 * w);
  /* uniform data: quantizing the full range loses nothing the KL search can see */
  calib_range(&h, CALIB_ENTROPY, 0, true, 254, &lo, &hi);
  assert_true(hi > 0.99 && hi <= 1.0 + w);
  /* MSE: clipping by d costs ~d^3/3 per unit density, saves ~2d/t * s^2/12: the optimum is
   * d = s/sqrt(3) with s = 2/255, i.e. t ~ 0.9955 (search grid 0.005) */
  calib_range(&h, CALIB_MSE, 0, false, 255, &lo, &hi);
  assert_true(hi > 0.985 && hi <= 1.0 && fabs(lo + hi) < 1e-9);
  free(h.bins);
}

static void test_ranges_outlier(void **s) {
  (void)s;
  enum { N = 10000 };
  static float v[N];
  for (int i = 0; i < N; i++) v[i] = (float)((i + 0.5) / N); /* uniform on [0, 1] ... */
  v[N - 1] = 100;                                              /* ... and one outlier */
  CalibHist h = hist_of(v, N);
  double lo, hi;
  calib_range(&h, CALIB_MINMAX, 0, false, 255, &lo, &hi);
  assert_true(lo == 0 && hi == 100); /* non-negative: the range starts at 0 */
  calib_range(&h, CALIB_PERCENTILE, 99.9, false, 255, &lo, &hi);
  assert_true(lo == 0 && fabs(hi - 0.999) < 0.1); /* bins are 100/2048 wide here */
  /* MSE on [0, t]: the N-1 bulk elements cost (t/255)^2/12 each, the outlier (at its bin's
   * centre c = 2047.5 * 100/2048) (c - t)^2: the minimum is t = c / (1 + (N-1)/(12*255^2))
   * ~ 98.71, on a grid of 0.5 */
  calib_range(&h, CALIB_MSE, 0, false, 255, &lo, &hi);
  double c0 = 2047.5 * 100 / 2048, t = c0 / (1 + (N - 1) / (12.0 * 255 * 255));
  assert_true(lo == 0 && fabs(hi - t) <= 0.5);
  /* KL: no threshold below 256 bins (12.5 here); Q spreads each chunk over its nonzero
   * bins, so the sparse histogram is reproduced exactly at full range (KL = 0 there) */
  calib_range(&h, CALIB_ENTROPY, 0, false, 255, &lo, &hi);
  assert_true(lo == 0 && hi >= 12.5 && hi <= 100);
  free(h.bins);
}

/* ------------------------------------------------------------------ statistics */

static void test_collect_minmax(void **s) {
  (void)s;
  Model *m = parse_verified("<ir_version: 8, opset_import: [\"\" : 17]>\n"
                            "g (float[N,3] x) => (float[N,3] y) {\n  r = Relu (x)\n"
                            "  y = Neg (r)\n}\n");
  float x[12] = {0.5f, -2, 3, 1, 1, -1, 0.25f, 7, -0.5f, 2, 2, 2};
  int64_t dims[2] = {4, 3};
  Cap c;
  cap_init(&c);
  CalibSet set;
  assert_int_equal(calib_set_load(m, write_npy("x.npy", 2, dims, x), 3, &set, &c.d), 0);
  assert_int_equal(set.samples, 3); /* capped by samples */
  CalibStats st = {0};
  assert_int_equal(calib_collect(m, &set, 2, NULL, true, &st, &c.d), 0);
  Value *vx = m->graph->inputs[0], *vr = m->graph->nodes.v[0]->outputs[0];
  /* the first 3 rows: x in [-2, 7], r = relu(x) in [0, 7]; 9 elements each */
  assert_true(st.v[vx->id]->min == -2 && st.v[vx->id]->max == 7);
  assert_true(st.v[vr->id]->min == 0 && st.v[vr->id]->max == 7);
  assert_int_equal(st.v[vx->id]->count, 9);
  double tot = 0;
  for (int i = 0; i < 2 * CALIB_BINS; i++) tot += st.v[vr->id]->bins[i];
  assert_true(tot == 9);
  calib_stats_free(&st);
  calib_set_free(&set);
  /* a wrong file type is named */
  int64_t d1 = 2;
  assert_int_not_equal(calib_set_load(m, "[x=/nonexistent.npy]", 0, &set, &c.d), 0);
  calib_set_free(&set);
  (void)d1;
  assert_non_null(strstr(cap_text(&c), "/nonexistent.npy"));
  cap_free(&c);
  ir_model_free(m);
}

/* ------------------------------------------------------------------ the pass */

static int run_pipe(Model *m, const char *pipeline, Cap *c) {
  PassPipeline *p = pass_pipeline_parse(pipeline, &c->d);
  assert_non_null(p);
  PassRunOptions ro = {.verify_each = true, .pass_stats = true, .report = c->fp};
  int rc = pass_pipeline_run(m, p, &ro, &c->d);
  pass_pipeline_free(p);
  return rc;
}

static RtValue *run_model(Model *m, const float *x, int64_t rows, int64_t cols) {
  Cap c;
  cap_init(&c);
  RtOptions o = {.check_types = true};
  RtInterp *ip = rt_interp_new(m, &o, &c.d);
  assert_non_null(ip);
  int64_t d[2] = {rows, cols};
  RtValue *in = rt_tensor_new(ELEM_FLOAT, 2, d), *out = NULL;
  memcpy(in->data, x, (size_t)(rows * cols) * sizeof *x);
  int rc = rt_interp_run(ip, &in, &out);
  if (rc) fprintf(stderr, "%s", cap_text(&c));
  assert_int_equal(rc, 0);
  rt_unref(in);
  rt_interp_free(ip);
  cap_free(&c);
  return out;
}

static float init_f(Model *m, const char *name, int i) {
  for (size_t k = 0; k < m->graph->initializers.n; k++) {
    Value *v = m->graph->initializers.v[k];
    if (!strcmp(v->name, name)) return (float)ir_elem(v->init->elem)->to_f64(v->init->data, (size_t)i);
  }
  fail_msg("no initializer %s", name);
  return 0;
}

static const char *gemm_model =
    "<ir_version: 8, opset_import: [\"\" : 17]>\n"
    "g (float[N,3] x) => (float[N,2] y)\n"
    "<float[2,3] W = {0.5, -1.27, 0.01, 0.3, 0.2, -0.1}, float[2] B = {0.05, -0.2}> {\n"
    "  y = Gemm <transB: int = 1> (x, W, B)\n}\n";

static void test_per_channel_and_bound(void **s) {
  (void)s;
  Model *m = parse_verified(gemm_model);
  enum { R = 16 };
  float x[R * 3];
  for (int i = 0; i < R * 3; i++) x[i] = (float)sin(i * 1.7) * (1 + (i % 3)); /* in [-3, 3] */
  int64_t dims[2] = {R, 3};
  const char *path = write_npy("g.npy", 2, dims, x);
  RtValue *ref = run_model(m, x, R, 3);
  Cap c;
  cap_init(&c);
  char pipe[700];
  snprintf(pipe, sizeof pipe, "quantize{data=%s,batch=5}", path);
  int rc = run_pipe(m, pipe, &c);
  if (rc) fprintf(stderr, "%s", cap_text(&c));
  assert_int_equal(rc, 0);
  assert_non_null(strstr(cap_text(&c), "sqnr output y"));
  cap_free(&c);
  /* per-channel scales: max |w| of each output row / 127 */
  const float W[6] = {0.5f, -1.27f, 0.01f, 0.3f, 0.2f, -0.1f};
  assert_true(init_f(m, "W_scale", 0) == (float)(1.27f / 127.0));
  assert_true(init_f(m, "W_scale", 1) == (float)(0.3f / 127.0));
  RtValue *got = run_model(m, x, R, 3);
  /* The bound, per output channel c: the input error is at most sx/2 per element (min-max
   * range: nothing clips), the weight error sw_c/2, so |dy| <= sum_k |W_ck| sx/2 + sw_c/2
   * |x_k| + sw_c sx / 4, plus the bias rounding sx sw_c / 2; the output step adds sy/2, and
   * a value pushed past the calibrated range by that error clips by no more than it. */
  float sx = init_f(m, "x_scale", 0), sy = init_f(m, "y_scale", 0);
  for (int r = 0; r < R; r++)
    for (int ch = 0; ch < 2; ch++) {
      float sw = init_f(m, "W_scale", ch);
      double e = sx * sw / 2;
      for (int k = 0; k < 3; k++)
        e += fabs(W[ch * 3 + k]) * sx / 2 + sw / 2 * fabs(x[r * 3 + k]) + sw * sx / 4;
      double bound = 2 * e + sy / 2 + 1e-6;
      double d = fabs(((float *)got->data)[r * 2 + ch] - ((float *)ref->data)[r * 2 + ch]);
      assert_true(d <= bound);
    }
  rt_unref(ref), rt_unref(got);
  ir_model_free(m);
}

static void test_dynamic_by_hand(void **s) {
  (void)s;
  Model *m = parse_verified("<ir_version: 8, opset_import: [\"\" : 17]>\n"
                            "g (float[1,2] x) => (float[1,2] y)\n"
                            "<float[2,2] W = {0.5, -0.25, 1.0, 0.125}> {\n"
                            "  y = MatMul (x, W)\n}\n");
  Cap c;
  cap_init(&c);
  int rc = run_pipe(m, "quantize{mode=dynamic}", &c);
  if (rc) fprintf(stderr, "%s", cap_text(&c));
  assert_int_equal(rc, 0);
  cap_free(&c);
  float x[2] = {0.5f, -1.0f};
  RtValue *got = run_model(m, x, 1, 2);
  /* DynamicQuantizeLinear: range [-1, 0.5] -> scale 1.5/255, zero point round(1/scale) =
   * 170; x -> round(x/scale) + 170 = {255, 0}. Weights per column: max |w| = 1.0 and 0.25,
   * scales 1/127 and 0.25/127, W -> {64, -127; 127, 64} (0.5*127 = 63.5 rounds to even 64).
   * acc = sum (xq - 170) * wq: col 0: 85*64 + (-170)*127 = -16150; col 1: 85*(-127) +
   * (-170)*64 = -21675. y = acc * (xs * ws). */
  float xs = 1.5f / 255.0f;
  float ws[2] = {1.0f / 127.0f, 0.25f / 127.0f};
  int32_t acc[2] = {85 * 64 + -170 * 127, 85 * -127 + -170 * 64};
  for (int j = 0; j < 2; j++) {
    float want = (float)acc[j] * (xs * ws[j]);
    assert_true(fabsf(((float *)got->data)[j] - want) <= 1e-6f * fabsf(want));
  }
  rt_unref(got);
  ir_model_free(m);
}

static void test_smooth_by_hand(void **s) {
  (void)s;
  Model *m = parse_verified("<ir_version: 8, opset_import: [\"\" : 17]>\n"
                            "g (float[N,2] x) => (float[N,2] y)\n"
                            "<float[2] gm = {4, 0.5}, float[2] bt = {0, 0},"
                            " float[2,2] W = {0.5, -1, 2, 0.25}> {\n"
                            "  h = LayerNormalization (x, gm, bt)\n  y = MatMul (h, W)\n}\n");
  float x[4] = {1, 3, 2, -2};
  int64_t dims[2] = {2, 2};
  const char *path = write_npy("s.npy", 2, dims, x);
  Cap c;
  cap_init(&c);
  char pipe[700];
  snprintf(pipe, sizeof pipe, "quantize{data=%s,smooth=0.5,mode=dynamic}", path);
  int rc = run_pipe(m, pipe, &c);
  if (rc) fprintf(stderr, "%s", cap_text(&c));
  assert_int_equal(rc, 0);
  assert_non_null(strstr(cap_text(&c), "smoothed-layers = 1"));
  cap_free(&c);
  /* Each row of two normalizes to -+d/sqrt(d^2 + eps) (d = 1 and 2 here), so max|X_j| =
   * gm_j / sqrt(1 + 1e-5); max|W_j| over row j: 1 and 2. alpha 0.5:
   * s = sqrt(max|X_j|) / sqrt(max|W_j|) = {2, 0.5} / (1 + 1e-5)^(1/4). */
  double k = pow(1 + 1e-5, 0.25), s0 = 2 / k, s1 = 0.5 / k;
  assert_true(fabs(init_f(m, "gm_smooth", 0) - 4 / s0) < 1e-5);
  assert_true(fabs(init_f(m, "gm_smooth", 1) - 0.5 / s1) < 1e-5);
  ir_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ranges_uniform),
      cmocka_unit_test(test_ranges_outlier),
      cmocka_unit_test(test_collect_minmax),
      cmocka_unit_test(test_per_channel_and_bound),
      cmocka_unit_test(test_dynamic_by_hand),
      cmocka_unit_test(test_smooth_by_hand),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
