/* qsim_zne.c - zero-noise extrapolation (Mitiq's factories): Richardson (the polynomial
 * through every point), linear and polynomial least squares, and exponential (a log-linear
 * least-squares fit of |value| when every value has the same sign). */
#include "qsim.h"

#include <math.h>
#include <string.h>

bool qc_zne_method_parse(const char *s, QcZneMethod *m) {
  if (!strcmp(s, "richardson")) *m = QC_ZNE_RICHARDSON;
  else if (!strcmp(s, "linear")) *m = QC_ZNE_LINEAR;
  else if (!strcmp(s, "poly") || !strcmp(s, "polynomial")) *m = QC_ZNE_POLY;
  else if (!strcmp(s, "exp") || !strcmp(s, "exponential")) *m = QC_ZNE_EXP;
  else return false;
  return true;
}

/* Least-squares polynomial of degree deg through (x, y); its value at 0 (the intercept). */
static bool lsq_intercept(const double *x, const double *y, int n, int deg, double *out) {
  enum { MAXD = 16 };
  if (deg < 0 || deg >= MAXD || n < deg + 1) return false;
  int k = deg + 1;
  double a[MAXD][MAXD + 1];
  memset(a, 0, sizeof a);
  for (int i = 0; i < n; i++) {
    double p[2 * MAXD];
    p[0] = 1;
    for (int e = 1; e < 2 * k; e++) p[e] = p[e - 1] * x[i];
    for (int r = 0; r < k; r++) {
      for (int c = 0; c < k; c++) a[r][c] += p[r + c];
      a[r][k] += p[r] * y[i];
    }
  }
  for (int c = 0; c < k; c++) { /* Gaussian elimination with partial pivoting */
    int piv = c;
    for (int r = c + 1; r < k; r++)
      if (fabs(a[r][c]) > fabs(a[piv][c])) piv = r;
    if (fabs(a[piv][c]) < 1e-300) return false;
    if (piv != c)
      for (int j = 0; j <= k; j++) {
        double t = a[c][j];
        a[c][j] = a[piv][j];
        a[piv][j] = t;
      }
    for (int r = 0; r < k; r++) {
      if (r == c) continue;
      double f = a[r][c] / a[c][c];
      for (int j = c; j <= k; j++) a[r][j] -= f * a[c][j];
    }
  }
  *out = a[0][k] / a[0][0];
  return isfinite(*out);
}

bool qc_zne_extrapolate(QcZneMethod m, int order, const double *s, const double *v, int n, double *out,
                        char *err, size_t errlen) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < i; j++)
      if (s[i] == s[j]) {
        snprintf(err, errlen, "scale factor %g is given twice", s[i]);
        return false;
      }
  switch (m) {
  case QC_ZNE_RICHARDSON: {
    if (n < 2) break;
    double r = 0;
    for (int i = 0; i < n; i++) {
      double w = 1;
      for (int j = 0; j < n; j++)
        if (j != i) w *= s[j] / (s[j] - s[i]);
      r += w * v[i];
    }
    *out = r;
    return true;
  }
  case QC_ZNE_LINEAR:
    if (n >= 2 && lsq_intercept(s, v, n, 1, out)) return true;
    break;
  case QC_ZNE_POLY:
    if (order < 1 || n < order + 1) {
      snprintf(err, errlen, "a polynomial of order %d needs at least %d points (have %d)", order, order + 1, n);
      return false;
    }
    if (lsq_intercept(s, v, n, order, out)) return true;
    break;
  case QC_ZNE_EXP: {
    double ly[64];
    if (n < 2 || n > 64) break;
    for (int i = 0; i < n; i++) {
      if (v[i] == 0 || (v[i] > 0) != (v[0] > 0)) {
        snprintf(err, errlen, "exponential extrapolation needs values of one sign, none zero");
        return false;
      }
      ly[i] = log(fabs(v[i]));
    }
    double c;
    if (!lsq_intercept(s, ly, n, 1, &c)) break;
    *out = (v[0] > 0 ? 1 : -1) * exp(c);
    return true;
  }
  }
  snprintf(err, errlen, "cannot extrapolate from %d point%s with this method", n, n == 1 ? "" : "s");
  return false;
}
