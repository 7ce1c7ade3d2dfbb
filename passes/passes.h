/* passes.h - the pass manager: the pass registry (one row per pass, each pass in its own
 * file ending with its descriptor), pipeline strings (`name{key=value,...},name2`), and the
 * graph-editing helpers the passes share. Prototypes are grouped under their file. */
#ifndef EFFC_PASSES_H
#define EFFC_PASSES_H

#include "ir.h"

/* ------------------------------------------------------------------ registry.c */
typedef enum { POPT_INT, POPT_FLOAT, POPT_STRING, POPT_LIST } PassOptType;

/* One option of a pass: its name, type, default (as text, parsed like a pipeline value)
 * and one line of help. */
typedef struct PassOptSpec {
  const char *name;
  PassOptType type;
  const char *dflt;
  const char *help;
} PassOptSpec;

/* What a pass needs before it runs (the pass manager provides it). */
enum {
  PASS_REQ_SHAPES = 1, /* value types inferred (runs shape inference first) */
  PASS_REQ_KERNELS = 2 /* runs reference-interpreter kernels */
};

typedef struct Pass Pass;

/* A pass's options as given in the pipeline, validated against its schema. */
typedef struct PassOptions {
  const Pass *pass;
  int n;
  const char **keys, **values; /* values unquoted / unbracketed */
} PassOptions;

#define PASS_MAX_STATS 8
/* What a pass reports: the Diag (its prefix is the pass name) and counters. */
typedef struct PassCtx {
  Diag *d;
  const char *stat_names[PASS_MAX_STATS];
  int64_t stats[PASS_MAX_STATS];
  int n_stats;
} PassCtx;

struct Pass {
  const char *name;
  const char *summary;
  const PassOptSpec *opts;
  int n_opts;
  /* 0 on success, -1 after reporting an error. */
  int (*run)(Model *m, const PassOptions *o, PassCtx *c);
  unsigned requires;   /* PASS_REQ_* */
  const char *details; /* a paragraph for docs/passes.md */
};

extern const Pass *const pass_registry[];
extern const int pass_registry_n;
const Pass *pass_find(const char *name);
/* --list-passes: plain text, or markdown for docs/passes.md. */
void pass_list(FILE *out, bool markdown);

/* Option values: the pipeline's, else the schema default. */
int64_t pass_opt_int(const PassOptions *o, const char *name);
double pass_opt_float(const PassOptions *o, const char *name);
const char *pass_opt_str(const PassOptions *o, const char *name);
/* Add n to the counter `name` (created on first use). */
void pass_stat(PassCtx *c, const char *name, int64_t n);

/* ------------------------------------------------------------------ pipeline.c */
typedef struct PassPipeline {
  PassOptions *steps;
  int n;
  Arena arena; /* option text */
} PassPipeline;

/* Parse `name{key=value,...},name2`. Values holding commas are bracketed ([a,b]) or quoted
 * ("a,b" / 'a,b'). Errors go to d at line 1 and the column in `text` (give d the text as
 * its source for a caret). Returns NULL after reporting. */
PassPipeline *pass_pipeline_parse(const char *text, Diag *d);
void pass_pipeline_free(PassPipeline *p);

typedef struct PassRunOptions {
  bool verify_each;
  bool print_after_all; /* to stderr */
  bool time_passes;     /* to stderr */
  bool pass_stats;      /* to stderr */
  FILE *report;         /* where the three reports go (NULL = stderr) */
} PassRunOptions;

/* Run every step in order. Returns 0, or -1 after a pass or the verifier reported. */
int pass_pipeline_run(Model *m, const PassPipeline *p, const PassRunOptions *ro, Diag *d);

/* ------------------------------------------------------------------ util.c */
/* Every graph of the model (main graph, subgraphs, function bodies), parents before their
 * subgraphs. Iterative. The caller frees the array. */
Graph **pass_graphs(Model *m, int *n, bool with_functions);
/* The graphs held by one node's attributes (GRAPH and GRAPHS), appended to a vector. */
void pass_node_subgraphs(const Node *n, Graph ***v, size_t *len, size_t *cap);
/* Set input i of n, keeping use lists exact (the old value loses that use). */
void pass_set_input(Node *n, int i, Value *v);
/* Every node input and graph output (in every graph) that refers to `from` now refers to
 * `to`. */
void pass_replace_uses(Model *m, Value *from, Value *to);
/* The same with the graph list (pass_graphs with functions) computed once by the caller. */
void pass_replace_uses_in(Graph **gs, int ng, Value *from, Value *to);
/* Drop the uses n (and every node nested in its subgraphs) makes. */
void pass_unlink_node(Node *n);
/* Remove the nodes flagged in dead[] (indexed by position in g->nodes), unlinking their
 * uses; also drops value_info entries of the values they produced. Returns the count. */
int pass_remove_nodes(Graph *g, const bool *dead);
/* Visit every node of every graph (function bodies too with with_functions), parents
 * before subgraphs, and remove the nodes `visit` returns true for; value_info entries whose
 * has_value_info the visit cleared go with them. Returns the number removed. */
typedef struct PassVisit {
  Model *m;
  Graph **gs; /* every graph visited (for pass_replace_uses_in) */
  int ng;
  Graph *g;   /* the graph of the node being visited */
  void *arg;  /* the caller's */
} PassVisit;
int pass_drop_nodes(Model *m, bool with_functions, bool (*visit)(PassVisit *v, Node *n), void *arg);
/* Drop the value_info entries whose value's has_value_info was cleared (clear the flag,
 * then compact once per graph: linear however many values go). */
void pass_compact_value_infos(Graph *g);
/* Number of uses of v (node inputs anywhere) plus graph outputs of g that are v. */
int pass_use_count(const Value *v);
bool pass_is_graph_output(const Graph *g, const Value *v);
bool pass_is_graph_input(const Graph *g, const Value *v);
/* The constant data of v: an initializer that is not also a graph input (inputs may be
 * overridden), else NULL. */
const Tensor *pass_const_data(const Value *v);
/* Load the external data of every initializer that can be loaded; the rest stay unknown
 * (one warning to d with the count). Returns how many could not be loaded. */
int pass_load_weights(Model *m, Diag *d);
/* A fresh name based on `base` not defined in g or any enclosing graph. */
const char *pass_fresh_name(Graph *g, const char *base);
/* A new initializer in g holding t (t->name is set). */
Value *pass_add_initializer(Graph *g, const char *base, Tensor *t);
/* Make sure the model imports `domain` (at `version` if it must add it). */
void pass_ensure_opset(Model *m, const char *domain, int64_t version);
/* Set or add a float/int/string/floats attribute on n (arena copies). */
void pass_set_attr_float(Node *n, const char *name, float f);
void pass_set_attr_int(Node *n, const char *name, int64_t i);
void pass_set_attr_string(Node *n, const char *name, const char *s);
void pass_set_attr_floats(Node *n, const char *name, const float *f, size_t count);
void pass_set_attr_ints(Node *n, const char *name, const int64_t *v, size_t count);

/* ------------------------------------------------------------------ specialize.c */
/* `--shape NAME=1,3,224,224`: give graph input NAME that shape (its element type kept). */
int pass_set_input_shape(Model *m, const char *spec, Diag *d);
/* `--dim N=1`: replace the symbolic dim N by 1 in every type of the model. */
int pass_bind_dim(Model *m, const char *spec, Diag *d);

/* ------------------------------------------------------------------ plan.c */
/* The memory planner: pass `plan`, also called directly by `effc stats` and the MCU backend. */
typedef enum { PLAN_BEST, PLAN_GREEDY, PLAN_NAIVE } PlanStrategy;
/* One buffer: live from step `first` through step `last` (inclusive); `alias` is the index
 * of a buffer whose storage this one takes over (in-place), or -1. */
typedef struct PlanBuf {
  uint64_t size; /* bytes */
  int first, last;
  int alias;
  int64_t offset; /* result: a multiple of align */
} PlanBuf;
/* Give every buffer an offset so that buffers with intersecting lifetimes never share a byte
 * (an alias set shares one slot: the union of the lifetimes, the largest size). PLAN_BEST:
 * best-fit with conflict search, never above PLAN_GREEDY (TFLM greedy by size, first fit);
 * PLAN_NAIVE: no reuse (aliases ignored). Returns the arena size. */
uint64_t pass_plan_place(PlanBuf *b, int n, PlanStrategy s, uint64_t align);
/* The most bytes live at one step (alias sets merged, sizes aligned): no placement of these
 * buffers needs less. */
uint64_t pass_plan_lower_bound(const PlanBuf *b, int n, uint64_t align);
typedef struct PlanOptions {
  PlanStrategy strategy;
  uint64_t align;
  bool inplace; /* elementwise outputs take an input's buffer when legal */
  bool io;      /* graph inputs and outputs get arena buffers too (else not in the arena) */
} PlanOptions;
/* The plan of the main graph (types inferred), without changing the model. Arrays by value
 * id: offset (-1: not in the arena), bytes (unaligned), inplace (1: the value took an input's
 * buffer). -1 after naming a non-static intermediate. */
typedef struct ModelPlan {
  int64_t *offset;
  uint64_t *bytes;
  uint8_t *inplace;
  uint64_t arena_bytes, naive_bytes, lower_bytes; /* lower_bytes: pass_plan_lower_bound */
  int n_inplace;
} ModelPlan;
int pass_plan_model(const Model *m, const PlanOptions *o, ModelPlan *p, Diag *d);
void pass_plan_free(ModelPlan *p);
/* How many leading inputs of n its output 0 may share a buffer with (0: not in place).
 * Emitted kernels of these operators must accept out == in. */
int pass_plan_inplace_inputs(const Node *n);

/* ------------------------------------------------------------------ qc_circuit.c */
/* The effc.qc passes work on circuits (runtime/qsim.h): read the graph's circuit, transform
 * it, write it back in place of the effc.qc nodes. */
#include "qsim.h"
typedef int (*QcTransform)(const QcCircuit *in, QcCircuit *out, const void *arg, PassCtx *pc);
/* Read, transform, write; counts gates before and after. 0, or -1 after reporting. */
int qc_pass_run(Model *m, PassCtx *pc, QcTransform fn, const void *arg);
/* Replace the graph's effc.qc nodes by c (classical nodes that read the circuit's results
 * move after it). Observables keep their output values. */
int qc_graph_write(Model *m, const QcCircuit *c, Diag *d);
bool qc_op_inverse(const QcOp *o, QcOp *inv);      /* false for Measure, Reset, Barrier */
bool qc_ops_inverse(const QcOp *a, const QcOp *b); /* b == a^-1 (same wires) */
/* How o acts on wire w: 'Z' diagonal, 'X' X-type, '?' other, 0 not at all. */
char qc_op_action(const QcOp *o, int w);
bool qc_ops_commute(const QcOp *a, const QcOp *b); /* by the actions on shared wires */
bool qc_ops_share(const QcOp *a, const QcOp *b);   /* act on a common wire */
void qc_mat_mul(const double a[8], const double b[8], double out[8]);
/* m = e^{i beta} U(theta, phi, lambda) = e^{i alpha} RZ(phi) RY(theta) RZ(lambda). */
void qc_zyz(const double m[8], double *theta, double *phi, double *lam);

/* ------------------------------------------------------------------ qc_decompose.c */
/* Append gates equal (up to global phase) to the one-qubit unitary m on wire q, in the
 * form `form`: 'u' (one U), 'z' (RZ RY RZ) or 's' (RZ SX RZ SX RZ), dropping rotations by
 * multiples of 2 pi. */
void qc_synth1(QcCircuit *out, int q, const double m[8], char form);

/* ------------------------------------------------------------------ qc_route.c */
/* A coupling map: n physical qubits, undirected edges, all-pairs distances. */
#define QC_MAX_PHYS 2048 /* physical qubits a coupling map may have */
typedef struct QcCoupling {
  int n;
  int *adj;   /* n*n 0/1 */
  int *dist;  /* n*n hops (n*n*2 when unreachable) */
} QcCoupling;
/* "line:N", "ring:N", "grid:RxC", "heavy-hex:RxC" (R chains of C qubits joined by bridge
 * qubits every 4 columns, alternating offset) or "file:PATH" (one "a b" edge per line; '#'
 * comments). At most QC_MAX_PHYS qubits. On failure writes the reason into err. */
bool qc_coupling_parse(const char *spec, QcCoupling *cm, char *err, size_t errlen);
void qc_coupling_free(QcCoupling *cm);
typedef struct QcRouteStats {
  int swaps, cx, depth;
} QcRouteStats;
/* Route onto cm: sabre (lookahead, decay, bidirectional layout, `trials` seeds) or the
 * baseline (for each two-qubit gate in order, move its first qubit along a shortest path
 * next to the second). Output wires are physical qubits; observables follow their qubits.
 * -1 with a reason in err (too many qubits, gates on three qubits, disconnected map). */
int qc_route(const QcCircuit *in, const QcCoupling *cm, bool sabre, int trials, uint64_t seed,
             QcCircuit *out, QcRouteStats *st, char *err, size_t errlen);
int qc_depth(const QcCircuit *c);

/* ------------------------------------------------------------------ qc_zne.c */
typedef enum { QC_FOLD_GLOBAL, QC_FOLD_LEFT, QC_FOLD_RIGHT, QC_FOLD_RANDOM } QcFoldMethod;
/* Fold c to noise scale `scale` (>= 1): global (C (C^-1 C)^n then the last gates folded),
 * or gate by gate (G G^-1 G) from the left, right or at random. */
void qc_fold(const QcCircuit *c, double scale, QcFoldMethod m, uint64_t seed, QcCircuit *out);
bool qc_fold_method_parse(const char *s, QcFoldMethod *m);
/* "1,3,5" or "[1,3,5]": the count (<= max), or -1 if malformed or a factor is below 1. */
int qc_scales_parse(const char *s, double *out, int max);

/* the descriptors, one per pass file */
extern const Pass pass_shape_infer, pass_fold, pass_dce, pass_identity_elim, pass_fold_bn,
    pass_fuse, pass_inline, pass_plan, pass_qdq_fuse, pass_quantize, pass_qc_expand, pass_qc_decompose,
    pass_qc_resynth, pass_qc_cancel, pass_qc_merge, pass_qc_route, pass_qc_zne;

#endif
