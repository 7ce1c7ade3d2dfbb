/* op_shape.c - data movement for the C backend. Every operator here is one "remap": each
 * output element copies the source element at base + sum over dims of a per-dim offset,
 * where a dim's offset is affine (index * stride) or read from a small constant table (Tile,
 * Pad; a table entry below zero takes the fill value). Shapes are static, so the map is
 * computed at compile time (with runtime/kern/remap.c, as the interpreter builds its own
 * tables) and the loop is specialized: size-1 dims dropped, contiguous dims merged, rows
 * split by tid. Gather and GatherElements read indices at run time. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern.h"
#include "ops.h"

#define FILL_ENTRY (-((int64_t)1 << 60)) /* table entry: takes the fill value */

typedef struct Remap {
  int rank;
  int64_t dims[2 * OPS_MAX_RANK + 2];
  int64_t st[2 * OPS_MAX_RANK + 2];  /* source stride per dim (affine dims) */
  int64_t ost[2 * OPS_MAX_RANK + 2]; /* destination stride per dim */
  int64_t *tab[2 * OPS_MAX_RANK + 2]; /* malloc'd table of dims[d] entries, or NULL */
  int64_t base, obase;               /* source and destination offsets */
} Remap;

static void remap_init(Remap *m, int rank, const int64_t *dims) {
  memset(m, 0, sizeof *m);
  m->rank = rank;
  memcpy(m->dims, dims, sizeof(int64_t) * (size_t)rank);
  ops_strides(rank, dims, m->ost);
}

static void remap_free(Remap *m) {
  for (int d = 0; d < m->rank; d++) free(m->tab[d]);
}

static int64_t *remap_table(Remap *m, int d) {
  m->tab[d] = calloc((size_t)(m->dims[d] ? m->dims[d] : 1), sizeof(int64_t));
  if (!m->tab[d]) abort();
  return m->tab[d];
}

static int64_t numel_of(int rank, const int64_t *dims) {
  int64_t k = 1;
  for (int d = 0; d < rank; d++) k *= dims[d];
  return k;
}

/* Write the copy dst[obase + sum i_d*ost_d] = src[base + sum off_d(i_d)]; `fill` is the C
 * expression of the fill value (needed when a table holds FILL_ENTRY), or NULL. */
static void remap_emit(CEmit *e, Remap *m, const char *ctype, const char *src, const char *dst,
                       const char *fill) {
  /* drop size-1 dims, fold their offsets into the bases */
  Remap k;
  memset(&k, 0, sizeof k);
  k.base = m->base;
  k.obase = m->obase;
  bool has_fill = false;
  for (int d = 0; d < m->rank; d++) {
    if (m->dims[d] == 0) return; /* empty: nothing to copy */
    if (m->tab[d])
      for (int64_t j = 0; j < m->dims[d]; j++) has_fill = has_fill || m->tab[d][j] < 0;
    if (m->dims[d] == 1 && (!m->tab[d] || m->tab[d][0] >= 0)) {
      k.base += m->tab[d] ? m->tab[d][0] : 0;
      continue;
    }
    int r = k.rank;
    /* merge into the previous (outer) dim when both are affine and contiguous */
    if (r > 0 && !m->tab[d] && !k.tab[r - 1] && k.st[r - 1] == m->st[d] * m->dims[d] &&
        k.ost[r - 1] == m->ost[d] * m->dims[d]) {
      k.dims[r - 1] *= m->dims[d];
      k.st[r - 1] = m->st[d];
      k.ost[r - 1] = m->ost[d];
      continue;
    }
    k.dims[r] = m->dims[d];
    k.st[r] = m->st[d];
    k.ost[r] = m->ost[d];
    k.tab[r] = m->tab[d];
    k.rank++;
  }
  /* tables at file scope */
  const char *tn[2 * OPS_MAX_RANK + 2] = {0};
  for (int d = 0; d < k.rank; d++) {
    if (!k.tab[d]) continue;
    tn[d] = ce_fresh(e, "remap");
    ce_file_printf(e, "static const int64_t %s[%" PRId64 "] = {", tn[d], k.dims[d]);
    for (int64_t j = 0; j < k.dims[d]; j++)
      ce_file_printf(e, "%s%" PRId64, j ? ", " : "", k.tab[d][j] < 0 ? FILL_ENTRY : k.tab[d][j]);
    ce_file_printf(e, "};\n");
  }
  int last = k.rank - 1;
  int64_t len = k.rank ? k.dims[last] : 1, rows = numel_of(k.rank, k.dims) / (len ? len : 1);
  ce_printf(e, "{\n");
  ce_printf(e, "const %s *s = %s;\n%s *o = %s;\n", ctype, src, ctype, dst);
  ops_split(e, rows);
  ce_printf(e, "for (int64_t r = lo; r < hi; r++) {\n");
  ce_printf(e, "  const int64_t sb = %" PRId64, k.base);
  int64_t q = 1;
  for (int d = last - 1; d >= 0; d--) {
    char idx[96];
    if (d == 0)
      snprintf(idx, sizeof idx, "(r / %" PRId64 ")", q);
    else
      snprintf(idx, sizeof idx, "(r / %" PRId64 " %% %" PRId64 ")", q, k.dims[d]);
    if (tn[d])
      ce_printf(e, " + %s[%s]", tn[d], idx);
    else if (k.st[d])
      ce_printf(e, " + %s * %" PRId64, idx, k.st[d]);
    q *= k.dims[d];
  }
  ce_printf(e, ";\n  const int64_t ob = %" PRId64, k.obase);
  q = 1;
  for (int d = last - 1; d >= 0; d--) {
    if (d == 0)
      ce_printf(e, " + r / %" PRId64 " * %" PRId64, q, k.ost[d]);
    else
      ce_printf(e, " + r / %" PRId64 " %% %" PRId64 " * %" PRId64, q, k.dims[d], k.ost[d]);
    q *= k.dims[d];
  }
  ce_printf(e, ";\n");
  char sidx[96], oidx[96];
  if (k.rank == 0)
    snprintf(sidx, sizeof sidx, "sb");
  else if (tn[last])
    snprintf(sidx, sizeof sidx, "sb + %s[j]", tn[last]);
  else
    snprintf(sidx, sizeof sidx, "sb + j * %" PRId64, k.st[last]);
  snprintf(oidx, sizeof oidx, "ob + j * %" PRId64, k.rank ? k.ost[last] : 0);
  ce_printf(e, "  for (int64_t j = 0; j < %" PRId64 "; j++) {\n", len);
  if (has_fill && fill)
    ce_printf(e, "    const int64_t si = %s;\n    o[%s] = si < 0 ? %s : s[si];\n", sidx, oidx, fill);
  else
    ce_printf(e, "    o[%s] = s[%s];\n", oidx, sidx);
  ce_printf(e, "  }\n}\n}\n");
}

static bool plain_io(CEmit *e, const Node *n) {
  (void)e;
  if (n->n_inputs < 1 || !n->inputs[0] || n->n_outputs < 1 || !n->outputs[0]) return false;
  return ops_is_plain(ce_elem(n->inputs[0])) && ce_rank(n->inputs[0]) <= OPS_MAX_RANK &&
         ce_rank(n->outputs[0]) <= OPS_MAX_RANK;
}

/* Copy numel elements src -> dst (skipped when the planner put both in one place). */
static void emit_memcpy(CEmit *e, const Value *src, const char *dst) {
  const char *s = ce_ptr(e, src);
  int64_t cnt = ce_numel(src);
  if (!strcmp(s, dst) || cnt == 0) return;
  ce_printf(e, "{\n");
  ops_split(e, cnt);
  ce_printf(e, "if (hi > lo) memcpy(%s + lo, %s + lo, (size_t)(hi - lo) * sizeof *%s);\n", dst, s,
            s);
  ce_printf(e, "}\n");
}

int ops_emit_copy(CEmit *e, const Node *n) {
  if (!plain_io(e, n)) return ce_unsupported(e, n, "element type or rank");
  if (!strcmp(n->op->family, "Dropout")) {
    const Value *tm = ops_in(n, 2);
    double train = 0;
    if (tm && !ops_const_f64(n, 2, 0, &train))
      return ce_unsupported(e, n, "training_mode is not a compile-time constant");
    if (train != 0 || (n->op->since < 7 && ir_attr_int(n, "is_test", 0) == 0))
      return ce_unsupported(e, n, "training mode (random) is not compiled");
    if (n->n_outputs > 1 && n->outputs[1] && ce_numel(n->outputs[1])) {
      ce_printf(e, "{\n");
      ops_split(e, ce_numel(n->outputs[1]));
      ce_printf(e, "for (int64_t i = lo; i < hi; i++) (%s)[i] = 1;\n}\n", ce_ptr(e, n->outputs[1]));
    }
  }
  if (ce_numel(n->inputs[0]) != ce_numel(n->outputs[0]))
    return ce_unsupported(e, n, "input and output sizes differ");
  emit_memcpy(e, n->inputs[0], ce_ptr(e, n->outputs[0]));
  return 0;
}

int ops_emit_transpose(CEmit *e, const Node *n) {
  if (!plain_io(e, n)) return ce_unsupported(e, n, "element type or rank");
  const Value *x = n->inputs[0];
  int r = ce_rank(x);
  int64_t perm[OPS_MAX_RANK], xs[OPS_MAX_RANK];
  size_t np = 0;
  const int64_t *p = ir_attr_ints(n, "perm", &np);
  if (p && (int)np != r) return ce_unsupported(e, n, "perm has %zu entries for rank %d", np, r);
  for (int d = 0; d < r; d++) perm[d] = p ? p[d] : r - 1 - d;
  ops_strides(r, ce_dims(x), xs);
  Remap m;
  remap_init(&m, r, ce_dims(n->outputs[0]));
  for (int d = 0; d < r; d++) {
    if (perm[d] < 0 || perm[d] >= r) return ce_unsupported(e, n, "bad perm");
    m.st[d] = xs[perm[d]];
  }
  remap_emit(e, &m, be_ctype(ce_elem(x)), ce_ptr(e, x), ce_ptr(e, n->outputs[0]), NULL);
  return 0;
}

/* Slice's lists: attributes before opset 10, constant inputs after. */
static bool slice_arg(const Node *n, bool attr, const char *name, int in, int64_t *out, int *cnt,
                      bool *given) {
  *given = false;
  *cnt = 0;
  if (attr) {
    size_t k;
    const int64_t *a = ir_attr_ints(n, name, &k);
    if (!a) return true;
    if (k > OPS_MAX_RANK) return false;
    memcpy(out, a, k * sizeof *a);
    *cnt = (int)k;
    *given = true;
    return true;
  }
  if (!ops_in(n, in)) return true;
  *given = true;
  return ops_const_ints(n, in, out, OPS_MAX_RANK, cnt);
}

int ops_emit_slice(CEmit *e, const Node *n) {
  if (!plain_io(e, n)) return ce_unsupported(e, n, "element type or rank");
  const Value *x = n->inputs[0];
  int r = ce_rank(x);
  bool attr = n->op->since < 10, g1, g2, g3, g4 = false;
  int64_t starts[OPS_MAX_RANK], ends[OPS_MAX_RANK], axes[OPS_MAX_RANK], steps[OPS_MAX_RANK];
  int ns, ne, na, nst = 0;
  if (!slice_arg(n, attr, "starts", 1, starts, &ns, &g1) ||
      !slice_arg(n, attr, "ends", 2, ends, &ne, &g2) ||
      !slice_arg(n, attr, "axes", 3, axes, &na, &g3) ||
      (!attr && !slice_arg(n, false, "steps", 4, steps, &nst, &g4)))
    return ce_unsupported(e, n, "starts, ends, axes and steps must be compile-time constants");
  if (!g1 || !g2 || ns != ne || (g3 && na != ns) || (g4 && nst != ns))
    return ce_unsupported(e, n, "inconsistent starts/ends/axes/steps");
  int64_t xs[OPS_MAX_RANK];
  ops_strides(r, ce_dims(x), xs);
  Remap m;
  remap_init(&m, r, ce_dims(n->outputs[0]));
  for (int d = 0; d < r; d++) m.st[d] = xs[d];
  for (int k = 0; k < ns; k++) {
    int a;
    int64_t step = g4 ? steps[k] : 1, first;
    if (!ops_axis(g3 ? axes[k] : k, r, &a) || step == 0) return ce_unsupported(e, n, "bad axis or step");
    int64_t cnt = effc_slice_range(ce_dims(x)[a], starts[k], ends[k], step, &first);
    if (cnt != m.dims[a]) return ce_unsupported(e, n, "output shape disagrees with the slice");
    if (cnt) m.base += first * xs[a];
    m.st[a] = xs[a] * step;
  }
  remap_emit(e, &m, be_ctype(ce_elem(x)), ce_ptr(e, x), ce_ptr(e, n->outputs[0]), NULL);
  return 0;
}

/* Source strides of x broadcast to the output's dims (0 where x has 1). */
static void bcast_strides(const Value *x, int r, const int64_t *od, int64_t *st) {
  int rx = ce_rank(x);
  int64_t xs[OPS_MAX_RANK];
  ops_strides(rx, ce_dims(x), xs);
  for (int d = 0; d < r; d++) {
    int k = d - (r - rx);
    st[d] = k >= 0 && ce_dims(x)[k] == od[d] && od[d] != 1 ? xs[k] : 0;
  }
}

int ops_emit_expand(CEmit *e, const Node *n) {
  if (!plain_io(e, n)) return ce_unsupported(e, n, "element type or rank");
  const Value *x = n->inputs[0], *y = n->outputs[0];
  Remap m;
  remap_init(&m, ce_rank(y), ce_dims(y));
  bcast_strides(x, ce_rank(y), ce_dims(y), m.st);
  remap_emit(e, &m, be_ctype(ce_elem(x)), ce_ptr(e, x), ce_ptr(e, y), NULL);
  return 0;
}

int ops_emit_tile(CEmit *e, const Node *n) {
  if (!plain_io(e, n)) return ce_unsupported(e, n, "element type or rank");
  const Value *x = n->inputs[0], *y = n->outputs[0];
  int r = ce_rank(x);
  if (ce_rank(y) != r) return ce_unsupported(e, n, "rank changes");
  int64_t xs[OPS_MAX_RANK];
  ops_strides(r, ce_dims(x), xs);
  Remap m;
  remap_init(&m, r, ce_dims(y));
  for (int d = 0; d < r; d++) {
    int64_t *t = remap_table(&m, d), xd = ce_dims(x)[d];
    for (int64_t j = 0; j < m.dims[d]; j++) t[j] = xd ? (j % xd) * xs[d] : 0;
  }
  remap_emit(e, &m, be_ctype(ce_elem(x)), ce_ptr(e, x), ce_ptr(e, y), NULL);
  remap_free(&m);
  return 0;
}

int ops_emit_pad(CEmit *e, const Node *n) {
  if (!plain_io(e, n)) return ce_unsupported(e, n, "element type or rank");
  const Value *x = n->inputs[0], *y = n->outputs[0];
  ElemType t = ce_elem(x);
  int r = ce_rank(x);
  const char *ms = ir_attr_string(n, "mode", "constant");
  int mode = !strcmp(ms, "constant") ? EFFC_PAD_CONSTANT
             : !strcmp(ms, "reflect") ? EFFC_PAD_REFLECT
             : !strcmp(ms, "edge")    ? EFFC_PAD_EDGE
             : !strcmp(ms, "wrap")    ? EFFC_PAD_WRAP
                                      : -1;
  if (mode < 0) return ce_unsupported(e, n, "mode '%s'", ms);
  int64_t pads[2 * OPS_MAX_RANK], axes[OPS_MAX_RANK];
  int np = 0, na = r;
  if (n->op->since < 11) {
    size_t k;
    const int64_t *p = ir_attr_ints(n, n->op->since < 2 ? "paddings" : "pads", &k);
    if (!p || k > 2 * OPS_MAX_RANK) return ce_unsupported(e, n, "no pads");
    memcpy(pads, p, k * sizeof *p);
    np = (int)k;
  } else if (!ops_const_ints(n, 1, pads, 2 * OPS_MAX_RANK, &np)) {
    return ce_unsupported(e, n, "pads must be a compile-time constant");
  }
  if (n->op->since >= 18 && ops_in(n, 3)) {
    if (!ops_const_ints(n, 3, axes, OPS_MAX_RANK, &na))
      return ce_unsupported(e, n, "axes must be a compile-time constant");
  } else {
    for (int i = 0; i < r; i++) axes[i] = i;
  }
  if (np != 2 * na) return ce_unsupported(e, n, "%d pads for %d axes", np, na);
  int64_t pb[OPS_MAX_RANK] = {0}, pe[OPS_MAX_RANK] = {0};
  for (int k = 0; k < na; k++) {
    int a;
    if (!ops_axis(axes[k], r, &a)) return ce_unsupported(e, n, "bad axis");
    pb[a] = pads[k];
    pe[a] = pads[k + na];
  }
  /* the fill value, as a C literal of T */
  char fill[96];
  double fv = 0;
  if (n->op->since < 11) {
    fv = ir_attr_float(n, "value", 0);
    ops_lit(fill, sizeof fill, t, fv);
  } else if (ops_in(n, 2)) {
    const Tensor *cv = ce_const(n->inputs[2]);
    uint64_t cnt = 0;
    if (!cv || !ir_tensor_numel(cv, &cnt))
      return ce_unsupported(e, n, "constant_value must be a compile-time constant");
    if (cnt && ops_is_real(t))
      ops_lit(fill, sizeof fill, t, ir_elem(t)->to_f64(cv->data, 0));
    else if (cnt && (ops_is_int(t) || t == ELEM_BOOL))
      ops_lit_i(fill, sizeof fill, t, ops_tensor_i64(cv, 0));
    else if (cnt)
      return ce_unsupported(e, n, "constant_value of type %s", ir_elem(t)->name);
    else
      snprintf(fill, sizeof fill, "0");
  } else {
    snprintf(fill, sizeof fill, "0");
  }
  if (!ops_is_real(t) && !ops_is_int(t) && t != ELEM_BOOL && mode == EFFC_PAD_CONSTANT &&
      n->op->since < 11)
    return ce_unsupported(e, n, "element type %s", ir_elem(t)->name);
  int64_t xs[OPS_MAX_RANK];
  ops_strides(r, ce_dims(x), xs);
  Remap m;
  remap_init(&m, r, ce_dims(y));
  for (int d = 0; d < r; d++) {
    int64_t b = pb[d] > 0 ? pb[d] : 0, lo = pb[d] < 0 ? -pb[d] : 0;
    int64_t mm = ce_dims(x)[d] - lo - (pe[d] < 0 ? -pe[d] : 0);
    if (m.dims[d] != ce_dims(x)[d] + pb[d] + pe[d] || mm < 0 ||
        (mode != EFFC_PAD_CONSTANT && mm == 0 && m.dims[d] > 0)) {
      remap_free(&m);
      return ce_unsupported(e, n, "pads do not fit dimension %d", d);
    }
    int64_t *tb = remap_table(&m, d);
    for (int64_t j = 0; j < m.dims[d]; j++) {
      int64_t s = effc_pad_src(j - b, mm, mode);
      tb[j] = s < 0 ? FILL_ENTRY : (lo + s) * xs[d];
    }
  }
  remap_emit(e, &m, be_ctype(t), ce_ptr(e, x), ce_ptr(e, y), fill);
  remap_free(&m);
  return 0;
}

/* DepthToSpace / SpaceToDepth: a transposed view of a 6-d reshape. */
int ops_emit_d2s(CEmit *e, const Node *n) {
  if (!plain_io(e, n) || ce_rank(n->inputs[0]) != 4) return ce_unsupported(e, n, "needs a 4-d input");
  const Value *x = n->inputs[0], *y = n->outputs[0];
  const int64_t *xd = ce_dims(x);
  int64_t b = ir_attr_int(n, "blocksize", 0);
  if (b <= 0) return ce_unsupported(e, n, "blocksize");
  int64_t N = xd[0], C = xd[1], H = xd[2], W = xd[3];
  int64_t od[6], vs[6]; /* output view dims and, per view dim, the source stride */
  if (!strcmp(n->op->family, "DepthToSpace")) {
    if (C % (b * b)) return ce_unsupported(e, n, "channels not divisible");
    int64_t c = C / (b * b);
    bool crd = !strcmp(ir_attr_string(n, "mode", "DCR"), "CRD");
    /* output view [N, c, H, b1, W, b2]; source (DCR) [N, b1, b2, c, H, W] or (CRD)
     * [N, c, b1, b2, H, W] */
    int64_t sc = crd ? b * b * H * W : H * W, sb1 = crd ? b * H * W : b * c * H * W,
            sb2 = crd ? H * W : c * H * W;
    int64_t d6[6] = {N, c, H, b, W, b}, s6[6] = {C * H * W, sc, W, sb1, 1, sb2};
    memcpy(od, d6, sizeof od);
    memcpy(vs, s6, sizeof vs);
  } else {
    if (H % b || W % b) return ce_unsupported(e, n, "spatial dims not divisible");
    int64_t h = H / b, w = W / b;
    /* output view [N, b1, b2, C, h, w]; source [N, C, h, b1, w, b2] */
    int64_t d6[6] = {N, b, b, C, h, w}, s6[6] = {C * H * W, W, 1, H * W, b * W, b};
    memcpy(od, d6, sizeof od);
    memcpy(vs, s6, sizeof vs);
  }
  if (numel_of(6, od) != ce_numel(y)) return ce_unsupported(e, n, "output shape");
  Remap m;
  remap_init(&m, 6, od);
  memcpy(m.st, vs, sizeof vs);
  remap_emit(e, &m, be_ctype(ce_elem(x)), ce_ptr(e, x), ce_ptr(e, y), NULL);
  return 0;
}

int ops_emit_concat(CEmit *e, const Node *n) {
  const Value *y = n->outputs[0];
  int r = ce_rank(y), a;
  if (n->n_outputs < 1 || !y || !ops_is_plain(ce_elem(y)) || r > OPS_MAX_RANK)
    return ce_unsupported(e, n, "element type or rank");
  if (!ops_axis(ir_attr_int(n, "axis", n->op->since < 4 ? 1 : 0), r, &a))
    return ce_unsupported(e, n, "axis");
  int64_t ys[OPS_MAX_RANK], at = 0;
  ops_strides(r, ce_dims(y), ys);
  for (int i = 0; i < n->n_inputs; i++) {
    const Value *x = n->inputs[i];
    if (!x) continue;
    if (ce_rank(x) != r || ce_elem(x) != ce_elem(y)) return ce_unsupported(e, n, "input %d", i);
    Remap m;
    remap_init(&m, r, ce_dims(x));
    ops_strides(r, ce_dims(x), m.st);
    memcpy(m.ost, ys, sizeof(int64_t) * (size_t)r);
    m.obase = at * ys[a];
    remap_emit(e, &m, be_ctype(ce_elem(y)), ce_ptr(e, x), ce_ptr(e, y), NULL);
    at += ce_dims(x)[a];
  }
  return 0;
}

int ops_emit_split(CEmit *e, const Node *n) {
  if (!plain_io(e, n)) return ce_unsupported(e, n, "element type or rank");
  const Value *x = n->inputs[0];
  int r = ce_rank(x), a;
  if (!ops_axis(ir_attr_int(n, "axis", 0), r, &a)) return ce_unsupported(e, n, "axis");
  int64_t xs[OPS_MAX_RANK], at = 0;
  ops_strides(r, ce_dims(x), xs);
  for (int i = 0; i < n->n_outputs; i++) {
    const Value *y = n->outputs[i];
    if (!y) continue; /* an unused output still takes its share: sizes come from shapes */
    if (ce_rank(y) != r) return ce_unsupported(e, n, "output %d", i);
  }
  for (int i = 0; i < n->n_outputs; i++) {
    const Value *y = n->outputs[i];
    if (!y) return ce_unsupported(e, n, "output %d is unused (its size is unknown)", i);
    Remap m;
    remap_init(&m, r, ce_dims(y));
    memcpy(m.st, xs, sizeof(int64_t) * (size_t)r);
    m.base = at * xs[a];
    remap_emit(e, &m, be_ctype(ce_elem(x)), ce_ptr(e, x), ce_ptr(e, y), NULL);
    at += ce_dims(y)[a];
  }
  if (at != ce_dims(x)[a]) return ce_unsupported(e, n, "split sizes do not cover the axis");
  return 0;
}

/* Gather: out[pre, k..., post] = data[pre, idx[k], post]; indices normalized at run time
 * (out-of-range indices read element 0 instead of outside the buffer). */
int ops_emit_gather(CEmit *e, const Node *n) {
  if (!plain_io(e, n) || n->n_inputs < 2 || !n->inputs[1])
    return ce_unsupported(e, n, "element type or rank");
  const Value *x = n->inputs[0], *ind = n->inputs[1], *y = n->outputs[0];
  ElemType it = ce_elem(ind);
  if (it != ELEM_INT64 && it != ELEM_INT32) return ce_unsupported(e, n, "index type");
  int r = ce_rank(x), a;
  if (!ops_axis(ir_attr_int(n, "axis", 0), r, &a)) return ce_unsupported(e, n, "axis");
  int64_t pre = numel_of(a, ce_dims(x)), D = ce_dims(x)[a];
  int64_t post = numel_of(r - a - 1, ce_dims(x) + a + 1), K = ce_numel(ind);
  if (ce_numel(y) == 0) return 0;
  ce_printf(e, "{\n");
  ce_printf(e, "const %s *s = %s;\n%s *o = %s;\nconst %s *ix = %s;\n", be_ctype(ce_elem(x)),
            ce_ptr(e, x), be_ctype(ce_elem(x)), ce_ptr(e, y), be_ctype(it), ce_ptr(e, ind));
  ops_split(e, pre * K);
  ce_printf(e, "for (int64_t r = lo; r < hi; r++) {\n");
  ce_printf(e, "  int64_t k = (int64_t)ix[r %% %" PRId64 "];\n", K);
  ce_printf(e, "  if (k < 0) k += %" PRId64 ";\n  if (k < 0 || k >= %" PRId64 ") k = 0;\n", D, D);
  ce_printf(e, "  memcpy(o + r * %" PRId64 ", s + (r / %" PRId64 " * %" PRId64 " + k) * %" PRId64
            ", %" PRId64 " * sizeof *s);\n}\n}\n",
            post, K, D, post, post);
  return 0;
}

/* GatherElements: out[i] = data[i with coordinate `axis` replaced by idx[i]]. */
int ops_emit_gather_elements(CEmit *e, const Node *n) {
  if (!plain_io(e, n) || n->n_inputs < 2 || !n->inputs[1])
    return ce_unsupported(e, n, "element type or rank");
  const Value *x = n->inputs[0], *ind = n->inputs[1], *y = n->outputs[0];
  ElemType it = ce_elem(ind);
  int r = ce_rank(x), a;
  if ((it != ELEM_INT64 && it != ELEM_INT32) || ce_rank(ind) != r)
    return ce_unsupported(e, n, "indices");
  if (!ops_axis(ir_attr_int(n, "axis", 0), r, &a)) return ce_unsupported(e, n, "axis");
  if (ce_numel(y) == 0) return 0;
  int64_t xs[OPS_MAX_RANK], os[OPS_MAX_RANK];
  ops_strides(r, ce_dims(x), xs);
  ops_strides(r, ce_dims(y), os);
  const char *ct = be_ctype(ce_elem(x));
  ce_printf(e, "{\n");
  ce_printf(e, "const %s *s = %s;\n%s *o = %s;\nconst %s *ix = %s;\n", ct, ce_ptr(e, x), ct,
            ce_ptr(e, y), be_ctype(it), ce_ptr(e, ind));
  ops_split(e, ce_numel(y));
  ce_printf(e, "for (int64_t i = lo; i < hi; i++) {\n");
  ce_printf(e, "  int64_t k = (int64_t)ix[i];\n  if (k < 0) k += %" PRId64 ";\n", ce_dims(x)[a]);
  ce_printf(e, "  if (k < 0 || k >= %" PRId64 ") k = 0;\n", ce_dims(x)[a]);
  ce_printf(e, "  o[i] = s[k * %" PRId64, xs[a]);
  for (int d = 0; d < r; d++)
    if (d != a) ce_printf(e, " + i / %" PRId64 " %% %" PRId64 " * %" PRId64, os[d], ce_dims(y)[d], xs[d]);
  ce_printf(e, "];\n}\n}\n");
  return 0;
}

/* Outputs known at compile time from static shapes: Shape, Size, ConstantOfShape. */
int ops_emit_const_out(CEmit *e, const Node *n) {
  const char *fam = n->op->family;
  const Value *y = n->outputs[0];
  if (!y) return 0;
  int64_t cnt = ce_numel(y);
  if (!strcmp(fam, "ConstantOfShape")) {
    ElemType t = ce_elem(y);
    if (!ops_is_plain(t)) return ce_unsupported(e, n, "element type %s", ir_elem(t)->name);
    const Attr *va = ir_node_attr(n, "value");
    uint8_t zero[8] = {0};
    const void *val = zero;
    if (va && va->type == ATTR_TENSOR && va->t && va->t->has_data) {
      if (va->t->elem != t) return ce_unsupported(e, n, "value type");
      val = va->t->data;
    }
    if (cnt == 0) return 0;
    const char *w = ce_weight(e, "cos_value", t, val, (size_t)ir_elem(t)->bits / 8);
    ce_printf(e, "{\n");
    ops_split(e, cnt);
    ce_printf(e, "for (int64_t i = lo; i < hi; i++) (%s)[i] = (%s)[0];\n}\n", ce_ptr(e, y), w);
    return 0;
  }
  if (!n->inputs[0] || ce_elem(y) != ELEM_INT64) return ce_unsupported(e, n, "input");
  const Value *x = n->inputs[0];
  int r = ce_rank(x);
  int64_t vals[OPS_MAX_RANK];
  int k = 0;
  if (!strcmp(fam, "Size")) {
    vals[k++] = ce_numel(x);
  } else {
    int64_t s = n->op->since >= 15 ? ir_attr_int(n, "start", 0) : 0;
    int64_t en = n->op->since >= 15 && ir_node_attr(n, "end") ? ir_attr_int(n, "end", r) : r;
    if (s < 0) s += r;
    if (en < 0) en += r;
    s = s < 0 ? 0 : s > r ? r : s;
    en = en < 0 ? 0 : en > r ? r : en;
    for (int64_t d = s; d < en; d++) vals[k++] = ce_dims(x)[d];
  }
  if (k != cnt) return ce_unsupported(e, n, "output shape");
  if (k == 0) return 0;
  const char *w = ce_weight(e, "shape", ELEM_INT64, vals, sizeof(int64_t) * (size_t)k);
  ce_printf(e, "if (tid == 0) memcpy(%s, %s, %d * sizeof(int64_t));\n", ce_ptr(e, y), w, k);
  return 0;
}

/* ------------------------------------------------------------------ Trilu, Range */

int ops_emit_trilu(CEmit *e, const Node *n) {
  if (!plain_io(e, n) || ce_rank(n->inputs[0]) < 2) return ce_unsupported(e, n, "rank below 2");
  const Value *x = n->inputs[0], *y = n->outputs[0], *kv = ops_in(n, 1);
  int r = ce_rank(x);
  int64_t R = ce_dims(x)[r - 2], C = ce_dims(x)[r - 1], kc[1] = {0};
  int nk = 0;
  bool rt_k = kv && !ops_const_ints(n, 1, kc, 1, &nk);
  if (rt_k && (ce_numel(kv) != 1 || (ce_elem(kv) != ELEM_INT64 && ce_elem(kv) != ELEM_INT32)))
    return ce_unsupported(e, n, "k must be an integer scalar");
  if (ce_numel(y) == 0) return 0;
  const char *ct = be_ctype(ce_elem(x));
  ce_printf(e, "{\n");
  ce_printf(e, "const %s *s = %s;\n%s *o = %s;\n", ct, ce_ptr(e, x), ct, ce_ptr(e, y));
  if (rt_k)
    ce_printf(e, "const int64_t k = (int64_t)(%s)[0];\n", ce_ptr(e, kv));
  else
    ce_printf(e, "const int64_t k = %" PRId64 ";\n", nk ? kc[0] : 0);
  ops_split(e, ce_numel(y));
  ce_printf(e, "for (int64_t i = lo; i < hi; i++) {\n");
  ce_printf(e, "  const int64_t d = i %% %" PRId64 " - i / %" PRId64 " %% %" PRId64 ";\n", C, C, R);
  ce_printf(e, "  o[i] = d %s k ? s[i] : 0;\n}\n}\n", ir_attr_int(n, "upper", 1) ? ">=" : "<=");
  return 0;
}

int ops_emit_range(CEmit *e, const Node *n) {
  const Value *y = n->outputs[0];
  ElemType t = ce_elem(y);
  for (int i = 0; i < 3; i++)
    if (!ops_in(n, i) || ce_elem(n->inputs[i]) != t || ce_numel(n->inputs[i]) != 1)
      return ce_unsupported(e, n, "inputs must be scalars of the output's type");
  bool fl = ops_is_real(t) || t == ELEM_FLOAT16;
  if (!fl && !ops_is_int(t)) return ce_unsupported(e, n, "element type %s", ir_elem(t)->name);
  if (ce_numel(y) == 0) return 0;
  const char *ct = be_ctype(t);
  ce_printf(e, "{\n%s *o = %s;\n", ct, ce_ptr(e, y));
  if (t == ELEM_FLOAT16) {
    ce_need_kern(e, "ew");
    ce_printf(e, "const double a = effc_f16_to_f32((%s)[0]), d = effc_f16_to_f32((%s)[0]);\n",
              ce_ptr(e, n->inputs[0]), ce_ptr(e, n->inputs[2]));
  } else if (fl) {
    ce_printf(e, "const double a = (%s)[0], d = (%s)[0];\n", ce_ptr(e, n->inputs[0]),
              ce_ptr(e, n->inputs[2]));
  } else {
    ce_printf(e, "const uint64_t a = (uint64_t)(%s)[0], d = (uint64_t)(%s)[0];\n",
              ce_ptr(e, n->inputs[0]), ce_ptr(e, n->inputs[2]));
  }
  ops_split(e, ce_numel(y));
  if (t == ELEM_FLOAT16)
    ce_printf(e, "for (int64_t i = lo; i < hi; i++) o[i] = effc_f64_to_f16(a + (double)i * d);\n}\n");
  else if (fl)
    ce_printf(e, "for (int64_t i = lo; i < hi; i++) o[i] = (%s)(a + (double)i * d);\n}\n", ct);
  else
    ce_printf(e, "for (int64_t i = lo; i < hi; i++) o[i] = (%s)(a + (uint64_t)i * d);\n}\n", ct);
  return 0;
}

/* ------------------------------------------------------------------ GatherND, Scatter* */

static int64_t prod_dims(const int64_t *d, int from, int to) {
  int64_t p = 1;
  for (int i = from; i < to; i++) p *= d[i];
  return p;
}

/* Statements: `off` += the offset the k index components at ind[row * k ...] select in
 * dims [from, from + k) of x (negative indices count from the end; out-of-range ones read
 * index 0 rather than outside the buffer). */
static void emit_nd_offset(CEmit *e, const Value *x, int from, int64_t k, const char *row) {
  int64_t xs[OPS_MAX_RANK];
  ops_strides(ce_rank(x), ce_dims(x), xs);
  for (int64_t j = 0; j < k; j++) {
    int64_t D = ce_dims(x)[from + j];
    ce_printf(e, "  {\n    int64_t v = (int64_t)ix[(%s) * %" PRId64 " + %" PRId64 "];\n", row, k, j);
    ce_printf(e, "    if (v < 0) v += %" PRId64 ";\n    if (v < 0 || v >= %" PRId64 ") v = 0;\n", D, D);
    ce_printf(e, "    off += v * %" PRId64 ";\n  }\n", xs[from + j]);
  }
}

int ops_emit_gather_nd(CEmit *e, const Node *n) {
  if (!plain_io(e, n) || !ops_in(n, 1)) return ce_unsupported(e, n, "element type or rank");
  const Value *x = n->inputs[0], *ind = n->inputs[1], *y = n->outputs[0];
  ElemType it = ce_elem(ind);
  int q = ce_rank(ind), r = ce_rank(x);
  int64_t b = n->op->since >= 12 ? ir_attr_int(n, "batch_dims", 0) : 0;
  if ((it != ELEM_INT64 && it != ELEM_INT32) || q < 1 || b < 0 || b >= q || b >= r)
    return ce_unsupported(e, n, "indices");
  int64_t k = ce_dims(ind)[q - 1];
  if (k < 1 || k > r - b) return ce_unsupported(e, n, "indices' last dimension");
  int64_t nb = prod_dims(ce_dims(x), 0, (int)b), per = prod_dims(ce_dims(ind), (int)b, q - 1);
  int64_t slice = prod_dims(ce_dims(x), (int)(b + k), r), bstride = prod_dims(ce_dims(x), (int)b, r);
  if (nb * per * slice != ce_numel(y)) return ce_unsupported(e, n, "output shape");
  if (ce_numel(y) == 0) return 0;
  const char *ct = be_ctype(ce_elem(x));
  ce_printf(e, "{\n");
  ce_printf(e, "const %s *s = %s;\n%s *o = %s;\nconst %s *ix = %s;\n", ct, ce_ptr(e, x), ct,
            ce_ptr(e, y), be_ctype(it), ce_ptr(e, ind));
  ops_split(e, nb * per);
  ce_printf(e, "for (int64_t t = lo; t < hi; t++) {\n");
  ce_printf(e, "  int64_t off = t / %" PRId64 " * %" PRId64 ";\n", per, bstride);
  emit_nd_offset(e, x, (int)b, k, "t");
  ce_printf(e, "  memcpy(o + t * %" PRId64 ", s + off, %" PRId64 " * sizeof *s);\n}\n}\n", slice,
            slice);
  return 0;
}

/* The update expression of a reduction, as runtime/k_shape_index.c applies it (float32
 * add/mul in float32; other floats in double; integers wrap); NULL if unknown. */
static const char *scatter_expr(const char *red, ElemType t, char *buf, size_t len) {
  bool fl = ops_is_real(t);
  if (!strcmp(red, "none"))
    snprintf(buf, len, "u");
  else if (!strcmp(red, "add"))
    snprintf(buf, len, fl ? "a + u" : "(T)((uint64_t)a + (uint64_t)u)");
  else if (!strcmp(red, "mul"))
    snprintf(buf, len, fl ? "a * u" : "(T)((uint64_t)a * (uint64_t)u)");
  else if (!strcmp(red, "max"))
    snprintf(buf, len, fl ? "(a != a || u != u ? (T)NAN : a > u ? a : u)" : "(a > u ? a : u)");
  else if (!strcmp(red, "min"))
    snprintf(buf, len, fl ? "(a != a || u != u ? (T)NAN : a < u ? a : u)" : "(a < u ? a : u)");
  else
    return NULL;
  return buf;
}

/* ScatterElements (and Scatter) and ScatterND: the data copied, then the updates applied
 * in index order by one thread (indices may repeat, so the order is the result). */
int ops_emit_scatter(CEmit *e, const Node *n) {
  if (!plain_io(e, n) || !ops_in(n, 1) || !ops_in(n, 2)) return ce_unsupported(e, n, "inputs");
  const Value *x = n->inputs[0], *ind = n->inputs[1], *upd = n->inputs[2], *y = n->outputs[0];
  ElemType t = ce_elem(x), it = ce_elem(ind);
  const char *red = n->op->since >= 16 ? ir_attr_string(n, "reduction", "none") : "none";
  char expr[160];
  if ((it != ELEM_INT64 && it != ELEM_INT32) || ce_elem(upd) != t ||
      !scatter_expr(red, t, expr, sizeof expr) ||
      (strcmp(red, "none") && !ops_is_real(t) && !ops_is_int(t)))
    return ce_unsupported(e, n, "types or reduction '%s'", red);
  int r = ce_rank(x);
  bool nd = !strcmp(n->op->family, "ScatterND");
  const char *ct = be_ctype(t);
  ce_printf(e, "if (tid == 0) {\n");
  ce_printf(e, "typedef %s T;\n(void)sizeof(T);\n", ct);
  ce_printf(e, "const %s *s = %s;\n%s *o = %s;\nconst %s *ix = %s;\nconst %s *up = %s;\n", ct,
            ce_ptr(e, x), ct, ce_ptr(e, y), be_ctype(it), ce_ptr(e, ind), ct, ce_ptr(e, upd));
  if (strcmp(ce_ptr(e, x), ce_ptr(e, y)) && ce_numel(x))
    ce_printf(e, "memcpy(o, s, %" PRId64 " * sizeof *s);\n", ce_numel(x));
  if (nd) {
    int q = ce_rank(ind);
    int64_t k = q ? ce_dims(ind)[q - 1] : 0;
    if (q < 1 || k < 0 || k > r) return ce_unsupported(e, n, "indices");
    int64_t cnt = prod_dims(ce_dims(ind), 0, q - 1), slice = prod_dims(ce_dims(x), (int)k, r);
    if (cnt * slice != ce_numel(upd)) return ce_unsupported(e, n, "updates shape");
    ce_printf(e, "for (int64_t t = 0; t < %" PRId64 "; t++) {\n  int64_t off = 0;\n", cnt);
    emit_nd_offset(e, x, 0, k, "t");
    ce_printf(e, "  for (int64_t j = 0; j < %" PRId64 "; j++) {\n", slice);
    ce_printf(e, "    const T a = o[off + j], u = up[t * %" PRId64 " + j];\n    (void)a;\n", slice);
    ce_printf(e, "    o[off + j] = %s;\n  }\n}\n}\n", expr);
    return 0;
  }
  int ax;
  if (ce_rank(ind) != r || !ops_axis(ir_attr_int(n, "axis", 0), r, &ax) ||
      ce_numel(ind) != ce_numel(upd))
    return ce_unsupported(e, n, "indices, updates and data shapes");
  int64_t xs[OPS_MAX_RANK], is[OPS_MAX_RANK];
  ops_strides(r, ce_dims(x), xs);
  ops_strides(r, ce_dims(ind), is);
  int64_t D = ce_dims(x)[ax];
  ce_printf(e, "for (int64_t i = 0; i < %" PRId64 "; i++) {\n", ce_numel(ind));
  ce_printf(e, "  int64_t v = (int64_t)ix[i];\n  if (v < 0) v += %" PRId64 ";\n", D);
  ce_printf(e, "  if (v < 0 || v >= %" PRId64 ") v = 0;\n", D);
  ce_printf(e, "  const int64_t off = v * %" PRId64, xs[ax]);
  for (int d = 0; d < r; d++)
    if (d != ax)
      ce_printf(e, " + i / %" PRId64 " %% %" PRId64 " * %" PRId64, is[d], ce_dims(ind)[d], xs[d]);
  ce_printf(e, ";\n  const T a = o[off], u = up[i];\n  (void)a;\n  o[off] = %s;\n}\n}\n", expr);
  return 0;
}

/* EyeLike: ones on diagonal k of a 2-D output of the input's shape. */
int ops_emit_eyelike(CEmit *e, const Node *n) {
  const Value *y = n->outputs[0];
  ElemType t = ce_elem(y);
  if (ce_rank(y) != 2 || (!ops_is_real(t) && !ops_is_int(t) && t != ELEM_BOOL))
    return ce_unsupported(e, n, "element type %s or rank %d", ir_elem(t)->name, ce_rank(y));
  int64_t C = ce_dims(y)[1], k = ir_attr_int(n, "k", 0);
  if (ce_numel(y) == 0) return 0;
  ce_printf(e, "{\n%s *o = %s;\n", be_ctype(t), ce_ptr(e, y));
  ops_split(e, ce_numel(y));
  ce_printf(e, "for (int64_t i = lo; i < hi; i++) o[i] = i %% %" PRId64 " - i / %" PRId64
               " == %" PRId64 ";\n}\n", C, C, k);
  return 0;
}
