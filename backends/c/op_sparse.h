/* op_sparse.h - sparse execution of pruned constant weights (op_sparse.c), called by
 * op_gemm.c and op_conv.c before their dense path. Each returns 1 after emitting the node
 * with runtime/kern/sparse.c, 0 when the dense kernel should run (EmitOptions.sparse, the
 * cost rule), or -1 after ce_unsupported. */
#ifndef EFFC_C_OP_SPARSE_H
#define EFFC_C_OP_SPARSE_H

#include "cemit.h"
#include "kern.h"

/* Y[rows, N] = act(alpha * A B + bias / residual) with B constant (K x N, row stride ldb,
 * trans_b): A(i, k) = a[i * lda + k] (trans_a: a[k * lda + i]); ep is the C expression of
 * the EffcEpilogue pointer ("&ep" or "NULL"). */
typedef struct CeSparseGemm {
  int64_t rows, K, N, lda, ldb;
  int ta, tb;
  float alpha;
  const float *B;
  const char *a, *y, *ep;
} CeSparseGemm;
int ce_sparse_gemm(CEmit *e, const Node *n, const CeSparseGemm *g);
/* Conv p with weights w [M, C, KH, KW]; x, y and ep as C expressions. */
int ce_sparse_conv(CEmit *e, const Node *n, const EffcConv2d *p, const float *w, const char *x,
                   const char *y, const char *ep);

#endif
