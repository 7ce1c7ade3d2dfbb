/* op_linalg.c - MatMul, Gemm and com.microsoft FusedGemm for the LLVM backend, on one
 * register-blocked GEMM (lg_gemm, also used by pointwise Conv): blocks of MR rows x NV
 * vectors of the target's width, accumulated with llvm.fmuladd on explicit vector types,
 * then column and row tails with narrower blocks. */
#include "llvm.h"

#include <stdlib.h>
#include <string.h>

enum { MR = 4, NV = 2 };

typedef struct GemmArgs {
  LLVMValueRef A, a_off, B, b_off, C, c_off;
  int64_t K, sa_m, sa_k, ldb, b_cs, ldc;
  const LgEpilogue *epi;
} GemmArgs;

/* Rows i0..i0+mr, columns j0..j0+nv*lanes. */
static void block(LGen *g, const GemmArgs *a, LLVMValueRef i0, LLVMValueRef j0, int mr, int nv,
                  int lanes) {
  LLVMTypeRef vt = lanes > 1 ? LLVMVectorType(g->f32, (unsigned)lanes) : g->f32;
  LLVMValueRef acc[MR][NV];
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < nv; v++) {
      acc[r][v] = lg_alloca(g, vt);
      LLVMBuildStore(g->b, LLVMConstNull(vt), acc[r][v]);
    }
  LgLoop lk;
  LLVMValueRef k = lg_loop(g, &lk, lg_i64(g, 0), lg_i64(g, a->K), 1, false);
  LLVMValueRef bv[NV];
  LLVMValueRef brow = LLVMBuildNSWAdd(g->b, a->b_off, LLVMBuildNSWMul(g->b, k, lg_i64(g, a->ldb), ""), "");
  for (int v = 0; v < nv; v++) {
    LLVMValueRef j = LLVMBuildNSWAdd(g->b, j0, lg_i64(g, v * lanes), "");
    LLVMValueRef idx = LLVMBuildNSWAdd(g->b, brow, LLVMBuildNSWMul(g->b, j, lg_i64(g, a->b_cs), ""), "");
    if (lanes > 1) {
      bv[v] = LLVMBuildLoad2(g->b, vt, lg_gep(g, g->f32, a->B, idx), "");
      LLVMSetAlignment(bv[v], 4);
    } else {
      bv[v] = lg_load(g, g->f32, a->B, idx);
    }
  }
  LLVMValueRef acol = LLVMBuildNSWAdd(g->b, a->a_off, LLVMBuildNSWMul(g->b, k, lg_i64(g, a->sa_k), ""), "");
  for (int r = 0; r < mr; r++) {
    LLVMValueRef i = LLVMBuildNSWAdd(g->b, i0, lg_i64(g, r), "");
    LLVMValueRef av = lg_load(g, g->f32, a->A,
                              LLVMBuildNSWAdd(g->b, acol, LLVMBuildNSWMul(g->b, i, lg_i64(g, a->sa_m), ""), ""));
    av = lg_splat(g, av, lanes);
    for (int v = 0; v < nv; v++) {
      LLVMValueRef s = LLVMBuildLoad2(g->b, vt, acc[r][v], "");
      LLVMBuildStore(g->b, lg_fmuladd(g, av, bv[v], s), acc[r][v]);
    }
  }
  lg_loop_end(g, &lk);
  for (int r = 0; r < mr; r++) {
    LLVMValueRef i = LLVMBuildNSWAdd(g->b, i0, lg_i64(g, r), "");
    for (int v = 0; v < nv; v++) {
      LLVMValueRef j = LLVMBuildNSWAdd(g->b, j0, lg_i64(g, v * lanes), "");
      LLVMValueRef y = LLVMBuildLoad2(g->b, vt, acc[r][v], "");
      if (a->epi) y = a->epi->fn(g, a->epi, y, i, j, lanes);
      LLVMValueRef idx = LLVMBuildNSWAdd(
          g->b, a->c_off, LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, i, lg_i64(g, a->ldc), ""), j, ""), "");
      LLVMValueRef st = LLVMBuildStore(g->b, y, lg_gep(g, g->f32, a->C, idx));
      LLVMSetAlignment(st, 4);
    }
  }
}

/* Every column block of rows i0..i0+mr. */
static void columns(LGen *g, const GemmArgs *a, LLVMValueRef i0, int mr, int64_t N, int vw) {
  int64_t j = 0;
  int widths[3][2] = {{NV, vw}, {1, vw}, {1, 1}};
  for (int w = 0; w < 3; w++) {
    int nv = widths[w][0], lanes = widths[w][1];
    if (w == 1 && vw == 1) continue;
    int64_t step = (int64_t)nv * lanes, end = j + (N - j) / step * step;
    if (end > j) {
      LgLoop lj;
      LLVMValueRef j0 = lg_loop(g, &lj, lg_i64(g, j), lg_i64(g, end), step, false);
      block(g, a, i0, j0, mr, nv, lanes);
      lg_loop_end(g, &lj);
    }
    j = end;
  }
}

void lg_gemm(LGen *g, int64_t M, int64_t N, int64_t K, LLVMValueRef A, LLVMValueRef a_off,
             int64_t sa_m, int64_t sa_k, LLVMValueRef B, LLVMValueRef b_off, int64_t ldb,
             int64_t b_col_stride, LLVMValueRef C, LLVMValueRef c_off, int64_t ldc,
             const LgEpilogue *epi) {
  GemmArgs a = {A, a_off, B, b_off, C, c_off, K, sa_m, sa_k, ldb, b_col_stride, ldc, epi};
  int vw = b_col_stride == 1 ? g->vw : 1;
  int64_t Mb = M / MR * MR;
  if (Mb > 0) {
    LgLoop li;
    LLVMValueRef i0 = lg_loop(g, &li, lg_i64(g, 0), lg_i64(g, Mb), MR, false);
    columns(g, &a, i0, MR, N, vw);
    lg_loop_end(g, &li);
  }
  if (M > Mb) {
    LgLoop li;
    LLVMValueRef i0 = lg_loop(g, &li, lg_i64(g, Mb), lg_i64(g, M), 1, false);
    columns(g, &a, i0, 1, N, vw);
    lg_loop_end(g, &li);
  }
}

/* ------------------------------------------------------------------ MatMul */

static bool all_float(const Node *n, int k) {
  for (int i = 0; i < k; i++)
    if (n->inputs[i] && lg_elem(n->inputs[i]) != ELEM_FLOAT) return false;
  return lg_elem(n->outputs[0]) == ELEM_FLOAT;
}

static int matmul_check(LGen *g, const Node *n) {
  if (!all_float(n, 2)) return lg_unsupported(g, n, "only float tensors");
  if (lg_rank(n->inputs[0]) < 1 || lg_rank(n->inputs[1]) < 1) return lg_unsupported(g, n, "scalar operand");
  return 0;
}

static void matmul_emit(LGen *g, const Node *n) {
  const Value *va = n->inputs[0], *vb = n->inputs[1], *vy = n->outputs[0];
  int64_t ad[LG_MAX_RANK + 1], bd[LG_MAX_RANK + 1];
  int ra = lg_rank(va), rb = lg_rank(vb);
  lg_dims(va, ad);
  lg_dims(vb, bd);
  if (ra == 1) ad[1] = ad[0], ad[0] = 1, ra = 2;
  if (rb == 1) bd[1] = 1, rb = 2;
  int64_t M = ad[ra - 2], K = ad[ra - 1], N = bd[rb - 1];
  if (lg_numel(vy) == 0) return;
  int br = (ra > rb ? ra : rb) - 2;
  int64_t odims[LG_MAX_RANK], as[LG_MAX_RANK], bs[LG_MAX_RANK], os[LG_MAX_RANK];
  for (int i = 0; i < br; i++) {
    int ka = i - (br - (ra - 2)), kb = i - (br - (rb - 2));
    int64_t da = ka >= 0 ? ad[ka] : 1, db = kb >= 0 ? bd[kb] : 1;
    odims[i] = da > db ? da : db;
  }
  lg_bcast_strides(br, odims, ra - 2, ad, as);
  lg_bcast_strides(br, odims, rb - 2, bd, bs);
  lg_strides(br, odims, os);
  for (int i = 0; i < br; i++) as[i] *= M * K, bs[i] *= K * N, os[i] *= M * N;
  if (K == 0) { /* an empty sum: zeros */
    LLVMBuildMemSet(g->b, lg_ptr(g, vy), LLVMConstInt(g->i8, 0, 0), lg_i64(g, lg_numel(vy) * 4), 4);
    return;
  }
  LgNest ln;
  LLVMValueRef ivs[LG_MAX_RANK];
  lg_nest(g, &ln, br, odims, ivs);
  for (int i = 0; i < br; i++) ln.l[i].inner = false;
  lg_gemm(g, M, N, K, lg_ptr(g, va), lg_linear(g, br, ivs, as, 0), K, 1, lg_ptr(g, vb),
          lg_linear(g, br, ivs, bs, 0), N, 1, lg_ptr(g, vy), lg_linear(g, br, ivs, os, 0), N, NULL);
  lg_nest_end(g, &ln);
}

/* ------------------------------------------------------------------ Gemm, FusedGemm */

typedef struct GemmEpi {
  float alpha, beta;
  LLVMValueRef c;       /* bias pointer or NULL */
  int64_t c_sm, c_sn;   /* its broadcast strides (c_sn is 0 or 1) */
  const char *act;      /* NULL or the activation */
  float p[2];
  int np;
} GemmEpi;

static LLVMValueRef gemm_epi(LGen *g, const LgEpilogue *e, LLVMValueRef acc, LLVMValueRef i,
                             LLVMValueRef j, int lanes) {
  const GemmEpi *ge = e->arg;
  LLVMTypeRef t = LLVMTypeOf(acc);
  LLVMValueRef y = acc;
  if (ge->alpha != 1.0f) y = LLVMBuildFMul(g->b, lg_splat(g, lg_f32c(g, ge->alpha), lanes), y, "");
  if (ge->c && ge->beta != 0.0f) {
    LLVMValueRef idx = LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, i, lg_i64(g, ge->c_sm), ""),
                                       LLVMBuildNSWMul(g->b, j, lg_i64(g, ge->c_sn), ""), "");
    LLVMValueRef c;
    if (lanes > 1 && ge->c_sn == 1) {
      c = LLVMBuildLoad2(g->b, t, lg_gep(g, g->f32, ge->c, idx), "");
      LLVMSetAlignment(c, 4);
    } else {
      c = lg_splat(g, lg_load(g, g->f32, ge->c, idx), lanes);
    }
    if (ge->beta != 1.0f) c = LLVMBuildFMul(g->b, lg_splat(g, lg_f32c(g, ge->beta), lanes), c, "");
    y = LLVMBuildFAdd(g->b, y, c, "");
  }
  if (ge->act) y = lg_activation(g, ge->act, ge->p, ge->np, y);
  return y;
}

static bool fused_gemm(const Node *n) { return !strcmp(n->op->family, "ms_FusedGemm"); }

static int gemm_check(LGen *g, const Node *n) {
  if (!all_float(n, n->n_inputs)) return lg_unsupported(g, n, "only float tensors");
  if (lg_rank(n->inputs[0]) != 2 || lg_rank(n->inputs[1]) != 2)
    return lg_unsupported(g, n, "A and B must be matrices");
  const Value *c = n->n_inputs > 2 ? n->inputs[2] : NULL;
  if (c && lg_rank(c) > 2) return lg_unsupported(g, n, "C of rank above 2");
  if (fused_gemm(n)) {
    const char *act = ir_attr_string(n, "activation", "");
    if (*act && (!lg_activation_known(act) || !strcmp(act, "Clip")))
      return lg_unsupported(g, n, "activation '%s' not supported", act);
  }
  return 0;
}

static void gemm_emit(LGen *g, const Node *n) {
  const Value *va = n->inputs[0], *vb = n->inputs[1], *vc = n->n_inputs > 2 ? n->inputs[2] : NULL;
  const Value *vy = n->outputs[0];
  bool ta = ir_attr_int(n, "transA", 0) != 0, tb = ir_attr_int(n, "transB", 0) != 0;
  int64_t M = lg_dim(vy, 0), N = lg_dim(vy, 1), K = ta ? lg_dim(va, 0) : lg_dim(va, 1);
  GemmEpi ge = {.alpha = ir_attr_float(n, "alpha", 1.0f), .beta = ir_attr_float(n, "beta", 1.0f)};
  if (vc && lg_numel(vc) > 0) {
    int64_t cd[2], cs[2], od[2] = {M, N};
    lg_dims(vc, cd);
    lg_bcast_strides(2, od, lg_rank(vc), cd, cs);
    ge.c = lg_ptr(g, vc), ge.c_sm = cs[0], ge.c_sn = cs[1];
  }
  if (fused_gemm(n)) {
    const char *act = ir_attr_string(n, "activation", "");
    if (*act) {
      ge.act = act;
      float a0 = ir_attr_float(n, "activation_alpha", -1e30f), a1 = ir_attr_float(n, "activation_beta", -1e30f);
      if (!strcmp(act, "LeakyRelu") && a0 == -1e30f) a0 = ir_attr_float(n, "leaky_relu_alpha", -1e30f);
      ge.p[0] = a0 != -1e30f ? a0 : (!strcmp(act, "LeakyRelu") ? 0.01f : 0.2f);
      ge.p[1] = a1 != -1e30f ? a1 : 0.5f;
      ge.np = 2;
    }
  }
  if (lg_numel(vy) == 0) return;
  LgEpilogue epi = {gemm_epi, &ge};
  LLVMValueRef B = lg_ptr(g, vb);
  int64_t ldb = N, bcs = 1;
  const Tensor *bt = lg_const(vb);
  if (tb && bt && K > 0) { /* constant B^T: transpose it once, at compile time */
    float *t = malloc((size_t)(K * N) * sizeof *t);
    const float *s = bt->data;
    for (int64_t k = 0; k < K; k++)
      for (int64_t j = 0; j < N; j++) t[k * N + j] = s[j * K + k];
    B = lg_global(g, "wt", t, (size_t)(K * N) * sizeof *t);
    free(t);
  } else if (tb) {
    ldb = 1, bcs = K;
  }
  if (K == 0) {
    /* alpha * 0 + beta * C: a GEMM over an empty sum, through the epilogue */
    lg_gemm(g, M, N, 1, lg_global(g, "zero", (float[]){0}, 4), lg_i64(g, 0), 0, 0,
            lg_global(g, "zero", (float[]){0}, 4), lg_i64(g, 0), 0, 0, lg_ptr(g, vy), lg_i64(g, 0), N, &epi);
    return;
  }
  lg_gemm(g, M, N, K, lg_ptr(g, va), lg_i64(g, 0), ta ? 1 : K, ta ? M : 1, B, lg_i64(g, 0), ldb,
          bcs, lg_ptr(g, vy), lg_i64(g, 0), N, &epi);
}

const LgOp lg_ops_linalg[] = {
    {"MatMul", matmul_check, matmul_emit},
    {"Gemm", gemm_check, gemm_emit},
    {"ms_FusedGemm", gemm_check, gemm_emit},
    {NULL, NULL, NULL},
};
