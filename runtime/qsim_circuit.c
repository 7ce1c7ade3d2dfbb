/* qsim_circuit.c - circuits: the gate table, affine angles, building circuits, and reading
 * the circuit of an effc.qc graph (wires from Alloc, gates in node order, the QML templates
 * expanded, angles parsed into affine forms of constants and graph parameters). */
#include "qsim.h"

#include <assert.h>
#include <stdarg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const QcGateInfo qc_gates[QG_COUNT] = {
#define X(id, name, nq, na, q2, q3) {name, nq, na, q2, q3},
    QC_GATES(X)
#undef X
};
static_assert(sizeof qc_gates / sizeof qc_gates[0] == QG_COUNT, "one row per gate");

int qc_gate_find(const char *name) {
  for (int g = 0; g < QG_COUNT; g++)
    if (!strcmp(qc_gates[g].name, name)) return g;
  return -1;
}

/* ------------------------------------------------------------------ angles */

QcAngle qc_const(double c) {
  QcAngle a;
  memset(&a, 0, sizeof a);
  a.c = c;
  return a;
}

bool qc_angle_is_const(const QcAngle *a) {
  return a->n == 0;
}

bool qc_angle_lin(const QcAngle *a, double x, const QcAngle *b, double y, QcAngle *out) {
  QcAngle r = qc_const(x * a->c + y * b->c);
  for (int s = 0; s < 2; s++) {
    const QcAngle *t = s ? b : a;
    double f = s ? y : x;
    for (int i = 0; i < t->n; i++) {
      int j = 0;
      while (j < r.n && r.p[j] != t->p[i]) j++;
      if (j == r.n) {
        if (r.n == QC_MAX_TERMS) return false;
        r.p[r.n] = t->p[i];
        r.k[r.n++] = 0;
      }
      r.k[j] += f * t->k[i];
    }
  }
  int w = 0; /* drop terms that cancelled */
  for (int i = 0; i < r.n; i++)
    if (r.k[i] != 0) r.p[w] = r.p[i], r.k[w++] = r.k[i];
  r.n = w;
  *out = r;
  return true;
}

double qc_angle_eval(const QcAngle *a, const double *params) {
  double v = a->c;
  for (int i = 0; i < a->n; i++) v += a->k[i] * params[a->p[i]];
  return v;
}

/* ------------------------------------------------------------------ building */

void qc_circuit_init(QcCircuit *c, int nq) {
  memset(c, 0, sizeof *c);
  c->nq = nq;
  ir_arena_init(&c->arena);
}

void qc_circuit_free(QcCircuit *c) {
  free(c->ops);
  free(c->params);
  free(c->obs);
  ir_arena_free(&c->arena);
  memset(c, 0, sizeof *c);
}

static QcOp *new_op(QcCircuit *c) {
  if (c->nops == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 64;
    c->ops = realloc(c->ops, (size_t)c->cap * sizeof *c->ops);
    if (!c->ops) abort();
  }
  QcOp *o = &c->ops[c->nops++];
  memset(o, 0, sizeof *o);
  o->obs = -1;
  return o;
}

QcOp *qc_add(QcCircuit *c, int g, const int *q, const QcAngle *a) {
  QcOp *o = new_op(c);
  o->g = g;
  o->nq = qc_gates[g].nq;
  for (int i = 0; i < o->nq; i++) o->q[i] = q[i];
  for (int i = 0; i < qc_gates[g].nangles; i++) o->a[i] = a ? a[i] : qc_const(0);
  return o;
}

QcOp *qc_add_barrier(QcCircuit *c, const int *q, int nq) {
  QcOp *o = new_op(c);
  o->g = QG_BARRIER;
  o->nq = nq;
  o->bq = ir_arena_dup(&c->arena, q, (size_t)nq * sizeof *q);
  return o;
}

QcOp *qc_append(QcCircuit *c, const QcOp *o) {
  if (o->g == QG_BARRIER) return qc_add_barrier(c, o->bq, o->nq);
  QcOp *n = new_op(c);
  *n = *o;
  return n;
}

void qc_add_const(QcCircuit *c, int g, int q0, int q1, double a0) {
  int q[3] = {q0, q1, 0};
  QcAngle a[3] = {qc_const(a0), qc_const(0), qc_const(0)};
  qc_add(c, g, q, a);
}

QcObs *qc_add_obs(QcCircuit *c, QcObsKind kind, const int *q, int nq) {
  if (c->nobs == c->ocap) {
    c->ocap = c->ocap ? 2 * c->ocap : 8;
    c->obs = realloc(c->obs, (size_t)c->ocap * sizeof *c->obs);
    if (!c->obs) abort();
  }
  QcObs *o = &c->obs[c->nobs++];
  memset(o, 0, sizeof *o);
  o->kind = kind;
  o->nq = nq;
  o->q = ir_arena_dup(&c->arena, q, (size_t)(nq ? nq : 1) * sizeof *q);
  return o;
}

void qc_circuit_shell(QcCircuit *dst, const QcCircuit *src) {
  qc_circuit_init(dst, src->nq);
  if (src->nparams) {
    dst->params = malloc((size_t)src->nparams * sizeof *dst->params);
    if (!dst->params) abort();
    memcpy(dst->params, src->params, (size_t)src->nparams * sizeof *dst->params);
    dst->nparams = dst->pcap = src->nparams;
  }
  for (int i = 0; i < src->nobs; i++) {
    const QcObs *s = &src->obs[i];
    QcObs *o = qc_add_obs(dst, s->kind, s->q, s->nq);
    o->out = s->out;
    o->nterms = s->nterms;
    if (s->nterms) {
      o->coeffs = ir_arena_dup(&dst->arena, s->coeffs, (size_t)s->nterms * sizeof *s->coeffs);
      o->paulis = ir_arena_alloc(&dst->arena, (size_t)s->nterms * sizeof *o->paulis);
      for (int t = 0; t < s->nterms; t++) o->paulis[t] = ir_arena_strdup(&dst->arena, s->paulis[t]);
    }
  }
}

/* ------------------------------------------------------------------ matrices */

void qc_matrix1(int g, const double *ang, double m[8]) {
  static const double r2 = 0.70710678118654752440;
  double t = ang ? ang[0] : 0, c = cos(t / 2), s = sin(t / 2);
  /* m = {re00, im00, re01, im01, re10, im10, re11, im11} */
  double z[8] = {1, 0, 0, 0, 0, 0, 1, 0};
  switch (g) {
  case QG_H: z[0] = z[2] = z[4] = r2, z[6] = -r2; break;
  case QG_X: z[0] = z[6] = 0, z[2] = z[4] = 1; break;
  case QG_Y: z[0] = z[6] = 0, z[3] = -1, z[5] = 1; break;
  case QG_Z: z[6] = -1; break;
  case QG_S: z[6] = 0, z[7] = 1; break;
  case QG_SDG: z[6] = 0, z[7] = -1; break;
  case QG_T: z[6] = z[7] = r2; break;
  case QG_TDG: z[6] = r2, z[7] = -r2; break;
  case QG_SX: z[0] = z[6] = 0.5, z[1] = z[7] = 0.5, z[2] = z[4] = 0.5, z[3] = z[5] = -0.5; break;
  case QG_SXDG: z[0] = z[6] = 0.5, z[1] = z[7] = -0.5, z[2] = z[4] = 0.5, z[3] = z[5] = 0.5; break;
  case QG_RX: z[0] = z[6] = c, z[3] = z[5] = -s; break;
  case QG_RY: z[0] = z[6] = c, z[2] = -s, z[4] = s; break;
  case QG_RZ: z[0] = c, z[1] = -s, z[6] = c, z[7] = s; break;
  case QG_P: z[6] = cos(t), z[7] = sin(t); break;
  case QG_U: {
    double ph = ang[1], la = ang[2];
    z[0] = c, z[1] = 0;
    z[2] = -cos(la) * s, z[3] = -sin(la) * s;
    z[4] = cos(ph) * s, z[5] = sin(ph) * s;
    z[6] = cos(ph + la) * c, z[7] = sin(ph + la) * c;
    break;
  }
  default: break;
  }
  memcpy(m, z, sizeof z);
}

/* ------------------------------------------------------------------ reading a graph */

typedef struct Reader {
  Model *m;
  QcCircuit *c;
  Diag *d;
  int *wire;      /* by value id: the wire a qubit value holds, -1 if none */
  uint8_t *state; /* by value id: 1 = live qubit, 2 = consumed by a gate */
  const Node *node;
} Reader;

static int rd_error(Reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int rd_error(Reader *r, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const Node *n = r->node;
  ir_error(r->d, n ? n->loc : ir_noloc, "%s%s%s%s: %s", n ? "node '" : "", n && n->name ? n->name : "",
           n ? "' " : "", n ? n->op_type : "circuit", msg);
  return -1;
}

static int param_index(QcCircuit *c, Value *v, int64_t idx) {
  for (int i = 0; i < c->nparams; i++)
    if (c->params[i].v == v && c->params[i].index == idx) return i;
  if (c->nparams == c->pcap) {
    c->pcap = c->pcap ? 2 * c->pcap : 8;
    c->params = realloc(c->params, (size_t)c->pcap * sizeof *c->params);
    if (!c->params) abort();
  }
  c->params[c->nparams].v = v;
  c->params[c->nparams].index = idx;
  return c->nparams++;
}

static const Tensor *const_data(const Value *v) {
  if (v->init && v->init->has_data) {
    const Graph *g = v->graph;
    for (int i = 0; i < g->n_inputs; i++)
      if (g->inputs[i] == v) return NULL; /* an input with a default: a parameter */
    return v->init;
  }
  if (v->producer && !strcmp(v->producer->op_type, "Constant") && !*v->producer->domain) {
    const Attr *a = ir_node_attr(v->producer, "value");
    if (a && a->type == ATTR_TENSOR && a->t->has_data) return a->t;
    a = ir_node_attr(v->producer, "value_float");
    (void)a;
  }
  return NULL;
}

static bool tensor_f64(const Tensor *t, int64_t i, double *out) {
  uint64_t n;
  if (!ir_tensor_numel(t, &n) || i < 0 || (uint64_t)i >= n) return false;
  const ElemTraits *e = ir_elem(t->elem);
  if (!e->to_f64 || t->elem == ELEM_STRING) return false;
  *out = e->to_f64(t->data, (size_t)i);
  return true;
}

static bool is_graph_input(const Value *v) {
  const Graph *g = v->graph;
  for (int i = 0; i < g->n_inputs; i++)
    if (g->inputs[i] == v) return true;
  return false;
}

/* Element idx of value v as an affine form. */
static int parse_angle(Reader *r, Value *v, int64_t idx, QcAngle *out, int depth) {
  if (depth > 64) return rd_error(r, "angle expression nests more than 64 levels");
  const Tensor *t = const_data(v);
  if (t) {
    double x;
    if (!tensor_f64(t, idx, &x)) return rd_error(r, "angle '%s': element %lld out of range", v->name, (long long)idx);
    *out = qc_const(x);
    return 0;
  }
  Node *p = v->producer;
  if (!p || is_graph_input(v)) {
    if (!p && !is_graph_input(v)) return rd_error(r, "angle '%s' is not defined", v->name);
    *out = qc_const(0);
    out->n = 1;
    out->k[0] = 1;
    out->p[0] = param_index(r->c, v, idx);
    return 0;
  }
  const char *op = p->op_type;
  if (*p->domain) goto opaque;
  if (!strcmp(op, "Identity") && p->n_inputs == 1) return parse_angle(r, p->inputs[0], idx, out, depth + 1);
  if (!strcmp(op, "Neg") && p->n_inputs == 1) {
    if (parse_angle(r, p->inputs[0], idx, out, depth + 1)) return -1;
    return qc_angle_lin(out, -1, out, 0, out) ? 0 : rd_error(r, "angle '%s' has too many terms", v->name);
  }
  if ((!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") || !strcmp(op, "Div")) &&
      p->n_inputs == 2 && p->inputs[0] && p->inputs[1]) {
    /* scalar operands only: element idx of a broadcast scalar is element 0 */
    QcAngle a, b;
    uint64_t na = 1, nb = 1;
    if (p->inputs[0]->type && p->inputs[0]->type->kind == TYPE_TENSOR) ir_type_numel(p->inputs[0]->type, &na);
    if (p->inputs[1]->type && p->inputs[1]->type->kind == TYPE_TENSOR) ir_type_numel(p->inputs[1]->type, &nb);
    if (parse_angle(r, p->inputs[0], na == 1 ? 0 : idx, &a, depth + 1) ||
        parse_angle(r, p->inputs[1], nb == 1 ? 0 : idx, &b, depth + 1))
      return -1;
    bool ok = true;
    if (op[0] == 'A') ok = qc_angle_lin(&a, 1, &b, 1, out);
    else if (op[0] == 'S') ok = qc_angle_lin(&a, 1, &b, -1, out);
    else if (op[0] == 'M' && qc_angle_is_const(&a)) ok = qc_angle_lin(&b, a.c, &b, 0, out);
    else if (op[0] == 'M' && qc_angle_is_const(&b)) ok = qc_angle_lin(&a, b.c, &a, 0, out);
    else if (op[0] == 'D' && qc_angle_is_const(&b) && b.c != 0) ok = qc_angle_lin(&a, 1 / b.c, &a, 0, out);
    else return rd_error(r, "angle '%s': %s of two parameters is not affine", v->name, op);
    return ok ? 0 : rd_error(r, "angle '%s' has more than %d parameter terms", v->name, QC_MAX_TERMS);
  }
  if (!strcmp(op, "Gather") && p->n_inputs == 2 && p->inputs[1]) {
    const Tensor *it = const_data(p->inputs[1]);
    double k;
    if (it && idx == 0 && it->rank == 0 && tensor_f64(it, 0, &k) && ir_attr_int(p, "axis", 0) == 0) {
      Value *src = p->inputs[0];
      /* a flattening Reshape in between keeps the element order */
      if (src->producer && !strcmp(src->producer->op_type, "Reshape") && !*src->producer->domain)
        src = src->producer->inputs[0];
      return parse_angle(r, src, (int64_t)k, out, depth + 1);
    }
  }
opaque:
  return rd_error(r, "angle '%s' is computed by %s, which circuits do not evaluate (use Add, Sub, "
                  "Mul or Div by constants, Neg, Identity, Gather of a constant index)",
                  v->name, op);
}

/* The wire of qubit input i of the current node; consumes it when `take`. */
static int take_qubit(Reader *r, int i, bool take) {
  Value *v = r->node->inputs[i];
  if (!v) return rd_error(r, "qubit input %d is missing", i), -1;
  if (v->id >= r->m->next_value_id || r->wire[v->id] < 0)
    return rd_error(r, "input %d ('%s') is not a qubit made by effc.qc.Alloc or a gate", i, v->name), -1;
  if (r->state[v->id] == 2)
    return rd_error(r, "qubit '%s' is used twice (a gate consumes its qubits; use its outputs)", v->name), -1;
  if (take) r->state[v->id] = 2;
  return r->wire[v->id];
}

static void def_qubit(Reader *r, int i, int w) {
  Value *v = r->node->outputs[i];
  if (!v) return;
  r->wire[v->id] = w;
  r->state[v->id] = 1;
}

static int angle_input(Reader *r, int i, QcAngle *a) {
  Value *v = i < r->node->n_inputs ? r->node->inputs[i] : NULL;
  if (!v) return rd_error(r, "angle input %d is missing", i);
  return parse_angle(r, v, 0, a, 0);
}

static int tensor_numel_of(Reader *r, Value *v, int64_t *n, int64_t dims[3], int *rank) {
  const Tensor *t = const_data(v);
  const Type *ty = t ? NULL : v->type;
  *rank = t ? t->rank : ty && ty->kind == TYPE_TENSOR ? ty->rank : -1;
  if (*rank < 0 || *rank > 3) return rd_error(r, "parameters '%s' need a known shape of rank <= 3", v->name);
  *n = 1;
  for (int i = 0; i < *rank; i++) {
    dims[i] = t ? t->dims[i] : ty->dims[i].param ? -1 : ty->dims[i].value;
    if (dims[i] < 0) return rd_error(r, "parameters '%s' need a known shape", v->name);
    *n *= dims[i];
  }
  return 0;
}

/* The templates, expanded into gates (PennyLane's conventions, docs/quantum.md). */
static int expand_template(Reader *r, const char *op, const int *w, int nq) {
  QcCircuit *c = r->c;
  Value *pv = r->node->inputs[nq];
  if (!pv) return rd_error(r, "the parameter input is missing");
  int64_t n, dims[3];
  int rank;
  if (tensor_numel_of(r, pv, &n, dims, &rank)) return -1;
  QcAngle a[3];
  if (!strcmp(op, "AngleEmbedding")) {
    const char *rot = ir_attr_string(r->node, "rotation", "X");
    int g = !strcmp(rot, "X") ? QG_RX : !strcmp(rot, "Y") ? QG_RY : !strcmp(rot, "Z") ? QG_RZ : -1;
    if (g < 0) return rd_error(r, "rotation must be X, Y or Z, not '%s'", rot);
    if (n > nq) return rd_error(r, "%lld features for %d qubits", (long long)n, nq);
    for (int64_t i = 0; i < n; i++) {
      if (parse_angle(r, pv, i, &a[0], 0)) return -1;
      qc_add(c, g, &w[i], a);
    }
    return 0;
  }
  if (!strcmp(op, "StronglyEntanglingLayers")) {
    if (rank != 3 || dims[1] != nq || dims[2] != 3)
      return rd_error(r, "weights must be float[layers, %d, 3]", nq);
    size_t nr;
    const int64_t *ranges = ir_attr_ints(r->node, "ranges", &nr);
    if (ranges && (int64_t)nr != dims[0]) return rd_error(r, "ranges needs one entry per layer");
    for (int64_t l = 0; l < dims[0]; l++) {
      for (int i = 0; i < nq; i++) {
        for (int k = 0; k < 3; k++)
          if (parse_angle(r, pv, (l * nq + i) * 3 + k, &a[k], 0)) return -1;
        /* Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi) */
        qc_add(c, QG_RZ, &w[i], &a[0]);
        qc_add(c, QG_RY, &w[i], &a[1]);
        qc_add(c, QG_RZ, &w[i], &a[2]);
      }
      if (nq < 2) continue;
      int64_t rg = ranges ? ranges[l] : l % (nq - 1) + 1;
      if (rg < 1 || rg >= nq) return rd_error(r, "range %lld of layer %lld is outside [1, %d)", (long long)rg, (long long)l, nq);
      for (int i = 0; i < nq; i++) {
        int q[2] = {w[i], w[(i + rg) % nq]};
        qc_add(c, QG_CX, q, NULL);
      }
    }
    return 0;
  }
  if (n != 1) return rd_error(r, "the angle input must be a scalar");
  if (parse_angle(r, pv, 0, &a[0], 0)) return -1;
  if (!strcmp(op, "QAOAMixer")) {
    /* exp(-i beta X) on every qubit = RX(2 beta) */
    QcAngle b;
    qc_angle_lin(&a[0], 2, &a[0], 0, &b);
    for (int i = 0; i < nq; i++) qc_add(c, QG_RX, &w[i], &b);
    return 0;
  }
  /* QAOACost: exp(-i gamma w_ij Z_i Z_j) per edge = RZZ(2 gamma w_ij) */
  size_t ne, nw;
  const int64_t *e = ir_attr_ints(r->node, "edges", &ne);
  const float *wt = ir_attr_floats(r->node, "weights", &nw);
  if (!e || ne % 2) return rd_error(r, "edges must list pairs of qubit positions");
  if (wt && nw * 2 != ne) return rd_error(r, "weights needs one entry per edge");
  for (size_t k = 0; k < ne / 2; k++) {
    int64_t i = e[2 * k], j = e[2 * k + 1];
    if (i < 0 || j < 0 || i >= nq || j >= nq || i == j)
      return rd_error(r, "edge (%lld, %lld) is not a pair of distinct qubit positions < %d", (long long)i, (long long)j, nq);
    QcAngle b;
    qc_angle_lin(&a[0], 2.0 * (wt ? wt[k] : 1.0), &a[0], 0, &b);
    int q[2] = {w[i], w[j]};
    qc_add(c, QG_RZZ, q, &b);
  }
  return 0;
}

static int read_pauli_obs(Reader *r, QcObs *o) {
  const Attr *p = ir_node_attr(r->node, "paulis");
  if (!p || p->type != ATTR_STRINGS || !p->n) return rd_error(r, "paulis (a list of strings) is required");
  size_t nc;
  const float *cf = ir_attr_floats(r->node, "coeffs", &nc);
  if (nc && nc != p->n) return rd_error(r, "%zu coeffs for %zu Pauli strings", nc, p->n);
  o->nterms = (int)p->n;
  o->paulis = ir_arena_alloc(&r->c->arena, p->n * sizeof *o->paulis);
  o->coeffs = ir_arena_alloc(&r->c->arena, p->n * sizeof *o->coeffs);
  for (size_t t = 0; t < p->n; t++) {
    if ((int)p->strings[t].len != o->nq || strspn(p->strings[t].s, "IXYZ") != p->strings[t].len)
      return rd_error(r, "Pauli string %zu must have one letter of I, X, Y, Z per qubit input", t);
    o->paulis[t] = ir_arena_strndup(&r->c->arena, p->strings[t].s, p->strings[t].len);
    o->coeffs[t] = nc ? cf[t] : 1.0;
  }
  return 0;
}

int qc_circuit_from_graph(Model *m, QcCircuit *c, Diag *d) {
  qc_circuit_init(c, 0);
  Graph *g = m->graph;
  Reader r = {m, c, d, malloc((m->next_value_id + 1) * sizeof(int)), calloc(m->next_value_id + 1, 1), NULL};
  if (!r.wire || !r.state) abort();
  for (uint32_t i = 0; i <= m->next_value_id; i++) r.wire[i] = -1;
  int rc = 0;
  for (size_t gi = 0; gi < m->all_graphs.n && !rc; gi++) { /* circuits live in the main graph */
    const Graph *sg = m->all_graphs.v[gi];
    for (size_t k = 0; sg != g && k < sg->nodes.n && !rc; k++)
      if (sg->nodes.v[k] && !strcmp(sg->nodes.v[k]->domain, "effc.qc")) {
        r.node = sg->nodes.v[k];
        rc = rd_error(&r, "effc.qc operators inside subgraphs or functions are not supported");
      }
  }
  Node **readers = NULL; /* observable nodes, checked at the end */
  size_t nreaders = 0;
  for (size_t k = 0; k < g->nodes.n && !rc; k++) {
    Node *n = g->nodes.v[k];
    if (!n || strcmp(n->domain, "effc.qc")) continue;
    r.node = n;
    const char *op = n->op_type;
    int w[64 + 1];
    int nq = n->n_outputs;
    if (!strcmp(op, "Alloc")) {
      for (int i = 0; i < n->n_outputs; i++) def_qubit(&r, i, c->nq++);
      continue;
    }
    if (!strcmp(op, "Expval") || !strcmp(op, "Probs")) {
      int *q = malloc(((size_t)n->n_inputs + 1) * sizeof *q);
      if (!q) abort();
      for (int i = 0; i < n->n_inputs && !rc; i++)
        if ((q[i] = take_qubit(&r, i, false)) < 0) rc = -1;
      for (int i = 0; i < n->n_inputs && !rc; i++)
        for (int j = 0; j < i; j++)
          if (q[i] == q[j]) rc = rd_error(&r, "the same qubit is listed twice");
      if (!rc && !strcmp(op, "Probs") && n->n_inputs > 26) rc = rd_error(&r, "more than 26 qubits");
      if (!rc) {
        QcObs *o = qc_add_obs(c, op[0] == 'E' ? QC_OBS_EXPVAL : QC_OBS_PROBS, q, n->n_inputs);
        o->out = n->outputs[0];
        if (op[0] == 'E') rc = read_pauli_obs(&r, o);
        readers = realloc(readers, (nreaders + 1) * sizeof *readers);
        readers[nreaders++] = n;
      }
      free(q);
      continue;
    }
    bool tmpl = !strcmp(op, "AngleEmbedding") || !strcmp(op, "StronglyEntanglingLayers") ||
                !strcmp(op, "QAOACost") || !strcmp(op, "QAOAMixer");
    int gi = qc_gate_find(op);
    if (!tmpl && gi < 0) {
      rc = rd_error(&r, "unknown effc.qc operator");
      break;
    }
    if (gi == QG_MEASURE) nq = 1;
    if (nq > 64 || nq < 1 || (tmpl ? n->n_inputs != nq + 1 : n->n_inputs < nq)) {
      rc = rd_error(&r, "%d qubit inputs and %d qubit outputs do not match", n->n_inputs, nq);
      break;
    }
    for (int i = 0; i < nq && !rc; i++)
      if ((w[i] = take_qubit(&r, i, true)) < 0) rc = -1;
    for (int i = 0; i < nq && !rc; i++)
      for (int j = 0; j < i; j++)
        if (w[i] == w[j]) rc = rd_error(&r, "the same qubit is given twice");
    if (rc) break;
    if (tmpl) {
      rc = expand_template(&r, op, w, nq);
    } else if (gi == QG_BARRIER) {
      qc_add_barrier(c, w, nq);
    } else if (gi == QG_MEASURE) {
      QcOp *o = qc_add(c, gi, w, NULL);
      QcObs *ob = qc_add_obs(c, QC_OBS_MEASURE, w, 1);
      ob->out = n->n_outputs > 1 ? n->outputs[1] : NULL;
      c->ops[c->nops - 1].obs = c->nobs - 1;
      (void)o;
    } else {
      if (n->n_inputs != qc_gates[gi].nq + qc_gates[gi].nangles) {
        rc = rd_error(&r, "needs %d qubits and %d angles", qc_gates[gi].nq, qc_gates[gi].nangles);
        break;
      }
      QcAngle a[3];
      for (int i = 0; i < qc_gates[gi].nangles && !rc; i++) rc = angle_input(&r, nq + i, &a[i]);
      if (!rc) qc_add(c, gi, w, a);
    }
    for (int i = 0; i < nq && !rc; i++) def_qubit(&r, i, w[i]);
  }
  for (size_t k = 0; k < nreaders && !rc; k++) {
    r.node = readers[k];
    for (int i = 0; i < readers[k]->n_inputs && !rc; i++)
      if (r.state[readers[k]->inputs[i]->id] == 2)
        rc = rd_error(&r, "reads qubit '%s', which a later gate consumes (observables read final qubits)",
                      readers[k]->inputs[i]->name);
  }
  free(readers);
  free(r.wire);
  free(r.state);
  if (rc) qc_circuit_free(c);
  return rc;
}
