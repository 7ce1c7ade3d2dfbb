/* qsim.h - quantum circuits in the runtime: the gate table, circuits read from effc.qc graphs
 * (QcCircuit: a flat list of gates on wires, angles as affine forms of the graph's
 * parameters), the state-vector and density-matrix simulators with noise, readout
 * mitigation and zero-noise extrapolation. Prototypes are grouped under their file.
 * docs/quantum.md describes the domain and the conventions (bit order, output meaning). */
#ifndef EFFC_QSIM_H
#define EFFC_QSIM_H

#include "runtime.h"

/* ------------------------------------------------------------------ qsim_circuit.c */
/* The gates: enum id, op name in effc.qc, qubits (-1 = any), angles, OpenQASM 2.0 name
 * (qelib1.inc), OpenQASM 3.0 name (stdgates.inc). */
#define QC_GATES(X)                                                                            \
  X(H, "H", 1, 0, "h", "h")                                                                    \
  X(X, "X", 1, 0, "x", "x")                                                                    \
  X(Y, "Y", 1, 0, "y", "y")                                                                    \
  X(Z, "Z", 1, 0, "z", "z")                                                                    \
  X(S, "S", 1, 0, "s", "s")                                                                    \
  X(SDG, "Sdg", 1, 0, "sdg", "sdg")                                                            \
  X(T, "T", 1, 0, "t", "t")                                                                    \
  X(TDG, "Tdg", 1, 0, "tdg", "tdg")                                                            \
  X(SX, "SX", 1, 0, "sx", "sx")                                                                \
  X(SXDG, "SXdg", 1, 0, "sxdg", "sxdg")                                                        \
  X(RX, "RX", 1, 1, "rx", "rx")                                                                \
  X(RY, "RY", 1, 1, "ry", "ry")                                                                \
  X(RZ, "RZ", 1, 1, "rz", "rz")                                                                \
  X(P, "P", 1, 1, "u1", "p")                                                                   \
  X(U, "U", 1, 3, "u3", "U")                                                                   \
  X(CX, "CX", 2, 0, "cx", "cx")                                                                \
  X(CY, "CY", 2, 0, "cy", "cy")                                                                \
  X(CZ, "CZ", 2, 0, "cz", "cz")                                                                \
  X(SWAP, "SWAP", 2, 0, "swap", "swap")                                                        \
  X(CRX, "CRX", 2, 1, "crx", "crx")                                                            \
  X(CRY, "CRY", 2, 1, "cry", "cry")                                                            \
  X(CRZ, "CRZ", 2, 1, "crz", "crz")                                                            \
  X(CP, "CP", 2, 1, "cu1", "cp")                                                               \
  X(RXX, "RXX", 2, 1, "rxx", "rxx")                                                            \
  X(RZZ, "RZZ", 2, 1, "rzz", "rzz")                                                            \
  X(CCX, "CCX", 3, 0, "ccx", "ccx")                                                            \
  X(MEASURE, "Measure", 1, 0, "measure", "measure")                                            \
  X(RESET, "Reset", 1, 0, "reset", "reset")                                                    \
  X(BARRIER, "Barrier", -1, 0, "barrier", "barrier")

typedef enum {
#define X(id, name, nq, na, q2, q3) QG_##id,
  QC_GATES(X)
#undef X
      QG_COUNT
} QcGate;

typedef struct QcGateInfo {
  const char *name;
  int nq, nangles;
  const char *qasm2, *qasm3;
} QcGateInfo;
extern const QcGateInfo qc_gates[QG_COUNT];
int qc_gate_find(const char *name); /* -1 if not a gate */
/* xorshift64: the seeded generator of layouts, tie breaks and random folding (s != 0). */
static inline uint64_t qc_rand(uint64_t *s) {
  *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
  return *s;
}

/* An angle: c + sum k[i] * params[p[i]] (an affine form of the circuit's parameters). */
#define QC_MAX_TERMS 6
typedef struct QcAngle {
  double c;
  int n;
  double k[QC_MAX_TERMS];
  int p[QC_MAX_TERMS];
} QcAngle;
QcAngle qc_const(double c);
bool qc_angle_is_const(const QcAngle *a);
/* x*a + y*b; false when the result would need more than QC_MAX_TERMS terms. */
bool qc_angle_lin(const QcAngle *a, double x, const QcAngle *b, double y, QcAngle *out);
double qc_angle_eval(const QcAngle *a, const double *params);

#define QC_MAX_BARRIER 64
typedef struct QcOp {
  int g;         /* QcGate */
  int nq;        /* qubits (for Barrier, how many) */
  int q[3];      /* wires; Barrier: see bq */
  int *bq;       /* Barrier wires (nq of them), owned by the circuit's arena */
  QcAngle a[3];
  int obs;       /* Measure: index of its result in the circuit's observables */
} QcOp;

static inline const int *qc_op_wires(const QcOp *o) {
  return o->g == QG_BARRIER ? o->bq : o->q;
}

/* A symbolic parameter: element `index` (row-major) of value v, a graph input or a value a
 * node the circuit reader does not fold. */
typedef struct QcParam {
  Value *v;
  int64_t index;
} QcParam;

typedef enum { QC_OBS_EXPVAL, QC_OBS_PROBS, QC_OBS_MEASURE } QcObsKind;
/* A classical output: Expval (sum of coeffs[t] * <paulis[t]>, one letter per wire of q),
 * Probs (2^nq probabilities, q[0] is bit 0) or a Measure's probability of reading 1. */
typedef struct QcObs {
  QcObsKind kind;
  int nq;
  int *q;
  int nterms;
  char **paulis;
  double *coeffs;
  Value *out; /* the graph value it defines (NULL for circuits built in code) */
} QcObs;

typedef struct QcCircuit {
  int nq;
  QcOp *ops;
  int nops, cap;
  QcParam *params;
  int nparams, pcap;
  QcObs *obs;
  int nobs, ocap;
  Arena arena; /* barrier wires, observables' arrays */
} QcCircuit;

void qc_circuit_init(QcCircuit *c, int nq);
void qc_circuit_free(QcCircuit *c);
/* Append a gate; angles may be NULL when it has none. Returns the op. */
QcOp *qc_add(QcCircuit *c, int g, const int *q, const QcAngle *a);
QcOp *qc_add_barrier(QcCircuit *c, const int *q, int nq);
/* Append a copy of o (from any circuit; Barrier wires are copied). */
QcOp *qc_append(QcCircuit *c, const QcOp *o);
void qc_add_const(QcCircuit *c, int g, int q0, int q1, double a0); /* helper for code and tests */
QcObs *qc_add_obs(QcCircuit *c, QcObsKind kind, const int *q, int nq);
/* A copy of src's observables, parameters and nq (no ops) into dst (initialized here). */
void qc_circuit_shell(QcCircuit *dst, const QcCircuit *src);
/* Read the circuit of an effc.qc graph (m's main graph): qubits from Alloc, gates in node
 * order, templates expanded, angles parsed into affine forms of constants and parameters
 * (graph inputs; Identity, Neg, Add, Sub, Mul and Div by constants, Constant, and Gather of
 * a constant index are looked through). Reports misuse (a qubit used twice, an observable
 * of a qubit a later gate consumes, ...) and returns -1. */
int qc_circuit_from_graph(Model *m, QcCircuit *c, Diag *d);
/* The 2x2 matrix (row-major re/im pairs) of a one-qubit gate at the given angles. */
void qc_matrix1(int g, const double *ang, double m[8]);

/* ------------------------------------------------------------------ qsim_sv.c */
/* A state of n qubits: 2^n complex amplitudes (re, im interleaved); basis index bit i is
 * qubit i. Kernels are specialized per gate (diagonal, permutation, controlled, general
 * 2x2) and touch only the amplitudes a gate changes. */
typedef struct QsimState {
  int n;
  double *amp; /* 2 * 2^n doubles */
  uint64_t updates; /* amplitudes read and written, for benchmarks */
} QsimState;
/* |0...0>; false when 2^n amplitudes cannot be allocated (n <= 30). */
bool qsim_sv_init(QsimState *s, int n);
void qsim_sv_free(QsimState *s);
/* Apply one gate (not Measure/Reset/Barrier) with its angles evaluated. `off` shifts the
 * qubit indices and `conj` conjugates the matrix (the density matrix reuses the kernels for
 * its column index). */
void qsim_apply(QsimState *s, int g, const int *q, const double *ang, int off, bool conj);
/* Apply every gate op of c (angles from params); Measure/Reset/Barrier must not occur
 * except Barrier. */
void qsim_sv_run(QsimState *s, const QcCircuit *c, const double *params);

/* ------------------------------------------------------------------ qsim_dm.c */
/* The noise model: depolarizing after each one- and two-qubit gate (three-qubit gates count
 * as two two-qubit gates: (q0,q2) and (q1,q2)), amplitude and phase damping after each gate
 * on each of its qubits, readout flips P(read 1 | 0) = ro0 and P(read 0 | 1) = ro1. */
typedef struct QcNoise {
  double p1, p2, amp, phase, ro0, ro1;
} QcNoise;
bool qc_noise_parse(const char *spec, QcNoise *n, char *err, size_t errlen);
bool qc_noise_is_zero(const QcNoise *n);
typedef struct QsimDm {
  int n;
  double *rho; /* 4^n complex: element (r, c) at r + (c << n) */
} QsimDm;
bool qsim_dm_init(QsimDm *d, int n); /* n <= 13 */
void qsim_dm_free(QsimDm *d);
/* One-qubit channels on qubit q. */
void qsim_dm_depol1(QsimDm *d, int q, double p);
void qsim_dm_depol2(QsimDm *d, int a, int b, double p);
void qsim_dm_amp_damp(QsimDm *d, int q, double gamma);
void qsim_dm_phase_damp(QsimDm *d, int q, double lambda);
void qsim_dm_reset(QsimDm *d, int q);
void qsim_dm_dephase(QsimDm *d, int q);
void qsim_dm_gate(QsimDm *d, int g, const int *q, const double *ang);

/* ------------------------------------------------------------------ qsim_run.c */
/* Readout calibration: per wire, the confusion matrix A[meas][true] (row-major 2x2). */
typedef struct QcReadoutCal {
  int nq;
  double (*a)[4];
} QcReadoutCal;
typedef struct QcRunOptions {
  QcNoise noise;
  const QcReadoutCal *mitigate; /* invert readout with this calibration (NULL = none) */
  bool calibrate;               /* qc_run_model: calibrate under `noise` and mitigate */
} QcRunOptions;
/* Simulate c: results[i] receives observable i's values (1 for Expval and Measure, 2^nq
 * for Probs), malloc'd. Wires that never interact are simulated apart; a part uses the
 * state vector when it is noiseless and has no Reset and no gate after a Measure, else the
 * density matrix. -1 after reporting (too many qubits for the chosen simulator). */
int qc_simulate(const QcCircuit *c, const double *params, const QcRunOptions *o, double **results,
                Diag *d);
/* Calibrate readout under a noise model the way hardware does: prepare |0...0> and
 * |1...1> (X gates, with their gate noise) and read every wire. */
void qc_calibrate(int nq, const QcNoise *noise, QcReadoutCal *cal);
/* Apply the inverse of the tensored confusion matrices of wires q[0..k) to a distribution
 * over those wires (in place; 2^k entries). */
void qc_readout_mitigate(double *p, int k, const int *q, const QcReadoutCal *cal);
/* effc run on an effc.qc model: parameters from inputs (graph order, NULL = initializer),
 * outputs one tensor per graph output. 0, or -1 after reporting. */
int qc_run_model(Model *m, RtValue **inputs, RtValue **outputs, const QcRunOptions *o, Diag *d);
/* The model is a quantum circuit (imports effc.qc). */
bool qc_model_is_quantum(const Model *m);

/* ------------------------------------------------------------------ qsim_zne.c */
typedef enum { QC_ZNE_RICHARDSON, QC_ZNE_LINEAR, QC_ZNE_POLY, QC_ZNE_EXP } QcZneMethod;
/* Extrapolate values measured at noise scale factors to scale 0. order: polynomial degree
 * (POLY). false with a reason in err (too few points, singular system, values of mixed sign
 * for EXP). */
bool qc_zne_extrapolate(QcZneMethod m, int order, const double *scales, const double *values,
                        int n, double *out, char *err, size_t errlen);
bool qc_zne_method_parse(const char *s, QcZneMethod *m);

#endif
