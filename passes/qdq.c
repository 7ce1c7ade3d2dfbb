/* qdq.c - the `qdq-fuse` pass: QDQ patterns (DequantizeLinear on an 8-bit activation and on
 * constant 8-bit weights -> Conv / MatMul / Gemm [-> Relu] -> QuantizeLinear) become the
 * integer operators QLinearConv / QLinearMatMul that run on the exact int8 kernels
 * (runtime/kern/qgemm.c). A bias (float, or DequantizeLinear of int32) becomes QLinearConv's
 * int32 bias on the scale x_scale * w_scale, as ONNX Runtime stores it; Gemm with a bias goes
 * through a 1x1 QLinearConv between two Reshapes. The result is not bit-identical to the
 * float QDQ graph (one rounding instead of float accumulation, bias rounding): outputs may
 * differ by one quantization step. */
#include "passes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool is_op(const Node *n, const char *family) {
  return n && n->op && !strcmp(n->op->family, family);
}

/* The producer of v when v feeds only that one use. */
static Node *sole_producer(const Value *v, const char *family) {
  if (!v || !v->producer || pass_use_count(v) != 1 || pass_is_graph_output(v->graph, v)) return NULL;
  return is_op(v->producer, family) ? v->producer : NULL;
}

static bool is_q8(ElemType e) {
  return e == ELEM_UINT8 || e == ELEM_INT8;
}

static uint64_t numel(const Tensor *t) {
  uint64_t n = 0;
  return ir_tensor_numel(t, &n) ? n : 0;
}

/* A constant float32 scale: its values and count (1, or per channel). */
static const float *scales(const Value *v, uint64_t *n) {
  const Tensor *t = v ? pass_const_data(v) : NULL;
  if (!t || t->elem != ELEM_FLOAT || !t->has_data || t->rank > 1) return NULL;
  *n = numel(t);
  return *n ? t->data : NULL;
}

/* A zero point value (constant 8-bit, count n), or absent; et receives its type. */
static bool zero_point(const Value *v, uint64_t n, ElemType *et) {
  if (!v) return true;
  const Tensor *t = pass_const_data(v);
  if (!t || !t->has_data || !is_q8(t->elem) || numel(t) != n) return false;
  *et = t->elem;
  return true;
}

static int32_t zp_at(const Value *v, uint64_t i) {
  if (!v) return 0;
  const Tensor *t = pass_const_data(v);
  return t->elem == ELEM_INT8 ? ((const int8_t *)t->data)[i] : ((const uint8_t *)t->data)[i];
}

/* DequantizeLinear / QuantizeLinear without blocks or non-float outputs. */
static bool plain_qdq(const Node *n) {
  if (n->op->since >= 21 && ir_attr_int(n, "block_size", 0) != 0) return false;
  int64_t odt = n->op->since >= 21 ? ir_attr_int(n, "output_dtype", 0) : 0;
  if (is_op(n, "DequantizeLinear")) return odt == 0 || odt == ELEM_FLOAT;
  return odt == 0 || is_q8((ElemType)odt);
}

typedef enum { QK_GEMM, QK_BINARY, QK_GAP, QK_CONCAT, QK_PASS } QdqKind;

/* A DequantizeLinear with a scalar float32 scale and a scalar 8-bit (or absent) zero point. */
typedef struct QdqIn {
  Node *dq;
  Value *x, *s, *z;
  ElemType t;
} QdqIn;

#define QDQ_MAXIN 32

typedef struct QdqMatch {
  QdqKind kind;
  int n_in;
  QdqIn in[QDQ_MAXIN]; /* QK_BINARY, QK_GAP, QK_CONCAT, QK_PASS: the core's inputs */
  Node *q, *relu, *core, *dqx, *dqw, *dqb; /* relu: an absorbed Relu or Clip */
  Value *x, *xs, *xz, *w, *ws, *wz, *ys, *yz, *bias_v;
  ElemType xt, wt, yt;
  const float *wsv;
  uint64_t nws;
  float xsv;
  int64_t N; /* output channels */
  bool trans_b;
} QdqMatch;

/* The activation side: DequantizeLinear(x, scalar scale, scalar zero point). */
static bool match_x(QdqMatch *mt, Value *xf) {
  Node *d = xf ? xf->producer : NULL;
  if (!is_op(d, "DequantizeLinear") || !plain_qdq(d)) return false;
  uint64_t n;
  const float *s = scales(d->inputs[1], &n);
  if (!s || n != 1) return false;
  Value *x = d->inputs[0], *z = d->n_inputs > 2 ? d->inputs[2] : NULL;
  ElemType et = x->type && x->type->kind == TYPE_TENSOR ? x->type->elem : ELEM_UNDEFINED;
  if (!zero_point(z, 1, &et) || !is_q8(et) || pass_const_data(x)) return false;
  mt->dqx = d, mt->x = x, mt->xs = d->inputs[1], mt->xz = z, mt->xt = et, mt->xsv = s[0];
  return true;
}

/* The weight side: DequantizeLinear of a constant, per tensor or per channel on `axis` of
 * a rank-`rank` weight. */
static bool match_w(QdqMatch *mt, Value *wf, int rank, int axis) {
  Node *d = wf ? wf->producer : NULL;
  if (!is_op(d, "DequantizeLinear") || !plain_qdq(d)) return false;
  const Tensor *w = pass_const_data(d->inputs[0]);
  if (!w || !w->has_data || !is_q8(w->elem) || w->rank != rank) return false;
  uint64_t n;
  const float *s = scales(d->inputs[1], &n);
  Value *z = d->n_inputs > 2 ? d->inputs[2] : NULL;
  ElemType et = w->elem;
  if (!s || !zero_point(z, n, &et) || et != w->elem) return false;
  if (n > 1) {
    int64_t ax = d->op->since >= 13 ? ir_attr_int(d, "axis", 1) : 1;
    if (ax < 0) ax += rank;
    if (ax != axis || (uint64_t)w->dims[axis] != n) return false;
  }
  mt->dqw = d, mt->w = d->inputs[0], mt->ws = d->inputs[1], mt->wz = z, mt->wt = et;
  mt->wsv = s, mt->nws = n;
  return true;
}

/* The bias: a float constant or DequantizeLinear of an int32 constant, n values. */
static bool match_bias(QdqMatch *mt, Value *b, int64_t n) {
  if (!b) return true;
  const Tensor *t = pass_const_data(b);
  if (t) {
    if (t->elem != ELEM_FLOAT || !t->has_data || (numel(t) != (uint64_t)n && numel(t) != 1)) return false;
    mt->bias_v = b;
    return true;
  }
  Node *d = b->producer;
  if (!is_op(d, "DequantizeLinear") || !plain_qdq(d) || pass_use_count(b) != 1) return false;
  const Tensor *q = pass_const_data(d->inputs[0]);
  uint64_t ns;
  const float *s = scales(d->inputs[1], &ns);
  if (!q || !q->has_data || q->elem != ELEM_INT32 || numel(q) != (uint64_t)n || !s ||
      (ns != 1 && ns != (uint64_t)n))
    return false;
  if (d->n_inputs > 2 && d->inputs[2]) {
    const Tensor *z = pass_const_data(d->inputs[2]);
    if (!z || !z->has_data || z->elem != ELEM_INT32 || numel(z) != ns) return false;
  }
  mt->dqb = d, mt->bias_v = b;
  return true;
}

/* The bias on the accumulator's scale x_scale * w_scale[m], as int32: the int32 values
 * themselves when their scale is exactly that and their zero point 0, else rounded. */
static int32_t *bias_int(const QdqMatch *mt, int64_t n) {
  int32_t *r = malloc(sizeof(int32_t) * (size_t)n);
  if (!r) return NULL;
  const Tensor *bq = mt->dqb ? pass_const_data(mt->dqb->inputs[0]) : NULL;
  uint64_t ns = 1;
  const float *bs = mt->dqb ? scales(mt->dqb->inputs[1], &ns) : NULL;
  const Tensor *bz = mt->dqb && mt->dqb->n_inputs > 2 && mt->dqb->inputs[2] ? pass_const_data(mt->dqb->inputs[2]) : NULL;
  const Tensor *bf = mt->dqb ? NULL : pass_const_data(mt->bias_v);
  for (int64_t m = 0; m < n; m++) {
    float acc_scale = mt->xsv * mt->wsv[mt->nws > 1 ? m : 0];
    uint64_t k = ns > 1 ? (uint64_t)m : 0;
    int32_t z = bz ? ((const int32_t *)bz->data)[k] : 0;
    double v;
    if (bq) {
      int32_t q = ((const int32_t *)bq->data)[m];
      if (bs[k] == acc_scale && z == 0) {
        r[m] = q;
        continue;
      }
      v = (double)(float)((float)((double)q - z) * bs[k]);
    } else {
      v = ((const float *)bf->data)[numel(bf) > 1 ? m : 0];
    }
    double t = nearbyint(v / (double)acc_scale);
    r[m] = t >= 2147483647.0 ? INT32_MAX : t <= -2147483648.0 ? INT32_MIN : isnan(t) ? 0 : (int32_t)t;
  }
  return r;
}

static Value *new_const(Graph *g, const char *base, ElemType e, int rank, const int64_t *dims,
                        const void *data, size_t nbytes) {
  Tensor *t = ir_tensor_new(&g->model->arena, e, rank, dims);
  t->has_data = true;
  t->nbytes = nbytes;
  t->data = ir_arena_dup(&g->model->arena, data, nbytes ? nbytes : 1);
  return pass_add_initializer(g, base, t);
}

/* A zero point for an absent one: a zero of type e. */
static Value *zp_or_zero(Graph *g, Value *z, ElemType e) {
  uint8_t zero = 0;
  return z ? z : new_const(g, "zero_point", e, 0, NULL, &zero, 1);
}

static Node *new_node(Graph *g, const Node *like, const char *op, int nin, int64_t opset) {
  Node *n = ir_node_new(g, "", op, nin, 1);
  n->name = like->name;
  n->loc = like->loc;
  n->op = ir_op_find("", op, opset);
  return n;
}

static bool dq_scalar(Value *v, QdqIn *o) {
  Node *d = v ? v->producer : NULL;
  if (!is_op(d, "DequantizeLinear") || !plain_qdq(d)) return false;
  uint64_t n;
  const float *s = scales(d->inputs[1], &n);
  Value *z = d->n_inputs > 2 ? d->inputs[2] : NULL;
  ElemType et = d->inputs[0]->type && d->inputs[0]->type->kind == TYPE_TENSOR ? d->inputs[0]->type->elem : ELEM_UNDEFINED;
  if (!s || n != 1 || !zero_point(z, 1, &et) || !is_q8(et)) return false;
  *o = (QdqIn){d, d->inputs[0], d->inputs[1], z, et};
  return true;
}

/* The interpreter's QuantizeLinear of one float: sat(round_half_even(v / s) + zp). */
static int32_t quantize1(float v, float s, int32_t zp, ElemType t) {
  float r = nearbyintf(v / s) + (float)zp, lo = t == ELEM_UINT8 ? 0.0f : -128.0f, hi = t == ELEM_UINT8 ? 255.0f : 127.0f;
  return !(r >= lo) ? (int32_t)lo : r > hi ? (int32_t)hi : (int32_t)r;
}

/* A constant float scalar input i of n (absent: *present false). */
static bool const_f1(const Node *n, int i, float *v, bool *present) {
  *present = false;
  if (i >= n->n_inputs || !n->inputs[i]) return true;
  const Tensor *t = pass_const_data(n->inputs[i]);
  if (!t || !t->has_data || t->elem != ELEM_FLOAT || numel(t) != 1) return false;
  *v = *(const float *)t->data;
  *present = true;
  return true;
}

/* Relu or Clip(min, max) before QuantizeLinear(y_scale ys, zero point yz of type yt) changes
 * nothing when the bounds quantize to the type's own limits (quantization is monotone, so
 * everything beyond a bound saturates as the bound does): Relu needs yz = the minimum. */
static bool absorbs(const Node *act, float ys, int32_t yz, ElemType yt) {
  int32_t qmin = yt == ELEM_UINT8 ? 0 : -128, qmax = yt == ELEM_UINT8 ? 255 : 127;
  if (is_op(act, "Relu")) return yz == qmin;
  if (!is_op(act, "Clip")) return false;
  float lo = -INFINITY, hi = INFINITY;
  bool has_lo = true, has_hi = true;
  if (act->op->since >= 11) {
    if (!const_f1(act, 1, &lo, &has_lo) || !const_f1(act, 2, &hi, &has_hi)) return false;
  } else {
    lo = ir_attr_float(act, "min", -3.402823466e+38f);
    hi = ir_attr_float(act, "max", 3.402823466e+38f);
  }
  return (!has_lo || quantize1(lo, ys, yz, yt) == qmin) && (!has_hi || quantize1(hi, ys, yz, yt) == qmax);
}

/* Integer forms of Add / Mul / GlobalAveragePool / Concat and 8-bit pass-through ops. */
static bool match_other(QdqMatch *mt) {
  Node *c = mt->core;
  if (is_op(c, "Add") || is_op(c, "Mul")) {
    if (c->n_inputs != 2) return false;
    for (int i = 0; i < 2; i++)
      if (!dq_scalar(c->inputs[i], &mt->in[i]) || mt->in[i].t != mt->yt) return false;
    if (pass_const_data(mt->in[0].x) && pass_const_data(mt->in[1].x)) return false;
    mt->n_in = 2, mt->kind = QK_BINARY;
    return true;
  }
  if (is_op(c, "GlobalAveragePool")) {
    if (!dq_scalar(c->inputs[0], &mt->in[0]) || mt->in[0].t != mt->yt || pass_const_data(mt->in[0].x)) return false;
    mt->n_in = 1, mt->kind = QK_GAP;
    return true;
  }
  if (is_op(c, "Concat")) {
    if (c->n_inputs < 1 || c->n_inputs > QDQ_MAXIN || !ir_node_attr(c, "axis")) return false;
    for (int i = 0; i < c->n_inputs; i++)
      if (!dq_scalar(c->inputs[i], &mt->in[i])) return false;
    mt->n_in = c->n_inputs, mt->kind = QK_CONCAT;
    return true;
  }
  static const char *const pass_ops[] = {"MaxPool", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity"};
  for (size_t k = 0; k < sizeof pass_ops / sizeof *pass_ops; k++) {
    if (!is_op(c, pass_ops[k])) continue;
    if (c->n_inputs < 1 || (c->n_outputs > 1 && c->outputs[1])) return false;
    QdqIn *in = &mt->in[0];
    uint64_t n;
    /* Q(op(DQ(x))) = op(x) when Q undoes DQ exactly: same type, scale and zero point */
    if (!dq_scalar(c->inputs[0], in) || in->t != mt->yt || *scales(in->s, &n) != *scales(mt->ys, &n) ||
        zp_at(in->z, 0) != zp_at(mt->yz, 0))
      return false;
    mt->n_in = 1, mt->kind = QK_PASS;
    return true;
  }
  return false;
}

/* The per-tensor output parameters of QuantizeLinear q: scale (one float), zero point (or
 * NULL) and output type (the zero point's, else output_dtype, else uint8). */
static bool q_params(const Node *q, const float **ys, Value **yz, ElemType *yt) {
  uint64_t n;
  *ys = q->n_inputs > 1 ? scales(q->inputs[1], &n) : NULL;
  *yz = q->n_inputs > 2 ? q->inputs[2] : NULL;
  int64_t odt = q->op->since >= 21 ? ir_attr_int(q, "output_dtype", 0) : 0;
  *yt = odt ? (ElemType)odt : ELEM_UINT8;
  return *ys && n == 1 && zero_point(*yz, 1, yt);
}

/* Match the pattern ending at QuantizeLinear q. */
static bool match(QdqMatch *mt, Node *q) {
  memset(mt, 0, sizeof *mt);
  if (!is_op(q, "QuantizeLinear") || !plain_qdq(q) || q->n_inputs < 2) return false;
  const float *ys;
  Value *yz;
  ElemType yt;
  if (!q_params(q, &ys, &yz, &yt) || !is_q8(yt)) return false;
  mt->q = q, mt->ys = q->inputs[1], mt->yz = yz, mt->yt = yt;
  Value *yf = q->inputs[0];
  Node *core = yf ? yf->producer : NULL;
  if (core && core->op && sole_producer(yf, core->op->family) && absorbs(core, ys[0], zp_at(yz, 0), yt)) {
    mt->relu = core;
    yf = core->inputs[0];
    core = yf ? yf->producer : NULL;
  }
  if (!core || !sole_producer(yf, core->op ? core->op->family : "") || core->n_outputs != 1) return false;
  for (int i = 0; i < core->n_attrs; i++)
    if (core->attrs[i].ref_attr_name) return false;
  mt->core = core;
  if (match_other(mt)) return true;
  mt->kind = QK_GEMM;
  if (core->n_inputs < 2 || !match_x(mt, core->inputs[0])) return false;
  if (is_op(core, "Conv")) {
    const Value *wv = core->inputs[1] ? core->inputs[1]->producer ? core->inputs[1]->producer->inputs[0] : NULL : NULL;
    const Tensor *w = wv ? pass_const_data(wv) : NULL;
    if (!w || w->rank < 3 || !match_w(mt, core->inputs[1], w->rank, 0)) return false;
    mt->N = w->dims[0];
    return match_bias(mt, core->n_inputs > 2 ? core->inputs[2] : NULL, mt->N);
  }
  if (is_op(core, "MatMul")) {
    if (!match_w(mt, core->inputs[1], 2, 1)) return false;
    mt->N = pass_const_data(mt->w)->dims[1];
    return true;
  }
  if (is_op(core, "Gemm")) {
    if (ir_attr_int(core, "transA", 0) || ir_attr_float(core, "alpha", 1.0f) != 1.0f ||
        ir_attr_float(core, "beta", 1.0f) != 1.0f)
      return false;
    mt->trans_b = ir_attr_int(core, "transB", 0) != 0;
    if (!match_w(mt, core->inputs[1], 2, mt->trans_b ? 0 : 1)) return false;
    mt->N = pass_const_data(mt->w)->dims[mt->trans_b ? 0 : 1];
    return match_bias(mt, core->n_inputs > 2 ? core->inputs[2] : NULL, mt->N);
  }
  return false;
}

/* B as [K, N] for QLinearMatMul. */
static Value *weight_kn(Graph *g, const QdqMatch *mt) {
  if (!mt->trans_b) return mt->w;
  const Tensor *w = pass_const_data(mt->w);
  int64_t N = w->dims[0], K = w->dims[1];
  uint8_t *d = malloc((size_t)(N * K) + 1);
  if (!d) return NULL;
  const uint8_t *s = w->data;
  for (int64_t k = 0; k < K; k++)
    for (int64_t n = 0; n < N; n++) d[k * N + n] = s[n * K + k];
  int64_t dims[2] = {K, N};
  Value *v = new_const(g, "weight_q", w->elem, 2, dims, d, (size_t)(N * K));
  free(d);
  return v;
}

static Node *new_ms_node(Graph *g, const Node *like, const char *op, int nin) {
  pass_ensure_opset(g->model, "com.microsoft", 1);
  Node *n = ir_node_new(g, "com.microsoft", op, nin, 1);
  n->name = like->name;
  n->loc = like->loc;
  n->op = ir_op_find("com.microsoft", op, 1);
  return n;
}

/* The single replacement node of the other kinds. */
static Node *rewrite_other(Graph *g, QdqMatch *mt) {
  Node *c = mt->core, *n;
  Value *yz = zp_or_zero(g, mt->yz, mt->yt);
  int k = 0;
  switch (mt->kind) {
  case QK_BINARY:
    n = new_ms_node(g, c, is_op(c, "Add") ? "QLinearAdd" : "QLinearMul", 8);
    break;
  case QK_GAP:
    n = new_ms_node(g, c, "QLinearGlobalAveragePool", 5);
    break;
  case QK_CONCAT:
    n = new_ms_node(g, c, "QLinearConcat", 2 + 3 * mt->n_in);
    pass_set_attr_int(n, "axis", ir_attr_int(c, "axis", 0));
    ir_node_set_input(n, k++, mt->ys);
    ir_node_set_input(n, k++, yz);
    break;
  default: /* QK_PASS: the same operator on the 8-bit input */
    n = ir_node_new(g, c->domain, c->op_type, c->n_inputs, 1);
    n->name = c->name, n->loc = c->loc, n->op = c->op;
    n->attrs = c->attrs, n->n_attrs = c->n_attrs;
    ir_node_set_input(n, 0, mt->in[0].x);
    for (int i = 1; i < c->n_inputs; i++) ir_node_set_input(n, i, c->inputs[i]);
    ir_node_set_output(n, 0, mt->q->outputs[0]);
    return n;
  }
  for (int i = 0; i < mt->n_in; i++) {
    ir_node_set_input(n, k++, mt->in[i].x);
    ir_node_set_input(n, k++, mt->in[i].s);
    ir_node_set_input(n, k++, zp_or_zero(g, mt->in[i].z, mt->in[i].t));
  }
  if (mt->kind != QK_CONCAT) {
    ir_node_set_input(n, k++, mt->ys);
    ir_node_set_input(n, k++, yz);
  }
  ir_node_set_output(n, 0, mt->q->outputs[0]);
  return n;
}

/* The replacement node of a match in *out; false when there is none. */
static bool rewrite(Graph *g, QdqMatch *mt, Node **out) {
  if (mt->kind != QK_GEMM) {
    out[0] = rewrite_other(g, mt);
    return true;
  }
  int64_t opset = ir_node_opset(mt->q);
  if (opset < 10) return false;
  Value *xz = zp_or_zero(g, mt->xz, mt->xt), *yz = zp_or_zero(g, mt->yz, mt->yt);
  Value *wz = zp_or_zero(g, mt->wz, mt->wt), *y = mt->q->outputs[0];
  bool conv = is_op(mt->core, "Conv"), gemm_bias = is_op(mt->core, "Gemm") && mt->bias_v;
  Value *bias = NULL;
  if (mt->bias_v) {
    int32_t *b = bias_int(mt, mt->N);
    if (!b) return false;
    bias = new_const(g, "bias_q", ELEM_INT32, 1, &mt->N, b, sizeof(int32_t) * (size_t)mt->N);
    free(b);
  }
  if (!conv && !gemm_bias) { /* QLinearMatMul */
    Value *w = weight_kn(g, mt);
    if (!w) return false;
    Node *n = new_node(g, mt->core, "QLinearMatMul", 8, opset);
    Value *in[8] = {mt->x, mt->xs, xz, w, mt->ws, wz, mt->ys, yz};
    for (int i = 0; i < 8; i++) ir_node_set_input(n, i, in[i]);
    ir_node_set_output(n, 0, y);
    out[0] = n;
    return true;
  }
  if (!conv) { /* Gemm with a bias: com.microsoft QGemm, C on the scale x_scale * w_scale */
    Node *qg = new_ms_node(g, mt->core, "QGemm", 9);
    Value *in[9] = {mt->x, mt->xs, xz, mt->w, mt->ws, wz, bias, mt->ys, yz};
    for (int i = 0; i < 9; i++) ir_node_set_input(qg, i, in[i]);
    if (mt->trans_b) pass_set_attr_int(qg, "transB", 1);
    ir_node_set_output(qg, 0, y);
    out[0] = qg;
    return true;
  }
  Node *qc = new_node(g, mt->core, "QLinearConv", bias ? 9 : 8, opset);
  qc->attrs = mt->core->attrs;
  qc->n_attrs = mt->core->n_attrs;
  Value *in[9] = {mt->x, mt->xs, xz, mt->w, mt->ws, wz, mt->ys, yz, bias};
  for (int i = 0; i < (bias ? 9 : 8); i++) ir_node_set_input(qc, i, in[i]);
  ir_node_set_output(qc, 0, y);
  out[0] = qc;
  return true;
}

static void drop_value(Value *v) {
  if (!v) return;
  v->has_value_info = false;
  v->producer = NULL;
}

/* QuantizeLinear(DequantizeLinear(x)) with the same type, scale and zero point is x. */
static bool requant_identity(const Node *q) {
  if (!is_op(q, "QuantizeLinear") || !plain_qdq(q) || q->n_inputs < 2 || pass_is_graph_output(q->graph, q->outputs[0]))
    return false;
  QdqIn in;
  if (!dq_scalar(q->inputs[0], &in)) return false;
  const float *ys;
  Value *yz;
  ElemType yt;
  if (!q_params(q, &ys, &yz, &yt)) return false;
  uint64_t m;
  return yt == in.t && ys[0] == *scales(in.s, &m) && zp_at(yz, 0) == zp_at(in.z, 0);
}

/* The y_scale input of an integer operator qdq-fuse makes (y_zero_point follows), or -1. */
static int y_scale_input(const Node *n) {
  static const struct {
    const char *family;
    int i;
  } rows[] = {{"QLinearConv", 6},    {"QLinearMatMul", 6}, {"ms_QGemm", 7},
              {"ms_QLinearAdd", 6},  {"ms_QLinearMul", 6}, {"ms_QLinearGlobalAveragePool", 3}};
  for (size_t k = 0; k < sizeof rows / sizeof *rows; k++)
    if (is_op(n, rows[k].family) && n->n_inputs > rows[k].i + 1) return rows[k].i;
  return -1;
}

/* int8 op -> y -> DequantizeLinear -> Relu / Clip -> QuantizeLinear(ys, yz): the operator
 * quantizes straight to (ys, yz) when the activation is absorbed there (its bounds quantize
 * to the type's limits), one rounding instead of two. */
static bool fold_act(Graph *g, Node *q) {
  if (!is_op(q, "QuantizeLinear") || !plain_qdq(q) || q->n_inputs < 2) return false;
  Node *act = q->inputs[0] ? q->inputs[0]->producer : NULL;
  if (!act || !act->op || (!is_op(act, "Relu") && !is_op(act, "Clip")) || !sole_producer(q->inputs[0], act->op->family))
    return false;
  QdqIn in;
  if (!dq_scalar(act->inputs[0], &in) || !sole_producer(act->inputs[0], "DequantizeLinear")) return false;
  Node *p = in.x->producer;
  int yi = p ? y_scale_input(p) : -1;
  if (yi < 0 || p->n_outputs != 1 || !sole_producer(in.x, p->op->family)) return false;
  const float *ys;
  Value *yz;
  ElemType yt;
  if (!q_params(q, &ys, &yz, &yt) || yt != in.t || !absorbs(act, ys[0], zp_at(yz, 0), yt)) return false;
  Node *gone[3] = {q, act, in.dq};
  Value *y = q->outputs[0], *ysv = q->inputs[1], *yzv = zp_or_zero(g, yz, yt);
  for (int k = 0; k < 3; k++) {
    pass_unlink_node(gone[k]);
    gone[k]->id = UINT32_MAX;
  }
  drop_value(act->outputs[0]);
  drop_value(in.dq->outputs[0]);
  drop_value(in.x);
  pass_set_input(p, yi, ysv);
  pass_set_input(p, yi + 1, yzv);
  ir_node_set_output(p, 0, y);
  return true;
}

static int fuse_graph(Model *m, Graph *g, int *n_fold, int *n_ident) {
  size_t nn = g->nodes.n;
  int nr = 0;
  for (size_t i = 0; i < nn; i++) {
    Node *q = g->nodes.v[i], *r;
    QdqMatch mt;
    if (!q || !match(&mt, q) || !rewrite(g, &mt, &r)) continue;
    nr++;
    Node *gone[3] = {q, mt.relu, mt.core};
    for (int k = 0; k < 3; k++)
      if (gone[k]) {
        pass_unlink_node(gone[k]);
        gone[k]->id = UINT32_MAX;
      }
    drop_value(mt.core->outputs[0]);
    if (mt.relu) drop_value(mt.relu->outputs[0]);
    g->nodes.v[i] = r; /* the replacement takes its QuantizeLinear's place */
  }
  for (size_t i = 0; i < nn; i++)
    if (g->nodes.v[i]->id != UINT32_MAX && fold_act(g, g->nodes.v[i])) ++*n_fold;
  for (size_t i = 0; i < nn; i++) {
    Node *q = g->nodes.v[i];
    if (q->id == UINT32_MAX || !requant_identity(q)) continue;
    pass_replace_uses(m, q->outputs[0], q->inputs[0]->producer->inputs[0]);
    pass_unlink_node(q);
    q->id = UINT32_MAX;
    drop_value(q->outputs[0]);
    ++*n_ident;
  }
  /* DequantizeLinear nodes nothing reads any more */
  for (size_t i = 0; i < nn; i++) {
    Node *d = g->nodes.v[i];
    if (d->id == UINT32_MAX || !is_op(d, "DequantizeLinear") || pass_use_count(d->outputs[0]) ||
        pass_is_graph_output(g, d->outputs[0]))
      continue;
    pass_unlink_node(d);
    d->id = UINT32_MAX;
    drop_value(d->outputs[0]);
  }
  size_t w = 0;
  for (size_t i = 0; i < nn; i++)
    if (g->nodes.v[i]->id != UINT32_MAX) g->nodes.v[w++] = g->nodes.v[i];
  if (w != nn) {
    g->nodes.n = w;
    pass_compact_value_infos(g);
  }
  return nr;
}

static int run(Model *m, const PassOptions *o, PassCtx *c) {
  (void)o;
  pass_load_weights(m, c->d);
  int ng, n = 0, fold = 0, ident = 0;
  Graph **gs = pass_graphs(m, &ng, false);
  for (int k = 0; k < ng; k++) n += fuse_graph(m, gs[k], &fold, &ident);
  free(gs);
  pass_stat(c, "qdq-fused", n);
  pass_stat(c, "act-folded", fold);
  pass_stat(c, "requant-dropped", ident);
  return 0;
}

const Pass pass_qdq_fuse = {
    "qdq-fuse",
    "lower a QDQ graph to integer operators (QLinearConv/MatMul, com.microsoft QLinear*, QGemm)",
    NULL,
    0,
    run,
    0,
    "Every pattern DequantizeLinear(s) -> float operator [-> Relu or Clip] -> QuantizeLinear "
    "becomes one integer operator on the exact kernels, so a QDQ graph is integer from its "
    "first QuantizeLinear to its last DequantizeLinears. Conv becomes QLinearConv; MatMul "
    "QLinearMatMul; Gemm (transA = 0, alpha = beta = 1) QLinearMatMul, or com.microsoft QGemm "
    "with a bias; Add, Mul, GlobalAveragePool and Concat become com.microsoft QLinearAdd, "
    "QLinearMul, QLinearGlobalAveragePool and QLinearConcat (ONNX Runtime's semantics); "
    "MaxPool, Reshape, Flatten, Transpose, Squeeze, Unsqueeze and Identity run on the 8-bit "
    "data when the QuantizeLinear after them has the DequantizeLinear's type, scale and zero "
    "point (exact). A Relu, or a Clip with constant bounds, before QuantizeLinear is absorbed "
    "only where that is exact: Relu when the zero point is the type's minimum, Clip when its "
    "bounds quantize to the type's limits; an integer operator -> DequantizeLinear -> such a Relu "
    "or Clip -> QuantizeLinear quantizes straight to the last parameters (one rounding instead "
    "of two). QuantizeLinear(DequantizeLinear(x)) with the same "
    "type, scale and zero point becomes x. Scales must be float32 constants: activations per "
    "tensor, weights per tensor or per output channel; zero points 8-bit constants. A bias "
    "(float constant or DequantizeLinear of int32) becomes int32 on the scale x_scale * "
    "w_scale. Not exact against the float QDQ graph (the integer graph rounds once where the "
    "float graph rounds each step), so outputs may differ by one quantization step "
    "(tests/lit/qdq_cnn.onnxtxt and qdq_lower.onnxtxt measure it). DequantizeLinear nodes "
    "left without readers are removed; old initializers stay (run `dce`).",
};
