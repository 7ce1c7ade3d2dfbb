/* qc_merge.c - the `qc-merge` pass: merge rotations about the same axis on the same qubits
 * (RX, RY, RZ, P, RXX, RZZ, CRX, CRY, CRZ, CP) across gates that commute with them, adding
 * their angles (symbolic angles add as affine forms); rotations by a multiple of their
 * period (2 pi, 4 pi for controlled rotations) are dropped. */
#include "passes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool mergeable(int g) {
  return g == QG_RX || g == QG_RY || g == QG_RZ || g == QG_P || g == QG_RXX || g == QG_RZZ || g == QG_CRX ||
         g == QG_CRY || g == QG_CRZ || g == QG_CP;
}

static bool same_wires(const QcOp *a, const QcOp *b) {
  if (a->nq == 1) return a->q[0] == b->q[0];
  bool sym = a->g == QG_RXX || a->g == QG_RZZ || a->g == QG_CP;
  return (a->q[0] == b->q[0] && a->q[1] == b->q[1]) || (sym && a->q[0] == b->q[1] && a->q[1] == b->q[0]);
}

static bool is_identity(const QcOp *o) {
  if (!qc_angle_is_const(&o->a[0])) return false;
  double period = o->g == QG_CRX || o->g == QG_CRY || o->g == QG_CRZ ? 4 * M_PI : 2 * M_PI;
  double r = fmod(fabs(o->a[0].c), period);
  return r < 1e-12 || period - r < 1e-12;
}

static int merge(const QcCircuit *in, QcCircuit *out, const void *arg, PassCtx *pc) {
  (void)arg;
  int n = in->nops, merged = 0, dropped = 0;
  char *dead = calloc((size_t)n + 1, 1);
  QcOp *ops = malloc(((size_t)n + 1) * sizeof *ops);
  if (!dead || !ops) abort();
  memcpy(ops, in->ops, (size_t)n * sizeof *ops);
  for (int i = 0; i < n; i++) {
    if (dead[i] || !mergeable(ops[i].g)) continue;
    for (int j = i + 1; j < n; j++) {
      if (dead[j] || !qc_ops_share(&ops[i], &ops[j])) continue;
      QcAngle sum;
      if (ops[j].g == ops[i].g && same_wires(&ops[i], &ops[j]) && qc_angle_lin(&ops[i].a[0], 1, &ops[j].a[0], 1, &sum)) {
        ops[i].a[0] = sum;
        dead[j] = 1;
        merged++;
        continue;
      }
      if (!qc_ops_commute(&ops[i], &ops[j])) break;
    }
    if (is_identity(&ops[i])) dead[i] = 1, dropped++;
  }
  qc_circuit_shell(out, in);
  for (int i = 0; i < n; i++)
    if (!dead[i]) qc_append(out, &ops[i]);
  free(dead);
  free(ops);
  pass_stat(pc, "rotations-merged", merged);
  pass_stat(pc, "identities-dropped", dropped);
  return 0;
}

static int run(Model *m, const PassOptions *o, PassCtx *c) {
  (void)o;
  if (ir_model_opset(m, "effc.qc") < 0) return 0;
  return qc_pass_run(m, c, merge, NULL);
}

const Pass pass_qc_merge = {
    "qc-merge",
    "merge same-axis rotations on the same qubits; drop identity rotations",
    NULL,
    0,
    run,
    0,
    "RZ(a) ... RZ(b) becomes RZ(a + b) when every gate between them on their qubits "
    "commutes with them (diagonal gates and CX controls for Z rotations, X-type gates and "
    "CX targets for X rotations); likewise RX, RY, P, RXX, RZZ (either qubit order), CRX, "
    "CRY, CRZ, CP. A constant rotation by a multiple of 2 pi (4 pi when controlled) is "
    "removed (a global phase at most). Exact up to global phase.",
};
