/* qc_bench.c - quantum benchmarks (run by hand: `ninja -C build bench-qc`, or
 * build/bench/qc_bench [--sim-qubits N]):
 *   1. routing: SABRE against the baseline router (each two-qubit gate in order moves its
 *      first qubit along a shortest path next to the second) on QFT, the Cuccaro
 *      ripple-carry adder and random circuits of 10-20 qubits, after qc-decompose to
 *      {u, cx}, on heavy-hex and grid maps: SWAPs, CX (a SWAP is 3) and depth;
 *   2. the state-vector simulator: amplitude updates per second on one core. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontend.h"
#include "passes.h"

static uint64_t rs = 88172645463325252ull;
static uint64_t rnd(void) {
  rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
  return rs;
}

/* CPU time of this thread: the machine is shared, wall time would count other jobs */
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void qft(QcCircuit *c, int n) {
  qc_circuit_init(c, n);
  for (int j = 0; j < n; j++) {
    qc_add_const(c, QG_H, j, 0, 0);
    for (int k = j + 1; k < n; k++) qc_add_const(c, QG_CP, k, j, M_PI / (double)(1 << (k - j)));
  }
}

/* Cuccaro et al.'s ripple-carry adder of nb-bit numbers: 2 nb + 2 qubits. */
static void adder(QcCircuit *c, int nb) {
  qc_circuit_init(c, 2 * nb + 2);
#define A(i) (2 + 2 * (i))
#define B(i) (1 + 2 * (i))
#define CCX(x, y, z) qc_add(c, QG_CCX, (int[]){x, y, z}, NULL)
#define MAJ(x, y, z) (qc_add_const(c, QG_CX, z, y, 0), qc_add_const(c, QG_CX, z, x, 0), CCX(x, y, z))
#define UMA(x, y, z) (CCX(x, y, z), qc_add_const(c, QG_CX, z, x, 0), qc_add_const(c, QG_CX, x, y, 0))
  for (int i = 0; i < nb; i++) qc_add_const(c, QG_X, A(i), 0, 0), qc_add_const(c, QG_H, B(i), 0, 0);
  MAJ(0, B(0), A(0));
  for (int i = 1; i < nb; i++) MAJ(A(i - 1), B(i), A(i));
  qc_add_const(c, QG_CX, A(nb - 1), 2 * nb + 1, 0);
  for (int i = nb - 1; i >= 1; i--) UMA(A(i - 1), B(i), A(i));
  UMA(0, B(0), A(0));
}

static void random_circuit(QcCircuit *c, int n, int layers) {
  qc_circuit_init(c, n);
  int perm[64];
  for (int l = 0; l < layers; l++) {
    for (int i = 0; i < n; i++) qc_add_const(c, QG_RY, i, 0, (double)(rnd() % 1000) / 100);
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
      int j = (int)(rnd() % (uint64_t)(i + 1)), t = perm[i];
      perm[i] = perm[j], perm[j] = t;
    }
    for (int i = 0; i + 1 < n; i += 2) qc_add_const(c, QG_CX, perm[i], perm[i + 1], 0);
  }
}

/* qc-decompose{basis=[u,cx]} through a model, as effc opt runs it. */
static void decompose(QcCircuit *c) {
  static const char text[] = "<ir_version: 10, opset_import: [\"effc.qc\" : 1, \"\" : 21]>\ng () => () {\n}\n";
  Diag d;
  ir_diag_init(&d, stderr, "bench", NULL, 0);
  Model *m = fe_parse("bench", text, sizeof text - 1, &d);
  int q0 = 0;
  QcObs *o = qc_add_obs(c, QC_OBS_PROBS, &q0, 1); /* keeps the circuit's qubits */
  (void)o;
  if (!m || qc_graph_write(m, c, &d)) abort();
  PassPipeline *p = pass_pipeline_parse("qc-decompose{basis=[u,cx]}", &d);
  PassRunOptions ro = {0};
  if (!p || pass_pipeline_run(m, p, &ro, &d)) abort();
  qc_circuit_free(c);
  if (qc_circuit_from_graph(m, c, &d)) abort();
  pass_pipeline_free(p);
  ir_model_free(m);
}

static int count_cx(const QcCircuit *c) {
  int n = 0;
  for (int i = 0; i < c->nops; i++) n += c->ops[i].g == QG_CX;
  return n;
}

static void bench_routing(void) {
  const char *maps[] = {"heavy-hex:3x9", "grid:4x5"};
  const char *names[] = {"qft", "adder", "random"};
  int sizes[] = {10, 16, 20};
  long tot_b = 0, tot_s = 0;
  double worst = 1e9;
  printf("%-14s %-7s %3s %5s | %7s %7s %7s | %7s %7s %7s | %s\n", "map", "circuit", "n", "cx0", "swaps", "cx", "depth",
         "swaps", "cx", "depth", "swap reduction");
  printf("%-14s %-7s %3s %5s | %23s | %23s |\n", "", "", "", "", "baseline", "SABRE");
  for (int mi = 0; mi < 2; mi++) {
    QcCoupling cm;
    char err[256];
    if (!qc_coupling_parse(maps[mi], &cm, err, sizeof err)) abort();
    for (int ci = 0; ci < 3; ci++)
      for (int si = 0; si < 3; si++) {
        int n = sizes[si];
        QcCircuit c, rb, rsab;
        if (ci == 0) qft(&c, n);
        else if (ci == 1) adder(&c, (n - 2) / 2);
        else random_circuit(&c, n, 10);
        decompose(&c);
        QcRouteStats sb, ss;
        if (qc_route(&c, &cm, false, 1, 1, &rb, &sb, err, sizeof err) ||
            qc_route(&c, &cm, true, 8, 1, &rsab, &ss, err, sizeof err)) {
          fprintf(stderr, "%s\n", err);
          exit(1);
        }
        double red = sb.swaps ? 1 - (double)ss.swaps / sb.swaps : 0;
        printf("%-14s %-7s %3d %5d | %7d %7d %7d | %7d %7d %7d | %5.1f%%\n", maps[mi], names[ci], c.nq, count_cx(&c),
               sb.swaps, sb.cx, sb.depth, ss.swaps, ss.cx, ss.depth, 100 * red);
        tot_b += sb.swaps, tot_s += ss.swaps;
        worst = red < worst ? red : worst;
        qc_circuit_free(&c), qc_circuit_free(&rb), qc_circuit_free(&rsab);
      }
    qc_coupling_free(&cm);
  }
  printf("total swaps: baseline %ld, SABRE %ld: %.1f%% fewer; worst case %.1f%% fewer\n", tot_b, tot_s,
         100 * (1 - (double)tot_s / (double)tot_b), 100 * worst);
}

static void bench_sim(int n) {
  QsimState s;
  if (!qsim_sv_init(&s, n)) {
    fprintf(stderr, "cannot allocate %d qubits\n", n);
    exit(1);
  }
  static const int gates1[] = {QG_H, QG_RX, QG_RY, QG_RZ, QG_T, QG_SX, QG_X};
  static const int gates2[] = {QG_CX, QG_CZ, QG_RZZ, QG_CP, QG_SWAP, QG_CRY};
  int ng = 0;
  memset(s.amp, 0, sizeof(double) << (n + 1)); /* fault the pages in before timing */
  s.amp[0] = 1;
  double t0 = now();
  s.updates = 0;
  for (int l = 0; l < 3; l++) {
    for (int q = 0; q < n; q++) {
      double a = 0.1 * q + l;
      qsim_apply(&s, gates1[(q + l) % 7], &q, &a, 0, false), ng++;
    }
    for (int q = 0; q + 1 < n; q += 2) {
      int qq[2] = {q, (q + 1 + 2 * l) % n == q ? (q + 1) % n : (q + 1 + 2 * l) % n};
      double a = 0.3;
      qsim_apply(&s, gates2[(q / 2 + l) % 6], qq, &a, 0, false), ng++;
    }
  }
  double dt = now() - t0, norm = 0;
  for (uint64_t i = 0; i < (UINT64_C(2) << n); i++) norm += s.amp[i] * s.amp[i];
  printf("state vector: %d qubits, %d gates in %.3f s: %.3g amplitude updates/s (%.3g full-state gate "
         "applications/s x 2^%d), norm %.12f\n",
         n, ng, dt, (double)s.updates / dt, ng / dt, n, norm);
  qsim_sv_free(&s);
}

int main(int argc, char **argv) {
  int simq = 24;
  bool route = true;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--sim-qubits") && i + 1 < argc) simq = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--sim-only")) route = false;
    else {
      fprintf(stderr, "usage: qc_bench [--sim-qubits N] [--sim-only]\n");
      return 2;
    }
  }
  if (route) bench_routing();
  bench_sim(simq);
  return 0;
}
