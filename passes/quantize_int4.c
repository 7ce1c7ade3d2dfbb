/* quantize_int4.c - pass `quantize-int4`: weight-only group-wise quantization of MatMul (and
 * Gemm) with constant float32 weights into com.microsoft MatMulNBits, by round-to-nearest,
 * GPTQ or AWQ (the numerics are int4.c). GPTQ and AWQ read the layers' inputs on a
 * calibration set through the interpreter (calib.h): GPTQ accumulates X^T X per layer, AWQ
 * the mean |X_k| per input channel and a sample of rows for its scale search. All layers
 * see the float model's activations (not the already quantized predecessors'). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib.h"
#include "int4.h"
#include "passes.h"

#define KEEP_ROWS 512 /* rows of each layer's input kept for AWQ's search and the report */

typedef struct Site {
  Node *n;
  bool gemm;
  int64_t K, N;
  const float *w;   /* the constant weight */
  bool wt;          /* w is [N, K] (Gemm transB) rather than [K, N] */
  Value *bias;      /* Gemm's C when it is a [N] / [1, N] constant, else NULL */
  double *H;        /* GPTQ: sum of x x^T (K x K, upper triangle while collecting) */
  double *amean;    /* AWQ: sum of |x_k| */
  float *rows;      /* KEEP_ROWS x K sample of the input */
  int64_t seen, kept, stride;
} Site;

typedef struct Opts {
  int method; /* 0 rtn, 1 gptq, 2 awq */
  int64_t group, block;
  bool sym, act_order;
  double damp;
} Opts;

static const Tensor *const_f32(const Value *v, int rank) {
  const Tensor *t = v ? pass_const_data(v) : NULL;
  return t && t->has_data && t->elem == ELEM_FLOAT && t->rank == rank ? t : NULL;
}

/* The MatMul / Gemm nodes of the main graph that can become MatMulNBits. */
static int find_sites(Graph *g, Site **out) {
  Site *s = calloc(g->nodes.n ? g->nodes.n : 1, sizeof *s);
  int ns = 0;
  for (size_t i = 0; i < g->nodes.n; i++) {
    Node *n = g->nodes.v[i];
    if (!n || !n->op || *n->op->domain || n->n_outputs < 1 || !n->outputs[0]) continue;
    bool mm = !strcmp(n->op->family, "MatMul"), gm = !strcmp(n->op->family, "Gemm");
    if ((!mm && !gm) || n->n_inputs < 2 || !n->inputs[0]) continue;
    const Tensor *b = const_f32(n->inputs[1], 2);
    const Type *at = n->inputs[0]->type;
    if (!b || !at || at->kind != TYPE_TENSOR || at->elem != ELEM_FLOAT || at->rank < 1) continue;
    Site st = {.n = n, .gemm = gm, .w = b->data};
    if (gm) {
      if (ir_attr_int(n, "transA", 0) || ir_attr_float(n, "alpha", 1) != 1 ||
          ir_attr_float(n, "beta", 1) != 1 || at->rank != 2)
        continue;
      st.wt = ir_attr_int(n, "transB", 0) != 0;
    }
    st.K = b->dims[st.wt ? 1 : 0], st.N = b->dims[st.wt ? 0 : 1];
    if (st.K < 1 || st.N < 1) continue;
    if (gm && n->n_inputs > 2 && n->inputs[2]) {
      const Tensor *c = pass_const_data(n->inputs[2]);
      uint64_t cn;
      if (!c || !c->has_data || c->elem != ELEM_FLOAT || !ir_tensor_numel(c, &cn) ||
          cn != (uint64_t)st.N || c->rank < 1 || c->rank > 2 || (c->rank == 2 && c->dims[0] != 1))
        continue;
      st.bias = n->inputs[2];
    }
    s[ns++] = st;
  }
  *out = s;
  return ns;
}

typedef struct Collect {
  Site *s;
  int ns;
  int64_t samples; /* in the calibration set */
} Collect;

static void observe(void *ctx, const Node *n, RtValue *const *ins, RtValue *const *outs) {
  Collect *c = ctx;
  (void)outs;
  for (int i = 0; i < c->ns; i++) {
    Site *s = &c->s[i];
    if (s->n != n) continue;
    const RtValue *x = ins[0];
    if (!x || x->elem != ELEM_FLOAT || x->numel % (uint64_t)s->K) return;
    const float *f = x->data;
    int64_t K = s->K, rows = (int64_t)(x->numel / (uint64_t)K);
    for (int64_t r = 0; r < rows; r++, s->seen++) {
      const float *xr = f + r * K;
      if (s->H)
        for (int64_t a = 0; a < K; a++) {
          double xa = xr[a];
          if (xa == 0) continue;
          double *h = s->H + a * K;
          for (int64_t b = a; b < K; b++) h[b] += xa * xr[b];
        }
      if (s->amean)
        for (int64_t k = 0; k < K; k++) s->amean[k] += fabs((double)xr[k]);
      if (!s->stride) { /* every stride-th row of the whole set: about KEEP_ROWS */
        int64_t per = x->rank >= 2 && x->dims[0] > 0 ? rows / x->dims[0] : rows;
        s->stride = per * c->samples / KEEP_ROWS > 1 ? per * c->samples / KEEP_ROWS : 1;
      }
      if (s->seen % s->stride == 0 && s->kept < KEEP_ROWS)
        memcpy(s->rows + s->kept++ * K, xr, (size_t)K * sizeof *xr);
    }
    return;
  }
}

/* W[n][k] (N x K doubles) of a site. */
static double *weights_nk(const Site *s) {
  double *w = malloc((size_t)(s->N * s->K) * sizeof *w);
  if (!w) abort();
  for (int64_t n = 0; n < s->N; n++)
    for (int64_t k = 0; k < s->K; k++)
      w[n * s->K + k] = s->w[s->wt ? n * s->K + k : k * s->N + n];
  return w;
}

static Value *add_init(Graph *g, Model *m, const char *base, ElemType e, int rank,
                       const int64_t *dims, const void *data, size_t nbytes) {
  Tensor *t = ir_tensor_new(&m->arena, e, rank, dims);
  if (!ir_tensor_alloc_data(&m->arena, t)) abort();
  t->has_data = true;
  memcpy(t->data, data, nbytes);
  return pass_add_initializer(g, base, t);
}

/* x / s folded into x's producer when it is a LayerNormalization over the last axis with
 * constant scale (and bias) and x feeds only this product: scale and bias divided by s (new
 * initializers). False when that does not apply. */
static bool fold_into_ln(Model *m, Graph *g, Value *x, const float *awq_s, int64_t K) {
  Node *ln = x->producer;
  if (!ln || !ln->op || *ln->op->domain || strcmp(ln->op->family, "LayerNormalization") ||
      pass_use_count(x) != 1 || pass_is_graph_output(g, x) || ln->n_inputs < 2 || !x->type ||
      x->type->rank < 1)
    return false;
  int64_t axis = ir_attr_int(ln, "axis", -1);
  if (axis != -1 && axis != x->type->rank - 1) return false;
  for (int k = 1; k < ln->n_outputs; k++)
    if (ln->outputs[k] && pass_use_count(ln->outputs[k])) return false;
  const Tensor *sc = const_f32(ln->inputs[1], 1);
  const Tensor *bi = ln->n_inputs > 2 && ln->inputs[2] ? const_f32(ln->inputs[2], 1) : NULL;
  if (!sc || sc->dims[0] != K || (ln->n_inputs > 2 && ln->inputs[2] && (!bi || bi->dims[0] != K)))
    return false;
  for (int i = 1; i < 3 && i < ln->n_inputs; i++) {
    const Tensor *t = i == 1 ? sc : bi;
    if (!t) continue;
    float *v = malloc((size_t)K * sizeof *v);
    for (int64_t k = 0; k < K; k++) v[k] = ((const float *)t->data)[k] / awq_s[k];
    char nm[256];
    snprintf(nm, sizeof nm, "%s_awq", ln->inputs[i]->name);
    pass_set_input(ln, i, add_init(g, m, nm, ELEM_FLOAT, 1, &K, v, (size_t)K * sizeof *v));
    free(v);
  }
  return true;
}

/* The site's node as MatMulNBits (*fused), behind *mul = Mul(x, 1/s) when awq_s (else
 * NULL); the old node is unlinked. Returns the bytes of the new weights. */
static uint64_t rewrite(Model *m, Graph *g, Site *s, const Int4Layer *l, const float *awq_s,
                        Node **fused, Node **mul_out) {
  Node *old = s->n;
  const char *base = old->name ? old->name : old->outputs[0]->name;
  char nm[256];
  int64_t blob = l->group * l->bits / 8, nbytes = s->N * l->kb * blob;
  uint8_t *packed = calloc((size_t)nbytes, 1);
  for (int64_t n = 0; n < s->N; n++)
    for (int64_t b = 0; b < l->kb; b++)
      int4_pack(l->q + (n * l->kb + b) * l->group, l->group, l->bits,
                packed + (n * l->kb + b) * blob);
  int64_t bd[3] = {s->N, l->kb, blob}, sd[1] = {s->N * l->kb};
  snprintf(nm, sizeof nm, "%s_q4", base);
  Value *vb = add_init(g, m, nm, ELEM_UINT8, 3, bd, packed, (size_t)nbytes);
  snprintf(nm, sizeof nm, "%s_scales", base);
  Value *vs = add_init(g, m, nm, ELEM_FLOAT, 1, sd, l->scales, (size_t)sd[0] * sizeof(float));
  uint64_t bytes = (uint64_t)nbytes + (uint64_t)sd[0] * 4;
  Value *vz = NULL, *vg = NULL;
  if (!l->sym) {
    int64_t per = (l->kb * l->bits + 7) / 8, zd[1] = {s->N * per};
    uint8_t *zp = calloc((size_t)zd[0], 1);
    for (int64_t n = 0; n < s->N; n++) int4_pack(l->zp + n * l->kb, l->kb, l->bits, zp + n * per);
    snprintf(nm, sizeof nm, "%s_zp", base);
    vz = add_init(g, m, nm, ELEM_UINT8, 1, zd, zp, (size_t)zd[0]);
    bytes += (uint64_t)zd[0];
    free(zp);
  }
  if (l->g_idx) {
    int64_t gd[1] = {s->K};
    snprintf(nm, sizeof nm, "%s_g_idx", base);
    vg = add_init(g, m, nm, ELEM_INT32, 1, gd, l->g_idx, (size_t)s->K * 4);
    bytes += (uint64_t)s->K * 4;
  }
  free(packed);
  Value *x = old->inputs[0];
  Node *mul = NULL;
  if (awq_s && fold_into_ln(m, g, x, awq_s, s->K))
    awq_s = NULL; /* the LayerNormalization computes x / s (its parameters replaced) */
  if (awq_s) { /* x / s as a Mul by the reciprocal, right before the product */
    float *inv = malloc((size_t)s->K * sizeof *inv);
    for (int64_t k = 0; k < s->K; k++) inv[k] = 1.0f / awq_s[k];
    int64_t kd[1] = {s->K};
    snprintf(nm, sizeof nm, "%s_awq_inv_s", base);
    Value *vi = add_init(g, m, nm, ELEM_FLOAT, 1, kd, inv, (size_t)s->K * sizeof *inv);
    free(inv);
    bytes += (uint64_t)s->K * 4;
    snprintf(nm, sizeof nm, "%s_awq_x", base);
    Value *xs = ir_value_new(g, pass_fresh_name(g, nm), x->type);
    mul = ir_node_new(g, "", "Mul", 2, 1);
    mul->name = pass_fresh_name(g, nm);
    mul->loc = old->loc;
    mul->graph = g;
    ir_node_set_input(mul, 0, x);
    ir_node_set_input(mul, 1, vi);
    ir_node_set_output(mul, 0, xs);
    mul->op = ir_op_find("", "Mul", 14);
    x = xs;
  }
  pass_ensure_opset(m, "com.microsoft", 1);
  int nin = s->bias ? 6 : vg ? 5 : vz ? 4 : 3;
  Node *f = ir_node_new(g, "com.microsoft", "MatMulNBits", nin, 1);
  f->name = old->name;
  f->loc = old->loc;
  f->graph = g;
  pass_set_attr_int(f, "K", s->K);
  pass_set_attr_int(f, "N", s->N);
  pass_set_attr_int(f, "bits", l->bits);
  pass_set_attr_int(f, "block_size", l->group);
  ir_node_set_input(f, 0, x);
  ir_node_set_input(f, 1, vb);
  ir_node_set_input(f, 2, vs);
  if (vz) ir_node_set_input(f, 3, vz);
  if (vg) ir_node_set_input(f, 4, vg);
  if (s->bias) ir_node_set_input(f, 5, s->bias);
  ir_node_set_output(f, 0, old->outputs[0]);
  f->op = ir_op_find("com.microsoft", "MatMulNBits", 1);
  pass_unlink_node(old);
  *fused = f;
  *mul_out = mul;
  return bytes;
}

/* Output SQNR (dB) of the quantized layer against the float one on the kept rows. */
static double layer_sqnr(const Site *s, const double *w, const Int4Layer *l, const float *awq_s) {
  if (!s->kept) return NAN;
  float *wq = malloc((size_t)(s->N * s->K) * sizeof *wq);
  int4_dequant(l, wq);
  if (awq_s)
    for (int64_t n = 0; n < s->N; n++)
      for (int64_t k = 0; k < s->K; k++) wq[n * s->K + k] /= awq_s[k];
  double e = int4_output_err(s->rows, s->kept, w, wq, s->N, s->K), p = 0;
  for (int64_t r = 0; r < s->kept; r++)
    for (int64_t n = 0; n < s->N; n++) {
      double a = 0;
      for (int64_t k = 0; k < s->K; k++) a += (double)s->rows[r * s->K + k] * w[n * s->K + k];
      p += a * a;
    }
  free(wq);
  return e > 0 ? 10 * log10(p / e) : INFINITY;
}

static int quantize_site(Model *m, Graph *g, Site *s, const Opts *o, PassCtx *c, Node **fused,
                         Node **mul, uint64_t *bytes) {
  double *w = weights_nk(s), *w0 = weights_nk(s);
  Int4Layer l;
  int4_layer_init(&l, s->K, s->N, o->group, 4, o->sym);
  float *awq_s = NULL;
  const char *name = s->n->name ? s->n->name : s->n->outputs[0]->name;
  char extra[96] = "";
  int rc = 0;
  if (o->method == 1) {
    for (int64_t a = 0; a < s->K; a++) /* mirror the upper triangle, scale by 2 / rows */
      for (int64_t b = 0; b < s->K; b++) {
        if (b < a) s->H[a * s->K + b] = s->H[b * s->K + a];
      }
    for (int64_t i = 0; i < s->K * s->K; i++) s->H[i] *= 2.0 / (double)(s->seen ? s->seen : 1);
    double used;
    if (int4_gptq(w, s->H, &l, o->damp, o->block, o->act_order, &used)) {
      ir_error(c->d, s->n->loc, "layer '%s': the Hessian stays singular after "
               "damping", name);
      rc = -1;
    }
    snprintf(extra, sizeof extra, ", damping %g", used);
  } else if (o->method == 2) {
    awq_s = malloc((size_t)s->K * sizeof *awq_s);
    double *mean = malloc((size_t)s->K * sizeof *mean), err, err0;
    for (int64_t k = 0; k < s->K; k++) mean[k] = s->amean[k] / (double)(s->seen ? s->seen : 1);
    double alpha = int4_awq(w0, s->rows, s->kept, mean, 20, &l, awq_s, &err, &err0);
    snprintf(extra, sizeof extra, ", alpha %.2f (output error %.3g, RTN %.3g)", alpha, err, err0);
    free(mean);
  } else {
    int4_rtn(w, &l);
  }
  if (!rc) {
    double db = layer_sqnr(s, w0, &l, awq_s);
    if (!isnan(db))
      ir_note(c->d, s->n->loc, "%s [K %lld, N %lld]: output SQNR %.2f dB on %lld "
              "calibration rows%s", name, (long long)s->K, (long long)s->N, db, (long long)s->kept,
              extra);
    *bytes = rewrite(m, g, s, &l, awq_s, fused, mul);
  }
  free(w), free(w0), free(awq_s);
  int4_layer_free(&l);
  return rc;
}

static int run(Model *m, const PassOptions *po, PassCtx *c) {
  Opts o = {0};
  const char *meth = pass_opt_str(po, "method");
  o.method = !strcmp(meth, "rtn") ? 0 : !strcmp(meth, "gptq") ? 1 : !strcmp(meth, "awq") ? 2 : -1;
  o.group = pass_opt_int(po, "group");
  o.block = pass_opt_int(po, "block");
  o.sym = pass_opt_int(po, "sym") != 0;
  o.act_order = pass_opt_int(po, "act-order") != 0;
  o.damp = pass_opt_float(po, "damp");
  const char *data = pass_opt_str(po, "data"), *tokens = pass_opt_str(po, "tokens");
  int64_t samples = pass_opt_int(po, "samples"), batch = pass_opt_int(po, "batch");
  if (o.method < 0) {
    ir_error(c->d, ir_noloc, "method must be rtn, gptq or awq, not '%s'", meth);
    return -1;
  }
  if (o.group != 16 && o.group != 32 && o.group != 64 && o.group != 128 && o.group != 256) {
    ir_error(c->d, ir_noloc, "group must be 16, 32, 64, 128 or 256, not %lld",
             (long long)o.group);
    return -1;
  }
  if (o.block < 1 || !(o.damp >= 0) || samples < 0 || batch < 0) {
    ir_error(c->d, ir_noloc, "block must be >= 1, damp, samples and batch >= 0");
    return -1;
  }
  if (*data && *tokens) {
    ir_error(c->d, ir_noloc, "give data= or tokens=, not both");
    return -1;
  }
  const char *spec = *data ? data : tokens;
  if (o.method && !*spec) {
    ir_error(c->d, ir_noloc, "method=%s needs calibration data: data=X.npy or "
             "tokens=T.npy", meth);
    return -1;
  }
  pass_load_weights(m, c->d);
  Graph *g = m->graph;
  Site *s;
  int ns = find_sites(g, &s);
  int rc = 0;
  if (*spec && ns) {
    CalibSet set = {0};
    rc = calib_set_load(m, spec, samples, &set, c->d);
    for (int i = 0; i < ns && !rc; i++) {
      int64_t K = s[i].K;
      if (o.method == 1) s[i].H = calloc((size_t)(K * K), sizeof *s[i].H);
      if (o.method == 2) s[i].amean = calloc((size_t)K, sizeof *s[i].amean);
      s[i].rows = malloc((size_t)(KEEP_ROWS * K) * sizeof *s[i].rows);
      if ((o.method == 1 && !s[i].H) || (o.method == 2 && !s[i].amean) || !s[i].rows) abort();
    }
    Collect col = {s, ns, set.samples};
    if (!rc) rc = calib_run(m, &set, batch, observe, &col, c->d);
    calib_set_free(&set);
  }
  uint64_t before = 0, after = 0;
  Node **fused = calloc((size_t)ns + 1, sizeof *fused), **muls = calloc((size_t)ns + 1, sizeof *muls);
  for (int i = 0; i < ns && !rc; i++) {
    uint64_t b = 0;
    rc = quantize_site(m, g, &s[i], &o, c, &fused[i], &muls[i], &b);
    before += (uint64_t)(s[i].K * s[i].N) * 4;
    after += b;
  }
  if (!rc && ns) { /* the new nodes take the old ones' places */
    IR_VEC(Node *) v = {0};
    int k = 0;
    for (size_t i = 0; i < g->nodes.n; i++) {
      if (k < ns && g->nodes.v[i] == s[k].n) {
        if (muls[k]) ir_vec_push(v, muls[k]);
        ir_vec_push(v, fused[k]);
        k++;
        continue;
      }
      ir_vec_push(v, g->nodes.v[i]);
    }
    ir_vec_free(g->nodes);
    g->nodes.v = v.v, g->nodes.n = v.n, g->nodes.cap = v.cap;
    pass_stat(c, "layers", ns);
    pass_stat(c, "weight-bytes-before", (int64_t)before);
    pass_stat(c, "weight-bytes-after", (int64_t)after);
  }
  for (int i = 0; i < ns; i++) free(s[i].H), free(s[i].amean), free(s[i].rows);
  free(s), free(fused), free(muls);
  return rc;
}

static const PassOptSpec opts[] = {
    {"method", POPT_STRING, "rtn", "rtn (round to nearest), gptq (Hessian error feedback) or awq "
                                   "(activation-aware scales)"},
    {"group", POPT_INT, "128", "weights per scale along K (block_size): 16, 32, 64, 128 or 256"},
    {"sym", POPT_INT, "0", "1: symmetric codes around 8 (no zero points stored)"},
    {"data", POPT_STRING, "", "calibration inputs for gptq/awq: X.npy or [name=X.npy,...]"},
    {"tokens", POPT_STRING, "", "calibration token sequences (int64 [S, T]) of a token model"},
    {"samples", POPT_INT, "64", "calibration samples used (0: all)"},
    {"batch", POPT_INT, "16", "samples per interpreter run"},
    {"damp", POPT_FLOAT, "0.01", "gptq: damping added to diag(H), times its mean"},
    {"act-order", POPT_INT, "0", "gptq: 1 quantizes columns by decreasing diag(H) (stores g_idx)"},
    {"block", POPT_INT, "128", "gptq: columns per lazy block update"},
};

const Pass pass_quantize_int4 = {
    "quantize-int4",
    "weight-only group-wise INT4 (RTN, GPTQ, AWQ) of MatMul/Gemm into com.microsoft MatMulNBits",
    opts,
    (int)(sizeof opts / sizeof opts[0]),
    run,
    PASS_REQ_SHAPES | PASS_REQ_KERNELS,
    "Every MatMul with a constant float32 2-D B, and every Gemm with a constant B (transA 0, "
    "alpha = beta = 1, C absent or a constant [N] bias), becomes ONNX Runtime's "
    "com.microsoft.MatMulNBits (bits 4, block_size = group): B packed as uint8 [N, "
    "ceil(K/group), group/2] (two codes a byte, low nibble first), scales float [N * blocks], "
    "zero points packed 4-bit uint8 [N * ceil(blocks/2)] (asymmetric; sym=1 stores none, the "
    "op's default 8), Gemm's C as the bias input. rtn: min-max per group over [min(w,0), "
    "max(w,0)] (sym: scale max|w|/7). gptq: H = 2 X^T X / rows from the layer's inputs on the "
    "calibration set (the float model's), damp times mean(diag H) added (tenfold more while "
    "the Cholesky factorization fails), columns quantized in order with the error spread over "
    "the remaining columns through the upper Cholesky factor of H^-1, in lazy blocks of "
    "`block` columns; act-order=1 visits columns by decreasing diag(H), groups follow that "
    "order and g_idx records each column's group. awq: s_k = mean|X_k|^alpha (normalized), "
    "alpha on a grid of 21 points in [0, 1] chosen by the output MSE on up to 512 calibration "
    "rows; W s is quantized and x / s folded into the LayerNormalization that produces x (its "
    "scale and bias divided by s) when x feeds nothing else, else computed by a Mul right "
    "before the MatMulNBits. Each "
    "layer's output SQNR on the calibration rows is reported when data is given. See "
    "docs/quantization.md.",
};
