/* quantize.c - the `quantize` pass: INT8 post-training quantization in QDQ form (standard
 * ONNX that ONNX Runtime runs). Static: activations calibrated on a .npy set through the
 * interpreter (calib.h), QuantizeLinear -> DequantizeLinear on every activation that feeds
 * or leaves Conv/Gemm/MatMul/Add/Mul/Concat/pools, int8 weights per channel or per tensor,
 * int32 biases on x_scale * w_scale, optional bias correction. Dynamic: DynamicQuantizeLinear
 * + MatMulInteger + a scale Mul for MatMul/Gemm with constant weights. Optional SmoothQuant
 * first. Reports the output SQNR per quantized value and per model output. */
#include "calib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct QOpts {
  bool dynamic, per_channel, sym;
  ElemType act;    /* UINT8 or INT8 */
  CalibMethod method;
  double pct, smooth;
  int64_t samples, batch;
  bool bias_corr;
  const char *data;
} QOpts;

typedef struct QParam {
  float scale;
  int32_t zp;
  Value *vs, *vz; /* the scale and zero point initializers */
} QParam;

typedef enum { K_NONE, K_CORE, K_ELEM, K_PASS } Kind;

static bool is_op(const Node *n, const char *family) {
  return n && n->op && !strcmp(n->op->family, family);
}

static bool is_float_act(const Value *v) {
  return v && !pass_const_data(v) && v->type && v->type->kind == TYPE_TENSOR &&
         v->type->elem == ELEM_FLOAT;
}

static const Tensor *const_float(const Value *v) {
  const Tensor *t = v ? pass_const_data(v) : NULL;
  return t && t->has_data && t->elem == ELEM_FLOAT ? t : NULL;
}

static uint64_t numel(const Tensor *t) {
  uint64_t n = 0;
  return ir_tensor_numel(t, &n) ? n : 0;
}

/* The weight of a Conv/Gemm/MatMul core (constant float), else NULL. */
static const Tensor *core_weight(const Node *n) {
  if (n->n_inputs < 2) return NULL;
  const Tensor *w = const_float(n->inputs[1]);
  if (!w) return NULL;
  if (is_op(n, "Conv")) return w->rank >= 3 ? w : NULL;
  if (is_op(n, "Gemm")) return w->rank == 2 && !ir_attr_int(n, "transA", 0) ? w : NULL;
  if (is_op(n, "MatMul")) return w->rank == 2 ? w : NULL;
  return NULL;
}

/* The output-channel axis of a core's weight. */
static int weight_axis(const Node *n) {
  if (is_op(n, "Conv")) return 0;
  if (is_op(n, "Gemm")) return ir_attr_int(n, "transB", 0) ? 0 : 1;
  return 1;
}

static Kind kind_of(const Node *n) {
  static const char *const core[] = {"Conv", "Gemm", "MatMul"};
  static const char *const elem[] = {"Add", "Mul", "Concat", "AveragePool", "GlobalAveragePool"};
  static const char *const pass[] = {"MaxPool", "Flatten", "Reshape", "Transpose", "Squeeze",
                                     "Unsqueeze"};
  if (!n->op || !n->n_outputs || !n->outputs[0]) return K_NONE;
  for (size_t i = 0; i < sizeof core / sizeof *core; i++)
    if (is_op(n, core[i])) {
      if (is_op(n, "MatMul")) return is_float_act(n->inputs[0]) ? K_CORE : K_NONE;
      return core_weight(n) && is_float_act(n->inputs[0]) ? K_CORE : K_NONE;
    }
  for (size_t i = 0; i < sizeof elem / sizeof *elem; i++)
    if (is_op(n, elem[i])) return K_ELEM;
  for (size_t i = 0; i < sizeof pass / sizeof *pass; i++)
    if (is_op(n, pass[i])) return n->n_outputs == 1 || !n->outputs[1] ? K_PASS : K_NONE;
  return K_NONE;
}

/* ------------------------------------------------------------------ new graph pieces */

static Tensor *new_tensor(Model *m, ElemType e, int rank, const int64_t *dims) {
  Tensor *t = ir_tensor_new(&m->arena, e, rank, dims);
  if (!ir_tensor_alloc_data(&m->arena, t)) abort();
  t->has_data = true;
  return t;
}

static Value *scalar_init(Graph *g, const char *base, ElemType e, double x) {
  Tensor *t = new_tensor(g->model, e, 0, NULL);
  ir_elem(e)->from_f64(t->data, 0, x);
  return pass_add_initializer(g, base, t);
}

static Type *type_as(Arena *a, const Type *t, ElemType e) {
  if (!t) return NULL;
  Type *r = ir_arena_dup(a, t, sizeof *t);
  if (t->rank > 0) r->dims = ir_arena_dup(a, t->dims, (size_t)t->rank * sizeof *t->dims);
  r->elem = e;
  return r;
}

static Node *new_node(Graph *g, const char *op, int nin, int nout, const char *name) {
  Node *n = ir_node_new(g, "", op, nin, nout);
  n->op = ir_op_find("", op, ir_model_opset(g->model, ""));
  n->name = name;
  return n;
}

/* Nodes to insert: after[k] go right after g->nodes.v[k]; front ones first. */
typedef struct Inserts {
  IR_VEC(Node *) front;
  IR_VEC(Node *) *after; /* by position */
} Inserts;

static void rebuild(Graph *g, Inserts *ins, const bool *drop) {
  IR_VEC(Node *) v = {0};
  for (size_t i = 0; i < ins->front.n; i++) ir_vec_push(v, ins->front.v[i]);
  for (size_t k = 0; k < g->nodes.n; k++) {
    if (!drop || !drop[k]) ir_vec_push(v, g->nodes.v[k]);
    for (size_t i = 0; i < ins->after[k].n; i++) ir_vec_push(v, ins->after[k].v[i]);
    ir_vec_free(ins->after[k]);
  }
  ir_vec_free(ins->front);
  free(ins->after);
  ir_vec_free(g->nodes);
  g->nodes.v = v.v, g->nodes.n = v.n, g->nodes.cap = v.cap;
}

/* Symmetric int8 weights [-127, 127], per channel on `axis` (or per tensor): the quantized
 * tensor and the scales (count 1 or dims[axis]). */
static Tensor *quant_weight(Model *m, const Tensor *w, int axis, bool per_channel,
                            float *scales) {
  uint64_t n = numel(w);
  int64_t C = per_channel ? w->dims[axis] : 1, inner = 1;
  for (int i = axis + 1; i < w->rank; i++) inner *= w->dims[i];
  const float *f = w->data;
  double *amax = calloc((size_t)C, sizeof *amax);
  if (!amax) abort();
  for (uint64_t i = 0; i < n; i++) {
    int64_t c = per_channel ? (int64_t)(i / (uint64_t)inner) % C : 0;
    amax[c] = fmax(amax[c], fabs(f[i]));
  }
  for (int64_t c = 0; c < C; c++) scales[c] = amax[c] > 0 ? (float)(amax[c] / 127.0) : 1.0f;
  free(amax);
  Tensor *q = new_tensor(m, ELEM_INT8, w->rank, w->dims);
  int8_t *o = q->data;
  for (uint64_t i = 0; i < n; i++) {
    int64_t c = per_channel ? (int64_t)(i / (uint64_t)inner) % C : 0;
    double r = nearbyint((double)f[i] / scales[c]);
    o[i] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
  }
  return q;
}

/* DequantizeLinear(q, scale, zero) of a constant; per channel on `axis` when C > 1. */
static Value *dq_const(Graph *g, Inserts *ins, Tensor *q, const float *scales, int64_t C,
                       int axis, const char *base) {
  Model *m = g->model;
  Value *vq = pass_add_initializer(g, ir_arena_printf(&m->arena, "%s_quantized", base), q);
  Tensor *ts = new_tensor(m, ELEM_FLOAT, C > 1 ? 1 : 0, &C);
  memcpy(ts->data, scales, (size_t)C * sizeof *scales);
  Value *vs = pass_add_initializer(g, ir_arena_printf(&m->arena, "%s_scale", base), ts);
  Value *vz = NULL;
  if (q->elem != ELEM_INT32) {
    Tensor *tz = new_tensor(m, q->elem, C > 1 ? 1 : 0, &C);
    vz = pass_add_initializer(g, ir_arena_printf(&m->arena, "%s_zero_point", base), tz);
  }
  Node *d = new_node(g, "DequantizeLinear", vz ? 3 : 2, 1, NULL);
  ir_node_set_input(d, 0, vq);
  ir_node_set_input(d, 1, vs);
  if (vz) ir_node_set_input(d, 2, vz);
  if (C > 1) pass_set_attr_int(d, "axis", axis);
  Value *out = ir_value_new(g, pass_fresh_name(g, ir_arena_printf(&m->arena, "%s_dequantized", base)),
                            ir_type_tensor(&m->arena, ELEM_FLOAT, q->rank, q->dims));
  ir_node_set_output(d, 0, out);
  ir_vec_push(ins->front, d);
  return out;
}

/* Drop initializers nothing reads any more (the float weights that were quantized). */
static void drop_dead_inits(Graph *g) {
  size_t w = 0;
  for (size_t i = 0; i < g->initializers.n; i++) {
    Value *v = g->initializers.v[i];
    if (pass_use_count(v) || pass_is_graph_output(g, v) || pass_is_graph_input(g, v))
      g->initializers.v[w++] = v;
  }
  g->initializers.n = w;
}

/* ------------------------------------------------------------------ activation params */

static QParam act_param(const CalibHist *h, const QOpts *o) {
  double lo, hi;
  calib_range(h, o->method, o->pct, o->sym, o->sym ? 254 : 255, &lo, &hi);
  QParam p = {0};
  if (o->sym) {
    p.scale = (float)(hi / 127.0);
    return p;
  }
  p.scale = (float)((hi - lo) / 255.0);
  double qmin = o->act == ELEM_UINT8 ? 0 : -128, z = nearbyint(qmin - lo / p.scale);
  p.zp = (int32_t)fmin(fmax(z, qmin), qmin + 255);
  return p;
}

/* ------------------------------------------------------------------ the static plan */

typedef struct Plan {
  uint32_t nv;
  int32_t *root;  /* by value id: -1 not quantized; else the id whose params it takes */
  Node **core;    /* cores (Conv/Gemm/MatMul with constant weights), graph order */
  int ncore;
} Plan;

static void mark(Plan *p, const Value *v, int32_t root) {
  if (v && v->id < p->nv && p->root[v->id] < 0) p->root[v->id] = root;
}

/* The value a node's output is quantized at: through a Relu that is its only reader. */
static Value *quant_point(Graph *g, Value *v) {
  if (pass_use_count(v) != 1 || pass_is_graph_output(g, v)) return v;
  Node *r = v->uses->node;
  return is_op(r, "Relu") && r->graph == g ? r->outputs[0] : v;
}

static void plan_graph(Graph *g, Plan *p) {
  for (size_t k = 0; k < g->nodes.n; k++) {
    Node *n = g->nodes.v[k];
    Kind kd = kind_of(n);
    if (kd == K_NONE) continue;
    Value *x = n->inputs[0];
    if (kd == K_PASS) {
      if (x && x->id < p->nv && p->root[x->id] >= 0 && is_float_act(n->outputs[0]))
        mark(p, n->outputs[0], p->root[x->id]);
      continue;
    }
    int nin = kd == K_CORE ? (core_weight(n) ? 1 : 2) : n->n_inputs;
    for (int i = 0; i < nin; i++)
      if (is_float_act(n->inputs[i])) mark(p, n->inputs[i], (int32_t)n->inputs[i]->id);
    if (kd == K_CORE && core_weight(n)) p->core[p->ncore++] = n;
    Value *y = quant_point(g, n->outputs[0]);
    if (is_float_act(y)) mark(p, y, (int32_t)y->id);
  }
}

/* ------------------------------------------------------------------ reference runs */

/* Per-channel output means of the cores with a bias, and float copies of the quantized
 * values and model outputs (first `cap` elements of each) for the SQNR report. */
typedef struct Track {
  uint32_t nv;
  const bool *want;  /* by value id */
  float **ref;       /* by value id: stored reference elements */
  uint64_t *len, *cap, *pos;
  double *sig, *err; /* by value id */
  bool compare;      /* second run: compare with ref instead of storing */
  uint32_t nn;
  double **mean;     /* by node id: per-channel sums */
  int64_t *cnt;      /* by node id: elements per channel */
  double **mean2;    /* the quantized run's sums */
  const bool *core_bias; /* by node id */
} Track;

static int64_t channel_axis(const Node *n, const RtValue *y) {
  return is_op(n, "MatMul") ? y->rank - 1 : 1;
}

static void track_cb(void *ctx, const Node *n, RtValue *const *ins, RtValue *const *outs) {
  (void)ins;
  Track *t = ctx;
  if (n->id < t->nn && t->core_bias[n->id] && outs[0] && outs[0]->elem == ELEM_FLOAT) {
    const RtValue *y = outs[0];
    int64_t ax = channel_axis(n, y), C = y->dims[ax], inner = 1;
    for (int i = (int)ax + 1; i < y->rank; i++) inner *= y->dims[i];
    double *s = t->compare ? t->mean2[n->id] : t->mean[n->id];
    const float *f = y->data;
    for (uint64_t i = 0; i < y->numel; i++) s[(i / (uint64_t)inner) % (uint64_t)C] += f[i];
    if (!t->compare) t->cnt[n->id] += (int64_t)(y->numel / (uint64_t)C);
  }
  for (int i = 0; i < n->n_outputs; i++) {
    const Value *v = n->outputs[i];
    const RtValue *r = outs[i];
    if (!v || v->id >= t->nv || !t->want[v->id] || !r || r->elem != ELEM_FLOAT) continue;
    const float *f = r->data;
    uint64_t id = v->id;
    for (uint64_t j = 0; j < r->numel && t->pos[id] < t->cap[id]; j++, t->pos[id]++) {
      if (!t->compare) {
        t->ref[id][t->pos[id]] = f[j];
        t->len[id]++;
        continue;
      }
      if (t->pos[id] >= t->len[id]) break;
      double a = t->ref[id][t->pos[id]], e = a - f[j];
      t->sig[id] += a * a, t->err[id] += e * e;
    }
  }
}

static double sqnr_db(double sig, double err) {
  if (!(err > 0)) return INFINITY;
  return 10 * log10(sig / err);
}

/* ------------------------------------------------------------------ static quantization */

typedef struct Bias { /* a core's int32 bias, for bias correction */
  Node *core;
  double *b;      /* float bias per channel */
  int64_t C;
  Tensor *q;      /* int32 */
  const float *s; /* per channel scales (count C, or 1) */
  int64_t ns;
} Bias;

/* Write the int32 biases from the float ones, first adding the mean error of each channel
 * (float run minus quantized run) when t is given. Returns how many were corrected. */
static int set_biases(Bias *bias, int nbias, const Track *t) {
  int n = 0;
  for (int i = 0; i < nbias; i++) {
    Bias *bi = &bias[i];
    uint32_t id = bi->core->id;
    if (t && id < t->nn && t->core_bias[id] && t->cnt[id] > 0) {
      for (int64_t k = 0; k < bi->C; k++)
        bi->b[k] += (t->mean[id][k] - t->mean2[id][k]) / (double)t->cnt[id];
      n++;
    }
    int32_t *q = bi->q->data;
    for (int64_t k = 0; k < bi->C; k++) {
      double r = nearbyint(bi->b[k] / (double)bi->s[bi->ns > 1 ? k : 0]);
      q[k] = r >= 2147483647.0 ? INT32_MAX : r <= -2147483648.0 ? INT32_MIN : (int32_t)r;
    }
  }
  return n;
}

static int quantize_static(Model *m, const QOpts *o, const CalibSet *set, PassCtx *c) {
  Graph *g = m->graph;
  Diag *d = c->d;
  if (ir_model_opset(m, "") < (o->per_channel ? 13 : 10)) {
    ir_error(d, ir_noloc, "quantize needs default-domain opset %d or later (the model imports "
             "%lld)%s", o->per_channel ? 13 : 10, (long long)ir_model_opset(m, ""),
             o->per_channel ? "; weights=per-tensor works from opset 10" : "");
    return -1;
  }
  uint32_t nv = m->next_value_id;
  Plan p = {nv, malloc((nv + 1) * sizeof *p.root), calloc(g->nodes.n + 1, sizeof *p.core), 0};
  if (!p.root || !p.core) abort();
  for (uint32_t i = 0; i < nv; i++) p.root[i] = -1;
  plan_graph(g, &p);
  bool *want = calloc(nv + 1, sizeof *want), *track = calloc(nv + 1, sizeof *track);
  if (!want || !track) abort();
  int nq = 0;
  for (uint32_t i = 0; i < nv; i++) {
    if (p.root[i] == (int32_t)i) want[i] = true;
    if (p.root[i] >= 0) track[i] = true, nq++;
  }
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i]->id < nv) track[g->outputs[i]->id] = true;
  if (!nq) {
    ir_warning(d, ir_noloc, "nothing to quantize (no Conv/Gemm/MatMul/Add/Concat/pool on float "
               "activations)");
    free(p.root), free(p.core), free(want), free(track);
    return 0;
  }
  CalibStats st = {0};
  int rc = calib_collect(m, set, o->batch, want, o->method != CALIB_MINMAX, &st, d);
  /* the float reference: core means (bias correction) and values (SQNR report) */
  uint32_t nn = m->next_node_id;
  Track t = {.nv = nv, .want = track, .nn = nn};
  t.ref = calloc(nv + 1, sizeof *t.ref);
  t.len = calloc(nv + 1, sizeof *t.len), t.cap = calloc(nv + 1, sizeof *t.cap);
  t.pos = calloc(nv + 1, sizeof *t.pos);
  t.sig = calloc(nv + 1, sizeof *t.sig), t.err = calloc(nv + 1, sizeof *t.err);
  t.mean = calloc(nn + 1, sizeof *t.mean), t.mean2 = calloc(nn + 1, sizeof *t.mean2);
  t.cnt = calloc(nn + 1, sizeof *t.cnt);
  bool *core_bias = calloc(nn + 1, sizeof *core_bias);
  t.core_bias = core_bias;
  if (!t.ref || !t.len || !t.cap || !t.pos || !t.sig || !t.err || !t.mean || !t.mean2 || !t.cnt ||
      !core_bias)
    abort();
  /* at most 64 MB of reference activations: each value keeps its first elements */
  uint64_t per_sample = 0;
  for (size_t k = 0; k < g->nodes.n; k++)
    for (int i = 0; i < g->nodes.v[k]->n_outputs; i++) {
      Value *v = g->nodes.v[k]->outputs[i];
      uint64_t e;
      if (v && v->id < nv && track[v->id] && ir_type_numel(v->type, &e)) per_sample += e;
    }
  for (size_t k = 0; k < g->nodes.n; k++)
    for (int i = 0; i < g->nodes.v[k]->n_outputs; i++) {
      Value *v = g->nodes.v[k]->outputs[i];
      if (!v || v->id >= nv || !track[v->id]) continue;
      uint64_t budget = (64u << 20) / sizeof(float), e = 0;
      const Type *ty = v->type;
      /* elements per sample: the known dims after the batch one */
      e = 1;
      for (int r = 1; ty && r < ty->rank; r++) e *= ty->dims[r].value > 0 ? (uint64_t)ty->dims[r].value : 1;
      uint64_t tot = e * (uint64_t)set->samples;
      if (per_sample > 0 && per_sample * (uint64_t)set->samples > budget)
        tot = (uint64_t)((double)tot * budget / ((double)per_sample * (double)set->samples)) + 1;
      t.cap[v->id] = tot;
      t.ref[v->id] = malloc((size_t)tot * sizeof(float) + 1);
      if (!t.ref[v->id]) abort();
    }
  for (int i = 0; i < p.ncore; i++) {
    Node *n = p.core[i];
    if (!o->bias_corr || n->n_inputs < 3 || !const_float(n->inputs[2]) || n->id >= nn) continue;
    const Tensor *w = core_weight(n);
    int64_t C = w->dims[weight_axis(n)];
    if (numel(pass_const_data(n->inputs[2])) != (uint64_t)C) continue;
    core_bias[n->id] = true;
    t.mean[n->id] = calloc((size_t)C, sizeof(double));
    t.mean2[n->id] = calloc((size_t)C, sizeof(double));
  }
  if (!rc) rc = calib_run(m, set, o->batch, track_cb, &t, d);
  if (rc) goto done;

  /* activation params (roots first; shared values take their root's) */
  Arena *a = &m->arena;
  QParam *qp = calloc(nv + 1, sizeof *qp);
  Inserts ins = {.after = calloc(g->nodes.n + 1, sizeof *ins.after)};
  if (!qp || !ins.after) abort();
  ElemType at = o->sym ? ELEM_INT8 : o->act;
  Value **by_id = calloc(nv + 1, sizeof *by_id);
  if (!by_id) abort();
  for (int i = 0; i < g->n_inputs; i++)
    if (g->inputs[i]->id < nv) by_id[g->inputs[i]->id] = g->inputs[i];
  for (size_t k = 0; k < g->nodes.n; k++)
    for (int i = 0; i < g->nodes.v[k]->n_outputs; i++) {
      Value *v = g->nodes.v[k]->outputs[i];
      if (v && v->id < nv) by_id[v->id] = v;
    }
  for (uint32_t i = 0; i < nv; i++) {
    if (p.root[i] != (int32_t)i || !by_id[i] || !st.v[i]) continue;
    qp[i] = act_param(st.v[i], o);
    const char *nm = by_id[i]->name;
    qp[i].vs = scalar_init(g, ir_arena_printf(a, "%s_scale", nm), ELEM_FLOAT, qp[i].scale);
    qp[i].vz = scalar_init(g, ir_arena_printf(a, "%s_zero_point", nm), at, qp[i].zp);
  }
  /* the Add/Mul/Concat nodes whose output is quantized (before the outputs move) */
  bool *elem_q = calloc(g->nodes.n + 1, sizeof *elem_q);
  if (!elem_q) abort();
  for (size_t k = 0; k < g->nodes.n; k++) {
    Node *n = g->nodes.v[k];
    Value *y = kind_of(n) == K_ELEM ? quant_point(g, n->outputs[0]) : NULL;
    elem_q[k] = y && y->id < nv && p.root[y->id] >= 0;
  }
  /* position of each producer, for the inserts */
  size_t *pos = calloc(nn + 1, sizeof *pos);
  if (!pos) abort();
  size_t n_nodes = g->nodes.n;
  for (size_t k = 0; k < n_nodes; k++)
    if (g->nodes.v[k]->id < nn) pos[g->nodes.v[k]->id] = k;
  int pairs = 0;
  for (uint32_t i = 0; i < nv; i++) {
    Value *v = by_id[i];
    if (p.root[i] < 0 || !v || !qp[p.root[i]].vs) continue;
    QParam *q = &qp[p.root[i]];
    Node *qn = new_node(g, "QuantizeLinear", 3, 1, NULL), *dn = new_node(g, "DequantizeLinear", 3, 1, NULL);
    Value *vq = ir_value_new(g, pass_fresh_name(g, ir_arena_printf(a, "%s_quantized", v->name)),
                             type_as(a, v->type, at));
    ir_node_set_input(qn, 1, q->vs), ir_node_set_input(qn, 2, q->vz);
    ir_node_set_input(dn, 0, vq), ir_node_set_input(dn, 1, q->vs), ir_node_set_input(dn, 2, q->vz);
    ir_node_set_output(qn, 0, vq);
    if (v->producer) { /* the producer writes a new value; the DequantizeLinear writes v */
      Node *pr = v->producer;
      int slot = v->producer_index;
      Value *vf = ir_value_new(g, pass_fresh_name(g, ir_arena_printf(a, "%s_float", v->name)),
                               type_as(a, v->type, ELEM_FLOAT));
      ir_node_set_output(pr, slot, vf);
      ir_node_set_input(qn, 0, vf);
      ir_node_set_output(dn, 0, v);
      ir_vec_push(ins.after[pos[pr->id]], qn);
      ir_vec_push(ins.after[pos[pr->id]], dn);
    } else { /* a graph input: its readers read the DequantizeLinear */
      Value *vd = ir_value_new(g, pass_fresh_name(g, ir_arena_printf(a, "%s_dequantized", v->name)),
                               type_as(a, v->type, ELEM_FLOAT));
      IR_VEC(Use) us = {0};
      for (Use *u = v->uses; u; u = u->next) ir_vec_push(us, *u);
      for (size_t k = 0; k < us.n; k++) pass_set_input(us.v[k].node, us.v[k].index, vd);
      ir_vec_free(us);
      ir_node_set_input(qn, 0, v);
      ir_node_set_output(dn, 0, vd);
      ir_vec_push(ins.front, qn);
      ir_vec_push(ins.front, dn);
    }
    pairs++;
  }
  /* weights and biases of the cores */
  Bias *bias = calloc((size_t)p.ncore + 1, sizeof *bias);
  int nbias = 0;
  if (!bias) abort();
  for (int i = 0; i < p.ncore; i++) {
    Node *n = p.core[i];
    const Tensor *w = core_weight(n);
    int ax = weight_axis(n);
    int64_t C = o->per_channel ? w->dims[ax] : 1;
    float *ws = malloc((size_t)C * sizeof *ws);
    if (!ws) abort();
    Tensor *wq = quant_weight(m, w, ax, o->per_channel, ws);
    Value *wd = dq_const(g, &ins, wq, ws, C, ax, n->inputs[1]->name);
    pass_set_input(n, 1, wd);
    const Tensor *b = n->n_inputs > 2 ? const_float(n->inputs[2]) : NULL;
    Value *x = n->inputs[0]; /* the DequantizeLinear output (renamed producer: same value) */
    int32_t r = x->id < nv ? p.root[x->id] : -1;
    if (x->id >= nv) { /* a graph input's new DequantizeLinear output */
      Node *dq = x->producer;
      Value *q = dq ? dq->inputs[0]->producer->inputs[0] : NULL;
      r = q && q->id < nv ? p.root[q->id] : -1;
    }
    int64_t nb = w->dims[ax];
    double beta = is_op(n, "Gemm") ? ir_attr_float(n, "beta", 1) : 1;
    if (b && r >= 0 && (numel(b) == (uint64_t)nb || numel(b) == 1)) {
      Bias *bi = &bias[nbias++];
      bi->core = n, bi->C = nb, bi->ns = C;
      bi->b = malloc((size_t)nb * sizeof *bi->b);
      float *bs = ir_arena_alloc(a, (size_t)C * sizeof *bs);
      if (!bi->b) abort();
      for (int64_t k = 0; k < nb; k++) bi->b[k] = beta * ((const float *)b->data)[numel(b) == 1 ? 0 : k];
      for (int64_t k = 0; k < C; k++) bs[k] = qp[r].scale * ws[k];
      bi->s = bs;
      bi->q = new_tensor(m, ELEM_INT32, 1, &nb);
      Value *bd = dq_const(g, &ins, bi->q, bs, C, 0, n->inputs[2]->name);
      pass_set_input(n, 2, bd);
      if (beta != 1) pass_set_attr_float(n, "beta", 1.0f);
    }
    free(ws);
  }
  /* constant float inputs of Add/Mul/Concat: per-tensor 8-bit constants */
  for (size_t k = 0; k < n_nodes; k++) {
    Node *n = g->nodes.v[k];
    if (!elem_q[k]) continue;
    for (int i = 0; i < n->n_inputs; i++) {
      const Tensor *cf = const_float(n->inputs[i]);
      if (!cf || !numel(cf)) continue;
      CalibHist h = {0};
      RtValue *rv = rt_tensor_wrap(cf);
      calib_hist_add(&h, rv, false);
      rt_unref(rv);
      QOpts mm = *o;
      mm.method = CALIB_MINMAX;
      QParam cp = act_param(&h, &mm);
      Tensor *q = new_tensor(m, at, cf->rank, cf->dims);
      double qlo = at == ELEM_UINT8 ? 0 : o->sym ? -127 : -128, qhi = at == ELEM_UINT8 ? 255 : 127;
      for (uint64_t e = 0; e < numel(cf); e++) {
        double r = nearbyint(((const float *)cf->data)[e] / cp.scale) + cp.zp;
        ir_elem(at)->from_f64(q->data, e, fmin(fmax(r, qlo), qhi));
      }
      Value *vq = pass_add_initializer(g, ir_arena_printf(a, "%s_quantized", n->inputs[i]->name), q);
      Value *vs = scalar_init(g, ir_arena_printf(a, "%s_scale", n->inputs[i]->name), ELEM_FLOAT, cp.scale);
      Value *vz = scalar_init(g, ir_arena_printf(a, "%s_zero_point", n->inputs[i]->name), at, cp.zp);
      Node *dn = new_node(g, "DequantizeLinear", 3, 1, NULL);
      ir_node_set_input(dn, 0, vq), ir_node_set_input(dn, 1, vs), ir_node_set_input(dn, 2, vz);
      Value *vd = ir_value_new(g, pass_fresh_name(g, ir_arena_printf(a, "%s_dequantized", n->inputs[i]->name)),
                               ir_type_tensor(a, ELEM_FLOAT, cf->rank, cf->dims));
      ir_node_set_output(dn, 0, vd);
      ir_vec_push(ins.front, dn);
      pass_set_input(n, i, vd);
    }
  }
  rebuild(g, &ins, NULL);
  set_biases(bias, nbias, NULL);
  /* bias correction: the quantized model's per-channel mean error folds into the bias */
  if (o->bias_corr && nbias) {
    t.compare = true;
    for (uint32_t i = 0; i < nv; i++) t.pos[i] = t.cap[i]; /* means only */
    rc = calib_run(m, set, o->batch, track_cb, &t, d);
    if (!rc) pass_stat(c, "bias-corrected", set_biases(bias, nbias, &t));
  }
  /* the report: SQNR of every quantized value and output on the calibration set */
  if (!rc) {
    t.compare = true;
    for (uint32_t i = 0; i < nv; i++) t.pos[i] = 0, t.sig[i] = t.err[i] = 0;
    bool *saved = core_bias;
    bool *none = calloc(nn + 1, sizeof *none);
    t.core_bias = none;
    rc = calib_run(m, set, o->batch, track_cb, &t, d);
    t.core_bias = saved;
    free(none);
  }
  if (!rc) {
    for (uint32_t i = 0; i < nv; i++)
      if (by_id[i] && track[i] && p.root[i] >= 0 && t.len[i])
        ir_note(d, ir_noloc, "sqnr %-24s %7.2f dB", by_id[i]->name, sqnr_db(t.sig[i], t.err[i]));
    for (int i = 0; i < g->n_outputs; i++) {
      uint32_t id = g->outputs[i]->id;
      if (id < nv && t.len[id])
        ir_note(d, ir_noloc, "sqnr output %-17s %7.2f dB (on %lld calibration samples)",
                g->outputs[i]->name, sqnr_db(t.sig[id], t.err[id]), (long long)set->samples);
    }
  }
  drop_dead_inits(g);
  pass_stat(c, "qdq-pairs", pairs);
  pass_stat(c, "weights-int8", p.ncore);
  for (int i = 0; i < nbias; i++) free(bias[i].b);
  free(bias), free(pos), free(by_id), free(qp), free(elem_q);
done:
  for (uint32_t i = 0; i < nv; i++) free(t.ref[i]);
  for (uint32_t i = 0; i < nn; i++) free(t.mean[i]), free(t.mean2[i]);
  free(t.ref), free(t.len), free(t.cap), free(t.pos), free(t.sig), free(t.err), free(t.mean);
  free(t.mean2), free(t.cnt), free(core_bias);
  calib_stats_free(&st);
  free(p.root), free(p.core), free(want), free(track);
  return rc;
}

/* ------------------------------------------------------------------ dynamic quantization */

/* An int8 [K, N] copy of a [N, K] tensor. */
static Tensor *transpose_i8(Model *m, const Tensor *q) {
  int64_t d[2] = {q->dims[1], q->dims[0]};
  Tensor *t = new_tensor(m, ELEM_INT8, 2, d);
  const int8_t *s = q->data;
  int8_t *o = t->data;
  for (int64_t i = 0; i < d[1]; i++)
    for (int64_t j = 0; j < d[0]; j++) o[j * d[1] + i] = s[i * d[0] + j];
  return t;
}

static Value *chain(Graph *g, Inserts *ins, size_t at, const char *op, Value *a0, Value *a1,
                    Value *out, const char *base, ElemType e, const Type *like) {
  Arena *a = &g->model->arena;
  Node *n = new_node(g, op, a1 ? 2 : 1, 1, NULL);
  ir_node_set_input(n, 0, a0);
  if (a1) ir_node_set_input(n, 1, a1);
  if (!out) out = ir_value_new(g, pass_fresh_name(g, base), type_as(a, like, e));
  ir_node_set_output(n, 0, out);
  ir_vec_push(ins->after[at], n);
  return out;
}

static int quantize_dynamic(Model *m, const QOpts *o, PassCtx *c) {
  Graph *g = m->graph;
  Arena *a = &m->arena;
  if (ir_model_opset(m, "") < 11) {
    ir_error(c->d, ir_noloc, "dynamic quantization needs default-domain opset 11 or later "
             "(DynamicQuantizeLinear); the model imports %lld", (long long)ir_model_opset(m, ""));
    return -1;
  }
  size_t nn = g->nodes.n;
  uint32_t nv = m->next_value_id, nid = m->next_node_id;
  Inserts ins = {.after = calloc(nn + 1, sizeof *ins.after)};
  bool *drop = calloc(nn + 1, sizeof *drop);
  size_t *pos = calloc(nid + 1, sizeof *pos);
  Value **cache = calloc((size_t)nv * 3 + 3, sizeof *cache); /* by x id: q, scale, zero */
  if (!ins.after || !drop || !pos || !cache) abort();
  for (size_t k = 0; k < nn; k++) pos[g->nodes.v[k]->id] = k;
  int done = 0;
  for (size_t k = 0; k < nn; k++) {
    Node *n = g->nodes.v[k];
    if ((!is_op(n, "MatMul") && !is_op(n, "Gemm")) || !core_weight(n) ||
        !is_float_act(n->inputs[0]) || n->inputs[0]->id >= nv)
      continue;
    const Tensor *w = core_weight(n);
    int ax = weight_axis(n);
    bool tb = is_op(n, "Gemm") && ir_attr_int(n, "transB", 0);
    const Tensor *bias = is_op(n, "Gemm") && n->n_inputs > 2 ? const_float(n->inputs[2]) : NULL;
    if (is_op(n, "Gemm") && n->n_inputs > 2 && n->inputs[2] && !bias) continue;
    Value *x = n->inputs[0], *y = n->outputs[0];
    Value **cx = &cache[3 * x->id];
    if (!cx[0]) { /* one DynamicQuantizeLinear per activation */
      Node *dq = ir_node_new(g, "", "DynamicQuantizeLinear", 1, 3);
      dq->op = ir_op_find("", "DynamicQuantizeLinear", ir_model_opset(m, ""));
      ir_node_set_input(dq, 0, x);
      cx[0] = ir_value_new(g, pass_fresh_name(g, ir_arena_printf(a, "%s_quantized", x->name)),
                           type_as(a, x->type, ELEM_UINT8));
      cx[1] = ir_value_new(g, pass_fresh_name(g, ir_arena_printf(a, "%s_scale", x->name)),
                           ir_type_tensor(a, ELEM_FLOAT, 0, NULL));
      cx[2] = ir_value_new(g, pass_fresh_name(g, ir_arena_printf(a, "%s_zero_point", x->name)),
                           ir_type_tensor(a, ELEM_UINT8, 0, NULL));
      for (int i = 0; i < 3; i++) ir_node_set_output(dq, i, cx[i]);
      if (x->producer && x->producer->id < nid) ir_vec_push(ins.after[pos[x->producer->id]], dq);
      else ir_vec_push(ins.front, dq);
    }
    int64_t C = o->per_channel ? w->dims[ax] : 1, N = w->dims[ax];
    float *ws = malloc((size_t)C * sizeof *ws);
    if (!ws) abort();
    Tensor *wq = quant_weight(m, w, ax, o->per_channel, ws);
    if (tb) wq = transpose_i8(m, wq);
    const char *wn = n->inputs[1]->name;
    Value *vw = pass_add_initializer(g, ir_arena_printf(a, "%s_quantized", wn), wq);
    Tensor *tz = new_tensor(m, ELEM_INT8, C > 1 ? 1 : 0, &C);
    Value *vz = pass_add_initializer(g, ir_arena_printf(a, "%s_zero_point", wn), tz);
    Tensor *ts = new_tensor(m, ELEM_FLOAT, C > 1 ? 1 : 0, &C);
    double alpha = is_op(n, "Gemm") ? ir_attr_float(n, "alpha", 1) : 1;
    for (int64_t i = 0; i < C; i++) ((float *)ts->data)[i] = (float)(ws[i] * alpha);
    free(ws);
    Value *vs = pass_add_initializer(g, ir_arena_printf(a, "%s_scale", wn), ts);
    Node *mi = new_node(g, "MatMulInteger", 4, 1, n->name);
    ir_node_set_input(mi, 0, cx[0]), ir_node_set_input(mi, 1, vw);
    ir_node_set_input(mi, 2, cx[2]), ir_node_set_input(mi, 3, vz);
    Value *acc = ir_value_new(g, pass_fresh_name(g, ir_arena_printf(a, "%s_int32", y->name)),
                              type_as(a, y->type, ELEM_INT32));
    ir_node_set_output(mi, 0, acc);
    ir_vec_push(ins.after[k], mi);
    Value *accf = chain(g, &ins, k, "Cast", acc, NULL, NULL,
                        ir_arena_printf(a, "%s_float", y->name), ELEM_FLOAT, y->type);
    pass_set_attr_int(ins.after[k].v[ins.after[k].n - 1], "to", ELEM_FLOAT);
    Value *sc = chain(g, &ins, k, "Mul", cx[1], vs, NULL,
                      ir_arena_printf(a, "%s_scale", y->name), ELEM_FLOAT,
                      ir_type_tensor(a, ELEM_FLOAT, C > 1 ? 1 : 0, &C));
    pass_unlink_node(n);
    drop[k] = true;
    if (!bias) {
      chain(g, &ins, k, "Mul", accf, sc, y, NULL, ELEM_FLOAT, NULL);
    } else {
      Value *yb = chain(g, &ins, k, "Mul", accf, sc, NULL,
                        ir_arena_printf(a, "%s_nobias", y->name), ELEM_FLOAT, y->type);
      double beta = ir_attr_float(n, "beta", 1);
      Tensor *tb2 = new_tensor(m, ELEM_FLOAT, bias->rank, bias->dims);
      for (uint64_t i = 0; i < numel(bias); i++)
        ((float *)tb2->data)[i] = (float)(beta * ((const float *)bias->data)[i]);
      Value *vb = pass_add_initializer(g, ir_arena_printf(a, "%s_bias", y->name), tb2);
      chain(g, &ins, k, "Add", yb, vb, y, NULL, ELEM_FLOAT, NULL);
    }
    (void)N;
    done++;
  }
  rebuild(g, &ins, drop);
  drop_dead_inits(g);
  pass_stat(c, "dynamic-matmuls", done);
  free(drop), free(pos), free(cache);
  return 0;
}

/* ------------------------------------------------------------------ SmoothQuant */

typedef struct Smooth {
  uint32_t nn;
  double **amax; /* by node id: per channel max |x| of the LayerNormalization output */
} Smooth;

static void smooth_cb(void *ctx, const Node *n, RtValue *const *ins, RtValue *const *outs) {
  (void)ins;
  Smooth *s = ctx;
  if (n->id >= s->nn || !s->amax[n->id] || !outs[0] || outs[0]->elem != ELEM_FLOAT) return;
  const RtValue *y = outs[0];
  uint64_t C = (uint64_t)y->dims[y->rank - 1];
  const float *f = y->data;
  for (uint64_t i = 0; i < y->numel; i++)
    s->amax[n->id][i % C] = fmax(s->amax[n->id][i % C], fabs(f[i]));
}

/* A LayerNormalization over the last axis with constant scale (and bias) whose output feeds
 * only MatMul/Gemm weights of C rows: its channel count, else 0. */
static int64_t smooth_site(const Graph *g, const Node *n) {
  if (!is_op(n, "LayerNormalization") || n->n_inputs < 2) return 0;
  for (int i = 1; i < n->n_outputs; i++)
    if (n->outputs[i]) return 0;
  const Value *y = n->outputs[0];
  const Tensor *gm = const_float(n->inputs[1]);
  const Type *ty = y ? y->type : NULL;
  if (!gm || !ty || ty->kind != TYPE_TENSOR || ty->rank < 1 || pass_is_graph_output(g, y)) return 0;
  int64_t ax = ir_attr_int(n, "axis", -1), C = ty->dims[ty->rank - 1].value;
  if ((ax != -1 && ax != ty->rank - 1) || C <= 0 || numel(gm) != (uint64_t)C) return 0;
  if (n->n_inputs > 2 && n->inputs[2]) {
    const Tensor *b = const_float(n->inputs[2]);
    if (!b || numel(b) != (uint64_t)C) return 0;
  }
  if (!y->uses) return 0;
  for (const Use *u = y->uses; u; u = u->next) {
    const Node *r = u->node;
    const Tensor *w = core_weight(r);
    if (u->index != 0 || !w || (!is_op(r, "MatMul") && !is_op(r, "Gemm"))) return 0;
    bool tb = is_op(r, "Gemm") && ir_attr_int(r, "transB", 0);
    if (w->dims[tb ? 1 : 0] != C) return 0;
  }
  return C;
}

static Value *scaled_copy(Graph *g, const Value *v, const double *s, int64_t C, bool rows,
                          bool divide) {
  const Tensor *t = pass_const_data(v);
  Tensor *r = new_tensor(g->model, ELEM_FLOAT, t->rank, t->dims);
  const float *f = t->data;
  float *o = r->data;
  uint64_t n = numel(t), inner = rows ? n / (uint64_t)C : 1;
  for (uint64_t i = 0; i < n; i++) {
    double k = s[rows ? i / inner : i % (uint64_t)C];
    o[i] = (float)(divide ? f[i] / k : f[i] * k);
  }
  return pass_add_initializer(g, ir_arena_printf(&g->model->arena, "%s_smooth", v->name), r);
}

static int smooth_quant(Model *m, const QOpts *o, const CalibSet *set, PassCtx *c) {
  Graph *g = m->graph;
  Smooth s = {m->next_node_id, calloc(m->next_node_id + 1, sizeof *s.amax)};
  if (!s.amax) abort();
  int sites = 0;
  for (size_t k = 0; k < g->nodes.n; k++) {
    Node *n = g->nodes.v[k];
    int64_t C = smooth_site(g, n);
    if (C && n->id < s.nn) {
      s.amax[n->id] = calloc((size_t)C, sizeof(double));
      sites++;
    }
  }
  int rc = sites ? calib_run(m, set, o->batch, smooth_cb, &s, c->d) : 0;
  for (size_t k = 0; !rc && k < g->nodes.n; k++) {
    Node *n = g->nodes.v[k];
    if (n->id >= s.nn || !s.amax[n->id]) continue;
    int64_t C = smooth_site(g, n);
    double *wmax = calloc((size_t)C, sizeof *wmax), *sc = calloc((size_t)C, sizeof *sc);
    if (!wmax || !sc) abort();
    for (const Use *u = n->outputs[0]->uses; u; u = u->next) {
      const Tensor *w = core_weight(u->node);
      bool tb = is_op(u->node, "Gemm") && ir_attr_int(u->node, "transB", 0);
      const float *f = w->data;
      uint64_t nw = numel(w), inner = tb ? 1 : nw / (uint64_t)C;
      for (uint64_t i = 0; i < nw; i++) {
        uint64_t j = tb ? i % (uint64_t)C : i / inner;
        wmax[j] = fmax(wmax[j], fabs(f[i]));
      }
    }
    for (int64_t j = 0; j < C; j++) {
      double xa = s.amax[n->id][j], v = xa > 0 && wmax[j] > 0
                                            ? pow(xa, o->smooth) / pow(wmax[j], 1 - o->smooth)
                                            : 1;
      sc[j] = fmin(fmax(v, 1e-5), 1e5);
    }
    pass_set_input(n, 1, scaled_copy(g, n->inputs[1], sc, C, false, true));
    if (n->n_inputs > 2 && n->inputs[2])
      pass_set_input(n, 2, scaled_copy(g, n->inputs[2], sc, C, false, true));
    IR_VEC(Use) us = {0};
    for (Use *u = n->outputs[0]->uses; u; u = u->next) ir_vec_push(us, *u);
    for (size_t i = 0; i < us.n; i++) {
      Node *r = us.v[i].node;
      bool tb = is_op(r, "Gemm") && ir_attr_int(r, "transB", 0);
      pass_set_input(r, 1, scaled_copy(g, r->inputs[1], sc, C, !tb, false));
    }
    ir_vec_free(us);
    free(wmax), free(sc);
    pass_stat(c, "smoothed-layers", 1);
  }
  for (uint32_t i = 0; i < s.nn; i++) free(s.amax[i]);
  free(s.amax);
  drop_dead_inits(g);
  return rc;
}

/* ------------------------------------------------------------------ the pass */

static int run(Model *m, const PassOptions *po, PassCtx *c) {
  QOpts o = {0};
  const char *mode = pass_opt_str(po, "mode"), *wts = pass_opt_str(po, "weights"),
             *act = pass_opt_str(po, "act"), *at = pass_opt_str(po, "act-type"),
             *cal = pass_opt_str(po, "calib");
  if (strcmp(mode, "static") && strcmp(mode, "dynamic")) {
    ir_error(c->d, ir_noloc, "mode must be static or dynamic, not '%s'", mode);
    return -1;
  }
  if (strcmp(wts, "per-channel") && strcmp(wts, "per-tensor")) {
    ir_error(c->d, ir_noloc, "weights must be per-channel or per-tensor, not '%s'", wts);
    return -1;
  }
  if (strcmp(act, "asym") && strcmp(act, "sym")) {
    ir_error(c->d, ir_noloc, "act must be asym or sym, not '%s'", act);
    return -1;
  }
  if (strcmp(at, "uint8") && strcmp(at, "int8")) {
    ir_error(c->d, ir_noloc, "act-type must be uint8 or int8, not '%s'", at);
    return -1;
  }
  if (!calib_method_parse(cal, &o.method)) {
    ir_error(c->d, ir_noloc, "calib must be minmax, percentile, entropy or mse, not '%s'", cal);
    return -1;
  }
  o.dynamic = !strcmp(mode, "dynamic");
  o.per_channel = !strcmp(wts, "per-channel");
  o.sym = !strcmp(act, "sym");
  o.act = !strcmp(at, "int8") ? ELEM_INT8 : ELEM_UINT8;
  o.pct = pass_opt_float(po, "percentile");
  o.smooth = pass_opt_float(po, "smooth");
  o.samples = pass_opt_int(po, "samples");
  o.batch = pass_opt_int(po, "batch");
  o.bias_corr = pass_opt_int(po, "bias-correction") != 0;
  o.data = pass_opt_str(po, "data");
  if (!(o.pct > 0 && o.pct <= 100) || o.smooth < 0 || o.smooth > 1 || o.samples < 0 ||
      o.batch < 0) {
    ir_error(c->d, ir_noloc, "percentile must be in (0, 100], smooth in [0, 1], samples and "
             "batch >= 0");
    return -1;
  }
  bool need_data = !o.dynamic || o.smooth > 0;
  if (need_data && !*o.data) {
    ir_error(c->d, ir_noloc, "%s needs calibration data: data=X.npy",
             o.dynamic ? "smooth" : "static quantization");
    return -1;
  }
  pass_load_weights(m, c->d);
  CalibSet set = {0};
  if (*o.data && calib_set_load(m, o.data, o.samples, &set, c->d)) {
    calib_set_free(&set);
    return -1;
  }
  int rc = 0;
  if (o.smooth > 0) rc = smooth_quant(m, &o, &set, c);
  if (!rc) rc = o.dynamic ? quantize_dynamic(m, &o, c) : quantize_static(m, &o, &set, c);
  calib_set_free(&set);
  return rc;
}

static const PassOptSpec opts[] = {
    {"mode", POPT_STRING, "static", "static (calibrated QDQ) or dynamic (MatMulInteger)"},
    {"weights", POPT_STRING, "per-channel", "int8 weight scales: per-channel or per-tensor"},
    {"act", POPT_STRING, "asym", "activations: asym (zero point) or sym (int8, zero point 0)"},
    {"act-type", POPT_STRING, "uint8", "asymmetric activation type: uint8 or int8"},
    {"calib", POPT_STRING, "minmax", "activation ranges: minmax, percentile, entropy or mse"},
    {"percentile", POPT_FLOAT, "99.99", "the percentile kept by calib=percentile"},
    {"data", POPT_STRING, "", "calibration inputs: X.npy or [name=X.npy,...]"},
    {"samples", POPT_INT, "200", "calibration samples used (0: all)"},
    {"batch", POPT_INT, "50", "samples per interpreter run"},
    {"bias-correction", POPT_INT, "0", "1: fold each channel's mean output error into the bias"},
    {"smooth", POPT_FLOAT, "0", "SmoothQuant alpha (0: off): migrate activation outliers into "
                                "the weights after LayerNormalization"},
};

const Pass pass_quantize = {
    "quantize",
    "INT8 post-training quantization: calibrated QDQ (static) or MatMulInteger (dynamic)",
    opts,
    (int)(sizeof opts / sizeof opts[0]),
    run,
    PASS_REQ_SHAPES | PASS_REQ_KERNELS,
    "Static mode runs the model on the calibration set through the interpreter, chooses a "
    "range for every activation that feeds or leaves Conv, Gemm, MatMul, Add, Mul, Concat, "
    "AveragePool or GlobalAveragePool (MaxPool, Flatten, Reshape, Transpose, Squeeze and "
    "Unsqueeze keep their input's parameters) and inserts QuantizeLinear -> DequantizeLinear "
    "there; a Relu that is the only reader of such an output is absorbed (the range starts at "
    "0, so the zero point is the type's minimum). Weights become int8 symmetric ([-127, 127], "
    "scale max|w|/127 per output channel or per tensor) behind a DequantizeLinear, biases "
    "int32 on x_scale * w_scale, as ONNX Runtime's quantizer writes them. bias-correction=1 "
    "compares each layer's per-channel output mean with the float model's on the calibration "
    "set and folds the difference into the bias. Dynamic mode rewrites MatMul/Gemm with "
    "constant weights into DynamicQuantizeLinear + MatMulInteger + Cast + Mul (+ Add for "
    "Gemm's bias). smooth=ALPHA (SmoothQuant) first divides a LayerNormalization's scale and "
    "bias by s_j = max|X_j|^ALPHA / max|W_j|^(1-ALPHA) and multiplies the rows of the "
    "MatMul/Gemm weights it feeds by s_j. The pass reports the SQNR of every quantized value "
    "and of the outputs against the float model on the calibration set. See "
    "docs/quantization.md.",
};
