/* qsim_sv.c - the state-vector simulator: one kernel per gate shape (diagonal phase,
 * permutation, controlled 2x2, general 2x2, two-qubit diagonal, XX rotation), each looping
 * over only the amplitudes the gate changes, in blocks the compiler vectorizes. No matrix is
 * built per amplitude. The density matrix (qsim_dm.c) reuses these kernels on 2n qubits. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* the loops below vectorize at -O3 (debugoptimized is -O2) */
#endif
/* The arithmetic kernels get an AVX2+FMA clone picked at load time (GCC's ifunc dispatch). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define QSIM_CLONES __attribute__((target_clones("avx2,fma", "default")))
#else
#define QSIM_CLONES
#endif
#include "qsim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool qsim_sv_init(QsimState *s, int n) {
  memset(s, 0, sizeof *s);
  if (n < 0 || n > 30) return false;
  s->n = n;
  s->amp = calloc((size_t)2 << n, sizeof(double));
  if (!s->amp) return false;
  s->amp[0] = 1;
  return true;
}

void qsim_sv_free(QsimState *s) {
  free(s->amp);
  s->amp = NULL;
}

/* Index with a zero bit inserted at position b. */
static inline uint64_t ins0(uint64_t k, int b) {
  uint64_t lo = k & ((UINT64_C(1) << b) - 1);
  return ((k >> b) << (b + 1)) | lo;
}

/* General 2x2 on qubit t: [a; b] -> m [a; b]. */
QSIM_CLONES static void k_mat1(QsimState *s, int t, const double *m) {
  double *a = s->amp;
  uint64_t N = UINT64_C(1) << s->n, st = UINT64_C(1) << t;
  double m0r = m[0], m0i = m[1], m1r = m[2], m1i = m[3], m2r = m[4], m2i = m[5], m3r = m[6], m3i = m[7];
  if (t == 0) { /* pairs of neighbours: one contiguous sweep */
    for (uint64_t b = 0; b < 2 * N; b += 4) {
      double xr = a[b], xi = a[b + 1], yr = a[b + 2], yi = a[b + 3];
      a[b] = m0r * xr - m0i * xi + m1r * yr - m1i * yi;
      a[b + 1] = m0r * xi + m0i * xr + m1r * yi + m1i * yr;
      a[b + 2] = m2r * xr - m2i * xi + m3r * yr - m3i * yi;
      a[b + 3] = m2r * xi + m2i * xr + m3r * yi + m3i * yr;
    }
    s->updates += N;
    return;
  }
  for (uint64_t b = 0; b < N; b += 2 * st) {
    double *restrict x = a + 2 * b, *restrict y = a + 2 * (b + st);
    for (uint64_t j = 0; j < st; j++) {
      double xr = x[2 * j], xi = x[2 * j + 1], yr = y[2 * j], yi = y[2 * j + 1];
      x[2 * j] = m0r * xr - m0i * xi + m1r * yr - m1i * yi;
      x[2 * j + 1] = m0r * xi + m0i * xr + m1r * yi + m1i * yr;
      y[2 * j] = m2r * xr - m2i * xi + m3r * yr - m3i * yi;
      y[2 * j + 1] = m2r * xi + m2i * xr + m3r * yi + m3i * yr;
    }
  }
  s->updates += N;
}

/* diag(d0, d1) on qubit t; d0 == 1 touches only the |1> half. */
QSIM_CLONES static void k_diag1(QsimState *s, int t, double d0r, double d0i, double d1r, double d1i) {
  double *a = s->amp;
  uint64_t N = UINT64_C(1) << s->n, st = UINT64_C(1) << t;
  bool skip0 = d0r == 1 && d0i == 0;
  for (uint64_t b = 0; b < N; b += 2 * st) {
    double *x = a + 2 * b, *y = a + 2 * (b + st);
    if (!skip0)
      for (uint64_t j = 0; j < st; j++) {
        double xr = x[2 * j], xi = x[2 * j + 1];
        x[2 * j] = d0r * xr - d0i * xi;
        x[2 * j + 1] = d0r * xi + d0i * xr;
      }
    for (uint64_t j = 0; j < st; j++) {
      double yr = y[2 * j], yi = y[2 * j + 1];
      y[2 * j] = d1r * yr - d1i * yi;
      y[2 * j + 1] = d1r * yi + d1i * yr;
    }
  }
  s->updates += skip0 ? N / 2 : N;
}

/* Exchange n doubles of x and y (runs of amplitudes). */
static void swap_runs(double *restrict x, double *restrict y, uint64_t n) {
  for (uint64_t j = 0; j < n; j++) {
    double v = x[j];
    x[j] = y[j];
    y[j] = v;
  }
}

/* X on qubit t: swap halves. */
static void k_x(QsimState *s, int t) {
  double *a = s->amp;
  uint64_t N = UINT64_C(1) << s->n, st = UINT64_C(1) << t;
  for (uint64_t b = 0; b < N; b += 2 * st) {
    swap_runs(a + 2 * b, a + 2 * (b + st), 2 * st);
  }
  s->updates += N;
}

/* 2x2 m on target t where control c is 1 (X when m is NULL). */
QSIM_CLONES static void k_cmat(QsimState *s, int c, int t, const double *m) {
  double *a = s->amp;
  int lo = c < t ? c : t, hi = c < t ? t : c;
  uint64_t n4 = UINT64_C(1) << (s->n - 2), cb = UINT64_C(1) << c, tb = UINT64_C(1) << t;
  uint64_t inner = UINT64_C(1) << lo; /* contiguous run length */
  for (uint64_t k0 = 0; k0 < n4; k0 += inner) {
    uint64_t base = ins0(ins0(k0, lo), hi) | cb;
    double *x = a + 2 * base, *y = a + 2 * (base | tb);
    if (!m) {
      swap_runs(x, y, 2 * inner);
      continue;
    }
    for (uint64_t j = 0; j < inner; j++) {
      double xr = x[2 * j], xi = x[2 * j + 1], yr = y[2 * j], yi = y[2 * j + 1];
      x[2 * j] = m[0] * xr - m[1] * xi + m[2] * yr - m[3] * yi;
      x[2 * j + 1] = m[0] * xi + m[1] * xr + m[2] * yi + m[3] * yr;
      y[2 * j] = m[4] * xr - m[5] * xi + m[6] * yr - m[7] * yi;
      y[2 * j + 1] = m[4] * xi + m[5] * xr + m[6] * yi + m[7] * yr;
    }
  }
  s->updates += UINT64_C(1) << (s->n - 1);
}

/* Two-qubit diagonal d[k] (k = bit_a + 2 bit_b, re/im pairs); entries equal to 1 are
 * skipped. */
QSIM_CLONES static void k_diag2(QsimState *s, int qa, int qb, const double *d) {
  double *a = s->amp;
  int lo = qa < qb ? qa : qb, hi = qa < qb ? qb : qa;
  uint64_t n4 = UINT64_C(1) << (s->n - 2), inner = UINT64_C(1) << lo;
  uint64_t off[4] = {0, UINT64_C(1) << qa, UINT64_C(1) << qb, (UINT64_C(1) << qa) | (UINT64_C(1) << qb)};
  int ones = 0;
  for (int k = 0; k < 4; k++) ones += d[2 * k] == 1 && d[2 * k + 1] == 0;
  if (ones < 2) { /* most entries change (RZZ, CRZ's conjugate...): one sweep over the state */
    uint64_t N = UINT64_C(1) << s->n;
    for (uint64_t i = 0; i < N; i++) {
      const double *e = d + 2 * (((i >> qa) & 1) | (((i >> qb) & 1) << 1));
      double xr = a[2 * i], xi = a[2 * i + 1];
      a[2 * i] = e[0] * xr - e[1] * xi;
      a[2 * i + 1] = e[0] * xi + e[1] * xr;
    }
    s->updates += N;
    return;
  }
  for (int k = 0; k < 4; k++) {
    double dr = d[2 * k], di = d[2 * k + 1];
    if (dr == 1 && di == 0) continue;
    for (uint64_t k0 = 0; k0 < n4; k0 += inner) {
      double *x = a + 2 * (ins0(ins0(k0, lo), hi) | off[k]);
      for (uint64_t j = 0; j < inner; j++) {
        double xr = x[2 * j], xi = x[2 * j + 1];
        x[2 * j] = dr * xr - di * xi;
        x[2 * j + 1] = dr * xi + di * xr;
      }
    }
    s->updates += n4;
  }
}

/* Mix the pairs (|00>,|11>) and (|01>,|10>) of qubits qa, qb by [c, -i s'; -i s', c]:
 * RXX(theta) with c = cos(theta/2), s' = sin(theta/2) (conj flips the sign of s'). SWAP
 * is the permutation of |01> and |10> only (c = NAN selects it). */
QSIM_CLONES static void k_pair2(QsimState *s, int qa, int qb, double c, double sn, bool swap) {
  double *a = s->amp;
  int lo = qa < qb ? qa : qb, hi = qa < qb ? qb : qa;
  uint64_t n4 = UINT64_C(1) << (s->n - 2), inner = UINT64_C(1) << lo;
  uint64_t ba = UINT64_C(1) << qa, bb = UINT64_C(1) << qb;
  for (uint64_t k0 = 0; k0 < n4; k0 += inner) {
    uint64_t base = ins0(ins0(k0, lo), hi);
    double *p00 = a + 2 * base, *p01 = a + 2 * (base | ba), *p10 = a + 2 * (base | bb),
           *p11 = a + 2 * (base | ba | bb);
    if (swap) {
      swap_runs(p01, p10, 2 * inner);
      continue;
    }
    for (uint64_t j = 0; j < inner; j++) {
      double xr = p00[2 * j], xi = p00[2 * j + 1], yr = p11[2 * j], yi = p11[2 * j + 1];
      p00[2 * j] = c * xr + sn * yi, p00[2 * j + 1] = c * xi - sn * yr;
      p11[2 * j] = c * yr + sn * xi, p11[2 * j + 1] = c * yi - sn * xr;
      xr = p01[2 * j], xi = p01[2 * j + 1], yr = p10[2 * j], yi = p10[2 * j + 1];
      p01[2 * j] = c * xr + sn * yi, p01[2 * j + 1] = c * xi - sn * yr;
      p10[2 * j] = c * yr + sn * xi, p10[2 * j + 1] = c * yi - sn * xr;
    }
  }
  s->updates += swap ? n4 * 2 : n4 * 4;
}

/* X on t where c1 and c2 are both 1. */
static void k_ccx(QsimState *s, int c1, int c2, int t) {
  double *a = s->amp;
  int b[3] = {c1, c2, t};
  for (int i = 0; i < 3; i++) /* sort the three positions */
    for (int j = i + 1; j < 3; j++)
      if (b[j] < b[i]) {
        int v = b[i];
        b[i] = b[j];
        b[j] = v;
      }
  uint64_t n8 = UINT64_C(1) << (s->n - 3), cm = (UINT64_C(1) << c1) | (UINT64_C(1) << c2), tb = UINT64_C(1) << t;
  for (uint64_t k = 0; k < n8; k++) {
    uint64_t i = ins0(ins0(ins0(k, b[0]), b[1]), b[2]) | cm;
    double *x = a + 2 * i, *y = a + 2 * (i | tb), r = x[0], im = x[1];
    x[0] = y[0], x[1] = y[1], y[0] = r, y[1] = im;
  }
  s->updates += n8 * 2;
}

static void conj_m(double *m, int n) {
  for (int i = 1; i < 2 * n; i += 2) m[i] = -m[i];
}

void qsim_apply(QsimState *s, int g, const int *qq, const double *ang, int off, bool conj) {
  int q[3] = {qq[0] + off, 0, 0};
  if (qc_gates[g].nq > 1) q[1] = qq[1] + off;
  if (qc_gates[g].nq > 2) q[2] = qq[2] + off;
  double m[8], t = ang ? ang[0] : 0, sg = conj ? -1 : 1;
  switch (g) {
  case QG_X: k_x(s, q[0]); return;
  case QG_Z: k_diag1(s, q[0], 1, 0, -1, 0); return;
  case QG_S: case QG_SDG: k_diag1(s, q[0], 1, 0, 0, (g == QG_S ? 1 : -1) * sg); return;
  case QG_T: case QG_TDG: k_diag1(s, q[0], 1, 0, M_SQRT1_2, (g == QG_T ? 1 : -1) * sg * M_SQRT1_2); return;
  case QG_P: k_diag1(s, q[0], 1, 0, cos(t), sg * sin(t)); return;
  case QG_RZ: k_diag1(s, q[0], cos(t / 2), -sg * sin(t / 2), cos(t / 2), sg * sin(t / 2)); return;
  case QG_H: case QG_Y: case QG_SX: case QG_SXDG: case QG_RX: case QG_RY: case QG_U:
    qc_matrix1(g, ang, m);
    if (conj) conj_m(m, 4);
    k_mat1(s, q[0], m);
    return;
  case QG_CX: k_cmat(s, q[0], q[1], NULL); return;
  case QG_CY: case QG_CRX: case QG_CRY:
    qc_matrix1(g == QG_CY ? QG_Y : g == QG_CRX ? QG_RX : QG_RY, ang, m);
    if (conj) conj_m(m, 4);
    k_cmat(s, q[0], q[1], m);
    return;
  case QG_CRZ: case QG_CP: case QG_CZ: case QG_RZZ: {
    double d[8] = {1, 0, 1, 0, 1, 0, 1, 0};
    double c2 = cos(t / 2), s2 = sg * sin(t / 2);
    if (g == QG_CZ) d[6] = -1;
    if (g == QG_CP) d[6] = cos(t), d[7] = sg * sin(t);
    if (g == QG_RZZ) {
      for (int k = 0; k < 4; k++) {
        int par = (k & 1) ^ (k >> 1);
        d[2 * k] = c2, d[2 * k + 1] = par ? s2 : -s2;
      }
    }
    /* d is indexed by bit(q[0]) + 2 bit(q[1]); CRZ's control is q[0]: entries 1 and 3 */
    if (g == QG_CRZ) {
      double e[8] = {1, 0, c2, -s2, 1, 0, c2, s2};
      k_diag2(s, q[0], q[1], e);
      return;
    }
    k_diag2(s, q[0], q[1], d);
    return;
  }
  case QG_SWAP: k_pair2(s, q[0], q[1], 0, 0, true); return;
  case QG_RXX: k_pair2(s, q[0], q[1], cos(t / 2), sg * sin(t / 2), false); return;
  case QG_CCX: k_ccx(s, q[0], q[1], q[2]); return;
  default: return;
  }
}

void qsim_sv_run(QsimState *s, const QcCircuit *c, const double *params) {
  for (int i = 0; i < c->nops; i++) {
    const QcOp *o = &c->ops[i];
    if (o->g >= QG_MEASURE) continue;
    double ang[3];
    for (int k = 0; k < qc_gates[o->g].nangles; k++) ang[k] = qc_angle_eval(&o->a[k], params);
    qsim_apply(s, o->g, o->q, ang, 0, false);
  }
}
