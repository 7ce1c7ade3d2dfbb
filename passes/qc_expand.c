/* qc_expand.c - the `qc-expand` pass: the QML templates (AngleEmbedding,
 * StronglyEntanglingLayers, QAOACost, QAOAMixer) become gates. The circuit reader expands
 * them (runtime/qsim_circuit.c, so `effc run` needs no pass); this pass writes the result. */
#include "passes.h"

static int expand(const QcCircuit *in, QcCircuit *out, const void *arg, PassCtx *pc) {
  (void)arg, (void)pc;
  qc_circuit_shell(out, in);
  for (int i = 0; i < in->nops; i++) qc_append(out, &in->ops[i]);
  return 0;
}

static int run(Model *m, const PassOptions *o, PassCtx *c) {
  (void)o;
  if (ir_model_opset(m, "effc.qc") < 0) return 0;
  return qc_pass_run(m, c, expand, NULL);
}

const Pass pass_qc_expand = {
    "qc-expand",
    "expand effc.qc templates (angle embedding, entangling layers, QAOA layers) into gates",
    NULL,
    0,
    run,
    0,
    "AngleEmbedding puts feature i on qubit i as RX, RY or RZ (attribute `rotation`); "
    "StronglyEntanglingLayers applies, per layer l, Rot(w[l,i,0], w[l,i,1], w[l,i,2]) = "
    "RZ RY RZ on every qubit, then CX(i, (i + r) mod n) with range r = `ranges[l]` or "
    "l mod (n-1) + 1 (PennyLane's convention); QAOACost applies RZZ(2 gamma w) per edge "
    "(exp(-i gamma w Z Z)); QAOAMixer applies RX(2 beta) on every qubit (exp(-i beta X)). "
    "Angles stay symbolic: derived angles become Mul/Add nodes of the parameters. Also "
    "canonicalizes any effc.qc graph (one Alloc, gates in order, observables last).",
};
