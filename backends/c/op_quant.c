/* op_quant.c - the C emitter's quantized operators: QuantizeLinear, DequantizeLinear and
 * DynamicQuantizeLinear (runtime/kern/quant.c), QLinearMatMul, MatMulInteger, QLinearConv
 * and ConvInteger on the exact int8 kernels (runtime/kern/qgemm.c) with the constant
 * weights packed here at compile time and the requantization multipliers computed here by
 * the interpreter's own function (effc_qmult_f32), so outputs are bit-identical to it; and
 * ONNX Runtime's com.microsoft QLinearAdd / QLinearMul / QLinearGlobalAveragePool /
 * QLinearConcat (runtime/kern/qlinear.c) and QGemm (kern/qgemm.c). */
#include <stdlib.h>
#include <string.h>

#include "cemit.h"
#include "kern.h"

static const Value *in_at(const Node *n, int i) {
  return i >= 0 && i < n->n_inputs ? n->inputs[i] : NULL;
}

static bool is_q8(ElemType t) {
  return t == ELEM_UINT8 || t == ELEM_INT8;
}

static int qtype(ElemType t) {
  return t == ELEM_UINT8 ? EFFC_Q_U8 : t == ELEM_INT8 ? EFFC_Q_S8 : EFFC_Q_I32;
}

static uint64_t tnumel(const Tensor *t) {
  uint64_t n = 0;
  return ir_tensor_numel(t, &n) ? n : 0;
}

/* A constant float32 scale of 1 or `n` values, or NULL with the reason recorded. */
static const float *const_scale(CEmit *e, const Node *n, int i, int64_t cnt, int *bad) {
  const Value *v = in_at(n, i);
  const Tensor *t = v ? ce_const(v) : NULL;
  if (*bad) return NULL;
  if (!t || !t->has_data) {
    *bad = ce_unsupported(e, n, "input %d (scale) must be a constant", i);
    return NULL;
  }
  if (t->elem != ELEM_FLOAT) {
    *bad = ce_unsupported(e, n, "%s scales are not supported (float32 only)", ir_elem(t->elem)->name);
    return NULL;
  }
  if (tnumel(t) != 1 && (int64_t)tnumel(t) != cnt) {
    *bad = ce_unsupported(e, n, "input %d (scale) has %llu values, expected 1 or %lld", i,
                          (unsigned long long)tnumel(t), (long long)cnt);
    return NULL;
  }
  return t->data;
}

/* A constant integer zero point (absent: 0) as int32, 1 or `cnt` values; *stride 0 or 1. */
static int32_t *const_zp(CEmit *e, const Node *n, int i, int64_t cnt, int64_t *stride, int *bad) {
  const Value *v = in_at(n, i);
  const Tensor *t = v ? ce_const(v) : NULL;
  if (*bad) return NULL;
  if (v && (!t || !t->has_data)) {
    *bad = ce_unsupported(e, n, "input %d (zero point) must be a constant", i);
    return NULL;
  }
  uint64_t k = t ? tnumel(t) : 1;
  if (t && k != 1 && (int64_t)k != cnt) {
    *bad = ce_unsupported(e, n, "input %d (zero point) has %llu values, expected 1 or %lld", i,
                          (unsigned long long)k, (long long)cnt);
    return NULL;
  }
  int32_t *z = calloc(k ? k : 1, sizeof *z);
  if (!z) {
    *bad = ce_unsupported(e, n, "out of memory");
    return NULL;
  }
  for (uint64_t j = 0; t && j < k; j++) {
    const void *d = t->data;
    switch (t->elem) {
    case ELEM_UINT8: z[j] = ((const uint8_t *)d)[j]; break;
    case ELEM_INT8: z[j] = ((const int8_t *)d)[j]; break;
    case ELEM_INT32: z[j] = ((const int32_t *)d)[j]; break;
    default:
      free(z);
      *bad = ce_unsupported(e, n, "%s zero points are not supported", ir_elem(t->elem)->name);
      return NULL;
    }
  }
  *stride = k == 1 ? 0 : 1;
  return z;
}

/* An activation zero point that is computed at run time (DynamicQuantizeLinear's): a C
 * expression of its single value, or NULL when input i is absent or constant. */
static const char *runtime_zp(CEmit *e, const Node *n, int i) {
  const Value *v = in_at(n, i);
  if (!v || ce_const(v) || ce_numel(v) != 1 || !is_q8(ce_elem(v))) return NULL;
  return ce_ptr(e, v);
}

/* Blocked (block_size) and float8/int4/int16 variants are the interpreter's alone. */
static int check_plain(CEmit *e, const Node *n) {
  if (n->op->since >= 21 && ir_attr_int(n, "block_size", 0) != 0)
    return ce_unsupported(e, n, "block quantization (block_size) is not supported");
  if (n->op->since >= 23 && ir_attr_int(n, "precision", 0) != 0)
    return ce_unsupported(e, n, "the precision attribute is not supported");
  return 0;
}

/* The per-axis view [outer][C][inner] of x for a scale of `cnt` values. */
static int axis_view(CEmit *e, const Node *n, const Value *x, uint64_t cnt, int64_t *inner, int64_t *C) {
  int r = ce_rank(x);
  *inner = ce_numel(x);
  *C = 1;
  if (cnt == 1) return 0;
  int64_t ax = n->op->since >= 13 ? ir_attr_int(n, "axis", 1) : 1;
  if (ax < 0) ax += r;
  if (ax < 0 || ax >= r || ce_dims(x)[ax] != (int64_t)cnt)
    return ce_unsupported(e, n, "scale of %llu values does not match the axis", (unsigned long long)cnt);
  *C = (int64_t)cnt;
  *inner = 1;
  for (int i = (int)ax + 1; i < r; i++) *inner *= ce_dims(x)[i];
  return 0;
}

/* This thread's share [lo, hi) of n elements. */
static void put_range(CEmit *e, int64_t n) {
  ce_printf(e, "const int64_t lo = %lldLL * tid / nt, hi = %lldLL * (tid + 1) / nt;\n",
            (long long)n, (long long)n);
}

/* The scale and zero point of Quantize/DequantizeLinear (constants or computed at run time;
 * per tensor or per axis) and this thread's element range; the caller writes the call.
 * zt is the zero point's required type. Returns -1 after ce_unsupported. */
typedef struct QdqArgs {
  const char *scale, *zp;
  int64_t inner, C;
} QdqArgs;

static int qdq_args(CEmit *e, const Node *n, const Value *x, ElemType zt, QdqArgs *a) {
  if (check_plain(e, n)) return -1;
  const Value *s = in_at(n, 1), *z = in_at(n, 2);
  if (!s || ce_elem(s) != ELEM_FLOAT)
    return ce_unsupported(e, n, "%s scales are not supported (float32 only)", s ? ir_elem(ce_elem(s))->name : "missing");
  uint64_t cnt = (uint64_t)ce_numel(s);
  if (z && (ce_elem(z) != zt || (uint64_t)ce_numel(z) != cnt))
    return ce_unsupported(e, n, "the zero point must be %s with the scale's size", ir_elem(zt)->name);
  if (axis_view(e, n, x, cnt, &a->inner, &a->C)) return -1;
  ce_need_kern(e, "quant");
  a->scale = ce_ptr(e, s);
  a->zp = ce_ptr(e, z);
  put_range(e, ce_numel(x));
  return 0;
}

static int emit_quantize(CEmit *e, const Node *n) {
  const Value *x = in_at(n, 0), *y = n->outputs[0];
  if (ce_elem(x) != ELEM_FLOAT) return ce_unsupported(e, n, "x must be float32, not %s", ir_elem(ce_elem(x))->name);
  if (!is_q8(ce_elem(y)))
    return ce_unsupported(e, n, "%s outputs are not supported (uint8 and int8 only)", ir_elem(ce_elem(y))->name);
  QdqArgs a;
  if (qdq_args(e, n, x, ce_elem(y), &a)) return -1;
  ce_printf(e, "effc_quantize_f32(%s, lo, hi, %lld, %lld, %s, %s, %d, %d, %s);\n", ce_ptr(e, x),
            (long long)a.inner, (long long)a.C, a.scale, a.zp, qtype(ce_elem(y)), qtype(ce_elem(y)),
            ce_ptr(e, y));
  return 0;
}

static int emit_dequantize(CEmit *e, const Node *n) {
  const Value *x = in_at(n, 0), *y = n->outputs[0];
  ElemType xt = ce_elem(x);
  if (!is_q8(xt) && xt != ELEM_INT32)
    return ce_unsupported(e, n, "%s inputs are not supported (uint8, int8, int32)", ir_elem(xt)->name);
  if (ce_elem(y) != ELEM_FLOAT) return ce_unsupported(e, n, "the output must be float32");
  QdqArgs a;
  if (qdq_args(e, n, x, xt, &a)) return -1;
  ce_printf(e, "effc_dequantize_f32(%s, %d, lo, hi, %lld, %lld, %s, %s, %s);\n", ce_ptr(e, x),
            qtype(xt), (long long)a.inner, (long long)a.C, a.scale, a.zp, ce_ptr(e, y));
  return 0;
}

/* Scale and zero point first (one pass over x), then the quantization: on thread 0. */
static int emit_dynquant(CEmit *e, const Node *n) {
  const Value *x = in_at(n, 0);
  if (ce_elem(x) != ELEM_FLOAT) return ce_unsupported(e, n, "x must be float32");
  ce_need_kern(e, "quant");
  const Value *ys = n->n_outputs > 1 ? n->outputs[1] : NULL, *yz = n->n_outputs > 2 ? n->outputs[2] : NULL;
  ce_printf(e, "if (tid == 0) {\n  float s;\n  uint8_t z8;\n");
  ce_printf(e, "  effc_dynquant_params(%s, %lldLL, &s, &z8);\n", ce_ptr(e, x), (long long)ce_numel(x));
  ce_printf(e, "  effc_quantize_f32(%s, 0, %lldLL, %lldLL, 1, &s, &z8, %d, %d, %s);\n", ce_ptr(e, x),
            (long long)ce_numel(x), (long long)ce_numel(x), EFFC_Q_U8, EFFC_Q_U8, ce_ptr(e, n->outputs[0]));
  if (ys) ce_printf(e, "  *%s = s;\n", ce_ptr(e, ys));
  if (yz) ce_printf(e, "  *%s = z8;\n", ce_ptr(e, yz));
  ce_printf(e, "}\n");
  return 0;
}

/* ------------------------------------------------------------------ integer matmul */

/* QLinearMatMul (8 inputs) and MatMulInteger (2-4): A [..., M, K] times a constant B
 * [K, N] packed here; rows of every batch of A go through one GEMM. */
static int emit_qmatmul(CEmit *e, const Node *n) {
  bool ql = !strcmp(n->op->family, "QLinearMatMul");
  const Value *a = in_at(n, 0), *b = in_at(n, ql ? 3 : 1), *y = n->outputs[0];
  const Tensor *bt = b ? ce_const(b) : NULL;
  if (!is_q8(ce_elem(a)) || !b || !is_q8(ce_elem(b)))
    return ce_unsupported(e, n, "A and B must be uint8 or int8");
  if (!bt || !bt->has_data) return ce_unsupported(e, n, "B must be a constant (weights)");
  if (bt->rank != 2) return ce_unsupported(e, n, "B of rank %d is not supported (2 only)", bt->rank);
  int ra = ce_rank(a);
  int64_t K = bt->dims[0], N = bt->dims[1], Mrows = ra >= 2 ? ce_dims(a)[ra - 2] : 1;
  if (ra < 1 || ce_dims(a)[ra - 1] != K) return ce_unsupported(e, n, "A's last dimension is not K");
  int64_t rows = K ? ce_numel(a) / K : 0, zas = 0, zbs = 0;
  int bad = 0;
  const char *za_rt = runtime_zp(e, n, 2);
  int32_t *za = const_zp(e, n, za_rt ? -1 : 2, Mrows, &zas, &bad);
  int32_t *zb = const_zp(e, n, ql ? 5 : 3, N, &zbs, &bad);
  double *mult = NULL, *yzp = NULL;
  int64_t mrs = 0, yzs = 0;
  bool per_row = zas != 0;
  if (!bad && ql) {
    ElemType yt = ce_elem(y);
    if (!is_q8(yt)) bad = ce_unsupported(e, n, "the output must be uint8 or int8");
    const float *as = const_scale(e, n, 1, Mrows, &bad), *bs = const_scale(e, n, 4, N, &bad),
                *ys = const_scale(e, n, 6, Mrows, &bad);
    int32_t *yz = const_zp(e, n, 7, Mrows, &yzs, &bad);
    if (!bad) {
      bool ra_ = tnumel(ce_const(in_at(n, 1))) > 1 || tnumel(ce_const(in_at(n, 6))) > 1;
      int64_t mr = ra_ ? Mrows : 1;
      per_row = per_row || ra_ || yzs;
      mrs = ra_ ? N : 0;
      mult = malloc(sizeof(double) * (size_t)(mr * N + 1));
      yzp = malloc(sizeof(double) * (size_t)(Mrows + 1));
      if (!mult || !yzp) bad = ce_unsupported(e, n, "out of memory");
      for (int64_t m = 0; !bad && m < mr; m++)
        for (int64_t j = 0; j < N; j++)
          mult[m * N + j] = effc_qmult_f32(as[ra_ && tnumel(ce_const(in_at(n, 1))) > 1 ? m : 0],
                                           bs[tnumel(ce_const(in_at(n, 4))) > 1 ? j : 0],
                                           ys[ra_ && tnumel(ce_const(in_at(n, 6))) > 1 ? m : 0]);
      for (int64_t m = 0; !bad && m < Mrows; m++) yzp[m] = yz[yzs ? m : 0];
    }
    free(yz);
  }
  if (!bad && per_row && rows != Mrows)
    bad = ce_unsupported(e, n, "per-row scales or zero points with batched A are not supported");
  if (!bad && !ql && ce_elem(y) != ELEM_INT32) bad = ce_unsupported(e, n, "the output must be int32");
  void *bp = bad ? NULL : malloc(effc_qgemm_packb_size(K, N));
  if (!bad && !bp) bad = ce_unsupported(e, n, "out of memory");
  if (bad) {
    free(za), free(zb), free(mult), free(yzp), free(bp);
    return -1;
  }
  effc_qgemm_packb(K, N, bt->data, bt->elem == ELEM_INT8, N, 1, zb, zbs, bp);
  EffcQgemm q;
  memset(&q, 0, sizeof q);
  q.M = rows, q.N = N, q.K = K;
  q.y_type = ql ? qtype(ce_elem(y)) : EFFC_Q_I32;
  int nt = e->o->threads > 1 ? e->o->threads : 1;
  size_t scr = effc_qgemm_scratch(e->target->isa, &q, nt);
  ce_need_kern(e, "qgemm");
  ce_printf(e, "EffcQgemm q;\nmemset(&q, 0, sizeof q);\n");
  ce_printf(e, "q.M = %lld, q.N = %lld, q.K = %lld, q.a = %s, q.a_signed = %d, q.a_rs = %lld, q.a_cs = 1;\n",
            (long long)rows, (long long)N, (long long)K, ce_ptr(e, a), ce_elem(a) == ELEM_INT8, (long long)K);
  if (za_rt) {
    ce_printf(e, "const int32_t za = %s[0];\nq.za = &za;\n", za_rt);
  } else {
    ce_printf(e, "q.za = %s, q.za_stride = %lld;\n",
              ce_weight(e, "qmm_za", ELEM_INT32, za, sizeof(int32_t) * (size_t)(zas ? Mrows : 1)),
              (long long)zas);
  }
  ce_printf(e, "q.bp = %s;\n", ce_weight(e, "qmm_b", ELEM_INT8, bp, effc_qgemm_packb_size(K, N)));
  ce_printf(e, "q.y = %s, q.y_rs = %lld, q.y_cs = 1, q.y_type = %d;\n", ce_ptr(e, y), (long long)N, q.y_type);
  if (ql) {
    ce_printf(e, "q.mult = %s, q.mult_rs = %lld;\n",
              ce_weight(e, "qmm_mult", ELEM_DOUBLE, mult, sizeof(double) * (size_t)((mrs ? Mrows : 1) * N)),
              (long long)mrs);
    ce_printf(e, "q.yzp = %s, q.yzp_stride = %lld;\n",
              ce_weight(e, "qmm_yzp", ELEM_DOUBLE, yzp, sizeof(double) * (size_t)(yzs ? Mrows : 1)),
              (long long)yzs);
  }
  ce_printf(e, "effc_qgemm(EFFC_ISA, &q, %s, tid, nt);\n", ce_scratch(e, scr));
  free(za), free(zb), free(mult), free(yzp), free(bp);
  return 0;
}

/* ------------------------------------------------------------------ integer convolution */

/* QLinearConv (8-9 inputs) and ConvInteger (2-4): NCHW with 1 to 3 spatial dims, constant
 * weights packed here. */
static int emit_qconv(CEmit *e, const Node *n) {
  bool ql = !strcmp(n->op->family, "QLinearConv");
  const Value *x = in_at(n, 0), *w = in_at(n, ql ? 3 : 1), *y = n->outputs[0];
  const Tensor *wt = w ? ce_const(w) : NULL;
  if (!is_q8(ce_elem(x)) || !w || !is_q8(ce_elem(w))) return ce_unsupported(e, n, "x and w must be uint8 or int8");
  if (!wt || !wt->has_data) return ce_unsupported(e, n, "w must be a constant (weights)");
  int r = ce_rank(x), nsp = r - 2;
  if (nsp < 1 || nsp > 3 || wt->rank != r) return ce_unsupported(e, n, "1 to 3 spatial dimensions only");
  const int64_t *xd = ce_dims(x), *yd = ce_dims(y);
  EffcQconv p;
  memset(&p, 0, sizeof p);
  p.N = xd[0], p.C = xd[1], p.M = wt->dims[0], p.G = ir_attr_int(n, "group", 1);
  if (p.G < 1 || p.C % p.G || p.M % p.G || wt->dims[1] != p.C / p.G)
    return ce_unsupported(e, n, "channels do not match group %lld", (long long)p.G);
  size_t cnt;
  const int64_t *st = ir_attr_ints(n, "strides", &cnt), *dl = ir_attr_ints(n, "dilations", &cnt),
                *pd = ir_attr_ints(n, "pads", &cnt);
  const char *ap = ir_attr_string(n, "auto_pad", "NOTSET");
  for (int i = 0; i < 3; i++) {
    int j = i - (3 - nsp);
    p.in[i] = j >= 0 ? xd[2 + j] : 1, p.out[i] = j >= 0 ? yd[2 + j] : 1;
    p.k[i] = j >= 0 ? wt->dims[2 + j] : 1;
    p.s[i] = j >= 0 && st ? st[j] : 1, p.d[i] = j >= 0 && dl ? dl[j] : 1;
    if (j < 0) continue;
    if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) { /* as the interpreter */
      int64_t tot = (p.out[i] - 1) * p.s[i] + p.d[i] * (p.k[i] - 1) + 1 - p.in[i];
      if (tot < 0) tot = 0;
      p.pb[i] = ap[5] == 'U' ? tot / 2 : tot - tot / 2;
    } else {
      p.pb[i] = !strcmp(ap, "VALID") || !pd ? 0 : pd[j];
    }
  }
  int bad = 0;
  int64_t xzs, wzs, yzs = 0;
  const char *xz_rt = runtime_zp(e, n, 2);
  int32_t *xz = const_zp(e, n, xz_rt ? -1 : 2, 1, &xzs, &bad), *wz = const_zp(e, n, ql ? 5 : 3, p.M, &wzs, &bad);
  int32_t *bias = NULL, *yz = NULL;
  double *mult = NULL;
  if (!bad && ql) {
    if (!is_q8(ce_elem(y))) bad = ce_unsupported(e, n, "the output must be uint8 or int8");
    const float *xs = const_scale(e, n, 1, 1, &bad), *ws = const_scale(e, n, 4, p.M, &bad),
                *ys = const_scale(e, n, 6, 1, &bad);
    yz = const_zp(e, n, 7, 1, &yzs, &bad);
    const Value *bv = in_at(n, 8);
    const Tensor *bt = bv ? ce_const(bv) : NULL;
    if (!bad && bv && (!bt || !bt->has_data || bt->elem != ELEM_INT32 || (int64_t)tnumel(bt) != p.M))
      bad = ce_unsupported(e, n, "the bias must be a constant int32[%lld]", (long long)p.M);
    if (!bad) {
      mult = malloc(sizeof(double) * (size_t)(p.M + 1));
      if (!mult) bad = ce_unsupported(e, n, "out of memory");
      bool per_ch = tnumel(ce_const(in_at(n, 4))) > 1;
      for (int64_t m = 0; !bad && m < p.M; m++) mult[m] = effc_qmult_f32(xs[0], ws[per_ch ? m : 0], ys[0]);
      if (bt) bias = bt->data;
    }
  }
  if (!bad && !ql && ce_elem(y) != ELEM_INT32) bad = ce_unsupported(e, n, "the output must be int32");
  size_t psz = bad ? 0 : effc_qconv_pack_size(&p);
  void *wp = bad ? NULL : calloc(psz + 1, 1); /* packing leaves alignment padding unwritten */
  if (!bad && !wp) bad = ce_unsupported(e, n, "out of memory");
  if (bad) {
    free(xz), free(wz), free(yz), free(mult), free(wp);
    return -1;
  }
  effc_qconv_pack(&p, wt->data, wt->elem == ELEM_INT8, wz, wzs, wp);
  p.y_type = ql ? qtype(ce_elem(y)) : EFFC_Q_I32;
  int nt = e->o->threads > 1 ? e->o->threads : 1;
  size_t scr = effc_qconv_scratch(e->target->isa, &p, nt);
  ce_need_kern(e, "qgemm");
  ce_printf(e, "EffcQconv p;\nmemset(&p, 0, sizeof p);\n");
  ce_printf(e, "p.N = %lld, p.C = %lld, p.M = %lld, p.G = %lld;\n", (long long)p.N, (long long)p.C,
            (long long)p.M, (long long)p.G);
  for (int i = 0; i < 3; i++)
    ce_printf(e, "p.in[%d] = %lld, p.out[%d] = %lld, p.k[%d] = %lld, p.s[%d] = %lld, p.d[%d] = %lld, p.pb[%d] = %lld;\n",
              i, (long long)p.in[i], i, (long long)p.out[i], i, (long long)p.k[i], i,
              (long long)p.s[i], i, (long long)p.d[i], i, (long long)p.pb[i]);
  if (xz_rt)
    ce_printf(e, "p.x = %s, p.x_signed = %d, p.xz = %s[0];\n", ce_ptr(e, x), ce_elem(x) == ELEM_INT8, xz_rt);
  else
    ce_printf(e, "p.x = %s, p.x_signed = %d, p.xz = %d;\n", ce_ptr(e, x), ce_elem(x) == ELEM_INT8, (int)xz[0]);
  ce_printf(e, "p.wp = %s;\n", ce_weight(e, "qconv_w", ELEM_INT8, wp, psz));
  if (bias) ce_printf(e, "p.bias = %s;\n", ce_weight(e, "qconv_bias", ELEM_INT32, bias, sizeof(int32_t) * (size_t)p.M));
  ce_printf(e, "p.y = %s, p.y_type = %d;\n", ce_ptr(e, y), p.y_type);
  if (ql) {
    ce_printf(e, "p.mult = %s, p.yzp = %d;\n",
              ce_weight(e, "qconv_mult", ELEM_DOUBLE, mult, sizeof(double) * (size_t)p.M), (int)yz[0]);
  }
  ce_printf(e, "effc_qconv(EFFC_ISA, &p, %s, tid, nt);\n", ce_scratch(e, scr));
  free(xz), free(wz), free(yz), free(mult), free(wp);
  return 0;
}

/* ------------------------------------------------------------------ com.microsoft QLinear* */

/* Scalar scale i (float32) and zero point i+1 (of type t, absent: 0) of an 8-bit operand. */
static bool scalar_qparams(CEmit *e, const Node *n, int si, int zi, ElemType t, float *s, int32_t *z, int *bad) {
  int64_t st;
  const float *sv = const_scale(e, n, si, 1, bad);
  int32_t *zv = const_zp(e, n, zi, 1, &st, bad);
  const Value *zvv = in_at(n, zi);
  if (!*bad && zvv && ce_elem(zvv) != t)
    *bad = ce_unsupported(e, n, "input %d (zero point) must be %s", zi, ir_elem(t)->name);
  if (!*bad) *s = sv[0], *z = zv[0];
  free(zv);
  return !*bad;
}

/* QLinearAdd / QLinearMul with numpy broadcasting (kern/qlinear.c effc_qbinary). */
static int emit_qbinary(CEmit *e, const Node *n) {
  const Value *a = in_at(n, 0), *b = in_at(n, 3), *y = n->outputs[0];
  if (!a || !b || !is_q8(ce_elem(a)) || ce_elem(b) != ce_elem(a) || ce_elem(y) != ce_elem(a))
    return ce_unsupported(e, n, "A, B and C must all be uint8 or all int8");
  int r = ce_rank(y), bad = 0;
  if (r > EFFC_QBIN_MAXR) return ce_unsupported(e, n, "rank %d above %d", r, EFFC_QBIN_MAXR);
  ElemType t = ce_elem(a);
  float sa = 0, sb = 0, sy = 0;
  int32_t za = 0, zb = 0, zy = 0;
  if (!scalar_qparams(e, n, 1, 2, t, &sa, &za, &bad) || !scalar_qparams(e, n, 4, 5, t, &sb, &zb, &bad) ||
      !scalar_qparams(e, n, 6, 7, t, &sy, &zy, &bad))
    return -1;
  bool mul = !strcmp(n->op->family, "ms_QLinearMul");
  const Value *io[2] = {a, b};
  int64_t st[2][EFFC_QBIN_MAXR];
  for (int j = 0; j < 2; j++) {
    int rj = ce_rank(io[j]);
    int64_t s = 1;
    for (int k = r - 1; k >= 0; k--) {
      int kj = k - (r - rj);
      int64_t d = kj >= 0 ? ce_dims(io[j])[kj] : 1;
      st[j][k] = d == 1 ? 0 : s;
      s *= d;
    }
  }
  ce_need_kern(e, "qlinear");
  ce_printf(e, "EffcQbin p;\nmemset(&p, 0, sizeof p);\n");
  ce_printf(e, "p.op = %d, p.rank = %d;\n", mul ? EFFC_QBIN_MUL : EFFC_QBIN_ADD, r);
  for (int k = 0; k < r; k++)
    ce_printf(e, "p.dims[%d] = %lld, p.sa[%d] = %lld, p.sb[%d] = %lld;\n", k, (long long)ce_dims(y)[k], k,
              (long long)st[0][k], k, (long long)st[1][k]);
  ce_printf(e, "p.a = %s, p.b = %s, p.y = %s;\n", ce_ptr(e, a), ce_ptr(e, b), ce_ptr(e, y));
  ce_printf(e, "p.a_type = p.b_type = p.y_type = %d;\n", qtype(t));
  ce_printf(e, "p.za = %d, p.zb = %d, p.zy = %d;\n", (int)za, (int)zb, (int)zy);
  ce_printf(e, "p.ma = %s, p.mb = %s;\n",
            ce_f64(e, mul ? effc_qmult_f32(sa, sb, sy) : effc_qratio_f32(sa, sy)), ce_f64(e, effc_qratio_f32(sb, sy)));
  put_range(e, ce_numel(y));
  ce_printf(e, "effc_qbinary(&p, lo, hi);\n");
  return 0;
}

/* QLinearGlobalAveragePool: planes split over threads. */
static int emit_qgap(CEmit *e, const Node *n) {
  const Value *x = in_at(n, 0), *y = n->outputs[0];
  if (!x || !is_q8(ce_elem(x)) || ce_rank(x) < 3 || ce_elem(y) != ce_elem(x))
    return ce_unsupported(e, n, "X must be uint8 or int8 of rank >= 3, Y of its type");
  int bad = 0, r = ce_rank(x);
  float xs = 0, ys = 0;
  int32_t xz = 0, yz = 0;
  if (!scalar_qparams(e, n, 1, 2, ce_elem(x), &xs, &xz, &bad) || !scalar_qparams(e, n, 3, 4, ce_elem(x), &ys, &yz, &bad))
    return -1;
  bool last = ir_attr_int(n, "channels_last", 0) != 0;
  int64_t N = ce_dims(x)[0], C = ce_dims(x)[last ? r - 1 : 1], NC = N * C, sp = NC ? ce_numel(x) / NC : 0;
  if (NC && !sp) return ce_unsupported(e, n, "empty spatial dimensions");
  ce_need_kern(e, "qlinear");
  put_range(e, N * C);
  ce_printf(e, "effc_qgavgpool(%s, %d, %lld, %lld, %lld, %d, %d, %s, %d, %d, %s, lo, hi);\n", ce_ptr(e, x),
            qtype(ce_elem(x)), (long long)N, (long long)C, (long long)sp, last, (int)xz,
            ce_f64(e, effc_qgap_mult_f32(xs, ys, sp)), (int)yz, qtype(ce_elem(y)), ce_ptr(e, y));
  return 0;
}

/* QLinearConcat: each input requantized (or copied) into its slot; rows split over threads. */
static int emit_qconcat(CEmit *e, const Node *n) {
  const Value *y = n->outputs[0];
  int r = ce_rank(y), ax = 0, bad = 0;
  if (n->n_inputs < 5 || (n->n_inputs - 2) % 3 || !is_q8(ce_elem(y)))
    return ce_unsupported(e, n, "expected Y_scale, Y_zero_point, then 8-bit (X, scale, zero point) triples");
  int64_t axis = ir_attr_int(n, "axis", 0);
  if (axis < -r || axis >= r) return ce_unsupported(e, n, "axis %lld out of range", (long long)axis);
  ax = (int)(axis < 0 ? axis + r : axis);
  float ys = 0;
  int32_t yz = 0;
  if (!scalar_qparams(e, n, 0, 1, ce_elem(y), &ys, &yz, &bad)) return -1;
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < ax; k++) outer *= ce_dims(y)[k];
  for (int k = ax + 1; k < r; k++) inner *= ce_dims(y)[k];
  ce_need_kern(e, "qlinear");
  put_range(e, outer);
  int64_t off = 0, ylen = ce_dims(y)[ax] * inner;
  for (int i = 2; i < n->n_inputs; i += 3) {
    const Value *x = in_at(n, i);
    float xs = 0;
    int32_t xz = 0;
    if (!x || !is_q8(ce_elem(x)) || ce_rank(x) != r) return ce_unsupported(e, n, "input %d must be 8-bit of rank %d", i, r);
    if (!scalar_qparams(e, n, i + 1, i + 2, ce_elem(x), &xs, &xz, &bad)) return -1;
    int64_t len = ce_dims(x)[ax] * inner;
    ce_printf(e, "effc_qconcat_part(%s, %d, %lld, %d, %s, %s, %d, %lld, %lld, %d, lo, hi);\n", ce_ptr(e, x),
              qtype(ce_elem(x)), (long long)len, (int)xz, ce_f64(e, effc_qratio_f32(xs, ys)), ce_ptr(e, y),
              qtype(ce_elem(y)), (long long)ylen, (long long)off, (int)yz);
    off += len;
  }
  return 0;
}

/* QGemm with constant B and an 8-bit output: one effc_qgemm with C as its column bias and
 * the requantization in its epilogue. */
static int emit_qgemm_ms(CEmit *e, const Node *n) {
  const Value *a = in_at(n, 0), *b = in_at(n, 3), *cv = in_at(n, 6), *y = n->outputs[0];
  const Tensor *bt = b ? ce_const(b) : NULL, *ct = cv ? ce_const(cv) : NULL;
  if (!a || !b || !is_q8(ce_elem(a)) || !is_q8(ce_elem(b)) || ce_rank(a) != 2)
    return ce_unsupported(e, n, "A and B must be 8-bit matrices");
  if (!bt || !bt->has_data || bt->rank != 2) return ce_unsupported(e, n, "B must be a constant matrix (weights)");
  if (!in_at(n, 7) || !is_q8(ce_elem(y)))
    return ce_unsupported(e, n, "float32 output (no y_scale) is the interpreter's alone");
  bool ta = ir_attr_int(n, "transA", 0) != 0, tb = ir_attr_int(n, "transB", 0) != 0;
  int64_t M = ce_dims(a)[ta ? 1 : 0], K = ce_dims(a)[ta ? 0 : 1], N = bt->dims[tb ? 0 : 1];
  if (bt->dims[tb ? 1 : 0] != K) return ce_unsupported(e, n, "inner dimensions differ");
  if (cv && (!ct || !ct->has_data || ct->elem != ELEM_INT32 || ((int64_t)tnumel(ct) != N && tnumel(ct) != 1) ||
             (ct->rank == 2 && ct->dims[0] != 1)))
    return ce_unsupported(e, n, "C must be a constant int32 scalar, [N] or [1, N]");
  int bad = 0;
  int64_t zbs = 0;
  float sa = 0, sy = 0;
  int32_t za = 0, zy = 0;
  if (!scalar_qparams(e, n, 1, 2, ce_elem(a), &sa, &za, &bad)) return -1;
  const float *sb = const_scale(e, n, 4, N, &bad);
  int32_t *zb = const_zp(e, n, 5, N, &zbs, &bad);
  if (!bad) scalar_qparams(e, n, 7, 8, ce_elem(y), &sy, &zy, &bad);
  double *mult = bad ? NULL : malloc(sizeof(double) * (size_t)(N + 1));
  int32_t *bias = bad || !ct ? NULL : malloc(sizeof(int32_t) * (size_t)(N + 1));
  void *bp = bad ? NULL : malloc(effc_qgemm_packb_size(K, N));
  if (!bad && (!mult || !bp || (ct && !bias))) bad = ce_unsupported(e, n, "out of memory");
  if (bad) {
    free(zb), free(mult), free(bias), free(bp);
    return -1;
  }
  float alpha = ir_attr_float(n, "alpha", 1.0f), sa1 = alpha * sa;
  bool per_col = tnumel(ce_const(in_at(n, 4))) > 1;
  for (int64_t j = 0; j < N; j++) mult[j] = effc_qmult_f32(sa1, sb[per_col ? j : 0], sy);
  for (int64_t j = 0; ct && j < N; j++) bias[j] = ((const int32_t *)ct->data)[tnumel(ct) > 1 ? j : 0];
  effc_qgemm_packb(K, N, bt->data, bt->elem == ELEM_INT8, tb ? 1 : N, tb ? K : 1, zb, zbs, bp);
  EffcQgemm q;
  memset(&q, 0, sizeof q);
  q.M = M, q.N = N, q.K = K, q.y_type = qtype(ce_elem(y));
  int nt = e->o->threads > 1 ? e->o->threads : 1;
  size_t scr = effc_qgemm_scratch(e->target->isa, &q, nt);
  double yzp = zy;
  ce_need_kern(e, "qgemm");
  ce_printf(e, "EffcQgemm q;\nmemset(&q, 0, sizeof q);\nstatic const int32_t za = %d;\n", (int)za);
  ce_printf(e, "q.M = %lld, q.N = %lld, q.K = %lld, q.a = %s, q.a_signed = %d, q.a_rs = %lld, q.a_cs = %lld;\n",
            (long long)M, (long long)N, (long long)K, ce_ptr(e, a), ce_elem(a) == ELEM_INT8,
            (long long)(ta ? 1 : K), (long long)(ta ? M : 1));
  ce_printf(e, "q.za = &za, q.bp = %s;\n", ce_weight(e, "qgemm_b", ELEM_INT8, bp, effc_qgemm_packb_size(K, N)));
  if (bias) ce_printf(e, "q.bias = %s;\n", ce_weight(e, "qgemm_c", ELEM_INT32, bias, sizeof(int32_t) * (size_t)N));
  ce_printf(e, "q.y = %s, q.y_rs = %lld, q.y_cs = 1, q.y_type = %d;\n", ce_ptr(e, y), (long long)N, q.y_type);
  ce_printf(e, "q.mult = %s, q.mult_rs = 0;\n", ce_weight(e, "qgemm_mult", ELEM_DOUBLE, mult, sizeof(double) * (size_t)N));
  ce_printf(e, "q.yzp = %s, q.yzp_stride = 0;\n", ce_weight(e, "qgemm_yzp", ELEM_DOUBLE, &yzp, sizeof yzp));
  ce_printf(e, "effc_qgemm(EFFC_ISA, &q, %s, tid, nt);\n", ce_scratch(e, scr));
  free(zb), free(mult), free(bias), free(bp);
  return 0;
}

const CEmitOp ce_ops_quant[] = {
    {"QuantizeLinear", emit_quantize},
    {"DequantizeLinear", emit_dequantize},
    {"DynamicQuantizeLinear", emit_dynquant},
    {"QLinearMatMul", emit_qmatmul},
    {"MatMulInteger", emit_qmatmul},
    {"QLinearConv", emit_qconv},
    {"ConvInteger", emit_qconv},
    {"ms_QLinearAdd", emit_qbinary},
    {"ms_QLinearMul", emit_qbinary},
    {"ms_QLinearGlobalAveragePool", emit_qgap},
    {"ms_QLinearConcat", emit_qconcat},
    {"ms_QGemm", emit_qgemm_ms},
    {NULL, NULL},
};
