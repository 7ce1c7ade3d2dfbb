/* calib.c - the calibration library (calib.h): .npy calibration sets, batched runs through
 * the reference interpreter with a per-node hook, min/max and histogram statistics, and the
 * range choices (min-max, percentile, entropy as TensorRT's KL search, MSE). */
#include "calib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ the set */

static int load_one(const Model *m, int idx, const char *path, CalibSet *s, Diag *d) {
  Value *in = m->graph->inputs[idx];
  ElemType want = in->type && in->type->kind == TYPE_TENSOR ? in->type->elem : ELEM_UNDEFINED;
  if (s->inputs[idx]) {
    ir_error(d, ir_noloc, "calibration data: input '%s' given twice", in->name);
    return -1;
  }
  Arena a;
  ir_arena_init(&a);
  Tensor *t = ir_npy_read(&a, path, want, d);
  int rc = -1;
  if (!t) goto out;
  if (t->rank < 1 || t->elem == ELEM_STRING || ir_elem(t->elem)->bits < 8) {
    ir_error(d, ir_noloc, "%s: calibration data for input '%s' needs a batch dimension and a "
             "numeric element type of 8 bits or more", path, in->name);
    goto out;
  }
  if (want != ELEM_UNDEFINED && t->elem != want) {
    ir_error(d, ir_noloc, "%s: element type %s, but input '%s' is %s", path,
             ir_elem(t->elem)->name, in->name, ir_elem(want)->name);
    goto out;
  }
  RtValue *w = rt_tensor_wrap(t);
  s->inputs[idx] = w ? rt_tensor_copy(w) : NULL;
  rt_unref(w);
  if (!s->inputs[idx]) {
    ir_error(d, ir_noloc, "%s: cannot hold the calibration data", path);
    goto out;
  }
  rc = 0;
out:
  ir_arena_free(&a);
  return rc;
}

int calib_set_load(const Model *m, const char *spec, int64_t samples, CalibSet *s, Diag *d) {
  const Graph *g = m->graph;
  memset(s, 0, sizeof *s);
  s->n_inputs = g->n_inputs;
  s->inputs = calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *s->inputs);
  if (!s->inputs) abort();
  if (!spec || !*spec) {
    ir_error(d, ir_noloc, "calibration needs data=X.npy");
    return -1;
  }
  char *buf = strdup(spec);
  if (!buf) abort();
  char *p = buf;
  if (*p == '[') p++;
  size_t L = strlen(p);
  if (L && p[L - 1] == ']') p[L - 1] = 0;
  int rc = 0;
  for (char *item = strtok(p, ","); item && !rc; item = strtok(NULL, ",")) {
    int idx = -1;
    char *eq = strchr(item, '=');
    if (eq) { /* name=path when the name is an input */
      *eq = 0;
      for (int i = 0; i < g->n_inputs; i++)
        if (!strcmp(g->inputs[i]->name, item)) idx = i;
      if (idx < 0) *eq = '=';
    }
    if (idx >= 0) {
      rc = load_one(m, idx, eq + 1, s, d);
      continue;
    }
    for (int i = 0; i < g->n_inputs; i++) {
      if (g->inputs[i]->init) continue;
      if (idx >= 0) {
        ir_error(d, ir_noloc, "calibration data '%s': the model has several inputs; name them "
                 "(data=[%s=X.npy,...])", item, g->inputs[idx]->name);
        rc = -1;
        break;
      }
      idx = i;
    }
    if (!rc && idx < 0) {
      ir_error(d, ir_noloc, "calibration data '%s': the model has no input to feed", item);
      rc = -1;
    }
    if (!rc) rc = load_one(m, idx, item, s, d);
  }
  free(buf);
  if (rc) return -1;
  s->samples = -1;
  for (int i = 0; i < g->n_inputs; i++) {
    if (!s->inputs[i]) {
      if (g->inputs[i]->init) continue;
      ir_error(d, ir_noloc, "calibration data: no file for input '%s'", g->inputs[i]->name);
      return -1;
    }
    if (s->samples < 0 || s->inputs[i]->dims[0] < s->samples) s->samples = s->inputs[i]->dims[0];
  }
  if (s->samples <= 0) {
    ir_error(d, ir_noloc, "calibration data: no samples");
    return -1;
  }
  if (samples > 0 && samples < s->samples) s->samples = samples;
  return 0;
}

void calib_set_free(CalibSet *s) {
  for (int i = 0; i < s->n_inputs; i++) rt_unref(s->inputs[i]);
  free(s->inputs);
  memset(s, 0, sizeof *s);
}

/* Rows [start, start+count) of x along dim 0, a new tensor. */
static RtValue *rows(const RtValue *x, int64_t start, int64_t count) {
  int64_t dims[RT_MAX_RANK];
  memcpy(dims, x->dims, (size_t)x->rank * sizeof *dims);
  dims[0] = count;
  RtValue *r = rt_tensor_new(x->elem, x->rank, dims);
  if (!r || !x->dims[0]) return r;
  size_t row = x->nbytes / (size_t)x->dims[0];
  memcpy(r->data, (const char *)x->data + (size_t)start * row, (size_t)count * row);
  return r;
}

int calib_run_rows(RtInterp *ip, const Model *m, const CalibSet *s, int64_t start,
                   int64_t count, RtValue **outs) {
  const Graph *g = m->graph;
  RtValue **ins = calloc((size_t)g->n_inputs + 1, sizeof *ins);
  RtValue **o = outs ? outs : calloc((size_t)g->n_outputs + 1, sizeof *o);
  if (!ins || !o) abort();
  for (int i = 0; i < g->n_inputs; i++)
    if (s->inputs[i]) ins[i] = rows(s->inputs[i], start, count);
  int rc = rt_interp_run(ip, ins, o);
  for (int i = 0; i < g->n_inputs; i++) rt_unref(ins[i]);
  free(ins);
  if (!outs) {
    for (int i = 0; rc == 0 && i < g->n_outputs; i++) rt_unref(o[i]);
    free(o);
  }
  return rc;
}

/* The largest batch the model takes: a fixed first dim of an input caps it. */
static int64_t batch_of(const Model *m, const CalibSet *s, int64_t batch) {
  if (batch <= 0 || batch > s->samples) batch = s->samples;
  for (int i = 0; i < m->graph->n_inputs; i++) {
    const Type *t = m->graph->inputs[i]->type;
    if (s->inputs[i] && t && t->kind == TYPE_TENSOR && t->rank >= 1 && !t->dims[0].param &&
        t->dims[0].value > 0 && t->dims[0].value < batch)
      batch = t->dims[0].value;
  }
  return batch;
}

int calib_run(Model *m, const CalibSet *s, int64_t batch, CalibObserve fn, void *ctx, Diag *d) {
  RtOptions o = {.check_types = true, .observe = fn, .observe_ctx = ctx};
  RtInterp *ip = rt_interp_new(m, &o, d);
  if (!ip) return -1;
  batch = batch_of(m, s, batch);
  int rc = 0;
  for (int64_t r = 0; r < s->samples && !rc; r += batch) {
    int64_t n = s->samples - r < batch ? s->samples - r : batch;
    if (batch_of(m, s, s->samples) < s->samples && n < batch) break; /* fixed batch: whole ones */
    rc = calib_run_rows(ip, m, s, r, n, NULL);
  }
  rt_interp_free(ip);
  return rc;
}

/* ------------------------------------------------------------------ statistics */

void calib_hist_add(CalibHist *h, const RtValue *v, bool hist) {
  if (!v || v->kind != TYPE_TENSOR || !ir_elem(v->elem)->is_float || v->elem == ELEM_COMPLEX64 ||
      v->elem == ELEM_COMPLEX128)
    return;
  const float *f = v->elem == ELEM_FLOAT ? v->data : NULL;
  double w = h->amax / CALIB_BINS;
  for (uint64_t i = 0; i < v->numel; i++) {
    double x = f ? f[i] : rt_get_f64(v, i);
    if (isnan(x)) continue;
    if (!hist) {
      if (h->count == 0 || x < h->min) h->min = x;
      if (h->count == 0 || x > h->max) h->max = x;
      h->count++;
      continue;
    }
    int64_t b = (int64_t)(fabs(x) / w);
    if (b >= CALIB_BINS) b = CALIB_BINS - 1;
    h->bins[x < 0 ? CALIB_BINS - 1 - b : CALIB_BINS + b] += 1;
  }
}

typedef struct Collect {
  CalibStats *st;
  const Graph *g;
  const Node **first_user; /* graph inputs: the node whose inputs count them (by value id) */
  bool hist;
} Collect;

static void collect_cb(void *ctx, const Node *n, RtValue *const *ins, RtValue *const *outs) {
  Collect *c = ctx;
  if (n->graph != c->g) return;
  for (int i = 0; i < n->n_outputs; i++) {
    Value *v = n->outputs[i];
    if (v && v->id < c->st->n && c->st->v[v->id] && (!c->hist || c->st->v[v->id]->bins))
      calib_hist_add(c->st->v[v->id], outs[i], c->hist);
  }
  for (int i = 0; i < n->n_inputs; i++) {
    Value *v = n->inputs[i];
    if (v && v->id < c->st->n && c->first_user[v->id] == n && c->st->v[v->id] &&
        (!c->hist || c->st->v[v->id]->bins))
      calib_hist_add(c->st->v[v->id], ins[i], c->hist);
  }
}

/* Without a `want` list: every value whose type is not known to be something else than a
 * float tensor (types may not be inferred; the kernels' outputs decide). */
static bool float_tensor_value(const Value *v) {
  const Type *t = v ? v->type : NULL;
  return v && (!t || (t->kind == TYPE_TENSOR && ir_elem(t->elem)->is_float));
}

int calib_collect(Model *m, const CalibSet *s, int64_t batch, const bool *want, bool hist,
                  CalibStats *st, Diag *d) {
  Graph *g = m->graph;
  st->n = m->next_value_id;
  st->v = calloc(st->n + 1, sizeof *st->v);
  Collect c = {st, g, calloc(st->n + 1, sizeof *c.first_user), false};
  if (!st->v || !c.first_user) abort();
  for (size_t k = 0; k < g->nodes.n; k++) {
    Node *n = g->nodes.v[k];
    for (int i = 0; i < n->n_outputs; i++) {
      Value *v = n->outputs[i];
      if (v && v->id < st->n && (want ? want[v->id] : float_tensor_value(v)) && !st->v[v->id])
        st->v[v->id] = calloc(1, sizeof(CalibHist));
    }
    for (int i = 0; i < n->n_inputs; i++) {
      Value *v = n->inputs[i];
      if (!v || v->producer || !pass_is_graph_input(g, v) || v->id >= st->n) continue;
      if (!c.first_user[v->id]) c.first_user[v->id] = n;
      if ((want ? want[v->id] : float_tensor_value(v)) && !st->v[v->id])
        st->v[v->id] = calloc(1, sizeof(CalibHist));
    }
  }
  int rc = calib_run(m, s, batch, collect_cb, &c, d);
  if (!rc && hist) {
    for (uint32_t i = 0; i < st->n; i++) {
      CalibHist *h = st->v[i];
      if (!h || !h->count) continue;
      h->amax = fmax(fabs(h->min), fabs(h->max));
      if (!(h->amax > 0) || !isfinite(h->amax)) h->amax = 1;
      h->bins = calloc(2 * CALIB_BINS, sizeof *h->bins);
      if (!h->bins) abort();
    }
    c.hist = true;
    rc = calib_run(m, s, batch, collect_cb, &c, d);
  }
  free(c.first_user);
  return rc;
}

void calib_stats_free(CalibStats *st) {
  for (uint32_t i = 0; i < st->n; i++)
    if (st->v[i]) free(st->v[i]->bins), free(st->v[i]);
  free(st->v);
  memset(st, 0, sizeof *st);
}

/* ------------------------------------------------------------------ range choices */

bool calib_method_parse(const char *s, CalibMethod *m) {
  static const char *const names[] = {"minmax", "percentile", "entropy", "mse"};
  for (int i = 0; i < 4; i++)
    if (!strcmp(s, names[i])) {
      *m = (CalibMethod)i;
      return true;
    }
  return false;
}

/* The value below which a fraction q of the n bins' mass lies (bins of width w from lo),
 * interpolated linearly inside the bin. */
static double quantile(const double *b, int n, double lo, double w, double q) {
  double tot = 0;
  for (int i = 0; i < n; i++) tot += b[i];
  double want = q * tot, acc = 0;
  for (int i = 0; i < n; i++) {
    if (b[i] > 0 && acc + b[i] >= want) return lo + w * (i + (want - acc) / b[i]);
    acc += b[i];
  }
  return lo + w * n;
}

/* TensorRT's entropy calibration: the threshold (in bins) of the |x| histogram a[0..n)
 * whose `nq`-level quantization loses the least information (KL divergence). */
static int kl_threshold(const double *a, int n, int nq) {
  double *p = malloc((size_t)n * sizeof *p), *q = malloc((size_t)n * sizeof *q);
  if (!p || !q) abort();
  double best = INFINITY;
  int best_i = n;
  double tail = 0;
  for (int i = 0; i < n; i++) tail += a[i];
  double head = 0;
  for (int i = 0; i < nq && i < n; i++) head += a[i];
  for (int i = nq; i <= n; i++) {
    if (i > nq) head += a[i - 1];
    double outl = tail - head; /* mass beyond bin i */
    memcpy(p, a, (size_t)i * sizeof *p);
    p[i - 1] += outl;
    /* Q: a[0..i) merged into nq chunks, each spread over the chunk's nonzero bins */
    for (int k = 0; k < nq; k++) {
      int b0 = (int)((int64_t)k * i / nq), b1 = (int)((int64_t)(k + 1) * i / nq);
      double sum = 0;
      int nz = 0;
      for (int j = b0; j < b1; j++) sum += a[j], nz += a[j] > 0;
      for (int j = b0; j < b1; j++) q[j] = a[j] > 0 ? sum / nz : 0;
    }
    double ps = 0, qs = 0;
    for (int j = 0; j < i; j++) ps += p[j], qs += q[j];
    if (!(ps > 0) || !(qs > 0)) continue;
    double kl = 0;
    for (int j = 0; j < i; j++) {
      if (p[j] <= 0) continue;
      double pj = p[j] / ps, qj = q[j] / qs;
      kl += pj * log(pj / (qj > 0 ? qj : 1e-12 / qs));
    }
    if (kl < best) best = kl, best_i = i;
  }
  free(p), free(q);
  return best_i;
}

/* Expected squared error of quantizing the histogram on [lo, hi] with `levels` steps:
 * s^2/12 per element inside, the distance to the edge squared outside. */
static double range_mse(const CalibHist *h, double lo, double hi, int levels) {
  double s = (hi - lo) / levels, w = h->amax / CALIB_BINS, e = 0;
  for (int j = 0; j < 2 * CALIB_BINS; j++) {
    if (h->bins[j] <= 0) continue;
    double c = -h->amax + (j + 0.5) * w;
    double out = c < lo ? lo - c : c > hi ? c - hi : 0;
    e += h->bins[j] * (out > 0 ? out * out : s * s / 12);
  }
  return e;
}

void calib_range(const CalibHist *h, CalibMethod m, double pct, bool sym, int levels,
                 double *lo, double *hi) {
  double mn = fmin(h->min, 0), mx = fmax(h->max, 0);
  double t = fmax(-mn, mx);
  if (m != CALIB_MINMAX && !h->bins) m = CALIB_MINMAX;
  double w = h->bins ? h->amax / CALIB_BINS : 0;
  double *a = NULL;
  if (h->bins) { /* the |x| histogram */
    a = malloc(CALIB_BINS * sizeof *a);
    if (!a) abort();
    for (int i = 0; i < CALIB_BINS; i++) a[i] = h->bins[CALIB_BINS + i] + h->bins[CALIB_BINS - 1 - i];
  }
  if (pct <= 0 || pct > 100) pct = 100;
  switch (m) {
  case CALIB_MINMAX:
    break;
  case CALIB_PERCENTILE:
    if (sym) {
      t = fmin(t, quantile(a, CALIB_BINS, 0, w, pct / 100));
    } else {
      mn = fmin(0, fmax(mn, quantile(h->bins, 2 * CALIB_BINS, -h->amax, w, 1 - pct / 100)));
      mx = fmax(0, fmin(mx, quantile(h->bins, 2 * CALIB_BINS, -h->amax, w, pct / 100)));
    }
    break;
  case CALIB_ENTROPY: {
    bool nonneg = h->min >= 0;
    int nq = sym || !nonneg ? (levels + 1) / 2 : levels + 1;
    double thr = (kl_threshold(a, CALIB_BINS, nq > CALIB_BINS ? CALIB_BINS : nq) + 0.5) * w;
    t = fmin(t, thr);
    mn = fmax(mn, -thr), mx = fmin(mx, thr);
    break;
  }
  case CALIB_MSE: {
    double L = sym ? -t : mn, H = sym ? t : mx, best = INFINITY, bf = 1;
    for (int k = 200; k >= 1; k--) {
      double f = k / 200.0, e = range_mse(h, f * L, f * H, levels);
      if (e < best) best = e, bf = f;
    }
    t *= bf, mn *= bf, mx *= bf;
    break;
  }
  }
  free(a);
  if (sym) mn = -t, mx = t;
  if (!(mx - mn > 0) || !isfinite(mx - mn)) { /* all zeros (or nothing seen) */
    mn = sym ? -1 : 0;
    mx = 1;
  }
  *lo = mn, *hi = mx;
}
