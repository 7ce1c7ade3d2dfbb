/* op_shape.c - data movement for the LLVM backend: the views (Reshape, Flatten, Squeeze,
 * Unsqueeze, Identity, Dropout in inference) as copies unless the planner placed the output
 * on its input, and Transpose, Concat, Split, Slice, Expand, Gather and Shape as strided
 * copies (lg_copy_strided) with compile-time strides. */
#include "llvm.h"

#include <string.h>

static int elem_bytes(const Value *v) {
  ElemType t = lg_elem(v);
  return ir_elem(t)->bits >= 8 && t != ELEM_STRING && !(ir_elem(t)->is_float && ir_elem(t)->bits > 64)
             ? ir_elem(t)->bits / 8
             : 0;
}

static int bytes_check(LGen *g, const Node *n) {
  if (!n->inputs[0] || !elem_bytes(n->inputs[0])) return lg_unsupported(g, n, "element type not supported");
  return 0;
}

/* ------------------------------------------------------------------ views */

static int view_check(LGen *g, const Node *n) {
  if (bytes_check(g, n)) return -1;
  if (!strcmp(n->op->family, "Dropout") && n->n_outputs > 1 && n->outputs[1])
    return lg_unsupported(g, n, "the mask output is not supported");
  if (!strcmp(n->op->family, "Dropout") && n->n_inputs > 2 && n->inputs[2]) {
    double t;
    if (!lg_const_scalar(n->inputs[2], &t) || t != 0)
      return lg_unsupported(g, n, "training_mode must be a constant false");
  }
  return 0;
}

static void view_emit(LGen *g, const Node *n) {
  const Value *x = n->inputs[0];
  lg_memmove(g, lg_ptr(g, n->outputs[0]), lg_ptr(g, x), (uint64_t)(lg_numel(x) * elem_bytes(x)));
}

/* ------------------------------------------------------------------ Transpose */

static void transpose_perm(const Node *n, int64_t *perm) {
  int r = lg_rank(n->inputs[0]);
  size_t cnt = 0;
  const int64_t *p = ir_attr_ints(n, "perm", &cnt);
  for (int i = 0; i < r; i++) perm[i] = p && (int)cnt == r ? p[i] : r - 1 - i;
}

static int transpose_check(LGen *g, const Node *n) {
  if (bytes_check(g, n)) return -1;
  int64_t perm[LG_MAX_RANK];
  int r = lg_rank(n->inputs[0]);
  bool seen[LG_MAX_RANK] = {0};
  transpose_perm(n, perm);
  for (int i = 0; i < r; i++) {
    if (perm[i] < 0 || perm[i] >= r || seen[perm[i]]) return lg_unsupported(g, n, "bad perm");
    seen[perm[i]] = true;
  }
  return 0;
}

static void transpose_emit(LGen *g, const Node *n) {
  const Value *x = n->inputs[0], *y = n->outputs[0];
  int r = lg_rank(x);
  int64_t perm[LG_MAX_RANK], xd[LG_MAX_RANK], xs[LG_MAX_RANK], yd[LG_MAX_RANK], ys[LG_MAX_RANK], ss[LG_MAX_RANK];
  transpose_perm(n, perm);
  lg_dims(x, xd);
  lg_strides(r, xd, xs);
  lg_dims(y, yd);
  lg_strides(r, yd, ys);
  for (int i = 0; i < r; i++) ss[i] = xs[perm[i]];
  lg_copy_strided(g, elem_bytes(x), lg_ptr(g, y), 0, ys, lg_ptr(g, x), 0, ss, r, yd);
}

/* ------------------------------------------------------------------ Concat, Split */

static int axis_of(const Node *n, const Value *v, int64_t dflt) {
  int64_t a = ir_attr_int(n, "axis", dflt);
  return (int)(a < 0 ? a + lg_rank(v) : a);
}

static int concat_check(LGen *g, const Node *n) {
  const Value *y = n->outputs[0];
  if (!elem_bytes(y)) return lg_unsupported(g, n, "element type not supported");
  int a = axis_of(n, y, 0);
  if (a < 0 || a >= lg_rank(y)) return lg_unsupported(g, n, "axis out of range");
  for (int i = 0; i < n->n_inputs; i++)
    if (!n->inputs[i] || lg_rank(n->inputs[i]) != lg_rank(y)) return lg_unsupported(g, n, "inputs of other ranks");
  return 0;
}

static void concat_emit(LGen *g, const Node *n) {
  const Value *y = n->outputs[0];
  int r = lg_rank(y), a = axis_of(n, y, 0);
  int64_t yd[LG_MAX_RANK], ys[LG_MAX_RANK], off = 0;
  lg_dims(y, yd);
  lg_strides(r, yd, ys);
  for (int i = 0; i < n->n_inputs; i++) {
    const Value *x = n->inputs[i];
    int64_t xd[LG_MAX_RANK], xs[LG_MAX_RANK];
    lg_dims(x, xd);
    lg_strides(r, xd, xs);
    lg_copy_strided(g, elem_bytes(y), lg_ptr(g, y), off * ys[a], ys, lg_ptr(g, x), 0, xs, r, xd);
    off += xd[a];
  }
}

static int split_check(LGen *g, const Node *n) {
  if (bytes_check(g, n)) return -1;
  int a = axis_of(n, n->inputs[0], 0);
  if (a < 0 || a >= lg_rank(n->inputs[0])) return lg_unsupported(g, n, "axis out of range");
  return 0;
}

/* The outputs' shapes are known (static), so each output's extent along the axis is its
 * dim there; the offsets follow. */
static void split_emit(LGen *g, const Node *n) {
  const Value *x = n->inputs[0];
  int r = lg_rank(x), a = axis_of(n, x, 0);
  int64_t xd[LG_MAX_RANK], xs[LG_MAX_RANK], off = 0;
  lg_dims(x, xd);
  lg_strides(r, xd, xs);
  for (int i = 0; i < n->n_outputs; i++) {
    const Value *y = n->outputs[i];
    if (!y) continue;
    int64_t yd[LG_MAX_RANK], ys[LG_MAX_RANK];
    lg_dims(y, yd);
    lg_strides(r, yd, ys);
    if (lg_ptr(g, y)) lg_copy_strided(g, elem_bytes(x), lg_ptr(g, y), 0, ys, lg_ptr(g, x), off * xs[a], xs, r, yd);
    off += yd[a];
  }
}

/* ------------------------------------------------------------------ Slice */

/* Per-dim start and step (steps 1 on dims not sliced). */
static bool slice_params(const Node *n, int64_t *start, int64_t *step) {
  const Value *x = n->inputs[0];
  int r = lg_rank(x), ns = 0, ne = 0, na = 0, nt = 0;
  int64_t st[LG_MAX_RANK], en[LG_MAX_RANK], ax[LG_MAX_RANK], sp[LG_MAX_RANK];
  if (n->op->since < 10) {
    size_t c1 = 0, c2 = 0, c3 = 0;
    const int64_t *s = ir_attr_ints(n, "starts", &c1), *e = ir_attr_ints(n, "ends", &c2),
                  *a = ir_attr_ints(n, "axes", &c3);
    if (!s || !e || c1 > LG_MAX_RANK || c1 != c2 || (a && c3 != c1)) return false;
    for (size_t i = 0; i < c1; i++) st[i] = s[i], en[i] = e[i], ax[i] = a ? a[i] : (int64_t)i, sp[i] = 1;
    ns = ne = na = nt = (int)c1;
  } else {
    if (!lg_const_ints(n->inputs[1], st, LG_MAX_RANK, &ns) || !lg_const_ints(n->inputs[2], en, LG_MAX_RANK, &ne) || ns != ne)
      return false;
    if (n->n_inputs > 3 && n->inputs[3]) {
      if (!lg_const_ints(n->inputs[3], ax, LG_MAX_RANK, &na) || na != ns) return false;
    } else {
      for (int i = 0; i < ns; i++) ax[i] = i;
    }
    if (n->n_inputs > 4 && n->inputs[4]) {
      if (!lg_const_ints(n->inputs[4], sp, LG_MAX_RANK, &nt) || nt != ns) return false;
    } else {
      for (int i = 0; i < ns; i++) sp[i] = 1;
    }
  }
  for (int i = 0; i < r; i++) start[i] = 0, step[i] = 1;
  for (int i = 0; i < ns; i++) {
    int64_t a = ax[i] < 0 ? ax[i] + r : ax[i];
    if (a < 0 || a >= r || sp[i] == 0) return false;
    int64_t d = lg_dim(x, (int)a), s = st[i];
    if (s < 0) s += d;
    if (sp[i] > 0) s = s < 0 ? 0 : s > d ? d : s;
    else s = s < 0 ? -1 : s > d - 1 ? d - 1 : s;
    start[a] = s, step[a] = sp[i];
  }
  return true;
}

static int slice_check(LGen *g, const Node *n) {
  int64_t s[LG_MAX_RANK], t[LG_MAX_RANK];
  if (bytes_check(g, n)) return -1;
  if (!slice_params(n, s, t)) return lg_unsupported(g, n, "starts, ends, axes and steps must be constant");
  return 0;
}

static void slice_emit(LGen *g, const Node *n) {
  const Value *x = n->inputs[0], *y = n->outputs[0];
  int r = lg_rank(x);
  int64_t start[LG_MAX_RANK], step[LG_MAX_RANK], xd[LG_MAX_RANK], xs[LG_MAX_RANK], yd[LG_MAX_RANK],
      ys[LG_MAX_RANK], ss[LG_MAX_RANK], off = 0;
  slice_params(n, start, step);
  lg_dims(x, xd);
  lg_strides(r, xd, xs);
  lg_dims(y, yd);
  lg_strides(r, yd, ys);
  for (int i = 0; i < r; i++) off += start[i] * xs[i], ss[i] = step[i] * xs[i];
  lg_copy_strided(g, elem_bytes(x), lg_ptr(g, y), 0, ys, lg_ptr(g, x), off, ss, r, yd);
}

/* ------------------------------------------------------------------ Expand */

static void expand_emit(LGen *g, const Node *n) {
  const Value *x = n->inputs[0], *y = n->outputs[0];
  int r = lg_rank(y);
  int64_t xd[LG_MAX_RANK], yd[LG_MAX_RANK], ys[LG_MAX_RANK], ss[LG_MAX_RANK];
  lg_dims(x, xd);
  lg_dims(y, yd);
  lg_strides(r, yd, ys);
  lg_bcast_strides(r, yd, lg_rank(x), xd, ss);
  lg_copy_strided(g, elem_bytes(x), lg_ptr(g, y), 0, ys, lg_ptr(g, x), 0, ss, r, yd);
}

/* ------------------------------------------------------------------ Gather */

static int gather_check(LGen *g, const Node *n) {
  if (bytes_check(g, n)) return -1;
  ElemType it = lg_elem(n->inputs[1]);
  if (it != ELEM_INT64 && it != ELEM_INT32) return lg_unsupported(g, n, "indices must be int32 or int64");
  int a = axis_of(n, n->inputs[0], 0);
  if (a < 0 || a >= lg_rank(n->inputs[0])) return lg_unsupported(g, n, "axis out of range");
  return 0;
}

/* y[o, j, i] = x[o, idx[j], i]; indices are normalized (negative from the end) and clamped
 * into range, so a bad index cannot read outside x. */
static void gather_emit(LGen *g, const Node *n) {
  const Value *x = n->inputs[0], *vi = n->inputs[1];
  int r = lg_rank(x), a = axis_of(n, x, 0), eb = elem_bytes(x);
  int64_t outer = 1, inner = 1, D = lg_dim(x, a), J = lg_numel(vi);
  for (int i = 0; i < r; i++)
    if (i < a) outer *= lg_dim(x, i);
    else if (i > a) inner *= lg_dim(x, i);
  if (!outer || !inner || !J || !D) return;
  LLVMTypeRef it = lg_type(g, lg_elem(vi)), et = LLVMIntTypeInContext(g->ctx, (unsigned)eb * 8);
  LLVMValueRef X = lg_ptr(g, x), I = lg_ptr(g, vi), Y = lg_ptr(g, n->outputs[0]);
  LgLoop lo, lj, li;
  LLVMValueRef o = lg_loop(g, &lo, lg_i64(g, 0), lg_i64(g, outer), 1, false);
  LLVMValueRef j = lg_loop(g, &lj, lg_i64(g, 0), lg_i64(g, J), 1, false);
  LLVMValueRef k = LLVMBuildSExt(g->b, lg_load(g, it, I, j), g->i64, "");
  k = LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, k, lg_i64(g, 0), ""), LLVMBuildAdd(g->b, k, lg_i64(g, D), ""), k, "");
  k = LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, k, lg_i64(g, 0), ""), lg_i64(g, 0), k, "");
  k = LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSGE, k, lg_i64(g, D), ""), lg_i64(g, D - 1), k, "");
  LLVMValueRef src = LLVMBuildNSWMul(g->b, LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, o, lg_i64(g, D), ""), k, ""), lg_i64(g, inner), "");
  LLVMValueRef dst = LLVMBuildNSWMul(g->b, LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, o, lg_i64(g, J), ""), j, ""), lg_i64(g, inner), "");
  LLVMValueRef i = lg_loop(g, &li, lg_i64(g, 0), lg_i64(g, inner), 1, true);
  lg_store(g, lg_load(g, et, X, LLVMBuildNSWAdd(g->b, src, i, "")), Y, LLVMBuildNSWAdd(g->b, dst, i, ""));
  lg_loop_end(g, &li);
  lg_loop_end(g, &lj);
  lg_loop_end(g, &lo);
}

/* ------------------------------------------------------------------ Shape */

static int shape_check(LGen *g, const Node *n) {
  (void)g, (void)n;
  return 0;
}

static void shape_emit(LGen *g, const Node *n) {
  const Value *x = n->inputs[0];
  int r = lg_rank(x);
  int64_t s = ir_attr_int(n, "start", 0), e = ir_attr_int(n, "end", r);
  if (s < 0) s += r;
  if (e < 0) e += r;
  s = s < 0 ? 0 : s > r ? r : s;
  e = e < 0 ? 0 : e > r ? r : e;
  for (int64_t i = s; i < e; i++) lg_store(g, lg_i64(g, lg_dim(x, (int)i)), lg_ptr(g, n->outputs[0]), lg_i64(g, i - s));
}

const LgOp lg_ops_shape[] = {
    {"Reshape", view_check, view_emit},
    {"Flatten", view_check, view_emit},
    {"Squeeze", view_check, view_emit},
    {"Unsqueeze", view_check, view_emit},
    {"Identity", view_check, view_emit},
    {"Dropout", view_check, view_emit},
    {"Transpose", transpose_check, transpose_emit},
    {"Concat", concat_check, concat_emit},
    {"Split", split_check, split_emit},
    {"Slice", slice_check, slice_emit},
    {"Expand", bytes_check, expand_emit},
    {"Gather", gather_check, gather_emit},
    {"Shape", shape_check, shape_emit},
    {NULL, NULL, NULL},
};
