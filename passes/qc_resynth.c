/* qc_resynth.c - the `qc-resynth` pass: every maximal run of constant one-qubit gates on a
 * qubit is multiplied out and resynthesized as RZ RY RZ (zyz), RZ SX RZ SX RZ (zsx) or one
 * U, when that is shorter or the run holds gates outside the form. Runs with symbolic angles
 * are left alone. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

static bool in_form(int g, char form) {
  return form == 'u' ? g == QG_U : form == 'z' ? g == QG_RZ || g == QG_RY : g == QG_RZ || g == QG_SX;
}

typedef struct Run {
  int *ops;
  int n, cap;
} Run;

static int resynth(const QcCircuit *in, QcCircuit *out, const void *arg, PassCtx *pc) {
  char form = *(const char *)arg;
  int n = in->nops, replaced = 0;
  char *dead = calloc((size_t)n + 1, 1), *has = calloc((size_t)n + 1, 1);
  QcCircuit *rep = calloc((size_t)n + 1, sizeof *rep); /* replacement placed at a run's last op */
  Run *run = calloc((size_t)in->nq + 1, sizeof *run);
  if (!dead || !has || !rep || !run) abort();
  for (int i = 0; i <= n; i++) {
    const QcOp *o = i < n ? &in->ops[i] : NULL;
    bool one = o && o->nq == 1 && o->g < QG_MEASURE;
    for (int k = 0; one && k < qc_gates[o->g].nangles; k++) one = qc_angle_is_const(&o->a[k]);
    if (one) {
      Run *r = &run[o->q[0]];
      if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 8;
        r->ops = realloc(r->ops, (size_t)r->cap * sizeof *r->ops);
        if (!r->ops) abort();
      }
      r->ops[r->n++] = i;
      continue;
    }
    /* flush the runs of the wires this op touches (all wires at the end) */
    for (int w = 0; w < in->nq; w++) {
      bool touch = !o;
      const int *q = o ? qc_op_wires(o) : NULL;
      for (int k = 0; o && k < o->nq; k++) touch |= q[k] == w;
      Run *r = &run[w];
      if (!touch || !r->n) continue;
      double m[8] = {1, 0, 0, 0, 0, 0, 1, 0}, g[8];
      bool outside = false;
      for (int k = 0; k < r->n; k++) {
        const QcOp *x = &in->ops[r->ops[k]];
        double ang[3] = {x->a[0].c, x->a[1].c, x->a[2].c};
        qc_matrix1(x->g, ang, g);
        qc_mat_mul(g, m, m);
        outside |= !in_form(x->g, form);
      }
      QcCircuit t;
      qc_circuit_init(&t, in->nq);
      qc_synth1(&t, w, m, form);
      if (t.nops < r->n || outside) {
        for (int k = 0; k < r->n; k++) dead[r->ops[k]] = 1;
        rep[r->ops[r->n - 1]] = t;
        has[r->ops[r->n - 1]] = 1;
        replaced++;
      } else {
        qc_circuit_free(&t);
      }
      r->n = 0;
    }
  }
  qc_circuit_shell(out, in);
  for (int i = 0; i < n; i++) {
    if (has[i]) {
      for (int k = 0; k < rep[i].nops; k++) qc_append(out, &rep[i].ops[k]);
      qc_circuit_free(&rep[i]);
    }
    if (!dead[i]) qc_append(out, &in->ops[i]);
  }
  for (int w = 0; w < in->nq; w++) free(run[w].ops);
  free(run);
  free(rep);
  free(dead);
  free(has);
  pass_stat(pc, "runs-resynthesized", replaced);
  return 0;
}

static int run(Model *m, const PassOptions *o, PassCtx *c) {
  if (ir_model_opset(m, "effc.qc") < 0) return 0;
  const char *b = pass_opt_str(o, "basis");
  char form = !strcmp(b, "zyz") ? 'z' : !strcmp(b, "zsx") ? 's' : !strcmp(b, "u") ? 'u' : 0;
  if (!form) {
    ir_error(c->d, ir_noloc, "basis must be zyz, zsx or u, not '%s'", b);
    return -1;
  }
  return qc_pass_run(m, c, resynth, &form);
}

static const PassOptSpec opts[] = {
    {"basis", POPT_STRING, "zsx", "zyz (RZ RY RZ), zsx (RZ SX RZ SX RZ) or u (one U)"},
};

const Pass pass_qc_resynth = {
    "qc-resynth",
    "resynthesize runs of constant one-qubit gates (ZYZ, ZSX or U)",
    opts,
    1,
    run,
    0,
    "A run ends at any multi-qubit gate, Measure, Reset or Barrier on its qubit, or at a "
    "gate with a symbolic angle. The run's 2x2 product is decomposed by ZYZ Euler angles "
    "(U(t, p, l) = RZ(p) RY(t) RZ(l), or RZ(p + pi) SX RZ(t + pi) SX RZ(l)); a diagonal "
    "product becomes one RZ and the identity nothing. Exact up to global phase.",
};
