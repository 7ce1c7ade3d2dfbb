/* op_sparse.c - the C emitter's sparse execution of pruned weights: for Gemm / MatMul with a
 * constant B and Conv (one group, not depthwise) it counts the zeros of the constant weights
 * at compile time, picks dense, CSR or 2:4 (runtime/kern/sparse.c) by a cost rule measured
 * with bench/sparse.c (docs/sparsity.md), packs the weights and emits the call. The prune
 * pass's attributes are hints only: `__effc_nm = [2, 4]` makes 2:4 preferred when the
 * weights fit it; the zero count decides everything else. */
#include <stdlib.h>
#include <string.h>

#include "op_sparse.h"

/* Break-even densities (nonzeros / weights) against our dense kernels, from bench/sparse.c
 * on x86-64 AVX2 (docs/sparsity.md): a format's cost relative to dense is density / E
 * (2:4: 0.5 / E). Panel: >= EFFC_SPARSE_MIN_COLS columns (Conv, Gemm batch >= 8); dot:
 * fewer (Gemm batch 1..7). */
#define E_CSR_PANEL 0.25
#define E_CSR_DOT 0.12
#define E_24_PANEL 0.30 /* 2:4 runs at 0.4-1.0x of dense: auto never picks it (force does) */
#define E_24_DOT 0.35
/* Dense Winograd convolutions (3x3, >= 128 channels) beat the im2col GEMM that the sparse
 * kernel competes with: 90% sparse only breaks even there. */
#define WINOGRAD_GAIN 2.5

/* The format for W (M x K, W(m, k) = w[m * rs + k * cs]), or 0 for dense; writes a comment
 * naming the choice into the code. */
static int choose(CEmit *e, const Node *n, int64_t M, int64_t K, const float *w, int64_t rs,
                  int64_t cs, bool dot, double dense_cost) {
  if (e->o->sparse == EMIT_SPARSE_OFF || M * K == 0) return 0;
  int64_t nnz = 0;
  for (int64_t m = 0; m < M; m++)
    for (int64_t k = 0; k < K; k++) nnz += w[m * rs + k * cs] != 0.0f;
  double density = (double)nnz / (double)(M * K);
  bool fits24 = effc_sparse_fits_24(M, K, w, rs, cs), csr = K <= 65535;
  size_t nnm = 0;
  const int64_t *nm = ir_attr_ints(n, "__effc_nm", &nnm);
  bool hint24 = nm && nnm == 2 && nm[0] == 2 && nm[1] == 4;
  double c_csr = csr ? density / (dot ? E_CSR_DOT : E_CSR_PANEL) : 1e30;
  double c_24 = fits24 ? 0.5 / (dot ? E_24_DOT : E_24_PANEL) : 1e30;
  int fmt = 0;
  if (e->o->sparse == EMIT_SPARSE_FORCE)
    fmt = fits24 ? EFFC_SPARSE_24 : csr ? EFFC_SPARSE_CSR : 0;
  else if (hint24 && fits24 && c_24 < dense_cost)
    fmt = EFFC_SPARSE_24;
  else if (c_24 < dense_cost && c_24 <= c_csr)
    fmt = EFFC_SPARSE_24;
  else if (c_csr < dense_cost)
    fmt = EFFC_SPARSE_CSR;
  ce_printf(e, "/* weights %lld x %lld, density %.3f: %s */\n", (long long)M, (long long)K,
            density, fmt == EFFC_SPARSE_24 ? "sparse 2:4" : fmt ? "sparse CSR" : "dense");
  return fmt;
}

/* The packed weights' C expression, or NULL after ce_unsupported. */
static const char *pack(CEmit *e, const Node *n, int fmt, int64_t M, int64_t K, const float *w,
                        int64_t rs, int64_t cs, float alpha, size_t *size, void **blob) {
  *size = effc_sparse_pack_size(fmt, M, K, w, rs, cs);
  *blob = malloc(*size);
  if (!*blob) return ce_unsupported(e, n, "out of memory packing the sparse weights"), NULL;
  effc_sparse_pack(fmt, M, K, w, rs, cs, alpha, *blob);
  ce_need_kern(e, "act");
  ce_need_kern(e, "gemm");
  ce_need_kern(e, "conv");
  ce_need_kern(e, "sparse");
  return ce_weight(e, "sparse_w", ELEM_UINT8, *blob, *size);
}

int ce_sparse_gemm(CEmit *e, const Node *n, const CeSparseGemm *g) {
  /* W(m, k) = B(k, m): the outputs are Gemm's columns */
  int64_t rs = g->tb ? g->ldb : 1, cs = g->tb ? 1 : g->ldb;
  bool dot = g->rows < EFFC_SPARSE_MIN_COLS;
  int fmt = choose(e, n, g->N, g->K, g->B, rs, cs, dot, 1.0);
  if (!fmt) return 0;
  size_t size;
  void *blob;
  const char *w = pack(e, n, fmt, g->N, g->K, g->B, rs, cs, g->alpha, &size, &blob);
  if (!w) return -1;
  EffcSpmm s = {g->rows, NULL, g->ta ? g->lda : 1, g->ta ? 1 : g->lda, NULL, 1, g->N};
  size_t scr = effc_spmm_scratch(blob, &s, e->o->threads);
  free(blob);
  ce_printf(e, "const EffcSpmm sp = {%lld, %s, %lld, %lld, %s, 1, %lld};\n", (long long)s.P, g->a,
            (long long)s.b_rs, (long long)s.b_cs, g->y, (long long)g->N);
  ce_printf(e, "effc_spmm(EFFC_ISA, %s, &sp, %s, %s, tid, nt);\n", w, g->ep,
            scr ? ce_scratch(e, scr) : "NULL");
  return 1;
}

int ce_sparse_conv(CEmit *e, const Node *n, const EffcConv2d *p, const float *w, const char *x,
                   const char *y, const char *ep) {
  if (!effc_spconv2d_ok(p)) return 0;
  int64_t K = p->C * p->KH * p->KW;
  double dense = effc_conv2d_algo(p) == EFFC_CONV_WINOGRAD ? 1.0 / WINOGRAD_GAIN : 1.0;
  int fmt = choose(e, n, p->M, K, w, K, 1, false, dense);
  if (!fmt) return 0;
  size_t size;
  void *blob;
  const char *wexpr = pack(e, n, fmt, p->M, K, w, K, 1, 1.0f, &size, &blob);
  if (!wexpr) return -1;
  size_t scr = effc_spconv2d_scratch(p, blob, e->o->threads);
  free(blob);
  ce_printf(e, "effc_spconv2d(&p, EFFC_ISA, %s, %s, %s, %s, %s, tid, nt);\n", x, wexpr, y, ep,
            scr ? ce_scratch(e, scr) : "NULL");
  return 1;
}
