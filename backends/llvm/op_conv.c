/* op_conv.c - Conv, com.microsoft FusedConv and the pools (MaxPool, AveragePool,
 * GlobalAveragePool, GlobalMaxPool) for the LLVM backend, 1-D and 2-D, NCHW.
 * Conv: pointwise (1x1, stride 1, no padding, one group) runs as a GEMM per image; the rest
 * as direct loops that accumulate an output row: for each input channel and kernel row,
 * one axpy per kernel column over the output columns whose input is inside the image (the
 * bounds are compile-time constants), which the loop vectorizer turns into vector code. */
#include "llvm.h"

#include <math.h>
#include <string.h>

/* Spatial geometry as 2-D (1-D: H = KH = OH = 1). */
typedef struct Geo {
  int64_t N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, ph, pw, pe_h, pe_w, group;
} Geo;

/* Geometry from the node's attributes; kdims are the kernel's spatial dims (weights or
 * kernel_shape). false with *why set if unsupported. */
static bool geometry(const Node *n, const int64_t *kdims, Geo *g, const char **why) {
  const Value *x = n->inputs[0], *y = n->outputs[0];
  int r = lg_rank(x), S = r - 2;
  if (S < 1 || S > 2) {
    *why = "only 1-D and 2-D (rank 3 and 4) inputs";
    return false;
  }
  memset(g, 0, sizeof *g);
  int64_t in[2] = {1, lg_dim(x, 2)}, out[2] = {1, lg_dim(y, 2)}, k[2] = {1, kdims[0]};
  int64_t st[2] = {1, 1}, dl[2] = {1, 1}, pb[2] = {0, 0}, pe[2] = {0, 0};
  if (S == 2) in[0] = lg_dim(x, 2), in[1] = lg_dim(x, 3), out[0] = lg_dim(y, 2), out[1] = lg_dim(y, 3), k[0] = kdims[0], k[1] = kdims[1];
  size_t cnt;
  const int64_t *v = ir_attr_ints(n, "strides", &cnt);
  for (int i = 0; v && (int)cnt == S && i < S; i++) st[2 - S + i] = v[i];
  v = ir_attr_ints(n, "dilations", &cnt);
  for (int i = 0; v && (int)cnt == S && i < S; i++) dl[2 - S + i] = v[i];
  v = ir_attr_ints(n, "pads", &cnt);
  for (int i = 0; v && (int)cnt == 2 * S && i < S; i++) pb[2 - S + i] = v[i], pe[2 - S + i] = v[S + i];
  const char *ap = ir_attr_string(n, "auto_pad", "NOTSET");
  for (int i = 2 - S; i < 2; i++) {
    if (st[i] <= 0 || dl[i] <= 0) {
      *why = "bad stride or dilation";
      return false;
    }
    int64_t ek = (k[i] - 1) * dl[i] + 1;
    if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
      int64_t o = (in[i] + st[i] - 1) / st[i], tot = (o - 1) * st[i] + ek - in[i];
      if (tot < 0) tot = 0;
      pb[i] = !strcmp(ap, "SAME_UPPER") ? tot / 2 : tot - tot / 2;
      pe[i] = tot - pb[i];
    } else if (!strcmp(ap, "VALID")) {
      pb[i] = pe[i] = 0;
    }
  }
  g->N = lg_dim(x, 0), g->C = lg_dim(x, 1), g->M = lg_dim(y, 1);
  g->H = in[0], g->W = in[1], g->OH = out[0], g->OW = out[1], g->KH = k[0], g->KW = k[1];
  g->sh = st[0], g->sw = st[1], g->dh = dl[0], g->dw = dl[1], g->ph = pb[0], g->pw = pb[1];
  g->pe_h = pe[0], g->pe_w = pe[1];
  g->group = ir_attr_int(n, "group", 1);
  return true;
}

/* ------------------------------------------------------------------ Conv */

static bool fused_conv(const Node *n) { return !strcmp(n->op->family, "ms_FusedConv"); }

typedef struct ConvAct {
  const char *act;
  float p[2];
  int np;
} ConvAct;

static void conv_act(const Node *n, ConvAct *a) {
  memset(a, 0, sizeof *a);
  if (!fused_conv(n)) return;
  const char *s = ir_attr_string(n, "activation", "");
  if (!*s) return;
  a->act = s;
  size_t cnt = 0;
  const float *p = ir_attr_floats(n, "activation_params", &cnt);
  for (size_t i = 0; i < cnt && i < 2; i++) a->p[i] = p[i];
  a->np = (int)(cnt < 2 ? cnt : 2);
}

static int conv_check(LGen *g, const Node *n) {
  for (int i = 0; i < n->n_inputs; i++)
    if (n->inputs[i] && lg_elem(n->inputs[i]) != ELEM_FLOAT) return lg_unsupported(g, n, "only float tensors");
  const Value *w = n->inputs[1];
  int64_t kd[2] = {lg_dim(w, 2), lg_rank(w) > 3 ? lg_dim(w, 3) : 1};
  Geo geo;
  const char *why;
  if (!geometry(n, kd, &geo, &why)) return lg_unsupported(g, n, "%s", why);
  if (geo.group <= 0 || geo.C % geo.group || geo.M % geo.group || lg_dim(w, 1) * geo.group != geo.C)
    return lg_unsupported(g, n, "channels do not match group %lld", (long long)geo.group);
  if (geo.KW > 32) return lg_unsupported(g, n, "kernel width above 32");
  if (fused_conv(n)) {
    ConvAct a;
    conv_act(n, &a);
    if (a.act && !lg_activation_known(a.act)) return lg_unsupported(g, n, "activation '%s' not supported", a.act);
    if (a.act && !strcmp(a.act, "Clip") && a.np != 2)
      return lg_unsupported(g, n, "activation Clip needs activation_params [min, max]");
  }
  return 0;
}

/* Bias + residual (FusedConv's Z) + activation on a finished value at (n, m, spatial j). */
typedef struct ConvEpi {
  LLVMValueRef bias, z;
  int64_t z_img;        /* elements per image of Z / Y */
  LLVMValueRef n_off;   /* image offset into Z (i64) */
  int64_t hw;
  ConvAct act;
} ConvEpi;

static LLVMValueRef conv_epi(LGen *g, const LgEpilogue *e, LLVMValueRef acc, LLVMValueRef m,
                             LLVMValueRef j, int lanes) {
  const ConvEpi *ce = e->arg;
  LLVMTypeRef t = LLVMTypeOf(acc);
  LLVMValueRef y = acc;
  if (ce->bias) y = LLVMBuildFAdd(g->b, y, lg_splat(g, lg_load(g, g->f32, ce->bias, m), lanes), "");
  if (ce->z) {
    LLVMValueRef idx = LLVMBuildNSWAdd(
        g->b, ce->n_off, LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, m, lg_i64(g, ce->hw), ""), j, ""), "");
    LLVMValueRef z = LLVMBuildLoad2(g->b, t, lg_gep(g, g->f32, ce->z, idx), "");
    LLVMSetAlignment(z, 4);
    y = LLVMBuildFAdd(g->b, y, z, "");
  }
  if (ce->act.act) y = lg_activation(g, ce->act.act, ce->act.p, ce->act.np, y);
  return y;
}

static void conv_emit(LGen *g, const Node *n) {
  const Value *vx = n->inputs[0], *vw = n->inputs[1], *vy = n->outputs[0];
  const Value *vb = n->n_inputs > 2 ? n->inputs[2] : NULL, *vz = n->n_inputs > 3 ? n->inputs[3] : NULL;
  int64_t kd[2] = {lg_dim(vw, 2), lg_rank(vw) > 3 ? lg_dim(vw, 3) : 1};
  Geo o;
  const char *why;
  geometry(n, kd, &o, &why);
  if (lg_numel(vy) == 0) return;
  LLVMValueRef X = lg_ptr(g, vx), W = lg_ptr(g, vw), Y = lg_ptr(g, vy);
  ConvEpi ce = {.bias = vb && lg_numel(vb) ? lg_ptr(g, vb) : NULL, .z = vz ? lg_ptr(g, vz) : NULL,
                .z_img = o.M * o.OH * o.OW, .hw = o.OH * o.OW};
  conv_act(n, &ce.act);
  LgEpilogue epi = {conv_epi, &ce};
  int64_t Cg = o.C / o.group, Mg = o.M / o.group, HW = o.H * o.W, OHW = o.OH * o.OW;

  LgLoop ln;
  LLVMValueRef nn = lg_loop(g, &ln, lg_i64(g, 0), lg_i64(g, o.N), 1, false);
  ce.n_off = LLVMBuildNSWMul(g->b, nn, lg_i64(g, ce.z_img), "");
  if (o.KH == 1 && o.KW == 1 && o.sh == 1 && o.sw == 1 && !o.ph && !o.pw && !o.pe_h && !o.pe_w &&
      o.group == 1) {
    lg_gemm(g, o.M, OHW, o.C, W, lg_i64(g, 0), o.C, 1, X, LLVMBuildNSWMul(g->b, nn, lg_i64(g, o.C * HW), ""),
            HW, 1, Y, ce.n_off, OHW, &epi);
    lg_loop_end(g, &ln);
    return;
  }
  LgLoop lgp, lm, loh, lc, lkh;
  LLVMValueRef gi = lg_loop(g, &lgp, lg_i64(g, 0), lg_i64(g, o.group), 1, false);
  LLVMValueRef mm = lg_loop(g, &lm, lg_i64(g, 0), lg_i64(g, Mg), 1, false);
  LLVMValueRef m = LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, gi, lg_i64(g, Mg), ""), mm, "");
  LLVMValueRef oh = lg_loop(g, &loh, lg_i64(g, 0), lg_i64(g, o.OH), 1, false);
  LLVMValueRef yrow_off = LLVMBuildNSWAdd(
      g->b, ce.n_off,
      LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, m, lg_i64(g, OHW), ""), LLVMBuildNSWMul(g->b, oh, lg_i64(g, o.OW), ""), ""), "");
  LLVMValueRef yrow = lg_gep(g, g->f32, Y, yrow_off);
  {
    LgLoop l;
    LLVMValueRef ow = lg_loop(g, &l, lg_i64(g, 0), lg_i64(g, o.OW), 1, true);
    lg_store(g, lg_f32c(g, 0), yrow, ow);
    lg_loop_end(g, &l);
  }
  LLVMValueRef c = lg_loop(g, &lc, lg_i64(g, 0), lg_i64(g, Cg), 1, false);
  LLVMValueRef xplane = LLVMBuildNSWMul(
      g->b, LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, nn, lg_i64(g, o.C), ""),
                            LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, gi, lg_i64(g, Cg), ""), c, ""), ""),
      lg_i64(g, HW), "");
  LLVMValueRef kh = lg_loop(g, &lkh, lg_i64(g, 0), lg_i64(g, o.KH), 1, false);
  LLVMValueRef ih = LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, oh, lg_i64(g, o.sh), ""),
                                    LLVMBuildNSWSub(g->b, LLVMBuildNSWMul(g->b, kh, lg_i64(g, o.dh), ""), lg_i64(g, o.ph), ""), "");
  LLVMBasicBlockRef after = lg_if(g, LLVMBuildICmp(g->b, LLVMIntULT, ih, lg_i64(g, o.H), ""));
  LLVMValueRef xrow = lg_gep(g, g->f32, X, LLVMBuildNSWAdd(g->b, xplane, LLVMBuildNSWMul(g->b, ih, lg_i64(g, o.W), ""), ""));
  LLVMValueRef wbase = LLVMBuildNSWMul(
      g->b, LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, m, lg_i64(g, Cg), ""), c, ""), lg_i64(g, o.KH), ""), kh, ""),
      lg_i64(g, o.KW), "");
  for (int64_t kw = 0; kw < o.KW; kw++) {
    /* output columns whose input column ow*sw - pw + kw*dw lies in [0, W) */
    int64_t off = kw * o.dw - o.pw, lo = 0, hi = o.OW;
    while (lo < hi && lo * o.sw + off < 0) lo++;
    while (hi > lo && (hi - 1) * o.sw + off >= o.W) hi--;
    if (lo >= hi) continue;
    LLVMValueRef wv = lg_load(g, g->f32, W, LLVMBuildNSWAdd(g->b, wbase, lg_i64(g, kw), ""));
    LgLoop l;
    LLVMValueRef ow = lg_loop(g, &l, lg_i64(g, lo), lg_i64(g, hi), 1, true);
    LLVMValueRef xv = lg_load(g, g->f32, xrow, LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, ow, lg_i64(g, o.sw), ""), lg_i64(g, off), ""));
    LLVMValueRef yp = lg_gep(g, g->f32, yrow, ow);
    LLVMBuildStore(g->b, lg_fmuladd(g, wv, xv, LLVMBuildLoad2(g->b, g->f32, yp, "")), yp);
    lg_loop_end(g, &l);
  }
  lg_endif(g, after);
  lg_loop_end(g, &lkh);
  lg_loop_end(g, &lc);
  if (ce.bias || ce.z || ce.act.act) {
    LgLoop l;
    LLVMValueRef ow = lg_loop(g, &l, lg_i64(g, 0), lg_i64(g, o.OW), 1, true);
    LLVMValueRef yp = lg_gep(g, g->f32, yrow, ow);
    LLVMValueRef j = LLVMBuildNSWAdd(g->b, LLVMBuildNSWMul(g->b, oh, lg_i64(g, o.OW), ""), ow, "");
    LLVMBuildStore(g->b, conv_epi(g, &epi, LLVMBuildLoad2(g->b, g->f32, yp, ""), m, j, 1), yp);
    lg_loop_end(g, &l);
  }
  lg_loop_end(g, &loh);
  lg_loop_end(g, &lm);
  lg_loop_end(g, &lgp);
  lg_loop_end(g, &ln);
}

/* ------------------------------------------------------------------ pools */

typedef enum { POOL_MAX, POOL_AVG } PoolKind;

static PoolKind pool_kind(const Node *n) {
  return strstr(n->op->family, "Max") ? POOL_MAX : POOL_AVG;
}
static bool pool_global(const Node *n) { return !strncmp(n->op->family, "Global", 6); }

static int pool_check(LGen *g, const Node *n) {
  if (lg_elem(n->inputs[0]) != ELEM_FLOAT) return lg_unsupported(g, n, "only float tensors");
  if (n->n_outputs > 1 && n->outputs[1]) return lg_unsupported(g, n, "the Indices output is not supported");
  if (pool_global(n)) return lg_rank(n->inputs[0]) >= 3 ? 0 : lg_unsupported(g, n, "rank below 3");
  size_t nk = 0;
  const int64_t *ks = ir_attr_ints(n, "kernel_shape", &nk);
  if (!ks || (int)nk != lg_rank(n->inputs[0]) - 2) return lg_unsupported(g, n, "kernel_shape missing");
  Geo geo;
  const char *why;
  if (!geometry(n, ks, &geo, &why)) return lg_unsupported(g, n, "%s", why);
  return 0;
}

static void global_pool_emit(LGen *g, const Node *n) {
  const Value *x = n->inputs[0];
  int64_t planes = lg_dim(x, 0) * lg_dim(x, 1), hw = lg_numel(x) / (planes ? planes : 1);
  if (!planes) return;
  bool mx = pool_kind(n) == POOL_MAX;
  LLVMValueRef X = lg_ptr(g, x), Y = lg_ptr(g, n->outputs[0]);
  LLVMValueRef acc = lg_alloca(g, g->f32);
  LgLoop lp, l;
  LLVMValueRef p = lg_loop(g, &lp, lg_i64(g, 0), lg_i64(g, planes), 1, false);
  LLVMBuildStore(g->b, lg_f32c(g, mx ? -INFINITY : 0), acc);
  LLVMValueRef base = LLVMBuildNSWMul(g->b, p, lg_i64(g, hw), "");
  LLVMValueRef i = lg_loop(g, &l, lg_i64(g, 0), lg_i64(g, hw), 1, true);
  LLVMValueRef v = lg_load(g, g->f32, X, LLVMBuildNSWAdd(g->b, base, i, ""));
  LLVMValueRef a = LLVMBuildLoad2(g->b, g->f32, acc, "");
  LLVMBuildStore(g->b, mx ? lg_fmax(g, a, v) : LLVMBuildFAdd(g->b, a, v, ""), acc);
  lg_loop_end(g, &l);
  LLVMValueRef r = LLVMBuildLoad2(g->b, g->f32, acc, "");
  if (!mx) r = LLVMBuildFDiv(g->b, r, lg_f32c(g, (double)hw), "");
  lg_store(g, r, Y, p);
  lg_loop_end(g, &lp);
}

static void pool_emit(LGen *g, const Node *n) {
  if (pool_global(n)) {
    global_pool_emit(g, n);
    return;
  }
  size_t nk;
  const int64_t *ks = ir_attr_ints(n, "kernel_shape", &nk);
  Geo o;
  const char *why;
  geometry(n, ks, &o, &why);
  bool mx = pool_kind(n) == POOL_MAX, incl = ir_attr_int(n, "count_include_pad", 0) != 0;
  if (lg_numel(n->outputs[0]) == 0) return;
  LLVMValueRef X = lg_ptr(g, n->inputs[0]), Y = lg_ptr(g, n->outputs[0]);
  LLVMValueRef acc = lg_alloca(g, g->f32), cnt = lg_alloca(g, g->i64), pcnt = lg_alloca(g, g->i64);
  LLVMValueRef any = lg_alloca(g, g->i1);
  LLVMBuilderRef b = g->b;
  LgLoop lp, loh, low, lkh, lkw;
  LLVMValueRef p = lg_loop(g, &lp, lg_i64(g, 0), lg_i64(g, o.N * o.C), 1, false);
  LLVMValueRef oh = lg_loop(g, &loh, lg_i64(g, 0), lg_i64(g, o.OH), 1, false);
  LLVMValueRef ow = lg_loop(g, &low, lg_i64(g, 0), lg_i64(g, o.OW), 1, false);
  LLVMBuildStore(b, lg_f32c(g, mx ? -INFINITY : 0), acc);
  LLVMBuildStore(b, lg_i64(g, 0), cnt);
  LLVMBuildStore(b, lg_i64(g, 0), pcnt);
  LLVMBuildStore(b, LLVMConstInt(g->i1, 0, 0), any);
  LLVMValueRef kh = lg_loop(g, &lkh, lg_i64(g, 0), lg_i64(g, o.KH), 1, false);
  LLVMValueRef ih = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, oh, lg_i64(g, o.sh), ""),
                                    LLVMBuildNSWSub(b, LLVMBuildNSWMul(b, kh, lg_i64(g, o.dh), ""), lg_i64(g, o.ph), ""), "");
  LLVMValueRef kw = lg_loop(g, &lkw, lg_i64(g, 0), lg_i64(g, o.KW), 1, false);
  LLVMValueRef iw = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, ow, lg_i64(g, o.sw), ""),
                                    LLVMBuildNSWSub(b, LLVMBuildNSWMul(b, kw, lg_i64(g, o.dw), ""), lg_i64(g, o.pw), ""), "");
  LLVMValueRef inpad = LLVMBuildAnd(
      b,
      LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, ih, lg_i64(g, -o.ph), ""),
                   LLVMBuildICmp(b, LLVMIntSLT, ih, lg_i64(g, o.H + o.pe_h), ""), ""),
      LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, iw, lg_i64(g, -o.pw), ""),
                   LLVMBuildICmp(b, LLVMIntSLT, iw, lg_i64(g, o.W + o.pe_w), ""), ""), "");
  LLVMBuildStore(b, LLVMBuildAdd(b, LLVMBuildLoad2(b, g->i64, pcnt, ""), LLVMBuildZExt(b, inpad, g->i64, ""), ""), pcnt);
  LLVMValueRef inside = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntULT, ih, lg_i64(g, o.H), ""),
                                     LLVMBuildICmp(b, LLVMIntULT, iw, lg_i64(g, o.W), ""), "");
  LLVMBasicBlockRef after = lg_if(g, inside);
  LLVMValueRef idx = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, p, lg_i64(g, o.H * o.W), ""),
                                     LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, ih, lg_i64(g, o.W), ""), iw, ""), "");
  LLVMValueRef v = lg_load(g, g->f32, X, idx), a = LLVMBuildLoad2(b, g->f32, acc, "");
  LLVMBuildStore(b, LLVMBuildAdd(b, LLVMBuildLoad2(b, g->i64, cnt, ""), lg_i64(g, 1), ""), cnt);
  if (mx) {
    /* NaNs are skipped; all-NaN windows give NaN (the interpreter's rule) */
    LLVMValueRef ok = LLVMBuildFCmp(b, LLVMRealORD, v, v, "");
    LLVMValueRef first = LLVMBuildNot(b, LLVMBuildLoad2(b, g->i1, any, ""), "");
    LLVMValueRef take = LLVMBuildAnd(b, ok, LLVMBuildOr(b, first, LLVMBuildFCmp(b, LLVMRealOGT, v, a, ""), ""), "");
    LLVMBuildStore(b, LLVMBuildSelect(b, take, v, a, ""), acc);
    LLVMBuildStore(b, LLVMBuildOr(b, LLVMBuildLoad2(b, g->i1, any, ""), ok, ""), any);
  } else {
    LLVMBuildStore(b, LLVMBuildFAdd(b, a, v, ""), acc);
  }
  lg_endif(g, after);
  lg_loop_end(g, &lkw);
  lg_loop_end(g, &lkh);
  LLVMValueRef r = LLVMBuildLoad2(b, g->f32, acc, "");
  LLVMValueRef c = LLVMBuildLoad2(b, g->i64, cnt, "");
  if (mx) {
    LLVMValueRef none = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntEQ, c, lg_i64(g, 0), ""),
                                        lg_f32c(g, -INFINITY), lg_f32c(g, NAN), "");
    r = LLVMBuildSelect(b, LLVMBuildLoad2(b, g->i1, any, ""), r, none, "");
  } else {
    LLVMValueRef div = incl ? LLVMBuildLoad2(b, g->i64, pcnt, "") : c;
    r = LLVMBuildFDiv(b, r, LLVMBuildSIToFP(b, div, g->f32, ""), "");
  }
  LLVMValueRef oidx = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, p, lg_i64(g, o.OH * o.OW), ""),
                                      LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, oh, lg_i64(g, o.OW), ""), ow, ""), "");
  lg_store(g, r, Y, oidx);
  lg_loop_end(g, &low);
  lg_loop_end(g, &loh);
  lg_loop_end(g, &lp);
}

const LgOp lg_ops_conv[] = {
    {"Conv", conv_check, conv_emit},
    {"ms_FusedConv", conv_check, conv_emit},
    {"MaxPool", pool_check, pool_emit},
    {"AveragePool", pool_check, pool_emit},
    {"GlobalAveragePool", pool_check, pool_emit},
    {"GlobalMaxPool", pool_check, pool_emit},
    {NULL, NULL, NULL},
};
