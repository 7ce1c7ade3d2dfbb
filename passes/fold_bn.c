/* fold_bn.c - the `fold-bn` pass: a BatchNormalization (inference form) right after a Conv
 * or a Gemm folds into the weights and bias:
 *   s = scale / sqrt(var + eps);  W' = W * s (per output channel);  b' = (b - mean) * s + B
 * Only when W, b and the BN parameters are initializers, the Conv/Gemm output feeds nothing
 * but the BN, and the BN's only output is Y. New initializers are added (the old ones stay
 * for `dce`). Gemm: BN's channel is the column; C must be absent, a scalar, [N] or [1, N]. */
#include "passes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool float_tensor(const Tensor *t) {
  return t && (t->elem == ELEM_FLOAT || t->elem == ELEM_DOUBLE);
}

static double get(const Tensor *t, uint64_t i) {
  return ir_elem(t->elem)->to_f64(t->data, i);
}

static bool vec_of(const Tensor *t, int64_t n) {
  uint64_t cnt;
  return float_tensor(t) && ir_tensor_numel(t, &cnt) && (int64_t)cnt == n && t->rank == 1;
}

static Tensor *new_tensor(Arena *a, ElemType e, int rank, const int64_t *dims) {
  Tensor *t = ir_tensor_new(a, e, rank, dims);
  if (!ir_tensor_alloc_data(a, t)) return NULL;
  t->has_data = true;
  return t;
}

static int fold_one(Model *m, Graph *g, Node *bn, PassCtx *c) {
  (void)c;
  if (!bn->op || strcmp(bn->op->family, "BatchNormalization") || bn->n_inputs < 5) return 0;
  if (ir_attr_int(bn, "training_mode", 0)) return 0;
  if (bn->op->since < 7 && !ir_attr_int(bn, "is_test", 0)) return 0;
  if (bn->op->since < 9 && !ir_attr_int(bn, "spatial", 1)) return 0;
  for (int j = 1; j < bn->n_outputs; j++)
    if (bn->outputs[j]) return 0;
  Value *x = bn->inputs[0];
  Node *p = x ? x->producer : NULL;
  if (!p || p->graph != g || !p->op || pass_use_count(x) != 1) return 0;
  bool conv = !strcmp(p->op->family, "Conv"), gemm = !strcmp(p->op->family, "Gemm");
  if (!conv && !gemm) return 0;
  const Tensor *W = p->n_inputs > 1 ? pass_const_data(p->inputs[1]) : NULL;
  const Tensor *B = p->n_inputs > 2 && p->inputs[2] ? pass_const_data(p->inputs[2]) : NULL;
  if (!float_tensor(W) || (p->n_inputs > 2 && p->inputs[2] && !float_tensor(B))) return 0;
  if (B && B->elem != W->elem) return 0;
  int64_t M; /* output channels */
  bool tb = gemm && ir_attr_int(p, "transB", 0);
  if (conv) {
    if (W->rank < 3) return 0;
    M = W->dims[0];
  } else {
    if (W->rank != 2 || ir_attr_int(p, "transA", 0) < 0) return 0;
    M = W->dims[tb ? 0 : 1];
  }
  const Tensor *sc = pass_const_data(bn->inputs[1]), *bb = pass_const_data(bn->inputs[2]),
               *mean = pass_const_data(bn->inputs[3]), *var = pass_const_data(bn->inputs[4]);
  if (!vec_of(sc, M) || !vec_of(bb, M) || !vec_of(mean, M) || !vec_of(var, M)) return 0;
  double eps = ir_attr_float(bn, "epsilon", 1e-5f);
  double beta = gemm ? ir_attr_float(p, "beta", 1) : 1,
         alpha = gemm ? ir_attr_float(p, "alpha", 1) : 1;
  (void)alpha;
  /* Gemm's C: absent, scalar, [M] or [1, M] */
  if (B && gemm) {
    uint64_t cnt;
    if (!ir_tensor_numel(B, &cnt) || (cnt != 1 && cnt != (uint64_t)M) || B->rank > 2 ||
        (B->rank == 2 && B->dims[0] != 1))
      return 0;
  }
  if (B && conv && !vec_of(B, M)) return 0;
  Arena *a = &m->arena;
  double *s = malloc((size_t)M * sizeof *s);
  if (!s) abort();
  for (int64_t i = 0; i < M; i++) s[i] = get(sc, (uint64_t)i) / sqrt(get(var, (uint64_t)i) + eps);
  Tensor *nw = new_tensor(a, W->elem, W->rank, W->dims);
  int64_t bd = M;
  Tensor *nb = new_tensor(a, W->elem, 1, &bd);
  if (!nw || !nb) {
    free(s);
    return 0;
  }
  uint64_t wn;
  ir_tensor_numel(W, &wn);
  const ElemTraits *tr = ir_elem(W->elem);
  for (uint64_t i = 0; i < wn; i++) {
    int64_t ch;
    if (conv)
      ch = (int64_t)(i / (wn / (uint64_t)M));
    else
      ch = tb ? (int64_t)(i / (uint64_t)W->dims[1]) : (int64_t)(i % (uint64_t)W->dims[1]);
    tr->from_f64(nw->data, i, get(W, i) * s[ch]);
  }
  for (int64_t i = 0; i < M; i++) {
    double b0 = 0;
    if (B) {
      uint64_t cnt;
      ir_tensor_numel(B, &cnt);
      b0 = get(B, cnt == 1 ? 0 : (uint64_t)i) * beta;
    }
    tr->from_f64(nb->data, (uint64_t)i,
                 (b0 - get(mean, (uint64_t)i)) * s[i] + get(bb, (uint64_t)i));
  }
  free(s);
  Value *vw = pass_add_initializer(g, ir_arena_printf(a, "%s_bn", p->inputs[1]->name), nw);
  Value *vb = pass_add_initializer(g, ir_arena_printf(a, "%s_bn_bias", bn->outputs[0]->name), nb);
  if (!vw || !vb) return 0;
  pass_set_input(p, 1, vw);
  if (p->n_inputs < 3) { /* grow the input list for the bias */
    Value **ni = ir_arena_alloc(a, 3 * sizeof *ni);
    memcpy(ni, p->inputs, (size_t)p->n_inputs * sizeof *ni);
    p->inputs = ni;
    p->n_inputs = 3;
  }
  pass_set_input(p, 2, vb);
  if (gemm) pass_set_attr_float(p, "beta", 1.0f);
  /* the producer now writes the BN's output; the BN goes */
  Value *y = bn->outputs[0];
  pass_set_input(bn, 0, NULL);
  ir_node_set_output(p, 0, y);
  if (!y->type) y->type = x->type;
  x->producer = NULL;
  x->has_value_info = false; /* gone: compacted by the caller */
  return 1;
}

static bool visit(PassVisit *v, Node *n) {
  return fold_one(v->m, v->g, n, v->arg) != 0;
}

static int run(Model *m, const PassOptions *o, PassCtx *c) {
  (void)o;
  pass_load_weights(m, c->d); /* weights in external files */
  pass_stat(c, "bn-folded", pass_drop_nodes(m, false, visit, c));
  return 0;
}

const Pass pass_fold_bn = {
    "fold-bn",
    "fold BatchNormalization after Conv or Gemm into the weights and bias",
    NULL,
    0,
    run,
    0,
    "With s = scale / sqrt(var + epsilon): W' = W * s per output channel and b' = (b - mean) "
    "* s + B, computed in double and rounded once. Only inference BatchNormalization (no "
    "training outputs), only when the Conv/Gemm weights and bias and all BN parameters are "
    "initializers and the Conv/Gemm output feeds nothing but the BN. Gemm: either transB; the"
    " channel is the output column; C must be absent, a scalar, [N] or [1, N] (beta is folded"
    " into the new bias and set to 1). New initializers are added; run `dce` to drop the old "
    "ones.",
};
