/* op_reduce.c - reductions for the C backend: Reduce* over an axis set, ArgMax/ArgMin,
 * Softmax/LogSoftmax/Hardmax and CumSum, as runtime/k_reduce.c computes them (floats
 * accumulate in double and round once; integers are exact and wrap). The elements split
 * into groups (the output elements) and members (the reduced axes); both index sets are
 * static, so each becomes merged dims with constant strides, and groups split by tid. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ops.h"

/* An index set: dims (outermost first) and strides, after merging. */
typedef struct Walk {
  int rank;
  int64_t dims[OPS_MAX_RANK], st[OPS_MAX_RANK];
  int64_t count;
} Walk;

/* The dims of x where sel[d] == want, merged where contiguous. */
static void walk_of(const Value *x, const bool *sel, bool want, Walk *w) {
  int r = ce_rank(x);
  int64_t xs[OPS_MAX_RANK];
  ops_strides(r, ce_dims(x), xs);
  w->rank = 0;
  w->count = 1;
  for (int d = 0; d < r; d++) {
    if (sel[d] != want) continue;
    int64_t n = ce_dims(x)[d];
    w->count *= n;
    if (n == 1) continue;
    int k = w->rank;
    if (k > 0 && w->st[k - 1] == xs[d] * n) {
      w->dims[k - 1] *= n;
      w->st[k - 1] = xs[d];
      continue;
    }
    w->dims[k] = n;
    w->st[k] = xs[d];
    w->rank++;
  }
}

/* The C expression of the offset of element `var` of walk w. */
static const char *walk_expr(const Walk *w, const char *var, char *buf, size_t len) {
  size_t o = (size_t)snprintf(buf, len, "0");
  int64_t q = 1;
  for (int d = w->rank - 1; d >= 0; d--) {
    if (d == 0)
      o += (size_t)snprintf(buf + o, len - o, " + %s / %" PRId64 " * %" PRId64, var, q, w->st[d]);
    else
      o += (size_t)snprintf(buf + o, len - o, " + %s / %" PRId64 " %% %" PRId64 " * %" PRId64, var,
                            q, w->dims[d], w->st[d]);
    q *= w->dims[d];
    if (o >= len) break;
  }
  return buf;
}

/* Opening of the group loop: `x`, `o` pointers, lo/hi over groups, `base` per group, and
 * `at(i)` the member offset macro. The caller closes with "}\n}\n". */
static void group_open(CEmit *e, const Value *x, const Value *y, const char *ytype,
                       const Walk *outer, const Walk *inner) {
  char buf[1024];
  ce_printf(e, "{\n");
  ce_printf(e, "const %s *x = %s;\n%s *o = %s;\n", be_ctype(ce_elem(x)), ce_ptr(e, x), ytype,
            ce_ptr(e, y));
  ops_split(e, outer->count);
  ce_printf(e, "for (int64_t g = lo; g < hi; g++) {\n");
  ce_printf(e, "  const int64_t base = %s;\n", walk_expr(outer, "g", buf, sizeof buf));
  ce_printf(e, "#define AT(i) (base + %s)\n", walk_expr(inner, "(i)", buf, sizeof buf));
  ce_printf(e, "  const int64_t cnt = %" PRId64 ";\n  (void)cnt;\n", inner->count);
}

/* The same for reduction axes read at run time (input `axes`): the walks are computed by
 * effc_reduce_split when the node runs; a split that disagrees with the static output
 * size (an invalid axes input) leaves the output unwritten. */
static void group_open_rt(CEmit *e, const Value *x, const Value *y, const char *ytype,
                          const Value *axes, bool noop) {
  int r = ce_rank(x);
  ce_need_kern(e, "remap");
  ce_printf(e, "{\n");
  ce_printf(e, "const %s *x = %s;\n%s *o = %s;\n", be_ctype(ce_elem(x)), ce_ptr(e, x), ytype,
            ce_ptr(e, y));
  ce_printf(e, "const int64_t xd[%d] = {", r ? r : 1);
  for (int d = 0; d < r; d++) ce_printf(e, "%s%" PRId64, d ? ", " : "", ce_dims(x)[d]);
  ce_printf(e, "%s};\n", r ? "" : "0");
  int64_t na = ce_numel(axes);
  ce_printf(e, "int64_t ax[%" PRId64 "];\n", na ? na : 1);
  ce_printf(e, "for (int k = 0; k < %" PRId64 "; k++) ax[k] = (int64_t)(%s)[k];\n", na,
            ce_ptr(e, axes));
  ce_printf(e, "EffcWalk gw, mw;\n");
  ce_printf(e, "const int ok = effc_reduce_split(%d, xd, ax, %" PRId64 ", %d, &gw, &mw) == 0 && "
               "gw.count == %" PRId64 ";\n", r, na, noop, ce_numel(y));
  ops_split(e, ce_numel(y));
  ce_printf(e, "for (int64_t g = lo; ok && g < hi; g++) {\n");
  ce_printf(e, "  const int64_t base = effc_walk_offset(g, gw.n, gw.dims, gw.st);\n");
  ce_printf(e, "#define AT(i) (base + effc_walk_offset((i), mw.n, mw.dims, mw.st))\n");
  ce_printf(e, "  const int64_t cnt = mw.count;\n");
}

static void group_close(CEmit *e) {
  ce_printf(e, "#undef AT\n}\n}\n");
}

typedef enum { R_SUM, R_MEAN, R_PROD, R_MAX, R_MIN, R_L1, R_L2, R_SUMSQ, R_LOGSUM, R_LSE } RdOp;

static const struct {
  const char *family;
  RdOp op;
  int axes_input_since;
} rd_ops[] = {
    {"ReduceSum", R_SUM, 13},     {"ReduceMean", R_MEAN, 18},     {"ReduceProd", R_PROD, 18},
    {"ReduceMax", R_MAX, 18},     {"ReduceMin", R_MIN, 18},       {"ReduceL1", R_L1, 18},
    {"ReduceL2", R_L2, 18},       {"ReduceSumSquare", R_SUMSQ, 18}, {"ReduceLogSum", R_LOGSUM, 18},
    {"ReduceLogSumExp", R_LSE, 18},
};

int ops_emit_reduce(CEmit *e, const Node *n) {
  int k = 0, nk = (int)(sizeof rd_ops / sizeof *rd_ops);
  while (k < nk && strcmp(rd_ops[k].family, n->op->family)) k++;
  if (k == nk || !n->inputs[0] || !n->outputs[0]) return ce_unsupported(e, n, "reduction");
  RdOp op = rd_ops[k].op;
  const Value *x = n->inputs[0], *y = n->outputs[0];
  ElemType t = ce_elem(x);
  int r = ce_rank(x);
  bool real = ops_is_real(t), integer = ops_is_int(t);
  if (r > OPS_MAX_RANK || (!real && !integer && !(t == ELEM_BOOL && (op == R_MAX || op == R_MIN))))
    return ce_unsupported(e, n, "element type %s", ir_elem(t)->name);
  if (!real && (op == R_MEAN || op == R_L2 || op == R_LOGSUM || op == R_LSE))
    return ce_unsupported(e, n, "integer %s", n->op->family);
  int64_t axes[OPS_MAX_RANK];
  int na = 0;
  bool noop = false;
  const Value *rt_axes = NULL;
  if (n->op->since >= rd_ops[k].axes_input_since) {
    noop = ir_attr_int(n, "noop_with_empty_axes", 0) != 0;
    if (ops_in(n, 1) && !ops_const_ints(n, 1, axes, OPS_MAX_RANK, &na)) {
      rt_axes = n->inputs[1];
      if ((ce_elem(rt_axes) != ELEM_INT64 && ce_elem(rt_axes) != ELEM_INT32) ||
          ce_numel(rt_axes) > r)
        return ce_unsupported(e, n, "axes");
    }
  } else {
    size_t cnt = 0;
    const int64_t *a = ir_attr_ints(n, "axes", &cnt);
    if (cnt > OPS_MAX_RANK) return ce_unsupported(e, n, "axes");
    if (a) memcpy(axes, a, cnt * sizeof *a);
    na = (int)cnt;
  }
  bool sel[OPS_MAX_RANK] = {false};
  for (int i = 0; i < na; i++) {
    int a;
    if (!ops_axis(axes[i], r, &a)) return ce_unsupported(e, n, "axis out of range");
    sel[a] = true;
  }
  if (na == 0 && !noop)
    for (int a = 0; a < r; a++) sel[a] = true;
  Walk outer, inner;
  walk_of(x, sel, false, &outer);
  walk_of(x, sel, true, &inner);
  if (!rt_axes && outer.count != ce_numel(y)) return ce_unsupported(e, n, "output shape");
  if (ce_numel(y) == 0) return 0;
  const char *yt = be_ctype(ce_elem(y));
  if (rt_axes)
    group_open_rt(e, x, y, yt, rt_axes, noop);
  else
    group_open(e, x, y, yt, &outer, &inner);
  if (real) {
    const char *init = op == R_PROD ? "1" : op == R_MAX ? "-INFINITY" : op == R_MIN ? "INFINITY" : "0";
    ce_printf(e, "  double acc = %s;\n", init);
    if (op == R_LSE) {
      ce_printf(e, "  double mx = -INFINITY;\n");
      ce_printf(e, "  for (int64_t i = 0; i < cnt; i++) {\n");
      ce_printf(e, "    const double v = x[AT(i)];\n    if (v > mx || isnan(v)) mx = v;\n");
      ce_printf(e, "    if (isnan(mx)) break;\n  }\n");
      ce_printf(e, "  if (isnan(mx) || isinf(mx)) {\n    o[g] = (%s)mx;\n    continue;\n  }\n", yt);
    }
    ce_printf(e, "  for (int64_t i = 0; i < cnt; i++) {\n");
    ce_printf(e, "    const double v = x[AT(i)];\n");
    switch (op) {
    case R_SUM: case R_MEAN: case R_LOGSUM: ce_printf(e, "    acc += v;\n"); break;
    case R_PROD: ce_printf(e, "    acc *= v;\n"); break;
    case R_MAX: ce_printf(e, "    if (v > acc || isnan(v)) acc = v;\n    if (isnan(acc)) break;\n"); break;
    case R_MIN: ce_printf(e, "    if (v < acc || isnan(v)) acc = v;\n    if (isnan(acc)) break;\n"); break;
    case R_L1: ce_printf(e, "    acc += fabs(v);\n"); break;
    case R_L2: case R_SUMSQ: ce_printf(e, "    acc += v * v;\n"); break;
    case R_LSE: ce_printf(e, "    acc += exp(v - mx);\n"); break;
    }
    ce_printf(e, "  }\n");
    const char *fin = op == R_MEAN ? "acc / (double)cnt" : op == R_L2 ? "sqrt(acc)"
                      : op == R_LOGSUM ? "log(acc)" : op == R_LSE ? "mx + log(acc)" : "acc";
    ce_printf(e, "  o[g] = (%s)(%s);\n", yt, fin);
  } else {
    bool sgn = ir_elem(t)->is_signed;
    if (op == R_MAX || op == R_MIN) {
      int64_t lo, hi;
      ir_elem_int_limits(t, &lo, &hi);
      int64_t best = op == R_MAX ? lo : hi;
      char lit[64];
      ce_printf(e, "  %s acc = %s;\n", yt, ops_lit_i(lit, sizeof lit, t, best));
      ce_printf(e, "  for (int64_t i = 0; i < cnt; i++)\n");
      ce_printf(e, "    if (x[AT(i)] %s acc) acc = x[AT(i)];\n", op == R_MAX ? ">" : "<");
      ce_printf(e, "  o[g] = acc;\n");
    } else {
      ce_printf(e, "  uint64_t acc = %d;\n", op == R_PROD ? 1 : 0);
      ce_printf(e, "  for (int64_t i = 0; i < cnt; i++) {\n");
      ce_printf(e, "    const uint64_t v = (uint64_t)x[AT(i)];\n");
      switch (op) {
      case R_SUM: ce_printf(e, "    acc += v;\n"); break;
      case R_PROD: ce_printf(e, "    acc *= v;\n"); break;
      case R_L1:
        ce_printf(e, "    acc += %s;\n", sgn ? "(int64_t)v < 0 ? (uint64_t)0 - v : v" : "v");
        break;
      default: ce_printf(e, "    acc += v * v;\n"); break;
      }
      ce_printf(e, "  }\n  o[g] = (%s)acc;\n", yt);
    }
  }
  group_close(e);
  return 0;
}

/* The comparisons of runtime/k_reduce.c (NaN counts as greatest and as least: the first
 * NaN wins). */
static void emit_better(CEmit *e, bool real, bool is_max, bool last) {
  const char *cmp = is_max ? ">" : "<";
  if (real)
    ce_printf(e, "    const int better = !isnan(b) && (isnan(v) || v %s b);\n", cmp);
  else
    ce_printf(e, "    const int better = v %s b;\n", cmp);
  if (last)
    ce_printf(e, "    const int same = v == b%s;\n", real ? " || (isnan(v) && isnan(b))" : "");
  else
    ce_printf(e, "    const int same = 0;\n");
}

int ops_emit_argminmax(CEmit *e, const Node *n) {
  const Value *x = n->inputs[0], *y = n->outputs[0];
  ElemType t = ce_elem(x);
  int r = ce_rank(x), axis;
  bool real = ops_is_real(t);
  if (r < 1 || r > OPS_MAX_RANK || (!real && !ops_is_int(t)))
    return ce_unsupported(e, n, "element type %s or rank %d", ir_elem(t)->name, r);
  if (!ops_axis(ir_attr_int(n, "axis", 0), r, &axis)) return ce_unsupported(e, n, "axis");
  if (ce_dims(x)[axis] == 0) return ce_unsupported(e, n, "empty axis");
  bool last = n->op->since >= 12 && ir_attr_int(n, "select_last_index", 0) != 0;
  bool is_max = !strcmp(n->op->family, "ArgMax");
  bool sel[OPS_MAX_RANK] = {false};
  sel[axis] = true;
  Walk outer, inner;
  walk_of(x, sel, false, &outer);
  walk_of(x, sel, true, &inner);
  if (outer.count == 0) return 0;
  const char *ct = be_ctype(t);
  group_open(e, x, y, "int64_t", &outer, &inner);
  ce_printf(e, "  int64_t best = 0;\n");
  ce_printf(e, "  for (int64_t i = 1; i < %" PRId64 "; i++) {\n", inner.count);
  ce_printf(e, "    const %s v = x[AT(i)], b = x[AT(best)];\n", ct);
  emit_better(e, real, is_max, last);
  ce_printf(e, "    if (better || same) best = i;\n  }\n  o[g] = best;\n");
  group_close(e);
  return 0;
}

int ops_emit_softmax(CEmit *e, const Node *n) {
  const Value *x = n->inputs[0], *y = n->outputs[0];
  ElemType t = ce_elem(x);
  int r = ce_rank(x);
  if (!ops_is_real(t) || r > OPS_MAX_RANK) return ce_unsupported(e, n, "element type %s", ir_elem(t)->name);
  bool coerce = n->op->since < 13;
  int64_t ax = ir_attr_int(n, "axis", coerce ? 1 : -1);
  bool sel[OPS_MAX_RANK] = {false};
  if (r == 0) {
    if (ax != 0 && ax != -1 && !(coerce && ax == 1)) return ce_unsupported(e, n, "axis");
  } else if (coerce) {
    if (ax < -(int64_t)r || ax > r) return ce_unsupported(e, n, "axis");
    for (int a = (int)(ax < 0 ? ax + r : ax); a < r; a++) sel[a] = true;
  } else {
    int a;
    if (!ops_axis(ax, r, &a)) return ce_unsupported(e, n, "axis");
    sel[a] = true;
  }
  Walk outer, inner;
  walk_of(x, sel, false, &outer);
  walk_of(x, sel, true, &inner);
  if (outer.count == 0 || inner.count == 0) return 0;
  const char *ct = be_ctype(t);
  int64_t m = inner.count;
  group_open(e, x, y, ct, &outer, &inner);
  if (!strcmp(n->op->family, "Hardmax")) {
    ce_printf(e, "  int64_t best = 0;\n");
    ce_printf(e, "  for (int64_t i = 1; i < %" PRId64 "; i++) {\n", m);
    ce_printf(e, "    const %s v = x[AT(i)], b = x[AT(best)];\n", ct);
    emit_better(e, true, true, false);
    ce_printf(e, "    if (better || same) best = i;\n  }\n");
    ce_printf(e, "  for (int64_t i = 0; i < %" PRId64 "; i++) o[AT(i)] = (%s)(i == best);\n", m, ct);
  } else {
    bool lsm = !strcmp(n->op->family, "LogSoftmax");
    ce_printf(e, "  double mx = -INFINITY, sum = 0;\n");
    ce_printf(e, "  for (int64_t i = 0; i < %" PRId64 "; i++) {\n", m);
    ce_printf(e, "    const double v = x[AT(i)];\n    if (v > mx || isnan(v)) mx = v;\n");
    ce_printf(e, "    if (isnan(mx)) break;\n  }\n");
    ce_printf(e, "  for (int64_t i = 0; i < %" PRId64 "; i++) sum += exp((double)x[AT(i)] - mx);\n", m);
    if (lsm)
      ce_printf(e, "  const double ls = log(sum);\n  for (int64_t i = 0; i < %" PRId64
                   "; i++) o[AT(i)] = (%s)((double)x[AT(i)] - mx - ls);\n", m, ct);
    else
      ce_printf(e, "  for (int64_t i = 0; i < %" PRId64
                   "; i++) o[AT(i)] = (%s)(exp((double)x[AT(i)] - mx) / sum);\n", m, ct);
  }
  group_close(e);
  return 0;
}

int ops_emit_cumsum(CEmit *e, const Node *n) {
  const Value *x = n->inputs[0], *y = n->outputs[0];
  ElemType t = ce_elem(x);
  int r = ce_rank(x), axis;
  int64_t av[1];
  int na;
  bool real = ops_is_real(t);
  if (r < 1 || r > OPS_MAX_RANK || (!real && !ops_is_int(t)))
    return ce_unsupported(e, n, "element type %s or rank %d", ir_elem(t)->name, r);
  if (!ops_const_ints(n, 1, av, 1, &na) || na != 1)
    return ce_unsupported(e, n, "axis must be a compile-time constant");
  if (!ops_axis(av[0], r, &axis)) return ce_unsupported(e, n, "axis");
  bool excl = ir_attr_int(n, "exclusive", 0) != 0, rev = ir_attr_int(n, "reverse", 0) != 0;
  bool sel[OPS_MAX_RANK] = {false};
  sel[axis] = true;
  Walk outer, inner;
  walk_of(x, sel, false, &outer);
  walk_of(x, sel, true, &inner);
  if (outer.count == 0 || inner.count == 0) return 0;
  const char *ct = be_ctype(t), *acc = real ? "double" : "uint64_t";
  group_open(e, x, y, ct, &outer, &inner);
  ce_printf(e, "  %s acc = 0;\n", acc);
  ce_printf(e, "  for (int64_t j = 0; j < %" PRId64 "; j++) {\n", inner.count);
  if (rev)
    ce_printf(e, "    const int64_t at = AT(%" PRId64 " - 1 - j);\n", inner.count);
  else
    ce_printf(e, "    const int64_t at = AT(j);\n");
  if (excl) ce_printf(e, "    const %s prev = acc;\n", acc);
  ce_printf(e, "    acc += (%s)x[at];\n", acc);
  ce_printf(e, "    o[at] = (%s)%s;\n  }\n", ct, excl ? "prev" : "acc");
  group_close(e);
  return 0;
}

/* ------------------------------------------------------------------ normalizations */

/* Parameter input i: present, of x's type, with `want` elements; its pointer or NULL. */
static const char *norm_param(CEmit *e, const Node *n, int i, ElemType t, int64_t want) {
  const Value *v = ops_in(n, i);
  if (!v || ce_elem(v) != t || ce_numel(v) != want) return NULL;
  return ce_ptr(e, v);
}

/* The moments of group g (members AT(0..cnt)) into m and inv (1 / sqrt(var + eps)), in
 * double as runtime/k_reduce_norm.c computes them. */
static void emit_moments(CEmit *e, int64_t cnt, double eps) {
  ce_printf(e, "  double s = 0, q = 0;\n");
  ce_printf(e, "  for (int64_t i = 0; i < %" PRId64 "; i++) s += x[AT(i)];\n", cnt);
  ce_printf(e, "  const double m = s / (double)%" PRId64 ";\n", cnt);
  ce_printf(e, "  for (int64_t i = 0; i < %" PRId64 "; i++) {\n", cnt);
  ce_printf(e, "    const double d = x[AT(i)] - m;\n    q += d * d;\n  }\n");
  ce_printf(e, "  const double inv = 1.0 / sqrt(q / (double)%" PRId64 " + %a);\n", cnt, eps);
}

int ops_emit_layernorm(CEmit *e, const Node *n) {
  const Value *x = n->inputs[0], *y = n->outputs[0];
  ElemType t = ce_elem(x);
  int r = ce_rank(x), axis;
  if (!ops_is_real(t) || r < 1 || r > OPS_MAX_RANK) return ce_unsupported(e, n, "element type or rank");
  if (!ops_axis(ir_attr_int(n, "axis", -1), r, &axis)) return ce_unsupported(e, n, "axis");
  bool sel[OPS_MAX_RANK] = {false};
  for (int a = axis; a < r; a++) sel[a] = true;
  Walk outer, inner;
  walk_of(x, sel, false, &outer);
  walk_of(x, sel, true, &inner);
  /* scale and bias: one value per normalized element (the suffix shape) */
  const char *sc = norm_param(e, n, 1, t, inner.count);
  const char *b = ops_in(n, 2) ? norm_param(e, n, 2, t, inner.count) : "";
  if (!sc || !b) return ce_unsupported(e, n, "scale and bias must have the normalized shape");
  for (int k = 1; k < 3 && k < n->n_outputs; k++)
    if (n->outputs[k] && !ops_is_real(ce_elem(n->outputs[k])))
      return ce_unsupported(e, n, "output %d type", k);
  if (outer.count == 0 || inner.count == 0) return 0;
  double eps = ir_attr_float(n, "epsilon", 1e-5f);
  const char *ct = be_ctype(t);
  group_open(e, x, y, ct, &outer, &inner);
  emit_moments(e, inner.count, eps);
  for (int k = 1; k < 3 && k < n->n_outputs; k++)
    if (n->outputs[k])
      ce_printf(e, "  ((%s *)%s)[g] = (%s)%s;\n", be_ctype(ce_elem(n->outputs[k])),
                ce_ptr(e, n->outputs[k]), be_ctype(ce_elem(n->outputs[k])), k == 1 ? "m" : "inv");
  ce_printf(e, "  for (int64_t i = 0; i < %" PRId64 "; i++)\n", inner.count);
  ce_printf(e, "    o[AT(i)] = (%s)((x[AT(i)] - m) * inv * (double)(%s)[i]%s%s%s);\n", ct, sc,
            b[0] ? " + (double)(" : "", b, b[0] ? ")[i]" : "");
  group_close(e);
  return 0;
}

/* InstanceNormalization and GroupNormalization: moments per block of channels of one
 * image, scale and bias per channel (or per group, GroupNormalization-18). */
int ops_emit_instnorm(CEmit *e, const Node *n) {
  const Value *x = n->inputs[0], *y = n->outputs[0];
  ElemType t = ce_elem(x);
  int r = ce_rank(x);
  if (!ops_is_real(t) || r < 2 || r > OPS_MAX_RANK) return ce_unsupported(e, n, "element type or rank");
  int64_t ch = ce_dims(x)[1], sp = 1;
  for (int a = 2; a < r; a++) sp *= ce_dims(x)[a];
  int64_t per = 1, per_param = 1;
  if (!strcmp(n->op->family, "GroupNormalization")) {
    int64_t g = ir_attr_int(n, "num_groups", 0);
    if (g <= 0 || ch % g) return ce_unsupported(e, n, "num_groups");
    per = ch / g;
    const Value *s = ops_in(n, 1);
    per_param = s && ce_numel(s) == ch ? 1 : per;
  }
  int64_t np = ch / per_param;
  const char *sc = norm_param(e, n, 1, t, np), *b = norm_param(e, n, 2, t, np);
  if (!sc || !b) return ce_unsupported(e, n, "scale and bias must have one value per channel");
  int64_t blk = per * sp, nb = blk ? ce_numel(x) / blk : 0;
  if (nb == 0) return 0;
  const char *ct = be_ctype(t);
  ce_printf(e, "{\n");
  ce_printf(e, "const %s *x = %s;\n%s *o = %s;\n", ct, ce_ptr(e, x), ct, ce_ptr(e, y));
  ops_split(e, nb);
  ce_printf(e, "for (int64_t g = lo; g < hi; g++) {\n");
  ce_printf(e, "  const int64_t base = g * %" PRId64 ";\n#define AT(i) (base + (i))\n", blk);
  emit_moments(e, blk, ir_attr_float(n, "epsilon", 1e-5f));
  ce_printf(e, "  for (int64_t i = 0; i < %" PRId64 "; i++) {\n", blk);
  ce_printf(e, "    const int64_t j = (base + i) / %" PRId64 " %% %" PRId64 " / %" PRId64 ";\n", sp,
            ch, per_param);
  ce_printf(e, "    o[AT(i)] = (%s)((x[AT(i)] - m) * inv * (double)(%s)[j] + (double)(%s)[j]);\n",
            ct, sc, b);
  ce_printf(e, "  }\n");
  group_close(e);
  return 0;
}

/* BatchNormalization in inference: per channel, (x - mean) / sqrt(var + eps) * s + b. */
int ops_emit_batchnorm(CEmit *e, const Node *n) {
  const Value *x = n->inputs[0], *y = n->outputs[0];
  ElemType t = ce_elem(x);
  int r = ce_rank(x);
  if (!ops_is_real(t) || r < 1 || r > OPS_MAX_RANK) return ce_unsupported(e, n, "element type or rank");
  bool train = n->op->since >= 14  ? ir_attr_int(n, "training_mode", 0) != 0
               : n->op->since <= 6 ? ir_attr_int(n, "is_test", 0) == 0
                                   : n->n_outputs > 1;
  if (train) return ce_unsupported(e, n, "training mode");
  int64_t ch = r == 1 ? 1 : ce_dims(x)[1], sp = 1;
  for (int a = 2; a < r; a++) sp *= ce_dims(x)[a];
  const char *p[4];
  for (int i = 0; i < 4; i++)
    if (!(p[i] = norm_param(e, n, i + 1, t, ch)))
      return ce_unsupported(e, n, "parameters must have one value per channel");
  int64_t rows = ce_numel(x) / (sp ? sp : 1);
  if (ce_numel(x) == 0) return 0;
  const char *ct = be_ctype(t);
  ce_printf(e, "{\n");
  ce_printf(e, "const %s *x = %s;\n%s *o = %s;\n", ct, ce_ptr(e, x), ct, ce_ptr(e, y));
  ops_split(e, rows);
  ce_printf(e, "for (int64_t r = lo; r < hi; r++) {\n");
  ce_printf(e, "  const int64_t c = r %% %" PRId64 ";\n", ch);
  ce_printf(e, "  const double mu = (%s)[c], sd = sqrt((double)(%s)[c] + %a), s = (%s)[c], b = (%s)[c];\n",
            p[2], p[3], (double)ir_attr_float(n, "epsilon", 1e-5f), p[0], p[1]);
  ce_printf(e, "  for (int64_t i = r * %" PRId64 "; i < (r + 1) * %" PRId64 "; i++)\n", sp, sp);
  ce_printf(e, "    o[i] = (%s)((x[i] - mu) / sd * s + b);\n}\n}\n", ct);
  return 0;
}

/* LpNormalization (p 1 or 2 along one axis; all-zero lines stay 0) and
 * MeanVarianceNormalization ((x - mean) / (std + 1e-9) over an axis set). */
int ops_emit_lpnorm(CEmit *e, const Node *n) {
  const Value *x = n->inputs[0], *y = n->outputs[0];
  ElemType t = ce_elem(x);
  int r = ce_rank(x);
  if (!ops_is_real(t) || r < 1 || r > OPS_MAX_RANK) return ce_unsupported(e, n, "element type or rank");
  bool mvn = !strcmp(n->op->family, "MeanVarianceNormalization");
  bool sel[OPS_MAX_RANK] = {false};
  int64_t p = 2;
  if (mvn) {
    static const int64_t dflt[] = {0, 2, 3};
    size_t na;
    const int64_t *axes = ir_attr_ints(n, "axes", &na);
    if (!axes) axes = dflt, na = 3;
    for (size_t i = 0; i < na; i++) {
      int a;
      if (!ops_axis(axes[i], r, &a)) return ce_unsupported(e, n, "axis");
      sel[a] = true;
    }
  } else {
    int a;
    p = ir_attr_int(n, "p", 2);
    if (!ops_axis(ir_attr_int(n, "axis", -1), r, &a) || (p != 1 && p != 2))
      return ce_unsupported(e, n, "axis or p");
    sel[a] = true;
  }
  Walk outer, inner;
  walk_of(x, sel, false, &outer);
  walk_of(x, sel, true, &inner);
  if (outer.count == 0 || inner.count == 0) return 0;
  const char *ct = be_ctype(t);
  group_open(e, x, y, ct, &outer, &inner);
  if (mvn) {
    emit_moments(e, inner.count, 0);
    ce_printf(e, "  const double sd = sqrt(q / (double)cnt) + 1e-9;\n  (void)inv;\n");
    ce_printf(e, "  for (int64_t i = 0; i < cnt; i++) o[AT(i)] = (%s)((x[AT(i)] - m) / sd);\n", ct);
  } else {
    ce_printf(e, "  double nrm = 0;\n");
    ce_printf(e, "  for (int64_t i = 0; i < cnt; i++) {\n    const double v = x[AT(i)];\n");
    ce_printf(e, "    nrm += %s;\n  }\n", p == 1 ? "fabs(v)" : "v * v");
    if (p == 2) ce_printf(e, "  nrm = sqrt(nrm);\n");
    ce_printf(e, "  for (int64_t i = 0; i < cnt; i++) o[AT(i)] = (%s)(nrm == 0 ? 0 : x[AT(i)] / nrm);\n", ct);
  }
  group_close(e);
  return 0;
}
