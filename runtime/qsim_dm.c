/* qsim_dm.c - the density-matrix simulator: rho of n qubits stored as a vector of 2n qubits
 * (row bits low, column bits high), so a gate is the state-vector kernel on the row qubits
 * and its conjugate on the column qubits. Noise channels act on the 2x2 (4x4) blocks of the
 * qubits they touch. */
#include "qsim.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

bool qsim_dm_init(QsimDm *d, int n) {
  QsimState s;
  d->n = n;
  d->rho = NULL;
  if (n > 13 || !qsim_sv_init(&s, 2 * n)) return false;
  d->rho = s.amp;
  return true;
}

void qsim_dm_free(QsimDm *d) {
  free(d->rho);
  d->rho = NULL;
}

static QsimState view(QsimDm *d) {
  QsimState s = {2 * d->n, d->rho, 0};
  return s;
}

void qsim_dm_gate(QsimDm *d, int g, const int *q, const double *ang) {
  QsimState s = view(d);
  qsim_apply(&s, g, q, ang, 0, false);
  qsim_apply(&s, g, q, ang, d->n, true);
}

static inline uint64_t ins0(uint64_t k, int b) {
  return ((k >> b) << (b + 1)) | (k & ((UINT64_C(1) << b) - 1));
}

/* On every 2x2 block of qubit q: b00' = al b00 + be b11, b11' = ga b00 + de b11, the
 * off-diagonal entries times f. */
static void chan1(QsimDm *d, int q, double al, double be, double ga, double de, double f) {
  int n = d->n, rb = q, cb = q + n;
  uint64_t cnt = UINT64_C(1) << (2 * n - 2), R = UINT64_C(1) << rb, C = UINT64_C(1) << cb;
  double *x = d->rho;
  for (uint64_t k = 0; k < cnt; k++) {
    uint64_t i = ins0(ins0(k, rb), cb);
    double *b00 = x + 2 * i, *b11 = x + 2 * (i | R | C), *b10 = x + 2 * (i | R), *b01 = x + 2 * (i | C);
    double r0 = b00[0], i0 = b00[1], r1 = b11[0], i1 = b11[1];
    b00[0] = al * r0 + be * r1, b00[1] = al * i0 + be * i1;
    b11[0] = ga * r0 + de * r1, b11[1] = ga * i0 + de * i1;
    b10[0] *= f, b10[1] *= f, b01[0] *= f, b01[1] *= f;
  }
}

void qsim_dm_depol1(QsimDm *d, int q, double p) {
  if (p > 0) chan1(d, q, 1 - p / 2, p / 2, p / 2, 1 - p / 2, 1 - p);
}
void qsim_dm_amp_damp(QsimDm *d, int q, double g) {
  if (g > 0) chan1(d, q, 1, g, 0, 1 - g, sqrt(1 - g));
}
void qsim_dm_phase_damp(QsimDm *d, int q, double l) {
  if (l > 0) chan1(d, q, 1, 0, 0, 1, sqrt(1 - l));
}
void qsim_dm_reset(QsimDm *d, int q) {
  chan1(d, q, 1, 1, 0, 0, 0);
}
void qsim_dm_dephase(QsimDm *d, int q) {
  chan1(d, q, 1, 0, 0, 1, 0);
}

/* rho -> (1-p) rho + p Tr_ab(rho) (x) I/4 on qubits a, b. */
void qsim_dm_depol2(QsimDm *d, int a, int b, double p) {
  if (p <= 0) return;
  int n = d->n, pos[4] = {a, b, a + n, b + n};
  for (int i = 0; i < 4; i++)
    for (int j = i + 1; j < 4; j++)
      if (pos[j] < pos[i]) {
        int v = pos[i];
        pos[i] = pos[j];
        pos[j] = v;
      }
  uint64_t cnt = UINT64_C(1) << (2 * n - 4), A = UINT64_C(1) << a, B = UINT64_C(1) << b;
  double *x = d->rho;
  for (uint64_t k = 0; k < cnt; k++) {
    uint64_t base = ins0(ins0(ins0(ins0(k, pos[0]), pos[1]), pos[2]), pos[3]);
    double tr = 0, ti = 0;
    for (int r = 0; r < 4; r++) {
      uint64_t rbits = (r & 1 ? A : 0) | (r & 2 ? B : 0);
      double *e = x + 2 * (base | rbits | (rbits << n));
      tr += e[0], ti += e[1];
    }
    for (int r = 0; r < 4; r++)
      for (int c = 0; c < 4; c++) {
        uint64_t rbits = (r & 1 ? A : 0) | (r & 2 ? B : 0), cbits = (c & 1 ? A : 0) | (c & 2 ? B : 0);
        double *e = x + 2 * (base | rbits | (cbits << n));
        e[0] *= 1 - p, e[1] *= 1 - p;
        if (r == c) e[0] += p * tr / 4, e[1] += p * ti / 4;
      }
  }
}

/* ------------------------------------------------------------------ noise specs */

bool qc_noise_is_zero(const QcNoise *n) {
  return !n->p1 && !n->p2 && !n->amp && !n->phase && !n->ro0 && !n->ro1;
}

/* "depol1=0.001,depol2=0.01,readout=0.02,amp=0,phase=0,readout0=..,readout1=.." */
bool qc_noise_parse(const char *spec, QcNoise *n, char *err, size_t errlen) {
  memset(n, 0, sizeof *n);
  const char *s = spec;
  while (*s) {
    size_t len = strcspn(s, ",");
    const char *eq = memchr(s, '=', len);
    if (!eq) {
      snprintf(err, errlen, "noise: '%.*s' is not KEY=VALUE", (int)len, s);
      return false;
    }
    char key[32];
    size_t kl = (size_t)(eq - s);
    snprintf(key, sizeof key, "%.*s", (int)(kl < 31 ? kl : 31), s);
    char *end;
    errno = 0;
    double v = strtod(eq + 1, &end);
    if (errno || end != s + len || end == eq + 1 || !(v >= 0 && v <= 1)) {
      snprintf(err, errlen, "noise: %s needs a probability in [0, 1]", key);
      return false;
    }
    if (!strcmp(key, "depol1")) n->p1 = v;
    else if (!strcmp(key, "depol2")) n->p2 = v;
    else if (!strcmp(key, "amp")) n->amp = v;
    else if (!strcmp(key, "phase")) n->phase = v;
    else if (!strcmp(key, "readout")) n->ro0 = n->ro1 = v;
    else if (!strcmp(key, "readout0")) n->ro0 = v;
    else if (!strcmp(key, "readout1")) n->ro1 = v;
    else {
      snprintf(err, errlen, "noise: unknown key '%s' (depol1, depol2, amp, phase, readout, readout0, readout1)", key);
      return false;
    }
    s += len + (s[len] == ',');
  }
  return true;
}
