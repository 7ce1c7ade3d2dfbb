/* mcu.c - the MCU emitter (mcu.h): one analysis per node (kernel choice, constant tables
 * packed for the target's dot product, requantization multipliers as exact integer
 * multiplier-and-shift pairs), then model.c / model.h / model_report.txt. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cemit.h"
#include "kern.h"
#include "mcu.h"

extern const struct CeKernSrc {
  const char *name;
  const char *const *text;
} mcu_kern_sources[];

typedef struct Cx {
  const Model *m;
  const Target *t;
  const BeSignature *sig; /* NULL: analysis only (effc stats) */
  Diag *d;
  McuLayer *L;
  int idx; /* layer index: table names */
  FILE *tf, *cf;
  int bad;
} Cx;

static int isa_of(const Target *t) {
  return t->isa == TISA_DSP ? 1 : t->isa == TISA_MVE ? 2 : 0;
}

static int kpad_of(const Target *t) {
  int i = isa_of(t);
  return i == 1 ? 4 : i == 2 ? 8 : 1;
}

static int fail(Cx *c, const Node *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(Cx *c, const Node *n, const char *fmt, ...) {
  char why[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  be_node_error(c->d, n, "%s", why);
  c->bad = 1;
  return -1;
}

/* ------------------------------------------------------------------ values */

/* a constant's data (initializer or Constant node): the C backend's helper */
static const Tensor *cst(const Value *v) {
  return ce_const(v);
}

static const Value *in_at(const Node *n, int i) {
  return i < n->n_inputs ? n->inputs[i] : NULL;
}

static int64_t numel(const Value *v) {
  uint64_t k = 0;
  return v && v->type && ir_type_numel(v->type, &k) ? (int64_t)k : -1;
}

static int rank(const Value *v) {
  return v->type->rank;
}

static int64_t dim(const Value *v, int i) {
  return v->type->dims[i].value;
}

static int64_t tnumel(const Tensor *t) {
  uint64_t k = 0;
  return ir_tensor_numel(t, &k) ? (int64_t)k : -1;
}

static bool is_q8(const Value *v) {
  return v && v->type && (v->type->elem == ELEM_INT8 || v->type->elem == ELEM_UINT8);
}

static int sgn(const Value *v) {
  return v->type->elem == ELEM_INT8;
}

/* An integer constant's element i as int32 (int8, uint8, int32). */
static int32_t ival(const Tensor *t, int64_t i) {
  switch (t->elem) {
  case ELEM_INT8: return ((const int8_t *)t->data)[i];
  case ELEM_UINT8: return ((const uint8_t *)t->data)[i];
  case ELEM_INT32: return ((const int32_t *)t->data)[i];
  default: return 0;
  }
}

/* A float scale: 1 or cnt values; NULL after reporting. */
static const float *scale_of(Cx *c, const Node *n, int i, int64_t cnt) {
  const Tensor *t = cst(in_at(n, i));
  if (!t) return fail(c, n, "input %d (scale) must be a constant", i), NULL;
  if (t->elem != ELEM_FLOAT) return fail(c, n, "input %d (scale) must be float32", i), NULL;
  int64_t k = tnumel(t);
  if (k != 1 && k != cnt)
    return fail(c, n, "input %d (scale) has %" PRId64 " values, expected 1 or %" PRId64, i, k, cnt),
           NULL;
  return t->data;
}

/* A zero point as int32 (absent: 0), 1 or cnt values into z[cnt]; -1 after reporting. */
static int zp_of(Cx *c, const Node *n, int i, int64_t cnt, int32_t *z) {
  const Value *v = in_at(n, i);
  const Tensor *t = cst(v);
  if (v && !t) return fail(c, n, "input %d (zero point) must be a constant", i);
  int64_t k = t ? tnumel(t) : 1;
  if (k != 1 && k != cnt)
    return fail(c, n, "input %d (zero point) has %" PRId64 " values, expected 1 or %" PRId64, i, k, cnt);
  if (t && t->elem != ELEM_INT8 && t->elem != ELEM_UINT8 && t->elem != ELEM_INT32)
    return fail(c, n, "input %d (zero point) must be int8 or uint8", i);
  for (int64_t j = 0; j < cnt; j++) z[j] = t ? ival(t, k == 1 ? 0 : j) : 0;
  return 0;
}

/* Graph input / output index of v, else -1. */
static int io_index(const Value *const *vs, int n, const Value *v) {
  for (int i = 0; i < n; i++)
    if (vs[i] == v) return i;
  return -1;
}

static bool float_entry(const Graph *g, const Value *v);
static bool is_view(const char *op);

/* A view (Flatten, Reshape, ...) of a float graph input: it reads the caller's buffer in
 * place (that buffer is never reused), so it needs no storage of its own. */
static bool input_view(const Graph *g, const Value *v) {
  const Node *p = v->producer;
  return p && !*p->domain && is_view(p->op_type) && float_entry(g, v);
}

/* The C expression of v's storage in run() (a parameter or the arena). */
static void ptr(Cx *c, const Value *v, char *buf, size_t len) {
  while (input_view(c->m->graph, v)) v = in_at(v->producer, 0);
  int k = io_index((const Value *const *)c->sig->inputs, c->sig->n_inputs, v);
  if (k >= 0) {
    snprintf(buf, len, "in%d", k);
    return;
  }
  k = io_index((const Value *const *)c->sig->outputs, c->sig->n_outputs, v);
  if (k >= 0) {
    snprintf(buf, len, "out%d", k);
    return;
  }
  int64_t off = v->producer ? be_offset(v->producer, v->producer_index) : -1;
  snprintf(buf, len, "(mcu_arena + %" PRId64 ")", off < 0 ? 0 : off);
}

/* ------------------------------------------------------------------ tables */

/* Write `static const T NAME[n]` (padded to a multiple of 4 bytes) and count its flash. */
static void table(Cx *c, const char *ctype, const char *name, const void *data, int64_t n,
                  int esz, int is_float) {
  int64_t padded = ((n * esz + 3) / 4 * 4) / esz;
  c->L->flash += (uint64_t)(padded * esz);
  if (!c->tf) return;
  fprintf(c->tf, "__attribute__((used, aligned(4))) static const %s L%d_%s[%" PRId64 "] = {", ctype,
          c->idx, name, padded);
  for (int64_t i = 0; i < padded; i++) {
    if (i % 16 == 0) fputs("\n ", c->tf);
    if (i >= n) fputs(" 0,", c->tf);
    else if (is_float) fprintf(c->tf, " %.9gf,", (double)((const float *)data)[i]);
    else if (esz == 1) fprintf(c->tf, " %d,", ((const int8_t *)data)[i]);
    else fprintf(c->tf, " %" PRId32 ",", ((const int32_t *)data)[i]);
  }
  fputs("\n};\n", c->tf);
}

bool be_mcu_split_mult(float mult, int64_t bound, int32_t *m, int8_t *sh) {
  if (!(mult > 0)) { /* zero (or a zero scale): every output is the zero point */
    *m = 0;
    *sh = 1;
    return true;
  }
  int ex;
  float f = frexpf(mult, &ex); /* mult = f * 2^ex, f in [0.5, 1) */
  int64_t mm = (int64_t)ldexpf(f, 24);
  int s = 24 - ex;
  while (s > 1 && !(mm & 1)) mm >>= 1, s--;
  if (s < 1) { /* mult >= 2^23: any non-zero accumulator saturates */
    *m = 1 << 20;
    *sh = 1;
    return true;
  }
  if (s > 54) {
    if ((double)bound * mult > 0.25) return false;
    *m = 0;
    *sh = 1;
    return true;
  }
  *m = (int32_t)mm;
  *sh = (int8_t)s;
  return true;
}

/* Requantization tables of M outputs: mult[o] = (xs * ws[o]) / ys in float, as the
 * interpreter computes it; the accumulator bound |acc| < 2^29 is checked by the caller. */
static int requant_tables(Cx *c, const Node *n, float xs, const float *ws, int64_t wsn, float ys,
                          int64_t M, const int64_t *bound) {
  int32_t *mul = malloc(sizeof *mul * (size_t)M);
  int8_t *sh = malloc((size_t)M);
  int rc = 0;
  for (int64_t o = 0; o < M && rc == 0; o++) {
    float mult = effc_qmult_f32(xs, ws[wsn == 1 ? 0 : o], ys);
    if (!be_mcu_split_mult(mult, bound[o], &mul[o], &sh[o]))
      rc = fail(c, n, "requantization multiplier %g of output channel %" PRId64
                " is below 2^-31 and its outputs can change: not exact in int64", (double)mult, o);
  }
  if (rc == 0) {
    table(c, "int32_t", "mul", mul, M, 4, 0);
    table(c, "int8_t", "sh", sh, M, 1, 0);
  }
  free(mul);
  free(sh);
  return rc;
}

/* Weight rows w[o][k] (int32 values, already minus 128 for uint8) as int8 [M][kp] for the
 * target's dot product (zero padded; DSP: permuted in fours), and the accumulator bound. */
static int weight_rows(Cx *c, const Node *n, const int32_t *w, int64_t M, int64_t K, int64_t kp,
                       bool permute, const int32_t *wz, const int32_t *bias, int32_t xmax,
                       int64_t *bounds) {
  int8_t *p = calloc((size_t)(M * kp), 1);
  for (int64_t o = 0; o < M; o++) {
    int64_t bound = bias ? llabs(bias[o]) : 0;
    for (int64_t k = 0; k < K; k++) {
      int64_t j = k;
      if (permute) j = (k & ~3) + ((int64_t[]){0, 2, 1, 3})[k & 3];
      p[o * kp + j] = (int8_t)w[o * K + k];
      bound += (int64_t)xmax * llabs((int64_t)w[o * K + k] - (wz ? wz[o] : 0));
    }
    bounds[o] = bound;
    if (bound >= ((int64_t)1 << 29)) {
      free(p);
      return fail(c, n, "the accumulator of output channel %" PRId64 " may reach %" PRId64
                  " (>= 2^29): requantization would not be exact in integers", o, bound);
    }
  }
  table(c, "int8_t", "w", p, M * kp, 1, 0);
  free(p);
  return 0;
}

/* ------------------------------------------------------------------ operators */

static int64_t attr_at(const Node *n, const char *name, int i, int64_t dflt) {
  size_t k = 0;
  const int64_t *v = ir_attr_ints(n, name, &k);
  return v && (size_t)i < k ? v[i] : dflt;
}

/* Spatial parameters of a 2-D window: pads from auto_pad when set. */
typedef struct Win {
  int64_t kh, kw, sh, sw, pt, pl, dh, dw;
} Win;

static int window(Cx *c, const Node *n, const Value *x, const Value *y, int64_t kh, int64_t kw,
                  Win *w) {
  w->kh = kh, w->kw = kw;
  w->sh = attr_at(n, "strides", 0, 1), w->sw = attr_at(n, "strides", 1, 1);
  w->dh = attr_at(n, "dilations", 0, 1), w->dw = attr_at(n, "dilations", 1, 1);
  w->pt = attr_at(n, "pads", 0, 0), w->pl = attr_at(n, "pads", 1, 0);
  const char *ap = ir_attr_string(n, "auto_pad", "NOTSET");
  if (!strcmp(ap, "VALID")) w->pt = w->pl = 0;
  else if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
    int64_t th = (dim(y, 2) - 1) * w->sh + (kh - 1) * w->dh + 1 - dim(x, 2);
    int64_t tw = (dim(y, 3) - 1) * w->sw + (kw - 1) * w->dw + 1 - dim(x, 3);
    th = th < 0 ? 0 : th, tw = tw < 0 ? 0 : tw;
    bool up = !strcmp(ap, "SAME_UPPER");
    w->pt = up ? th / 2 : th - th / 2;
    w->pl = up ? tw / 2 : tw - tw / 2;
  } else if (strcmp(ap, "NOTSET")) {
    return fail(c, n, "auto_pad '%s' is not supported", ap);
  }
  return 0;
}

static int32_t xmax_of(const Value *x, int32_t xz) {
  int32_t lo = sgn(x) ? -128 : 0, hi = sgn(x) ? 127 : 255;
  return hi - xz > xz - lo ? hi - xz : xz - lo;
}

static int emit_qconv(Cx *c, const Node *n) {
  const Value *x = in_at(n, 0), *w = in_at(n, 3), *y = n->outputs[0];
  const Tensor *wt = cst(w);
  if (!wt) return fail(c, n, "the weights (input 3) must be a constant");
  if (rank(x) != 4 || wt->rank != 4) return fail(c, n, "only 2-D convolutions are supported");
  if (wt->elem != ELEM_INT8 && wt->elem != ELEM_UINT8) return fail(c, n, "weights must be int8 or uint8");
  int64_t N = dim(x, 0), C = dim(x, 1), H = dim(x, 2), W = dim(x, 3);
  int64_t M = wt->dims[0], cg = wt->dims[1], KH = wt->dims[2], KW = wt->dims[3];
  int64_t OH = dim(y, 2), OW = dim(y, 3), G = ir_attr_int(n, "group", 1);
  Win wn;
  if (window(c, n, x, y, KH, KW, &wn)) return -1;
  const float *xs = scale_of(c, n, 1, 1), *ws = scale_of(c, n, 4, M), *ys = scale_of(c, n, 6, 1);
  if (!xs || !ws || !ys) return -1;
  int64_t wsn = tnumel(cst(in_at(n, 4)));
  int32_t xz, yz, *wz = malloc(sizeof *wz * (size_t)M);
  if (zp_of(c, n, 2, 1, &xz) || zp_of(c, n, 7, 1, &yz) || zp_of(c, n, 5, M, wz)) return free(wz), -1;
  int32_t *bias = NULL;
  const Value *bv = in_at(n, 8);
  if (bv) {
    const Tensor *bt = cst(bv);
    if (!bt || bt->elem != ELEM_INT32 || tnumel(bt) != M)
      return free(wz), fail(c, n, "the bias (input 8) must be a constant int32[%" PRId64 "]", M);
    bias = malloc(sizeof *bias * (size_t)M);
    for (int64_t o = 0; o < M; o++) bias[o] = ival(bt, o);
  }
  int64_t K = cg * KH * KW;
  int32_t *wv = malloc(sizeof *wv * (size_t)(M * K));
  bool u8 = wt->elem == ELEM_UINT8, anyz = false;
  for (int64_t i = 0; i < M * K; i++) wv[i] = ival(wt, i) - (u8 ? 128 : 0);
  for (int64_t o = 0; o < M; o++) {
    if (u8) wz[o] -= 128;
    anyz = anyz || wz[o] != 0;
  }
  bool dw = G == C && G == M && cg == 1;
  bool pw = !dw && G == 1 && KH == 1 && KW == 1 && wn.pt == 0 && wn.pl == 0 &&
            attr_at(n, "pads", 2, 0) == 0 && attr_at(n, "pads", 3, 0) == 0;
  int64_t kp = dw ? K : (K + kpad_of(c->t) - 1) / kpad_of(c->t) * kpad_of(c->t);
  int rc = 0;
  if (C % G || M % G || C / G != cg) rc = fail(c, n, "group %" PRId64 " does not divide the channels", G);
  int64_t *bounds = calloc((size_t)M, sizeof *bounds);
  if (!rc) rc = weight_rows(c, n, wv, M, K, kp, !dw && isa_of(c->t) == 1, anyz ? wz : NULL, bias,
                            xmax_of(x, xz), bounds);
  if (!rc && bias) table(c, "int32_t", "b", bias, M, 4, 0);
  if (!rc && anyz) table(c, "int32_t", "wz", wz, M, 4, 0);
  if (!rc) rc = requant_tables(c, n, xs[0], ws, wsn, ys[0], M, bounds);
  free(bounds);
  c->L->kernel = dw ? (KH == 3 && KW == 3 ? "depthwise3x3" : "depthwise")
                    : pw ? "conv1x1" : KH == 3 && KW == 3 ? "conv3x3" : "convKxK";
  if (!dw) c->L->scratch = (uint64_t)kp * 2;
  /* in place (the planner's inplace-dw gave y x's buffer): a channel at a time through scratch */
  int64_t xoff = x->producer ? be_offset(x->producer, x->producer_index) : -1;
  bool inplace = dw && xoff >= 0 && xoff == be_offset(n, 0);
  if (inplace) {
    c->L->kernel = KH == 3 && KW == 3 ? "depthwise3x3-ip" : "depthwise-ip";
    c->L->scratch = (uint64_t)(OH * OW);
  }
  if (!rc && c->cf) {
    char px[64], py[64], b[32], z[32];
    ptr(c, x, px, sizeof px);
    ptr(c, y, py, sizeof py);
    snprintf(b, sizeof b, bias ? "L%d_b" : "NULL", c->idx);
    snprintf(z, sizeof z, anyz ? "L%d_wz" : "NULL", c->idx);
    fprintf(c->cf, "  for (int32_t b = 0; b < %" PRId64 "; b++)\n    ", N);
    const char *xb = sgn(x) ? "const int8_t" : "const uint8_t", *yb = sgn(y) ? "int8_t" : "uint8_t";
    int d = c->idx;
    if (dw)
      fprintf(c->cf, "mk_dwconv((%s *)%s + b * %" PRId64 ", %d, %d, %" PRId64 ", %" PRId64 ", %" PRId64
              ", L%d_w, %s, %s, L%d_mul, L%d_sh, %d, %d, (%s *)%s + b * %" PRId64 ", %" PRId64 ", %" PRId64
              ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
              ", %" PRId64 ", %s);\n",
              xb, px, C * H * W, sgn(x), xz, C, H, W, d, b, z, d, d, yz, sgn(y), yb, py, M * OH * OW,
              OH, OW, KH, KW, wn.sh, wn.sw, wn.pt, wn.pl, wn.dh, wn.dw,
              inplace ? "(uint8_t *)mcu_col" : "NULL");
    else if (pw)
      fprintf(c->cf, "mk_conv1x1((%s *)%s + b * %" PRId64 ", %d, %d, %" PRId64 ", %" PRId64 ", %" PRId64
              ", L%d_w, %s, %s, L%d_mul, L%d_sh, %d, %d, (%s *)%s + b * %" PRId64 ", %" PRId64 ", %" PRId64
              ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", mcu_col);\n",
              xb, px, C * H * W, sgn(x), xz, C, H, W, d, b, z, d, d, yz, sgn(y), yb, py, M * OH * OW, M,
              OH, OW, wn.sh, wn.sw, kp);
    else
      fprintf(c->cf, "mk_conv((%s *)%s + b * %" PRId64 ", %d, %d, %" PRId64 ", %" PRId64 ", %" PRId64
              ", L%d_w, %s, %s, L%d_mul, L%d_sh, %d, %d, (%s *)%s + b * %" PRId64 ", %" PRId64 ", %" PRId64
              ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
              ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", mcu_col);\n",
              xb, px, C * H * W, sgn(x), xz, C, H, W, d, b, z, d, d, yz, sgn(y), yb, py, M * OH * OW, M,
              OH, OW, KH, KW, wn.sh, wn.sw, wn.pt, wn.pl, wn.dh, wn.dw, G, kp);
  }
  free(wz);
  free(bias);
  free(wv);
  return rc;
}

/* A fully connected layer (rows of A): QLinearMatMul with a constant 2-D B, or com.microsoft
 * QGemm (alpha 1, transA 0, constant B, optional transB, constant int32 bias C, 8-bit output).
 * QGemm's inputs: A, a_scale, a_zp, B, b_scale, b_zp, C, y_scale, y_zp. */
static int emit_fc(Cx *c, const Node *n, bool qgemm) {
  const int ys_at = qgemm ? 7 : 6, yz_at = qgemm ? 8 : 7;
  const Value *a = in_at(n, 0), *y = n->outputs[0];
  const Tensor *bt = cst(in_at(n, 3));
  if (!bt || bt->rank != 2) return fail(c, n, "B (input 3) must be a constant matrix");
  if (bt->elem != ELEM_INT8 && bt->elem != ELEM_UINT8) return fail(c, n, "B must be int8 or uint8");
  bool tb = qgemm && ir_attr_int(n, "transB", 0);
  if (qgemm && ir_attr_int(n, "transA", 0)) return fail(c, n, "transA = 1 is not supported");
  if (qgemm && ir_attr_float(n, "alpha", 1.0f) != 1.0f) return fail(c, n, "alpha other than 1 is not supported");
  if (qgemm && !in_at(n, ys_at)) return fail(c, n, "a float output (no y_scale) is not supported");
  int64_t K = bt->dims[tb ? 1 : 0], N = bt->dims[tb ? 0 : 1], R = numel(a) / K;
  const float *as = scale_of(c, n, 1, 1), *bs = scale_of(c, n, 4, N), *ys = scale_of(c, n, ys_at, 1);
  if (!as || !bs || !ys) return -1;
  int32_t az, yz, *bz = malloc(sizeof *bz * (size_t)N);
  if (zp_of(c, n, 2, 1, &az) || zp_of(c, n, yz_at, 1, &yz) || zp_of(c, n, 5, N, bz)) return free(bz), -1;
  int32_t *bias = NULL;
  const Value *bv = qgemm ? in_at(n, 6) : NULL;
  if (bv) {
    const Tensor *ct = cst(bv);
    int64_t cn = ct ? tnumel(ct) : 0;
    if (!ct || ct->elem != ELEM_INT32 || (cn != N && cn != 1))
      return free(bz), fail(c, n, "the bias (input 6) must be a constant int32[%" PRId64 "] or scalar", N);
    bias = malloc(sizeof *bias * (size_t)N);
    for (int64_t o = 0; o < N; o++) bias[o] = ival(ct, cn == 1 ? 0 : o);
  }
  bool u8 = bt->elem == ELEM_UINT8, anyz = false;
  int32_t *wv = malloc(sizeof *wv * (size_t)(N * K));
  for (int64_t o = 0; o < N; o++) {
    for (int64_t k = 0; k < K; k++) wv[o * K + k] = ival(bt, tb ? o * K + k : k * N + o) - (u8 ? 128 : 0);
    if (u8) bz[o] -= 128;
    anyz = anyz || bz[o] != 0;
  }
  int64_t kp = (K + kpad_of(c->t) - 1) / kpad_of(c->t) * kpad_of(c->t);
  int64_t *bounds = calloc((size_t)N, sizeof *bounds);
  int rc = weight_rows(c, n, wv, N, K, kp, isa_of(c->t) == 1, anyz ? bz : NULL, bias, xmax_of(a, az),
                       bounds);
  if (!rc && bias) table(c, "int32_t", "b", bias, N, 4, 0);
  if (!rc && anyz) table(c, "int32_t", "wz", bz, N, 4, 0);
  if (!rc) rc = requant_tables(c, n, as[0], bs, tnumel(cst(in_at(n, 4))), ys[0], N, bounds);
  free(bounds);
  c->L->kernel = "fc";
  c->L->scratch = (uint64_t)kp * 2;
  if (!rc && c->cf) {
    char pa[64], py[64], b[32], z[32];
    ptr(c, a, pa, sizeof pa);
    ptr(c, y, py, sizeof py);
    snprintf(b, sizeof b, bias ? "L%d_b" : "NULL", c->idx);
    snprintf(z, sizeof z, anyz ? "L%d_wz" : "NULL", c->idx);
    fprintf(c->cf, "  mk_fc(%s, %d, %d, %" PRId64 ", %" PRId64 ", L%d_w, %s, %s, L%d_mul, L%d_sh, %d, %d, "
            "%s, %" PRId64 ", %" PRId64 ", mcu_col);\n",
            pa, sgn(a), az, R, K, c->idx, b, z, c->idx, c->idx, yz, sgn(y), py, N, kp);
  }
  free(bias);
  free(bz);
  free(wv);
  return rc;
}

static int emit_maxpool(Cx *c, const Node *n) {
  const Value *x = in_at(n, 0), *y = n->outputs[0];
  if (n->n_outputs > 1 && n->outputs[1] && n->outputs[1]->uses)
    return fail(c, n, "the Indices output is not supported");
  if (rank(x) != 4) return fail(c, n, "only 2-D pooling is supported");
  if (ir_attr_int(n, "storage_order", 0)) return fail(c, n, "storage_order 1 is not supported");
  Win wn;
  if (window(c, n, x, y, attr_at(n, "kernel_shape", 0, 1), attr_at(n, "kernel_shape", 1, 1), &wn)) return -1;
  c->L->kernel = "maxpool";
  if (c->cf) {
    char px[64], py[64];
    ptr(c, x, px, sizeof px);
    ptr(c, y, py, sizeof py);
    fprintf(c->cf, "  mk_maxpool(%s, %d, %" PRId64 ", %" PRId64 ", %" PRId64 ", %s, %" PRId64 ", %" PRId64
            ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
            ", %" PRId64 ");\n",
            px, sgn(x), dim(x, 0) * dim(x, 1), dim(x, 2), dim(x, 3), py, dim(y, 2), dim(y, 3), wn.kh,
            wn.kw, wn.sh, wn.sw, wn.pt, wn.pl, wn.dh, wn.dw);
  }
  return 0;
}

/* Per-axis view of a (De)QuantizeLinear: inner, C. */
static int qaxis(Cx *c, const Node *n, const Value *x, int64_t cnt, int64_t *inner, int64_t *C) {
  *inner = 1, *C = cnt;
  if (cnt == 1) {
    *inner = numel(x);
    return 0;
  }
  int64_t ax = ir_attr_int(n, "axis", 1);
  if (ax < 0) ax += rank(x);
  if (ax < 0 || ax >= rank(x) || dim(x, (int)ax) != cnt)
    return fail(c, n, "scale of %" PRId64 " values does not match the axis", cnt);
  for (int i = (int)ax + 1; i < rank(x); i++) *inner *= dim(x, i);
  return 0;
}

/* A float graph input, or a view (Flatten, Reshape, ...) of one: what QuantizeLinear may read. */
static bool float_entry(const Graph *g, const Value *v) {
  for (int depth = 0; v && depth < 64; depth++) {
    if (!v->type || v->type->elem != ELEM_FLOAT) return false;
    if (io_index((const Value *const *)g->inputs, g->n_inputs, v) >= 0) return true;
    const Node *p = v->producer;
    if (!p || *p->domain || !is_view(p->op_type)) return false;
    v = in_at(p, 0);
  }
  return false;
}

static int emit_qdq(Cx *c, const Node *n, bool quant) {
  const Value *x = in_at(n, 0), *y = n->outputs[0];
  const Graph *g = c->m->graph;
  if (ir_attr_int(n, "block_size", 0)) return fail(c, n, "block quantization is not supported");
  if (quant && !float_entry(g, x))
    return fail(c, n, "QuantizeLinear is supported only on a float graph input (or a Flatten / "
                      "Reshape of one): the model's float entry");
  if (!quant && io_index((const Value *const *)g->outputs, g->n_outputs, y) < 0)
    return fail(c, n, "DequantizeLinear is supported only into a graph output (float compute "
                      "inside the graph is not compiled for the MCU)");
  const Value *q = quant ? y : x;
  if (!is_q8(q)) return fail(c, n, "only int8 and uint8 quantization is supported");
  const Tensor *st = cst(in_at(n, 1));
  int64_t cnt = st ? tnumel(st) : 1, inner, C;
  const float *s = scale_of(c, n, 1, cnt);
  if (!s) return -1;
  int32_t *z = malloc(sizeof *z * (size_t)cnt);
  int rc = zp_of(c, n, 2, cnt, z);
  if (!rc) rc = qaxis(c, n, x, cnt, &inner, &C);
  if (!rc) {
    table(c, "float", "s", s, cnt, 4, 1);
    table(c, "int32_t", "z", z, cnt, 4, 0);
  }
  c->L->kernel = quant ? "quantize" : "dequantize";
  if (!rc && c->cf) {
    char px[64], py[64];
    ptr(c, x, px, sizeof px);
    ptr(c, y, py, sizeof py);
    if (quant)
      fprintf(c->cf, "  mk_quantize((const float *)%s, %" PRId64 ", %" PRId64 ", %" PRId64 ", L%d_s, L%d_z, %d, %s);\n",
              px, numel(x), inner, C, c->idx, c->idx, sgn(y), py);
    else
      fprintf(c->cf, "  mk_dequantize(%s, %d, %" PRId64 ", %" PRId64 ", %" PRId64 ", L%d_s, L%d_z, %s);\n",
              px, sgn(x), numel(x), inner, C, c->idx, c->idx, py);
  }
  free(z);
  return rc;
}

/* Reshape, Flatten, Squeeze, Unsqueeze, Identity: the bytes, moved when the planner gave
 * the output another buffer. */
static int emit_view(Cx *c, const Node *n) {
  const Value *x = in_at(n, 0), *y = n->outputs[0];
  c->L->kernel = "copy";
  if (input_view(c->m->graph, y)) {
    c->L->kernel = "alias"; /* reads the input in place */
    return 0;
  }
  if (c->cf) {
    char px[64], py[64];
    ptr(c, x, px, sizeof px);
    ptr(c, y, py, sizeof py);
    size_t b = 0;
    ir_elem_nbytes(y->type->elem, (uint64_t)numel(y), &b);
    if (strcmp(px, py)) fprintf(c->cf, "  memmove(%s, %s, %zu);\n", py, px, b);
    else fprintf(c->cf, "  /* in place */\n");
  }
  return 0;
}

static bool is_view(const char *op) {
  return !strcmp(op, "Reshape") || !strcmp(op, "Flatten") || !strcmp(op, "Squeeze") ||
         !strcmp(op, "Unsqueeze") || !strcmp(op, "Identity");
}

static int emit_node(Cx *c, const Node *n) {
  const char *op = n->op_type;
  bool onnx = !*n->domain;
  for (int i = 0; i < n->n_outputs; i++) {
    const Value *v = n->outputs[i];
    if (v && (!v->type || v->type->kind != TYPE_TENSOR || numel(v) < 0))
      return fail(c, n, "output '%s' has no static shape", v->name);
  }
  if (onnx && !strcmp(op, "QuantizeLinear")) return emit_qdq(c, n, true);
  if (onnx && !strcmp(op, "DequantizeLinear")) return emit_qdq(c, n, false);
  if (onnx && is_view(op) && float_entry(c->m->graph, in_at(n, 0))) return emit_view(c, n);
  for (int i = 0; i < n->n_outputs; i++)
    if (n->outputs[i] && !is_q8(n->outputs[i]))
      return fail(c, n, "output '%s' is %s: the mcu backend compiles integer (int8/uint8) graphs; "
                  "quantize the model first (passes quantize,qdq-fuse)",
                  n->outputs[i]->name, ir_elem(n->outputs[i]->type->elem)->name);
  if (onnx && !strcmp(op, "QLinearConv")) return emit_qconv(c, n);
  if (onnx && !strcmp(op, "QLinearMatMul")) return emit_fc(c, n, false);
  if (!strcmp(n->domain, "com.microsoft") && !strcmp(op, "QGemm")) return emit_fc(c, n, true);
  if (onnx && !strcmp(op, "MaxPool")) return emit_maxpool(c, n);
  if (onnx && is_view(op)) return emit_view(c, n);
  return fail(c, n, "the mcu backend has no kernel for %s", op);
}

static bool is_const_node(const Node *n) {
  return n->op && !*n->domain && !strcmp(n->op_type, "Constant");
}

/* ------------------------------------------------------------------ analysis */

int be_mcu_analyze(const Model *m, const Target *t, const BeSignature *sig, McuModel *mm, Diag *d) {
  const Graph *g = m->graph;
  memset(mm, 0, sizeof *mm);
  mm->n_layers = (int)g->nodes.n;
  mm->layers = calloc(g->nodes.n + 1, sizeof *mm->layers);
  int bad = 0;
  for (size_t i = 0; i < g->nodes.n; i++) {
    const Node *n = g->nodes.v[i];
    McuLayer *L = &mm->layers[i];
    L->n = n;
    if (is_const_node(n)) continue;
    size_t tl = 0, cl = 0;
    Cx c = {m, t, sig, d, L, (int)i, NULL, NULL, 0};
    if (sig) {
      c.tf = open_memstream(&L->tables, &tl);
      c.cf = open_memstream(&L->code, &cl);
    }
    emit_node(&c, n);
    if (c.tf) fclose(c.tf);
    if (c.cf) fclose(c.cf);
    bad += c.bad;
    mm->flash += L->flash;
    if (L->scratch > mm->scratch) mm->scratch = L->scratch;
  }
  return bad;
}

void be_mcu_free(McuModel *mm) {
  for (int i = 0; i < mm->n_layers; i++) {
    free(mm->layers[i].tables);
    free(mm->layers[i].code);
  }
  free(mm->layers);
  memset(mm, 0, sizeof *mm);
}

/* ------------------------------------------------------------------ files */

static uint64_t align_up(uint64_t v, uint64_t a) {
  return (v + a - 1) / a * a;
}

static void put_kern(FILE *f) {
  for (const struct CeKernSrc *k = mcu_kern_sources; k->name; k++)
    for (const char *const *s = k->text; *s; s++) fputs(*s, f);
}

static const char *layer_name(const Node *n, char *buf, size_t len) {
  if (n->name && *n->name) snprintf(buf, len, "%s", n->name);
  else snprintf(buf, len, "#%u", (unsigned)n->id);
  for (char *p = buf; *p; p++)
    if (*p == '*' || *p == '\n') *p = '_';
  return buf;
}

static void write_model_c(FILE *f, const McuModel *mm, const BeSignature *sig,
                          const EmitOptions *o, uint64_t act, uint64_t arena) {
  const Target *t = o->target;
  fprintf(f, "/* Generated by effc for %s (%s): integer-only model code, no malloc, no stdio;\n"
             " * constants in flash (.rodata), one static arena (.bss). */\n",
          t->name, t->summary);
  fprintf(f, "#ifndef EFFC_MCU_ISA /* 0 scalar, 1 Armv7E-M DSP, 2 Helium (-D to compare) */\n"
             "#define EFFC_MCU_ISA %d\n#endif\n", isa_of(t));
  put_kern(f);
  fprintf(f, "\n#include \"%s.h\"\n\n", o->prefix);
  fprintf(f, "/* activations at the planner's offsets [0, %" PRIu64 "), then the column buffer */\n"
             "static uint8_t mcu_arena[%" PRIu64 "] __attribute__((aligned(%d)));\n",
          act, arena, t->align < 4 ? 4 : t->align);
  fprintf(f, "#define mcu_col ((int16_t *)(mcu_arena + %" PRIu64 "))\n\n", act);
  for (int i = 0; i < mm->n_layers; i++)
    if (mm->layers[i].tables) fputs(mm->layers[i].tables, f);
  fprintf(f, "\n%s_ctx *%s_create(void) {\n  return (%s_ctx *)(void *)mcu_arena;\n}\n\n", o->prefix,
          o->prefix, o->prefix);
  fprintf(f, "void %s_destroy(%s_ctx *c) {\n  (void)c;\n}\n\n", o->prefix, o->prefix);
  fprintf(f, "int %s_run(%s_ctx *c", o->prefix, o->prefix);
  for (int i = 0; i < sig->n_inputs; i++)
    fprintf(f, ", const %s *in%d", be_ctype(sig->inputs[i]->type->elem), i);
  for (int i = 0; i < sig->n_outputs; i++)
    fprintf(f, ", %s *out%d", be_ctype(sig->outputs[i]->type->elem), i);
  fprintf(f, ") {\n  if (!c) return -1;\n");
  for (int i = 0; i < mm->n_layers; i++) {
    const McuLayer *L = &mm->layers[i];
    if (!L->code) continue;
    char nm[256];
    fprintf(f, "  /* %s: %s (%s) */\n", layer_name(L->n, nm, sizeof nm), L->n->op_type, L->kernel);
    fputs(L->code, f);
  }
  fprintf(f, "  return 0;\n}\n");
}

static void write_report(FILE *f, const Model *m, const McuModel *mm, const EmitOptions *o,
                         uint64_t act, uint64_t arena) {
  const Target *t = o->target;
  fprintf(f, "effc mcu report: target %s (%s)\n", t->name, t->summary);
  fprintf(f, "%-28s %-16s %-14s %12s %14s %12s\n", "layer", "op", "kernel", "flash bytes",
          "arena offset", "out bytes");
  for (int i = 0; i < mm->n_layers; i++) {
    const McuLayer *L = &mm->layers[i];
    if (!L->kernel) continue;
    char nm[256], off[32];
    const Value *v = L->n->outputs[0];
    int64_t k = be_offset(L->n, 0);
    if (!strcmp(L->kernel, "alias")) snprintf(off, sizeof off, "%s", "input");
    else if (k >= 0) snprintf(off, sizeof off, "%" PRId64, k);
    else snprintf(off, sizeof off, "%s", "io");
    size_t b = 0;
    ir_elem_nbytes(v->type->elem, (uint64_t)numel(v), &b);
    fprintf(f, "%-28.28s %-16.16s %-14s %12" PRIu64 " %14s %12zu\n", layer_name(L->n, nm, sizeof nm),
            L->n->op_type, L->kernel, L->flash, off, b);
  }
  (void)m;
  fprintf(f, "flash constants: %" PRIu64 " bytes (.rodata of %s.o; code is .text)\n", mm->flash, o->prefix);
  fprintf(f, "arena: %" PRIu64 " bytes (.bss of %s.o) = activations %" PRIu64 " + column buffer %" PRIu64 "\n",
          arena, o->prefix, act, arena - act);
  fprintf(f, "part: flash %d KB, SRAM %d KB\n", t->flash_kb, t->sram_kb);
}

int be_emit_mcu(Model *m, const EmitOptions *o, Diag *d) {
  const Target *t = o->target;
  const Graph *g = m->graph;
  if (o->threads > 1) {
    ir_error(d, ir_noloc, "target %s: --threads is not supported (one core)", t->name);
    return -1;
  }
  if (o->weights_bin || o->emit_main) {
    ir_error(d, ir_noloc, "target %s: %s is not supported (weights are const arrays in flash; "
             "run the model with a board's runner such as tests/mcu/m4_main.c)", t->name,
             o->weights_bin ? "--weights-bin" : "--emit-main");
    return -1;
  }
  BeSignature sig;
  if (be_signature(m, &sig, d)) return -1;
  McuModel mm;
  int bad = be_mcu_analyze(m, t, &sig, &mm, d);
  /* the activations' extent from the planner's offsets */
  uint64_t act = 0;
  for (size_t i = 0; !bad && i < g->nodes.n; i++) {
    const Node *n = g->nodes.v[i];
    for (int k = 0; k < n->n_outputs; k++) {
      const Value *v = n->outputs[k];
      if (!v || is_const_node(n) || io_index((const Value *const *)sig.outputs, sig.n_outputs, v) >= 0 ||
          input_view(g, v))
        continue;
      int64_t off = be_offset(n, k);
      if (off < 0 && v->uses) {
        be_node_error(d, n, "output '%s' has no arena offset: the pipeline must end with the "
                      "memory planner (pass `plan`)", v->name);
        bad++;
      }
      size_t b = 0;
      ir_elem_nbytes(v->type->elem, (uint64_t)numel(v), &b);
      if (off >= 0 && (uint64_t)off + b > act) act = (uint64_t)off + b;
    }
  }
  act = align_up(act, 4);
  uint64_t arena = act + align_up(mm.scratch, 4);
  if (arena == 0) arena = 4;
  int rc = -1;
  if (!bad && t->flash_kb && mm.flash > (uint64_t)t->flash_kb * 1024)
    ir_warning(d, ir_noloc, "flash constants %" PRIu64 " bytes exceed %s's %d KB of flash: the "
               "model will not link for the part", mm.flash, t->name, t->flash_kb);
  if (!bad && t->sram_kb && arena > (uint64_t)t->sram_kb * 1024)
    ir_warning(d, ir_noloc, "the arena (%" PRIu64 " bytes) exceeds %s's %d KB of SRAM: the model "
               "will not link for the part", arena, t->name, t->sram_kb);
  if (!bad) {
    const char *sfx[] = {".c", "_report.txt"};
    AtomicFile af[2];
    char err[512];
    bool ok = true;
    int opened = 0;
    for (int i = 0; i < 2 && ok; i++) {
      size_t len = strlen(o->out_dir) + strlen(o->prefix) + 32;
      char *path = malloc(len);
      snprintf(path, len, "%s/%s%s", o->out_dir, o->prefix, sfx[i]);
      ok = ir_atomic_open(&af[i], path, err, sizeof err);
      if (!ok) ir_error(d, ir_noloc, "%s", err);
      else opened++;
      free(path);
    }
    if (ok) {
      write_model_c(af[0].fp, &mm, &sig, o, act, arena);
      write_report(af[1].fp, m, &mm, o, act, arena);
      for (int i = 0; i < 2 && ok; i++)
        if (!ir_atomic_commit(&af[i], err, sizeof err)) {
          ir_error(d, ir_noloc, "%s", err);
          ok = false;
        }
    } else {
      for (int i = 0; i < opened; i++) ir_atomic_abort(&af[i]);
    }
    if (ok && be_write_header(m, &sig, o, arena, mm.flash, d) == 0) rc = 0;
    if (rc == 0 && !o->quiet)
      fprintf(stderr, "effc: %s: %s: flash constants %" PRIu64 " bytes, arena %" PRIu64
              " bytes (activations %" PRIu64 ", column buffer %" PRIu64 ")\n",
              o->prefix, t->name, mm.flash, arena, act, arena - act);
  }
  be_mcu_free(&mm);
  be_signature_free(&sig);
  return rc;
}
