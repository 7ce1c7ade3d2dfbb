/* backends.h - the emitters: one folder per EMITTER column of ir/targets.def (c, llvm, mcu,
 * qasm). The driver loads, runs the target's pipeline (ending with the memory planner, pass
 * `plan`, which records every intermediate's arena offset as the node attribute
 * `__effc_offset`), then calls be_emit. No emitter runs a pass.
 *
 * Layering: backends/ uses ir/ and runtime/ (kern/ packing functions, the interpreter for
 * nothing but tests); the driver is the only caller. */
#ifndef EFFC_BACKENDS_H
#define EFFC_BACKENDS_H

#include "ir.h"

typedef struct EmitOptions {
  const Target *target;  /* already resolved (never `native`) */
  const char *out_dir;   /* created by the driver */
  const char *prefix;    /* C identifier prefix of every exported symbol ("model") */
  bool emit_main;        /* also write <prefix>_main.c: the .npy command-line runner */
  int threads;           /* >= 1; > 1 makes the emitted code use pthreads */
  bool weights_bin;      /* weights in <prefix>.bin loaded by create() instead of a C array */
  bool quiet;            /* do not print the arena size summary */
  int sparse;            /* EMIT_SPARSE_*: constant weights with zeros run sparse kernels */
} EmitOptions;

/* EmitOptions.sparse: by the cost rule (docs/sparsity.md), never, or whenever possible. */
enum { EMIT_SPARSE_AUTO = 0, EMIT_SPARSE_OFF, EMIT_SPARSE_FORCE };

/* Emit the model for o->target into o->out_dir. Every node the emitter cannot handle is
 * reported (node name, domain, op, opset and the reason), all at once, before any file is
 * written; files are written atomically. Returns 0, or -1 after reporting. */
int be_emit(Model *m, const EmitOptions *o, Diag *d);

/* Every node of the main graph is a known operator or a call of a model-local function;
 * each other node is reported (be_node_error). The driver checks this before the pipeline,
 * whose shape inference cannot type an unknown operator's outputs. Returns the count. */
int be_check_ops(const Model *m, Diag *d);
/* Nodes marked NHWC by the layout pass, which only the C backend emits: an error naming the
 * first (and the backend) for other backends; returns their count. */
int be_check_layout(const Model *m, const char *backend, Diag *d);
/* Report "node 'NAME' (DOMAIN OP-SINCE, opset N): message" at the node (unnamed nodes as
 * #id; SINCE is 0 for an operator not in the table). */
void be_node_error(Diag *d, const Node *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The emitter entry points (one per EMITTER column value). Each is defined by its folder;
 * they are weak references here, so a build without a backend (no LLVM found) reports
 * "target T: the llvm backend is not built" instead of failing to link. */
int be_emit_c(Model *m, const EmitOptions *o, Diag *d);
int be_emit_llvm(Model *m, const EmitOptions *o, Diag *d);
int be_emit_mcu(Model *m, const EmitOptions *o, Diag *d);
int be_emit_qasm(Model *m, const EmitOptions *o, Diag *d);

/* ------------------------------------------------------------------ header.c */
/* The public API every compiled model has (C and LLVM backends write the same header):
 *
 *   #define <P>_ARENA_BYTES   bytes of the activation arena (create allocates it)
 *   #define <P>_WEIGHT_BYTES  bytes of weights (C array or .bin)
 *   #define <P>_NUM_INPUTS / <P>_NUM_OUTPUTS
 *   typedef struct <p>_ctx <p>_ctx;
 *   <p>_ctx *<p>_create(void);            (with --weights-bin: (const char *bin_path))
 *       NULL on allocation failure, a missing/short .bin, or a CPU without the target's ISA
 *   int <p>_run(<p>_ctx *c, const T0 *in0, ..., T1 *out0, ...);  graph order; 0 = ok
 *       the caller owns every input and output buffer (dense row-major, the graph's shapes);
 *       the context owns the arena and weights; run is not reentrant per context
 *   void <p>_destroy(<p>_ctx *c);
 *   plus const tables <p>_input_names/_shapes/_ranks/_dtypes and the same for outputs
 *   (dtype as ONNX's TensorProto number) for generic callers such as the emitted main.
 *
 * The main graph's inputs that have initializers are constants (not parameters). Only
 * tensor inputs/outputs with fully static shapes are accepted (bind symbolic dims with
 * --dim / --shape first). Writes <out_dir>/<prefix>.h atomically. */
typedef struct BeSignature {
  Value **inputs;  /* the graph inputs without initializer, graph order */
  int n_inputs;
  Value **outputs; /* the graph outputs */
  int n_outputs;
} BeSignature;
/* Fills sig (arrays malloc'd; free with be_signature_free). -1 after reporting a
 * non-tensor or non-static input/output. */
int be_signature(const Model *m, BeSignature *sig, Diag *d);
void be_signature_free(BeSignature *sig);
int be_write_header(const Model *m, const BeSignature *sig, const EmitOptions *o,
                    uint64_t arena_bytes, uint64_t weight_bytes, Diag *d);
/* backends/c/cemit.c: write <prefix>_main.c, the .npy command-line runner over the header's
 * API, to f (the C and LLVM backends share it); bin_abs is the default .bin path with
 * --weights-bin, else unused. */
void be_write_main_c(FILE *f, const BeSignature *sig, const EmitOptions *o, const char *bin_abs);
/* The C type name of an element type in emitted code ("float", "int8_t", "uint16_t" for
 * float16/bfloat16 bit patterns, "uint8_t" for bool, ...); NULL if unsupported. */
const char *be_ctype(ElemType t);
/* The arena offset the planner gave output i of n (the `__effc_offset` attribute), or -1
 * if the value is not in the arena (a graph output, a constant, or an unused output). */
int64_t be_offset(const Node *n, int i);

/* ------------------------------------------------------------------ llvm/ (JIT) */
/* In-process native code through LLVM for `effc run --jit` and the test runners: the model
 * (after the host pipeline) compiled for the host. Inputs and outputs as BeSignature's, each
 * a dense buffer of its static shape. NULL / -1 after reporting (weak: NULL functions when
 * LLVM is not built in). */
typedef struct BeJit BeJit;
BeJit *be_jit_compile(Model *m, Diag *d);
int be_jit_run(BeJit *j, void *const *inputs, void *const *outputs);
void be_jit_free(BeJit *j);

#endif
