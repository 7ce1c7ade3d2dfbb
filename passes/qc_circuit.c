/* qc_circuit.c - what the effc.qc passes share: writing a circuit back into the graph
 * (replacing the effc.qc nodes, keeping the classical nodes before and after them), the
 * read-transform-write driver every qc pass runs through, gate inverses and commutation
 * facts, and one-qubit synthesis (ZYZ angles of a 2x2 unitary). */
#include "passes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ writing a graph */

typedef struct Writer {
  Model *m;
  Graph *g;
  const QcCircuit *c;
  Value **wire;    /* current qubit value of each wire */
  Value **flat;    /* per parameter: the flattened tensor (Reshape), or NULL */
  unsigned counter;
  IR_VEC(Node *) out; /* the new nodes, in order */
  IR_VEC(Value *) consts; /* scalar constants written so far, reused by value */
} Writer;

static Value *fresh(Writer *w, const char *base) {
  char name[96];
  for (;;) {
    snprintf(name, sizeof name, "%s%u", base, w->counter++);
    if (!ir_graph_lookup(w->g, name)) {
      Value *v = ir_value_new(w->g, ir_arena_strdup(&w->m->arena, name), NULL);
      if (v) return v;
    }
  }
}

static Node *node(Writer *w, const char *dom, const char *op, int ni, int no) {
  Node *n = ir_node_new(w->g, dom, op, ni, no);
  ir_vec_push(w->out, n);
  return n;
}

static Value *scalar_const(Writer *w, ElemType e, double x) {
  for (size_t i = 0; i < w->consts.n; i++) {
    const Tensor *c = w->consts.v[i]->init;
    if (c->elem == e && ir_elem(e)->to_f64(c->data, 0) == x) return w->consts.v[i];
  }
  Tensor *t = ir_tensor_new(&w->m->arena, e, 0, NULL);
  ir_tensor_alloc_data(&w->m->arena, t);
  ir_elem(e)->from_f64(t->data, 0, x);
  Value *v = pass_add_initializer(w->g, "qc_c", t);
  ir_vec_push(w->consts, v);
  return v;
}

static ElemType param_elem(const Value *v) {
  if (v->init) return v->init->elem;
  if (v->type && v->type->kind == TYPE_TENSOR && v->type->elem) return v->type->elem;
  return ELEM_FLOAT;
}

/* The value of one parameter (element index of a tensor input). */
static Value *param_value(Writer *w, int pi) {
  const QcParam *p = &w->c->params[pi];
  uint64_t n = 1;
  bool scalar = p->v->init ? ir_tensor_numel(p->v->init, &n) && n == 1
                           : p->v->type && p->v->type->kind == TYPE_TENSOR && ir_type_numel(p->v->type, &n) && n == 1;
  if (scalar && p->v->type && p->v->type->rank == 0) return p->v;
  if (!w->flat[pi]) {
    for (int j = 0; j < w->c->nparams; j++)
      if (w->flat[j] && w->c->params[j].v == p->v) w->flat[pi] = w->flat[j];
    if (!w->flat[pi]) {
      int64_t one = 1, m1 = -1;
      Tensor *sh = ir_tensor_new(&w->m->arena, ELEM_INT64, 1, &one);
      ir_tensor_alloc_data(&w->m->arena, sh);
      memcpy(sh->data, &m1, sizeof m1);
      Node *r = node(w, "", "Reshape", 2, 1);
      ir_node_set_input(r, 0, p->v);
      ir_node_set_input(r, 1, pass_add_initializer(w->g, "qc_flat_shape", sh));
      ir_node_set_output(r, 0, w->flat[pi] = fresh(w, "qc_flat"));
    }
  }
  Tensor *ix = ir_tensor_new(&w->m->arena, ELEM_INT64, 0, NULL);
  ir_tensor_alloc_data(&w->m->arena, ix);
  memcpy(ix->data, &p->index, sizeof p->index);
  Node *gn = node(w, "", "Gather", 2, 1);
  ir_node_set_input(gn, 0, w->flat[pi]);
  ir_node_set_input(gn, 1, pass_add_initializer(w->g, "qc_idx", ix));
  Value *v = fresh(w, "qc_p");
  ir_node_set_output(gn, 0, v);
  return v;
}

static Value *binary(Writer *w, const char *op, Value *a, Value *b) {
  Node *n = node(w, "", op, 2, 1);
  ir_node_set_input(n, 0, a);
  ir_node_set_input(n, 1, b);
  Value *v = fresh(w, "qc_a");
  ir_node_set_output(n, 0, v);
  return v;
}

static Value *angle_value(Writer *w, const QcAngle *a) {
  if (!a->n) return scalar_const(w, ELEM_DOUBLE, a->c);
  Value *acc = NULL;
  ElemType e = param_elem(w->c->params[a->p[0]].v);
  for (int i = 0; i < a->n; i++) {
    Value *t = param_value(w, a->p[i]);
    if (a->k[i] != 1) t = binary(w, "Mul", t, scalar_const(w, e, a->k[i]));
    acc = acc ? binary(w, "Add", acc, t) : t;
  }
  if (a->c != 0) acc = binary(w, "Add", acc, scalar_const(w, e, a->c));
  return acc;
}

static void write_op(Writer *w, const QcOp *o) {
  const int *q = qc_op_wires(o);
  int na = qc_gates[o->g].nangles, nout = o->g == QG_MEASURE ? 2 : o->nq;
  Value *ang[3];
  for (int i = 0; i < na; i++) ang[i] = angle_value(w, &o->a[i]);
  Node *n = node(w, "effc.qc", qc_gates[o->g].name, o->nq + na, nout);
  for (int i = 0; i < o->nq; i++) ir_node_set_input(n, i, w->wire[q[i]]);
  for (int i = 0; i < na; i++) ir_node_set_input(n, o->nq + i, ang[i]);
  for (int i = 0; i < o->nq; i++) ir_node_set_output(n, i, w->wire[q[i]] = fresh(w, "q"));
  if (o->g == QG_MEASURE) {
    Value *bit = o->obs >= 0 && w->c->obs[o->obs].out ? w->c->obs[o->obs].out : fresh(w, "qc_m");
    ir_node_set_output(n, 1, bit);
  }
}

static void write_obs(Writer *w, const QcObs *ob) {
  Node *n = node(w, "effc.qc", ob->kind == QC_OBS_PROBS ? "Probs" : "Expval", ob->nq, 1);
  for (int i = 0; i < ob->nq; i++) ir_node_set_input(n, i, w->wire[ob->q[i]]);
  ir_node_set_output(n, 0, ob->out ? ob->out : fresh(w, "qc_obs"));
  if (ob->kind != QC_OBS_EXPVAL) return;
  Arena *a = &w->m->arena;
  Attr *at = ir_arena_alloc(a, 2 * sizeof *at);
  at[0].name = "paulis";
  at[0].type = ATTR_STRINGS;
  at[0].n = (size_t)ob->nterms;
  at[0].strings = ir_arena_alloc(a, (size_t)ob->nterms * sizeof(IrStr) + 1);
  for (int t = 0; t < ob->nterms; t++) at[0].strings[t] = ir_str(a, ob->paulis[t], strlen(ob->paulis[t]));
  n->attrs = at;
  n->n_attrs = 1;
  bool ones = true;
  for (int t = 0; t < ob->nterms; t++) ones &= ob->coeffs[t] == 1;
  if (!ones) {
    float *f = ir_arena_alloc(a, (size_t)ob->nterms * sizeof *f);
    for (int t = 0; t < ob->nterms; t++) f[t] = (float)ob->coeffs[t];
    pass_set_attr_floats(n, "coeffs", f, (size_t)ob->nterms);
  }
}

int qc_graph_write(Model *m, const QcCircuit *c, Diag *d) {
  (void)d;
  Graph *g = m->graph;
  size_t nn = g->nodes.n;
  bool *dead = calloc(nn + 1, 1), *down = calloc(nn + 1, 1);
  uint8_t *tainted = calloc(m->next_value_id + 1, 1);
  if (!dead || !down || !tainted) abort();
  /* effc.qc nodes go; classical nodes reading their results (transitively) move after the
   * new circuit */
  for (size_t i = 0; i < nn; i++) {
    Node *n = g->nodes.v[i];
    if (!n) continue;
    bool qc = !strcmp(n->domain, "effc.qc"), t = qc;
    for (int j = 0; j < n->n_inputs && !t; j++)
      t = n->inputs[j] && n->inputs[j]->id < m->next_value_id && tainted[n->inputs[j]->id];
    if (qc) dead[i] = true;
    else if (t) down[i] = true;
    if (t)
      for (int j = 0; j < n->n_outputs; j++)
        if (n->outputs[j] && n->outputs[j]->id < m->next_value_id) tainted[n->outputs[j]->id] = 1;
  }
  IR_VEC(Node *) after = {0};
  for (size_t i = 0; i < nn; i++)
    if (down[i]) {
      ir_vec_push(after, g->nodes.v[i]);
      dead[i] = true;
      g->nodes.v[i] = NULL;
    }
  /* keep the observables' values: unlinking a producer leaves them for the new nodes */
  pass_remove_nodes(g, dead);
  Writer w = {m, g, c, calloc((size_t)c->nq + 1, sizeof(Value *)), calloc((size_t)c->nparams + 1, sizeof(Value *)), 0, {0}, {0}};
  if (!w.wire || !w.flat) abort();
  if (c->nq) {
    Node *al = node(&w, "effc.qc", "Alloc", 0, c->nq);
    for (int i = 0; i < c->nq; i++) ir_node_set_output(al, i, w.wire[i] = fresh(&w, "q"));
  }
  for (int i = 0; i < c->nops; i++) write_op(&w, &c->ops[i]);
  for (int i = 0; i < c->nobs; i++)
    if (c->obs[i].kind != QC_OBS_MEASURE) write_obs(&w, &c->obs[i]);
  for (size_t i = 0; i < w.out.n; i++) ir_node_append(g, w.out.v[i]);
  for (size_t i = 0; i < after.n; i++) {
    Node *n = after.v[i];
    ir_node_append(g, n);
  }
  ir_vec_free(after);
  ir_vec_free(w.out);
  ir_vec_free(w.consts);
  free(w.wire);
  free(w.flat);
  free(dead);
  free(down);
  free(tainted);
  pass_ensure_opset(m, "effc.qc", 1);
  return 0;
}

int qc_pass_run(Model *m, PassCtx *pc, QcTransform fn, const void *arg) {
  QcCircuit in, out;
  if (qc_circuit_from_graph(m, &in, pc->d)) return -1;
  int rc = fn(&in, &out, arg, pc);
  if (!rc) {
    int before = 0, after = 0, cx0 = 0, cx1 = 0;
    for (int i = 0; i < in.nops; i++) {
      before += in.ops[i].g != QG_BARRIER;
      cx0 += in.ops[i].nq >= 2 && in.ops[i].g != QG_BARRIER;
    }
    for (int i = 0; i < out.nops; i++) {
      after += out.ops[i].g != QG_BARRIER;
      cx1 += out.ops[i].nq >= 2 && out.ops[i].g != QG_BARRIER;
    }
    pass_stat(pc, "gates-before", before);
    pass_stat(pc, "gates-after", after);
    pass_stat(pc, "multi-qubit-gates-after", cx1);
    (void)cx0;
    rc = qc_graph_write(m, &out, pc->d);
    qc_circuit_free(&out);
  }
  qc_circuit_free(&in);
  return rc;
}

/* ------------------------------------------------------------------ gate facts */

bool qc_op_inverse(const QcOp *o, QcOp *inv) {
  *inv = *o;
  switch (o->g) {
  case QG_S: inv->g = QG_SDG; return true;
  case QG_SDG: inv->g = QG_S; return true;
  case QG_T: inv->g = QG_TDG; return true;
  case QG_TDG: inv->g = QG_T; return true;
  case QG_SX: inv->g = QG_SXDG; return true;
  case QG_SXDG: inv->g = QG_SX; return true;
  case QG_U: /* U(t, p, l)^-1 = U(-t, -l, -p) */
    qc_angle_lin(&o->a[0], -1, &o->a[0], 0, &inv->a[0]);
    qc_angle_lin(&o->a[2], -1, &o->a[2], 0, &inv->a[1]);
    qc_angle_lin(&o->a[1], -1, &o->a[1], 0, &inv->a[2]);
    return true;
  case QG_MEASURE: case QG_RESET: case QG_BARRIER: return false;
  default:
    if (qc_gates[o->g].nangles == 1) qc_angle_lin(&o->a[0], -1, &o->a[0], 0, &inv->a[0]);
    return true; /* the rest are self-inverse */
  }
}

static bool same_angle(const QcAngle *a, const QcAngle *b) {
  QcAngle d;
  return qc_angle_lin(a, 1, b, -1, &d) && !d.n && fabs(d.c) < 1e-12;
}

bool qc_ops_inverse(const QcOp *a, const QcOp *b) {
  QcOp inv;
  if (!qc_op_inverse(a, &inv) || inv.g != b->g) return false;
  bool sym = b->g == QG_CZ || b->g == QG_SWAP || b->g == QG_RZZ || b->g == QG_RXX || b->g == QG_CP;
  bool same = true, swapped = a->nq == 2;
  for (int i = 0; i < a->nq; i++) same &= inv.q[i] == b->q[i];
  if (a->nq == 2) swapped = inv.q[0] == b->q[1] && inv.q[1] == b->q[0];
  if (!same && !(sym && swapped)) return false;
  if (a->g == QG_CCX && !(inv.q[2] == b->q[2] && ((inv.q[0] == b->q[0] && inv.q[1] == b->q[1]) || (inv.q[0] == b->q[1] && inv.q[1] == b->q[0]))))
    return false;
  for (int i = 0; i < qc_gates[b->g].nangles; i++)
    if (!same_angle(&inv.a[i], &b->a[i])) return false;
  return true;
}

/* How an op acts on wire w: 'Z' diagonal in the computational basis, 'X' a function of X
 * only, '?' anything else, 0 not at all. */
char qc_op_action(const QcOp *o, int w) {
  const int *q = qc_op_wires(o);
  int pos = -1;
  for (int i = 0; i < o->nq; i++)
    if (q[i] == w) pos = i;
  if (pos < 0) return 0;
  switch (o->g) {
  case QG_Z: case QG_S: case QG_SDG: case QG_T: case QG_TDG: case QG_RZ: case QG_P:
  case QG_CZ: case QG_CP: case QG_RZZ: return 'Z';
  case QG_CRZ: return 'Z';
  case QG_X: case QG_SX: case QG_SXDG: case QG_RX: return 'X';
  case QG_CX: return pos == 0 ? 'Z' : 'X';
  case QG_CY: case QG_CRX: case QG_CRY: return pos == 0 ? 'Z' : '?';
  case QG_CCX: return pos < 2 ? 'Z' : 'X';
  default: return '?';
  }
}

bool qc_ops_share(const QcOp *a, const QcOp *b) {
  const int *x = qc_op_wires(a), *y = qc_op_wires(b);
  for (int i = 0; i < a->nq; i++)
    for (int j = 0; j < b->nq; j++)
      if (x[i] == y[j]) return true;
  return false;
}

bool qc_ops_commute(const QcOp *a, const QcOp *b) {
  if (a->g == QG_BARRIER || b->g == QG_BARRIER || a->g >= QG_MEASURE || b->g >= QG_MEASURE)
    return !qc_ops_share(a, b);
  for (int i = 0; i < a->nq; i++) {
    char x = qc_op_action(a, a->q[i]), y = qc_op_action(b, a->q[i]);
    if (!y) continue;
    if (x == '?' || y == '?' || x != y) return false;
  }
  return true;
}

/* ------------------------------------------------------------------ synthesis */

void qc_mat_mul(const double a[8], const double b[8], double out[8]) {
  double r[8];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) {
      double re = 0, im = 0;
      for (int k = 0; k < 2; k++) {
        const double *x = &a[2 * (2 * i + k)], *y = &b[2 * (2 * k + j)];
        re += x[0] * y[0] - x[1] * y[1];
        im += x[0] * y[1] + x[1] * y[0];
      }
      r[2 * (2 * i + j)] = re, r[2 * (2 * i + j) + 1] = im;
    }
  memcpy(out, r, sizeof r);
}

/* m = e^{i alpha} RZ(phi) RY(theta) RZ(lambda) = e^{i beta} U(theta, phi, lambda). */
void qc_zyz(const double m[8], double *theta, double *phi, double *lam) {
  /* V = m / sqrt(det m) is in SU(2): V = [[e^{-iA} c, -e^{-iB} s], [e^{iB} s, e^{iA} c]] with
   * A = (phi + lambda) / 2, B = (phi - lambda) / 2, c = cos(theta/2), s = sin(theta/2) */
  double dr = m[0] * m[6] - m[1] * m[7] - (m[2] * m[4] - m[3] * m[5]);
  double di = m[0] * m[7] + m[1] * m[6] - (m[2] * m[5] + m[3] * m[4]);
  double ph = -atan2(di, dr) / 2, cr = cos(ph), ci = sin(ph);
  double v10r = m[4] * cr - m[5] * ci, v10i = m[4] * ci + m[5] * cr;
  double v11r = m[6] * cr - m[7] * ci, v11i = m[6] * ci + m[7] * cr;
  double c = hypot(v11r, v11i), s = hypot(v10r, v10i);
  *theta = 2 * atan2(s, c);
  double A = c > 1e-12 ? atan2(v11i, v11r) : 0, B = s > 1e-12 ? atan2(v10i, v10r) : 0;
  if (c <= 1e-12) A = B; /* only B is defined: lambda = 0 */
  if (s <= 1e-12) B = A;
  *phi = A + B;
  *lam = A - B;
}
