/* k_control.c - control flow: If, Loop and Scan run their subgraphs through
 * rt_run_subgraph; Loop stacks its scan outputs, Scan slices its inputs along the scan axes
 * and stacks its outputs. */
#include "runtime.h"

#include <stdlib.h>
#include <string.h>

static const Graph *graph_attr(RtCtx *c, const char *name) {
  const Attr *a = rt_attr(c, name);
  return a && a->type == ATTR_GRAPH ? a->g : NULL;
}

static bool scalar_true(const RtValue *v) {
  return v && v->kind == TYPE_TENSOR && v->numel > 0 && rt_get_f64(v, 0) != 0;
}

/* Bytes per element for slicing and stacking; 0 for packed sub-byte types. */
static size_t elem_size(ElemType e) {
  if (e == ELEM_STRING) return sizeof(IrStr);
  int bits = ir_elem(e)->bits;
  return bits % 8 ? 0 : (size_t)bits / 8;
}

static void copy_elems(RtValue *dst, uint64_t di, const RtValue *src, uint64_t si, uint64_t n) {
  if (dst->elem == ELEM_STRING) {
    const IrStr *s = src->data;
    for (uint64_t k = 0; k < n; k++) rt_str_set(dst, di + k, s[si + k].s, s[si + k].len);
    return;
  }
  size_t es = elem_size(dst->elem);
  if (n) memcpy((char *)dst->data + di * es, (const char *)src->data + si * es, n * es);
}

/* x with axis `ax` removed, at index t. */
static RtValue *take(RtCtx *c, const RtValue *x, int ax, int64_t t) {
  int64_t dims[RT_MAX_RANK];
  int r = 0;
  for (int d = 0; d < x->rank; d++)
    if (d != ax) dims[r++] = x->dims[d];
  RtValue *y = rt_tensor_new(x->elem, r, dims);
  if (!y) {
    rt_error(c, "cannot slice a %d-D tensor", x->rank);
    return NULL;
  }
  uint64_t outer = 1, inner = 1;
  for (int d = 0; d < ax; d++) outer *= (uint64_t)x->dims[d];
  for (int d = ax + 1; d < x->rank; d++) inner *= (uint64_t)x->dims[d];
  uint64_t len = (uint64_t)x->dims[ax];
  for (uint64_t o = 0; o < outer; o++)
    copy_elems(y, o * inner, x, (o * len + (uint64_t)t) * inner, inner);
  return y;
}

/* Stack n same-shaped tensors along a new axis `ax` (items[i] may be reversed by caller). */
static RtValue *stack(RtCtx *c, RtValue *const *items, int64_t n, int ax, ElemType elem,
                      int rank_hint) {
  if (n == 0) {
    int64_t dims[1] = {0};
    (void)rank_hint;
    return rt_tensor_new(elem, 1, dims);
  }
  const RtValue *f = items[0];
  for (int64_t i = 1; i < n; i++)
    if (items[i]->kind != TYPE_TENSOR || items[i]->elem != f->elem || !rt_same_shape(items[i], f)) {
      rt_error(c, "scan outputs differ in type or shape between iterations");
      return NULL;
    }
  if (f->kind != TYPE_TENSOR || f->rank + 1 > RT_MAX_RANK || !elem_size(f->elem)) {
    rt_error(c, "cannot stack scan outputs of this type");
    return NULL;
  }
  if (ax < 0) ax += f->rank + 1;
  if (ax < 0 || ax > f->rank) {
    rt_error(c, "scan output axis out of range");
    return NULL;
  }
  int64_t dims[RT_MAX_RANK];
  for (int d = 0, s = 0; d <= f->rank; d++) dims[d] = d == ax ? n : f->dims[s++];
  RtValue *y = rt_tensor_new(f->elem, f->rank + 1, dims);
  if (!y) {
    rt_error(c, "scan output too large");
    return NULL;
  }
  uint64_t outer = 1, inner = 1;
  for (int d = 0; d < ax; d++) outer *= (uint64_t)f->dims[d];
  for (int d = ax; d < f->rank; d++) inner *= (uint64_t)f->dims[d];
  for (uint64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < n; i++)
      copy_elems(y, (o * (uint64_t)n + (uint64_t)i) * inner, items[i], o * inner, inner);
  return y;
}

/* ------------------------------------------------------------------ If */

int rt_k_If(RtCtx *c) {
  if (!c->in[0] || c->in[0]->kind != TYPE_TENSOR || c->in[0]->numel != 1)
    return rt_error(c, "the condition must be a tensor of one element");
  const Graph *g = graph_attr(c, scalar_true(c->in[0]) ? "then_branch" : "else_branch");
  if (!g) return rt_error(c, "missing branch graph");
  if (g->n_outputs != c->n_out)
    return rt_error(c, "the branch has %d outputs, the node %d", g->n_outputs, c->n_out);
  return rt_run_subgraph(c, g, NULL, 0, c->out);
}

/* ------------------------------------------------------------------ Loop */

static ElemType declared_elem(const Value *v) {
  return v && v->type && v->type->kind == TYPE_TENSOR ? v->type->elem : ELEM_FLOAT;
}

int rt_k_Loop(RtCtx *c) {
  const Graph *body = graph_attr(c, "body");
  if (!body) return rt_error(c, "missing body graph");
  int n_carried = c->n_in - 2;
  if (n_carried < 0) n_carried = 0;
  int n_scan = body->n_outputs - 1 - n_carried;
  if (body->n_inputs != 2 + n_carried || n_scan < 0 || c->n_out != n_carried + n_scan)
    return rt_error(c, "body signature does not match the node (%d inputs, %d outputs)",
                    body->n_inputs, body->n_outputs);
  int64_t trips = INT64_MAX;
  if (c->n_in > 0 && c->in[0]) {
    if (c->in[0]->numel != 1) return rt_error(c, "M must be a scalar");
    trips = rt_get_i64(c->in[0], 0);
  }
  bool cond = c->n_in > 1 && c->in[1] ? scalar_true(c->in[1]) : true;
  RtValue **state = calloc((size_t)n_carried + 1, sizeof *state);
  RtValue **bins = calloc((size_t)n_carried + 2, sizeof *bins);
  RtValue **bouts = calloc((size_t)body->n_outputs + 1, sizeof *bouts);
  RtValue ***scans = calloc((size_t)n_scan + 1, sizeof *scans);
  int64_t n_iter = 0, cap = 0;
  int rc = 0;
  for (int i = 0; i < n_carried; i++) state[i] = rt_ref(c->in[2 + i]);
  for (int64_t it = 0; it < trips && cond; it++) {
    RtValue *iv = rt_scalar_new(ELEM_INT64), *cv = rt_scalar_new(ELEM_BOOL);
    rt_set_i64(iv, 0, it);
    rt_set_i64(cv, 0, cond);
    bins[0] = iv;
    bins[1] = cv;
    for (int i = 0; i < n_carried; i++) bins[2 + i] = state[i];
    rc = rt_run_subgraph(c, body, bins, 2 + n_carried, bouts);
    rt_unref(iv);
    rt_unref(cv);
    if (rc) break;
    cond = scalar_true(bouts[0]);
    rt_unref(bouts[0]);
    for (int i = 0; i < n_carried; i++) {
      rt_unref(state[i]);
      state[i] = bouts[1 + i];
    }
    if (n_iter == cap) {
      cap = cap ? 2 * cap : 16;
      for (int k = 0; k < n_scan; k++) scans[k] = realloc(scans[k], (size_t)cap * sizeof **scans);
    }
    for (int k = 0; k < n_scan; k++) scans[k][n_iter] = bouts[1 + n_carried + k];
    n_iter++;
    if (n_iter > 100000000) {
      rc = rt_error(c, "more than 1e8 iterations");
      break;
    }
  }
  for (int i = 0; i < n_carried; i++) {
    if (rc == 0) rt_set_out(c, i, state[i]);
    else rt_unref(state[i]);
  }
  for (int k = 0; k < n_scan; k++) {
    if (rc == 0) {
      const Value *ov = c->node->n_outputs > n_carried + k ? c->node->outputs[n_carried + k] : NULL;
      RtValue *y = stack(c, scans[k], n_iter, 0, declared_elem(ov ? ov : body->outputs[1 + n_carried + k]), 0);
      if (!y) rc = -1;
      else rt_set_out(c, n_carried + k, y);
    }
    for (int64_t i = 0; i < n_iter; i++) rt_unref(scans[k][i]);
    free(scans[k]);
  }
  free(scans);
  free(state);
  free(bins);
  free(bouts);
  return rc;
}

/* ------------------------------------------------------------------ Scan */

/* One Scan over inputs given as per-tensor values (no batch axis). Scan-9 and later; Scan-8
 * calls it once per batch entry. */
static int scan_run(RtCtx *c, const Graph *body, RtValue **init, int n_state, RtValue **xs,
                    int n_in, const int64_t *in_axes, const int64_t *in_dirs,
                    const int64_t *out_axes, const int64_t *out_dirs, int64_t seq_len,
                    RtValue **out_state, RtValue **out_scan, int n_scan) {
  int64_t T = -1;
  int axes[64];
  for (int j = 0; j < n_in; j++) {
    if (!xs[j] || xs[j]->kind != TYPE_TENSOR) return rt_error(c, "scan input %d is not a tensor", j);
    if (!rt_axis(c, in_axes ? in_axes[j] : 0, xs[j]->rank, &axes[j])) return -1;
    int64_t len = xs[j]->dims[axes[j]];
    if (T >= 0 && len != T) return rt_error(c, "scan inputs differ in sequence length");
    T = len;
  }
  if (T < 0) T = 0;
  if (seq_len >= 0 && seq_len < T) T = seq_len;
  RtValue **state = calloc((size_t)n_state + 1, sizeof *state);
  RtValue **bins = calloc((size_t)(n_state + n_in) + 1, sizeof *bins);
  RtValue **bouts = calloc((size_t)body->n_outputs + 1, sizeof *bouts);
  RtValue **scans = calloc((size_t)(n_scan * (T ? T : 1)) + 1, sizeof *scans);
  int rc = 0;
  for (int i = 0; i < n_state; i++) state[i] = rt_ref(init[i]);
  for (int64_t t = 0; t < T && rc == 0; t++) {
    for (int i = 0; i < n_state; i++) bins[i] = state[i];
    for (int j = 0; j < n_in; j++) {
      int64_t at = in_dirs && in_dirs[j] ? T - 1 - t : t;
      bins[n_state + j] = take(c, xs[j], axes[j], at);
      if (!bins[n_state + j]) rc = -1;
    }
    if (rc == 0) rc = rt_run_subgraph(c, body, bins, n_state + n_in, bouts);
    for (int j = 0; j < n_in; j++) rt_unref(bins[n_state + j]);
    if (rc) break;
    for (int i = 0; i < n_state; i++) {
      rt_unref(state[i]);
      state[i] = bouts[i];
    }
    for (int k = 0; k < n_scan; k++) scans[(size_t)k * (size_t)T + (size_t)t] = bouts[n_state + k];
  }
  for (int i = 0; i < n_state; i++) {
    if (rc == 0) out_state[i] = state[i];
    else rt_unref(state[i]);
  }
  for (int k = 0; k < n_scan && rc == 0; k++) {
    RtValue **col = scans + (size_t)k * (size_t)T;
    if (out_dirs && out_dirs[k])
      for (int64_t a = 0, b = T - 1; a < b; a++, b--) {
        RtValue *tmp = col[a];
        col[a] = col[b];
        col[b] = tmp;
      }
    out_scan[k] = stack(c, col, T, (int)(out_axes ? out_axes[k] : 0),
                        declared_elem(body->outputs[n_state + k]), 0);
    if (!out_scan[k]) rc = -1;
  }
  for (int64_t i = 0; i < (int64_t)n_scan * T; i++) rt_unref(scans[i]);
  free(scans);
  free(state);
  free(bins);
  free(bouts);
  return rc;
}

int rt_k_Scan(RtCtx *c) {
  const Graph *body = graph_attr(c, "body");
  if (!body) return rt_error(c, "missing body graph");
  int64_t n_in = rt_attr_int(c, "num_scan_inputs", -1);
  bool v8 = c->op->since < 9;
  int first = v8 ? 1 : 0; /* Scan-8 starts with the optional sequence_lens */
  int n_state = c->n_in - first - (int)n_in;
  int n_scan = c->n_out - n_state;
  if (n_in <= 0 || n_in > 64 || n_state < 0 || n_scan < 0 ||
      body->n_inputs != n_state + n_in || body->n_outputs != n_state + n_scan)
    return rt_error(c, "body signature does not match num_scan_inputs and the node");
  size_t na, nd, noa, nod;
  const int64_t *in_axes = rt_attr_ints(c, "scan_input_axes", &na);
  const int64_t *in_dirs = rt_attr_ints(c, v8 ? "directions" : "scan_input_directions", &nd);
  const int64_t *out_axes = rt_attr_ints(c, "scan_output_axes", &noa);
  const int64_t *out_dirs = rt_attr_ints(c, "scan_output_directions", &nod);
  if ((in_axes && na != (size_t)n_in) || (in_dirs && nd != (size_t)n_in) ||
      (out_axes && noa != (size_t)n_scan) || (out_dirs && nod != (size_t)n_scan))
    return rt_error(c, "axes/directions attributes do not match the inputs and outputs");
  RtValue **ins = c->in + first;
  if (!v8)
    return scan_run(c, body, ins, n_state, ins + n_state, (int)n_in, in_axes, in_dirs, out_axes,
                    out_dirs, -1, c->out, c->out + n_state, n_scan);
  /* Scan-8: every input has a leading batch axis; scan axis is 1 */
  int64_t B = -1;
  for (int i = 0; i < n_state + (int)n_in; i++) {
    if (!ins[i] || ins[i]->kind != TYPE_TENSOR || ins[i]->rank < 1)
      return rt_error(c, "Scan-8 inputs need a batch axis");
    if (B >= 0 && ins[i]->dims[0] != B) return rt_error(c, "inputs differ in batch size");
    B = ins[i]->dims[0];
  }
  const RtValue *lens = c->in[0];
  int total = n_state + n_scan;
  RtValue **per = calloc((size_t)(B * total) + 1, sizeof *per);
  RtValue **bin = calloc((size_t)(n_state + n_in) + 1, sizeof *bin);
  int rc = 0;
  for (int64_t b = 0; b < B && rc == 0; b++) {
    for (int i = 0; i < n_state + (int)n_in; i++) bin[i] = take(c, ins[i], 0, b);
    int64_t sl = lens && lens->numel > (uint64_t)b ? rt_get_i64(lens, (uint64_t)b) : -1;
    rc = scan_run(c, body, bin, n_state, bin + n_state, (int)n_in, NULL, in_dirs, NULL, NULL, sl,
                  per + b * total, per + b * total + n_state, n_scan);
    for (int i = 0; i < n_state + (int)n_in; i++) rt_unref(bin[i]);
  }
  for (int o = 0; o < total && rc == 0; o++) {
    RtValue **col = calloc((size_t)B + 1, sizeof *col);
    for (int64_t b = 0; b < B; b++) col[b] = per[b * total + o];
    RtValue *y = stack(c, col, B, 0, ELEM_FLOAT, 0);
    free(col);
    if (!y) rc = -1;
    else rt_set_out(c, o, y);
  }
  for (int64_t i = 0; i < B * total; i++) rt_unref(per[i]);
  free(per);
  free(bin);
  return rc;
}
