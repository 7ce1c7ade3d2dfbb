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
  /* cache blocking: the panel's first column (added to j for the epilogue and C), whether
   * the accumulators start from C (a later K block) and whether this is the last K block
   * (the epilogue runs); NULL = a single block */
  LLVMValueRef jc, from_c, last;
} GemmArgs;

/* Rows i0..i0+mr, columns j0..j0+nv*lanes. */
static void block(LGen *g, const GemmArgs *a, LLVMValueRef i0, LLVMValueRef j0, int mr, int nv,
                  int lanes) {
  LLVMTypeRef vt = lanes > 1 ? LLVMVectorType(g->f32, (unsigned)lanes) : g->f32;
  LLVMValueRef acc[MR][NV];
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < nv; v++) {
      acc[r][v] = lg_alloca(g, vt);
      LLVMValueRef init = LLVMConstNull(vt);
      if (a->from_c) {
        LLVMValueRef i = LLVMBuildNSWAdd(g->b, i0, lg_i64(g, r), "");
        LLVMValueRef j = LLVMBuildNSWAdd(g->b, LLVMBuildNSWAdd(g->b, j0, a->jc, ""), lg_i64(g, v * lanes), "");
        LLVMValueRef idx = LLVMBuildNSWAdd(
            g->b, a->c_off, LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, i, lg_i64(g, a->ldc), ""), j, ""), "");
        LLVMValueRef c = LLVMBuildLoad2(g->b, vt, lg_gep(g, g->f32, a->C, idx), "");
        LLVMSetAlignment(c, 4);
        init = LLVMBuildSelect(g->b, a->from_c, c, init, "");
      }
      LLVMBuildStore(g->b, init, acc[r][v]);
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
      if (a->jc) j = LLVMBuildNSWAdd(g->b, j, a->jc, "");
      LLVMValueRef y = LLVMBuildLoad2(g->b, vt, acc[r][v], "");
      if (a->epi && a->last) y = LLVMBuildSelect(g->b, a->last, a->epi->fn(g, a->epi, y, i, j, lanes), y, "");
      else if (a->epi) y = a->epi->fn(g, a->epi, y, i, j, lanes);
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

/* All rows of one (column panel, K block). */
static void rows(LGen *g, const GemmArgs *a, int64_t M, int64_t N, int vw) {
  int64_t Mb = M / MR * MR;
  if (Mb > 0) {
    LgLoop li;
    LLVMValueRef i0 = lg_loop(g, &li, lg_i64(g, 0), lg_i64(g, Mb), MR, false);
    columns(g, a, i0, MR, N, vw);
    lg_loop_end(g, &li);
  }
  if (M > Mb) {
    LgLoop li;
    LLVMValueRef i0 = lg_loop(g, &li, lg_i64(g, Mb), lg_i64(g, M), 1, false);
    columns(g, a, i0, 1, N, vw);
    lg_loop_end(g, &li);
  }
}

/* Cache blocking (GotoBLAS order, without packing): panels of NC columns, K in blocks of
 * KC, so that a KC x NC block of B stays in L2 while every row block of A passes over it. */
enum { KC = 256, NC = 512 };

void lg_gemm(LGen *g, int64_t M, int64_t N, int64_t K, LLVMValueRef A, LLVMValueRef a_off,
             int64_t sa_m, int64_t sa_k, LLVMValueRef B, LLVMValueRef b_off, int64_t ldb,
             int64_t b_col_stride, LLVMValueRef C, LLVMValueRef c_off, int64_t ldc,
             const LgEpilogue *epi) {
  GemmArgs a = {A, a_off, B, b_off, C, c_off, K, sa_m, sa_k, ldb, b_col_stride, ldc, epi, NULL, NULL, NULL};
  int vw = b_col_stride == 1 ? g->vw : 1;
  if (K <= KC && N <= NC) {
    rows(g, &a, M, N, vw);
    return;
  }
  /* column panels: the full ones in a loop, then the remainder; the same for K blocks */
  int64_t ncs[2] = {N < NC ? N : NC, N % NC}, nfull[2] = {N / NC, N % NC ? 1 : 0};
  int64_t kcs[2] = {K < KC ? K : KC, K % KC}, kfull[2] = {K / KC, K % KC ? 1 : 0};
  if (N < NC) nfull[0] = 1, nfull[1] = 0;
  if (K < KC) kfull[0] = 1, kfull[1] = 0;
  for (int pn = 0; pn < 2; pn++) {
    if (!nfull[pn] || !ncs[pn]) continue;
    int64_t jbase = pn ? N / NC * NC : 0;
    LgLoop lj;
    LLVMValueRef jc = lg_loop(g, &lj, lg_i64(g, jbase), lg_i64(g, jbase + nfull[pn] * ncs[pn]), ncs[pn], false);
    for (int pk = 0; pk < 2; pk++) {
      if (!kfull[pk] || !kcs[pk]) continue;
      int64_t kbase = pk ? K / KC * KC : 0;
      LgLoop lk;
      LLVMValueRef pc = lg_loop(g, &lk, lg_i64(g, kbase), lg_i64(g, kbase + kfull[pk] * kcs[pk]), kcs[pk], false);
      GemmArgs b = a;
      b.K = kcs[pk];
      b.jc = jc;
      b.a_off = LLVMBuildNSWAdd(g->b, a_off, LLVMBuildNSWMul(g->b, pc, lg_i64(g, sa_k), ""), "");
      b.b_off = LLVMBuildNSWAdd(g->b, b_off,
                                LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, pc, lg_i64(g, ldb), ""),
                                                LLVMBuildNSWMul(g->b, jc, lg_i64(g, b_col_stride), ""), ""), "");
      b.from_c = LLVMBuildICmp(g->b, LLVMIntSGT, pc, lg_i64(g, 0), "");
      b.last = LLVMBuildICmp(g->b, LLVMIntEQ, LLVMBuildNSWAdd(g->b, pc, lg_i64(g, kcs[pk]), ""), lg_i64(g, K), "");
      rows(g, &b, M, ncs[pn], vw);
      lg_loop_end(g, &lk);
    }
    lg_loop_end(g, &lj);
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

/* numpy matmul geometry: M, K, N and the batch loops' dims and element strides of A, B, Y. */
typedef struct MmGeo {
  int64_t M, K, N;
  int br;
  int64_t odims[LG_MAX_RANK], as[LG_MAX_RANK], bs[LG_MAX_RANK], os[LG_MAX_RANK];
} MmGeo;

static void mm_geo(const Value *va, const Value *vb, MmGeo *o) {
  int64_t ad[LG_MAX_RANK + 1], bd[LG_MAX_RANK + 1];
  int ra = lg_rank(va), rb = lg_rank(vb);
  lg_dims(va, ad);
  lg_dims(vb, bd);
  if (ra == 1) ad[1] = ad[0], ad[0] = 1, ra = 2;
  if (rb == 1) bd[1] = 1, rb = 2;
  o->M = ad[ra - 2], o->K = ad[ra - 1], o->N = bd[rb - 1];
  o->br = (ra > rb ? ra : rb) - 2;
  for (int i = 0; i < o->br; i++) {
    int ka = i - (o->br - (ra - 2)), kb = i - (o->br - (rb - 2));
    int64_t da = ka >= 0 ? ad[ka] : 1, db = kb >= 0 ? bd[kb] : 1;
    o->odims[i] = da > db ? da : db;
  }
  lg_bcast_strides(o->br, o->odims, ra - 2, ad, o->as);
  lg_bcast_strides(o->br, o->odims, rb - 2, bd, o->bs);
  lg_strides(o->br, o->odims, o->os);
  for (int i = 0; i < o->br; i++) o->as[i] *= o->M * o->K, o->bs[i] *= o->K * o->N, o->os[i] *= o->M * o->N;
}

/* Open the batch loops; *a, *b, *y receive the batch's element offsets. */
static void mm_batches(LGen *g, const MmGeo *o, LgNest *ln, LLVMValueRef *a, LLVMValueRef *b, LLVMValueRef *y) {
  LLVMValueRef ivs[LG_MAX_RANK];
  lg_nest(g, ln, o->br, o->odims, ivs);
  for (int i = 0; i < o->br; i++) ln->l[i].inner = false;
  *a = lg_linear(g, o->br, ivs, o->as, 0);
  *b = lg_linear(g, o->br, ivs, o->bs, 0);
  *y = lg_linear(g, o->br, ivs, o->os, 0);
}

static void matmul_emit(LGen *g, const Node *n) {
  const Value *va = n->inputs[0], *vb = n->inputs[1], *vy = n->outputs[0];
  MmGeo o;
  mm_geo(va, vb, &o);
  if (lg_numel(vy) == 0) return;
  if (o.K == 0) { /* an empty sum: zeros */
    LLVMBuildMemSet(g->b, lg_ptr(g, vy), LLVMConstInt(g->i8, 0, 0), lg_i64(g, lg_numel(vy) * 4), 4);
    return;
  }
  LgNest ln;
  LLVMValueRef ao, bo, yo;
  mm_batches(g, &o, &ln, &ao, &bo, &yo);
  lg_gemm(g, o.M, o.N, o.K, lg_ptr(g, va), ao, o.K, 1, lg_ptr(g, vb), bo, o.N, 1, lg_ptr(g, vy), yo, o.N, NULL);
  lg_nest_end(g, &ln);
}

/* ------------------------------------------------------------------ MatMulInteger, QLinearMatMul */

static bool int8ish(ElemType t) { return t == ELEM_INT8 || t == ELEM_UINT8; }

/* Inputs: A, B and their zero points (per row of A / per column of B, or one value). */
static void qmm_inputs(const Node *n, const Value **a, const Value **az, const Value **b, const Value **bz) {
  bool ql = !strcmp(n->op->family, "QLinearMatMul");
  *a = n->inputs[0];
  *b = n->inputs[ql ? 3 : 1];
  *az = ql ? n->inputs[2] : n->n_inputs > 2 ? n->inputs[2] : NULL;
  *bz = ql ? n->inputs[5] : n->n_inputs > 3 ? n->inputs[3] : NULL;
}

static bool per_vec(const Value *v, int64_t n) { return !v || lg_numel(v) == 1 || (lg_numel(v) == n && lg_rank(v) <= 1); }

static int qmm_check(LGen *g, const Node *n) {
  const Value *a, *az, *b, *bz;
  qmm_inputs(n, &a, &az, &b, &bz);
  if (!int8ish(lg_elem(a)) || !int8ish(lg_elem(b)) || (az && lg_elem(az) != lg_elem(a)) || (bz && lg_elem(bz) != lg_elem(b)))
    return lg_unsupported(g, n, "A and B must be int8/uint8 with zero points of their types");
  if (lg_rank(a) < 1 || lg_rank(b) < 1) return lg_unsupported(g, n, "scalar operand");
  MmGeo o;
  mm_geo(a, b, &o);
  if (!per_vec(az, o.M) || !per_vec(bz, o.N)) return lg_unsupported(g, n, "zero points per row of A / column of B only");
  if (!strcmp(n->op->family, "QLinearMatMul")) {
    static const int scales[] = {1, 4, 6};
    for (int i = 0; i < 3; i++)
      if (lg_elem(n->inputs[scales[i]]) != ELEM_FLOAT) return lg_unsupported(g, n, "only float scales");
    if (!per_vec(n->inputs[1], o.M) || !per_vec(n->inputs[4], o.N) || !per_vec(n->inputs[6], o.M) ||
        !per_vec(n->inputs[7], o.M) || !int8ish(lg_elem(n->outputs[0])))
      return lg_unsupported(g, n, "scales per row / column, an int8/uint8 output");
  }
  return 0;
}

/* v[k] (one value or one per index) widened to i32. */
static LLVMValueRef vec_i32(LGen *g, const Value *v, LLVMValueRef k) {
  if (!v) return LLVMConstInt(g->i32, 0, 0);
  LLVMValueRef x = lg_load(g, g->i8, lg_ptr(g, v), lg_numel(v) == 1 ? lg_i64(g, 0) : k);
  return lg_elem(v) == ELEM_INT8 ? LLVMBuildSExt(g->b, x, g->i32, "") : LLVMBuildZExt(g->b, x, g->i32, "");
}

static LLVMValueRef vec_f32(LGen *g, const Value *v, LLVMValueRef k) {
  return lg_load(g, g->f32, lg_ptr(g, v), lg_numel(v) == 1 ? lg_i64(g, 0) : k);
}

/* int32 acc = sum_k (a - az) (b - bz); MatMulInteger stores it, QLinearMatMul requantizes:
 * rint(acc * float(float(as * bs) / ys) + yz) in double, saturated (the interpreter's
 * arithmetic, bit for bit). */
static void qmm_emit(LGen *g, const Node *n) {
  const Value *a, *az, *b, *bz, *vy = n->outputs[0];
  qmm_inputs(n, &a, &az, &b, &bz);
  bool ql = !strcmp(n->op->family, "QLinearMatMul");
  MmGeo o;
  mm_geo(a, b, &o);
  if (!lg_numel(vy)) return;
  LLVMBuilderRef bl = g->b;
  LLVMValueRef A = lg_ptr(g, a), B = lg_ptr(g, b), Y = lg_ptr(g, vy), acc = lg_alloca(g, g->i32);
  bool sa = lg_elem(a) == ELEM_INT8, sb = lg_elem(b) == ELEM_INT8;
  LgNest ln;
  LLVMValueRef ao, bo, yo;
  mm_batches(g, &o, &ln, &ao, &bo, &yo);
  LgLoop lm, lnn, lk;
  LLVMValueRef m = lg_loop(g, &lm, lg_i64(g, 0), lg_i64(g, o.M), 1, false);
  LLVMValueRef za = vec_i32(g, az, m);
  LLVMValueRef arow = LLVMBuildNSWAdd(bl, ao, LLVMBuildNSWMul(bl, m, lg_i64(g, o.K), ""), "");
  LLVMValueRef j = lg_loop(g, &lnn, lg_i64(g, 0), lg_i64(g, o.N), 1, false);
  LLVMValueRef zb = vec_i32(g, bz, j);
  LLVMBuildStore(bl, LLVMConstInt(g->i32, 0, 0), acc);
  LLVMValueRef k = lg_loop(g, &lk, lg_i64(g, 0), lg_i64(g, o.K), 1, true);
  LLVMValueRef xa = lg_load(g, g->i8, A, LLVMBuildNSWAdd(bl, arow, k, ""));
  LLVMValueRef xb = lg_load(g, g->i8, B, LLVMBuildNSWAdd(bl, bo, LLVMBuildNSWAdd(bl, LLVMBuildNSWMul(bl, k, lg_i64(g, o.N), ""), j, ""), ""));
  xa = LLVMBuildSub(bl, sa ? LLVMBuildSExt(bl, xa, g->i32, "") : LLVMBuildZExt(bl, xa, g->i32, ""), za, "");
  xb = LLVMBuildSub(bl, sb ? LLVMBuildSExt(bl, xb, g->i32, "") : LLVMBuildZExt(bl, xb, g->i32, ""), zb, "");
  LLVMBuildStore(bl, LLVMBuildAdd(bl, LLVMBuildLoad2(bl, g->i32, acc, ""), LLVMBuildMul(bl, xa, xb, ""), ""), acc);
  lg_loop_end(g, &lk);
  LLVMValueRef yi = LLVMBuildNSWAdd(bl, yo, LLVMBuildNSWAdd(bl, LLVMBuildNSWMul(bl, m, lg_i64(g, o.N), ""), j, ""), "");
  LLVMValueRef s = LLVMBuildLoad2(bl, g->i32, acc, "");
  if (!ql) {
    lg_store(g, s, Y, yi);
  } else {
    const Value *ys = n->inputs[6], *yz = n->inputs[7];
    bool sy = lg_elem(vy) == ELEM_INT8;
    LLVMValueRef f = LLVMBuildFDiv(bl, LLVMBuildFMul(bl, vec_f32(g, n->inputs[1], m), vec_f32(g, n->inputs[4], j), ""),
                                   vec_f32(g, ys, m), "");
    LLVMValueRef v = LLVMBuildFMul(bl, LLVMBuildSIToFP(bl, s, g->f64, ""), LLVMBuildFPExt(bl, f, g->f64, ""), "");
    v = LLVMBuildFAdd(bl, v, LLVMBuildSIToFP(bl, vec_i32(g, yz, m), g->f64, ""), "");
    v = lg_intrin(g, "llvm.rint", g->f64, &v, 1);
    LLVMValueRef lo = LLVMConstReal(g->f64, sy ? -128 : 0), hi = LLVMConstReal(g->f64, sy ? 127 : 255);
    v = LLVMBuildSelect(bl, LLVMBuildFCmp(bl, LLVMRealUGE, v, lo, ""), v, lo, "");
    v = LLVMBuildSelect(bl, LLVMBuildFCmp(bl, LLVMRealOGT, v, hi, ""), hi, v, "");
    lg_store(g, sy ? LLVMBuildFPToSI(bl, v, g->i8, "") : LLVMBuildFPToUI(bl, v, g->i8, ""), Y, yi);
  }
  lg_loop_end(g, &lnn);
  lg_loop_end(g, &lm);
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
    {"MatMulInteger", qmm_check, qmm_emit},
    {"QLinearMatMul", qmm_check, qmm_emit},
    {NULL, NULL, NULL},
};
