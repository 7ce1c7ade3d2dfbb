/* ops.h - what the general operator files of the C backend (op_basic.c, op_eltwise.c,
 * op_shape.c, op_reduce.c) share: compile-time reads of constant inputs, literals, the
 * static (tid, nt) work split, and the emit functions the table in op_basic.c lists. */
#ifndef EFFC_C_OPS_H
#define EFFC_C_OPS_H

#include "cemit.h"

#define OPS_MAX_RANK 16

/* ------------------------------------------------------------------ op_basic.c */
/* Input i of n (NULL when missing or out of range). */
const Value *ops_in(const Node *n, int i);
/* Constant integer input i (int32/int64 initializer of rank 0 or 1) into out (up to max);
 * *cnt gets the count. False when the input is not a compile-time integer constant. */
bool ops_const_ints(const Node *n, int i, int64_t *out, int max, int *cnt);
/* Constant input i as doubles (any real type), element `k`; false when not constant. */
bool ops_const_f64(const Node *n, int i, size_t k, double *out);
/* Element k of an integer or bool tensor, exactly (sign- or zero-extended). */
int64_t ops_tensor_i64(const Tensor *t, size_t k);
/* A C literal of element type t holding v exactly ("(float)0x1.8p+0", "INFINITY",
 * "(int64_t)-5"), written into buf. */
const char *ops_lit(char *buf, size_t len, ElemType t, double v);
const char *ops_lit_i(char *buf, size_t len, ElemType t, int64_t v);
/* Declare `lo`/`hi` (int64_t) bounding this thread's share of `count` independent items. */
void ops_split(CEmit *e, int64_t count);
/* Row-major strides of dims. */
void ops_strides(int rank, const int64_t *dims, int64_t *st);
/* Element classes the emitted code handles (bit-exact integer paths, IEEE float/double). */
bool ops_is_real(ElemType t);  /* float or double */
bool ops_is_int(ElemType t);   /* int8..uint64 */
bool ops_is_plain(ElemType t); /* any type with a C type of whole bytes (be_ctype) */
/* Normalize an axis into [0, rank); false when out of range. */
bool ops_axis(int64_t axis, int rank, int *out);

/* ------------------------------------------------------------------ op_eltwise.c */
int ops_emit_eltwise(CEmit *e, const Node *n);
int ops_emit_variadic(CEmit *e, const Node *n);
int ops_emit_where(CEmit *e, const Node *n);
int ops_emit_clip(CEmit *e, const Node *n);
int ops_emit_cast(CEmit *e, const Node *n);

/* ------------------------------------------------------------------ op_shape.c */
int ops_emit_copy(CEmit *e, const Node *n);      /* Identity, Reshape, Flatten, (Un)Squeeze */
int ops_emit_transpose(CEmit *e, const Node *n);
int ops_emit_slice(CEmit *e, const Node *n);
int ops_emit_expand(CEmit *e, const Node *n);
int ops_emit_tile(CEmit *e, const Node *n);
int ops_emit_pad(CEmit *e, const Node *n);
int ops_emit_d2s(CEmit *e, const Node *n);       /* DepthToSpace, SpaceToDepth */
int ops_emit_concat(CEmit *e, const Node *n);
int ops_emit_split(CEmit *e, const Node *n);
int ops_emit_gather(CEmit *e, const Node *n);
int ops_emit_gather_elements(CEmit *e, const Node *n);
int ops_emit_const_out(CEmit *e, const Node *n); /* Shape, Size, ConstantOfShape */
int ops_emit_trilu(CEmit *e, const Node *n);
int ops_emit_range(CEmit *e, const Node *n);
int ops_emit_gather_nd(CEmit *e, const Node *n);
int ops_emit_scatter(CEmit *e, const Node *n); /* ScatterElements, Scatter, ScatterND */
int ops_emit_eyelike(CEmit *e, const Node *n);

/* ------------------------------------------------------------------ op_reduce.c */
int ops_emit_reduce(CEmit *e, const Node *n);
int ops_emit_argminmax(CEmit *e, const Node *n);
int ops_emit_softmax(CEmit *e, const Node *n);
int ops_emit_cumsum(CEmit *e, const Node *n);
int ops_emit_layernorm(CEmit *e, const Node *n);
int ops_emit_instnorm(CEmit *e, const Node *n);  /* InstanceNormalization, GroupNormalization */
int ops_emit_batchnorm(CEmit *e, const Node *n); /* inference */

#endif
