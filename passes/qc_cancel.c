/* qc_cancel.c - the `qc-cancel` pass: remove pairs of gates that are each other's inverse
 * (H H, S Sdg, CX CX, RZ(a) RZ(-a), ...) when every gate between them on their qubits
 * commutes with them: diagonal gates through CX controls and diagonal gates, X-type gates
 * through CX targets (Qiskit's commutative cancellation). Repeats until nothing changes. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

static int cancel(const QcCircuit *in, QcCircuit *out, const void *arg, PassCtx *pc) {
  (void)arg;
  QcCircuit cur;
  qc_circuit_shell(&cur, in);
  for (int i = 0; i < in->nops; i++) qc_append(&cur, &in->ops[i]);
  int total = 0;
  for (int round = 0; round < 16; round++) {
    int n = cur.nops, found = 0;
    char *dead = calloc((size_t)n + 1, 1);
    if (!dead) abort();
    QcOp inv;
    for (int i = 0; i < n; i++) {
      const QcOp *a = &cur.ops[i];
      if (dead[i] || !qc_op_inverse(a, &inv)) continue;
      for (int j = i + 1; j < n; j++) {
        const QcOp *b = &cur.ops[j];
        if (dead[j] || !qc_ops_share(a, b)) continue;
        if (qc_ops_inverse(a, b)) {
          dead[i] = dead[j] = 1;
          found++;
          break;
        }
        if (!qc_ops_commute(a, b)) break;
      }
    }
    QcCircuit next;
    qc_circuit_shell(&next, &cur);
    for (int i = 0; i < n; i++)
      if (!dead[i]) qc_append(&next, &cur.ops[i]);
    free(dead);
    qc_circuit_free(&cur);
    cur = next;
    total += found;
    if (!found) break;
  }
  pass_stat(pc, "pairs-cancelled", total);
  *out = cur;
  return 0;
}

static int run(Model *m, const PassOptions *o, PassCtx *c) {
  (void)o;
  if (ir_model_opset(m, "effc.qc") < 0) return 0;
  return qc_pass_run(m, c, cancel, NULL);
}

const Pass pass_qc_cancel = {
    "qc-cancel",
    "cancel inverse gate pairs, also across gates that commute with them",
    NULL,
    0,
    run,
    0,
    "For each gate, the later gates sharing a qubit are scanned: its inverse on the same "
    "qubits (symmetric gates in either order) cancels both; a gate that commutes with it "
    "(both diagonal on every shared qubit, or both X-type there: CX target, X, RX, SX) is "
    "passed over; anything else stops the scan. Exact (checked on random circuits).",
};
