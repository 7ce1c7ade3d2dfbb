/* k_shape_index.c - indexing kernels: Gather, GatherElements, GatherND, Scatter,
 * ScatterElements, ScatterND, TensorScatter, OneHot, Compress, NonZero, Unique, TopK,
 * ReverseSequence. */
#include "k_shape.h"

#include <math.h>

static bool is_int_tensor(const RtValue *v) {
  return v->kind == TYPE_TENSOR && v->elem != ELEM_STRING && !ir_elem(v->elem)->is_float;
}

/* An index read from idx[i], made non-negative against dim; false after reporting. */
static bool index_at(RtCtx *c, const RtValue *idx, uint64_t i, int64_t dim, int64_t *out) {
  int64_t v = rt_get_i64(idx, i);
  if (v < 0) v += dim;
  if (v < 0 || v >= dim) {
    rt_error(c, "index %lld is out of range [-%lld, %lld)", (long long)rt_get_i64(idx, i), (long long)dim,
             (long long)dim);
    return false;
  }
  *out = v;
  return true;
}

static uint64_t prod(const int64_t *d, int from, int to) {
  uint64_t p = 1;
  for (int i = from; i < to; i++) p *= (uint64_t)d[i];
  return p;
}

/* ------------------------------------------------------------------ Gather family */

int rt_k_Gather(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0), *ind = rt_in_tensor(c, 1);
  if (!x || !ind) return -1;
  if (!is_int_tensor(ind)) return rt_error(c, "indices must be integers");
  int ax;
  if (!rt_axis(c, rt_attr_int(c, "axis", 0), x->rank, &ax)) return -1;
  int r = x->rank - 1 + ind->rank;
  if (r > RT_MAX_RANK) return rt_error(c, "output rank %d is above %d", r, RT_MAX_RANK);
  int64_t d[RT_MAX_RANK];
  int k = 0;
  for (int i = 0; i < ax; i++) d[k++] = x->dims[i];
  for (int i = 0; i < ind->rank; i++) d[k++] = ind->dims[i];
  for (int i = ax + 1; i < x->rank; i++) d[k++] = x->dims[i];
  RtValue *o = rt_out(c, 0, x->elem, r, d);
  if (!o) return -1;
  uint64_t outer = prod(x->dims, 0, ax), inner = prod(x->dims, ax + 1, x->rank), ni = ind->numel;
  int64_t D = x->dims[ax];
  for (uint64_t j = 0; j < ni; j++) {
    int64_t v;
    if (!index_at(c, ind, j, D, &v)) return -1;
    for (uint64_t q = 0; q < outer; q++)
      ks_copyn(o, (q * ni + j) * inner, x, (q * (uint64_t)D + (uint64_t)v) * inner, inner);
  }
  return 0;
}

int rt_k_GatherElements(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0), *ind = rt_in_tensor(c, 1);
  if (!x || !ind) return -1;
  if (!is_int_tensor(ind)) return rt_error(c, "indices must be integers");
  if (ind->rank != x->rank) return rt_error(c, "indices and data differ in rank");
  int ax;
  if (!rt_axis(c, rt_attr_int(c, "axis", 0), x->rank, &ax)) return -1;
  for (int i = 0; i < x->rank; i++)
    if (i != ax && ind->dims[i] > x->dims[i]) return rt_error(c, "indices dimension %d exceeds the data's", i);
  RtValue *o = rt_out(c, 0, x->elem, ind->rank, ind->dims);
  if (!o || !o->numel) return o ? 0 : -1;
  int64_t xs[RT_MAX_RANK], idx[RT_MAX_RANK] = {0};
  rt_strides(x->rank, x->dims, xs);
  for (uint64_t i = 0; i < o->numel; i++) {
    int64_t v, off = 0;
    if (!index_at(c, ind, i, x->dims[ax], &v)) return -1;
    for (int k = 0; k < x->rank; k++) off += (k == ax ? v : idx[k]) * xs[k];
    ks_copy1(o, i, x, (uint64_t)off);
    for (int k = x->rank - 1; k >= 0 && ++idx[k] == ind->dims[k]; k--) idx[k] = 0;
  }
  return 0;
}

int rt_k_GatherND(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0), *ind = rt_in_tensor(c, 1);
  if (!x || !ind) return -1;
  if (!is_int_tensor(ind)) return rt_error(c, "indices must be integers");
  int64_t b = c->op->since >= 12 ? rt_attr_int(c, "batch_dims", 0) : 0;
  int q = ind->rank, r = x->rank;
  if (q < 1 || b < 0 || b >= q || b >= r) return rt_error(c, "bad ranks or batch_dims");
  int64_t k = ind->dims[q - 1];
  if (k < 1 || k > r - b) return rt_error(c, "indices' last dimension %lld is out of range", (long long)k);
  for (int i = 0; i < b; i++)
    if (ind->dims[i] != x->dims[i]) return rt_error(c, "batch dimension %d differs", i);
  int64_t d[RT_MAX_RANK];
  int orank = 0;
  for (int i = 0; i < q - 1; i++) d[orank++] = ind->dims[i];
  for (int i = (int)(b + k); i < r; i++) {
    if (orank >= RT_MAX_RANK) return rt_error(c, "output rank is above %d", RT_MAX_RANK);
    d[orank++] = x->dims[i];
  }
  RtValue *o = rt_out(c, 0, x->elem, orank, d);
  if (!o) return -1;
  int64_t xs[RT_MAX_RANK];
  rt_strides(r, x->dims, xs);
  uint64_t nb = prod(x->dims, 0, (int)b), per = prod(ind->dims, (int)b, q - 1);
  uint64_t slice = prod(x->dims, (int)(b + k), r), bstride = prod(x->dims, (int)b, r);
  for (uint64_t bt = 0; bt < nb; bt++)
    for (uint64_t t = 0; t < per; t++) {
      uint64_t row = (bt * per + t) * (uint64_t)k, off = bt * bstride;
      for (int64_t j = 0; j < k; j++) {
        int64_t v;
        if (!index_at(c, ind, row + (uint64_t)j, x->dims[b + j], &v)) return -1;
        off += (uint64_t)(v * xs[b + j]);
      }
      ks_copyn(o, (bt * per + t) * slice, x, off, slice);
    }
  return 0;
}

/* ------------------------------------------------------------------ Scatter family */

enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

static int reduction(RtCtx *c, int *red, ElemType e) {
  const char *s = c->op->since >= 16 ? rt_attr_str(c, "reduction", "none") : "none";
  *red = !strcmp(s, "none") ? RED_NONE
         : !strcmp(s, "add") ? RED_ADD
         : !strcmp(s, "mul") ? RED_MUL
         : !strcmp(s, "max") ? RED_MAX
         : !strcmp(s, "min") ? RED_MIN
                             : -1;
  if (*red < 0) return rt_error(c, "unknown reduction '%s'", s);
  if (*red != RED_NONE && e == ELEM_STRING) return rt_error(c, "reduction '%s' on strings", s);
  return 0;
}

/* o[i] = o[i] (red) u[j] */
static void apply(RtValue *o, uint64_t i, const RtValue *u, uint64_t j, int red) {
  if (red == RED_NONE) {
    ks_copy1(o, i, u, j);
    return;
  }
  ElemType e = o->elem;
  if (ir_elem(e)->is_float) {
    double a = rt_get_f64(o, i), b = rt_get_f64(u, j), r;
    switch (red) {
    case RED_ADD: r = a + b; break;
    case RED_MUL: r = a * b; break;
    case RED_MAX: r = a != a || b != b ? NAN : a > b ? a : b; break;
    default: r = a != a || b != b ? NAN : a < b ? a : b; break;
    }
    if (e == ELEM_FLOAT && (red == RED_ADD || red == RED_MUL))
      r = red == RED_ADD ? (double)((float)a + (float)b) : (double)((float)a * (float)b);
    rt_set_f64(o, i, r);
    return;
  }
  if (e == ELEM_UINT64) {
    uint64_t a = rt_get_u64(o, i), b = rt_get_u64(u, j);
    uint64_t r = red == RED_ADD ? a + b : red == RED_MUL ? a * b : red == RED_MAX ? (a > b ? a : b) : (a < b ? a : b);
    rt_set_i64(o, i, (int64_t)r);
    return;
  }
  int64_t a = rt_get_i64(o, i), b = rt_get_i64(u, j), r;
  switch (red) {
  case RED_ADD: r = (int64_t)((uint64_t)a + (uint64_t)b); break;
  case RED_MUL: r = (int64_t)((uint64_t)a * (uint64_t)b); break;
  case RED_MAX: r = a > b ? a : b; break;
  default: r = a < b ? a : b; break;
  }
  rt_set_i64(o, i, r);
}

static int scatter_elements(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0), *ind = rt_in_tensor(c, 1), *upd = rt_in_tensor(c, 2);
  if (!x || !ind || !upd) return -1;
  if (!is_int_tensor(ind)) return rt_error(c, "indices must be integers");
  if (upd->elem != x->elem) return rt_error(c, "updates differ in type from data");
  if (ind->rank != x->rank || !rt_same_shape(ind, upd)) return rt_error(c, "indices, updates and data shapes disagree");
  int ax, red;
  if (!rt_axis(c, rt_attr_int(c, "axis", 0), x->rank, &ax) || reduction(c, &red, x->elem)) return -1;
  for (int i = 0; i < x->rank; i++)
    if (i != ax && ind->dims[i] > x->dims[i]) return rt_error(c, "indices dimension %d exceeds the data's", i);
  RtValue *o = rt_tensor_copy(x);
  if (!o) return rt_error(c, "cannot copy the data");
  rt_set_out(c, 0, o);
  int64_t xs[RT_MAX_RANK], idx[RT_MAX_RANK] = {0};
  rt_strides(x->rank, x->dims, xs);
  for (uint64_t i = 0; i < ind->numel; i++) {
    int64_t v, off = 0;
    if (!index_at(c, ind, i, x->dims[ax], &v)) return -1;
    for (int k = 0; k < x->rank; k++) off += (k == ax ? v : idx[k]) * xs[k];
    apply(o, (uint64_t)off, upd, i, red);
    for (int k = x->rank - 1; k >= 0 && ++idx[k] == ind->dims[k]; k--) idx[k] = 0;
  }
  return 0;
}

int rt_k_Scatter(RtCtx *c) { return scatter_elements(c); }
int rt_k_ScatterElements(RtCtx *c) { return scatter_elements(c); }

int rt_k_ScatterND(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0), *ind = rt_in_tensor(c, 1), *upd = rt_in_tensor(c, 2);
  if (!x || !ind || !upd) return -1;
  if (!is_int_tensor(ind)) return rt_error(c, "indices must be integers");
  if (upd->elem != x->elem) return rt_error(c, "updates differ in type from data");
  int red;
  if (reduction(c, &red, x->elem)) return -1;
  int q = ind->rank, r = x->rank;
  if (q < 1) return rt_error(c, "indices must have rank 1 or more");
  int64_t k = ind->dims[q - 1];
  if (k < 0 || k > r) return rt_error(c, "indices' last dimension %lld exceeds the data rank", (long long)k);
  bool ok = upd->rank == q - 1 + r - (int)k;
  for (int i = 0; ok && i < q - 1; i++) ok = upd->dims[i] == ind->dims[i];
  for (int i = (int)k; ok && i < r; i++) ok = upd->dims[q - 1 + i - k] == x->dims[i];
  if (!ok) return rt_error(c, "updates shape does not match indices and data");
  RtValue *o = rt_tensor_copy(x);
  if (!o) return rt_error(c, "cannot copy the data");
  rt_set_out(c, 0, o);
  int64_t xs[RT_MAX_RANK];
  rt_strides(r, x->dims, xs);
  uint64_t n = prod(ind->dims, 0, q - 1), slice = prod(x->dims, (int)k, r);
  for (uint64_t t = 0; t < n; t++) {
    uint64_t off = 0;
    for (int64_t j = 0; j < k; j++) {
      int64_t v;
      if (!index_at(c, ind, t * (uint64_t)k + (uint64_t)j, x->dims[j], &v)) return -1;
      off += (uint64_t)(v * xs[j]);
    }
    if (red == RED_NONE) ks_copyn(o, off, upd, t * slice, slice);
    else
      for (uint64_t s = 0; s < slice; s++) apply(o, off + s, upd, t * slice + s, red);
  }
  return 0;
}

int rt_k_TensorScatter(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0), *upd = rt_in_tensor(c, 1), *wi = ks_in(c, 2);
  if (!x || !upd) return -1;
  if (upd->elem != x->elem || upd->rank != x->rank) return rt_error(c, "update differs in type or rank from the cache");
  const char *ms = rt_attr_str(c, "mode", "linear");
  bool circ = !strcmp(ms, "circular");
  if (!circ && strcmp(ms, "linear")) return rt_error(c, "unknown mode '%s'", ms);
  int ax;
  if (!rt_axis(c, rt_attr_int(c, "axis", -2), x->rank, &ax)) return -1;
  if (ax == 0) return rt_error(c, "axis cannot be the batch axis");
  for (int i = 0; i < x->rank; i++)
    if (i != ax && upd->dims[i] != x->dims[i]) return rt_error(c, "update dimension %d differs from the cache's", i);
  int64_t B = x->dims[0], maxs = x->dims[ax], seq = upd->dims[ax];
  if (seq > maxs) return rt_error(c, "update is longer than the cache");
  if (wi && (wi->kind != TYPE_TENSOR || !is_int_tensor(wi) || wi->numel != (uint64_t)B))
    return rt_error(c, "write_indices must hold one integer per batch");
  RtValue *o = rt_tensor_copy(x);
  if (!o) return rt_error(c, "cannot copy the cache");
  rt_set_out(c, 0, o);
  uint64_t mid = prod(x->dims, 1, ax), inner = prod(x->dims, ax + 1, x->rank);
  for (int64_t b = 0; b < B; b++) {
    int64_t w = wi ? rt_get_i64(wi, (uint64_t)b) : 0;
    if (w < 0 || (circ ? w >= maxs && seq > 0 : w > maxs - seq))
      return rt_error(c, "write index %lld is out of range", (long long)w);
    for (uint64_t m = 0; m < mid; m++)
      for (int64_t j = 0; j < seq; j++) {
        int64_t p = circ ? (w + j) % maxs : w + j;
        uint64_t row = (uint64_t)b * mid + m;
        ks_copyn(o, (row * (uint64_t)maxs + (uint64_t)p) * inner, upd, (row * (uint64_t)seq + (uint64_t)j) * inner, inner);
      }
  }
  return 0;
}

/* ------------------------------------------------------------------ OneHot, Compress, NonZero */

int rt_k_OneHot(RtCtx *c) {
  RtValue *ind = rt_in_tensor(c, 0), *dv = rt_in_tensor(c, 1), *vals = rt_in_tensor(c, 2);
  if (!ind || !dv || !vals) return -1;
  if (ind->elem == ELEM_STRING || dv->elem == ELEM_STRING) return rt_error(c, "indices and depth must be numeric");
  if (dv->numel != 1) return rt_error(c, "depth must hold one value");
  if (vals->numel != 2) return rt_error(c, "values must hold two values");
  int64_t depth = rt_get_i64(dv, 0);
  if (depth < 0) return rt_error(c, "negative depth");
  int r = ind->rank + 1, ax;
  if (r > RT_MAX_RANK) return rt_error(c, "output rank is above %d", RT_MAX_RANK);
  if (!rt_axis(c, rt_attr_int(c, "axis", -1), r, &ax)) return -1;
  int64_t d[RT_MAX_RANK];
  for (int i = 0, j = 0; i < r; i++) d[i] = i == ax ? depth : ind->dims[j++];
  RtValue *o = rt_out(c, 0, vals->elem, r, d);
  if (!o) return -1;
  for (uint64_t i = 0; i < o->numel; i++) ks_copy1(o, i, vals, 0);
  uint64_t inner = prod(ind->dims, ax, ind->rank);
  for (uint64_t i = 0; i < ind->numel; i++) {
    int64_t v = rt_get_i64(ind, i);
    if (v < 0) v += depth;
    if (v < 0 || v >= depth) continue;
    uint64_t q = i / inner, t = i % inner;
    ks_copy1(o, (q * (uint64_t)depth + (uint64_t)v) * inner + t, vals, 1);
  }
  return 0;
}

int rt_k_Compress(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0), *cond = rt_in_tensor(c, 1);
  if (!x || !cond) return -1;
  if (cond->elem == ELEM_STRING || cond->rank != 1) return rt_error(c, "condition must be a 1-D bool tensor");
  const Attr *aa = rt_attr(c, "axis");
  int ax = 0;
  uint64_t outer, inner, D;
  if (aa) {
    if (!rt_axis(c, rt_attr_int(c, "axis", 0), x->rank, &ax)) return -1;
    outer = prod(x->dims, 0, ax);
    D = (uint64_t)x->dims[ax];
    inner = prod(x->dims, ax + 1, x->rank);
  } else {
    outer = inner = 1;
    D = x->numel;
  }
  uint64_t n = cond->numel < D ? cond->numel : D, cnt = 0;
  for (uint64_t i = 0; i < n; i++) cnt += rt_get_f64(cond, i) != 0;
  int64_t d[RT_MAX_RANK];
  int r = 1;
  if (aa) {
    memcpy(d, x->dims, sizeof d);
    d[ax] = (int64_t)cnt;
    r = x->rank;
  } else {
    d[0] = (int64_t)cnt;
  }
  RtValue *o = rt_out(c, 0, x->elem, r, d);
  if (!o) return -1;
  uint64_t pos = 0;
  for (uint64_t q = 0; q < outer; q++)
    for (uint64_t i = 0; i < n; i++)
      if (rt_get_f64(cond, i) != 0) {
        ks_copyn(o, pos, x, (q * D + i) * inner, inner);
        pos += inner;
      }
  return 0;
}

static bool nonzero_at(const RtValue *x, uint64_t i) {
  if (x->elem == ELEM_STRING) return ((const IrStr *)x->data)[i].len != 0;
  if (ir_elem(x->elem)->is_float) return rt_get_f64(x, i) != 0;
  return rt_get_u64(x, i) != 0;
}

int rt_k_NonZero(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  uint64_t n = 0;
  for (uint64_t i = 0; i < x->numel; i++) n += nonzero_at(x, i);
  int64_t d[2] = {x->rank, (int64_t)n};
  RtValue *o = rt_out(c, 0, ELEM_INT64, 2, d);
  if (!o) return -1;
  int64_t *p = o->data, idx[RT_MAX_RANK] = {0};
  uint64_t k = 0;
  for (uint64_t i = 0; i < x->numel; i++) {
    if (nonzero_at(x, i)) {
      for (int a = 0; a < x->rank; a++) p[(uint64_t)a * n + k] = idx[a];
      k++;
    }
    for (int a = x->rank - 1; a >= 0 && ++idx[a] == x->dims[a]; a--) idx[a] = 0;
  }
  return 0;
}

/* ------------------------------------------------------------------ Unique */

typedef struct SliceCtx {
  const RtValue *x;
  uint64_t outer, D, inner;
} SliceCtx;

/* Slices i and j along the axis compared lexicographically (outer index, then inner). */
static int slice_cmp(const void *vctx, int64_t i, int64_t j) {
  const SliceCtx *s = vctx;
  for (uint64_t q = 0; q < s->outer; q++)
    for (uint64_t t = 0; t < s->inner; t++) {
      int r = ks_cmp_elem(s->x, (q * s->D + (uint64_t)i) * s->inner + t, s->x, (q * s->D + (uint64_t)j) * s->inner + t);
      if (r) return r;
    }
  return 0;
}

static int by_value(const void *vctx, int64_t a, int64_t b) {
  const int64_t *first = vctx;
  return first[a] < first[b] ? -1 : first[a] > first[b];
}

int rt_k_Unique(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  bool sorted = rt_attr_int(c, "sorted", 1) != 0;
  const Attr *aa = rt_attr(c, "axis");
  SliceCtx s = {x, 1, x->numel, 1};
  int ax = -1;
  if (aa) {
    if (!rt_axis(c, rt_attr_int(c, "axis", 0), x->rank, &ax)) return -1;
    s.outer = prod(x->dims, 0, ax);
    s.D = (uint64_t)x->dims[ax];
    s.inner = prod(x->dims, ax + 1, x->rank);
  }
  int64_t N = (int64_t)s.D;
  int64_t *ord = malloc((size_t)(3 * N + 1) * sizeof *ord);
  if (!ord) return rt_error(c, "out of memory");
  int64_t *grp = ord + N, *first = grp + N; /* grp[i]: group of item i; first[g]: its first item */
  for (int64_t i = 0; i < N; i++) ord[i] = i;
  ks_sort(ord, N, slice_cmp, &s);
  int64_t U = 0;
  for (int64_t k = 0; k < N; k++) {
    if (k == 0 || slice_cmp(&s, ord[k - 1], ord[k])) first[U++] = ord[k];
    grp[ord[k]] = U - 1;
  }
  /* position of each group in the output */
  int64_t *gord = malloc((size_t)(2 * U + 1) * sizeof *gord), *gpos = gord + U;
  if (!gord) {
    free(ord);
    return rt_error(c, "out of memory");
  }
  for (int64_t g = 0; g < U; g++) gord[g] = g;
  if (!sorted) ks_sort(gord, U, by_value, first);
  for (int64_t k = 0; k < U; k++) gpos[gord[k]] = k;
  int rc = -1;
  int64_t d[RT_MAX_RANK];
  int r = 1;
  if (aa) {
    memcpy(d, x->dims, sizeof d);
    d[ax] = U;
    r = x->rank;
  } else {
    d[0] = U;
  }
  RtValue *y = rt_out(c, 0, x->elem, r, d);
  if (!y) goto done;
  for (int64_t k = 0; k < U; k++) {
    uint64_t src = (uint64_t)first[gord[k]];
    for (uint64_t q = 0; q < s.outer; q++)
      ks_copyn(y, (q * (uint64_t)U + (uint64_t)k) * s.inner, x, (q * s.D + src) * s.inner, s.inner);
  }
  if (c->n_out > 1 && c->node->outputs[1]) {
    RtValue *o = rt_out(c, 1, ELEM_INT64, 1, &U);
    if (!o) goto done;
    for (int64_t k = 0; k < U; k++) ((int64_t *)o->data)[k] = first[gord[k]];
  }
  if (c->n_out > 2 && c->node->outputs[2]) {
    RtValue *o = rt_out(c, 2, ELEM_INT64, 1, &N);
    if (!o) goto done;
    for (int64_t i = 0; i < N; i++) ((int64_t *)o->data)[i] = gpos[grp[i]];
  }
  if (c->n_out > 3 && c->node->outputs[3]) {
    RtValue *o = rt_out(c, 3, ELEM_INT64, 1, &U);
    if (!o) goto done;
    for (int64_t i = 0; i < N; i++) ((int64_t *)o->data)[gpos[grp[i]]]++;
  }
  rc = 0;
done:
  free(ord);
  free(gord);
  return rc;
}

/* ------------------------------------------------------------------ TopK */

typedef struct RowCtx {
  const RtValue *x;
  uint64_t base, stride;
  bool largest;
} RowCtx;

/* NaN orders above every number (numpy's lexsort), so largest=1 picks it first; ties keep
 * the lower index first (the sort is stable). */
static int row_cmp(const void *vctx, int64_t a, int64_t b) {
  const RowCtx *s = vctx;
  uint64_t i = s->base + (uint64_t)a * s->stride, j = s->base + (uint64_t)b * s->stride;
  int r = ks_cmp_elem(s->x, i, s->x, j);
  return s->largest ? -r : r;
}

int rt_k_TopK(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  if (x->elem == ELEM_STRING) return rt_error(c, "strings are not supported");
  int64_t k;
  if (c->op->since < 10) {
    k = rt_attr_int(c, "k", -1);
  } else {
    RtValue *kv = rt_in_tensor(c, 1);
    if (!kv) return -1;
    if (!is_int_tensor(kv) || kv->numel != 1) return rt_error(c, "K must hold one integer");
    k = rt_get_i64(kv, 0);
  }
  int ax;
  if (!rt_axis(c, rt_attr_int(c, "axis", -1), x->rank, &ax)) return -1;
  int64_t D = x->dims[ax];
  if (k < 0 || k > D) return rt_error(c, "k %lld is out of range [0, %lld]", (long long)k, (long long)D);
  bool largest = c->op->since < 11 || rt_attr_int(c, "largest", 1) != 0;
  int64_t d[RT_MAX_RANK];
  memcpy(d, x->dims, sizeof d);
  d[ax] = k;
  RtValue *v = rt_out(c, 0, x->elem, x->rank, d), *ix = rt_out(c, 1, ELEM_INT64, x->rank, d);
  if (!v || !ix) return -1;
  uint64_t outer = prod(x->dims, 0, ax), inner = prod(x->dims, ax + 1, x->rank);
  int64_t *ord = malloc((size_t)(D + 1) * sizeof *ord);
  if (!ord) return rt_error(c, "out of memory");
  for (uint64_t q = 0; q < outer; q++)
    for (uint64_t t = 0; t < inner; t++) {
      RowCtx s = {x, q * (uint64_t)D * inner + t, inner, largest};
      for (int64_t i = 0; i < D; i++) ord[i] = i;
      ks_sort(ord, D, row_cmp, &s);
      for (int64_t i = 0; i < k; i++) {
        uint64_t at = (q * (uint64_t)k + (uint64_t)i) * inner + t;
        ks_copy1(v, at, x, s.base + (uint64_t)ord[i] * inner);
        ((int64_t *)ix->data)[at] = ord[i];
      }
    }
  free(ord);
  return 0;
}

/* ------------------------------------------------------------------ ReverseSequence */

int rt_k_ReverseSequence(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0), *lens = rt_in_tensor(c, 1);
  if (!x || !lens) return -1;
  if (!is_int_tensor(lens)) return rt_error(c, "sequence_lens must be integers");
  int64_t ta = rt_attr_int(c, "time_axis", 0), ba = rt_attr_int(c, "batch_axis", 1);
  if (x->rank < 2 || ta < 0 || ta > 1 || ba < 0 || ba > 1 || ta == ba) return rt_error(c, "bad time_axis/batch_axis");
  int64_t T = x->dims[ta], B = x->dims[ba];
  if (lens->numel != (uint64_t)B) return rt_error(c, "sequence_lens must have one entry per batch");
  RtValue *o = rt_tensor_copy(x);
  if (!o) return rt_error(c, "cannot copy the input");
  rt_set_out(c, 0, o);
  uint64_t inner = prod(x->dims, 2, x->rank);
  for (int64_t b = 0; b < B; b++) {
    int64_t L = rt_get_i64(lens, (uint64_t)b);
    if (L < 0 || L > T) return rt_error(c, "sequence length %lld is out of range", (long long)L);
    for (int64_t t = 0; t < L; t++) {
      int64_t s = L - 1 - t;
      uint64_t to = (uint64_t)(ta == 0 ? t * B + b : b * T + t), from = (uint64_t)(ta == 0 ? s * B + b : b * T + s);
      ks_copyn(o, to * inner, x, from * inner, inner);
    }
  }
  return 0;
}
