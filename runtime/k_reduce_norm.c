/* k_reduce_norm.c - normalizations (Layer, RMS, Group, Instance, Batch, LRN, Lp,
 * MeanVariance) and the losses NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.
 * Statistics are computed in double over groups of elements and rounded once per output. */
#include "k_reduce.h"

/* Mean and population variance of one group (two passes). */
static void group_moments(const RtValue *x, uint64_t base, const uint64_t *inner, uint64_t n,
                          double *mean, double *var) {
  double s = 0, q = 0;
  for (uint64_t i = 0; i < n; i++) s += rt_get_f64(x, base + inner[i]);
  double m = s / (double)n;
  for (uint64_t i = 0; i < n; i++) {
    double d = rt_get_f64(x, base + inner[i]) - m;
    q += d * d;
  }
  *mean = m;
  *var = q / (double)n;
}

/* Element strides of p broadcast (numpy, right-aligned) onto x's shape: 0 on broadcast
 * axes. False after reporting when p does not broadcast to x. */
static bool bcast_strides(RtCtx *c, const RtValue *x, const RtValue *p, const char *what,
                          int64_t *st) {
  if (p->rank > x->rank) {
    rt_error(c, "%s has rank %d, above the input's %d", what, p->rank, x->rank);
    return false;
  }
  int64_t ps[RT_MAX_RANK];
  rt_strides(p->rank, p->dims, ps);
  int off = x->rank - p->rank;
  for (int a = 0; a < x->rank; a++) {
    st[a] = 0;
    if (a < off) continue;
    int64_t d = p->dims[a - off];
    if (d == x->dims[a])
      st[a] = ps[a - off];
    else if (d != 1) {
      char b1[64], b2[64];
      rt_error(c, "%s %s does not broadcast to the input %s", what, rt_shape_str(p, b1, sizeof b1),
               rt_shape_str(x, b2, sizeof b2));
      return false;
    }
  }
  return true;
}

/* Linear index in a broadcast operand (strides from bcast_strides) of x's element i. */
static uint64_t bcast_at(const RtValue *x, const int64_t *st, uint64_t i) {
  uint64_t o = 0;
  for (int a = x->rank - 1; a >= 0; a--) {
    uint64_t d = (uint64_t)x->dims[a];
    o += (i % d) * (uint64_t)st[a];
    i /= d;
  }
  return o;
}

/* The element type of output i: its declared type when known, else dflt. */
static ElemType out_elem(RtCtx *c, int i, ElemType dflt) {
  if (i < c->node->n_outputs && c->node->outputs[i]) {
    const Type *t = c->node->outputs[i]->type;
    if (t && t->kind == TYPE_TENSOR && ir_elem_valid(t->elem)) return t->elem;
  }
  return dflt;
}

/* ------------------------------------------------------------------ Layer / RMS */

/* LayerNormalization (rms = false) and RMSNormalization (rms = true): normalize over the
 * axes from `axis` on, then scale (and bias) broadcast onto X. */
static int layer_like(RtCtx *c, bool rms) {
  RtValue *x = rd_float_tensor(c, 0), *sc = rd_float_tensor(c, 1);
  if (!x || !sc) return -1;
  RtValue *b = !rms && c->n_in > 2 ? c->in[2] : NULL;
  if (x->rank == 0) return rt_error(c, "input must have rank >= 1");
  int axis;
  if (!rt_axis(c, rt_attr_int(c, "axis", -1), x->rank, &axis)) return -1;
  double eps = rt_attr_float(c, "epsilon", 1e-5f);
  int64_t sst[RT_MAX_RANK], bst[RT_MAX_RANK];
  if (!bcast_strides(c, x, sc, "scale", sst)) return -1;
  if (b && !bcast_strides(c, x, b, "bias", bst)) return -1;
  bool sel[RT_MAX_RANK] = {false};
  for (int a = axis; a < x->rank; a++) sel[a] = true;
  int64_t sd[RT_MAX_RANK];
  for (int a = 0; a < x->rank; a++) sd[a] = sel[a] ? 1 : x->dims[a];
  RdSplit s;
  if (!rd_split(c, x->rank, x->dims, sel, &s)) return -1;
  RtValue *y = rt_out(c, 0, x->elem, x->rank, x->dims);
  ElemType st = (ElemType)rt_attr_int(c, "stash_type", 1);
  if (!ir_elem_valid(st) || !ir_elem(st)->is_float) st = ELEM_FLOAT;
  RtValue *mo = NULL, *io = NULL;
  if (y && !rms && rd_wants(c, 1)) mo = rt_out(c, 1, out_elem(c, 1, st), x->rank, sd);
  if (y && !rms && rd_wants(c, 2)) io = rt_out(c, 2, out_elem(c, 2, st), x->rank, sd);
  for (uint64_t k = 0; y && k < s.n_outer; k++) {
    double mean = 0, var;
    if (rms) {
      double q = 0;
      for (uint64_t i = 0; i < s.n_inner; i++) {
        double v = rt_get_f64(x, s.outer[k] + s.inner[i]);
        q += v * v;
      }
      var = q / (double)s.n_inner;
    } else {
      group_moments(x, s.outer[k], s.inner, s.n_inner, &mean, &var);
    }
    double inv = 1.0 / sqrt(var + eps);
    if (mo) rt_set_f64(mo, k, mean);
    if (io) rt_set_f64(io, k, inv);
    for (uint64_t i = 0; i < s.n_inner; i++) {
      uint64_t at = s.outer[k] + s.inner[i];
      double v = (rt_get_f64(x, at) - mean) * inv * rt_get_f64(sc, bcast_at(x, sst, at));
      if (b) v += rt_get_f64(b, bcast_at(x, bst, at));
      rt_set_f64(y, at, v);
    }
  }
  rd_split_free(&s);
  return y ? 0 : -1;
}

int rt_k_LayerNormalization(RtCtx *c) {
  return layer_like(c, false);
}
int rt_k_RMSNormalization(RtCtx *c) {
  return layer_like(c, true);
}

/* ------------------------------------------------------------------ channel-blocked norms */

/* X is [N, C, spatial...]: its channel count and spatial size; false after reporting. */
static bool nc_shape(RtCtx *c, const RtValue *x, uint64_t *n, uint64_t *ch, uint64_t *sp) {
  if (x->rank < 2) {
    rt_error(c, "input must have rank >= 2 ([N, C, ...])");
    return false;
  }
  *n = (uint64_t)x->dims[0];
  *ch = (uint64_t)x->dims[1];
  *sp = 1;
  for (int a = 2; a < x->rank; a++) *sp *= (uint64_t)x->dims[a];
  return true;
}

static bool check_numel(RtCtx *c, const RtValue *p, uint64_t want, const char *what) {
  if (p->numel != want) {
    rt_error(c, "%s has %llu elements, expected %llu", what, (unsigned long long)p->numel,
             (unsigned long long)want);
    return false;
  }
  return true;
}

/* Normalize contiguous blocks of `blk` elements of x into y: y = (x - mean) / sqrt(var +
 * eps) * scale[j] + bias[j], j = param(i) for element i. */
static void block_norm(const RtValue *x, RtValue *y, uint64_t blk, double eps, const RtValue *scale,
                       const RtValue *bias, uint64_t sp, uint64_t ch, uint64_t per_param) {
  uint64_t nb = blk ? x->numel / blk : 0;
  for (uint64_t b = 0; b < nb; b++) {
    uint64_t base = b * blk;
    double s = 0, q = 0;
    for (uint64_t i = 0; i < blk; i++) s += rt_get_f64(x, base + i);
    double m = s / (double)blk;
    for (uint64_t i = 0; i < blk; i++) {
      double d = rt_get_f64(x, base + i) - m;
      q += d * d;
    }
    double inv = 1.0 / sqrt(q / (double)blk + eps);
    for (uint64_t i = 0; i < blk; i++) {
      uint64_t at = base + i, j = (at / sp) % ch / per_param;
      rt_set_f64(y, at, (rt_get_f64(x, at) - m) * inv * rt_get_f64(scale, j) + rt_get_f64(bias, j));
    }
  }
}

int rt_k_InstanceNormalization(RtCtx *c) {
  RtValue *x = rd_float_tensor(c, 0), *sc = rd_float_tensor(c, 1), *b = rd_float_tensor(c, 2);
  uint64_t n, ch, sp;
  if (!x || !sc || !b || !nc_shape(c, x, &n, &ch, &sp)) return -1;
  if (!check_numel(c, sc, ch, "scale") || !check_numel(c, b, ch, "B")) return -1;
  RtValue *y = rt_out(c, 0, x->elem, x->rank, x->dims);
  if (!y) return -1;
  block_norm(x, y, sp, rt_attr_float(c, "epsilon", 1e-5f), sc, b, sp ? sp : 1, ch, 1);
  return 0;
}

int rt_k_GroupNormalization(RtCtx *c) {
  RtValue *x = rd_float_tensor(c, 0), *sc = rd_float_tensor(c, 1), *b = rd_float_tensor(c, 2);
  uint64_t n, ch, sp;
  if (!x || !sc || !b || !nc_shape(c, x, &n, &ch, &sp)) return -1;
  int64_t g = rt_attr_int(c, "num_groups", 0);
  if (g <= 0 || ch % (uint64_t)g)
    return rt_error(c, "num_groups %lld does not divide the %llu channels", (long long)g,
                    (unsigned long long)ch);
  uint64_t per = ch / (uint64_t)g;
  /* opset 18 has one scale/bias per group, 21 one per channel; accept either by size */
  uint64_t per_param = sc->numel == ch ? 1 : per;
  if (sc->numel != ch && sc->numel != (uint64_t)g)
    return rt_error(c, "scale has %llu elements; expected %llu (channels) or %lld (groups)",
                    (unsigned long long)sc->numel, (unsigned long long)ch, (long long)g);
  if (!check_numel(c, b, sc->numel, "bias")) return -1;
  RtValue *y = rt_out(c, 0, x->elem, x->rank, x->dims);
  if (!y) return -1;
  block_norm(x, y, per * sp, rt_attr_float(c, "epsilon", 1e-5f), sc, b, sp ? sp : 1, ch ? ch : 1,
             per_param);
  return 0;
}

int rt_k_BatchNormalization(RtCtx *c) {
  RtValue *x = rd_float_tensor(c, 0), *p[4];
  for (int i = 0; i < 4; i++)
    if (!(p[i] = rd_float_tensor(c, i + 1))) return -1;
  uint64_t n, ch, sp;
  if (!x) return -1;
  if (x->rank == 1) {
    n = (uint64_t)x->dims[0], ch = 1, sp = 1; /* [N]: one channel */
  } else if (!nc_shape(c, x, &n, &ch, &sp)) {
    return -1;
  }
  /* parameters per channel, or (spatial = 0 in old versions) per channel and position */
  uint64_t np = p[0]->numel;
  if (np != ch && np != ch * sp)
    return rt_error(c, "scale has %llu elements, expected %llu", (unsigned long long)np,
                    (unsigned long long)ch);
  for (int i = 1; i < 4; i++)
    if (!check_numel(c, p[i], np, "parameter")) return -1;
  bool train;
  if (c->op->since >= 14)
    train = rt_attr_int(c, "training_mode", 0) != 0;
  else if (c->op->since <= 6)
    train = rt_attr_int(c, "is_test", 0) == 0;
  else
    train = c->node->n_outputs > 1;
  double eps = rt_attr_float(c, "epsilon", 1e-5f), mom = rt_attr_float(c, "momentum", 0.9f);
  double *mean = calloc(np ? np : 1, sizeof *mean), *var = calloc(np ? np : 1, sizeof *var);
  if (!mean || !var) abort();
  uint64_t per_ch = np == ch; /* 1: index by channel */
#define PIDX(i) (per_ch ? ((i) / sp) % ch : (i) % (ch * sp))
  if (train) {
    uint64_t cnt = np ? x->numel / np : 0;
    for (uint64_t i = 0; i < x->numel; i++) mean[PIDX(i)] += rt_get_f64(x, i);
    for (uint64_t j = 0; j < np; j++) mean[j] /= (double)cnt;
    for (uint64_t i = 0; i < x->numel; i++) {
      double d = rt_get_f64(x, i) - mean[PIDX(i)];
      var[PIDX(i)] += d * d;
    }
    for (uint64_t j = 0; j < np; j++) var[j] /= (double)cnt;
  } else {
    for (uint64_t j = 0; j < np; j++) {
      mean[j] = rt_get_f64(p[2], j);
      var[j] = rt_get_f64(p[3], j);
    }
  }
  RtValue *y = rt_out(c, 0, x->elem, x->rank, x->dims);
  if (y)
    for (uint64_t i = 0; i < x->numel; i++) {
      uint64_t j = PIDX(i);
      rt_set_f64(y, i,
                 (rt_get_f64(x, i) - mean[j]) / sqrt(var[j] + eps) * rt_get_f64(p[0], j) +
                     rt_get_f64(p[1], j));
    }
#undef PIDX
  /* training outputs: running mean and variance, then (before 14) the batch statistics */
  for (int o = 1; y && train && o < 5; o++) {
    if (!rd_wants(c, o)) continue;
    RtValue *src = p[o == 1 || o == 3 ? 2 : 3];
    RtValue *r = rt_out(c, o, out_elem(c, o, src->elem), src->rank, src->dims);
    if (!r) {
      y = NULL;
      break;
    }
    for (uint64_t j = 0; j < np; j++) {
      double cur = o == 1 || o == 3 ? mean[j] : var[j];
      rt_set_f64(r, j, o >= 3 ? cur : rt_get_f64(src, j) * mom + cur * (1 - mom));
    }
  }
  free(mean);
  free(var);
  return y ? 0 : -1;
}

int rt_k_LRN(RtCtx *c) {
  RtValue *x = rd_float_tensor(c, 0);
  uint64_t n, ch, sp;
  if (!x || !nc_shape(c, x, &n, &ch, &sp)) return -1;
  int64_t size = rt_attr_int(c, "size", 0);
  if (size <= 0) return rt_error(c, "size must be positive");
  double alpha = rt_attr_float(c, "alpha", 1e-4f), beta = rt_attr_float(c, "beta", 0.75f),
         bias = rt_attr_float(c, "bias", 1.0f);
  int64_t lo = (size - 1) / 2, hi = size - 1 - lo; /* floor and ceil of (size-1)/2 */
  RtValue *y = rt_out(c, 0, x->elem, x->rank, x->dims);
  if (!y) return -1;
  for (uint64_t i = 0; i < x->numel; i++) {
    int64_t cc = (int64_t)((i / sp) % ch);
    uint64_t base = i - (uint64_t)cc * sp;
    double q = 0;
    for (int64_t k = cc - lo; k <= cc + hi; k++) {
      if (k < 0 || k >= (int64_t)ch) continue;
      double v = rt_get_f64(x, base + (uint64_t)k * sp);
      q += v * v;
    }
    rt_set_f64(y, i, rt_get_f64(x, i) / pow(bias + alpha / (double)size * q, beta));
  }
  return 0;
}

/* ------------------------------------------------------------------ Lp / MeanVariance */

int rt_k_LpNormalization(RtCtx *c) {
  RtValue *x = rd_float_tensor(c, 0);
  if (!x) return -1;
  if (x->rank == 0) return rt_error(c, "input must have rank >= 1");
  int axis;
  if (!rt_axis(c, rt_attr_int(c, "axis", -1), x->rank, &axis)) return -1;
  int64_t p = rt_attr_int(c, "p", 2);
  if (p != 1 && p != 2) return rt_error(c, "p must be 1 or 2, not %lld", (long long)p);
  bool sel[RT_MAX_RANK] = {false};
  sel[axis] = true;
  RdSplit s;
  if (!rd_split(c, x->rank, x->dims, sel, &s)) return -1;
  RtValue *y = rt_out(c, 0, x->elem, x->rank, x->dims);
  for (uint64_t k = 0; y && k < s.n_outer; k++) {
    double nrm = 0;
    for (uint64_t i = 0; i < s.n_inner; i++) {
      double v = rt_get_f64(x, s.outer[k] + s.inner[i]);
      nrm += p == 1 ? fabs(v) : v * v;
    }
    if (p == 2) nrm = sqrt(nrm);
    for (uint64_t i = 0; i < s.n_inner; i++) {
      uint64_t at = s.outer[k] + s.inner[i];
      rt_set_f64(y, at, nrm == 0 ? 0 : rt_get_f64(x, at) / nrm); /* all-zero lines stay 0 */
    }
  }
  rd_split_free(&s);
  return y ? 0 : -1;
}

int rt_k_MeanVarianceNormalization(RtCtx *c) {
  RtValue *x = rd_float_tensor(c, 0);
  if (!x) return -1;
  size_t na;
  static const int64_t dflt[] = {0, 2, 3};
  const int64_t *axes = rt_attr_ints(c, "axes", &na);
  if (!axes) axes = dflt, na = 3;
  bool sel[RT_MAX_RANK] = {false};
  for (size_t i = 0; i < na; i++) {
    int a;
    if (!rt_axis(c, axes[i], x->rank, &a)) return -1;
    sel[a] = true;
  }
  RdSplit s;
  if (!rd_split(c, x->rank, x->dims, sel, &s)) return -1;
  RtValue *y = rt_out(c, 0, x->elem, x->rank, x->dims);
  for (uint64_t k = 0; y && k < s.n_outer; k++) {
    double m, v;
    group_moments(x, s.outer[k], s.inner, s.n_inner, &m, &v);
    double sd = sqrt(v) + 1e-9;
    for (uint64_t i = 0; i < s.n_inner; i++) {
      uint64_t at = s.outer[k] + s.inner[i];
      rt_set_f64(y, at, (rt_get_f64(x, at) - m) / sd);
    }
  }
  rd_split_free(&s);
  return y ? 0 : -1;
}

/* ------------------------------------------------------------------ losses */

/* The negative log-likelihood of log-probabilities lp (laid out as input 0, [N, C, d...])
 * at the targets of input 1, weighted by the optional input 2, reduced into output 0. */
static int nll(RtCtx *c, const RtValue *x, const double *lp) {
  RtValue *t = rt_in_tensor(c, 1), *w = c->n_in > 2 ? c->in[2] : NULL;
  if (!t) return -1;
  if (t->elem != ELEM_INT64 && t->elem != ELEM_INT32)
    return rt_error(c, "target must be int32 or int64");
  if (x->rank < 2 || t->rank != x->rank - 1 || t->dims[0] != x->dims[0])
    return rt_error(c, "input must be [N, C, d...] and target [N, d...]");
  for (int a = 2; a < x->rank; a++)
    if (t->dims[a - 1] != x->dims[a]) return rt_error(c, "target shape does not match input");
  uint64_t ch = (uint64_t)x->dims[1], d = 1;
  for (int a = 2; a < x->rank; a++) d *= (uint64_t)x->dims[a];
  if (w && (w->kind != TYPE_TENSOR || w->rank != 1 || w->numel != ch))
    return rt_error(c, "weight must be a [C] tensor");
  const Attr *ia = rt_attr(c, "ignore_index");
  bool has_ii = ia != NULL;
  int64_t ii = has_ii ? rt_attr_int(c, "ignore_index", 0) : 0;
  const char *red = rt_attr_str(c, "reduction", "mean");
  int mode = !strcmp(red, "none") ? 0 : !strcmp(red, "sum") ? 1 : !strcmp(red, "mean") ? 2 : -1;
  if (mode < 0) return rt_error(c, "unknown reduction '%s'", red);
  RtValue *out =
      mode == 0 ? rt_out(c, 0, x->elem, t->rank, t->dims) : rt_out(c, 0, x->elem, 0, NULL);
  if (!out) return -1;
  double sum = 0, wsum = 0;
  for (uint64_t i = 0; i < t->numel; i++) {
    int64_t tg = rt_get_i64(t, i);
    double loss = 0, wt = 0;
    if (!(has_ii && tg == ii)) {
      if (tg < 0 || (uint64_t)tg >= ch)
        return rt_error(c, "target %lld is out of range [0, %llu)", (long long)tg,
                        (unsigned long long)ch);
      uint64_t nn = i / d, dd = i % d;
      wt = w ? rt_get_f64(w, (uint64_t)tg) : 1;
      loss = -lp[(nn * ch + (uint64_t)tg) * d + dd] * wt;
    }
    if (mode == 0) rt_set_f64(out, i, loss);
    sum += loss;
    wsum += wt;
  }
  if (mode == 1) rt_set_f64(out, 0, sum);
  if (mode == 2) rt_set_f64(out, 0, sum / wsum);
  return 0;
}

int rt_k_NegativeLogLikelihoodLoss(RtCtx *c) {
  RtValue *x = rd_float_tensor(c, 0);
  if (!x) return -1;
  double *lp = malloc((x->numel ? x->numel : 1) * sizeof *lp);
  if (!lp) abort();
  for (uint64_t i = 0; i < x->numel; i++) lp[i] = rt_get_f64(x, i);
  int r = nll(c, x, lp);
  free(lp);
  return r;
}

int rt_k_SoftmaxCrossEntropyLoss(RtCtx *c) {
  RtValue *x = rd_float_tensor(c, 0);
  if (!x) return -1;
  if (x->rank < 2) return rt_error(c, "scores must be [N, C, d...]");
  bool sel[RT_MAX_RANK] = {false};
  sel[1] = true;
  RdSplit s;
  if (!rd_split(c, x->rank, x->dims, sel, &s)) return -1;
  double *lp = malloc((x->numel ? x->numel : 1) * sizeof *lp);
  if (!lp) abort();
  for (uint64_t k = 0; k < s.n_outer; k++) {
    double m = -INFINITY, sum = 0;
    for (uint64_t i = 0; i < s.n_inner; i++) {
      double v = rt_get_f64(x, s.outer[k] + s.inner[i]);
      if (v > m || isnan(v)) m = v;
    }
    for (uint64_t i = 0; i < s.n_inner; i++) sum += exp(rt_get_f64(x, s.outer[k] + s.inner[i]) - m);
    for (uint64_t i = 0; i < s.n_inner; i++) {
      uint64_t at = s.outer[k] + s.inner[i];
      lp[at] = rt_get_f64(x, at) - m - log(sum);
    }
  }
  rd_split_free(&s);
  int r = nll(c, x, lp);
  if (!r && rd_wants(c, 1)) {
    RtValue *o = rt_out(c, 1, x->elem, x->rank, x->dims);
    if (!o) r = -1;
    for (uint64_t i = 0; o && i < x->numel; i++) rt_set_f64(o, i, lp[i]);
  }
  free(lp);
  return r;
}
