/* k_qlinear.c - the com.microsoft quantized operators as ONNX Runtime defines them
 * (QLinearAdd, QLinearMul, QLinearGlobalAveragePool, QLinearConcat, QGemm) on the shared
 * exact kernels (kern/qlinear.c, kern/qgemm.c), so the C backends reproduce every output
 * bit for bit. Scales are float32 scalars (QGemm's b_scale also per column); zero points
 * 8-bit scalars of the data's type (absent: 0). */
#include "kern.h"
#include "runtime.h"

#include <stdlib.h>
#include <string.h>

static int qt(ElemType e) {
  return e == ELEM_UINT8 ? EFFC_Q_U8 : e == ELEM_INT8 ? EFFC_Q_S8 : -1;
}

static bool is_q8(const RtValue *v) {
  return v && v->kind == TYPE_TENSOR && qt(v->elem) >= 0;
}

/* A float32 scale of one value (or `n` values when n > 1). */
static bool scale_ok(const RtValue *v, uint64_t n) {
  return v && v->kind == TYPE_TENSOR && v->elem == ELEM_FLOAT && (v->numel == 1 || v->numel == n);
}

static float scale_at(const RtValue *v, uint64_t i) {
  return ((const float *)v->data)[v->numel == 1 ? 0 : i];
}

/* The zero point of data of type t: absent gives 0; else one value (or n) of type t. */
static bool zp_ok(const RtValue *z, ElemType t, uint64_t n) {
  return !z || (z->kind == TYPE_TENSOR && z->elem == t && (z->numel == 1 || z->numel == n));
}

static int32_t zp_at(const RtValue *z, uint64_t i) {
  if (!z) return 0;
  uint64_t k = z->numel == 1 ? 0 : i;
  return z->elem == ELEM_UINT8 ? ((const uint8_t *)z->data)[k] : ((const int8_t *)z->data)[k];
}

static RtValue *in_at(RtCtx *c, int i) {
  return i < c->n_in ? c->in[i] : NULL;
}

/* ------------------------------------------------------------------ QLinearAdd / QLinearMul */

static int qbinary(RtCtx *c, int op) {
  RtValue *a = in_at(c, 0), *as = in_at(c, 1), *az = in_at(c, 2), *b = in_at(c, 3), *bs = in_at(c, 4),
          *bz = in_at(c, 5), *ys = in_at(c, 6), *yz = in_at(c, 7);
  if (!is_q8(a) || !is_q8(b) || a->elem != b->elem) return rt_error(c, "A and B must both be uint8 or both int8");
  if (!scale_ok(as, 1) || !scale_ok(bs, 1) || !scale_ok(ys, 1)) return rt_error(c, "scales must be float32 scalars");
  if (!zp_ok(az, a->elem, 1) || !zp_ok(bz, a->elem, 1) || !zp_ok(yz, a->elem, 1))
    return rt_error(c, "zero points must be scalars of A's type");
  RtValue *ins[2] = {a, b};
  RtBcast bc;
  if (!rt_bcast_init(c, &bc, 2, ins)) return -1;
  if (bc.rank > EFFC_QBIN_MAXR) return rt_error(c, "rank %d above %d", bc.rank, EFFC_QBIN_MAXR);
  RtValue *y = rt_out(c, 0, a->elem, bc.rank, bc.dims);
  if (!y) return -1;
  EffcQbin p;
  memset(&p, 0, sizeof p);
  p.op = op, p.rank = bc.rank;
  for (int k = 0; k < bc.rank; k++) p.dims[k] = bc.dims[k], p.sa[k] = bc.strides[0][k], p.sb[k] = bc.strides[1][k];
  p.a = a->data, p.b = b->data, p.y = y->data;
  p.a_type = p.b_type = p.y_type = qt(a->elem);
  p.za = zp_at(az, 0), p.zb = zp_at(bz, 0), p.zy = zp_at(yz, 0);
  float sa = scale_at(as, 0), sb = scale_at(bs, 0), sy = scale_at(ys, 0);
  p.ma = op == EFFC_QBIN_MUL ? effc_qmult_f32(sa, sb, sy) : effc_qratio_f32(sa, sy);
  p.mb = effc_qratio_f32(sb, sy);
  effc_qbinary(&p, 0, (int64_t)y->numel);
  return 0;
}

int rt_k_ms_QLinearAdd(RtCtx *c) { return qbinary(c, EFFC_QBIN_ADD); }
int rt_k_ms_QLinearMul(RtCtx *c) { return qbinary(c, EFFC_QBIN_MUL); }

/* ------------------------------------------------------------------ QLinearGlobalAveragePool */

int rt_k_ms_QLinearGlobalAveragePool(RtCtx *c) {
  RtValue *x = in_at(c, 0), *xs = in_at(c, 1), *xz = in_at(c, 2), *ys = in_at(c, 3), *yz = in_at(c, 4);
  if (!is_q8(x) || x->rank < 3) return rt_error(c, "X must be a uint8 or int8 tensor of rank >= 3");
  if (!scale_ok(xs, 1) || !scale_ok(ys, 1)) return rt_error(c, "scales must be float32 scalars");
  if (!zp_ok(xz, x->elem, 1) || !zp_ok(yz, x->elem, 1)) return rt_error(c, "zero points must be scalars of X's type");
  bool last = rt_attr_int(c, "channels_last", 0) != 0;
  int64_t N = x->dims[0], C = x->dims[last ? x->rank - 1 : 1], NC = N * C, dims[RT_MAX_RANK];
  int64_t n = NC ? (int64_t)x->numel / NC : 0;
  for (int i = 0; i < x->rank; i++) dims[i] = i == 0 || i == (last ? x->rank - 1 : 1) ? x->dims[i] : 1;
  RtValue *y = rt_out(c, 0, x->elem, x->rank, dims);
  if (!y) return -1;
  if (!n && NC) return rt_error(c, "empty spatial dimensions");
  double mult = effc_qgap_mult_f32(scale_at(xs, 0), scale_at(ys, 0), n);
  effc_qgavgpool(x->data, qt(x->elem), N, C, n, last, zp_at(xz, 0), mult, zp_at(yz, 0), qt(x->elem),
                 y->data, 0, NC);
  return 0;
}

/* ------------------------------------------------------------------ QLinearConcat */

int rt_k_ms_QLinearConcat(RtCtx *c) {
  RtValue *ys = in_at(c, 0), *yz = in_at(c, 1);
  if ((c->n_in - 2) % 3 || c->n_in < 5) return rt_error(c, "expected Y_scale, Y_zero_point, then (X, scale, zero point) triples");
  if (!scale_ok(ys, 1) || !is_q8(yz) || yz->numel != 1)
    return rt_error(c, "Y_scale must be a float32 scalar and Y_zero_point an 8-bit scalar");
  RtValue *f = in_at(c, 2);
  if (!is_q8(f)) return rt_error(c, "inputs must be uint8 or int8 tensors");
  int r = f->rank, ax;
  if (!rt_axis(c, rt_attr_int(c, "axis", 0), r, &ax)) return -1;
  int64_t dims[RT_MAX_RANK], outer = 1, tot = 0, inner = 1;
  memcpy(dims, f->dims, sizeof dims);
  for (int k = 0; k < ax; k++) outer *= f->dims[k];
  for (int k = ax + 1; k < r; k++) inner *= f->dims[k];
  for (int i = 2; i < c->n_in; i += 3) {
    RtValue *x = in_at(c, i);
    if (!is_q8(x) || x->rank != r) return rt_error(c, "input %d must be an 8-bit tensor of rank %d", i, r);
    for (int k = 0; k < r; k++)
      if (k != ax && x->dims[k] != f->dims[k]) return rt_error(c, "input %d differs off the axis", i);
    if (!scale_ok(in_at(c, i + 1), 1) || !zp_ok(in_at(c, i + 2), x->elem, 1))
      return rt_error(c, "input %d: scale must be a float32 scalar, zero point a scalar of its type", i);
    tot += x->dims[ax];
  }
  dims[ax] = tot;
  RtValue *y = rt_out(c, 0, yz->elem, r, dims);
  if (!y) return -1;
  int64_t off = 0;
  for (int i = 2; i < c->n_in; i += 3) {
    RtValue *x = in_at(c, i);
    int64_t len = x->dims[ax] * inner;
    double mult = effc_qratio_f32(scale_at(in_at(c, i + 1), 0), scale_at(ys, 0));
    effc_qconcat_part(x->data, qt(x->elem), len, zp_at(in_at(c, i + 2), 0), mult, y->data, qt(yz->elem),
                      tot * inner, off, zp_at(yz, 0), 0, outer);
    off += len;
  }
  return 0;
}

/* ------------------------------------------------------------------ QGemm */

/* acc = (A - za) (B - zb) + C in wrapping int32, then requantized with alpha * a_scale *
 * b_scale[n] / y_scale, or (without y_scale) float32 acc * (alpha * a_scale * b_scale[n]). */
int rt_k_ms_QGemm(RtCtx *c) {
  RtValue *a = in_at(c, 0), *as = in_at(c, 1), *az = in_at(c, 2), *b = in_at(c, 3), *bs = in_at(c, 4),
          *bz = in_at(c, 5), *cc = in_at(c, 6), *ys = in_at(c, 7), *yz = in_at(c, 8);
  if (!is_q8(a) || !is_q8(b) || a->rank != 2 || b->rank != 2) return rt_error(c, "A and B must be 8-bit matrices");
  bool ta = rt_attr_int(c, "transA", 0) != 0, tb = rt_attr_int(c, "transB", 0) != 0;
  int64_t M = a->dims[ta ? 1 : 0], K = a->dims[ta ? 0 : 1], N = b->dims[tb ? 0 : 1];
  if (b->dims[tb ? 1 : 0] != K) return rt_error(c, "inner dimensions differ (%lld vs %lld)", (long long)K, (long long)b->dims[tb ? 1 : 0]);
  if (!scale_ok(as, 1) || !scale_ok(bs, (uint64_t)N) || (ys && !scale_ok(ys, 1)))
    return rt_error(c, "a_scale and y_scale must be float32 scalars, b_scale a scalar or [N]");
  if (!zp_ok(az, a->elem, 1) || !zp_ok(bz, b->elem, (uint64_t)N) || (yz && (!is_q8(yz) || yz->numel != 1)))
    return rt_error(c, "zero point type or size mismatch");
  if (!ys && yz) return rt_error(c, "y_zero_point without y_scale");
  int64_t cs_r = 0, cs_c = 0;
  if (cc) {
    if (cc->kind != TYPE_TENSOR || cc->elem != ELEM_INT32 || cc->rank > 2) return rt_error(c, "C must be int32 of rank <= 2");
    int64_t r0 = cc->rank == 2 ? cc->dims[0] : 1, r1 = cc->rank ? cc->dims[cc->rank - 1] : 1;
    if ((r0 != 1 && r0 != M) || (r1 != 1 && r1 != N)) return rt_error(c, "C does not broadcast to [%lld, %lld]", (long long)M, (long long)N);
    cs_r = r0 == 1 ? 0 : r1, cs_c = r1 == 1 ? 0 : 1;
  }
  ElemType ot = !ys ? ELEM_FLOAT : yz ? yz->elem : ELEM_UINT8;
  int64_t od[2] = {M, N};
  RtValue *y = rt_out(c, 0, ot, 2, od);
  if (!y) return -1;
  int32_t *acc = malloc(sizeof(int32_t) * (size_t)(M * N + 1)), *zb = malloc(sizeof(int32_t) * (size_t)(N + 1));
  void *bp = malloc(effc_qgemm_packb_size(K, N));
  double *mult = malloc(sizeof(double) * (size_t)(N + 1));
  int isa = effc_host_isa();
  EffcQgemm q;
  memset(&q, 0, sizeof q);
  q.M = M, q.N = N, q.K = K, q.a = a->data, q.a_signed = a->elem == ELEM_INT8;
  q.a_rs = ta ? 1 : K, q.a_cs = ta ? M : 1;
  int32_t za = zp_at(az, 0);
  q.za = &za, q.bp = bp, q.y = acc, q.y_rs = N, q.y_cs = 1, q.y_type = EFFC_Q_I32;
  void *scr = malloc(effc_qgemm_scratch(isa, &q, 1) + 1);
  if (!acc || !zb || !bp || !mult || !scr) {
    free(acc), free(zb), free(bp), free(mult), free(scr);
    return rt_error(c, "out of memory");
  }
  for (int64_t n = 0; n < N; n++) zb[n] = zp_at(bz, (uint64_t)n);
  effc_qgemm_packb(K, N, b->data, b->elem == ELEM_INT8, tb ? 1 : N, tb ? K : 1, zb, 1, bp);
  effc_qgemm(isa, &q, scr, 0, 1);
  const int32_t *cv = cc ? cc->data : NULL;
  float alpha = rt_attr_float(c, "alpha", 1.0f), sa = alpha * scale_at(as, 0);
  for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; cv && n < N; n++)
      acc[m * N + n] = (int32_t)((uint32_t)acc[m * N + n] + (uint32_t)cv[m * cs_r + n * cs_c]);
  for (int64_t n = 0; n < N; n++)
    mult[n] = ys ? (double)effc_qmult_f32(sa, scale_at(bs, (uint64_t)n), scale_at(ys, 0))
                 : (double)(sa * scale_at(bs, (uint64_t)n));
  for (int64_t m = 0; m < M; m++) {
    if (ys)
      effc_qrequant(isa, acc + m * N, N, mult, 1, zp_at(yz, 0), qt(ot), (uint8_t *)y->data + m * N);
    else
      for (int64_t n = 0; n < N; n++) ((float *)y->data)[m * N + n] = (float)acc[m * N + n] * (float)mult[n];
  }
  free(acc), free(zb), free(bp), free(mult), free(scr);
  return 0;
}
