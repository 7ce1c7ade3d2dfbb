/* cemit.h - the C backend's emitter: the core (cemit.c) writes the files, the API, the
 * arena, the weights and the thread pool; the operator files (op_*.c) write one node's
 * code each, through the table below.
 *
 * Generated code shape (model.c):
 *   kernels from runtime/kern/ the model needs (as static functions, EFFC_ISA fixed),
 *   static void <p>_body(<p>_ctx *ctx, int tid, int nt) {
 *     { node 0's code }  EFFC_BARRIER();
 *     { node 1's code }  EFFC_BARRIER();
 *     ...
 *   }
 * model.c includes <float.h>, <limits.h>, <math.h>, <stdbool.h>, <stdint.h>, <stdio.h>,
 * <stdlib.h> and <string.h> before everything else.
 * An operator's emit function writes the statements of one node's block. In scope there:
 * `tid`, `nt` (this thread and the thread count; 0 and 1 without --threads), `ctx`.
 * Work is split statically by tid over independent outputs, so results do not depend on
 * the thread count; code that cannot be split runs under `if (tid == 0)`. */
#ifndef EFFC_CEMIT_H
#define EFFC_CEMIT_H

#include "backends.h"

typedef struct CEmit CEmit;

/* One row per operator family the C backend supports (FAMILY as in ir/ops.def). */
typedef struct CEmitOp {
  const char *family;
  /* Write the node's code. Return 0, or -1 after ce_unsupported (the core collects every
   * unsupported node before failing, so an emit function must not stop the whole emit). */
  int (*emit)(CEmit *e, const Node *n);
} CEmitOp;

/* The operator tables, one per op_*.c file, each ended by a {NULL, NULL} row; the core
 * searches them in order (ce_op_tables in cemit.c lists them). */
extern const CEmitOp ce_ops_gemm[], ce_ops_conv[], ce_ops_quant[], ce_ops_nbits[], ce_ops_basic[];

struct CEmit {
  const EmitOptions *o;
  const Target *target;
  const Model *model;
  Diag *d;
  struct CEmitPriv *priv; /* the core's state */
};

/* Code output for the current node, indented by the core. */
void ce_printf(CEmit *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The node cannot be emitted: records "node 'n' (domain Op-since): reason"; returns -1. */
int ce_unsupported(CEmit *e, const Node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A C expression for v's data, typed as a pointer to be_ctype(elem): an arena offset
 * ("((float *)(ctx->arena + 4096))"), a weight ("((const float *)<p>_w + 123)"), or a
 * run() parameter ("in0", "out1"). NULL-safe: a missing optional input gives "NULL".
 * The string lives until the emit ends. */
const char *ce_ptr(CEmit *e, const Value *v);
/* v's constant data when v is an initializer (or folded constant), else NULL: emit
 * functions read attribute-like inputs (shapes, axes, pads, scales) at compile time. */
const Tensor *ce_const(const Value *v);
/* Static shape of v (every value is fully static once the core accepts the model). */
int ce_rank(const Value *v);
const int64_t *ce_dims(const Value *v);
int64_t ce_numel(const Value *v);
ElemType ce_elem(const Value *v);
/* Add a compile-time constant blob (e.g. weights pre-packed for the target's micro-kernel)
 * to the weights; returns a C expression of type `const <ctype> *` for it. */
const char *ce_weight(CEmit *e, const char *base, ElemType elem, const void *data, size_t nbytes);
/* Reserve `bytes` of scratch for the current node (all threads together); returns a C
 * expression of type `void *`. Scratch is shared by nodes (the largest request wins). */
const char *ce_scratch(CEmit *e, size_t bytes);
/* Include runtime/kern/<name>.c (and nothing twice); call before using its functions.
 * Include order follows first request, so request dependencies first. */
void ce_need_kern(CEmit *e, const char *name);
/* A C expression of type float (double) for v, exact: the shortest literal that reads back
 * to v ("0.1f", "1e+30f", "-0.0f"), or INFINITY, -INFINITY, NAN (math.h). Lives until the
 * emit ends. */
const char *ce_f32(CEmit *e, float v);
const char *ce_f64(CEmit *e, double v);
/* A fresh identifier for a static helper function or table at file scope; ce_file_printf
 * writes file-scope code (tables, specialized helpers) placed before <p>_body. */
const char *ce_fresh(CEmit *e, const char *base);
void ce_file_printf(CEmit *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
