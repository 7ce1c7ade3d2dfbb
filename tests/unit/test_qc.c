/* test_qc.c - effc.qc: the simulator kernels against a dense reference written here from
 * the gate definitions, the density matrix and noise channels against hand-computed
 * values, and every exact qc pass checked equivalent (up to global phase) on random
 * circuits, by comparing unitaries column by column, and observables for routing and
 * folding. Also ZNE extrapolation and readout mitigation on known data. */
#include "testutil.h"

#include <complex.h>
#include <math.h>

#include "passes.h"

typedef double complex cplx;

/* ------------------------------------------------------------------ dense reference */

/* The gate's matrix on its k qubits (index bit i = qubit i of the gate), from the
 * textbook definitions. */
static int ref_matrix(int g, const double *a, cplx m[8][8]) {
  memset(m, 0, sizeof(cplx) * 64);
  double t = a[0];
  cplx u[2][2] = {{1, 0}, {0, 1}};
  const double r = 1 / sqrt(2.0);
  switch (g) {
  case QG_H: u[0][0] = u[0][1] = u[1][0] = r, u[1][1] = -r; break;
  case QG_X: u[0][0] = u[1][1] = 0, u[0][1] = u[1][0] = 1; break;
  case QG_Y: u[0][0] = u[1][1] = 0, u[0][1] = -I, u[1][0] = I; break;
  case QG_Z: u[1][1] = -1; break;
  case QG_S: u[1][1] = I; break;
  case QG_SDG: u[1][1] = -I; break;
  case QG_T: u[1][1] = cexp(I * M_PI / 4); break;
  case QG_TDG: u[1][1] = cexp(-I * M_PI / 4); break;
  case QG_SX: u[0][0] = u[1][1] = (1 + I) / 2, u[0][1] = u[1][0] = (1 - I) / 2; break;
  case QG_SXDG: u[0][0] = u[1][1] = (1 - I) / 2, u[0][1] = u[1][0] = (1 + I) / 2; break;
  case QG_RX: u[0][0] = u[1][1] = cos(t / 2), u[0][1] = u[1][0] = -I * sin(t / 2); break;
  case QG_RY: u[0][0] = u[1][1] = cos(t / 2), u[0][1] = -sin(t / 2), u[1][0] = sin(t / 2); break;
  case QG_RZ: u[0][0] = cexp(-I * t / 2), u[1][1] = cexp(I * t / 2); break;
  case QG_P: u[1][1] = cexp(I * t); break;
  case QG_U:
    u[0][0] = cos(t / 2), u[0][1] = -cexp(I * a[2]) * sin(t / 2);
    u[1][0] = cexp(I * a[1]) * sin(t / 2), u[1][1] = cexp(I * (a[1] + a[2])) * cos(t / 2);
    break;
  default: break;
  }
  if (qc_gates[g].nq == 1) {
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++) m[i][j] = u[i][j];
    return 1;
  }
  if (g == QG_CCX) {
    for (int i = 0; i < 8; i++) m[i][i] = 1;
    m[3][3] = m[7][7] = 0, m[3][7] = m[7][3] = 1;
    return 3;
  }
  for (int i = 0; i < 4; i++) m[i][i] = 1;
  int sub = g == QG_CX ? QG_X : g == QG_CY ? QG_Y : g == QG_CZ ? QG_Z : g == QG_CRX ? QG_RX : g == QG_CRY ? QG_RY
          : g == QG_CRZ ? QG_RZ : g == QG_CP ? QG_P : -1;
  if (sub >= 0) { /* controlled by qubit 0 (bit 0), acting on qubit 1 (bit 1) */
    cplx s[8][8];
    ref_matrix(sub, a, s);
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++) m[1 + 2 * i][1 + 2 * j] = s[i][j];
    return 2;
  }
  if (g == QG_SWAP) m[1][1] = m[2][2] = 0, m[1][2] = m[2][1] = 1;
  if (g == QG_RZZ)
    for (int i = 0; i < 4; i++) m[i][i] = cexp((((i & 1) ^ (i >> 1)) ? 1 : -1) * I * t / 2);
  if (g == QG_RXX)
    for (int i = 0; i < 4; i++) m[i][i] = cos(t / 2), m[i][3 - i] = -I * sin(t / 2);
  return 2;
}

static void ref_apply(cplx *psi, int n, int g, const int *q, const double *a) {
  cplx m[8][8];
  int k = ref_matrix(g, a, m), K = 1 << k;
  size_t N = (size_t)1 << n;
  cplx *out = calloc(N, sizeof *out);
  for (size_t i = 0; i < N; i++) {
    int row = 0;
    for (int b = 0; b < k; b++) row |= (int)((i >> q[b]) & 1) << b;
    for (int col = 0; col < K; col++) {
      size_t j = i;
      for (int b = 0; b < k; b++) j = (j & ~((size_t)1 << q[b])) | ((size_t)((col >> b) & 1) << q[b]);
      out[i] += m[row][col] * psi[j];
    }
  }
  memcpy(psi, out, N * sizeof *out);
  free(out);
}

static uint64_t seed_ = 12345;
static double urand(void) {
  seed_ ^= seed_ << 13, seed_ ^= seed_ >> 7, seed_ ^= seed_ << 17;
  return (double)(seed_ >> 11) / 9007199254740992.0;
}

/* every gate on random qubits and a random state: kernels == reference */
static void test_kernels(void **st) {
  (void)st;
  int n = 5;
  for (int g = 0; g < QG_MEASURE; g++)
    for (int cj = 0; cj < 2; cj++) {
      QsimState s;
      assert_true(qsim_sv_init(&s, n));
      cplx psi[32];
      for (int i = 0; i < 32; i++) {
        psi[i] = urand() - 0.5 + I * (urand() - 0.5);
        s.amp[2 * i] = creal(psi[i]), s.amp[2 * i + 1] = cimag(psi[i]);
      }
      int q[3];
      q[0] = (int)(urand() * n);
      do q[1] = (int)(urand() * n); while (q[1] == q[0]);
      do q[2] = (int)(urand() * n); while (q[2] == q[0] || q[2] == q[1]);
      double a[3] = {urand() * 6 - 3, urand() * 6 - 3, urand() * 6 - 3};
      qsim_apply(&s, g, q, a, 0, cj);
      if (cj) { /* conj(U) psi = conj(U conj(psi)) */
        for (int i = 0; i < 32; i++) psi[i] = conj(psi[i]);
        ref_apply(psi, n, g, q, a);
        for (int i = 0; i < 32; i++) psi[i] = conj(psi[i]);
      } else {
        ref_apply(psi, n, g, q, a);
      }
      for (int i = 0; i < 32; i++) {
        assert_float_equal(s.amp[2 * i], creal(psi[i]), 1e-12);
        assert_float_equal(s.amp[2 * i + 1], cimag(psi[i]), 1e-12);
      }
      qsim_sv_free(&s);
    }
}

/* ------------------------------------------------------------------ random circuits */

static const int pool[] = {QG_H, QG_X, QG_Y, QG_Z, QG_S, QG_SDG, QG_T, QG_TDG, QG_SX, QG_SXDG, QG_RX, QG_RY,
                           QG_RZ, QG_P, QG_U, QG_CX, QG_CY, QG_CZ, QG_SWAP, QG_CRX, QG_CRY, QG_CRZ, QG_CP,
                           QG_RXX, QG_RZZ, QG_CCX};

/* ONNX text of a random circuit of n qubits: angles constant or graph inputs (defaults),
 * Probs of every qubit and an Expval of random Pauli strings. */
static char *random_circuit(int n, int ngates, bool symbolic, bool ccx, bool pairs) {
  char *buf;
  size_t len;
  FILE *f = open_memstream(&buf, &len);
  fprintf(f, "<ir_version: 10, opset_import: [\"effc.qc\" : 1, \"\" : 21]>\ng (");
  int na = 0;
  double ang[400];
  char body[65536];
  size_t bl = 0;
  int ver[8] = {0};
  bl += (size_t)snprintf(body + bl, sizeof body - bl, "  ");
  for (int i = 0; i < n; i++) bl += (size_t)snprintf(body + bl, sizeof body - bl, "%sq%d_0", i ? ", " : "", i);
  bl += (size_t)snprintf(body + bl, sizeof body - bl, " = effc.qc.Alloc ()\n");
  int prev = -1;
  for (int k = 0; k < ngates; k++) {
    int g;
    do g = pool[(int)(urand() * (sizeof pool / sizeof pool[0]))]; while ((!ccx && g == QG_CCX) || (n < 3 && g == QG_CCX));
    if (pairs && prev >= 0 && urand() < 0.4) g = prev; /* repeats give cancel and merge work */
    prev = g;
    int nq = qc_gates[g].nq, q[3];
    q[0] = (int)(urand() * n);
    do q[1] = (int)(urand() * n); while (nq > 1 && q[1] == q[0]);
    do q[2] = (int)(urand() * n); while (nq > 2 && (q[2] == q[0] || q[2] == q[1]));
    bl += (size_t)snprintf(body + bl, sizeof body - bl, "  ");
    for (int i = 0; i < nq; i++) bl += (size_t)snprintf(body + bl, sizeof body - bl, "%sq%d_%d", i ? ", " : "", q[i], ver[q[i]] + 1);
    bl += (size_t)snprintf(body + bl, sizeof body - bl, " = effc.qc.%s (", qc_gates[g].name);
    for (int i = 0; i < nq; i++) bl += (size_t)snprintf(body + bl, sizeof body - bl, "%sq%d_%d", i ? ", " : "", q[i], ver[q[i]]);
    for (int i = 0; i < qc_gates[g].nangles; i++) {
      ang[na] = urand() * 6 - 3;
      bl += (size_t)snprintf(body + bl, sizeof body - bl, ", a%d", na++);
    }
    bl += (size_t)snprintf(body + bl, sizeof body - bl, ")\n");
    for (int i = 0; i < nq; i++) ver[q[i]]++;
  }
  for (int i = 0; i < na && symbolic; i++) fprintf(f, "%sdouble a%d", i ? ", " : "", i);
  fprintf(f, ") => (float[%d] p, float e) <", 1 << n);
  for (int i = 0; i < na; i++) fprintf(f, "%sdouble a%d = {%.17g}", i ? ", " : "", i, ang[i]);
  fprintf(f, "> {\n%s  p = effc.qc.Probs (", body);
  for (int i = 0; i < n; i++) fprintf(f, "%sq%d_%d", i ? ", " : "", i, ver[i]);
  fprintf(f, ")\n  e = effc.qc.Expval <paulis: strings = [");
  for (int t = 0; t < 3; t++) {
    fprintf(f, "%s\"", t ? ", " : "");
    for (int i = 0; i < n; i++) fputc("IXYZ"[(int)(urand() * 4)], f);
    fputc('"', f);
  }
  fprintf(f, "], coeffs: floats = [0.5, -1.25, 2]> (");
  for (int i = 0; i < n; i++) fprintf(f, "%sq%d_%d", i ? ", " : "", i, ver[i]);
  fprintf(f, ")\n}\n");
  fclose(f);
  return buf;
}

static Model *parse(const char *text) {
  Cap c;
  cap_init(&c);
  Model *m = fe_parse("random.onnxtxt", text, strlen(text), &c.d);
  if (!m || ir_verify(m, &c.d)) fprintf(stderr, "%s\n%s", text, cap_text(&c));
  assert_non_null(m);
  cap_free(&c);
  return m;
}

static double *param_values(const QcCircuit *c) {
  double *p = calloc((size_t)c->nparams + 1, sizeof *p);
  for (int i = 0; i < c->nparams; i++)
    p[i] = ir_elem(c->params[i].v->init->elem)->to_f64(c->params[i].v->init->data, (size_t)c->params[i].index);
  return p;
}

/* Columns of the unitary: U[:, j] for each basis state j. */
static cplx *unitary(const QcCircuit *c) {
  double *par = param_values(c);
  size_t N = (size_t)1 << c->nq;
  cplx *u = calloc(N * N, sizeof *u);
  for (size_t j = 0; j < N; j++) {
    QsimState s;
    assert_true(qsim_sv_init(&s, c->nq));
    s.amp[0] = 0, s.amp[2 * j] = 1;
    qsim_sv_run(&s, c, par);
    for (size_t i = 0; i < N; i++) u[i * N + j] = s.amp[2 * i] + I * s.amp[2 * i + 1];
    qsim_sv_free(&s);
  }
  free(par);
  return u;
}

static void assert_same_unitary(const QcCircuit *a, const QcCircuit *b, const char *what) {
  assert_int_equal(a->nq, b->nq);
  size_t N = (size_t)1 << a->nq;
  cplx *ua = unitary(a), *ub = unitary(b);
  size_t k = 0;
  for (size_t i = 0; i < N * N; i++)
    if (cabs(ua[i]) > cabs(ua[k])) k = i;
  cplx ph = ub[k] / ua[k];
  assert_float_equal(cabs(ph), 1, 1e-9);
  for (size_t i = 0; i < N * N; i++)
    if (cabs(ub[i] - ph * ua[i]) > 1e-9) {
      fprintf(stderr, "%s: unitaries differ at %zu: %g%+gi vs %g%+gi\n", what, i, creal(ua[i]), cimag(ua[i]),
              creal(ph * ub[i]), cimag(ph * ub[i]));
      fail();
    }
  free(ua);
  free(ub);
}

/* observable outputs of a circuit, flattened */
static int outputs(const QcCircuit *c, const QcRunOptions *o, double *out) {
  double *par = param_values(c), *res[64];
  Cap cp;
  cap_init(&cp);
  int rc = qc_simulate(c, par, o, res, &cp.d);
  if (rc) fprintf(stderr, "%s", cap_text(&cp));
  assert_int_equal(rc, 0);
  cap_free(&cp);
  int n = 0;
  for (int i = 0; i < c->nobs; i++) {
    int k = c->obs[i].kind == QC_OBS_PROBS ? 1 << c->obs[i].nq : 1;
    for (int j = 0; j < k; j++) out[n++] = res[i][j];
    free(res[i]);
  }
  free(par);
  return n;
}

static void run_pipeline(Model *m, const char *pipe) {
  Cap c;
  cap_init(&c);
  PassPipeline *p = pass_pipeline_parse(pipe, &c.d);
  assert_non_null(p);
  PassRunOptions ro = {.verify_each = true};
  int rc = pass_pipeline_run(m, p, &ro, &c.d);
  if (rc) fprintf(stderr, "%s: %s", pipe, cap_text(&c));
  assert_int_equal(rc, 0);
  pass_pipeline_free(p);
  cap_free(&c);
}

static void check_pass(const char *pipe, bool ccx, bool pairs, bool unitary_check) {
  int before = 0, after = 0;
  for (int trial = 0; trial < 12; trial++) {
    bool sym = trial % 2;
    char *text = random_circuit(4, 30, sym, ccx, pairs);
    Model *a = parse(text), *b = parse(text);
    run_pipeline(b, pipe);
    QcCircuit ca, cb;
    Cap c;
    cap_init(&c);
    assert_int_equal(qc_circuit_from_graph(a, &ca, &c.d), 0);
    if (qc_circuit_from_graph(b, &cb, &c.d)) fprintf(stderr, "%s", cap_text(&c)), fail();
    cap_free(&c);
    if (unitary_check) assert_same_unitary(&ca, &cb, pipe);
    before += ca.nops, after += cb.nops;
    double oa[64], ob[64];
    QcRunOptions ro = {0};
    int na = outputs(&ca, &ro, oa), nb = outputs(&cb, &ro, ob);
    if (strstr(pipe, "qc-zne")) { /* one copy per scale: each equals the original */
      assert_int_equal(nb, 3 * na);
      /* the circuit's observables: copy by copy (p, e), 17 values each */
      for (int s = 0; s < 3; s++)
        for (int i = 0; i < 17; i++) assert_float_equal(oa[i], ob[s * 17 + i], 1e-9);
    } else {
      assert_int_equal(na, nb);
      for (int i = 0; i < na; i++) assert_float_equal(oa[i], ob[i], 1e-9);
    }
    qc_circuit_free(&ca);
    qc_circuit_free(&cb);
    ir_model_free(a);
    ir_model_free(b);
    free(text);
  }
  /* the optimizing passes did remove gates (the equivalence checks are not vacuous) */
  if (!strncmp(pipe, "qc-cancel", 9) || !strncmp(pipe, "qc-merge", 8)) assert_true(after < before);
  if (!strcmp(pipe, "qc-resynth{basis=u}")) assert_true(after < before);
}

static void test_decompose(void **st) {
  (void)st;
  check_pass("qc-decompose{basis=[u,cx]}", true, false, true);
  check_pass("qc-decompose{basis=[rz,sx,x,cx]}", true, false, true);
  check_pass("qc-decompose{basis=[rz,ry,cz]}", true, false, true);
}

static void test_resynth(void **st) {
  (void)st;
  check_pass("qc-resynth{basis=zsx}", true, true, true);
  check_pass("qc-resynth{basis=zyz}", true, true, true);
  check_pass("qc-resynth{basis=u}", true, true, true);
}

static void test_cancel_merge(void **st) {
  (void)st;
  check_pass("qc-cancel", true, true, true);
  check_pass("qc-merge", true, true, true);
  check_pass("qc-decompose{basis=[rz,sx,x,cx]},qc-merge,qc-cancel,qc-resynth", true, true, true);
}

static void test_route(void **st) {
  (void)st;
  check_pass("qc-decompose,qc-route{map=line:4}", true, false, false);
  check_pass("qc-decompose,qc-route{map=grid:2x3}", true, false, false);
  check_pass("qc-decompose,qc-route{map=heavy-hex:2x5,method=basic}", true, false, false);
  check_pass("qc-decompose,qc-route{map=ring:5,trials=2}", true, false, false);
}

static void test_zne_fold(void **st) {
  (void)st;
  check_pass("qc-zne{scales=[1,2.5,5]}", true, false, false);
  check_pass("qc-zne{scales=[1,2.5,5],fold=random}", true, false, false);
  check_pass("qc-zne{scales=[1,2,3],fold=left}", true, false, false);
}

/* routing puts every two-qubit gate on a coupling-map edge */
static void test_route_adjacent(void **st) {
  (void)st;
  QcCoupling cm;
  char err[200];
  assert_true(qc_coupling_parse("heavy-hex:3x9", &cm, err, sizeof err));
  assert_int_equal(cm.n, 32);
  QcCircuit c, out;
  qc_circuit_init(&c, 12);
  for (int k = 0; k < 200; k++) {
    int a = (int)(urand() * 12), b;
    do b = (int)(urand() * 12); while (b == a);
    qc_add_const(&c, QG_CX, a, b, 0);
  }
  for (int sabre = 0; sabre < 2; sabre++) {
    QcRouteStats rs;
    assert_int_equal(qc_route(&c, &cm, sabre, 2, 7, &out, &rs, err, sizeof err), 0);
    int swaps = 0;
    for (int i = 0; i < out.nops; i++) {
      assert_int_equal(cm.adj[out.ops[i].q[0] * cm.n + out.ops[i].q[1]], 1);
      swaps += out.ops[i].g == QG_SWAP;
    }
    assert_int_equal(swaps, rs.swaps);
    qc_circuit_free(&out);
  }
  qc_circuit_free(&c);
  qc_coupling_free(&cm);
}

/* ------------------------------------------------------------------ noise and mitigation */

static void test_noise(void **st) {
  (void)st;
  QcCircuit c;
  qc_circuit_init(&c, 2);
  qc_add_const(&c, QG_H, 0, 0, 0);
  qc_add_const(&c, QG_CX, 0, 1, 0);
  int q[2] = {0, 1};
  QcObs *o = qc_add_obs(&c, QC_OBS_PROBS, q, 2);
  (void)o;
  QcObs *e = qc_add_obs(&c, QC_OBS_EXPVAL, q, 2);
  static char zz[] = "ZZ", xx[] = "XX";
  static char *ps[2] = {zz, xx};
  static double cf[2] = {1, 1};
  e->nterms = 2, e->paulis = ps, e->coeffs = cf;
  double *res[2];
  Cap cp;
  cap_init(&cp);
  /* ideal Bell state: p = [1/2, 0, 0, 1/2], <ZZ> + <XX> = 2 */
  QcRunOptions ro = {0};
  assert_int_equal(qc_simulate(&c, NULL, &ro, res, &cp.d), 0);
  assert_float_equal(res[0][0], 0.5, 1e-12);
  assert_float_equal(res[0][3], 0.5, 1e-12);
  assert_float_equal(res[1][0], 2, 1e-12);
  free(res[0]), free(res[1]);
  /* depolarizing p2 after CX (Qiskit's convention: rho -> (1-p) rho + p I/4): <ZZ> = <XX> =
   * 1 - p2 (the H is noiseless with p1 = 0); symmetric readout flips r scale each 2-letter
   * term by (1 - 2r)^2 */
  ro.noise.p2 = 0.1;
  ro.noise.ro0 = ro.noise.ro1 = 0.05;
  assert_int_equal(qc_simulate(&c, NULL, &ro, res, &cp.d), 0);
  assert_float_equal(res[1][0], 2 * 0.9 * 0.81, 1e-12);
  assert_float_equal(res[0][1], 0.1 / 4 * 0.95 * 0.95 + (0.45 + 0.025) * 0.05 * 0.95 * 2 + 0.1 / 4 * 0.05 * 0.05, 1e-12);
  free(res[0]), free(res[1]);
  /* readout mitigation with the exact calibration undoes the readout error */
  QcReadoutCal cal;
  QcNoise ron = {0};
  ron.ro0 = ron.ro1 = 0.05;
  qc_calibrate(2, &ron, &cal);
  ro.mitigate = &cal;
  assert_int_equal(qc_simulate(&c, NULL, &ro, res, &cp.d), 0);
  assert_float_equal(res[1][0], 2 * 0.9, 1e-12);
  free(res[0]), free(res[1]), free(cal.a);
  /* amplitude damping of |1>: P(1) = 1 - gamma; X then readout P(1) = 1 - gamma */
  QcCircuit d;
  qc_circuit_init(&d, 1);
  qc_add_const(&d, QG_X, 0, 0, 0);
  int q0 = 0;
  qc_add_obs(&d, QC_OBS_PROBS, &q0, 1);
  QcRunOptions ad = {0};
  ad.noise.amp = 0.2;
  assert_int_equal(qc_simulate(&d, NULL, &ad, res, &cp.d), 0);
  assert_float_equal(res[0][1], 0.8, 1e-12);
  free(res[0]);
  qc_circuit_free(&d);
  cap_free(&cp);
  qc_circuit_free(&c);
}

static void test_extrapolate(void **st) {
  (void)st;
  double s[3] = {1, 2, 3}, v[3], out;
  char err[200];
  for (int i = 0; i < 3; i++) v[i] = 0.7 - 0.2 * s[i] + 0.03 * s[i] * s[i];
  assert_true(qc_zne_extrapolate(QC_ZNE_RICHARDSON, 0, s, v, 3, &out, err, sizeof err));
  assert_float_equal(out, 0.7, 1e-12);
  assert_true(qc_zne_extrapolate(QC_ZNE_POLY, 2, s, v, 3, &out, err, sizeof err));
  assert_float_equal(out, 0.7, 1e-9);
  for (int i = 0; i < 3; i++) v[i] = 0.9 * exp(-0.3 * s[i]);
  assert_true(qc_zne_extrapolate(QC_ZNE_EXP, 0, s, v, 3, &out, err, sizeof err));
  assert_float_equal(out, 0.9, 1e-12);
  for (int i = 0; i < 3; i++) v[i] = 2 - 0.5 * s[i];
  assert_true(qc_zne_extrapolate(QC_ZNE_LINEAR, 0, s, v, 3, &out, err, sizeof err));
  assert_float_equal(out, 2, 1e-12);
  assert_false(qc_zne_extrapolate(QC_ZNE_POLY, 3, s, v, 3, &out, err, sizeof err));
  v[1] = -v[1];
  assert_false(qc_zne_extrapolate(QC_ZNE_EXP, 0, s, v, 3, &out, err, sizeof err));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kernels),      cmocka_unit_test(test_decompose),
      cmocka_unit_test(test_resynth),      cmocka_unit_test(test_cancel_merge),
      cmocka_unit_test(test_route),        cmocka_unit_test(test_zne_fold),
      cmocka_unit_test(test_route_adjacent), cmocka_unit_test(test_noise),
      cmocka_unit_test(test_extrapolate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
