/* op_gemm.c - the C emitter's matrix products (float32): MatMul (batched, numpy broadcasting
 * of the batch dimensions, 1-D operands), Gemm (alpha, beta, transA, transB, C broadcast) and
 * com.microsoft FusedGemm, all calling runtime/kern/gemm.c. A constant B (weights) is packed
 * here for the target's micro-kernel; a constant C becomes beta * C in the epilogue (bias per
 * column or row, or a residual). Integer products are the quantized ops' (op_quant.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cemit.h"
#include "kern.h"
#include "op_sparse.h"

/* The printed float literal of a finite value. */
static const char *flit(char *buf, size_t n, float v) {
  snprintf(buf, n, "%.9g", (double)v);
  if (!strpbrk(buf, ".e")) strncat(buf, ".0", n - strlen(buf) - 1);
  strncat(buf, "f", n - strlen(buf) - 1);
  return buf;
}

/* B packed for the target at compile time: the weight's C expression, NULL after
 * ce_unsupported. nb matrices of K x N (ldb, trans_b) one after the other. */
static const char *pack_weights(CEmit *e, const Node *n, const float *B, int64_t nb, int64_t K,
                                int64_t N, int64_t ldb, int tb, size_t *per) {
  int isa = (int)e->target->isa;
  *per = effc_sgemm_pack_b_size(isa, K, N) / sizeof(float);
  size_t tot = *per * (size_t)nb;
  float *p = malloc((tot ? tot : 1) * sizeof *p);
  if (!p) return ce_unsupported(e, n, "out of memory packing B"), NULL;
  for (int64_t b = 0; b < nb; b++)
    effc_sgemm_pack_b(isa, K, N, B + b * K * N, ldb, tb, p + (size_t)b * *per);
  const char *w = ce_weight(e, "gemm_b", ELEM_FLOAT, p, tot * sizeof *p);
  free(p);
  return w;
}

/* Scratch of `bytes` for the node, or "NULL". */
static const char *scratch(CEmit *e, size_t bytes) { return bytes ? ce_scratch(e, bytes) : "NULL"; }

/* Every input and output float32, or ce_unsupported. */
static int check_f32(CEmit *e, const Node *n, int nin) {
  for (int i = 0; i < n->n_inputs && i < nin; i++)
    if (n->inputs[i] && ce_elem(n->inputs[i]) != ELEM_FLOAT)
      return ce_unsupported(e, n, "only float32 is supported, not %s (integer products are "
                            "MatMulInteger / QLinearMatMul)",
                            ir_elem(ce_elem(n->inputs[i]))->name);
  if (n->n_inputs < 2 || !n->inputs[0] || !n->inputs[1] || n->n_outputs < 1 || !n->outputs[0])
    return ce_unsupported(e, n, "missing input or output");
  return 0;
}

/* ------------------------------------------------------------------ MatMul */

/* Offsets of each output batch's A and B matrices (numpy broadcasting); false when the batch
 * dimensions do not broadcast. */
static bool batch_offsets(const Value *A, const Value *B, int64_t nb, int64_t sa1, int64_t sb1,
                          int64_t *oa, int64_t *ob) {
  int ra = ce_rank(A), rb = ce_rank(B), ba = ra > 2 ? ra - 2 : 0, bb = rb > 2 ? rb - 2 : 0;
  int br = ba > bb ? ba : bb;
  const int64_t *da = ce_dims(A), *db = ce_dims(B);
  int64_t bdims[16], sa[16], sb[16], stA = sa1, stB = sb1, idx[16] = {0};
  if (br > 16) return false;
  for (int i = br - 1; i >= 0; i--) {
    int ia = i - (br - ba), ib = i - (br - bb);
    int64_t x = ia >= 0 ? da[ia] : 1, y = ib >= 0 ? db[ib] : 1;
    if (x != y && x != 1 && y != 1) return false;
    bdims[i] = x > y ? x : y;
    sa[i] = x == 1 ? 0 : stA, sb[i] = y == 1 ? 0 : stB;
    stA *= x, stB *= y;
  }
  for (int64_t t = 0; t < nb; t++) {
    oa[t] = ob[t] = 0;
    for (int i = 0; i < br; i++) oa[t] += idx[i] * sa[i], ob[t] += idx[i] * sb[i];
    for (int i = br - 1; i >= 0 && ++idx[i] == bdims[i]; i--) idx[i] = 0;
  }
  return true;
}

/* `name` as "b * s" when the offsets are that regular, else a static table. */
static const char *offset_expr(CEmit *e, const char *base, const int64_t *o, int64_t nb,
                               char *buf, size_t n) {
  int64_t s = nb > 1 ? o[1] - o[0] : 0;
  bool lin = o[0] == 0;
  for (int64_t t = 0; t < nb && lin; t++) lin = o[t] == t * s;
  if (lin) {
    snprintf(buf, n, "b * %lld", (long long)s);
    return buf;
  }
  const char *tab = ce_fresh(e, base);
  ce_file_printf(e, "static const int64_t %s[%lld] = {", tab, (long long)nb);
  for (int64_t t = 0; t < nb; t++) ce_file_printf(e, "%s%lld", t ? ", " : "", (long long)o[t]);
  ce_file_printf(e, "};\n");
  snprintf(buf, n, "%s[b]", tab);
  return buf;
}

static int emit_matmul(CEmit *e, const Node *n) {
  if (check_f32(e, n, 2)) return -1;
  const Value *A = n->inputs[0], *B = n->inputs[1], *Y = n->outputs[0];
  int ra = ce_rank(A), rb = ce_rank(B);
  if (ra < 1 || rb < 1) return ce_unsupported(e, n, "inputs must have rank >= 1");
  const int64_t *da = ce_dims(A), *db = ce_dims(B);
  int64_t K = da[ra - 1], M = ra >= 2 ? da[ra - 2] : 1, N = rb >= 2 ? db[rb - 1] : 1;
  if ((rb >= 2 ? db[rb - 2] : db[0]) != K) return ce_unsupported(e, n, "inner dimensions differ");
  int64_t ny = ce_numel(Y), nb = M * N != 0 ? ny / (M * N) : 0;
  if (ny == 0) return 0;
  const Tensor *bc = ce_const(B);
  int nt = e->o->threads;
  ce_need_kern(e, "act");
  ce_need_kern(e, "gemm");
  if (rb <= 2) { /* one B for every batch: the batches of A are the rows of one product */
    int64_t rows = ce_numel(A) / (K ? K : 1);
    if (K == 0) rows = ny / N;
    CeSparseGemm sg = {rows, K, N, K, N, 0, 0, 1.0f, bc ? bc->data : NULL, ce_ptr(e, A),
                       ce_ptr(e, Y), "NULL"};
    int sp = bc ? ce_sparse_gemm(e, n, &sg) : 0;
    if (sp) return sp < 0 ? -1 : 0;
    if (bc) {
      size_t per;
      const char *w = pack_weights(e, n, bc->data, 1, K, N, N, 0, &per);
      if (!w) return -1;
      const char *scr = scratch(e, effc_sgemm_scratch((int)e->target->isa, rows, N, K, 1, nt));
      ce_printf(e, "effc_sgemm_packed(EFFC_ISA, %lld, %lld, %lld, 1.0f, %s, %lld, 0, %s, %s, "
                "%lld, NULL, %s, tid, nt);\n",
                (long long)rows, (long long)N, (long long)K, ce_ptr(e, A), (long long)K, w,
                ce_ptr(e, Y), (long long)N, scr);
    } else {
      const char *scr = scratch(e, effc_sgemm_scratch((int)e->target->isa, rows, N, K, 0, nt));
      ce_printf(e, "effc_sgemm(EFFC_ISA, %lld, %lld, %lld, 1.0f, %s, %lld, 0, %s, %lld, 0, %s, "
                "%lld, NULL, %s, tid, nt);\n",
                (long long)rows, (long long)N, (long long)K, ce_ptr(e, A), (long long)K,
                ce_ptr(e, B), (long long)N, ce_ptr(e, Y), (long long)N, scr);
    }
    return 0;
  }
  int64_t *oa = malloc((size_t)nb * sizeof *oa), *ob = malloc((size_t)nb * sizeof *ob);
  if (!oa || !ob || !batch_offsets(A, B, nb, M * K, K * N, oa, ob)) {
    free(oa), free(ob);
    return ce_unsupported(e, n, "batch dimensions do not broadcast");
  }
  const char *bexpr = ce_ptr(e, B);
  size_t per = 0;
  if (bc) { /* pack every matrix of B; offsets in packed floats */
    bexpr = pack_weights(e, n, bc->data, ce_numel(B) / (K * N != 0 ? K * N : 1), K, N, N, 0, &per);
    if (!bexpr) return free(oa), free(ob), -1;
    for (int64_t t = 0; t < nb; t++) ob[t] = ob[t] / (K * N != 0 ? K * N : 1) * (int64_t)per;
  }
  char ba[64], bb[64];
  const char *xa = offset_expr(e, "mm_oa", oa, nb, ba, sizeof ba);
  const char *xb = offset_expr(e, "mm_ob", ob, nb, bb, sizeof bb);
  free(oa), free(ob);
  /* enough batches: whole products per thread; else every product split over the threads */
  bool per_thread = nb >= nt;
  size_t one = effc_sgemm_scratch((int)e->target->isa, M, N, K, bc != NULL, 1);
  size_t all = per_thread ? one * (size_t)nt
                          : effc_sgemm_scratch((int)e->target->isa, M, N, K, bc != NULL, nt);
  const char *scr = scratch(e, all);
  if (per_thread)
    ce_printf(e, "for (int64_t b = tid; b < %lld; b += nt) {\n", (long long)nb);
  else
    ce_printf(e, "for (int64_t b = 0; b < %lld; b++) {\n", (long long)nb);
  char sl[160];
  if (per_thread)
    snprintf(sl, sizeof sl, "(char *)%s + (size_t)tid * %zu, 0, 1", scr, one);
  else
    snprintf(sl, sizeof sl, "%s, tid, nt", scr);
  if (bc)
    ce_printf(e, "  effc_sgemm_packed(EFFC_ISA, %lld, %lld, %lld, 1.0f, %s + %s, %lld, 0, %s + %s, "
              "%s + b * %lld, %lld, NULL, %s);\n}\n",
              (long long)M, (long long)N, (long long)K, ce_ptr(e, A), xa, (long long)K, bexpr,
              xb, ce_ptr(e, Y), (long long)(M * N), (long long)N, sl);
  else
    ce_printf(e, "  effc_sgemm(EFFC_ISA, %lld, %lld, %lld, 1.0f, %s + %s, %lld, 0, %s + %s, %lld, "
              "0, %s + b * %lld, %lld, NULL, %s);\n}\n",
              (long long)M, (long long)N, (long long)K, ce_ptr(e, A), xa, (long long)K, bexpr,
              xb, (long long)N, ce_ptr(e, Y), (long long)(M * N), (long long)N, sl);
  return 0;
}

/* ------------------------------------------------------------------ Gemm, FusedGemm */

/* FusedGemm's activation as runtime/k_fused.c reads it (ONNX Runtime's names; no Clip). */
static int fused_gemm_act(CEmit *e, const Node *n, EffcEpilogue *ep) {
  const char *s = ir_attr_string(n, "activation", "");
  float p0 = ir_attr_float(n, "activation_alpha", NAN), p1 = ir_attr_float(n, "activation_beta", NAN);
  if (!strcmp(s, "LeakyRelu") && isnan(p0)) p0 = ir_attr_float(n, "leaky_relu_alpha", NAN);
  static const struct {
    const char *name;
    EffcAct act;
    float alpha, beta;
  } acts[] = {{"", EFFC_ACT_NONE, 0, 0},        {"Relu", EFFC_ACT_RELU, 0, 0},
              {"Sigmoid", EFFC_ACT_SIGMOID, 0, 0}, {"Tanh", EFFC_ACT_TANH, 0, 0},
              {"LeakyRelu", EFFC_ACT_LEAKY_RELU, 0.01f, 0},
              {"HardSigmoid", EFFC_ACT_HARD_SIGMOID, 0.2f, 0.5f}};
  for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
    if (!strcmp(s, acts[i].name)) {
      ep->act = acts[i].act;
      ep->alpha = isnan(p0) ? acts[i].alpha : p0;
      ep->beta = isnan(p1) ? acts[i].beta : p1;
      return 0;
    }
  return ce_unsupported(e, n, "unsupported activation '%s'", s);
}

static int emit_gemm(CEmit *e, const Node *n) {
  if (check_f32(e, n, 3)) return -1;
  const Value *A = n->inputs[0], *B = n->inputs[1], *Y = n->outputs[0];
  const Value *C = n->n_inputs > 2 ? n->inputs[2] : NULL;
  if (ce_rank(A) != 2 || ce_rank(B) != 2) return ce_unsupported(e, n, "A and B must be 2-D");
  int ta = ir_attr_int(n, "transA", 0) != 0, tb = ir_attr_int(n, "transB", 0) != 0;
  float alpha = ir_attr_float(n, "alpha", 1.0f), beta = ir_attr_float(n, "beta", 1.0f);
  if (!isfinite(alpha) || !isfinite(beta)) return ce_unsupported(e, n, "alpha and beta must be finite");
  const int64_t *da = ce_dims(A), *db = ce_dims(B);
  int64_t M = ta ? da[1] : da[0], K = ta ? da[0] : da[1], N = tb ? db[0] : db[1];
  if ((tb ? db[1] : db[0]) != K) return ce_unsupported(e, n, "inner dimensions differ");
  EffcEpilogue ep = {EFFC_ACT_NONE, 0, 0, NULL, NULL, 0};
  if (!strcmp(n->op->family, "ms_FusedGemm") && fused_gemm_act(e, n, &ep)) return -1;
  if (M * N == 0) return 0;
  int64_t cm = 1, cn = 1;
  if (C) {
    int rc = ce_rank(C);
    const int64_t *dc = ce_dims(C);
    if (rc > 2) return ce_unsupported(e, n, "C must have rank <= 2");
    cn = rc >= 1 ? dc[rc - 1] : 1, cm = rc == 2 ? dc[0] : 1;
    if ((cm != 1 && cm != M) || (cn != 1 && cn != N))
      return ce_unsupported(e, n, "C does not broadcast to [%lld, %lld]", (long long)M, (long long)N);
  }
  int isa = (int)e->target->isa, nt = e->o->threads;
  ce_need_kern(e, "act");
  ce_need_kern(e, "gemm");
  /* beta * C: a bias per column ([N]), per row ([M, 1]) or a residual ([M, N]); constants
   * are scaled here, anything else is copied into Y first (then Y is the residual). */
  const char *bias = "NULL", *res = "NULL";
  int brows = 0;
  const Tensor *ct = C ? ce_const(C) : NULL;
  bool col = cm == 1 && (cn == N || cn == 1), row = !col && cn == 1, full = !col && !row;
  if (ct) {
    int64_t len = col ? N : row ? M : M * N;
    float *v = malloc((size_t)len * sizeof *v);
    if (!v) return ce_unsupported(e, n, "out of memory");
    const float *cd = ct->data;
    for (int64_t i = 0; i < len; i++) v[i] = beta * cd[col && cn == 1 ? 0 : i];
    const char *w = ce_weight(e, "gemm_c", ELEM_FLOAT, v, (size_t)len * sizeof *v);
    free(v);
    *(full ? &res : &bias) = w;
    brows = row;
  } else if (C && beta == 1.0f && !(col && cn == 1 && N != 1)) {
    *(full ? &res : &bias) = ce_ptr(e, C);
    brows = row;
  } else if (C) {
    char lit[32], ci[48];
    snprintf(ci, sizeof ci, "%s%lld + %s", cm == 1 ? "0 * " : "i * ", (long long)cn,
             cn == 1 ? "0" : "j");
    ce_printf(e, "for (int64_t i = tid; i < %lld; i += nt)\n", (long long)M);
    ce_printf(e, "  for (int64_t j = 0; j < %lld; j++)\n", (long long)N);
    ce_printf(e, "    %s[i * %lld + j] = %s * %s[%s];\n", ce_ptr(e, Y), (long long)N,
              flit(lit, sizeof lit, beta), ce_ptr(e, C), ci);
    ce_printf(e, "EFFC_BARRIER();\n"); /* the product's rows are split differently */
    res = ce_ptr(e, Y);
  }
  char la[32], lb[32], lal[32];
  ce_printf(e, "const EffcEpilogue ep = {(EffcAct)%d, %s, %s, %s, %s, %d};\n", (int)ep.act,
            flit(la, sizeof la, ep.alpha), flit(lb, sizeof lb, ep.beta), bias, res, brows);
  const Tensor *bt = ce_const(B);
  int64_t lda = ta ? M : K, ldb = tb ? K : N;
  CeSparseGemm sg = {M, K, N, lda, ldb, ta, tb, alpha, bt ? bt->data : NULL, ce_ptr(e, A),
                     ce_ptr(e, Y), "&ep"};
  int sp = bt ? ce_sparse_gemm(e, n, &sg) : 0;
  if (sp) return sp < 0 ? -1 : 0;
  if (bt) {
    size_t per;
    const char *w = pack_weights(e, n, bt->data, 1, K, N, ldb, tb, &per);
    if (!w) return -1;
    const char *scr = scratch(e, effc_sgemm_scratch(isa, M, N, K, 1, nt));
    ce_printf(e, "effc_sgemm_packed(EFFC_ISA, %lld, %lld, %lld, %s, %s, %lld, %d, %s, %s, %lld, "
              "&ep, %s, tid, nt);\n",
              (long long)M, (long long)N, (long long)K, flit(lal, sizeof lal, alpha),
              ce_ptr(e, A), (long long)lda, ta, w, ce_ptr(e, Y), (long long)N, scr);
  } else {
    const char *scr = scratch(e, effc_sgemm_scratch(isa, M, N, K, 0, nt));
    ce_printf(e, "effc_sgemm(EFFC_ISA, %lld, %lld, %lld, %s, %s, %lld, %d, %s, %lld, %d, %s, "
              "%lld, &ep, %s, tid, nt);\n",
              (long long)M, (long long)N, (long long)K, flit(lal, sizeof lal, alpha),
              ce_ptr(e, A), (long long)lda, ta, ce_ptr(e, B), (long long)ldb, tb, ce_ptr(e, Y),
              (long long)N, scr);
  }
  return 0;
}

const CEmitOp ce_ops_gemm[] = {
    {"MatMul", emit_matmul},
    {"Gemm", emit_gemm},
    {"ms_FusedGemm", emit_gemm},
    {NULL, NULL},
};
