/* qc_zne.c - the `qc-zne` pass: zero-noise extrapolation by unitary folding (Mitiq's
 * fold_global, fold_gates_from_left/right, fold_gates_at_random). The graph gets one copy
 * of the circuit per scale factor, each on its own qubits, and every observable output
 * `y` becomes `y_s1`, `y_s3`, ... (a scale 1.5 is written s1_5); `effc zne` extrapolates
 * them. The copies never interact, so the simulator runs them apart. */
#include "passes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void add_inverse(QcCircuit *out, const QcOp *o) {
  QcOp inv;
  if (qc_op_inverse(o, &inv)) qc_append(out, &inv);
}

void qc_fold(const QcCircuit *c, double scale, QcFoldMethod m, uint64_t seed, QcCircuit *out) {
  qc_circuit_shell(out, c);
  int d = 0;
  QcOp inv;
  for (int i = 0; i < c->nops; i++) d += qc_op_inverse(&c->ops[i], &inv);
  if (scale < 1) scale = 1;
  if (m == QC_FOLD_GLOBAL) {
    int n = (int)floor((scale - 1) / 2);
    int k = (int)lround((scale - 1 - 2 * n) / 2 * d);
    for (int i = 0; i < c->nops; i++)
      if (c->ops[i].g != QG_MEASURE) qc_append(out, &c->ops[i]);
    for (int r = 0; r < n; r++) {
      for (int i = c->nops; i-- > 0;) add_inverse(out, &c->ops[i]);
      for (int i = 0; i < c->nops; i++)
        if (qc_op_inverse(&c->ops[i], &inv)) qc_append(out, &c->ops[i]);
    }
    /* the last k unitary gates once more: L^-1 L */
    int first = c->nops, seen = 0;
    while (first > 0 && seen < k) seen += qc_op_inverse(&c->ops[--first], &inv);
    for (int i = c->nops; i-- > first;) add_inverse(out, &c->ops[i]);
    for (int i = first; i < c->nops; i++)
      if (qc_op_inverse(&c->ops[i], &inv)) qc_append(out, &c->ops[i]);
    for (int i = 0; i < c->nops; i++) /* measurements last: they are not folded */
      if (c->ops[i].g == QG_MEASURE) qc_append(out, &c->ops[i]);
    return;
  }
  /* gate by gate: F folds in all, F / d for every gate and one more for F % d of them */
  int f = (int)lround(d * (scale - 1) / 2), base = d ? f / d : 0, extra = d ? f % d : 0;
  char *more = calloc((size_t)d + 1, 1);
  if (!more) abort();
  if (m == QC_FOLD_LEFT)
    for (int j = 0; j < extra; j++) more[j] = 1;
  else if (m == QC_FOLD_RIGHT)
    for (int j = 0; j < extra; j++) more[d - 1 - j] = 1;
  else {
    uint64_t s = seed * 2654435761u + 88172645463325252ull;
    for (int j = 0; j < extra;) { /* extra distinct gates at random */
      int t = (int)(qc_rand(&s) % (uint64_t)d);
      if (!more[t]) more[t] = 1, j++;
    }
  }
  int j = 0;
  for (int i = 0; i < c->nops; i++) {
    const QcOp *o = &c->ops[i];
    qc_append(out, o);
    if (!qc_op_inverse(o, &inv)) continue;
    int times = base + more[j++];
    for (int t = 0; t < times; t++) {
      qc_append(out, &inv);
      qc_append(out, o);
    }
  }
  free(more);
}

bool qc_fold_method_parse(const char *s, QcFoldMethod *m) {
  if (!strcmp(s, "global")) *m = QC_FOLD_GLOBAL;
  else if (!strcmp(s, "left")) *m = QC_FOLD_LEFT;
  else if (!strcmp(s, "right")) *m = QC_FOLD_RIGHT;
  else if (!strcmp(s, "random")) *m = QC_FOLD_RANDOM;
  else return false;
  return true;
}

/* "1,3,5" (or bracketed) into at most max scale factors >= 1. */
int qc_scales_parse(const char *s, double *out, int max) {
  int n = 0;
  if (*s == '[') s++;
  while (*s && *s != ']') {
    char *e;
    double v = strtod(s, &e);
    if (e == s || v < 1 || !isfinite(v) || n == max) return -1;
    out[n++] = v;
    s = e;
    if (*s == ',') s++;
    else if (*s && *s != ']') return -1;
  }
  return n;
}

static int run(Model *m, const PassOptions *o, PassCtx *c) {
  if (ir_model_opset(m, "effc.qc") < 0) return 0;
  double scales[32];
  int ns = qc_scales_parse(pass_opt_str(o, "scales"), scales, 32);
  QcFoldMethod fm;
  if (ns < 1) {
    ir_error(c->d, ir_noloc, "scales must be a list of up to 32 numbers >= 1");
    return -1;
  }
  if (!qc_fold_method_parse(pass_opt_str(o, "fold"), &fm)) {
    ir_error(c->d, ir_noloc, "fold must be global, left, right or random");
    return -1;
  }
  QcCircuit in, all;
  if (qc_circuit_from_graph(m, &in, c->d)) return -1;
  Graph *g = m->graph;
  qc_circuit_init(&all, in.nq * ns);
  all.params = in.nparams ? malloc((size_t)in.nparams * sizeof *all.params) : NULL;
  if (in.nparams) memcpy(all.params, in.params, (size_t)in.nparams * sizeof *all.params);
  all.nparams = all.pcap = in.nparams;
  Value **outs = malloc(((size_t)g->n_outputs * ns + 1) * sizeof *outs);
  if (!outs) abort();
  int nout = 0;
  for (int s = 0; s < ns; s++) {
    QcCircuit f;
    qc_fold(&in, scales[s], fm, (uint64_t)pass_opt_int(o, "seed") + (uint64_t)s, &f);
    int obs0 = all.nobs;
    for (int i = 0; i < f.nobs; i++) { /* observables of this copy, with new outputs */
      const QcObs *ob = &f.obs[i];
      int q[64];
      for (int k = 0; k < ob->nq && k < 64; k++) q[k] = ob->q[k] + s * in.nq;
      QcObs *nb = qc_add_obs(&all, ob->kind, q, ob->nq < 64 ? ob->nq : 64);
      nb->nterms = ob->nterms;
      nb->paulis = ob->paulis ? ir_arena_dup(&all.arena, ob->paulis, (size_t)ob->nterms * sizeof *ob->paulis) : NULL;
      for (int t = 0; t < ob->nterms; t++) nb->paulis[t] = ir_arena_strdup(&all.arena, ob->paulis[t]);
      nb->coeffs = ob->coeffs ? ir_arena_dup(&all.arena, ob->coeffs, (size_t)ob->nterms * sizeof *ob->coeffs) : NULL;
      nb->out = NULL;
      if (ob->out) {
        char sc[32], base[600];
        snprintf(sc, sizeof sc, "%g", scales[s]);
        for (char *p = sc; *p; p++)
          if (*p == '.') *p = '_';
        snprintf(base, sizeof base, "%s_s%s", ob->out->name, sc);
        nb->out = ir_value_new(g, pass_fresh_name(g, base), ob->out->type);
      }
    }
    for (int i = 0; i < f.nops; i++) {
      QcOp *op = qc_append(&all, &f.ops[i]);
      if (op->g == QG_BARRIER)
        for (int k = 0; k < op->nq; k++) op->bq[k] += s * in.nq;
      else
        for (int k = 0; k < op->nq; k++) op->q[k] += s * in.nq;
      if (op->obs >= 0) op->obs += obs0;
    }
    pass_stat(c, "gates-folded", f.nops);
    qc_circuit_free(&f);
  }
  /* graph outputs: each observable output becomes its per-scale copies */
  for (int i = 0; i < g->n_outputs; i++) {
    int k = 0;
    while (k < in.nobs && in.obs[k].out != g->outputs[i]) k++;
    if (k == in.nobs) {
      outs[nout++] = g->outputs[i];
      continue;
    }
    for (int s = 0; s < ns; s++) outs[nout++] = all.obs[s * in.nobs + k].out;
  }
  int rc = qc_graph_write(m, &all, c->d);
  ir_graph_set_outputs(g, outs, nout);
  free(outs);
  qc_circuit_free(&all);
  qc_circuit_free(&in);
  return rc;
}

static const PassOptSpec opts[] = {
    {"scales", POPT_LIST, "[1,3,5]", "noise scale factors (>= 1), one circuit copy each"},
    {"fold", POPT_STRING, "global", "global, left, right or random (gate-level folding)"},
    {"seed", POPT_INT, "1", "seed of random folding"},
};

const Pass pass_qc_zne = {
    "qc-zne",
    "emit unitary-folded copies of an effc.qc circuit for zero-noise extrapolation",
    opts,
    3,
    run,
    0,
    "Scale s with d gates: global folding writes C (C^-1 C)^n and then folds the last "
    "round(d (s - 1 - 2n) / 2) gates (n = floor((s - 1) / 2)); local folding replaces "
    "round(d (s - 1) / 2) gates G by G G^-1 G (each gate once per full round, then the "
    "first, last or randomly chosen remaining gates). Measure, Reset and Barrier are not "
    "folded; with global folding the measurements move to the end. Output y becomes y_s1, "
    "y_s3, ... in scale order; `effc zne` extrapolates them (or runs the whole flow).",
};
