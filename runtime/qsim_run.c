/* qsim_run.c - running circuits: wires that never interact are simulated apart, each part
 * on the state vector (noiseless, no reset or gate after a measurement) or the density
 * matrix (noise, reset, measurement then gates); then observables: Pauli expectation values
 * and probabilities read through the readout-error model, optionally mitigated by the
 * inverse of tensored calibration matrices; and `effc run` on effc.qc models. */
#include "qsim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int uf_find(int *p, int x) {
  while (p[x] != x) x = p[x] = p[p[x]];
  return x;
}

static void uf_union(int *p, int a, int b) {
  a = uf_find(p, a), b = uf_find(p, b);
  if (a != b) p[a < b ? b : a] = a < b ? a : b;
}

/* p[2^k] along axis j (wire j of the distribution) times the 2x2 m (row-major). */
static void apply_axis(double *p, int k, int j, const double m[4]) {
  uint64_t N = UINT64_C(1) << k, b = UINT64_C(1) << j;
  for (uint64_t i = 0; i < N; i++) {
    if (i & b) continue;
    double x = p[i], y = p[i | b];
    p[i] = m[0] * x + m[1] * y;
    p[i | b] = m[2] * x + m[3] * y;
  }
}

void qc_readout_mitigate(double *p, int k, const int *q, const QcReadoutCal *cal) {
  for (int j = 0; j < k; j++) {
    const double *a = cal->a[q[j]];
    double det = a[0] * a[3] - a[1] * a[2];
    if (fabs(det) < 1e-12) continue; /* a wire that cannot be read carries no information */
    double inv[4] = {a[3] / det, -a[1] / det, -a[2] / det, a[0] / det};
    apply_axis(p, k, j, inv);
  }
}

static void readout_confuse(double *p, int k, const QcNoise *n) {
  if (!n->ro0 && !n->ro1) return;
  double m[4] = {1 - n->ro0, n->ro1, n->ro0, 1 - n->ro1};
  for (int j = 0; j < k; j++) apply_axis(p, k, j, m);
}

void qc_calibrate(int nq, const QcNoise *noise, QcReadoutCal *cal) {
  /* |1> is prepared by X with its gate noise, on one qubit: the noise is per qubit, so the
   * tensored calibration of |1...1> has these marginals */
  QsimDm d;
  double p1 = 1;
  if (qsim_dm_init(&d, 1)) {
    int q = 0;
    qsim_dm_gate(&d, QG_X, &q, NULL);
    qsim_dm_depol1(&d, 0, noise->p1);
    qsim_dm_amp_damp(&d, 0, noise->amp);
    qsim_dm_phase_damp(&d, 0, noise->phase);
    p1 = d.rho[2 * 3];
    qsim_dm_free(&d);
  }
  cal->nq = nq;
  cal->a = calloc((size_t)(nq ? nq : 1), sizeof *cal->a);
  if (!cal->a) abort();
  for (int i = 0; i < nq; i++) {
    double r1 = p1 * (1 - noise->ro1) + (1 - p1) * noise->ro0; /* P(read 1 | prepared 1) */
    cal->a[i][0] = 1 - noise->ro0, cal->a[i][1] = 1 - r1;
    cal->a[i][2] = noise->ro0, cal->a[i][3] = r1;
  }
}

/* One simulated part: local wires, state vector or density matrix. */
typedef struct Part {
  int n;
  int *wires;   /* local -> global */
  bool dm;
  QsimState sv;
  QsimDm rho;
} Part;

/* Probability of each basis state of the part (2^n). */
static double prob_of(const Part *p, uint64_t i) {
  if (p->dm) return p->rho.rho[2 * (i + (i << p->n))];
  double re = p->sv.amp[2 * i], im = p->sv.amp[2 * i + 1];
  return re * re + im * im;
}

/* Marginal distribution of local wires loc[0..k) (loc[0] is bit 0). */
static void marginal(const Part *p, const int *loc, int k, double *out) {
  memset(out, 0, sizeof(double) << k);
  uint64_t N = UINT64_C(1) << p->n;
  for (uint64_t i = 0; i < N; i++) {
    uint64_t j = 0;
    for (int b = 0; b < k; b++) j |= ((i >> loc[b]) & 1) << b;
    out[j] += prob_of(p, i);
  }
}

static void part_gate(Part *p, int g, const int *q, const double *ang) {
  if (p->dm) qsim_dm_gate(&p->rho, g, q, ang);
  else qsim_apply(&p->sv, g, q, ang, 0, false);
}

/* A copy of the part for a basis rotation. */
static bool part_copy(const Part *src, Part *dst) {
  *dst = *src;
  size_t bytes = sizeof(double) * ((size_t)2 << (src->dm ? 2 * src->n : src->n));
  double *buf = malloc(bytes);
  if (!buf) return false;
  memcpy(buf, src->dm ? src->rho.rho : src->sv.amp, bytes);
  if (src->dm) dst->rho.rho = buf;
  else dst->sv.amp = buf;
  return true;
}

static void part_free_state(Part *p) {
  free(p->dm ? p->rho.rho : p->sv.amp);
}

/* The value of a distribution over k wires after readout noise and mitigation. */
static void read_dist(double *dist, int k, const int *gw, const QcRunOptions *o) {
  readout_confuse(dist, k, &o->noise);
  if (o->mitigate) qc_readout_mitigate(dist, k, gw, o->mitigate);
}

static int expval(const Part *p, const QcObs *ob, const int *loc, const QcRunOptions *o, double *out, Diag *d) {
  double total = 0;
  for (int t = 0; t < ob->nterms; t++) {
    const char *ps = ob->paulis[t];
    int sup[64], gw[64], k = 0;
    bool rot = false;
    for (int j = 0; j < ob->nq; j++)
      if (ps[j] != 'I' && k < 64) {
        sup[k] = loc[j];
        gw[k++] = ob->q[j];
        rot |= ps[j] != 'Z';
      }
    if (!k) {
      total += ob->coeffs[t];
      continue;
    }
    if (k > 26) return ir_error(d, ir_noloc, "Pauli string '%s' has more than 26 letters other than I", ps), -1;
    Part c = *p;
    if (rot && !part_copy(p, &c)) return ir_error(d, ir_noloc, "out of memory copying the state"), -1;
    for (int j = 0; j < ob->nq && rot; j++) {
      int q = loc[j];
      if (ps[j] == 'X') part_gate(&c, QG_H, &q, NULL);
      if (ps[j] == 'Y') part_gate(&c, QG_SDG, &q, NULL), part_gate(&c, QG_H, &q, NULL);
    }
    double *dist = malloc(sizeof(double) << k);
    if (!dist) abort();
    marginal(&c, sup, k, dist);
    if (rot) part_free_state(&c);
    read_dist(dist, k, gw, o);
    double e = 0;
    for (uint64_t i = 0; i < (UINT64_C(1) << k); i++) e += (__builtin_popcountll(i) & 1 ? -1 : 1) * dist[i];
    free(dist);
    total += ob->coeffs[t] * e;
  }
  *out = total;
  return 0;
}

int qc_simulate(const QcCircuit *c, const double *params, const QcRunOptions *o, double **results, Diag *d) {
  int nq = c->nq, rc = 0;
  int *par = malloc(((size_t)nq + 1) * sizeof *par), *loc = malloc(((size_t)nq + 1) * sizeof *loc);
  bool *touched = calloc((size_t)nq + 1, 1), *measured = calloc((size_t)nq + 1, 1), *needdm = calloc((size_t)nq + 1, 1);
  if (!par || !loc || !touched || !measured || !needdm) abort();
  for (int i = 0; i < nq; i++) par[i] = i;
  bool noisy = o->noise.p1 || o->noise.p2 || o->noise.amp || o->noise.phase;
  for (int i = 0; i < c->nops; i++) {
    const QcOp *op = &c->ops[i];
    const int *w = qc_op_wires(op);
    for (int j = 1; j < op->nq && op->g != QG_BARRIER; j++) uf_union(par, w[0], w[j]);
    for (int j = 0; j < op->nq && op->g != QG_BARRIER; j++) {
      if (op->g == QG_RESET && touched[w[j]]) needdm[w[j]] = true;
      if (op->g != QG_MEASURE && op->g != QG_RESET && measured[w[j]]) needdm[w[j]] = true;
      if (op->g == QG_MEASURE) measured[w[j]] = true;
      if (op->g != QG_MEASURE) touched[w[j]] = true;
    }
  }
  for (int i = 0; i < c->nobs; i++)
    for (int j = 1; j < c->obs[i].nq; j++) uf_union(par, c->obs[i].q[0], c->obs[i].q[j]);
  for (int i = 0; i < c->nobs; i++) {
    const QcObs *ob = &c->obs[i];
    size_t n = ob->kind == QC_OBS_PROBS ? (size_t)1 << ob->nq : 1;
    results[i] = calloc(n, sizeof(double));
    if (!results[i]) abort();
  }
  /* each part: the wires whose root is r */
  for (int r = 0; r < nq && !rc; r++) {
    if (uf_find(par, r) != r) continue;
    Part p;
    memset(&p, 0, sizeof p);
    p.wires = malloc(((size_t)nq + 1) * sizeof *p.wires);
    if (!p.wires) abort();
    bool dm = noisy;
    for (int w = 0; w < nq; w++)
      if (uf_find(par, w) == r) {
        loc[w] = p.n;
        p.wires[p.n++] = w;
        dm |= needdm[w];
      }
    p.dm = dm;
    if (dm ? p.n > 13 || !qsim_dm_init(&p.rho, p.n) : p.n > 30 || !qsim_sv_init(&p.sv, p.n)) {
      rc = -1, ir_error(d, ir_noloc, "%d interacting qubits are too many for the %s simulator (at most %d)%s", p.n,
                    dm ? "density-matrix" : "state-vector", dm ? 13 : 30,
                    dm ? ": noise, Reset after gates and gates after Measure need the density matrix" : "");
      free(p.wires);
      break;
    }
    for (int i = 0; i < c->nops; i++) {
      const QcOp *op = &c->ops[i];
      const int *w = qc_op_wires(op);
      if (op->g == QG_BARRIER || uf_find(par, w[0]) != r) continue;
      int q[3];
      for (int j = 0; j < op->nq; j++) q[j] = loc[w[j]];
      if (op->g == QG_MEASURE) {
        double pr[2];
        marginal(&p, q, 1, pr);
        read_dist(pr, 1, w, o);
        results[op->obs][0] = pr[1];
        if (p.dm) qsim_dm_dephase(&p.rho, q[0]);
        continue;
      }
      if (op->g == QG_RESET) {
        if (p.dm) qsim_dm_reset(&p.rho, q[0]);
        continue;
      }
      double ang[3];
      for (int k = 0; k < qc_gates[op->g].nangles; k++) ang[k] = qc_angle_eval(&op->a[k], params);
      part_gate(&p, op->g, q, ang);
      if (!p.dm) continue;
      if (op->nq == 1) qsim_dm_depol1(&p.rho, q[0], o->noise.p1);
      else if (op->nq == 2) qsim_dm_depol2(&p.rho, q[0], q[1], o->noise.p2);
      else qsim_dm_depol2(&p.rho, q[0], q[2], o->noise.p2), qsim_dm_depol2(&p.rho, q[1], q[2], o->noise.p2);
      for (int j = 0; j < op->nq; j++) {
        qsim_dm_amp_damp(&p.rho, q[j], o->noise.amp);
        qsim_dm_phase_damp(&p.rho, q[j], o->noise.phase);
      }
    }
    for (int i = 0; i < c->nobs && !rc; i++) {
      const QcObs *ob = &c->obs[i];
      if (ob->kind == QC_OBS_MEASURE || !ob->nq || uf_find(par, ob->q[0]) != r) continue;
      int l[64];
      for (int j = 0; j < ob->nq && j < 64; j++) l[j] = loc[ob->q[j]];
      if (ob->nq > 64) rc = -1, ir_error(d, ir_noloc, "an observable of more than 64 qubits");
      else if (ob->kind == QC_OBS_PROBS) {
        marginal(&p, l, ob->nq, results[i]);
        read_dist(results[i], ob->nq, ob->q, o);
      } else {
        rc = expval(&p, ob, l, o, results[i], d);
      }
    }
    part_free_state(&p);
    free(p.wires);
  }
  /* observables of no qubits (constant Expval terms) */
  for (int i = 0; i < c->nobs && !rc; i++)
    if (!c->obs[i].nq && c->obs[i].kind == QC_OBS_EXPVAL)
      for (int t = 0; t < c->obs[i].nterms; t++) results[i][0] += c->obs[i].coeffs[t];
  free(par);
  free(loc);
  free(touched);
  free(measured);
  free(needdm);
  if (rc)
    for (int i = 0; i < c->nobs; i++) free(results[i]), results[i] = NULL;
  return rc;
}

/* ------------------------------------------------------------------ effc run */

bool qc_model_is_quantum(const Model *m) {
  return ir_model_opset(m, "effc.qc") >= 0;
}

int qc_run_model(Model *m, RtValue **inputs, RtValue **outputs, const QcRunOptions *o, Diag *d) {
  QcCircuit c;
  if (qc_circuit_from_graph(m, &c, d)) return -1;
  const Graph *g = m->graph;
  int rc = 0;
  double *params = calloc((size_t)c.nparams + 1, sizeof *params);
  double **res = calloc((size_t)c.nobs + 1, sizeof *res);
  if (!params || !res) abort();
  for (int i = 0; i < c.nparams && !rc; i++) {
    const QcParam *p = &c.params[i];
    int k = 0;
    while (k < g->n_inputs && g->inputs[k] != p->v) k++;
    RtValue *v = k < g->n_inputs ? inputs[k] : NULL;
    RtValue *tmp = NULL;
    if (!v && p->v->init && p->v->init->has_data) v = tmp = rt_tensor_wrap(p->v->init);
    if (!v || v->kind != TYPE_TENSOR || (uint64_t)p->index >= v->numel) {
      rc = -1, ir_error(d, p->v->loc, "parameter '%s' has no value (element %lld)", p->v->name, (long long)p->index);
    } else {
      params[i] = rt_get_f64(v, (uint64_t)p->index);
    }
    rt_unref(tmp);
  }
  QcRunOptions ro = *o;
  QcReadoutCal cal = {0, NULL};
  if (o->calibrate) {
    qc_calibrate(c.nq, &o->noise, &cal);
    ro.mitigate = &cal;
  }
  if (!rc) rc = qc_simulate(&c, params, &ro, res, d);
  free(cal.a);
  for (int i = 0; i < g->n_outputs && !rc; i++) {
    int k = 0;
    while (k < c.nobs && c.obs[k].out != g->outputs[i]) k++;
    if (k == c.nobs) {
      rc = -1, ir_error(d, g->outputs[i]->loc, "output '%s' is not made by an effc.qc observable (Expval, Probs or "
                    "Measure): a quantum model's outputs are those", g->outputs[i]->name);
      break;
    }
    const QcObs *ob = &c.obs[k];
    int64_t dim = (int64_t)1 << ob->nq;
    outputs[i] = ob->kind == QC_OBS_PROBS ? rt_tensor_new(ELEM_FLOAT, 1, &dim) : rt_scalar_new(ELEM_FLOAT);
    if (!outputs[i]) abort();
    for (uint64_t j = 0; j < outputs[i]->numel; j++) rt_set_f64(outputs[i], j, res[k][j]);
  }
  for (int i = 0; i < c.nobs; i++) free(res[i]);
  free(res);
  free(params);
  qc_circuit_free(&c);
  return rc;
}
