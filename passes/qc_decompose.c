/* qc_decompose.c - the `qc-decompose` pass: rewrite every gate into a basis (`u,cx`,
 * `rz,sx,x,cx`, `rz,ry,cx` or any list naming a one-qubit form and cx or cz). Multi-qubit
 * gates become CX and one-qubit gates by the textbook identities (qelib1.inc's
 * definitions); one-qubit gates outside the basis become U, RZ RY RZ or RZ SX RZ SX RZ,
 * symbolically when their angles are parameters, by ZYZ synthesis when constant. */
#include "passes.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

typedef struct Basis {
  bool has[QG_COUNT];
  char form; /* 'u', 's' (rz, sx) or 'z' (rz, ry) */
  int ent;   /* QG_CX or QG_CZ */
} Basis;

static bool near_2pi_multiple(double x) {
  double r = fmod(fabs(x), 2 * M_PI);
  return r < 1e-12 || 2 * M_PI - r < 1e-12;
}

static void add1(QcCircuit *o, int g, int q, const QcAngle *a) {
  if (a && qc_angle_is_const(a) && (g == QG_RZ || g == QG_RY || g == QG_RX) && near_2pi_multiple(a->c)) return;
  qc_add(o, g, &q, a);
}

static QcAngle shift(const QcAngle *a, double c) {
  QcAngle r = *a;
  r.c += c;
  return r;
}

/* Symbolic U(t, p, l) on q in the basis's one-qubit form (time order). */
static void u_form(QcCircuit *o, int q, const QcAngle *t, const QcAngle *p, const QcAngle *l, char form) {
  if (form == 'u') {
    QcAngle a[3] = {*t, *p, *l};
    qc_add(o, QG_U, &q, a);
  } else if (form == 'z') { /* U = RZ(p) RY(t) RZ(l) */
    add1(o, QG_RZ, q, l);
    add1(o, QG_RY, q, t);
    add1(o, QG_RZ, q, p);
  } else { /* U = RZ(p + pi) SX RZ(t + pi) SX RZ(l) */
    QcAngle a = shift(t, M_PI), b = shift(p, M_PI);
    add1(o, QG_RZ, q, l);
    add1(o, QG_SX, q, NULL);
    add1(o, QG_RZ, q, &a);
    add1(o, QG_SX, q, NULL);
    add1(o, QG_RZ, q, &b);
  }
}

void qc_synth1(QcCircuit *out, int q, const double m[8], char form) {
  double t, p, l;
  qc_zyz(m, &t, &p, &l);
  t = fabs(t) < 1e-12 ? 0 : t, p = fabs(p) < 1e-12 ? 0 : p, l = fabs(l) < 1e-12 ? 0 : l;
  QcAngle a = qc_const(t), b = qc_const(p), c = qc_const(l);
  if (form != 'u' && fabs(t) < 1e-12) { /* diagonal: one RZ */
    QcAngle s = qc_const(p + l);
    add1(out, QG_RZ, q, &s);
    return;
  }
  if (form == 'u' && fabs(t) < 1e-12 && near_2pi_multiple(p + l)) return;
  u_form(out, q, &a, &b, &c, form);
}

/* One-qubit op into the basis. */
static void lower1(QcCircuit *o, const QcOp *op, const Basis *b) {
  int q = op->q[0];
  if (b->has[op->g]) {
    qc_append(o, op);
    return;
  }
  bool sym = qc_gates[op->g].nangles && !qc_angle_is_const(&op->a[0]);
  for (int i = 1; i < qc_gates[op->g].nangles; i++) sym |= !qc_angle_is_const(&op->a[i]);
  if (!sym) {
    double ang[3], m[8];
    for (int i = 0; i < qc_gates[op->g].nangles; i++) ang[i] = op->a[i].c;
    qc_matrix1(op->g, ang, m);
    qc_synth1(o, q, m, b->form);
    return;
  }
  QcAngle z = qc_const(0), mh = qc_const(-M_PI / 2), ph = qc_const(M_PI / 2);
  switch (op->g) {
  case QG_RZ: case QG_P:
    if (b->has[QG_RZ]) add1(o, QG_RZ, q, &op->a[0]);
    else if (b->has[QG_P]) qc_add(o, QG_P, &q, op->a);
    else u_form(o, q, &z, &z, &op->a[0], b->form);
    return;
  case QG_RX: u_form(o, q, &op->a[0], &mh, &ph, b->form); return;
  case QG_RY: u_form(o, q, &op->a[0], &z, &z, b->form); return;
  default: u_form(o, q, &op->a[0], &op->a[1], &op->a[2], b->form); return;
  }
}

/* Multi-qubit op into the entangler and one-qubit gates (time order). */
static void lower2(QcCircuit *o, const QcOp *op, const Basis *b) {
  int a = op->q[0], t = op->q[1], c = op->q[2];
  QcAngle h, mh;
  if (b->has[op->g] || op->nq < 2) {
    qc_append(o, op);
    return;
  }
  if (qc_gates[op->g].nangles) {
    qc_angle_lin(&op->a[0], 0.5, &op->a[0], 0, &h);
    qc_angle_lin(&op->a[0], -0.5, &op->a[0], 0, &mh);
  }
#define G1(g, w, ang) qc_add(o, g, (int[]){w}, ang)
#define CX(x, y)                                                                               \
  do {                                                                                         \
    if (b->ent == QG_CX) qc_add(o, QG_CX, (int[]){x, y}, NULL);                                \
    else G1(QG_H, y, NULL), qc_add(o, QG_CZ, (int[]){x, y}, NULL), G1(QG_H, y, NULL);          \
  } while (0)
  switch (op->g) {
  case QG_CX: CX(a, t); break;
  case QG_CY: G1(QG_SDG, t, NULL); CX(a, t); G1(QG_S, t, NULL); break;
  case QG_CZ: G1(QG_H, t, NULL); CX(a, t); G1(QG_H, t, NULL); break;
  case QG_SWAP: CX(a, t); CX(t, a); CX(a, t); break;
  case QG_CRZ: G1(QG_RZ, t, &h); CX(a, t); G1(QG_RZ, t, &mh); CX(a, t); break;
  case QG_CRY: G1(QG_RY, t, &h); CX(a, t); G1(QG_RY, t, &mh); CX(a, t); break;
  case QG_CRX:
    G1(QG_H, t, NULL); G1(QG_RZ, t, &h); CX(a, t); G1(QG_RZ, t, &mh); CX(a, t); G1(QG_H, t, NULL);
    break;
  case QG_CP: G1(QG_P, a, &h); CX(a, t); G1(QG_P, t, &mh); CX(a, t); G1(QG_P, t, &h); break;
  case QG_RZZ: CX(a, t); G1(QG_RZ, t, &op->a[0]); CX(a, t); break;
  case QG_RXX:
    G1(QG_H, a, NULL); G1(QG_H, t, NULL); CX(a, t); G1(QG_RZ, t, &op->a[0]); CX(a, t);
    G1(QG_H, a, NULL); G1(QG_H, t, NULL);
    break;
  case QG_CCX: /* qelib1.inc */
    G1(QG_H, c, NULL); CX(t, c); G1(QG_TDG, c, NULL); CX(a, c); G1(QG_T, c, NULL); CX(t, c);
    G1(QG_TDG, c, NULL); CX(a, c); G1(QG_T, t, NULL); G1(QG_T, c, NULL); G1(QG_H, c, NULL);
    CX(a, t); G1(QG_T, a, NULL); G1(QG_TDG, t, NULL); CX(a, t);
    break;
  default: qc_append(o, op); break;
  }
#undef CX
#undef G1
}

static int basis_parse(const char *s, Basis *b, Diag *d) {
  memset(b, 0, sizeof *b);
  if (*s == '[') s++;
  b->has[QG_MEASURE] = b->has[QG_RESET] = b->has[QG_BARRIER] = true;
  while (*s) {
    size_t n = strcspn(s, ",]");
    char name[16];
    if (n == 0 || n >= sizeof name) {
      ir_error(d, ir_noloc, "basis: bad gate name '%.*s'", (int)n, s);
      return -1;
    }
    for (size_t i = 0; i < n; i++) name[i] = (char)tolower((unsigned char)s[i]);
    name[n] = 0;
    int g = -1;
    if (!strcmp(name, "u3") || !strcmp(name, "u")) g = QG_U;
    else if (!strcmp(name, "u1") || !strcmp(name, "p")) g = QG_P;
    else if (!strcmp(name, "cu1")) g = QG_CP;
    else
      for (int k = 0; k < QG_COUNT && g < 0; k++) {
        char low[16];
        size_t j = 0;
        for (; qc_gates[k].name[j] && j < 15; j++) low[j] = (char)tolower((unsigned char)qc_gates[k].name[j]);
        low[j] = 0;
        if (!strcmp(low, name)) g = k;
      }
    if (g < 0 && strcmp(name, "id")) {
      ir_error(d, ir_noloc, "basis: unknown gate '%s'", name);
      return -1;
    }
    if (g >= 0) b->has[g] = true;
    s += n + (s[n] == ',' || s[n] == ']');
  }
  b->form = b->has[QG_U] ? 'u' : b->has[QG_RZ] && b->has[QG_SX] ? 's' : b->has[QG_RZ] && b->has[QG_RY] ? 'z' : 0;
  b->ent = b->has[QG_CX] ? QG_CX : b->has[QG_CZ] ? QG_CZ : -1;
  if (!b->form || b->ent < 0) {
    ir_error(d, ir_noloc, "basis: needs a one-qubit form (u, or rz and sx, or rz and ry) and cx or cz");
    return -1;
  }
  return 0;
}

static int decompose(const QcCircuit *in, QcCircuit *out, const void *arg, PassCtx *pc) {
  const Basis *b = arg;
  QcCircuit mid;
  qc_circuit_shell(&mid, in);
  for (int i = 0; i < in->nops; i++) lower2(&mid, &in->ops[i], b);
  qc_circuit_shell(out, in);
  for (int i = 0; i < mid.nops; i++) {
    const QcOp *op = &mid.ops[i];
    if (op->nq == 1 && op->g < QG_MEASURE) lower1(out, op, b);
    else qc_append(out, op);
  }
  qc_circuit_free(&mid);
  (void)pc;
  return 0;
}

static int run(Model *m, const PassOptions *o, PassCtx *c) {
  if (ir_model_opset(m, "effc.qc") < 0) return 0;
  Basis b;
  if (basis_parse(pass_opt_str(o, "basis"), &b, c->d)) return -1;
  return qc_pass_run(m, c, decompose, &b);
}

static const PassOptSpec opts[] = {
    {"basis", POPT_LIST, "[u,cx]", "target gates: a one-qubit form (u; rz,sx; rz,ry) and cx or cz"},
};

const Pass pass_qc_decompose = {
    "qc-decompose",
    "rewrite effc.qc gates into a target basis (u,cx / rz,sx,x,cx / a list)",
    opts,
    1,
    run,
    0,
    "Gates named in the basis stay. Other multi-qubit gates become the entangler (cx, or cz "
    "with Hadamards) and one-qubit gates by qelib1.inc's definitions (CCX with 6 CX). "
    "One-qubit gates outside the basis become U(t, p, l), RZ(l) RY(t) RZ(p), or RZ(l) SX "
    "RZ(t + pi) SX RZ(p + pi): symbolically when an angle is a parameter, by ZYZ synthesis "
    "of the gate's matrix when constant. Equal up to global phase (checked on random "
    "circuits by the state-vector simulator, tests/unit/test_qc.c).",
};
