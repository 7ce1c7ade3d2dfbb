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
    if (v && lg_numel(v) > 0 && !lg_const_ints(v, ax, LG_MAX_RANK, &na)) return false;
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

/* The axes input is read at run time (a 1-D int64 tensor). */
static bool r_runtime(const Node *n) {
  const Value *v = n->n_inputs > 1 ? n->inputs[1] : NULL;
  return n->op->since >= (r_kind(n) == R_SUM ? 13 : 18) && v && lg_elem(v) == ELEM_INT64 && lg_rank(v) == 1 &&
         !lg_const(v);
}

static int reduce_check(LGen *g, const Node *n) {
  bool mask[LG_MAX_RANK], noop;
  if (!float_io(n)) return lg_unsupported(g, n, "only float tensors");
  if (!r_axes(n, mask, &noop) && !r_runtime(n)) return lg_unsupported(g, n, "axes must be int64 and in range");
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

static double r_init(RKind k) { return k == R_MAX ? -INFINITY : k == R_MIN ? INFINITY : k == R_PROD ? 1 : 0; }

static LLVMValueRef r_finish(LGen *g, RKind k, LLVMValueRef y, LLVMValueRef count) {
  if (k == R_MEAN) y = LLVMBuildFDiv(g->b, y, count, "");
  if (k == R_L2) y = lg_intrin(g, "llvm.sqrt", g->f32, &y, 1);
  if (k == R_LOGSUM || k == R_LOGSUMEXP) y = lg_intrin(g, "llvm.log", g->f32, &y, 1);
  return y;
}

/* Axes known only at run time: which dims are reduced is a mask computed in the code, the
 * output strides follow from it; accumulation goes through the output buffer. */
static void reduce_runtime(LGen *g, const Node *n) {
  const Value *x = n->inputs[0], *y = n->outputs[0], *va = n->inputs[1];
  int r = lg_rank(x), na = (int)lg_numel(va);
  RKind k = r_kind(n);
  LLVMValueRef X = lg_ptr(g, x), Y = lg_ptr(g, y);
  int64_t dims[LG_MAX_RANK];
  lg_dims(x, dims);
  LLVMValueRef red[LG_MAX_RANK], os[LG_MAX_RANK], count = lg_i64(g, 1), acc = lg_i64(g, 1);
  for (int d = 0; d < r; d++) red[d] = LLVMConstInt(g->i1, 0, 0);
  for (int i = 0; i < na; i++) {
    LLVMValueRef a = lg_load(g, g->i64, lg_ptr(g, va), lg_i64(g, i));
    a = LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, a, lg_i64(g, 0), ""), LLVMBuildAdd(g->b, a, lg_i64(g, r), ""), a, "");
    for (int d = 0; d < r; d++) red[d] = LLVMBuildOr(g->b, red[d], LLVMBuildICmp(g->b, LLVMIntEQ, a, lg_i64(g, d), ""), "");
  }
  for (int d = r - 1; d >= 0; d--) {
    os[d] = acc;
    acc = LLVMBuildMul(g->b, acc, LLVMBuildSelect(g->b, red[d], lg_i64(g, 1), lg_i64(g, dims[d]), ""), "");
    count = LLVMBuildMul(g->b, count, LLVMBuildSelect(g->b, red[d], lg_i64(g, dims[d]), lg_i64(g, 1), ""), "");
  }
  int64_t ny = lg_numel(y);
  LgLoop l;
  LLVMValueRef o = lg_loop(g, &l, lg_i64(g, 0), lg_i64(g, ny), 1, true);
  lg_store(g, lg_f32c(g, r_init(k)), Y, o);
  lg_loop_end(g, &l);
  LgNest ln;
  LLVMValueRef ivs[LG_MAX_RANK], xi = lg_i64(g, 0), yi = lg_i64(g, 0);
  int64_t xs[LG_MAX_RANK];
  lg_strides(r, dims, xs);
  lg_nest(g, &ln, r, dims, ivs);
  for (int d = 0; d < r; d++) {
    xi = LLVMBuildAdd(g->b, xi, LLVMBuildMul(g->b, ivs[d], lg_i64(g, xs[d]), ""), "");
    yi = LLVMBuildAdd(g->b, yi, LLVMBuildSelect(g->b, red[d], lg_i64(g, 0), LLVMBuildMul(g->b, ivs[d], os[d], ""), ""), "");
  }
  LLVMValueRef yp = lg_gep(g, g->f32, Y, yi);
  LLVMBuildStore(g->b, r_combine(g, k, LLVMBuildLoad2(g->b, g->f32, yp, ""), lg_load(g, g->f32, X, xi)), yp);
  lg_nest_end(g, &ln);
  LLVMValueRef cf = LLVMBuildSIToFP(g->b, count, g->f32, "");
  o = lg_loop(g, &l, lg_i64(g, 0), lg_i64(g, ny), 1, true);
  yp = lg_gep(g, g->f32, Y, o);
  LLVMBuildStore(g->b, r_finish(g, k, LLVMBuildLoad2(g->b, g->f32, yp, ""), cf), yp);
  lg_loop_end(g, &l);
}

static void reduce_emit(LGen *g, const Node *n) {
  const Value *x = n->inputs[0];
  int r = lg_rank(x);
  bool mask[LG_MAX_RANK], noop;
  if (!r_axes(n, mask, &noop)) {
    if (lg_numel(n->outputs[0])) reduce_runtime(g, n);
    return;
  }
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
  double init = r_init(k);
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
  LLVMValueRef y = r_finish(g, k, LLVMBuildLoad2(g->b, g->f32, slot, ""), lg_f32c(g, (double)count));
  lg_store(g, y, Y, lg_linear(g, nk, ov, os, 0));
  lg_nest_end(g, &outer);
}

/* ------------------------------------------------------------------ ArgMax, ArgMin */

static bool arg_numeric(ElemType t) {
  return t == ELEM_FLOAT || t == ELEM_DOUBLE || t == ELEM_INT8 || t == ELEM_UINT8 || t == ELEM_INT16 ||
         t == ELEM_UINT16 || t == ELEM_INT32 || t == ELEM_UINT32 || t == ELEM_INT64 || t == ELEM_UINT64;
}

static int arg_axis(const Node *n) {
  int r = lg_rank(n->inputs[0]);
  int64_t a = ir_attr_int(n, "axis", 0);
  return (int)(a < 0 ? a + r : a);
}

static int arg_check(LGen *g, const Node *n) {
  const Value *x = n->inputs[0];
  if (!arg_numeric(lg_elem(x))) return lg_unsupported(g, n, "element type not supported");
  int a = arg_axis(n);
  if (lg_rank(x) < 1 || a < 0 || a >= lg_rank(x) || lg_dim(x, a) == 0)
    return lg_unsupported(g, n, "axis out of range or empty");
  return 0;
}

/* a strictly better than b (floats: NaN counts as the extreme, the first NaN wins). */
static LLVMValueRef arg_better(LGen *g, ElemType t, bool mx, LLVMValueRef a, LLVMValueRef b) {
  if (lg_elem_float(t))
    return LLVMBuildAnd(g->b, LLVMBuildFCmp(g->b, LLVMRealORD, b, b, ""),
                        LLVMBuildFCmp(g->b, mx ? LLVMRealUGT : LLVMRealULT, a, b, ""), "");
  bool sg = ir_elem(t)->is_signed;
  return LLVMBuildICmp(g->b, mx ? (sg ? LLVMIntSGT : LLVMIntUGT) : (sg ? LLVMIntSLT : LLVMIntULT), a, b, "");
}

static LLVMValueRef arg_equal(LGen *g, ElemType t, LLVMValueRef a, LLVMValueRef b) {
  if (lg_elem_float(t))
    return LLVMBuildOr(g->b, LLVMBuildFCmp(g->b, LLVMRealOEQ, a, b, ""),
                       LLVMBuildAnd(g->b, LLVMBuildFCmp(g->b, LLVMRealUNO, a, a, ""),
                                    LLVMBuildFCmp(g->b, LLVMRealUNO, b, b, ""), ""), "");
  return LLVMBuildICmp(g->b, LLVMIntEQ, a, b, "");
}

static void arg_emit(LGen *g, const Node *n) {
  const Value *x = n->inputs[0];
  ElemType et = lg_elem(x);
  LLVMTypeRef t = lg_type(g, et);
  int r = lg_rank(x), a = arg_axis(n);
  bool mx = !strcmp(n->op->family, "ArgMax");
  bool last = n->op->since >= 12 && ir_attr_int(n, "select_last_index", 0) != 0;
  int64_t outer = 1, len = lg_dim(x, a), inner = 1;
  for (int i = 0; i < r; i++)
    if (i < a) outer *= lg_dim(x, i);
    else if (i > a) inner *= lg_dim(x, i);
  if (!outer || !inner) return;
  LLVMValueRef X = lg_ptr(g, x), Y = lg_ptr(g, n->outputs[0]);
  LLVMValueRef bi = lg_alloca(g, g->i64), bv = lg_alloca(g, t);
  LgLoop lo, li, lk;
  LLVMValueRef o = lg_loop(g, &lo, lg_i64(g, 0), lg_i64(g, outer), 1, false);
  LLVMValueRef in = lg_loop(g, &li, lg_i64(g, 0), lg_i64(g, inner), 1, false);
  LLVMValueRef base = LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, o, lg_i64(g, len * inner), ""), in, "");
  LLVMBuildStore(g->b, lg_i64(g, 0), bi);
  LLVMBuildStore(g->b, lg_load(g, t, X, base), bv);
  LLVMValueRef k = lg_loop(g, &lk, lg_i64(g, 1), lg_i64(g, len), 1, false);
  LLVMValueRef v = lg_load(g, t, X, LLVMBuildNSWAdd(g->b, base, LLVMBuildNSWMul(g->b, k, lg_i64(g, inner), ""), ""));
  LLVMValueRef best = LLVMBuildLoad2(g->b, t, bv, "");
  LLVMValueRef take = arg_better(g, et, mx, v, best);
  if (last) take = LLVMBuildOr(g->b, take, arg_equal(g, et, v, best), "");
  LLVMBuildStore(g->b, LLVMBuildSelect(g->b, take, v, best, ""), bv);
  LLVMBuildStore(g->b, LLVMBuildSelect(g->b, take, k, LLVMBuildLoad2(g->b, g->i64, bi, ""), ""), bi);
  lg_loop_end(g, &lk);
  lg_store(g, LLVMBuildLoad2(g->b, g->i64, bi, ""), Y, LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, o, lg_i64(g, inner), ""), in, ""));
  lg_loop_end(g, &li);
  lg_loop_end(g, &lo);
}

/* ------------------------------------------------------------------ CumSum */

static int cumsum_check(LGen *g, const Node *n) {
  ElemType t = lg_elem(n->inputs[0]), ta = lg_elem(n->inputs[1]);
  if (t != ELEM_FLOAT && t != ELEM_DOUBLE && t != ELEM_INT32 && t != ELEM_INT64 && t != ELEM_UINT32 && t != ELEM_UINT64)
    return lg_unsupported(g, n, "element type not supported");
  if ((ta != ELEM_INT32 && ta != ELEM_INT64) || lg_numel(n->inputs[1]) != 1 || lg_rank(n->inputs[0]) < 1)
    return lg_unsupported(g, n, "axis must be an int32/int64 scalar");
  return 0;
}

/* The scan along axis a (a compile-time constant). */
static void cumsum_axis(LGen *g, const Node *n, int a) {
  const Value *x = n->inputs[0];
  ElemType et = lg_elem(x);
  LLVMTypeRef t = lg_type(g, et);
  int r = lg_rank(x);
  bool excl = ir_attr_int(n, "exclusive", 0) != 0, rev = ir_attr_int(n, "reverse", 0) != 0;
  int64_t outer = 1, len = lg_dim(x, a), inner = 1;
  for (int i = 0; i < r; i++)
    if (i < a) outer *= lg_dim(x, i);
    else if (i > a) inner *= lg_dim(x, i);
  if (!outer || !inner || !len) return;
  bool fl = lg_elem_float(et);
  LLVMValueRef X = lg_ptr(g, x), Y = lg_ptr(g, n->outputs[0]), acc = lg_alloca(g, t);
  LgLoop lo, li, lk;
  LLVMValueRef o = lg_loop(g, &lo, lg_i64(g, 0), lg_i64(g, outer), 1, false);
  LLVMValueRef in = lg_loop(g, &li, lg_i64(g, 0), lg_i64(g, inner), 1, false);
  LLVMValueRef base = LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, o, lg_i64(g, len * inner), ""), in, "");
  LLVMBuildStore(g->b, LLVMConstNull(t), acc);
  LLVMValueRef k = lg_loop(g, &lk, lg_i64(g, 0), lg_i64(g, len), 1, false);
  LLVMValueRef kk = rev ? LLVMBuildSub(g->b, lg_i64(g, len - 1), k, "") : k;
  LLVMValueRef idx = LLVMBuildNSWAdd(g->b, base, LLVMBuildNSWMul(g->b, kk, lg_i64(g, inner), ""), "");
  LLVMValueRef v = lg_load(g, t, X, idx), s = LLVMBuildLoad2(g->b, t, acc, "");
  LLVMValueRef s2 = fl ? LLVMBuildFAdd(g->b, s, v, "") : LLVMBuildAdd(g->b, s, v, "");
  lg_store(g, excl ? s : s2, Y, idx);
  LLVMBuildStore(g->b, s2, acc);
  lg_loop_end(g, &lk);
  lg_loop_end(g, &li);
  lg_loop_end(g, &lo);
}

/* The axis may be a runtime input: one scan per possible axis behind a switch (an axis out
 * of range leaves the output untouched). */
static void cumsum_emit(LGen *g, const Node *n) {
  int r = lg_rank(n->inputs[0]);
  const Value *va = n->inputs[1];
  LLVMValueRef a = LLVMBuildSExt(g->b, lg_load(g, lg_type(g, lg_elem(va)), lg_ptr(g, va), lg_i64(g, 0)), g->i64, "");
  a = LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, a, lg_i64(g, 0), ""), LLVMBuildAdd(g->b, a, lg_i64(g, r), ""), a, "");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "cumsum_done");
  LLVMValueRef sw = LLVMBuildSwitch(g->b, a, done, (unsigned)r);
  for (int i = 0; i < r; i++) {
    LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(g->ctx, g->fn, "cumsum_axis");
    LLVMAddCase(sw, lg_i64(g, i), bb);
    LLVMPositionBuilderAtEnd(g->b, bb);
    cumsum_axis(g, n, i);
    LLVMBuildBr(g->b, done);
  }
  LLVMPositionBuilderAtEnd(g->b, done);
}

/* ------------------------------------------------------------------ Hardmax, LpNormalization */

static int hardmax_check(LGen *g, const Node *n) {
  int64_t o, l, i;
  if (lg_elem(n->inputs[0]) != ELEM_FLOAT) return lg_unsupported(g, n, "only float tensors");
  if (!softmax_split(n, &o, &l, &i)) return lg_unsupported(g, n, "axis out of range");
  return 0;
}

/* 1 at the first maximum of each row (NaN counts as the maximum, as ArgMax), else 0. */
static void hardmax_emit(LGen *g, const Node *n) {
  int64_t outer, len, inner;
  softmax_split(n, &outer, &len, &inner);
  if (!outer || !len || !inner) return;
  LLVMValueRef X = lg_ptr(g, n->inputs[0]), Y = lg_ptr(g, n->outputs[0]);
  LLVMValueRef bi = lg_alloca(g, g->i64), bv = lg_alloca(g, g->f32);
  LgLoop lo, li, lk, lw;
  LLVMValueRef o = lg_loop(g, &lo, lg_i64(g, 0), lg_i64(g, outer), 1, false);
  LLVMValueRef in = lg_loop(g, &li, lg_i64(g, 0), lg_i64(g, inner), 1, false);
  Row r = {X, LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, o, lg_i64(g, len * inner), ""), in, ""), NULL, inner};
  LLVMBuildStore(g->b, lg_i64(g, 0), bi);
  LLVMBuildStore(g->b, row_at(g, &r, lg_i64(g, 0)), bv);
  LLVMValueRef k = lg_loop(g, &lk, lg_i64(g, 1), lg_i64(g, len), 1, false);
  LLVMValueRef v = row_at(g, &r, k), best = LLVMBuildLoad2(g->b, g->f32, bv, "");
  LLVMValueRef take = arg_better(g, ELEM_FLOAT, true, v, best);
  LLVMBuildStore(g->b, LLVMBuildSelect(g->b, take, v, best, ""), bv);
  LLVMBuildStore(g->b, LLVMBuildSelect(g->b, take, k, LLVMBuildLoad2(g->b, g->i64, bi, ""), ""), bi);
  lg_loop_end(g, &lk);
  LLVMValueRef b = LLVMBuildLoad2(g->b, g->i64, bi, "");
  LLVMValueRef w = lg_loop(g, &lw, lg_i64(g, 0), lg_i64(g, len), 1, true);
  LLVMValueRef one = LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntEQ, w, b, ""), lg_f32c(g, 1), lg_f32c(g, 0), "");
  lg_store(g, one, Y, LLVMBuildNSWAdd(g->b, r.base, LLVMBuildNSWMul(g->b, w, lg_i64(g, inner), ""), ""));
  lg_loop_end(g, &lw);
  lg_loop_end(g, &li);
  lg_loop_end(g, &lo);
}

static int lpn_axis(const Node *n) {
  int64_t a = ir_attr_int(n, "axis", -1);
  return (int)(a < 0 ? a + lg_rank(n->inputs[0]) : a);
}

static int lpn_check(LGen *g, const Node *n) {
  int64_t p = ir_attr_int(n, "p", 2);
  if (!float_io(n)) return lg_unsupported(g, n, "only float tensors");
  if (p != 1 && p != 2) return lg_unsupported(g, n, "p must be 1 or 2");
  if (lpn_axis(n) < 0 || lpn_axis(n) >= lg_rank(n->inputs[0])) return lg_unsupported(g, n, "axis out of range");
  return 0;
}

static LLVMValueRef step_l1(LGen *g, const void *arg, LLVMValueRef acc, LLVMValueRef i) {
  LLVMValueRef v = row_at(g, arg, i);
  return LLVMBuildFAdd(g->b, acc, lg_intrin(g, "llvm.fabs", g->f32, &v, 1), "");
}
static LLVMValueRef step_l2(LGen *g, const void *arg, LLVMValueRef acc, LLVMValueRef i) {
  LLVMValueRef v = row_at(g, arg, i);
  return lg_fmuladd(g, v, v, acc);
}

/* x / ||x||_p along the axis; all-zero lines stay 0. */
static void lpn_emit(LGen *g, const Node *n) {
  const Value *x = n->inputs[0];
  int r = lg_rank(x), a = lpn_axis(n);
  bool l1 = ir_attr_int(n, "p", 2) == 1;
  int64_t outer = 1, len = lg_dim(x, a), inner = 1;
  for (int i = 0; i < r; i++)
    if (i < a) outer *= lg_dim(x, i);
    else if (i > a) inner *= lg_dim(x, i);
  if (!outer || !len || !inner) return;
  LLVMValueRef X = lg_ptr(g, x), Y = lg_ptr(g, n->outputs[0]);
  LgLoop lo, li, lk;
  LLVMValueRef o = lg_loop(g, &lo, lg_i64(g, 0), lg_i64(g, outer), 1, false);
  LLVMValueRef in = lg_loop(g, &li, lg_i64(g, 0), lg_i64(g, inner), 1, false);
  Row row = {X, LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, o, lg_i64(g, len * inner), ""), in, ""), NULL, inner};
  LLVMValueRef nrm = reduce_loop(g, len, lg_f32c(g, 0), l1 ? step_l1 : step_l2, &row);
  if (!l1) nrm = lg_intrin(g, "llvm.sqrt", g->f32, &nrm, 1);
  LLVMValueRef zero = LLVMBuildFCmp(g->b, LLVMRealOEQ, nrm, lg_f32c(g, 0), "");
  LLVMValueRef k = lg_loop(g, &lk, lg_i64(g, 0), lg_i64(g, len), 1, true);
  LLVMValueRef idx = LLVMBuildNSWAdd(g->b, row.base, LLVMBuildNSWMul(g->b, k, lg_i64(g, inner), ""), "");
  LLVMValueRef y = LLVMBuildFDiv(g->b, lg_load(g, g->f32, X, idx), nrm, "");
  lg_store(g, LLVMBuildSelect(g->b, zero, lg_f32c(g, 0), y, ""), Y, idx);
  lg_loop_end(g, &lk);
  lg_loop_end(g, &li);
  lg_loop_end(g, &lo);
}

/* ------------------------------------------------------------------ InstanceNormalization, GroupNormalization */

/* Channels per normalized block (1: instance) and per scale/bias entry; false if the
 * node's shapes do not fit. */
static bool block_geo(const Node *n, int64_t *per, int64_t *per_param) {
  const Value *x = n->inputs[0];
  if (lg_rank(x) < 2 || n->n_inputs < 3 || !n->inputs[1] || !n->inputs[2]) return false;
  int64_t ch = lg_dim(x, 1), ns = lg_numel(n->inputs[1]);
  if (lg_numel(n->inputs[2]) != ns) return false;
  if (!strcmp(n->op->family, "InstanceNormalization")) {
    *per = *per_param = 1;
    return ns == ch;
  }
  int64_t gr = ir_attr_int(n, "num_groups", 0);
  if (gr <= 0 || ch % gr || (ns != ch && ns != gr)) return false;
  *per = ch / gr;
  *per_param = ns == ch ? 1 : *per;
  return true;
}

static int blocknorm_check(LGen *g, const Node *n) {
  int64_t per, pp;
  for (int i = 0; i < 3 && i < n->n_inputs; i++)
    if (n->inputs[i] && lg_elem(n->inputs[i]) != ELEM_FLOAT) return lg_unsupported(g, n, "only float tensors");
  if (!block_geo(n, &per, &pp)) return lg_unsupported(g, n, "scale and bias do not match the channels or groups");
  return 0;
}

/* Mean and variance over each block of `per` channels x spatial, then per channel scale and
 * bias (the interpreter's block_norm). */
static void blocknorm_emit(LGen *g, const Node *n) {
  const Value *x = n->inputs[0];
  int64_t per, pp, N = lg_dim(x, 0), ch = lg_dim(x, 1), sp = N > 0 && ch > 0 ? lg_numel(x) / (N * ch) : 0;
  block_geo(n, &per, &pp);
  int64_t blk = per * sp, nb = blk ? lg_numel(x) / blk : 0;
  if (!nb) return;
  float eps = ir_attr_float(n, "epsilon", 1e-5f);
  LLVMValueRef X = lg_ptr(g, x), Y = lg_ptr(g, n->outputs[0]);
  LLVMValueRef SC = lg_ptr(g, n->inputs[1]), BI = lg_ptr(g, n->inputs[2]);
  LgLoop lb, lc, ls;
  LLVMValueRef b = lg_loop(g, &lb, lg_i64(g, 0), lg_i64(g, nb), 1, false);
  Row row = {X, LLVMBuildNSWMul(g->b, b, lg_i64(g, blk), ""), NULL, 1};
  LLVMValueRef mean = LLVMBuildFDiv(g->b, reduce_loop(g, blk, lg_f32c(g, 0), step_sum, &row), lg_f32c(g, (double)blk), "");
  row.mx = mean;
  LLVMValueRef var = LLVMBuildFDiv(g->b, reduce_loop(g, blk, lg_f32c(g, 0), step_sqdev, &row), lg_f32c(g, (double)blk), "");
  LLVMValueRef ve = LLVMBuildFAdd(g->b, var, lg_f32c(g, eps), "");
  LLVMValueRef inv = LLVMBuildFDiv(g->b, lg_f32c(g, 1), lg_intrin(g, "llvm.sqrt", g->f32, &ve, 1), "");
  LLVMValueRef c = lg_loop(g, &lc, lg_i64(g, 0), lg_i64(g, per), 1, false);
  LLVMValueRef chn = LLVMBuildSRem(g->b, LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, b, lg_i64(g, per), ""), c, ""), lg_i64(g, ch), "");
  LLVMValueRef j = LLVMBuildSDiv(g->b, chn, lg_i64(g, pp), "");
  LLVMValueRef a = LLVMBuildFMul(g->b, inv, lg_load(g, g->f32, SC, j), ""), bb = lg_load(g, g->f32, BI, j);
  LLVMValueRef base = LLVMBuildNSWAdd(g->b, row.base, LLVMBuildNSWMul(g->b, c, lg_i64(g, sp), ""), "");
  LLVMValueRef i = lg_loop(g, &ls, lg_i64(g, 0), lg_i64(g, sp), 1, true);
  LLVMValueRef idx = LLVMBuildNSWAdd(g->b, base, i, "");
  LLVMValueRef y = LLVMBuildFAdd(g->b, LLVMBuildFMul(g->b, LLVMBuildFSub(g->b, lg_load(g, g->f32, X, idx), mean, ""), a, ""), bb, "");
  lg_store(g, y, Y, idx);
  lg_loop_end(g, &ls);
  lg_loop_end(g, &lc);
  lg_loop_end(g, &lb);
}

const LgOp lg_ops_norm[] = {
    {"InstanceNormalization", blocknorm_check, blocknorm_emit},
    {"GroupNormalization", blocknorm_check, blocknorm_emit},
    {"Hardmax", hardmax_check, hardmax_emit},
    {"LpNormalization", lpn_check, lpn_emit},
    {"ArgMax", arg_check, arg_emit},
    {"ArgMin", arg_check, arg_emit},
    {"CumSum", cumsum_check, cumsum_emit},
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
