/* k_reduce.c - reductions over an axis set (ReduceSum ... ReduceLogSumExp, one loop with a
 * per-op table), ArgMax/ArgMin, Softmax/LogSoftmax/Hardmax and CumSum/CumProd. Floats
 * accumulate in double and round once; integers are exact and wrap. */
#include "k_reduce.h"

#include <stdint.h>

/* ------------------------------------------------------------------ reductions */

typedef enum { R_SUM, R_MEAN, R_PROD, R_MAX, R_MIN, R_L1, R_L2, R_SUMSQ, R_LOGSUM, R_LSE } RdOp;

/* The version from which the axes come as input 1 instead of an attribute. */
static int axes_input_since(RdOp op) {
  return op == R_SUM ? 13 : 18;
}

/* Float reduction of one group. */
static double reduce_f(RdOp op, const RtValue *x, uint64_t base, const uint64_t *inner,
                       uint64_t n) {
  double acc, m = -INFINITY;
  switch (op) {
  case R_PROD:
    acc = 1;
    break;
  case R_MAX:
    acc = -INFINITY;
    break;
  case R_MIN:
    acc = INFINITY;
    break;
  default:
    acc = 0;
    break;
  }
  if (op == R_LSE) {
    for (uint64_t i = 0; i < n; i++) {
      double v = rt_get_f64(x, base + inner[i]);
      if (v > m || isnan(v)) m = v;
      if (isnan(m)) break;
    }
    if (isnan(m) || isinf(m)) return m;
  }
  for (uint64_t i = 0; i < n; i++) {
    double v = rt_get_f64(x, base + inner[i]);
    switch (op) {
    case R_SUM:
    case R_MEAN:
    case R_LOGSUM:
      acc += v;
      break;
    case R_PROD:
      acc *= v;
      break;
    case R_MAX:
      if (v > acc || isnan(v)) acc = v;
      if (isnan(acc)) i = n;
      break;
    case R_MIN:
      if (v < acc || isnan(v)) acc = v;
      if (isnan(acc)) i = n;
      break;
    case R_L1:
      acc += fabs(v);
      break;
    case R_L2:
    case R_SUMSQ:
      acc += v * v;
      break;
    case R_LSE:
      acc += exp(v - m);
      break;
    }
  }
  switch (op) {
  case R_MEAN:
    return acc / (double)n; /* 0/0 = NaN for an empty group, as numpy */
  case R_L2:
    return sqrt(acc);
  case R_LOGSUM:
    return log(acc);
  case R_LSE:
    return m + log(acc);
  default:
    return acc;
  }
}

/* Integer (and bool) reduction of one group into out[k]: exact, wrapping. */
static void reduce_i(RdOp op, const RtValue *x, uint64_t base, const uint64_t *inner, uint64_t n,
                     RtValue *out, uint64_t k) {
  ElemType e = x->elem;
  bool sgn = ir_elem(e)->is_signed, u64 = e == ELEM_UINT64;
  if (op == R_MAX || op == R_MIN) {
    /* identity: the type's lowest (for max) or highest (for min) value */
    int64_t lo, hi;
    ir_elem_int_limits(e, &lo, &hi);
    int64_t best = op == R_MAX ? lo : hi;
    for (uint64_t i = 0; i < n; i++) {
      int64_t v = rt_get_i64(x, base + inner[i]);
      bool gt = u64 ? (uint64_t)v > (uint64_t)best : v > best;
      bool lt = u64 ? (uint64_t)v < (uint64_t)best : v < best;
      if (op == R_MAX ? gt : lt) best = v;
    }
    rt_set_i64(out, k, best);
    return;
  }
  if (op == R_MEAN || op == R_L2 || op == R_LOGSUM || op == R_LSE) {
    /* through double, truncated like numpy's astype */
    rt_set_f64(out, k, reduce_f(op, x, base, inner, n));
    return;
  }
  uint64_t acc = op == R_PROD ? 1 : 0;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t v = rt_get_u64(x, base + inner[i]);
    switch (op) {
    case R_SUM:
      acc += v;
      break;
    case R_PROD:
      acc *= v;
      break;
    case R_L1:
      acc += sgn && (int64_t)v < 0 ? (uint64_t)0 - v : v;
      break;
    case R_SUMSQ:
      acc += v * v;
      break;
    default:
      break;
    }
  }
  rt_set_i64(out, k, (int64_t)acc);
}

static int reduce(RtCtx *c, RdOp op) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  if (!rd_numeric(x->elem))
    return rt_error(c, "input type %s is not supported", ir_elem(x->elem)->name);
  if (x->elem == ELEM_BOOL && op != R_MAX && op != R_MIN)
    return rt_error(c, "bool input is only supported by ReduceMax and ReduceMin");
  int64_t axes[RT_MAX_RANK];
  size_t n_axes = 0;
  bool noop = false;
  if (c->op->since >= axes_input_since(op)) {
    if (c->n_in > 1 && c->in[1]) {
      if (c->in[1]->numel > (uint64_t)x->rank)
        return rt_error(c, "%llu axes for a rank-%d input", (unsigned long long)c->in[1]->numel,
                        x->rank);
      if (!rt_in_ints(c, 1, axes, RT_MAX_RANK, &n_axes)) return -1;
    }
    noop = rt_attr_int(c, "noop_with_empty_axes", 0) != 0;
  } else {
    const int64_t *a = rt_attr_ints(c, "axes", &n_axes);
    if (n_axes > (size_t)x->rank)
      return rt_error(c, "%zu axes for a rank-%d input", n_axes, x->rank);
    if (a) memcpy(axes, a, n_axes * sizeof *a);
  }
  bool keep = rt_attr_int(c, "keepdims", 1) != 0;
  bool sel[RT_MAX_RANK] = {false};
  for (size_t i = 0; i < n_axes; i++) {
    int a;
    if (!rt_axis(c, axes[i], x->rank, &a)) return -1;
    sel[a] = true;
  }
  if (n_axes == 0 && !noop)
    for (int a = 0; a < x->rank; a++) sel[a] = true;
  int64_t od[RT_MAX_RANK];
  int orank = 0;
  for (int a = 0; a < x->rank; a++) {
    if (!sel[a])
      od[orank++] = x->dims[a];
    else if (keep)
      od[orank++] = 1;
  }
  RdSplit s;
  if (!rd_split(c, x->rank, x->dims, sel, &s)) return -1;
  RtValue *out = rt_out(c, 0, x->elem, orank, od);
  if (!out) {
    rd_split_free(&s);
    return -1;
  }
  bool fl = ir_elem(x->elem)->is_float;
  for (uint64_t k = 0; k < s.n_outer; k++) {
    if (fl)
      rt_set_f64(out, k, reduce_f(op, x, s.outer[k], s.inner, s.n_inner));
    else
      reduce_i(op, x, s.outer[k], s.inner, s.n_inner, out, k);
  }
  rd_split_free(&s);
  return 0;
}

int rt_k_ReduceSum(RtCtx *c) {
  return reduce(c, R_SUM);
}
int rt_k_ReduceMean(RtCtx *c) {
  return reduce(c, R_MEAN);
}
int rt_k_ReduceProd(RtCtx *c) {
  return reduce(c, R_PROD);
}
int rt_k_ReduceMax(RtCtx *c) {
  return reduce(c, R_MAX);
}
int rt_k_ReduceMin(RtCtx *c) {
  return reduce(c, R_MIN);
}
int rt_k_ReduceL1(RtCtx *c) {
  return reduce(c, R_L1);
}
int rt_k_ReduceL2(RtCtx *c) {
  return reduce(c, R_L2);
}
int rt_k_ReduceSumSquare(RtCtx *c) {
  return reduce(c, R_SUMSQ);
}
int rt_k_ReduceLogSum(RtCtx *c) {
  return reduce(c, R_LOGSUM);
}
int rt_k_ReduceLogSumExp(RtCtx *c) {
  return reduce(c, R_LSE);
}

/* ------------------------------------------------------------------ ArgMax / ArgMin */

/* Whether element a of x is strictly greater than element b (NaN counts as greatest,
 * so the first NaN wins as in numpy). */
static bool elem_greater(const RtValue *x, uint64_t a, uint64_t b) {
  if (ir_elem(x->elem)->is_float) {
    double va = rt_get_f64(x, a), vb = rt_get_f64(x, b);
    if (isnan(vb)) return false;
    return isnan(va) || va > vb;
  }
  if (x->elem == ELEM_UINT64) return rt_get_u64(x, a) > rt_get_u64(x, b);
  return rt_get_i64(x, a) > rt_get_i64(x, b);
}

static bool elem_less(const RtValue *x, uint64_t a, uint64_t b) {
  if (ir_elem(x->elem)->is_float) {
    double va = rt_get_f64(x, a), vb = rt_get_f64(x, b);
    if (isnan(vb)) return false;
    return isnan(va) || va < vb;
  }
  if (x->elem == ELEM_UINT64) return rt_get_u64(x, a) < rt_get_u64(x, b);
  return rt_get_i64(x, a) < rt_get_i64(x, b);
}

static bool elem_equal(const RtValue *x, uint64_t a, uint64_t b) {
  if (ir_elem(x->elem)->is_float) {
    double va = rt_get_f64(x, a), vb = rt_get_f64(x, b);
    return va == vb || (isnan(va) && isnan(vb));
  }
  return rt_get_u64(x, a) == rt_get_u64(x, b);
}

/* Index within a group of its maximum (is_max) or minimum, first or last among ties. */
static uint64_t arg_best(const RtValue *x, uint64_t base, const uint64_t *inner, uint64_t n,
                         bool is_max, bool last) {
  uint64_t best = 0;
  for (uint64_t i = 1; i < n; i++) {
    uint64_t a = base + inner[i], b = base + inner[best];
    bool better = is_max ? elem_greater(x, a, b) : elem_less(x, a, b);
    if (better || (last && elem_equal(x, a, b))) best = i;
  }
  return best;
}

static int arg_extreme(RtCtx *c, bool is_max) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  if (!rd_numeric(x->elem))
    return rt_error(c, "input type %s is not supported", ir_elem(x->elem)->name);
  int axis;
  if (!rt_axis(c, rt_attr_int(c, "axis", 0), x->rank < 1 ? 1 : x->rank, &axis)) return -1;
  if (x->rank == 0) return rt_error(c, "input must have rank >= 1");
  bool keep = rt_attr_int(c, "keepdims", 1) != 0;
  bool last = c->op->since >= 12 && rt_attr_int(c, "select_last_index", 0) != 0;
  if (x->dims[axis] == 0) return rt_error(c, "cannot take the arg-extreme of an empty axis");
  bool sel[RT_MAX_RANK] = {false};
  sel[axis] = true;
  int64_t od[RT_MAX_RANK];
  int orank = 0;
  for (int a = 0; a < x->rank; a++) {
    if (a != axis)
      od[orank++] = x->dims[a];
    else if (keep)
      od[orank++] = 1;
  }
  RdSplit s;
  if (!rd_split(c, x->rank, x->dims, sel, &s)) return -1;
  RtValue *out = rt_out(c, 0, ELEM_INT64, orank, od);
  if (out)
    for (uint64_t k = 0; k < s.n_outer; k++)
      rt_set_i64(out, k, (int64_t)arg_best(x, s.outer[k], s.inner, s.n_inner, is_max, last));
  rd_split_free(&s);
  return out ? 0 : -1;
}

int rt_k_ArgMax(RtCtx *c) {
  return arg_extreme(c, true);
}
int rt_k_ArgMin(RtCtx *c) {
  return arg_extreme(c, false);
}

/* ------------------------------------------------------------------ Softmax family */

typedef enum { SM_SOFTMAX, SM_LOGSOFTMAX, SM_HARDMAX } SmOp;

static int softmax_like(RtCtx *c, SmOp op) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  if (!ir_elem(x->elem)->is_float || !rd_numeric(x->elem))
    return rt_error(c, "input type %s is not supported", ir_elem(x->elem)->name);
  bool coerce = c->op->since < 13; /* before 13: flatten to 2-D at axis */
  int64_t ax = rt_attr_int(c, "axis", coerce ? 1 : -1);
  int axis = 0;
  bool sel[RT_MAX_RANK] = {false};
  if (x->rank == 0) {
    if (ax != 0 && ax != -1 && !(coerce && ax == 1)) return rt_error(c, "axis out of range");
  } else if (coerce) {
    if (ax < -(int64_t)x->rank || ax > x->rank)
      return rt_error(c, "axis %lld is out of range", (long long)ax);
    axis = (int)(ax < 0 ? ax + x->rank : ax);
    for (int a = axis; a < x->rank; a++) sel[a] = true;
  } else {
    if (!rt_axis(c, ax, x->rank, &axis)) return -1;
    sel[axis] = true;
  }
  RdSplit s;
  if (!rd_split(c, x->rank, x->dims, sel, &s)) return -1;
  RtValue *y = rt_out(c, 0, x->elem, x->rank, x->dims);
  double *buf = malloc((s.n_inner ? s.n_inner : 1) * sizeof *buf);
  if (!buf) abort();
  for (uint64_t k = 0; y && k < s.n_outer; k++) {
    uint64_t base = s.outer[k], n = s.n_inner;
    if (op == SM_HARDMAX) {
      uint64_t best = n ? arg_best(x, base, s.inner, n, true, false) : 0;
      for (uint64_t i = 0; i < n; i++) rt_set_f64(y, base + s.inner[i], i == best ? 1 : 0);
      continue;
    }
    double m = -INFINITY, sum = 0;
    for (uint64_t i = 0; i < n; i++) {
      buf[i] = rt_get_f64(x, base + s.inner[i]);
      if (buf[i] > m || isnan(buf[i])) m = buf[i];
      if (isnan(m)) break;
    }
    /* 16-bit Softmax rounds each step to the element type as numpy does (x - max, exp,
     * and for bfloat16 every partial sum, as ml_dtypes reduces step by step); wider types
     * compute in double and round once. */
    bool step = op == SM_SOFTMAX && (x->elem == ELEM_FLOAT16 || x->elem == ELEM_BFLOAT16);
    for (uint64_t i = 0; i < n; i++) {
      buf[i] = rt_get_f64(x, base + s.inner[i]) - m;
      if (step) {
        buf[i] = rt_round_to(x->elem, exp(rt_round_to(x->elem, buf[i])));
        sum = x->elem == ELEM_BFLOAT16 ? rt_round_to(x->elem, sum + buf[i]) : sum + buf[i];
      } else {
        sum += exp(buf[i]);
      }
    }
    if (step) sum = rt_round_to(x->elem, sum);
    for (uint64_t i = 0; i < n; i++)
      rt_set_f64(y, base + s.inner[i],
                 step ? buf[i] / sum : op == SM_SOFTMAX ? exp(buf[i]) / sum : buf[i] - log(sum));
  }
  free(buf);
  rd_split_free(&s);
  return y ? 0 : -1;
}

int rt_k_Softmax(RtCtx *c) {
  return softmax_like(c, SM_SOFTMAX);
}
int rt_k_LogSoftmax(RtCtx *c) {
  return softmax_like(c, SM_LOGSOFTMAX);
}
int rt_k_Hardmax(RtCtx *c) {
  return softmax_like(c, SM_HARDMAX);
}

/* ------------------------------------------------------------------ CumSum / CumProd */

static int cumulative(RtCtx *c, bool prod) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  if (!rd_numeric(x->elem) || x->elem == ELEM_BOOL)
    return rt_error(c, "input type %s is not supported", ir_elem(x->elem)->name);
  int64_t av[1];
  size_t na;
  if (c->n_in < 2 || !c->in[1] || c->in[1]->numel != 1 || !rt_in_ints(c, 1, av, 1, &na) || na != 1)
    return rt_error(c, "axis must be a one-element int32 or int64 tensor");
  int axis;
  if (x->rank == 0) return rt_error(c, "input must have rank >= 1");
  if (!rt_axis(c, av[0], x->rank, &axis)) return -1;
  bool excl = rt_attr_int(c, "exclusive", 0) != 0, rev = rt_attr_int(c, "reverse", 0) != 0;
  bool sel[RT_MAX_RANK] = {false};
  sel[axis] = true;
  RdSplit s;
  if (!rd_split(c, x->rank, x->dims, sel, &s)) return -1;
  RtValue *y = rt_out(c, 0, x->elem, x->rank, x->dims);
  bool fl = ir_elem(x->elem)->is_float;
  for (uint64_t k = 0; y && k < s.n_outer; k++) {
    double fa = prod ? 1 : 0;
    uint64_t ia = prod ? 1 : 0;
    for (uint64_t j = 0; j < s.n_inner; j++) {
      uint64_t at = s.outer[k] + s.inner[rev ? s.n_inner - 1 - j : j];
      if (excl) {
        if (fl)
          rt_set_f64(y, at, fa);
        else
          rt_set_i64(y, at, (int64_t)ia);
      }
      if (fl) {
        double v = rt_get_f64(x, at);
        fa = prod ? fa * v : fa + v;
      } else {
        uint64_t v = rt_get_u64(x, at);
        ia = prod ? ia * v : ia + v;
      }
      if (!excl) {
        if (fl)
          rt_set_f64(y, at, fa);
        else
          rt_set_i64(y, at, (int64_t)ia);
      }
    }
  }
  rd_split_free(&s);
  return y ? 0 : -1;
}

int rt_k_CumSum(RtCtx *c) {
  return cumulative(c, false);
}
int rt_k_CumProd(RtCtx *c) {
  return cumulative(c, true);
}
