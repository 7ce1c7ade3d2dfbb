/* runtime.h - the reference interpreter: runtime values, the kernel interface and the
 * helpers kernels share. Prototypes are grouped under the file that defines them.
 *
 * The interpreter (interp.c) runs a verified Model node by node. Each node's row in the
 * operator table (ir/ops.def) names a FAMILY; the kernel of that family is the function
 * `int rt_k_<FAMILY>(RtCtx *c)`, defined in one of the runtime/k_*.c files. kernels.c
 * expands ops.def into the kernel table, so a family without a kernel is reported (all such
 * nodes at once) before anything runs. A kernel reads c->in[], writes c->out[] and returns
 * 0, or reports through rt_error and returns -1. Kernels never print and never exit. */
#ifndef EFFC_RUNTIME_H
#define EFFC_RUNTIME_H

#include "ir.h"

#define RT_MAX_RANK 16 /* ranks above this are refused with an error, not truncated */

/* ------------------------------------------------------------------ value.c */
/* A runtime value: a tensor, a sequence of values, an optional (0 or 1 item) or a map.
 * Reference counted; a kernel that forwards an input unchanged hands out rt_ref(in).
 * Tensor data is ONNX's raw layout (ir.h Tensor): little-endian, sub-byte types packed low
 * bits first, bool one byte, complex interleaved, STRING an IrStr[numel] whose bytes the
 * value owns (set them with rt_str_set). */
typedef struct RtValue RtValue;
struct RtValue {
  int refs;
  TypeKind kind;      /* TYPE_TENSOR, TYPE_SEQUENCE, TYPE_OPTIONAL, TYPE_MAP */
  ElemType elem;      /* TENSOR: element type; SEQUENCE/OPTIONAL: element type when known */
  int rank;
  int64_t dims[RT_MAX_RANK];
  uint64_t numel;
  void *data;         /* TENSOR payload; NULL only when numel == 0 and not STRING */
  size_t nbytes;
  bool borrowed;      /* data belongs to the model (an initializer): never written or freed */
  RtValue **items;    /* SEQUENCE: elements; OPTIONAL: 0 or 1; MAP: keys tensor, values */
  int n_items;
  const Type *type;   /* SEQUENCE/OPTIONAL: the declared type when known, for empty ones */
};

/* A new tensor, payload zeroed (strings empty). NULL (the caller reports) when rank >
 * RT_MAX_RANK, a dim is negative, the size overflows, exceeds rt_tensor_limit or cannot be
 * allocated. */
RtValue *rt_tensor_new(ElemType elem, int rank, const int64_t *dims);
extern size_t rt_tensor_limit; /* bytes per tensor payload; SIZE_MAX unless a tool sets it */
RtValue *rt_scalar_new(ElemType elem); /* rank 0 */
/* A tensor viewing an IR Tensor's data without copying (borrowed). */
RtValue *rt_tensor_wrap(const Tensor *t);
/* A deep copy (owned, writable). */
RtValue *rt_tensor_copy(const RtValue *v);
RtValue *rt_seq_new(int n_items);              /* items zeroed, caller fills */
RtValue *rt_optional_new(RtValue *item);       /* takes the reference; NULL item = empty */
RtValue *rt_ref(RtValue *v);                   /* v may be NULL */
void rt_unref(RtValue *v);                     /* v may be NULL */
void rt_str_set(RtValue *v, uint64_t i, const char *s, size_t len); /* copies the bytes */
/* Element access by linear index through the element traits (every element type): as a
 * double, and exactly for integer types. rt_set_f64 rounds to nearest even and saturates
 * float8 as ir_elem's from_f64 does; rt_set_i64 wraps integers (two's complement) as a C
 * cast to the type would. bool reads 0/1. */
double rt_get_f64(const RtValue *v, uint64_t i);
void rt_set_f64(RtValue *v, uint64_t i, double x);
int64_t rt_get_i64(const RtValue *v, uint64_t i);
uint64_t rt_get_u64(const RtValue *v, uint64_t i);
void rt_set_i64(RtValue *v, uint64_t i, int64_t x);
/* Convert between a runtime value and IR data. rt_from_datum copies (owned); rt_to_tensor
 * returns a Tensor whose data lives in `a`. */
RtValue *rt_from_datum(const Datum *d);
Tensor *rt_to_tensor(Arena *a, const RtValue *v, const char *name);
bool rt_same_shape(const RtValue *a, const RtValue *b);
/* "float[2,3]" style text for messages; returns buf. */
const char *rt_shape_str(const RtValue *v, char *buf, size_t len);

/* ------------------------------------------------------------------ kernels.c */
typedef struct RtInterp RtInterp;
typedef struct RtCtx RtCtx;
typedef int (*RtKernel)(RtCtx *c);

struct RtCtx {
  RtInterp *interp;
  const Node *node;
  const OpDef *op;   /* the node's row: op->since tells the version's semantics */
  int64_t opset;     /* the opset the node's graph imports for its domain */
  RtValue **in;      /* n_in inputs; NULL = missing optional input */
  int n_in;
  RtValue **out;     /* n_out slots, all NULL on entry; the kernel fills every output the
                        node lists (node->outputs[i] != NULL), others optionally */
  int n_out;
  Diag *d;
};

/* The kernel of a row (NULL when its family has none). */
RtKernel rt_kernel(const OpDef *op);
/* Report "node 'name' (Op-since): message" at the node's location; returns -1. */
int rt_error(RtCtx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Allocate output i as a tensor (replacing anything there) and return it. NULL after
 * reporting when the rank is too large. */
RtValue *rt_out(RtCtx *c, int i, ElemType elem, int rank, const int64_t *dims);
/* Make output i a reference to v (takes the reference). */
void rt_set_out(RtCtx *c, int i, RtValue *v);
/* Attributes: the node's value, else the schema default, else dflt. References to function
 * attributes (ref_attr_name) are resolved against the calling node while a function body
 * runs. rt_attr returns NULL when the node does not carry the attribute (no defaults). */
const Attr *rt_attr(RtCtx *c, const char *name);
int64_t rt_attr_int(RtCtx *c, const char *name, int64_t dflt);
float rt_attr_float(RtCtx *c, const char *name, float dflt);
const char *rt_attr_str(RtCtx *c, const char *name, const char *dflt);
const int64_t *rt_attr_ints(RtCtx *c, const char *name, size_t *n); /* NULL if absent */
const float *rt_attr_floats(RtCtx *c, const char *name, size_t *n);
/* Input i as a list of int64 (int32/int64 tensors of rank 0 or 1, e.g. shape, axes, pads);
 * false after reporting if it is another type. *n receives the count; out holds up to max. */
bool rt_in_ints(RtCtx *c, int i, int64_t *out, size_t max, size_t *n);
/* Input i, which must be present and a tensor (NULL after reporting otherwise). */
RtValue *rt_in_tensor(RtCtx *c, int i);
/* x rounded to element type t's precision, as numpy computes in t: float16 and bfloat16
 * through float32, other float types through their traits; integers and double unchanged. */
double rt_round_to(ElemType t, double x);
/* Normalize an axis into [0, rank); false after reporting when out of range. */
bool rt_axis(RtCtx *c, int64_t axis, int rank, int *out);
/* Numpy-style multidirectional broadcasting of n inputs: the result shape, and for each
 * output element its linear index in every input (rt_bcast_next steps an odometer). */
typedef struct RtBcast {
  int n, rank;
  int64_t dims[RT_MAX_RANK];
  uint64_t numel;
  int64_t strides[8][RT_MAX_RANK]; /* element strides of each input, 0 on broadcast dims */
  int64_t idx[RT_MAX_RANK];        /* odometer */
  uint64_t off[8];                 /* current linear index in each input */
} RtBcast;
bool rt_bcast_init(RtCtx *c, RtBcast *b, int n, RtValue *const *ins); /* n <= 8 */
void rt_bcast_next(RtBcast *b);
/* Row-major strides of a shape (in elements). */
void rt_strides(int rank, const int64_t *dims, int64_t *strides);

/* ------------------------------------------------------------------ interp.c */
typedef struct RtOptions {
  bool check_types; /* compare each output with the value's declared type (default on) */
  uint64_t seed;    /* for random operators */
  uint64_t max_steps; /* node executions before the run stops with an error (0: no limit) */
  /* Called after every node of every graph (subgraphs and function bodies included) ran,
   * with its inputs (NULL for absent ones) and outputs; calibration, GPTQ/AWQ statistics and
   * per-layer comparisons read activations through it. The values are borrowed. */
  void (*observe)(void *ctx, const Node *n, RtValue *const *ins, RtValue *const *outs);
  void *observe_ctx;
} RtOptions;

/* Prepare a model to run: binds operators and reports every node that cannot run (unknown
 * operator or no kernel) at once, as "node, domain, op, opset". NULL after reporting. */
RtInterp *rt_interp_new(Model *m, const RtOptions *opt, Diag *d);
void rt_interp_free(RtInterp *in);
/* Run the main graph. inputs[i] corresponds to m->graph->inputs[i]; a NULL entry uses the
 * input's initializer (an error if it has none). outputs[] receives one reference per
 * graph output. Returns 0, or -1 after reporting. */
int rt_interp_run(RtInterp *in, RtValue **inputs, RtValue **outputs);
/* For control-flow kernels: run subgraph g (its inputs bound to ins, outer-scope values
 * visible) and collect its outputs. */
int rt_run_subgraph(RtCtx *c, const Graph *g, RtValue **ins, int n_ins, RtValue **outs);
uint64_t rt_random_u64(RtCtx *c); /* the interpreter's seeded generator */
/* The model uses random operators (their outputs are compared by dtype and shape only). */
bool rt_model_is_random(const Model *m);

/* ------------------------------------------------------------------ compare.c */
/* CONTRACTS.md's comparison: dtype and shape equal; floats |got-want| <= atol + rtol*|want|
 * elementwise with NaN matching NaN; integers, bools and strings exactly; float8/float4
 * compared as decoded values. On mismatch writes a one-line reason into why. */
typedef struct RtTolerance {
  double atol, rtol;
} RtTolerance;
#define RT_TOL_DEFAULT ((RtTolerance){1e-7, 1e-3})
bool rt_compare(const RtValue *got, const RtValue *want, RtTolerance tol, char *why, size_t len);

#endif
