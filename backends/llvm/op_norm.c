/* op_norm.c - normalizations and reductions for the LLVM backend: BatchNormalization
 * (inference), Softmax / LogSoftmax, LayerNormalization and the Reduce* family. Each
 * reduction is an inner loop over the reduced elements with the accumulator in a register
 * (the loop's vectorize.enable metadata lets the vectorizer reorder float sums). */
#include "llvm.h"

#include <math.h>
#include <string.h>

static bool float_io(const Node *n) {
  return lg_elem(n->inputs[0]) == ELEM_FLOAT && lg_elem(n->outputs[0]) == ELEM_FLOAT;
}

/* An accumulator loop over [0, len): acc = step(acc, i); returns the final value. */
typedef LLVMValueRef (*AccStep)(LGen *g, const void *arg, LLVMValueRef acc, LLVMValueRef i);
static LLVMValueRef reduce_loop(LGen *g, int64_t len, LLVMValueRef init, AccStep step, const void *arg) {
  LLVMValueRef slot = lg_alloca(g, LLVMTypeOf(init));
  LLVMBuildStore(g->b, init, slot);
  LgLoop l;
  LLVMValueRef i = lg_loop(g, &l, lg_i64(g, 0), lg_i64(g, len), 1, true);
  LLVMBuildStore(g->b, step(g, arg, LLVMBuildLoad2(g->b, LLVMTypeOf(init), slot, ""), i), slot);
  lg_loop_end(g, &l);
  return LLVMBuildLoad2(g->b, LLVMTypeOf(init), slot, "");
}

/* ------------------------------------------------------------------ BatchNormalization */

static int bn_check(LGen *g, const Node *n) {
  for (int i = 0; i < 5; i++)
    if (!n->inputs[i] || lg_elem(n->inputs[i]) != ELEM_FLOAT) return lg_unsupported(g, n, "only float tensors");
  if (ir_attr_int(n, "training_mode", 0)) return lg_unsupported(g, n, "training_mode is not supported");
  for (int i = 1; i < n->n_outputs; i++)
    if (n->outputs[i]) return lg_unsupported(g, n, "training outputs are not supported");
  if (lg_rank(n->inputs[0]) < 2) return lg_unsupported(g, n, "rank below 2");
  return 0;
}

static void bn_emit(LGen *g, const Node *n) {
  const Value *x = n->inputs[0];
  int64_t N = lg_dim(x, 0), C = lg_dim(x, 1), S = lg_numel(x) / (N * C > 0 ? N * C : 1);
  if (!lg_numel(x)) return;
  float eps = ir_attr_float(n, "epsilon", 1e-5f);
  LLVMValueRef X = lg_ptr(g, x), Y = lg_ptr(g, n->outputs[0]);
  LLVMValueRef sc = lg_ptr(g, n->inputs[1]), bi = lg_ptr(g, n->inputs[2]);
  LLVMValueRef mu = lg_ptr(g, n->inputs[3]), va = lg_ptr(g, n->inputs[4]);
  LgLoop ln, lc, ls;
  LLVMValueRef nn = lg_loop(g, &ln, lg_i64(g, 0), lg_i64(g, N), 1, false);
  LLVMValueRef c = lg_loop(g, &lc, lg_i64(g, 0), lg_i64(g, C), 1, false);
  LLVMValueRef v = LLVMBuildFAdd(g->b, lg_load(g, g->f32, va, c), lg_f32c(g, eps), "");
  LLVMValueRef a = LLVMBuildFDiv(g->b, lg_load(g, g->f32, sc, c), lg_intrin(g, "llvm.sqrt", g->f32, &v, 1), "");
  LLVMValueRef m = lg_load(g, g->f32, mu, c), bb = lg_load(g, g->f32, bi, c);
  LLVMValueRef base = LLVMBuildNSWMul(g->b, LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, nn, lg_i64(g, C), ""), c, ""), lg_i64(g, S), "");
  LLVMValueRef i = lg_loop(g, &ls, lg_i64(g, 0), lg_i64(g, S), 1, true);
  LLVMValueRef idx = LLVMBuildNSWAdd(g->b, base, i, "");
  LLVMValueRef y = lg_fmuladd(g, LLVMBuildFSub(g->b, lg_load(g, g->f32, X, idx), m, ""), a, bb);
  lg_store(g, y, Y, idx);
  lg_loop_end(g, &ls);
  lg_loop_end(g, &lc);
  lg_loop_end(g, &ln);
}

/* ------------------------------------------------------------------ Softmax, LogSoftmax */

typedef struct Row {
  LLVMValueRef ptr, base, mx;
  int64_t stride;
} Row;

static LLVMValueRef row_at(LGen *g, const Row *r, LLVMValueRef i) {
  return lg_load(g, g->f32, r->ptr, LLVMBuildNSWAdd(g->b, r->base, LLVMBuildNSWMul(g->b, i, lg_i64(g, r->stride), ""), ""));
}
static LLVMValueRef step_max(LGen *g, const void *arg, LLVMValueRef acc, LLVMValueRef i) {
  return lg_fmax(g, acc, row_at(g, arg, i));
}
static LLVMValueRef step_sumexp(LGen *g, const void *arg, LLVMValueRef acc, LLVMValueRef i) {
  const Row *r = arg;
  LLVMValueRef d = LLVMBuildFSub(g->b, row_at(g, r, i), r->mx, "");
  return LLVMBuildFAdd(g->b, acc, lg_intrin(g, "llvm.exp", g->f32, &d, 1), "");
}

/* outer x len x inner split of the softmax axis (opset < 13: everything from axis on). */
static bool softmax_split(const Node *n, int64_t *outer, int64_t *len, int64_t *inner) {
  const Value *x = n->inputs[0];
  int r = lg_rank(x);
  int64_t axis = ir_attr_int(n, "axis", n->op->since < 13 ? 1 : -1);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= (r ? r : 1)) return false;
  *outer = *len = *inner = 1;
  for (int i = 0; i < r; i++) {
    int64_t d = lg_dim(x, i);
    if (i < axis) *outer *= d;
    else if (i == axis || n->op->since < 13) *len *= d;
    else *inner *= d;
  }
  return true;
}

static int softmax_check(LGen *g, const Node *n) {
  int64_t o, l, i;
  if (!float_io(n)) return lg_unsupported(g, n, "only float tensors");
  if (!softmax_split(n, &o, &l, &i)) return lg_unsupported(g, n, "axis out of range");
  return 0;
}

static void softmax_emit(LGen *g, const Node *n) {
  int64_t outer, len, inner;
  softmax_split(n, &outer, &len, &inner);
  if (!outer || !len || !inner) return;
  bool logsm = !strcmp(n->op->family, "LogSoftmax");
  LLVMValueRef X = lg_ptr(g, n->inputs[0]), Y = lg_ptr(g, n->outputs[0]);
  LgLoop lo, li, lk;
  LLVMValueRef o = lg_loop(g, &lo, lg_i64(g, 0), lg_i64(g, outer), 1, false);
  LLVMValueRef in = lg_loop(g, &li, lg_i64(g, 0), lg_i64(g, inner), 1, false);
  Row r = {X, LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, o, lg_i64(g, len * inner), ""), in, ""), NULL, inner};
  r.mx = reduce_loop(g, len, lg_f32c(g, -INFINITY), step_max, &r);
  LLVMValueRef s = reduce_loop(g, len, lg_f32c(g, 0), step_sumexp, &r);
  LLVMValueRef ls = logsm ? lg_intrin(g, "llvm.log", g->f32, &s, 1) : NULL;
  LLVMValueRef k = lg_loop(g, &lk, lg_i64(g, 0), lg_i64(g, len), 1, true);
  LLVMValueRef idx = LLVMBuildNSWAdd(g->b, r.base, LLVMBuildNSWMul(g->b, k, lg_i64(g, inner), ""), "");
  LLVMValueRef d = LLVMBuildFSub(g->b, lg_load(g, g->f32, X, idx), r.mx, "");
  LLVMValueRef y = logsm ? LLVMBuildFSub(g->b, d, ls, "")
                         : LLVMBuildFDiv(g->b, lg_intrin(g, "llvm.exp", g->f32, &d, 1), s, "");
  lg_store(g, y, Y, idx);
  lg_loop_end(g, &lk);
  lg_loop_end(g, &li);
  lg_loop_end(g, &lo);
}

/* ------------------------------------------------------------------ LayerNormalization */

static LLVMValueRef step_sum(LGen *g, const void *arg, LLVMValueRef acc, LLVMValueRef i) {
  return LLVMBuildFAdd(g->b, acc, row_at(g, arg, i), "");
}
static LLVMValueRef step_sqdev(LGen *g, const void *arg, LLVMValueRef acc, LLVMValueRef i) {
  const Row *r = arg;
  LLVMValueRef d = LLVMBuildFSub(g->b, row_at(g, r, i), r->mx, "");
  return lg_fmuladd(g, d, d, acc);
}

static int ln_axis(const Node *n) {
  int r = lg_rank(n->inputs[0]);
  int64_t axis = ir_attr_int(n, "axis", -1);
  return (int)(axis < 0 ? axis + r : axis);
}

static int ln_check(LGen *g, const Node *n) {
  for (int i = 0; i < n->n_inputs; i++)
    if (n->inputs[i] && lg_elem(n->inputs[i]) != ELEM_FLOAT) return lg_unsupported(g, n, "only float tensors");
  int r = lg_rank(n->inputs[0]), axis = ln_axis(n);
  if (axis < 0 || axis >= r) return lg_unsupported(g, n, "axis out of range");
  int64_t d = 1;
  for (int i = axis; i < r; i++) d *= lg_dim(n->inputs[0], i);
  for (int i = 1; i < n->n_inputs; i++)
    if (n->inputs[i] && lg_numel(n->inputs[i]) != d && lg_numel(n->inputs[i]) != 1)
      return lg_unsupported(g, n, "scale and bias must cover the normalized dimensions");
  return 0;
}

static void ln_emit(LGen *g, const Node *n) {
  const Value *x = n->inputs[0];
  int r = lg_rank(x), axis = ln_axis(n);
  int64_t outer = 1, D = 1;
  for (int i = 0; i < r; i++) *(i < axis ? &outer : &D) *= lg_dim(x, i);
  if (!outer || !D) return;
  float eps = ir_attr_float(n, "epsilon", 1e-5f);
  const Value *vs = n->inputs[1], *vb = n->n_inputs > 2 ? n->inputs[2] : NULL;
  LLVMValueRef X = lg_ptr(g, x), Y = lg_ptr(g, n->outputs[0]);
  LLVMValueRef Mo = n->n_outputs > 1 ? lg_ptr(g, n->outputs[1]) : NULL;
  LLVMValueRef Io = n->n_outputs > 2 ? lg_ptr(g, n->outputs[2]) : NULL;
  LgLoop lo, lk;
  LLVMValueRef o = lg_loop(g, &lo, lg_i64(g, 0), lg_i64(g, outer), 1, false);
  Row row = {X, LLVMBuildNSWMul(g->b, o, lg_i64(g, D), ""), NULL, 1};
  LLVMValueRef mean = LLVMBuildFDiv(g->b, reduce_loop(g, D, lg_f32c(g, 0), step_sum, &row), lg_f32c(g, (double)D), "");
  row.mx = mean;
  LLVMValueRef var = LLVMBuildFDiv(g->b, reduce_loop(g, D, lg_f32c(g, 0), step_sqdev, &row), lg_f32c(g, (double)D), "");
  LLVMValueRef ve = LLVMBuildFAdd(g->b, var, lg_f32c(g, eps), "");
  LLVMValueRef inv = LLVMBuildFDiv(g->b, lg_f32c(g, 1), lg_intrin(g, "llvm.sqrt", g->f32, &ve, 1), "");
  if (Mo) lg_store(g, mean, Mo, o);
  if (Io) lg_store(g, inv, Io, o);
  LLVMValueRef k = lg_loop(g, &lk, lg_i64(g, 0), lg_i64(g, D), 1, true);
  LLVMValueRef idx = LLVMBuildNSWAdd(g->b, row.base, k, "");
  LLVMValueRef y = LLVMBuildFMul(g->b, LLVMBuildFSub(g->b, lg_load(g, g->f32, X, idx), mean, ""), inv, "");
  y = LLVMBuildFMul(g->b, y, lg_load(g, g->f32, lg_ptr(g, vs), lg_numel(vs) == 1 ? lg_i64(g, 0) : k), "");
  if (vb) y = LLVMBuildFAdd(g->b, y, lg_load(g, g->f32, lg_ptr(g, vb), lg_numel(vb) == 1 ? lg_i64(g, 0) : k), "");
  lg_store(g, y, Y, idx);
  lg_loop_end(g, &lk);
  lg_loop_end(g, &lo);
}

/* ------------------------------------------------------------------ Reduce* */

typedef enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_SUMSQ, R_L1, R_L2, R_LOGSUM, R_LOGSUMEXP } RKind;
static const char *const r_names[] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin",
                                      "ReduceProd", "ReduceSumSquare", "ReduceL1", "ReduceL2",
                                      "ReduceLogSum", "ReduceLogSumExp", NULL};

static RKind r_kind(const Node *n) {
  int k = 0;
  while (r_names[k] && strcmp(r_names[k], n->op->family)) k++;
  return (RKind)k;
}

/* The reduced-axis mask; false when the axes are not known at compile time. *noop: the
 * node copies its input (empty axes with noop_with_empty_axes). */
static bool r_axes(const Node *n, bool *mask, bool *noop) {
  int r = lg_rank(n->inputs[0]);
  int64_t ax[LG_MAX_RANK];
  int na = 0;
  bool as_input = n->op->since >= (r_kind(n) == R_SUM ? 13 : 18);
  *noop = false;
  if (as_input) {
    const Value *v = n->n_inputs > 1 ? n->inputs[1] : NULL;
    if (v && !lg_const_ints(v, ax, LG_MAX_RANK, &na)) return false;
  } else {
    size_t cnt = 0;
    const int64_t *a = ir_attr_ints(n, "axes", &cnt);
    if (cnt > LG_MAX_RANK) return false;
    for (size_t i = 0; a && i < cnt; i++) ax[na++] = a[i];
  }
  for (int i = 0; i < r; i++) mask[i] = na == 0;
  if (na == 0 && as_input && ir_attr_int(n, "noop_with_empty_axes", 0)) *noop = true;
  for (int i = 0; i < na; i++) {
    int64_t a = ax[i] < 0 ? ax[i] + r : ax[i];
    if (a < 0 || a >= r) return false;
    mask[a] = true;
  }
  return true;
}

static int reduce_check(LGen *g, const Node *n) {
  bool mask[LG_MAX_RANK], noop;
  if (!float_io(n)) return lg_unsupported(g, n, "only float tensors");
  if (!r_axes(n, mask, &noop)) return lg_unsupported(g, n, "axes must be constant and in range");
  return 0;
}


static LLVMValueRef r_combine(LGen *g, RKind k, LLVMValueRef acc, LLVMValueRef x) {
  switch (k) {
  case R_MAX: return lg_fmax(g, acc, x);
  case R_MIN: return lg_fmin(g, acc, x);
  case R_PROD: return LLVMBuildFMul(g->b, acc, x, "");
  case R_SUMSQ: case R_L2: return lg_fmuladd(g, x, x, acc);
  case R_L1: return LLVMBuildFAdd(g->b, acc, lg_intrin(g, "llvm.fabs", g->f32, &x, 1), "");
  case R_LOGSUMEXP: return LLVMBuildFAdd(g->b, acc, lg_intrin(g, "llvm.exp", g->f32, &x, 1), "");
  default: return LLVMBuildFAdd(g->b, acc, x, "");
  }
}

static void reduce_emit(LGen *g, const Node *n) {
  const Value *x = n->inputs[0];
  int r = lg_rank(x);
  bool mask[LG_MAX_RANK], noop;
  r_axes(n, mask, &noop);
  RKind k = r_kind(n);
  LLVMValueRef X = lg_ptr(g, x), Y = lg_ptr(g, n->outputs[0]);
  if (noop) {
    lg_memmove(g, Y, X, (uint64_t)lg_numel(x) * 4);
    return;
  }
  if (!lg_numel(n->outputs[0])) return;
  int64_t dims[LG_MAX_RANK], st[LG_MAX_RANK], kd[LG_MAX_RANK], ks[LG_MAX_RANK], count = 1;
  lg_dims(x, dims);
  lg_strides(r, dims, st);
  int nk = 0, nr = 0;
  int64_t rd[LG_MAX_RANK], rs[LG_MAX_RANK];
  for (int i = 0; i < r; i++) {
    if (mask[i]) rd[nr] = dims[i], rs[nr++] = st[i], count *= dims[i];
    else kd[nk] = dims[i], ks[nk++] = st[i];
  }
  int64_t os[LG_MAX_RANK];
  lg_strides(nk, kd, os);
  double init = k == R_MAX ? -INFINITY : k == R_MIN ? INFINITY : k == R_PROD ? 1 : 0;
  LgNest outer, inner;
  LLVMValueRef ov[LG_MAX_RANK], iv[LG_MAX_RANK];
  lg_nest(g, &outer, nk, kd, ov);
  for (int i = 0; i < nk; i++) outer.l[i].inner = false;
  LLVMValueRef slot = lg_alloca(g, g->f32);
  LLVMBuildStore(g->b, lg_f32c(g, init), slot);
  LLVMValueRef base = lg_linear(g, nk, ov, ks, 0);
  lg_nest(g, &inner, nr, rd, iv);
  LLVMValueRef xv = lg_load(g, g->f32, X, LLVMBuildNSWAdd(g->b, base, lg_linear(g, nr, iv, rs, 0), ""));
  LLVMBuildStore(g->b, r_combine(g, k, LLVMBuildLoad2(g->b, g->f32, slot, ""), xv), slot);
  lg_nest_end(g, &inner);
  LLVMValueRef y = LLVMBuildLoad2(g->b, g->f32, slot, "");
  if (k == R_MEAN) y = LLVMBuildFDiv(g->b, y, lg_f32c(g, (double)count), "");
  if (k == R_L2) y = lg_intrin(g, "llvm.sqrt", g->f32, &y, 1);
  if (k == R_LOGSUM || k == R_LOGSUMEXP) y = lg_intrin(g, "llvm.log", g->f32, &y, 1);
  lg_store(g, y, Y, lg_linear(g, nk, ov, os, 0));
  lg_nest_end(g, &outer);
}

const LgOp lg_ops_norm[] = {
    {"BatchNormalization", bn_check, bn_emit},
    {"Softmax", softmax_check, softmax_emit},
    {"LogSoftmax", softmax_check, softmax_emit},
    {"LayerNormalization", ln_check, ln_emit},
    {"ReduceSum", reduce_check, reduce_emit},
    {"ReduceMean", reduce_check, reduce_emit},
    {"ReduceMax", reduce_check, reduce_emit},
    {"ReduceMin", reduce_check, reduce_emit},
    {"ReduceProd", reduce_check, reduce_emit},
    {"ReduceSumSquare", reduce_check, reduce_emit},
    {"ReduceL1", reduce_check, reduce_emit},
    {"ReduceL2", reduce_check, reduce_emit},
    {"ReduceLogSum", reduce_check, reduce_emit},
    {"ReduceLogSumExp", reduce_check, reduce_emit},
    {NULL, NULL, NULL},
};
