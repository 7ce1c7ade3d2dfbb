/* op_shape.c - data movement for the LLVM backend: the views (Reshape, Flatten, Squeeze,
 * Unsqueeze, Identity, Dropout in inference, BitCast) as copies unless the planner placed the output
 * on its input, and Transpose, Concat, Split, Slice, Expand, Gather and Shape as strided
 * copies (lg_copy_strided) with compile-time strides. */
#include "kern.h"
#include "llvm.h"

#include <stdlib.h>
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
  if (!elem_bytes(n->outputs[0])) return lg_unsupported(g, n, "element type not supported");
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

/* Per-dim start and step (steps 1 on dims not sliced), by the kernels' effc_slice_range. */
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
    if (effc_slice_range(lg_dim(x, (int)a), st[i], en[i], sp[i], &start[a]) != lg_dim(n->outputs[0], (int)a))
      return false;
    step[a] = sp[i];
  }
  return true;
}

/* Slice inputs 1..4 read at run time: 1-D int32/int64 tensors of one length. */
static bool slice_runtime_ok(const Node *n) {
  if (n->op->since < 10) return false;
  int64_t len = lg_numel(n->inputs[1]);
  for (int i = 1; i < n->n_inputs && i <= 4; i++) {
    const Value *v = n->inputs[i];
    if (!v) continue;
    if ((lg_elem(v) != ELEM_INT32 && lg_elem(v) != ELEM_INT64) || lg_rank(v) != 1 || lg_numel(v) != len) return false;
  }
  return len <= lg_rank(n->inputs[0]);
}

static int slice_check(LGen *g, const Node *n) {
  int64_t s[LG_MAX_RANK], t[LG_MAX_RANK];
  if (bytes_check(g, n)) return -1;
  if (!slice_params(n, s, t) && !slice_runtime_ok(n))
    return lg_unsupported(g, n, "starts, ends, axes and steps must be 1-D int tensors of one length");
  return 0;
}

static LLVMValueRef load_i64(LGen *g, const Value *v, int k) {
  LLVMValueRef x = lg_load(g, lg_type(g, lg_elem(v)), lg_ptr(g, v), lg_i64(g, k));
  return LLVMBuildSExt(g->b, x, g->i64, "");
}

static LLVMValueRef smax(LGen *g, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSGT, a, b, ""), a, b, "");
}
static LLVMValueRef smin(LGen *g, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, a, b, ""), a, b, "");
}

/* Starts, axes and steps known only at run time: each dim's first index and step computed
 * in the code (effc_slice_range's clamping; the count is the output's static dim). */
static void slice_runtime(LGen *g, const Node *n) {
  const Value *x = n->inputs[0], *y = n->outputs[0];
  const Value *vax = n->n_inputs > 3 ? n->inputs[3] : NULL, *vst = n->n_inputs > 4 ? n->inputs[4] : NULL;
  int r = lg_rank(x), ns = (int)lg_numel(n->inputs[1]), eb = elem_bytes(x);
  int64_t xd[LG_MAX_RANK], xs[LG_MAX_RANK], yd[LG_MAX_RANK], ys[LG_MAX_RANK];
  lg_dims(x, xd);
  lg_strides(r, xd, xs);
  lg_dims(y, yd);
  lg_strides(r, yd, ys);
  if (!lg_numel(y)) return;
  LLVMValueRef first[LG_MAX_RANK], step[LG_MAX_RANK];
  for (int d = 0; d < r; d++) first[d] = lg_i64(g, 0), step[d] = lg_i64(g, 1);
  for (int k = 0; k < ns; k++) {
    LLVMValueRef a = vax ? load_i64(g, vax, k) : lg_i64(g, k);
    a = LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, a, lg_i64(g, 0), ""), LLVMBuildAdd(g->b, a, lg_i64(g, r), ""), a, "");
    LLVMValueRef p = vst ? load_i64(g, vst, k) : lg_i64(g, 1), s = load_i64(g, n->inputs[1], k);
    LLVMValueRef dim = lg_i64(g, 0);
    for (int d = 0; d < r; d++)
      dim = LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntEQ, a, lg_i64(g, d), ""), lg_i64(g, xd[d]), dim, "");
    s = LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, s, lg_i64(g, 0), ""), LLVMBuildAdd(g->b, s, dim, ""), s, "");
    LLVMValueRef up = smin(g, smax(g, s, lg_i64(g, 0)), dim);
    LLVMValueRef down = smin(g, smax(g, s, lg_i64(g, -1)), LLVMBuildSub(g->b, dim, lg_i64(g, 1), ""));
    s = LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSGT, p, lg_i64(g, 0), ""), up, down, "");
    for (int d = 0; d < r; d++) {
      LLVMValueRef is = LLVMBuildICmp(g->b, LLVMIntEQ, a, lg_i64(g, d), "");
      first[d] = LLVMBuildSelect(g->b, is, s, first[d], "");
      step[d] = LLVMBuildSelect(g->b, is, p, step[d], "");
    }
  }
  LLVMTypeRef it = LLVMIntTypeInContext(g->ctx, (unsigned)eb * 8);
  LgNest ln;
  LLVMValueRef ivs[LG_MAX_RANK], src = lg_i64(g, 0);
  lg_nest(g, &ln, r, yd, ivs);
  for (int d = 0; d < r; d++)
    src = LLVMBuildAdd(g->b, src, LLVMBuildMul(g->b, LLVMBuildAdd(g->b, first[d], LLVMBuildMul(g->b, ivs[d], step[d], ""), ""),
                                               lg_i64(g, xs[d]), ""), "");
  lg_store(g, lg_load(g, it, lg_ptr(g, x), src), lg_ptr(g, y), lg_linear(g, r, ivs, ys, 0));
  lg_nest_end(g, &ln);
}

static void slice_emit(LGen *g, const Node *n) {
  const Value *x = n->inputs[0], *y = n->outputs[0];
  int r = lg_rank(x);
  int64_t start[LG_MAX_RANK], step[LG_MAX_RANK], xd[LG_MAX_RANK], xs[LG_MAX_RANK], yd[LG_MAX_RANK],
      ys[LG_MAX_RANK], ss[LG_MAX_RANK], off = 0;
  if (!slice_params(n, start, step)) {
    slice_runtime(g, n);
    return;
  }
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

/* ------------------------------------------------------------------ Size, ConstantOfShape */

static void size_emit(LGen *g, const Node *n) {
  lg_store(g, lg_i64(g, lg_numel(n->inputs[0])), lg_ptr(g, n->outputs[0]), lg_i64(g, 0));
}

/* The fill value's bytes (default float 0). */
static const Tensor *cos_value(const Node *n) {
  const Attr *a = ir_node_attr(n, "value");
  return a && a->type == ATTR_TENSOR ? a->t : NULL;
}

static int cos_check(LGen *g, const Node *n) {
  const Tensor *t = cos_value(n);
  if (!elem_bytes(n->outputs[0]) || (t && (!t->has_data || t->nbytes != (size_t)elem_bytes(n->outputs[0]))))
    return lg_unsupported(g, n, "value must be one element of a whole-byte type");
  return 0;
}

static void cos_emit(LGen *g, const Node *n) {
  const Value *y = n->outputs[0];
  int eb = elem_bytes(y);
  if (!lg_numel(y)) return;
  const Tensor *t = cos_value(n);
  uint64_t bits = 0;
  if (t) memcpy(&bits, t->data, (size_t)eb); /* little-endian host and targets */
  LLVMTypeRef it = LLVMIntTypeInContext(g->ctx, (unsigned)eb * 8);
  LgLoop l;
  LLVMValueRef i = lg_loop(g, &l, lg_i64(g, 0), lg_i64(g, lg_numel(y)), 1, true);
  lg_store(g, LLVMConstInt(it, bits, 0), lg_ptr(g, y), i);
  lg_loop_end(g, &l);
}

/* ------------------------------------------------------------------ Trilu */

static int trilu_check(LGen *g, const Node *n) {
  if (bytes_check(g, n)) return -1;
  if (lg_rank(n->inputs[0]) < 2) return lg_unsupported(g, n, "rank below 2");
  if (n->n_inputs > 1 && n->inputs[1] && lg_elem(n->inputs[1]) != ELEM_INT64)
    return lg_unsupported(g, n, "k must be int64");
  return 0;
}

static void trilu_emit(LGen *g, const Node *n) {
  const Value *x = n->inputs[0];
  int r = lg_rank(x), eb = elem_bytes(x);
  const Value *vk = n->n_inputs > 1 && n->inputs[1] && lg_numel(n->inputs[1]) ? n->inputs[1] : NULL;
  int64_t R = lg_dim(x, r - 2), C = lg_dim(x, r - 1), mats = R > 0 && C > 0 ? lg_numel(x) / (R * C) : 0;
  bool upper = ir_attr_int(n, "upper", 1) != 0;
  if (!mats) return;
  LLVMTypeRef it = LLVMIntTypeInContext(g->ctx, (unsigned)eb * 8);
  LLVMValueRef X = lg_ptr(g, x), Y = lg_ptr(g, n->outputs[0]);
  LLVMValueRef k = vk ? lg_load(g, g->i64, lg_ptr(g, vk), lg_i64(g, 0)) : lg_i64(g, 0);
  LgLoop lm, li, lj;
  LLVMValueRef m = lg_loop(g, &lm, lg_i64(g, 0), lg_i64(g, mats), 1, false);
  LLVMValueRef i = lg_loop(g, &li, lg_i64(g, 0), lg_i64(g, R), 1, false);
  LLVMValueRef row = LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, m, lg_i64(g, R * C), ""), LLVMBuildNSWMul(g->b, i, lg_i64(g, C), ""), "");
  LLVMValueRef j = lg_loop(g, &lj, lg_i64(g, 0), lg_i64(g, C), 1, true);
  LLVMValueRef d = LLVMBuildNSWSub(g->b, j, i, ""), idx = LLVMBuildNSWAdd(g->b, row, j, "");
  LLVMValueRef keep = LLVMBuildICmp(g->b, upper ? LLVMIntSGE : LLVMIntSLE, d, k, "");
  lg_store(g, LLVMBuildSelect(g->b, keep, lg_load(g, it, X, idx), LLVMConstNull(it), ""), Y, idx);
  lg_loop_end(g, &lj);
  lg_loop_end(g, &li);
  lg_loop_end(g, &lm);
}

/* ------------------------------------------------------------------ GatherElements */

static int gel_check(LGen *g, const Node *n) {
  if (gather_check(g, n)) return -1;
  if (lg_rank(n->inputs[1]) != lg_rank(n->inputs[0])) return lg_unsupported(g, n, "indices of another rank");
  return 0;
}

/* y[i] = x[i with i[axis] = idx[i]] (normalized, clamped into range). */
static void gel_emit(LGen *g, const Node *n) {
  const Value *x = n->inputs[0], *vi = n->inputs[1], *y = n->outputs[0];
  int r = lg_rank(x), a = axis_of(n, x, 0), eb = elem_bytes(x);
  if (!lg_numel(y)) return;
  int64_t xd[LG_MAX_RANK], xs[LG_MAX_RANK], yd[LG_MAX_RANK], ys[LG_MAX_RANK], xs0[LG_MAX_RANK];
  lg_dims(x, xd);
  lg_strides(r, xd, xs);
  lg_dims(y, yd);
  lg_strides(r, yd, ys);
  memcpy(xs0, xs, sizeof xs0);
  xs0[a] = 0;
  int64_t D = xd[a];
  LLVMTypeRef et = LLVMIntTypeInContext(g->ctx, (unsigned)eb * 8), it = lg_type(g, lg_elem(vi));
  LgNest ln;
  LLVMValueRef ivs[LG_MAX_RANK];
  lg_nest(g, &ln, r, yd, ivs);
  LLVMValueRef o = lg_linear(g, r, ivs, ys, 0);
  LLVMValueRef k = LLVMBuildSExt(g->b, lg_load(g, it, lg_ptr(g, vi), o), g->i64, "");
  k = LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, k, lg_i64(g, 0), ""), LLVMBuildAdd(g->b, k, lg_i64(g, D), ""), k, "");
  k = LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, k, lg_i64(g, 0), ""), lg_i64(g, 0), k, "");
  k = LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSGE, k, lg_i64(g, D), ""), lg_i64(g, D - 1), k, "");
  LLVMValueRef src = LLVMBuildNSWAdd(g->b, lg_linear(g, r, ivs, xs0, 0), LLVMBuildNSWMul(g->b, k, lg_i64(g, xs[a]), ""), "");
  lg_store(g, lg_load(g, et, lg_ptr(g, x), src), lg_ptr(g, y), o);
  lg_nest_end(g, &ln);
}

/* ------------------------------------------------------------------ Pad */

/* Pads per dim (begin, end) from the attribute (opset < 11) or constant inputs. */
static bool pad_amounts(const Node *n, int64_t *pb, int64_t *pe) {
  int r = lg_rank(n->inputs[0]), np = 0, na = r;
  int64_t pads[2 * LG_MAX_RANK], axes[LG_MAX_RANK];
  if (n->op->since < 11) {
    size_t cnt = 0;
    const int64_t *p = ir_attr_ints(n, n->op->since < 2 ? "paddings" : "pads", &cnt);
    if (!p || cnt > 2 * LG_MAX_RANK) return false;
    memcpy(pads, p, cnt * sizeof *p);
    np = (int)cnt;
  } else if (!lg_const_ints(n->inputs[1], pads, 2 * LG_MAX_RANK, &np)) {
    return false;
  }
  if (n->op->since >= 18 && n->n_inputs > 3 && n->inputs[3]) {
    if (!lg_const_ints(n->inputs[3], axes, LG_MAX_RANK, &na)) return false;
  } else {
    for (int i = 0; i < r; i++) axes[i] = i;
  }
  if (np != 2 * na) return false;
  for (int i = 0; i < r; i++) pb[i] = pe[i] = 0;
  for (int k = 0; k < na; k++) {
    int64_t a = axes[k] < 0 ? axes[k] + r : axes[k];
    if (a < 0 || a >= r) return false;
    pb[a] = pads[k], pe[a] = pads[k + na];
  }
  return true;
}

static int pad_mode(const Node *n) {
  const char *m = ir_attr_string(n, "mode", "constant");
  return !strcmp(m, "constant") ? EFFC_PAD_CONSTANT : !strcmp(m, "reflect") ? EFFC_PAD_REFLECT
         : !strcmp(m, "edge")   ? EFFC_PAD_EDGE     : !strcmp(m, "wrap")    ? EFFC_PAD_WRAP : -1;
}

/* Pads read at run time: a 1-D int64 pads input covering every dim, no axes input. */
static bool pad_runtime_ok(const Node *n) {
  const Value *p = n->op->since >= 11 ? n->inputs[1] : NULL;
  return p && lg_elem(p) == ELEM_INT64 && lg_rank(p) == 1 && lg_numel(p) == 2 * lg_rank(n->inputs[0]) &&
         !(n->op->since >= 18 && n->n_inputs > 3 && n->inputs[3]);
}

static int pad_check(LGen *g, const Node *n) {
  int64_t pb[LG_MAX_RANK], pe[LG_MAX_RANK];
  if (bytes_check(g, n)) return -1;
  if (pad_mode(n) < 0) return lg_unsupported(g, n, "unknown mode");
  if (!pad_amounts(n, pb, pe)) {
    if (!pad_runtime_ok(n)) return lg_unsupported(g, n, "pads must be a 1-D int64 tensor (axes constant)");
    return 0;
  }
  for (int i = 0; i < lg_rank(n->inputs[0]); i++)
    if (pad_mode(n) != EFFC_PAD_CONSTANT && lg_dim(n->inputs[0], i) + (pb[i] < 0 ? pb[i] : 0) + (pe[i] < 0 ? pe[i] : 0) <= 0 &&
        lg_dim(n->outputs[0], i) > 0)
      return lg_unsupported(g, n, "cannot pad an empty dimension");
  if (n->op->since < 11 && !lg_elem_float(lg_elem(n->inputs[0])))
    return lg_unsupported(g, n, "the value attribute needs a float tensor");
  return 0;
}

/* The fill value of constant mode as an integer of the element's width. */
static LLVMValueRef pad_fill(LGen *g, const Node *n, LLVMTypeRef it) {
  const Value *x = n->inputs[0];
  if (n->op->since < 11)
    return LLVMBuildBitCast(g->b, lg_const_of(g, lg_elem(x), ir_attr_float(n, "value", 0.0f)), it, "");
  if (n->n_inputs > 2 && n->inputs[2] && lg_numel(n->inputs[2]))
    return lg_load(g, it, lg_ptr(g, n->inputs[2]), lg_i64(g, 0));
  return LLVMConstNull(it);
}

/* effc_pad_src (runtime/kern/remap.c) in IR, for pads known only at run time. */
static LLVMValueRef pad_src_ir(LGen *g, LLVMValueRef s, LLVMValueRef m, int mode, LLVMValueRef *inside) {
  LLVMBuilderRef b = g->b;
  LLVMValueRef zero = lg_i64(g, 0), one = lg_i64(g, 1);
  *inside = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, s, zero, ""), LLVMBuildICmp(b, LLVMIntSLT, s, m, ""), "");
  LLVMValueRef r;
  switch (mode) {
  case EFFC_PAD_EDGE:
    r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, s, zero, ""), zero, LLVMBuildSub(b, m, one, ""), "");
    break;
  case EFFC_PAD_WRAP: r = LLVMBuildSRem(b, LLVMBuildAdd(b, LLVMBuildSRem(b, s, m, ""), m, ""), m, ""); break;
  case EFFC_PAD_REFLECT: {
    LLVMValueRef per = LLVMBuildMul(b, lg_i64(g, 2), LLVMBuildSub(b, m, one, ""), "");
    LLVMValueRef sp = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntEQ, per, zero, ""), one, per, "");
    LLVMValueRef t = LLVMBuildSRem(b, LLVMBuildAdd(b, LLVMBuildSRem(b, s, sp, ""), sp, ""), sp, "");
    t = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGE, t, m, ""), LLVMBuildSub(b, sp, t, ""), t, "");
    r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntEQ, m, one, ""), zero, t, "");
    break;
  }
  default: r = zero; break;
  }
  if (mode != EFFC_PAD_CONSTANT) *inside = LLVMConstInt(g->i1, 1, 0);
  return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGE, s, zero, ""),
                         LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, s, m, ""), s, r, ""), r, "");
}

static void pad_runtime(LGen *g, const Node *n) {
  const Value *x = n->inputs[0], *y = n->outputs[0], *vp = n->inputs[1];
  int r = lg_rank(x), mode = pad_mode(n), eb = elem_bytes(x);
  int64_t xd[LG_MAX_RANK], xs[LG_MAX_RANK], yd[LG_MAX_RANK], ys[LG_MAX_RANK];
  lg_dims(x, xd);
  lg_strides(r, xd, xs);
  lg_dims(y, yd);
  lg_strides(r, yd, ys);
  if (!lg_numel(y)) return;
  LLVMTypeRef it = LLVMIntTypeInContext(g->ctx, (unsigned)eb * 8);
  LLVMValueRef fill = pad_fill(g, n, it), bgn[LG_MAX_RANK], lo[LG_MAX_RANK], m[LG_MAX_RANK];
  LLVMValueRef zero = lg_i64(g, 0);
  for (int d = 0; d < r; d++) {
    LLVMValueRef pb = lg_load(g, g->i64, lg_ptr(g, vp), lg_i64(g, d)), pe = lg_load(g, g->i64, lg_ptr(g, vp), lg_i64(g, r + d));
    LLVMValueRef pbn = LLVMBuildICmp(g->b, LLVMIntSLT, pb, zero, ""), pen = LLVMBuildICmp(g->b, LLVMIntSLT, pe, zero, "");
    bgn[d] = LLVMBuildSelect(g->b, pbn, zero, pb, "");
    lo[d] = LLVMBuildSelect(g->b, pbn, LLVMBuildNeg(g->b, pb, ""), zero, "");
    m[d] = LLVMBuildAdd(g->b, LLVMBuildSub(g->b, lg_i64(g, xd[d]), lo[d], ""), LLVMBuildSelect(g->b, pen, pe, zero, ""), "");
  }
  LgNest ln;
  LLVMValueRef ivs[LG_MAX_RANK], off = zero, ok = LLVMConstInt(g->i1, 1, 0);
  lg_nest(g, &ln, r, yd, ivs);
  for (int d = 0; d < r; d++) {
    LLVMValueRef inside, src = pad_src_ir(g, LLVMBuildSub(g->b, ivs[d], bgn[d], ""), m[d], mode, &inside);
    ok = LLVMBuildAnd(g->b, ok, inside, "");
    off = LLVMBuildAdd(g->b, off, LLVMBuildMul(g->b, LLVMBuildAdd(g->b, src, lo[d], ""), lg_i64(g, xs[d]), ""), "");
  }
  LLVMValueRef safe = LLVMBuildSelect(g->b, ok, off, zero, "");
  LLVMValueRef v = LLVMBuildSelect(g->b, ok, lg_load(g, it, lg_ptr(g, x), safe), fill, "");
  lg_store(g, v, lg_ptr(g, y), lg_linear(g, r, ivs, ys, 0));
  lg_nest_end(g, &ln);
}

/* One table per dim (built at compile time with the kernels' effc_pad_src): the source
 * offset of each output index, or -1 for the fill value. */
static void pad_emit(LGen *g, const Node *n) {
  const Value *x = n->inputs[0], *y = n->outputs[0];
  int r = lg_rank(x), mode = pad_mode(n), eb = elem_bytes(x);
  int64_t pb[LG_MAX_RANK], pe[LG_MAX_RANK], xd[LG_MAX_RANK], xs[LG_MAX_RANK], yd[LG_MAX_RANK], ys[LG_MAX_RANK];
  if (!pad_amounts(n, pb, pe)) {
    pad_runtime(g, n);
    return;
  }
  lg_dims(x, xd);
  lg_strides(r, xd, xs);
  lg_dims(y, yd);
  lg_strides(r, yd, ys);
  if (!lg_numel(y)) return;
  LLVMValueRef tab[LG_MAX_RANK];
  for (int d = 0; d < r; d++) {
    int64_t *t = malloc((size_t)yd[d] * sizeof *t), lo = pb[d] < 0 ? -pb[d] : 0;
    int64_t m = xd[d] - lo - (pe[d] < 0 ? -pe[d] : 0);
    if (!t) abort();
    for (int64_t o = 0; o < yd[d]; o++) {
      int64_t src = effc_pad_src(o - (pb[d] > 0 ? pb[d] : 0), m, mode);
      t[o] = src < 0 ? -1 : (src + lo) * xs[d];
    }
    tab[d] = lg_global(g, "pad", t, (size_t)yd[d] * sizeof *t);
    free(t);
  }
  LLVMTypeRef it = LLVMIntTypeInContext(g->ctx, (unsigned)eb * 8);
  LLVMValueRef fill = pad_fill(g, n, it);
  LgNest ln;
  LLVMValueRef ivs[LG_MAX_RANK], off = lg_i64(g, 0), any = lg_i64(g, 0);
  lg_nest(g, &ln, r, yd, ivs);
  for (int d = 0; d < r; d++) {
    LLVMValueRef v = lg_load(g, g->i64, tab[d], ivs[d]);
    off = LLVMBuildAdd(g->b, off, v, "");
    any = LLVMBuildOr(g->b, any, v, "");
  }
  LLVMValueRef fillp = LLVMBuildICmp(g->b, LLVMIntSLT, any, lg_i64(g, 0), "");
  LLVMValueRef safe = LLVMBuildSelect(g->b, fillp, lg_i64(g, 0), off, "");
  LLVMValueRef v = LLVMBuildSelect(g->b, fillp, fill, lg_load(g, it, lg_ptr(g, x), safe), "");
  lg_store(g, v, lg_ptr(g, y), lg_linear(g, r, ivs, ys, 0));
  lg_nest_end(g, &ln);
}

/* ------------------------------------------------------------------ DepthToSpace, SpaceToDepth */

/* The input viewed as 6-D and permuted (the interpreter's views, k_shape.c). */
static bool d2s_view(const Node *n, int64_t *v, const int **perm) {
  static const int d2s_dcr[6] = {0, 3, 4, 1, 5, 2}, d2s_crd[6] = {0, 1, 4, 2, 5, 3};
  static const int s2d_dcr[6] = {0, 3, 5, 1, 2, 4}, s2d_crd[6] = {0, 1, 3, 5, 2, 4};
  const Value *x = n->inputs[0];
  if (lg_rank(x) != 4) return false;
  bool d2s = !strcmp(n->op->family, "DepthToSpace");
  int64_t b = ir_attr_int(n, "blocksize", 0), N = lg_dim(x, 0), C = lg_dim(x, 1), H = lg_dim(x, 2), W = lg_dim(x, 3);
  const char *mode = ir_attr_string(n, "mode", "DCR");
  bool crd = !strcmp(mode, "CRD");
  if (b <= 0 || (!crd && strcmp(mode, "DCR"))) return false;
  if (d2s) {
    if (C % (b * b)) return false;
    int64_t vd[6] = {N, b, b, C / (b * b), H, W}, vc[6] = {N, C / (b * b), b, b, H, W};
    memcpy(v, crd ? vc : vd, sizeof vd);
    *perm = crd ? d2s_crd : d2s_dcr;
  } else {
    if (H % b || W % b) return false;
    int64_t vs[6] = {N, C, H / b, b, W / b, b};
    memcpy(v, vs, sizeof vs);
    *perm = crd ? s2d_crd : s2d_dcr;
  }
  return true;
}

static int d2s_check(LGen *g, const Node *n) {
  int64_t v[6];
  const int *p;
  if (bytes_check(g, n)) return -1;
  if (!d2s_view(n, v, &p)) return lg_unsupported(g, n, "4-D input, a blocksize dividing it, mode DCR or CRD");
  return 0;
}

static void d2s_emit(LGen *g, const Node *n) {
  int64_t v[6], vs[6], od[6], os[6], ss[6];
  const int *p;
  d2s_view(n, v, &p);
  lg_strides(6, v, vs);
  for (int i = 0; i < 6; i++) od[i] = v[p[i]], ss[i] = vs[p[i]];
  lg_strides(6, od, os);
  lg_copy_strided(g, elem_bytes(n->inputs[0]), lg_ptr(g, n->outputs[0]), 0, os, lg_ptr(g, n->inputs[0]), 0, ss, 6, od);
}

/* ------------------------------------------------------------------ Range */

static int range_check(LGen *g, const Node *n) {
  ElemType t = lg_elem(n->outputs[0]);
  if (t != ELEM_FLOAT && t != ELEM_DOUBLE && t != ELEM_INT32 && t != ELEM_INT64 && t != ELEM_INT16)
    return lg_unsupported(g, n, "element type not supported");
  return 0;
}

/* y[i] = start + i * delta (floats in double, as the interpreter; integers wrapping); the
 * count is the output's static length. */
static void range_emit(LGen *g, const Node *n) {
  const Value *y = n->outputs[0];
  ElemType t = lg_elem(y);
  LLVMTypeRef ty = lg_type(g, t);
  if (!lg_numel(y)) return;
  LLVMValueRef s = lg_load(g, ty, lg_ptr(g, n->inputs[0]), lg_i64(g, 0));
  LLVMValueRef d = lg_load(g, ty, lg_ptr(g, n->inputs[2]), lg_i64(g, 0));
  LgLoop l;
  LLVMValueRef i = lg_loop(g, &l, lg_i64(g, 0), lg_i64(g, lg_numel(y)), 1, true);
  LLVMValueRef v;
  if (lg_elem_float(t)) {
    v = LLVMBuildFAdd(g->b, LLVMBuildFPCast(g->b, s, g->f64, ""),
                      LLVMBuildFMul(g->b, LLVMBuildSIToFP(g->b, i, g->f64, ""), LLVMBuildFPCast(g->b, d, g->f64, ""), ""), "");
    v = LLVMBuildFPCast(g->b, v, ty, "");
  } else {
    v = LLVMBuildAdd(g->b, s, LLVMBuildMul(g->b, LLVMBuildIntCast2(g->b, i, ty, 1, ""), d, ""), "");
  }
  lg_store(g, v, lg_ptr(g, y), i);
  lg_loop_end(g, &l);
}

/* ------------------------------------------------------------------ Tile */

static int tile_check(LGen *g, const Node *n) {
  if (bytes_check(g, n)) return -1;
  const Value *x = n->inputs[0], *y = n->outputs[0];
  if (2 * lg_rank(x) > LG_MAX_RANK) return lg_unsupported(g, n, "rank above %d", LG_MAX_RANK / 2);
  for (int d = 0; d < lg_rank(x); d++)
    if (lg_dim(x, d) == 0 ? lg_dim(y, d) != 0 : lg_dim(y, d) % lg_dim(x, d))
      return lg_unsupported(g, n, "output dims are not multiples of the input's");
  return 0;
}

/* Each output dim is (repeat, index): one strided copy of rank 2r whose repeat dims have
 * source stride 0 (the repeats follow from the static shapes). */
static void tile_emit(LGen *g, const Node *n) {
  const Value *x = n->inputs[0], *y = n->outputs[0];
  int r = lg_rank(x);
  int64_t xd[LG_MAX_RANK], xs[LG_MAX_RANK], yd[LG_MAX_RANK], ys[LG_MAX_RANK];
  int64_t dims[LG_MAX_RANK], ds[LG_MAX_RANK], ss[LG_MAX_RANK];
  lg_dims(x, xd);
  lg_strides(r, xd, xs);
  lg_dims(y, yd);
  lg_strides(r, yd, ys);
  if (!lg_numel(y)) return;
  for (int d = 0; d < r; d++) {
    dims[2 * d] = yd[d] / xd[d], dims[2 * d + 1] = xd[d];
    ds[2 * d] = xd[d] * ys[d], ds[2 * d + 1] = ys[d];
    ss[2 * d] = 0, ss[2 * d + 1] = xs[d];
  }
  lg_copy_strided(g, elem_bytes(x), lg_ptr(g, y), 0, ds, lg_ptr(g, x), 0, ss, 2 * r, dims);
}

const LgOp lg_ops_shape[] = {
    {"Tile", tile_check, tile_emit},
    {"Pad", pad_check, pad_emit},
    {"DepthToSpace", d2s_check, d2s_emit},
    {"SpaceToDepth", d2s_check, d2s_emit},
    {"Range", range_check, range_emit},
    {"Size", shape_check, size_emit},
    {"ConstantOfShape", cos_check, cos_emit},
    {"Trilu", trilu_check, trilu_emit},
    {"GatherElements", gel_check, gel_emit},
    {"Reshape", view_check, view_emit},
    {"Flatten", view_check, view_emit},
    {"Squeeze", view_check, view_emit},
    {"Unsqueeze", view_check, view_emit},
    {"Identity", view_check, view_emit},
    {"Dropout", view_check, view_emit},
    {"BitCast", view_check, view_emit}, /* the same bytes, another type */
    {"Transpose", transpose_check, transpose_emit},
    {"Concat", concat_check, concat_emit},
    {"Split", split_check, split_emit},
    {"Slice", slice_check, slice_emit},
    {"Expand", bytes_check, expand_emit},
    {"Gather", gather_check, gather_emit},
    {"Shape", shape_check, shape_emit},
    {NULL, NULL, NULL},
};
