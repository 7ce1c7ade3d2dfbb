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
  if (n->op->since >= rd_ops[k].axes_input_since) {
    if (ops_in(n, 1) && !ops_const_ints(n, 1, axes, OPS_MAX_RANK, &na))
      return ce_unsupported(e, n, "axes must be a compile-time constant");
    noop = ir_attr_int(n, "noop_with_empty_axes", 0) != 0;
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
  if (outer.count != ce_numel(y)) return ce_unsupported(e, n, "output shape");
  if (outer.count == 0) return 0;
  const char *yt = be_ctype(ce_elem(y));
  group_open(e, x, y, yt, &outer, &inner);
  int64_t m = inner.count;
  if (real) {
    const char *init = op == R_PROD ? "1" : op == R_MAX ? "-INFINITY" : op == R_MIN ? "INFINITY" : "0";
    ce_printf(e, "  double acc = %s;\n", init);
    if (op == R_LSE) {
      ce_printf(e, "  double mx = -INFINITY;\n");
      ce_printf(e, "  for (int64_t i = 0; i < %" PRId64 "; i++) {\n", m);
      ce_printf(e, "    const double v = x[AT(i)];\n    if (v > mx || isnan(v)) mx = v;\n");
      ce_printf(e, "    if (isnan(mx)) break;\n  }\n");
      ce_printf(e, "  if (isnan(mx) || isinf(mx)) {\n    o[g] = (%s)mx;\n    continue;\n  }\n", yt);
    }
    ce_printf(e, "  for (int64_t i = 0; i < %" PRId64 "; i++) {\n", m);
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
    const char *fin = op == R_MEAN ? "acc / (double)%" PRId64 : op == R_L2 ? "sqrt(acc)"
                      : op == R_LOGSUM ? "log(acc)" : op == R_LSE ? "mx + log(acc)" : "acc";
    char f[128];
    snprintf(f, sizeof f, fin, m);
    ce_printf(e, "  o[g] = (%s)(%s);\n", yt, f);
  } else {
    bool sgn = ir_elem(t)->is_signed;
    int bits = t == ELEM_BOOL ? 1 : ir_elem(t)->bits;
    if (op == R_MAX || op == R_MIN) {
      int64_t best;
      if (op == R_MAX)
        best = sgn ? (bits == 64 ? INT64_MIN : -((int64_t)1 << (bits - 1))) : 0;
      else
        best = sgn ? (bits == 64 ? INT64_MAX : ((int64_t)1 << (bits - 1)) - 1)
                   : (bits == 64 ? -1 : (int64_t)(((uint64_t)1 << bits) - 1));
      char lit[64];
      ce_printf(e, "  %s acc = %s;\n", yt, ops_lit_i(lit, sizeof lit, t, best));
      ce_printf(e, "  for (int64_t i = 0; i < %" PRId64 "; i++)\n", m);
      ce_printf(e, "    if (x[AT(i)] %s acc) acc = x[AT(i)];\n", op == R_MAX ? ">" : "<");
      ce_printf(e, "  o[g] = acc;\n");
    } else {
      ce_printf(e, "  uint64_t acc = %d;\n", op == R_PROD ? 1 : 0);
      ce_printf(e, "  for (int64_t i = 0; i < %" PRId64 "; i++) {\n", m);
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
    ce_printf(e, "    const bool better = !isnan(b) && (isnan(v) || v %s b);\n", cmp);
  else
    ce_printf(e, "    const bool better = v %s b;\n", cmp);
  if (last)
    ce_printf(e, "    const bool same = v == b%s;\n", real ? " || (isnan(v) && isnan(b))" : "");
  else
    ce_printf(e, "    const bool same = false;\n");
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
