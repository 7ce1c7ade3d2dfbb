/* eval.c - evaluation of models on data sets over the interpreter (eval.h): batches of rows
 * run through rt_interp_run; top-1 accuracy, perplexity and SQNR accumulate over them. */
#include "eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void (*rt_eval_progress)(void *ctx, int64_t done, int64_t total);
void *rt_eval_progress_ctx;

RtValue *rt_rows(const RtValue *x, int64_t start, int64_t count) {
  if (!x || x->kind != TYPE_TENSOR || x->rank < 1 || start < 0 || count < 0 ||
      start > x->dims[0] - count)
    return NULL;
  int64_t dims[RT_MAX_RANK];
  memcpy(dims, x->dims, (size_t)x->rank * sizeof *dims);
  dims[0] = count;
  RtValue *r = rt_tensor_new(x->elem, x->rank, dims);
  if (!r || r->numel == 0) return r;
  uint64_t row = x->numel / (uint64_t)x->dims[0], first = (uint64_t)start * row;
  const ElemTraits *t = ir_elem(x->elem);
  if (x->elem == ELEM_STRING) {
    const IrStr *s = x->data;
    for (uint64_t i = 0; i < r->numel; i++) rt_str_set(r, i, s[first + i].s, s[first + i].len);
  } else if (row * (uint64_t)t->bits % 8 == 0) {
    memcpy(r->data, (const char *)x->data + first * (uint64_t)t->bits / 8, r->nbytes);
  } else { /* sub-byte rows that do not start on a byte */
    for (uint64_t i = 0; i < r->numel; i++) t->from_f64(r->data, i, t->to_f64(x->data, first + i));
  }
  return r;
}

/* One model prepared to run batches of its first input. */
typedef struct Runner {
  const char *what; /* "model", "compared model", ... for messages */
  RtInterp *in;
  RtValue **ins, **outs;
  int n_in, n_out;
} Runner;

/* The data fits the model's first input (element type, rank, known dims after the first);
 * the other inputs have initializers. A fixed first dim sets the batch size. */
static int runner_open(Runner *r, Model *m, const char *what, const RtValue *x, int64_t *batch,
                       const RtOptions *opt, Diag *d) {
  memset(r, 0, sizeof *r);
  const Graph *g = m->graph;
  if (g->n_inputs < 1) {
    ir_error(d, ir_noloc, "the %s has no input to feed the data to", what);
    return -1;
  }
  if (!x || x->kind != TYPE_TENSOR || x->rank < 1 || x->dims[0] < 1) {
    ir_error(d, ir_noloc, "the data must be a tensor with at least one row (dim 0)");
    return -1;
  }
  const Value *in = g->inputs[0];
  const Type *t = in->type;
  char want[160], got[160];
  rt_shape_str(x, got, sizeof got);
  if (t && t->kind == TYPE_TENSOR) {
    ir_type_to_str(t, want, sizeof want);
    bool ok = t->elem == ELEM_UNDEFINED || t->elem == x->elem;
    ok = ok && (t->rank < 0 || t->rank == x->rank);
    for (int i = 1; ok && t->rank > 0 && i < t->rank; i++)
      ok = t->dims[i].param || t->dims[i].value < 0 || t->dims[i].value == x->dims[i];
    if (!ok) {
      ir_error(d, ir_noloc, "data %s does not fit input '%s' (%s) of the %s", got, in->name, want, what);
      return -1;
    }
    if (t->rank > 0 && !t->dims[0].param && t->dims[0].value > 0) {
      int64_t k = t->dims[0].value;
      if (*batch == 0) *batch = k;
      if (*batch != k || x->dims[0] % k) {
        ir_error(d, ir_noloc, "input '%s' (%s) of the %s takes batches of exactly %lld rows; data %s, batch %lld",
                 in->name, want, what, (long long)k, got, (long long)*batch);
        return -1;
      }
    }
  }
  for (int i = 1; i < g->n_inputs; i++)
    if (!g->inputs[i]->init) {
      ir_error(d, ir_noloc, "input '%s' of the %s has no initializer: evaluation feeds only the first input ('%s')",
               g->inputs[i]->name, what, in->name);
      return -1;
    }
  if (*batch <= 0 || *batch > x->dims[0]) *batch = x->dims[0];
  r->what = what;
  r->in = rt_interp_new(m, opt, d);
  if (!r->in) return -1;
  r->n_in = g->n_inputs;
  r->n_out = g->n_outputs;
  r->ins = calloc((size_t)r->n_in, sizeof *r->ins);
  r->outs = calloc((size_t)r->n_out + 1, sizeof *r->outs);
  return 0;
}

static void runner_clear(Runner *r) {
  for (int i = 0; i < r->n_out; i++) {
    rt_unref(r->outs[i]);
    r->outs[i] = NULL;
  }
}

static void runner_close(Runner *r) {
  if (r->outs) runner_clear(r);
  free(r->ins);
  free(r->outs);
  if (r->in) rt_interp_free(r->in);
  memset(r, 0, sizeof *r);
}

/* Run rows [start, start+count) of x; output 0 must be a real floating-point tensor. */
static int runner_run(Runner *r, const RtValue *x, int64_t start, int64_t count, Diag *d) {
  runner_clear(r);
  r->ins[0] = rt_rows(x, start, count);
  if (!r->ins[0]) {
    ir_error(d, ir_noloc, "cannot take rows %lld..%lld of the data", (long long)start,
             (long long)(start + count));
    return -1;
  }
  int rc = rt_interp_run(r->in, r->ins, r->outs);
  rt_unref(r->ins[0]);
  r->ins[0] = NULL;
  if (rc != 0) return -1;
  const RtValue *o = r->outs[0];
  if (r->n_out < 1 || !o || o->kind != TYPE_TENSOR || !ir_elem(o->elem)->is_float ||
      o->elem == ELEM_COMPLEX64 || o->elem == ELEM_COMPLEX128 || o->rank < 1) {
    char s[160] = "nothing";
    if (o) rt_shape_str(o, s, sizeof s);
    ir_error(d, ir_noloc, "output 0 of the %s must be a real float tensor of rank >= 1, got %s",
             r->what, s);
    return -1;
  }
  return 0;
}

static void progress(int64_t done, int64_t total) {
  if (rt_eval_progress) rt_eval_progress(rt_eval_progress_ctx, done, total);
}

static bool is_int_tensor(const RtValue *v) {
  return v && v->kind == TYPE_TENSOR && v->elem != ELEM_STRING && v->elem != ELEM_BOOL &&
         !ir_elem(v->elem)->is_float;
}

int rt_eval_top1(Model *m, const RtValue *x, const RtValue *labels, int64_t batch, double *acc,
                 Diag *d) {
  char s[160];
  if (!is_int_tensor(labels) || labels->rank < 1) {
    ir_error(d, ir_noloc, "labels must be an integer tensor, got %s",
             labels ? rt_shape_str(labels, s, sizeof s) : "nothing");
    return -1;
  }
  if (x && x->kind == TYPE_TENSOR && x->rank >= 1 && labels->dims[0] != x->dims[0]) {
    ir_error(d, ir_noloc, "%lld labels for %lld data rows", (long long)labels->dims[0],
             (long long)x->dims[0]);
    return -1;
  }
  Runner r;
  RtOptions opt = {.check_types = true};
  if (runner_open(&r, m, "model", x, &batch, &opt, d) != 0) {
    runner_close(&r);
    return -1;
  }
  int64_t rows = x->dims[0], correct = 0, total = 0;
  uint64_t per_row = labels->numel / (uint64_t)labels->dims[0];
  int rc = 0;
  for (int64_t start = 0; start < rows && rc == 0; start += batch) {
    int64_t cnt = rows - start < batch ? rows - start : batch;
    if ((rc = runner_run(&r, x, start, cnt, d)) != 0) break;
    const RtValue *o = r.outs[0];
    int64_t c = o->dims[o->rank - 1];
    uint64_t n = c > 0 ? o->numel / (uint64_t)c : 0, first = (uint64_t)start * per_row;
    if (c < 1 || n != (uint64_t)cnt * per_row) {
      ir_error(d, ir_noloc, "output 0 %s of a batch of %lld rows does not match its %llu labels",
               rt_shape_str(o, s, sizeof s), (long long)cnt, (unsigned long long)((uint64_t)cnt * per_row));
      rc = -1;
      break;
    }
    for (uint64_t i = 0; i < n; i++) {
      int64_t best = 0, y = rt_get_i64(labels, first + i);
      double bv = rt_get_f64(o, i * (uint64_t)c);
      for (int64_t k = 1; k < c; k++) {
        double v = rt_get_f64(o, i * (uint64_t)c + (uint64_t)k);
        if (v > bv || (isnan(v) && !isnan(bv))) best = k, bv = v; /* first maximum; NaN wins, as numpy */
      }
      if (y < 0 || y >= c) {
        ir_error(d, ir_noloc, "label %lld (element %llu) is out of range for %lld classes",
                 (long long)y, (unsigned long long)(first + i), (long long)c);
        rc = -1;
        break;
      }
      correct += best == y;
      total++;
    }
    progress(start + cnt, rows);
  }
  runner_close(&r);
  if (rc == 0) *acc = total ? (double)correct / (double)total : 0;
  return rc;
}

int rt_eval_perplexity(Model *m, const RtValue *tokens, int64_t batch, double *ppl, Diag *d) {
  char s[160];
  if (!is_int_tensor(tokens) || tokens->rank != 2 || tokens->dims[1] < 2) {
    ir_error(d, ir_noloc, "tokens must be an integer tensor [N, T] with T >= 2, got %s",
             tokens ? rt_shape_str(tokens, s, sizeof s) : "nothing");
    return -1;
  }
  Runner r;
  RtOptions opt = {.check_types = true};
  if (runner_open(&r, m, "model", tokens, &batch, &opt, d) != 0) {
    runner_close(&r);
    return -1;
  }
  int64_t rows = tokens->dims[0], t_len = tokens->dims[1];
  double nll = 0;
  uint64_t count = 0;
  int rc = 0;
  for (int64_t start = 0; start < rows && rc == 0; start += batch) {
    int64_t cnt = rows - start < batch ? rows - start : batch;
    if ((rc = runner_run(&r, tokens, start, cnt, d)) != 0) break;
    const RtValue *o = r.outs[0];
    if (o->rank != 3 || o->dims[0] != cnt || o->dims[1] != t_len || o->dims[2] < 1) {
      ir_error(d, ir_noloc, "output 0 %s: a token model's logits must be [%lld, %lld, V]",
               rt_shape_str(o, s, sizeof s), (long long)cnt, (long long)t_len);
      rc = -1;
      break;
    }
    uint64_t v = (uint64_t)o->dims[2];
    for (int64_t i = 0; i < cnt && rc == 0; i++)
      for (int64_t t = 0; t + 1 < t_len; t++) {
        uint64_t at = ((uint64_t)i * (uint64_t)t_len + (uint64_t)t) * v;
        int64_t y = rt_get_i64(tokens, (uint64_t)(start + i) * (uint64_t)t_len + (uint64_t)t + 1);
        if (y < 0 || (uint64_t)y >= v) {
          ir_error(d, ir_noloc, "token %lld at [%lld, %lld] is out of range for a vocabulary of %llu",
                   (long long)y, (long long)(start + i), (long long)t + 1, (unsigned long long)v);
          rc = -1;
          break;
        }
        double mx = -INFINITY, sum = 0;
        for (uint64_t k = 0; k < v; k++) mx = fmax(mx, rt_get_f64(o, at + k));
        for (uint64_t k = 0; k < v; k++) sum += exp(rt_get_f64(o, at + k) - mx);
        nll += mx + log(sum) - rt_get_f64(o, at + (uint64_t)y);
        count++;
      }
    progress(start + cnt, rows);
  }
  runner_close(&r);
  if (rc == 0) *ppl = exp(nll / (double)count);
  return rc;
}

/* --------------------------------------------------------------- per-layer SQNR */
static double to_db(double signal, double noise) {
  if (noise == 0) return signal == 0 ? 0 : INFINITY; /* identical (an all-zero value: 0 dB) */
  return 10 * log10(signal / noise);
}

static bool real_float(const RtValue *v) {
  return v && v->kind == TYPE_TENSOR && ir_elem(v->elem)->is_float && v->elem != ELEM_COMPLEX64 &&
         v->elem != ELEM_COMPLEX128;
}

static void accumulate(RtSqnr *row, const RtValue *ref, const RtValue *test) {
  for (uint64_t i = 0; i < ref->numel; i++) {
    double a = rt_get_f64(ref, i), e = a - rt_get_f64(test, i);
    row->signal += a * a;
    row->noise += e * e;
  }
  if (!row->batches++) rt_shape_str(ref, row->shape, sizeof row->shape);
}

/* What the observers share: the reference's main-graph values of the current batch, by
 * value id, and for each test value id the reference value of the same name. */
typedef struct Capture {
  const Graph *ref_graph, *test_graph;
  RtValue **vals;    /* by reference value id */
  int32_t *row_of;   /* reference value id -> row, -1 = not compared */
  int32_t *ref_of;   /* test value id -> reference value id, -1 = no such name */
  RtSqnr *rows;
} Capture;

static void observe_ref(void *ctx, const Node *n, RtValue *const *ins, RtValue *const *outs) {
  (void)ins;
  Capture *c = ctx;
  for (int k = 0; k < n->n_outputs; k++) {
    const Value *v = n->outputs[k];
    if (!v || v->graph != c->ref_graph || c->row_of[v->id] < 0 || !real_float(outs[k])) continue;
    rt_unref(c->vals[v->id]);
    c->vals[v->id] = rt_ref(outs[k]);
  }
}

static void observe_test(void *ctx, const Node *n, RtValue *const *ins, RtValue *const *outs) {
  (void)ins;
  Capture *c = ctx;
  for (int k = 0; k < n->n_outputs; k++) {
    const Value *v = n->outputs[k];
    if (!v || v->graph != c->test_graph || c->ref_of[v->id] < 0) continue;
    const RtValue *want = c->vals[c->ref_of[v->id]];
    if (want && real_float(outs[k]) && rt_same_shape(want, outs[k]))
      accumulate(&c->rows[c->row_of[c->ref_of[v->id]]], want, outs[k]);
  }
}

static bool is_output(const Graph *g, const Value *v) {
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == v) return true;
  return false;
}

int rt_eval_sqnr_layers(Model *ref, Model *test, const RtValue *x, int64_t batch, RtSqnr **rows_out,
                        int *n_rows, Diag *d) {
  *rows_out = NULL;
  *n_rows = 0;
  const Graph *rg = ref->graph, *tg = test->graph;
  Capture c = {rg, tg, NULL, NULL, NULL, NULL};
  c.vals = calloc(ref->next_value_id + 1, sizeof *c.vals);
  c.row_of = malloc((ref->next_value_id + 1) * sizeof *c.row_of);
  c.ref_of = malloc((test->next_value_id + 1) * sizeof *c.ref_of);
  for (uint32_t i = 0; i < ref->next_value_id; i++) c.row_of[i] = -1;
  for (uint32_t i = 0; i < test->next_value_id; i++) c.ref_of[i] = -1;
  /* rows: the graph outputs by position, then the reference's node outputs in graph order
   * that the test graph computes under the same name */
  int n_pair = rg->n_outputs < tg->n_outputs ? rg->n_outputs : tg->n_outputs, n = n_pair;
  for (size_t i = 0; i < rg->nodes.n; i++) n += rg->nodes.v[i]->n_outputs;
  c.rows = calloc((size_t)n + 1, sizeof *c.rows);
  for (int i = 0; i < n_pair; i++) {
    c.rows[i].name = rg->outputs[i]->name;
    c.rows[i].output = i;
  }
  int nr = n_pair;
  for (size_t i = 0; i < rg->nodes.n; i++) {
    const Node *nd = rg->nodes.v[i];
    for (int k = 0; k < nd->n_outputs; k++) {
      const Value *v = nd->outputs[k];
      if (!v || is_output(rg, v) || c.row_of[v->id] >= 0) continue;
      for (size_t j = 0; j < tg->nodes.n; j++) {
        const Node *tn = tg->nodes.v[j];
        for (int q = 0; q < tn->n_outputs; q++) {
          const Value *w = tn->outputs[q];
          if (!w || strcmp(w->name, v->name) != 0 || is_output(tg, w)) continue;
          c.ref_of[w->id] = (int32_t)v->id;
          c.row_of[v->id] = nr;
        }
      }
      if (c.row_of[v->id] == nr) {
        c.rows[nr].name = v->name;
        c.rows[nr++].output = -1;
      }
    }
  }
  Runner rr, tr;
  int64_t tb = batch;
  RtOptions ro = {.check_types = true, .observe = observe_ref, .observe_ctx = &c};
  RtOptions to = {.check_types = true, .observe = observe_test, .observe_ctx = &c};
  int rc = runner_open(&rr, ref, "reference model", x, &batch, &ro, d);
  if (rc == 0) rc = runner_open(&tr, test, "compared model", x, &tb, &to, d);
  else memset(&tr, 0, sizeof tr);
  if (rc == 0 && tb != batch) {
    ir_error(d, ir_noloc, "the models take different batch sizes (%lld and %lld rows)",
             (long long)batch, (long long)tb);
    rc = -1;
  }
  int64_t rows = rc == 0 ? x->dims[0] : 0, batches = 0;
  for (int64_t start = 0; start < rows && rc == 0; start += batch) {
    int64_t cnt = rows - start < batch ? rows - start : batch;
    rc = runner_run(&rr, x, start, cnt, d);
    if (rc == 0) rc = runner_run(&tr, x, start, cnt, d);
    for (int i = 0; i < n_pair && rc == 0; i++) {
      char a[160], b[160];
      const RtValue *want = rr.outs[i], *got = tr.outs[i];
      if (!real_float(want) || !real_float(got) || !rt_same_shape(want, got)) {
        ir_error(d, ir_noloc, "output %d ('%s'): %s in the reference, %s in the other model", i,
                 rg->outputs[i]->name, want ? rt_shape_str(want, a, sizeof a) : "nothing",
                 got ? rt_shape_str(got, b, sizeof b) : "nothing");
        rc = -1;
        break;
      }
      accumulate(&c.rows[i], want, got);
    }
    for (uint32_t i = 0; i < ref->next_value_id; i++) {
      rt_unref(c.vals[i]);
      c.vals[i] = NULL;
    }
    batches++;
    progress(start + cnt, rows);
  }
  runner_close(&rr);
  runner_close(&tr);
  /* keep the values compared in every batch (same name, same shape each time) */
  int kept = 0;
  for (int i = 0; i < nr && rc == 0; i++)
    if (c.rows[i].batches == batches) {
      c.rows[i].db = to_db(c.rows[i].signal, c.rows[i].noise);
      c.rows[kept++] = c.rows[i];
    }
  free(c.vals);
  free(c.row_of);
  free(c.ref_of);
  if (rc != 0) {
    free(c.rows);
    return -1;
  }
  *rows_out = c.rows;
  *n_rows = kept;
  return 0;
}

int rt_eval_sqnr(Model *ref, Model *test, const RtValue *x, int64_t batch, double *db, Diag *d) {
  RtSqnr *rows;
  int n;
  if (rt_eval_sqnr_layers(ref, test, x, batch, &rows, &n, d) != 0) return -1;
  if (n < 1 || rows[0].output != 0) { /* the models have outputs: row 0 is output 0 */
    free(rows);
    ir_error(d, ir_noloc, "the models have no output to compare");
    return -1;
  }
  *db = rows[0].db;
  free(rows);
  return 0;
}
