/* infer.c - type and shape inference rules named in ops.def's INFER column. Each rule
 * reads the input types (and constant inputs) and writes the output types; rules report
 * contradictions through the Diag at the node's location. ir_infer_model runs them over a
 * whole model in topological order, without recursion. */
#include "ir.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAXR 64 /* ranks above this are left unknown */

/* ------------------------------------------------------------------ helpers */

static int nin(const InferCtx *c) {
  return c->node->n_inputs;
}

/* Input i as a tensor type (NULL if missing, unknown or not a tensor). */
static const Type *tin(const InferCtx *c, int i) {
  if (i < 0 || i >= nin(c) || !c->in[i] || c->in[i]->kind != TYPE_TENSOR) return NULL;
  return c->in[i];
}
static ElemType ein(const InferCtx *c, int i) {
  const Type *t = tin(c, i);
  return t ? t->elem : ELEM_UNDEFINED;
}
static const Type *shaped(const InferCtx *c, int i) {
  const Type *t = tin(c, i);
  return t && t->rank >= 0 && t->rank <= MAXR ? t : NULL;
}
static bool known(const Dim *d) {
  return d->value >= 0 && !d->param;
}
static Dim dim_of(int64_t v) {
  Dim d = {v, NULL, NULL};
  return d;
}
static Dim dim_unknown(void) {
  return dim_of(-1);
}

static Type *mk(InferCtx *c, ElemType e, int rank, const Dim *dims) {
  Type *t = ir_type_tensor(c->a, e, rank, NULL);
  for (int i = 0; i < rank && dims; i++) {
    t->dims[i].value = dims[i].param ? -1 : dims[i].value;
    t->dims[i].param = dims[i].param;
  }
  return t;
}
static void set_out(InferCtx *c, int i, Type *t) {
  if (i < c->node->n_outputs && c->node->outputs[i]) c->out[i] = t;
}
/* Output i: element type e, the shape of input j (rank unknown when unknown). */
static void out_like(InferCtx *c, int i, ElemType e, int j) {
  const Type *t = shaped(c, j);
  set_out(c, i, t ? mk(c, e, t->rank, t->dims) : mk(c, e, -1, NULL));
}

static const char *opname(const InferCtx *c) {
  return c->op ? c->op->name : c->node->op_type;
}
static bool is(const InferCtx *c, const char *family) {
  return c->op && c->op->family && !strcmp(c->op->family, family);
}

static int fail(InferCtx *c, const char *fmt, const char *a, long long x, long long y) {
  char msg[256];
  snprintf(msg, sizeof msg, fmt, a, x, y);
  ir_error(c->d, c->node->loc, "%s: %s", opname(c), msg);
  return -1;
}

/* Constant input i as int64s (int32/int64 data, any rank); false if not constant. */
static bool const_ints(const InferCtx *c, int i, int64_t *out, size_t max, size_t *n) {
  if (i < 0 || i >= nin(c) || !c->in_data || !c->in_data[i]) return false;
  const Tensor *t = c->in_data[i];
  if (!t->has_data || (t->elem != ELEM_INT64 && t->elem != ELEM_INT32)) return false;
  uint64_t cnt;
  if (!ir_tensor_numel(t, &cnt) || cnt > max) return false;
  for (uint64_t k = 0; k < cnt; k++)
    out[k] = t->elem == ELEM_INT64 ? ((const int64_t *)t->data)[k] : ((const int32_t *)t->data)[k];
  *n = (size_t)cnt;
  return true;
}
static bool const_floats(const InferCtx *c, int i, double *out, size_t max, size_t *n) {
  if (i < 0 || i >= nin(c) || !c->in_data || !c->in_data[i]) return false;
  const Tensor *t = c->in_data[i];
  uint64_t cnt;
  if (!t->has_data || !ir_elem(t->elem)->is_float || !ir_tensor_numel(t, &cnt) || cnt > max)
    return false;
  for (uint64_t k = 0; k < cnt; k++) out[k] = ir_elem(t->elem)->to_f64(t->data, k);
  *n = (size_t)cnt;
  return true;
}
/* Ints from attribute `name` (true when present). */
static bool attr_ints(const InferCtx *c, const char *name, int64_t *out, size_t max, size_t *n) {
  size_t cnt;
  const int64_t *v = ir_attr_ints(c->node, name, &cnt);
  if (!v || cnt > max) return false;
  memcpy(out, v, cnt * sizeof *v);
  *n = cnt;
  return true;
}
static bool norm_axis(int64_t *ax, int rank) {
  if (*ax < -rank || *ax >= rank) return false;
  if (*ax < 0) *ax += rank;
  return true;
}
/* Input i's 1-D length when its shape is [k] with k known; -1 else. */
static int64_t len1(const InferCtx *c, int i) {
  const Type *t = shaped(c, i);
  if (!t) return -1;
  if (t->rank == 0) return 1;
  return t->rank == 1 && known(&t->dims[0]) ? t->dims[0].value : -1;
}

/* Numpy broadcasting of two dims. Returns false on a contradiction. */
static bool bcast_dim(Dim a, Dim b, Dim *out) {
  if (known(&a) && a.value == 1) return *out = b, true;
  if (known(&b) && b.value == 1) return *out = a, true;
  if (known(&a) && known(&b)) {
    if (a.value != b.value) return false;
    return *out = a, true;
  }
  if (known(&a)) return *out = a, true; /* b symbolic/unknown must be a or 1 */
  if (known(&b)) return *out = b, true;
  if (a.param && b.param && !strcmp(a.param, b.param)) return *out = a, true;
  return *out = dim_unknown(), true;
}

/* Broadcast the shapes of inputs [first, last]; rank -1 if any is unknown. */
static int bcast_inputs(InferCtx *c, int first, int last, Dim *out, int *rank) {
  *rank = 0;
  for (int i = first; i <= last && i < nin(c); i++) {
    if (!c->node->inputs[i]) continue;
    const Type *t = shaped(c, i);
    if (!t) {
      *rank = -1;
      return 0;
    }
    int r = t->rank > *rank ? t->rank : *rank;
    Dim res[MAXR];
    for (int k = 0; k < r; k++) {
      int ka = k - (r - *rank), kb = k - (r - t->rank);
      Dim a = ka >= 0 ? out[ka] : dim_of(1), b = kb >= 0 ? t->dims[kb] : dim_of(1);
      if (!bcast_dim(a, b, &res[k]))
        return fail(c, "input shapes do not broadcast (%s%lld vs %lld)", "", (long long)a.value,
                    (long long)b.value);
    }
    memcpy(out, res, (size_t)r * sizeof *out);
    *rank = r;
  }
  return 0;
}

/* ------------------------------------------------------------------ rules */

/* `none`: outputs keep whatever type the graph declares. */
int ir_infer_none(InferCtx *c) {
  (void)c;
  return 0;
}

/* Same type and shape as input 0 (unary elementwise, activations, softmax family...). */
int ir_infer_same(InferCtx *c) {
  out_like(c, 0, ein(c, 0), 0);
  return 0;
}

/* IsInf, IsNaN: bool of input 0's shape. */
int ir_infer_same_bool(InferCtx *c) {
  out_like(c, 0, ELEM_BOOL, 0);
  return 0;
}

/* Identity and Dropout (the mask is bool of the same shape). */
int ir_infer_identity(InferCtx *c) {
  const Type *t = tin(c, 0);
  if (t && t->kind == TYPE_TENSOR)
    out_like(c, 0, t->elem, 0);
  else if (c->in[0] && nin(c) > 0)
    set_out(c, 0, (Type *)c->in[0]);
  if (is(c, "Dropout")) out_like(c, 1, ELEM_BOOL, 0);
  return 0;
}

static int bcast_common(InferCtx *c, ElemType e, int first) {
  Dim d[MAXR];
  int r;
  if (bcast_inputs(c, first, nin(c) - 1, d, &r)) return -1;
  set_out(c, 0, mk(c, e, r, d));
  return 0;
}
int ir_infer_bcast(InferCtx *c) {
  /* opset < 7 arithmetic with broadcast=1 and axis uses limited broadcasting */
  if (ir_attr_int(c->node, "broadcast", 0) && ir_node_attr(c->node, "axis")) {
    out_like(c, 0, ein(c, 0), 0);
    return 0;
  }
  return bcast_common(c, ein(c, 0), 0);
}
int ir_infer_bcast_bool(InferCtx *c) {
  if (ir_attr_int(c->node, "broadcast", 0) && ir_node_attr(c->node, "axis")) {
    out_like(c, 0, ELEM_BOOL, 0);
    return 0;
  }
  return bcast_common(c, ELEM_BOOL, 0);
}
int ir_infer_where(InferCtx *c) {
  Dim d[MAXR];
  int r;
  if (bcast_inputs(c, 0, 2, d, &r)) return -1;
  set_out(c, 0, mk(c, ein(c, 1), r, d));
  return 0;
}

int ir_infer_cast(InferCtx *c) {
  ElemType e = ELEM_UNDEFINED;
  if (is(c, "CastLike"))
    e = ein(c, 1);
  else {
    int64_t to = ir_attr_int(c->node, "to", 0);
    if (ir_elem_valid((int)to)) e = (ElemType)to;
  }
  out_like(c, 0, e, 0);
  return 0;
}

/* Spatial output size of a conv/pool window. */
static Dim window(Dim in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe,
                  const char *autopad, bool ceil_mode) {
  if (!known(&in) || s <= 0) return dim_unknown();
  int64_t ek = (k - 1) * d + 1;
  if (!strcmp(autopad, "SAME_UPPER") || !strcmp(autopad, "SAME_LOWER"))
    return dim_of((in.value + s - 1) / s);
  if (!strcmp(autopad, "VALID")) {
    int64_t n = in.value - ek + 1;
    return dim_of(n <= 0 ? 0 : (n + s - 1) / s);
  }
  int64_t span = in.value + pb + pe - ek;
  if (span < 0) return dim_of(0);
  int64_t o = ceil_mode ? (span + s - 1) / s + 1 : span / s + 1;
  /* ceil mode: the last window must start inside the input or its begin padding */
  if (ceil_mode && (o - 1) * s >= in.value + pb) o--;
  return dim_of(o);
}

typedef struct WinAttrs {
  int64_t k[MAXR], s[MAXR], d[MAXR], p[2 * MAXR];
  const char *autopad;
  bool have_k;
} WinAttrs;

static void win_attrs(const InferCtx *c, int sp, WinAttrs *w) {
  size_t n;
  w->have_k = attr_ints(c, "kernel_shape", w->k, MAXR, &n) && (int)n == sp;
  if (!(attr_ints(c, "strides", w->s, MAXR, &n) && (int)n == sp))
    for (int i = 0; i < sp; i++) w->s[i] = 1;
  if (!(attr_ints(c, "dilations", w->d, MAXR, &n) && (int)n == sp))
    for (int i = 0; i < sp; i++) w->d[i] = 1;
  if (!(attr_ints(c, "pads", w->p, 2 * MAXR, &n) && (int)n == 2 * sp))
    for (int i = 0; i < 2 * sp; i++) w->p[i] = 0;
  w->autopad = ir_attr_string(c->node, "auto_pad", "NOTSET");
}

/* Conv, ConvInteger, QLinearConv, DeformConv: X [N, C, D1...], W [M, C/group, k1...]. */
int ir_infer_conv(InferCtx *c) {
  bool ql = is(c, "QLinearConv");
  int xi = 0, wi = ql ? 3 : 1;
  ElemType e = is(c, "ConvInteger") ? ELEM_INT32
               : ql                 ? (ein(c, 7) ? ein(c, 7) : ein(c, 0))
                                    : ein(c, 0);
  const Type *x = shaped(c, xi), *w = shaped(c, wi);
  if (!x) {
    set_out(c, 0, mk(c, e, -1, NULL));
    return 0;
  }
  int r = x->rank, sp = r - 2;
  if (sp < 1) return fail(c, "input has rank %s%lld, needs at least 3", "", r, 0);
  if (w && w->rank != r) return fail(c, "weights have rank %s%lld, input %lld", "", w->rank, r);
  WinAttrs wa;
  win_attrs(c, sp, &wa);
  Dim o[MAXR];
  o[0] = x->dims[0];
  o[1] = w ? w->dims[0] : dim_unknown();
  bool all_k = true;
  for (int i = 0; i < sp; i++) {
    int64_t k = wa.have_k ? wa.k[i] : (w && known(&w->dims[2 + i]) ? w->dims[2 + i].value : -1);
    if (k < 0) {
      o[2 + i] = dim_unknown();
      all_k = false;
      continue;
    }
    wa.k[i] = k;
    o[2 + i] =
        window(x->dims[2 + i], k, wa.s[i], wa.d[i], wa.p[i], wa.p[i + sp], wa.autopad, false);
  }
  int64_t group = ir_attr_int(c->node, "group", 1);
  if (w && known(&x->dims[1]) && known(&w->dims[1]) && group > 0 &&
      x->dims[1].value != w->dims[1].value * group)
    return fail(c, "input has %s%lld channels, weights expect %lld", "", x->dims[1].value,
                w->dims[1].value * group);
  set_out(c, 0, mk(c, e, r, o));
  /* MACs: N * M * prod(out spatial) * (C/group) * prod(kernel) */
  uint64_t macs = 1;
  bool ok = all_k && w && known(&w->dims[1]);
  for (int i = 0; i < r && ok; i++) ok = known(&o[i]);
  if (ok) {
    for (int i = 0; i < r; i++) macs *= (uint64_t)o[i].value;
    macs *= (uint64_t)w->dims[1].value;
    for (int i = 0; i < sp; i++) macs *= (uint64_t)wa.k[i];
    c->macs = macs;
  }
  return 0;
}

/* ConvTranspose: X [N, C, D...], W [C, M/group, k...]. */
int ir_infer_conv_transpose(InferCtx *c) {
  const Type *x = shaped(c, 0), *w = shaped(c, 1);
  ElemType e = ein(c, 0);
  if (!x) {
    set_out(c, 0, mk(c, e, -1, NULL));
    return 0;
  }
  int r = x->rank, sp = r - 2;
  if (sp < 1) return fail(c, "input has rank %s%lld, needs at least 3", "", r, 0);
  WinAttrs wa;
  win_attrs(c, sp, &wa);
  int64_t group = ir_attr_int(c->node, "group", 1), op[MAXR], os[MAXR];
  size_t n;
  if (!(attr_ints(c, "output_padding", op, MAXR, &n) && (int)n == sp))
    for (int i = 0; i < sp; i++) op[i] = 0;
  bool have_os = attr_ints(c, "output_shape", os, MAXR, &n);
  int osoff = have_os ? (int)n - sp : 0; /* output_shape may list N and C too */
  Dim o[MAXR];
  o[0] = x->dims[0];
  o[1] = w && known(&w->dims[1]) ? dim_of(w->dims[1].value * group) : dim_unknown();
  bool all_k = true;
  for (int i = 0; i < sp; i++) {
    int64_t k = wa.have_k ? wa.k[i] : (w && known(&w->dims[2 + i]) ? w->dims[2 + i].value : -1);
    wa.k[i] = k;
    if (k < 0) all_k = false;
    if (have_os && osoff >= 0) {
      o[2 + i] = dim_of(os[osoff + i]);
      continue;
    }
    Dim in = x->dims[2 + i];
    if (!known(&in) || k < 0) {
      o[2 + i] = dim_unknown();
      continue;
    }
    if (!strcmp(wa.autopad, "SAME_UPPER") || !strcmp(wa.autopad, "SAME_LOWER"))
      o[2 + i] = dim_of(in.value * wa.s[i]);
    else {
      int64_t pb = wa.p[i], pe = wa.p[i + sp];
      if (!strcmp(wa.autopad, "VALID")) pb = pe = 0;
      o[2 + i] = dim_of(wa.s[i] * (in.value - 1) + op[i] + (k - 1) * wa.d[i] + 1 - pb - pe);
    }
  }
  set_out(c, 0, mk(c, e, r, o));
  /* MACs: every input element meets M/group * prod(kernel) weights */
  bool ok = all_k && w && known(&w->dims[1]);
  for (int i = 0; i < r && ok; i++) ok = known(&x->dims[i]);
  if (ok) {
    uint64_t macs = (uint64_t)w->dims[1].value;
    for (int i = 0; i < r; i++) macs *= (uint64_t)x->dims[i].value;
    for (int i = 0; i < sp; i++) macs *= (uint64_t)wa.k[i];
    c->macs = macs;
  }
  return 0;
}

/* MaxPool, AveragePool, LpPool (MaxPool's second output: int64 indices). */
int ir_infer_pool(InferCtx *c) {
  const Type *x = shaped(c, 0);
  ElemType e = ein(c, 0);
  if (!x || x->rank < 3) {
    set_out(c, 0, mk(c, e, -1, NULL));
    set_out(c, 1, mk(c, ELEM_INT64, -1, NULL));
    return 0;
  }
  int r = x->rank, sp = r - 2;
  WinAttrs wa;
  win_attrs(c, sp, &wa);
  bool ceil_mode = ir_attr_int(c->node, "ceil_mode", 0) != 0;
  Dim o[MAXR];
  o[0] = x->dims[0];
  o[1] = x->dims[1];
  for (int i = 0; i < sp; i++)
    o[2 + i] = wa.have_k ? window(x->dims[2 + i], wa.k[i], wa.s[i], wa.d[i], wa.p[i], wa.p[i + sp],
                                  wa.autopad, ceil_mode)
                         : dim_unknown();
  set_out(c, 0, mk(c, e, r, o));
  set_out(c, 1, mk(c, ELEM_INT64, r, o));
  return 0;
}

int ir_infer_global_pool(InferCtx *c) {
  const Type *x = shaped(c, 0);
  if (!x || x->rank < 2) {
    out_like(c, 0, ein(c, 0), -1);
    return 0;
  }
  Dim o[MAXR];
  for (int i = 0; i < x->rank; i++) o[i] = i < 2 ? x->dims[i] : dim_of(1);
  set_out(c, 0, mk(c, ein(c, 0), x->rank, o));
  return 0;
}

int ir_infer_gemm(InferCtx *c) {
  const Type *a = shaped(c, 0), *b = shaped(c, 1);
  bool ta = ir_attr_int(c->node, "transA", 0), tb = ir_attr_int(c->node, "transB", 0);
  Dim o[2] = {dim_unknown(), dim_unknown()};
  Dim k1 = dim_unknown(), k2 = dim_unknown();
  if (a && a->rank == 2) {
    o[0] = a->dims[ta ? 1 : 0];
    k1 = a->dims[ta ? 0 : 1];
  }
  if (b && b->rank == 2) {
    o[1] = b->dims[tb ? 0 : 1];
    k2 = b->dims[tb ? 1 : 0];
  }
  if (known(&k1) && known(&k2) && k1.value != k2.value)
    return fail(c, "inner dimensions differ (%s%lld vs %lld)", "", k1.value, k2.value);
  set_out(c, 0, mk(c, ein(c, 0), 2, o));
  Dim k = known(&k1) ? k1 : k2;
  if (known(&o[0]) && known(&o[1]) && known(&k))
    c->macs = (uint64_t)o[0].value * (uint64_t)o[1].value * (uint64_t)k.value;
  return 0;
}

/* MatMul, MatMulInteger, QLinearMatMul: numpy matmul with batch broadcasting. */
int ir_infer_matmul(InferCtx *c) {
  bool ql = is(c, "QLinearMatMul");
  int ai = 0, bi = ql ? 3 : 1;
  ElemType e = is(c, "MatMulInteger") ? ELEM_INT32
               : ql                   ? (ein(c, 7) ? ein(c, 7) : ein(c, 0))
                                      : ein(c, 0);
  const Type *a = shaped(c, ai), *b = shaped(c, bi);
  if (!a || !b || a->rank == 0 || b->rank == 0) {
    set_out(c, 0, mk(c, e, -1, NULL));
    return 0;
  }
  Dim ad[MAXR + 1], bd[MAXR + 1];
  int ar = a->rank, br = b->rank;
  memcpy(ad, a->dims, (size_t)ar * sizeof *ad);
  memcpy(bd, b->dims, (size_t)br * sizeof *bd);
  bool a1 = ar == 1, b1 = br == 1;
  if (a1) { /* [K] -> [1, K] */
    ad[1] = ad[0];
    ad[0] = dim_of(1);
    ar = 2;
  }
  if (b1) { /* [K] -> [K, 1] */
    bd[1] = dim_of(1);
    br = 2;
  }
  Dim ka = ad[ar - 1], kb = bd[br - 2];
  if (known(&ka) && known(&kb) && ka.value != kb.value)
    return fail(c, "inner dimensions differ (%s%lld vs %lld)", "", ka.value, kb.value);
  int nb = (ar > br ? ar : br) - 2;
  Dim o[MAXR + 2];
  for (int i = 0; i < nb; i++) {
    int ia = i - (nb - (ar - 2)), ib = i - (nb - (br - 2));
    Dim x = ia >= 0 ? ad[ia] : dim_of(1), y = ib >= 0 ? bd[ib] : dim_of(1);
    if (!bcast_dim(x, y, &o[i]))
      return fail(c, "batch dimensions do not broadcast (%s%lld vs %lld)", "", x.value, y.value);
  }
  int r = nb;
  if (!a1) o[r++] = ad[ar - 2];
  if (!b1) o[r++] = bd[br - 1];
  set_out(c, 0, mk(c, e, r, o));
  uint64_t macs = 1;
  bool ok = known(&ka) || known(&kb);
  for (int i = 0; i < r && ok; i++) ok = known(&o[i]);
  if (ok) {
    for (int i = 0; i < r; i++) macs *= (uint64_t)o[i].value;
    c->macs = macs * (uint64_t)(known(&ka) ? ka.value : kb.value);
  }
  return 0;
}

/* com.microsoft MatMulNBits: Y = A[..., K] x dequantized B^T -> [..., N] (K, N attributes);
 * B must be [N, ceil(K / block_size), block_size * bits / 8]. */
int ir_infer_matmul_nbits(InferCtx *c) {
  int64_t K = ir_attr_int(c->node, "K", -1), N = ir_attr_int(c->node, "N", -1);
  int64_t bits = ir_attr_int(c->node, "bits", 4), bs = ir_attr_int(c->node, "block_size", -1);
  if (K < 1 || N < 1 || (bits != 2 && bits != 4 && bits != 8) || bs < 16 || (bs & (bs - 1)))
    return fail(c, "needs K >= 1, N >= 1, bits 2, 4 or 8 and block_size a power of two >= 16"
                "%s (K %lld, N %lld)", "", (long long)K, (long long)N);
  const Type *a = shaped(c, 0), *b = shaped(c, 1);
  if (b && (b->rank != 3 || (known(&b->dims[0]) && b->dims[0].value != N) ||
            (known(&b->dims[1]) && b->dims[1].value != (K + bs - 1) / bs) ||
            (known(&b->dims[2]) && b->dims[2].value != bs * bits / 8)))
    return fail(c, "B must be uint8 [N, ceil(K / block_size), block_size * bits / 8]%s (N %lld, "
                "K %lld)", "", (long long)N, (long long)K);
  if (!a || a->rank == 0 || a->rank > MAXR) {
    set_out(c, 0, mk(c, ein(c, 0), -1, NULL));
    return 0;
  }
  if (known(&a->dims[a->rank - 1]) && a->dims[a->rank - 1].value != K)
    return fail(c, "A's last dimension is not K%s (%lld vs %lld)", "",
                (long long)a->dims[a->rank - 1].value, (long long)K);
  Dim o[MAXR];
  memcpy(o, a->dims, (size_t)a->rank * sizeof *o);
  o[a->rank - 1] = dim_of(N);
  set_out(c, 0, mk(c, ein(c, 0), a->rank, o));
  uint64_t rows = 1;
  bool ok = true;
  for (int i = 0; i + 1 < a->rank && ok; i++)
    if ((ok = known(&a->dims[i]))) rows *= (uint64_t)a->dims[i].value;
  if (ok) c->macs = rows * (uint64_t)N * (uint64_t)K;
  return 0;
}

/* BatchNormalization: Y like X; training outputs like the mean and var inputs. */
int ir_infer_batchnorm(InferCtx *c) {
  out_like(c, 0, ein(c, 0), 0);
  for (int i = 1; i < c->node->n_outputs && i < 5; i++) out_like(c, i, ein(c, 3), 3);
  return 0;
}

int ir_infer_layernorm(InferCtx *c) {
  out_like(c, 0, ein(c, 0), 0);
  const Type *x = shaped(c, 0);
  int64_t ax = ir_attr_int(c->node, "axis", -1);
  int64_t st = ir_attr_int(c->node, "stash_type", ELEM_FLOAT);
  ElemType se = ir_elem_valid((int)st) ? (ElemType)st : ELEM_FLOAT;
  if (x && norm_axis(&ax, x->rank)) {
    Dim o[MAXR];
    for (int i = 0; i < x->rank; i++) o[i] = i < ax ? x->dims[i] : dim_of(1);
    set_out(c, 1, mk(c, se, x->rank, o));
    set_out(c, 2, mk(c, se, x->rank, o));
  }
  return 0;
}

/* Reshape (shape as attribute before opset 5, else a constant input). */
int ir_infer_reshape(InferCtx *c) {
  const Type *x = shaped(c, 0);
  ElemType e = ein(c, 0);
  int64_t sh[MAXR];
  size_t n;
  bool have = c->op && c->op->since < 5 ? attr_ints(c, "shape", sh, MAXR, &n)
                                        : const_ints(c, 1, sh, MAXR, &n);
  if (!have) {
    int64_t l = len1(c, 1);
    set_out(c, 0, mk(c, e, l >= 0 && l <= MAXR ? (int)l : -1, NULL));
    return 0;
  }
  bool allowzero = ir_attr_int(c->node, "allowzero", 0) != 0;
  Dim o[MAXR];
  int neg = -1;
  for (size_t i = 0; i < n; i++) {
    if (sh[i] == 0 && !allowzero)
      o[i] = x && (int)i < x->rank ? x->dims[i] : dim_unknown();
    else if (sh[i] == -1) {
      if (neg >= 0) return fail(c, "more than one -1 in the shape%s", "", 0, 0);
      neg = (int)i;
      o[i] = dim_unknown();
    } else if (sh[i] < 0)
      return fail(c, "negative dimension %s%lld in the shape", "", sh[i], 0);
    else
      o[i] = dim_of(sh[i]);
  }
  uint64_t total;
  if (neg >= 0 && x && ir_type_numel(x, &total)) {
    uint64_t p = 1;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++)
      if ((int)i != neg) {
        ok = known(&o[i]);
        if (ok) p *= (uint64_t)o[i].value;
      }
    if (ok && p && total % p == 0) o[neg] = dim_of((int64_t)(total / p));
  } else if (neg >= 0 && x) {
    /* symbolic input dims copied by 0 cancel: [N,3,4] -> [0,-1] is [N,12] */
    uint64_t pin = 1, pout = 1;
    bool ok = true;
    for (int i = 0; i < x->rank && ok; i++) {
      bool copied = (size_t)i < n && sh[i] == 0 && !allowzero;
      if (copied) continue;
      ok = known(&x->dims[i]);
      if (ok) pin *= (uint64_t)x->dims[i].value;
    }
    for (size_t i = 0; i < n && ok; i++) {
      if ((int)i == neg || (sh[i] == 0 && !allowzero)) continue;
      ok = known(&o[i]);
      if (ok) pout *= (uint64_t)o[i].value;
    }
    if (ok && pout && pin % pout == 0) o[neg] = dim_of((int64_t)(pin / pout));
  } else if (neg < 0 && x) {
    uint64_t p = 1;
    bool ok = ir_type_numel(x, &total);
    for (size_t i = 0; i < n && ok; i++) {
      ok = known(&o[i]);
      if (ok) p *= (uint64_t)o[i].value;
    }
    if (ok && p != total)
      return fail(c, "cannot reshape %s%lld elements into %lld", "", (long long)total,
                  (long long)p);
  }
  set_out(c, 0, mk(c, e, (int)n, o));
  return 0;
}

int ir_infer_flatten(InferCtx *c) {
  const Type *x = shaped(c, 0);
  Dim o[2] = {dim_unknown(), dim_unknown()};
  int64_t ax = ir_attr_int(c->node, "axis", 1);
  if (x) {
    if (ax < 0) ax += x->rank;
    if (ax < 0 || ax > x->rank)
      return fail(c, "axis %s%lld out of range for rank %lld", "", ax, x->rank);
    int64_t p[2] = {1, 1};
    bool ok[2] = {true, true};
    for (int i = 0; i < x->rank; i++) {
      int s = i >= ax;
      if (known(&x->dims[i]))
        p[s] *= x->dims[i].value;
      else
        ok[s] = false;
    }
    for (int s = 0; s < 2; s++)
      if (ok[s]) o[s] = dim_of(p[s]);
    if (ax == 1 && x->rank >= 1) o[0] = x->dims[0];
    if (ax == x->rank - 1 && x->rank >= 1) o[1] = x->dims[x->rank - 1];
  }
  set_out(c, 0, mk(c, ein(c, 0), 2, o));
  return 0;
}

int ir_infer_transpose(InferCtx *c) {
  const Type *x = shaped(c, 0);
  if (!x) return out_like(c, 0, ein(c, 0), -1), 0;
  int64_t perm[MAXR];
  size_t n;
  if (!attr_ints(c, "perm", perm, MAXR, &n)) {
    n = (size_t)x->rank;
    for (size_t i = 0; i < n; i++) perm[i] = x->rank - 1 - (int64_t)i;
  }
  if ((int)n != x->rank)
    return fail(c, "perm has %s%lld entries for rank %lld", "", (long long)n, x->rank);
  Dim o[MAXR];
  for (size_t i = 0; i < n; i++) {
    int64_t p = perm[i];
    if (!norm_axis(&p, x->rank)) return fail(c, "perm entry %s%lld out of range", "", perm[i], 0);
    o[i] = x->dims[p];
  }
  set_out(c, 0, mk(c, ein(c, 0), x->rank, o));
  return 0;
}

int ir_infer_concat(InferCtx *c) {
  const Type *f = NULL;
  for (int i = 0; i < nin(c) && !f; i++) f = shaped(c, i);
  ElemType e = ein(c, 0);
  if (!f) return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  int r = f->rank;
  int64_t ax = ir_attr_int(c->node, "axis", 1); /* opset 1-3 default axis 1 */
  if (!norm_axis(&ax, r)) return fail(c, "axis %s%lld out of range for rank %lld", "", ax, r);
  Dim o[MAXR];
  memcpy(o, f->dims, (size_t)r * sizeof *o);
  int64_t sum = 0;
  bool sum_ok = true;
  for (int i = 0; i < nin(c); i++) {
    const Type *t = shaped(c, i);
    if (!t) {
      sum_ok = false;
      continue;
    }
    if (t->rank != r) return fail(c, "inputs have ranks %s%lld and %lld", "", r, t->rank);
    for (int k = 0; k < r; k++) {
      if (k == ax) continue;
      if (!known(&o[k]) && known(&t->dims[k]))
        o[k] = t->dims[k];
      else if (known(&o[k]) && known(&t->dims[k]) && o[k].value != t->dims[k].value)
        return fail(c, "input dimensions differ off the axis (%s%lld vs %lld)", "", o[k].value,
                    t->dims[k].value);
    }
    if (known(&t->dims[ax]))
      sum += t->dims[ax].value;
    else
      sum_ok = false;
  }
  o[ax] = sum_ok ? dim_of(sum) : dim_unknown();
  set_out(c, 0, mk(c, e, r, o));
  return 0;
}

/* Axes for Squeeze/Unsqueeze/Reduce: attribute before `since_input`, else input 1. */
static bool get_axes(const InferCtx *c, int since_input, int64_t *axes, size_t *n, bool *given) {
  *given = false;
  *n = 0;
  if (c->op && c->op->since < since_input) {
    *given = attr_ints(c, "axes", axes, MAXR, n);
    return true;
  }
  if (nin(c) < 2 || !c->node->inputs[1]) return true;
  *given = true;
  return const_ints(c, 1, axes, MAXR, n);
}

int ir_infer_squeeze(InferCtx *c) {
  const Type *x = shaped(c, 0);
  ElemType e = ein(c, 0);
  int64_t axes[MAXR];
  size_t n;
  bool given;
  if (!x || !get_axes(c, 13, axes, &n, &given)) return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  bool drop[MAXR] = {0};
  if (given) {
    for (size_t i = 0; i < n; i++) {
      int64_t a = axes[i];
      if (!norm_axis(&a, x->rank))
        return fail(c, "axis %s%lld out of range for rank %lld", "", axes[i], x->rank);
      if (known(&x->dims[a]) && x->dims[a].value != 1)
        return fail(c, "cannot squeeze axis %s%lld of size %lld", "", a, x->dims[a].value);
      drop[a] = true;
    }
  } else {
    for (int i = 0; i < x->rank; i++) {
      if (!known(&x->dims[i])) return set_out(c, 0, mk(c, e, -1, NULL)), 0;
      drop[i] = x->dims[i].value == 1;
    }
  }
  Dim o[MAXR];
  int r = 0;
  for (int i = 0; i < x->rank; i++)
    if (!drop[i]) o[r++] = x->dims[i];
  set_out(c, 0, mk(c, e, r, o));
  return 0;
}

int ir_infer_unsqueeze(InferCtx *c) {
  const Type *x = shaped(c, 0);
  ElemType e = ein(c, 0);
  int64_t axes[MAXR];
  size_t n;
  bool given;
  if (!x || !get_axes(c, 13, axes, &n, &given) || !given)
    return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  int r = x->rank + (int)n;
  if (r > MAXR) return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  bool ins[MAXR] = {0};
  for (size_t i = 0; i < n; i++) {
    int64_t a = axes[i];
    if (!norm_axis(&a, r) || ins[a]) return fail(c, "bad or repeated axis %s%lld", "", axes[i], 0);
    ins[a] = true;
  }
  Dim o[MAXR];
  for (int i = 0, k = 0; i < r; i++) o[i] = ins[i] ? dim_of(1) : x->dims[k++];
  set_out(c, 0, mk(c, e, r, o));
  return 0;
}

int ir_infer_slice(InferCtx *c) {
  const Type *x = shaped(c, 0);
  ElemType e = ein(c, 0);
  if (!x) return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  int64_t st[MAXR], en[MAXR], ax[MAXR], sp[MAXR];
  size_t ns, ne, na = 0, nsp = 0;
  bool ok;
  if (c->op && c->op->since < 10) {
    ok = attr_ints(c, "starts", st, MAXR, &ns) && attr_ints(c, "ends", en, MAXR, &ne);
    if (!attr_ints(c, "axes", ax, MAXR, &na)) na = 0;
  } else {
    ok = const_ints(c, 1, st, MAXR, &ns) && const_ints(c, 2, en, MAXR, &ne);
    if (ok && nin(c) > 3 && c->node->inputs[3]) ok = const_ints(c, 3, ax, MAXR, &na);
    if (ok && nin(c) > 4 && c->node->inputs[4]) ok = const_ints(c, 4, sp, MAXR, &nsp);
  }
  Dim o[MAXR];
  memcpy(o, x->dims, (size_t)x->rank * sizeof *o);
  if (!ok || ns != ne || (na && na != ns) || (nsp && nsp != ns)) {
    /* rank is kept; the sliced axes are unknown (all, when the axes are unknown) */
    if (ok && na == ns)
      for (size_t i = 0; i < na; i++) {
        int64_t a = ax[i];
        if (norm_axis(&a, x->rank)) o[a] = dim_unknown();
      }
    else
      for (int i = 0; i < x->rank; i++) o[i] = dim_unknown();
    set_out(c, 0, mk(c, e, x->rank, o));
    return 0;
  }
  for (size_t i = 0; i < ns; i++) {
    int64_t a = na ? ax[i] : (int64_t)i;
    if (!norm_axis(&a, x->rank))
      return fail(c, "axis %s%lld out of range for rank %lld", "", a, x->rank);
    int64_t step = nsp ? sp[i] : 1;
    if (step == 0) return fail(c, "step is zero%s", "", 0, 0);
    if (!known(&x->dims[a])) {
      o[a] = dim_unknown();
      continue;
    }
    int64_t d = x->dims[a].value, s = st[i], t = en[i];
    if (s < 0) s += d;
    if (t < 0) t += d;
    if (step > 0) {
      s = s < 0 ? 0 : s > d ? d : s;
      t = t < 0 ? 0 : t > d ? d : t;
      o[a] = dim_of(t > s ? (t - s + step - 1) / step : 0);
    } else {
      s = s < 0 ? -1 : s > d - 1 ? d - 1 : s;
      t = t < -1 ? -1 : t > d - 1 ? d - 1 : t;
      o[a] = dim_of(s > t ? (s - t + (-step) - 1) / (-step) : 0);
    }
  }
  set_out(c, 0, mk(c, e, x->rank, o));
  return 0;
}

int ir_infer_gather(InferCtx *c) {
  const Type *x = shaped(c, 0), *ix = shaped(c, 1);
  ElemType e = ein(c, 0);
  if (!x || !ix || x->rank + ix->rank - 1 > MAXR) return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  int64_t ax = ir_attr_int(c->node, "axis", 0);
  if (!norm_axis(&ax, x->rank))
    return fail(c, "axis %s%lld out of range for rank %lld", "", ax, x->rank);
  Dim o[MAXR];
  int r = 0;
  for (int i = 0; i < ax; i++) o[r++] = x->dims[i];
  for (int i = 0; i < ix->rank; i++) o[r++] = ix->dims[i];
  for (int i = (int)ax + 1; i < x->rank; i++) o[r++] = x->dims[i];
  set_out(c, 0, mk(c, e, r, o));
  return 0;
}

int ir_infer_shape(InferCtx *c) {
  const Type *x = shaped(c, 0);
  Dim o = dim_unknown();
  if (x) {
    int64_t s = ir_attr_int(c->node, "start", 0), t = ir_attr_int(c->node, "end", x->rank);
    if (s < 0) s += x->rank;
    if (t < 0) t += x->rank;
    s = s < 0 ? 0 : s > x->rank ? x->rank : s;
    t = t < 0 ? 0 : t > x->rank ? x->rank : t;
    o = dim_of(t > s ? t - s : 0);
  }
  set_out(c, 0, mk(c, ELEM_INT64, 1, &o));
  return 0;
}

int ir_infer_size(InferCtx *c) {
  set_out(c, 0, mk(c, ELEM_INT64, 0, NULL));
  return 0;
}

/* ReduceX (axes attribute, or input from `since_input`) and ArgMax/ArgMin (axis). */
int ir_infer_reduce(InferCtx *c) {
  const Type *x = shaped(c, 0);
  bool arg = is(c, "ArgMax") || is(c, "ArgMin");
  ElemType e = arg ? ELEM_INT64 : ein(c, 0);
  if (!x) return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  bool keep = ir_attr_int(c->node, "keepdims", 1) != 0;
  bool red[MAXR] = {0};
  if (arg) {
    int64_t a = ir_attr_int(c->node, "axis", 0);
    if (!norm_axis(&a, x->rank))
      return fail(c, "axis %s%lld out of range for rank %lld", "", a, x->rank);
    red[a] = true;
  } else {
    int since_input = is(c, "ReduceSum") ? 13 : 18;
    int64_t axes[MAXR];
    size_t n;
    bool given;
    if (!get_axes(c, since_input, axes, &n, &given)) {
      /* unknown axes: with keepdims the rank stays */
      if (!keep) return set_out(c, 0, mk(c, e, -1, NULL)), 0;
      return set_out(c, 0, mk(c, e, x->rank, NULL)), 0;
    }
    if (!given || n == 0) {
      if (ir_attr_int(c->node, "noop_with_empty_axes", 0)) return out_like(c, 0, e, 0), 0;
      for (int i = 0; i < x->rank; i++) red[i] = true;
    }
    for (size_t i = 0; i < n; i++) {
      int64_t a = axes[i];
      if (!norm_axis(&a, x->rank))
        return fail(c, "axis %s%lld out of range for rank %lld", "", axes[i], x->rank);
      red[a] = true;
    }
  }
  Dim o[MAXR];
  int r = 0;
  for (int i = 0; i < x->rank; i++) {
    if (!red[i])
      o[r++] = x->dims[i];
    else if (keep)
      o[r++] = dim_of(1);
  }
  set_out(c, 0, mk(c, e, r, o));
  return 0;
}

int ir_infer_split(InferCtx *c) {
  const Type *x = shaped(c, 0);
  ElemType e = ein(c, 0);
  int no = c->node->n_outputs;
  if (!x) {
    for (int i = 0; i < no; i++) set_out(c, i, mk(c, e, -1, NULL));
    return 0;
  }
  int64_t ax = ir_attr_int(c->node, "axis", 0);
  if (!norm_axis(&ax, x->rank))
    return fail(c, "axis %s%lld out of range for rank %lld", "", ax, x->rank);
  int64_t sp[MAXR];
  size_t n = 0;
  bool have = false;
  if (c->op && c->op->since < 13)
    have = attr_ints(c, "split", sp, MAXR, &n) ||
           (c->op->since < 2 && nin(c) > 1 && const_ints(c, 1, sp, MAXR, &n));
  else if (nin(c) > 1 && c->node->inputs[1]) {
    have = const_ints(c, 1, sp, MAXR, &n);
    if (!have) {
      for (int i = 0; i < no; i++) {
        Dim o[MAXR];
        memcpy(o, x->dims, (size_t)x->rank * sizeof *o);
        o[ax] = dim_unknown();
        set_out(c, i, mk(c, e, x->rank, o));
      }
      return 0;
    }
  }
  Dim d = x->dims[ax];
  for (int i = 0; i < no; i++) {
    Dim o[MAXR];
    memcpy(o, x->dims, (size_t)x->rank * sizeof *o);
    if (have)
      o[ax] = (size_t)i < n ? dim_of(sp[i]) : dim_unknown();
    else if (!known(&d) || no == 0)
      o[ax] = dim_unknown();
    else {
      int64_t chunk = (d.value + no - 1) / no; /* opset 18: the last chunk is smaller */
      if (d.value % no == 0) chunk = d.value / no;
      int64_t left = d.value - chunk * i;
      o[ax] = dim_of(left < 0 ? 0 : left < chunk ? left : chunk);
    }
    set_out(c, i, mk(c, e, x->rank, o));
  }
  return 0;
}

int ir_infer_pad(InferCtx *c) {
  const Type *x = shaped(c, 0);
  ElemType e = ein(c, 0);
  if (!x) return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  int64_t p[2 * MAXR], axes[MAXR];
  size_t n, na = 0;
  bool ok;
  if (c->op && c->op->since < 11)
    ok = attr_ints(c, "pads", p, 2 * MAXR, &n) || attr_ints(c, "paddings", p, 2 * MAXR, &n);
  else
    ok = const_ints(c, 1, p, 2 * MAXR, &n);
  if (ok && nin(c) > 3 && c->node->inputs[3]) ok = const_ints(c, 3, axes, MAXR, &na);
  if (!ok) return set_out(c, 0, mk(c, e, x->rank, NULL)), 0;
  if (!na) {
    na = (size_t)x->rank;
    for (size_t i = 0; i < na; i++) axes[i] = (int64_t)i;
  }
  if (n != 2 * na)
    return fail(c, "pads has %s%lld entries, expected %lld", "", (long long)n, (long long)(2 * na));
  Dim o[MAXR];
  memcpy(o, x->dims, (size_t)x->rank * sizeof *o);
  for (size_t i = 0; i < na; i++) {
    int64_t a = axes[i];
    if (!norm_axis(&a, x->rank))
      return fail(c, "axis %s%lld out of range for rank %lld", "", axes[i], x->rank);
    o[a] = known(&x->dims[a]) ? dim_of(x->dims[a].value + p[i] + p[i + na]) : dim_unknown();
  }
  set_out(c, 0, mk(c, e, x->rank, o));
  return 0;
}

/* Resize / Upsample with constant scales or sizes. */
int ir_infer_resize(InferCtx *c) {
  const Type *x = shaped(c, 0);
  ElemType e = ein(c, 0);
  if (!x) return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  int r = x->rank;
  double sc[MAXR];
  int64_t sz[MAXR], axes[MAXR];
  size_t ns = 0, nz = 0, na = 0;
  bool up = is(c, "Upsample"), v10 = !up && c->op && c->op->since < 11;
  if (up && c->op->since < 9) {
    size_t cnt;
    const float *f = ir_attr_floats(c->node, "scales", &cnt);
    if (f && cnt <= MAXR)
      for (ns = 0; ns < cnt; ns++) sc[ns] = f[ns];
  } else if (up || v10) {
    if (!const_floats(c, 1, sc, MAXR, &ns)) ns = 0;
  } else {
    if (nin(c) > 3 && c->node->inputs[3] && !const_ints(c, 3, sz, MAXR, &nz)) nz = 0;
    if (nz == 0 && nin(c) > 2 && c->node->inputs[2] && !const_floats(c, 2, sc, MAXR, &ns)) ns = 0;
  }
  if (!attr_ints(c, "axes", axes, MAXR, &na)) {
    na = (size_t)r;
    for (int i = 0; i < r; i++) axes[i] = i;
  }
  Dim o[MAXR];
  memcpy(o, x->dims, (size_t)r * sizeof *o);
  size_t cnt = nz ? nz : ns;
  if (cnt != na) {
    for (int i = 0; i < r; i++) o[i] = dim_unknown();
    set_out(c, 0, mk(c, e, r, o));
    return 0;
  }
  const char *policy = ir_attr_string(c->node, "keep_aspect_ratio_policy", "stretch");
  if (nz && strcmp(policy, "stretch")) { /* not_larger / not_smaller: one common scale */
    double s = 0;
    bool ok = true;
    for (size_t i = 0; i < na && ok; i++) {
      int64_t a = axes[i];
      ok = norm_axis(&a, r) && known(&x->dims[a]) && x->dims[a].value > 0;
      if (!ok) break;
      double t = (double)sz[i] / (double)x->dims[a].value;
      if (i == 0 || (!strcmp(policy, "not_larger") ? t < s : t > s)) s = t;
    }
    for (size_t i = 0; i < na; i++) {
      int64_t a = axes[i];
      if (!norm_axis(&a, r)) continue;
      o[a] = ok ? dim_of((int64_t)floor((double)x->dims[a].value * s + 0.5)) : dim_unknown();
    }
    set_out(c, 0, mk(c, e, r, o));
    return 0;
  }
  for (size_t i = 0; i < na; i++) {
    int64_t a = axes[i];
    if (!norm_axis(&a, r)) return fail(c, "axis %s%lld out of range for rank %lld", "", axes[i], r);
    if (nz)
      o[a] = dim_of(sz[i]);
    else if (known(&x->dims[a]))
      o[a] = dim_of((int64_t)floor((double)x->dims[a].value * sc[i]));
    else
      o[a] = dim_unknown();
  }
  set_out(c, 0, mk(c, e, r, o));
  return 0;
}

/* Constant: the type of its value attribute. */
int ir_infer_constant(InferCtx *c) {
  const Node *n = c->node;
  for (int i = 0; i < n->n_attrs; i++) {
    const Attr *a = &n->attrs[i];
    if (a->ref_attr_name) continue;
    if (!strcmp(a->name, "value") && a->type == ATTR_TENSOR && a->t) {
      Dim o[MAXR];
      int r = a->t->rank > MAXR ? -1 : a->t->rank;
      for (int k = 0; k < r; k++) o[k] = dim_of(a->t->dims[k]);
      set_out(c, 0, mk(c, a->t->elem, r, o));
    } else if (!strcmp(a->name, "sparse_value") && a->type == ATTR_SPARSE_TENSOR && a->sparse) {
      Dim o[MAXR];
      int r = a->sparse->rank > MAXR ? -1 : a->sparse->rank;
      for (int k = 0; k < r; k++) o[k] = dim_of(a->sparse->dims[k]);
      set_out(c, 0, mk(c, a->sparse->values ? a->sparse->values->elem : ELEM_UNDEFINED, r, o));
    } else if (!strcmp(a->name, "value_float"))
      set_out(c, 0, mk(c, ELEM_FLOAT, 0, NULL));
    else if (!strcmp(a->name, "value_int"))
      set_out(c, 0, mk(c, ELEM_INT64, 0, NULL));
    else if (!strcmp(a->name, "value_string"))
      set_out(c, 0, mk(c, ELEM_STRING, 0, NULL));
    else if (!strcmp(a->name, "value_floats") || !strcmp(a->name, "value_ints") ||
             !strcmp(a->name, "value_strings")) {
      Dim o = dim_of((int64_t)a->n);
      ElemType e = a->name[6] == 'f' ? ELEM_FLOAT : a->name[6] == 'i' ? ELEM_INT64 : ELEM_STRING;
      set_out(c, 0, mk(c, e, 1, &o));
    }
  }
  return 0;
}

int ir_infer_constant_of_shape(InferCtx *c) {
  const Attr *v = ir_node_attr(c->node, "value");
  ElemType e = v && v->type == ATTR_TENSOR && v->t ? v->t->elem : ELEM_FLOAT;
  int64_t sh[MAXR];
  size_t n;
  if (const_ints(c, 0, sh, MAXR, &n)) {
    Dim o[MAXR];
    for (size_t i = 0; i < n; i++) o[i] = dim_of(sh[i]);
    set_out(c, 0, mk(c, e, (int)n, o));
  } else {
    int64_t l = len1(c, 0);
    set_out(c, 0, mk(c, e, l >= 0 && l <= MAXR ? (int)l : -1, NULL));
  }
  return 0;
}

int ir_infer_expand(InferCtx *c) {
  const Type *x = shaped(c, 0);
  ElemType e = ein(c, 0);
  int64_t sh[MAXR];
  size_t n;
  if (!x || !const_ints(c, 1, sh, MAXR, &n)) return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  int r = x->rank > (int)n ? x->rank : (int)n;
  Dim o[MAXR];
  for (int k = 0; k < r; k++) {
    int ka = k - (r - x->rank), kb = k - (r - (int)n);
    Dim a = ka >= 0 ? x->dims[ka] : dim_of(1), b = kb >= 0 ? dim_of(sh[kb]) : dim_of(1);
    if (!bcast_dim(a, b, &o[k]))
      return fail(c, "shape does not broadcast (%s%lld vs %lld)", "", a.value, b.value);
  }
  set_out(c, 0, mk(c, e, r, o));
  return 0;
}

int ir_infer_tile(InferCtx *c) {
  const Type *x = shaped(c, 0);
  ElemType e = ein(c, 0);
  int64_t rep[MAXR];
  size_t n;
  if (!x) return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  if (!const_ints(c, 1, rep, MAXR, &n) || (int)n != x->rank)
    return set_out(c, 0, mk(c, e, x->rank, NULL)), 0;
  Dim o[MAXR];
  for (int i = 0; i < x->rank; i++)
    o[i] = known(&x->dims[i]) ? dim_of(x->dims[i].value * rep[i])
           : rep[i] == 1      ? x->dims[i]
                              : dim_unknown();
  set_out(c, 0, mk(c, e, x->rank, o));
  return 0;
}

/* QuantizeLinear: the zero point's type (or output_dtype, default uint8). */
int ir_infer_quantize(InferCtx *c) {
  ElemType e = ein(c, 2);
  int64_t od = ir_attr_int(c->node, "output_dtype", 0);
  if (!e) e = od && ir_elem_valid((int)od) ? (ElemType)od : ELEM_UINT8;
  out_like(c, 0, e, 0);
  return 0;
}

/* DequantizeLinear: float before opset 19, then the scale's type (or output_dtype). */
int ir_infer_dequantize(InferCtx *c) {
  ElemType e = ELEM_FLOAT;
  int64_t od = ir_attr_int(c->node, "output_dtype", 0);
  if (od && ir_elem_valid((int)od))
    e = (ElemType)od;
  else if (c->op && c->op->since >= 19 && ein(c, 1))
    e = ein(c, 1);
  out_like(c, 0, e, 0);
  return 0;
}

/* Attention (basic): the output follows Q, with V's head size. */
int ir_infer_attention(InferCtx *c) {
  const Type *q = shaped(c, 0), *v = shaped(c, 2);
  ElemType e = ein(c, 0);
  if (!q || (q->rank != 3 && q->rank != 4)) return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  Dim o[4];
  memcpy(o, q->dims, (size_t)q->rank * sizeof *o);
  if (q->rank == 4)
    o[3] = v && v->rank == 4 ? v->dims[3] : dim_unknown();
  else {
    int64_t qh = ir_attr_int(c->node, "q_num_heads", 0),
            kh = ir_attr_int(c->node, "kv_num_heads", 0);
    o[2] = v && v->rank == 3 && known(&v->dims[2]) && qh > 0 && kh > 0
               ? dim_of(v->dims[2].value / kh * qh)
           : v && v->rank == 4 && known(&v->dims[3]) && qh > 0 ? dim_of(v->dims[3].value * qh)
                                                               : dim_unknown();
  }
  set_out(c, 0, mk(c, e, q->rank, o));
  /* present_key / present_value: past (input 4 / 5) and new (K / V) along the sequence */
  for (int w = 0; w < 2; w++) {
    const Type *kv = shaped(c, 1 + w), *past = shaped(c, 4 + w);
    if (!kv || (kv->rank != 3 && kv->rank != 4)) continue;
    Dim p[4];
    int64_t kh = ir_attr_int(c->node, "kv_num_heads", 0);
    if (kv->rank == 4)
      memcpy(p, kv->dims, sizeof p);
    else {
      p[0] = kv->dims[0];
      p[1] = kh > 0 ? dim_of(kh) : dim_unknown();
      p[2] = kv->dims[1];
      p[3] = kh > 0 && known(&kv->dims[2]) ? dim_of(kv->dims[2].value / kh) : dim_unknown();
    }
    if (past && past->rank == 4)
      p[2] = known(&past->dims[2]) && known(&p[2]) ? dim_of(past->dims[2].value + p[2].value)
                                                   : dim_unknown();
    else if (nin(c) > 4 + w && c->node->inputs[4 + w])
      p[2] = dim_unknown();
    set_out(c, 1 + w, mk(c, ein(c, 1 + w), 4, p));
  }
  return 0;
}

/* Einsum with an explicit output and no ellipsis: each output letter's size. */
int ir_infer_einsum(InferCtx *c) {
  const char *eq = ir_attr_string(c->node, "equation", "");
  ElemType e = ein(c, 0);
  Dim sym[128];
  bool seen[128] = {0};
  const char *arrow = strstr(eq, "->");
  if (!arrow || strstr(eq, "...")) return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  int in = 0, k = 0;
  const Type *t = shaped(c, 0);
  for (const char *p = eq; p < arrow; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch == ',') {
      in++;
      k = 0;
      t = shaped(c, in);
      continue;
    }
    if (ch == ' ' || ch >= 128) continue;
    Dim d = t && k < t->rank ? t->dims[k] : dim_unknown();
    k++;
    if (!seen[ch] || (!known(&sym[ch]) && known(&d))) sym[ch] = d;
    seen[ch] = true;
  }
  Dim o[MAXR];
  int r = 0;
  for (const char *p = arrow + 2; *p && r < MAXR; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch == ' ' || ch >= 128) continue;
    o[r++] = seen[ch] ? sym[ch] : dim_unknown();
  }
  set_out(c, 0, mk(c, e, r, o));
  return 0;
}

/* GatherElements: the indices' shape, the data's type. */
int ir_infer_gather_elements(InferCtx *c) {
  out_like(c, 0, ein(c, 0), 1);
  return 0;
}

/* Scatter, ScatterElements, ScatterND: like the data. */
int ir_infer_scatter(InferCtx *c) {
  out_like(c, 0, ein(c, 0), 0);
  return 0;
}

/* Range: 1-D, max(ceil((limit - start) / delta), 0) elements when all three are constant. */
int ir_infer_range(InferCtx *c) {
  double v[3];
  Dim o = dim_unknown();
  bool ok = true;
  for (int i = 0; i < 3 && ok; i++) {
    int64_t iv;
    double fv;
    size_t n;
    if (const_ints(c, i, &iv, 1, &n) && n == 1)
      v[i] = (double)iv;
    else if (const_floats(c, i, &fv, 1, &n) && n == 1)
      v[i] = fv;
    else
      ok = false;
  }
  if (ok && v[2] != 0) {
    double len = ceil((v[1] - v[0]) / v[2]);
    o = dim_of(len > 0 ? (int64_t)len : 0);
  }
  set_out(c, 0, mk(c, ein(c, 0), 1, &o));
  return 0;
}

/* TopK: the input's shape with k along the axis; indices int64. */
int ir_infer_topk(InferCtx *c) {
  const Type *x = shaped(c, 0);
  ElemType e = ein(c, 0);
  if (!x) {
    set_out(c, 0, mk(c, e, -1, NULL));
    set_out(c, 1, mk(c, ELEM_INT64, -1, NULL));
    return 0;
  }
  int64_t ax = ir_attr_int(c->node, "axis", -1), k = -1;
  size_t n;
  if (!norm_axis(&ax, x->rank))
    return fail(c, "axis %s%lld out of range for rank %lld", "", ax, x->rank);
  if (c->op && c->op->since < 10)
    k = ir_attr_int(c->node, "k", -1);
  else if (!const_ints(c, 1, &k, 1, &n) || n != 1)
    k = -1;
  Dim o[MAXR];
  memcpy(o, x->dims, (size_t)x->rank * sizeof *o);
  o[ax] = k >= 0 ? dim_of(k) : dim_unknown();
  set_out(c, 0, mk(c, e, x->rank, o));
  set_out(c, 1, mk(c, ELEM_INT64, x->rank, o));
  return 0;
}

/* OneHot: the indices' shape with depth inserted at axis; the values' type. */
int ir_infer_onehot(InferCtx *c) {
  const Type *ix = shaped(c, 0);
  ElemType e = ein(c, 2);
  if (!ix || ix->rank + 1 > MAXR) return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  int r = ix->rank + 1;
  int64_t ax = ir_attr_int(c->node, "axis", -1), depth;
  if (!norm_axis(&ax, r)) return fail(c, "axis %s%lld out of range for rank %lld", "", ax, r);
  double fd;
  size_t n;
  Dim d = dim_unknown();
  if (const_ints(c, 1, &depth, 1, &n) && n == 1)
    d = dim_of(depth);
  else if (const_floats(c, 1, &fd, 1, &n) && n == 1)
    d = dim_of((int64_t)fd);
  Dim o[MAXR];
  for (int i = 0, k = 0; i < r; i++) o[i] = i == ax ? d : ix->dims[k++];
  set_out(c, 0, mk(c, e, r, o));
  return 0;
}

/* SpaceToDepth / DepthToSpace: [N, C*b*b, H/b, W/b] and back. */
int ir_infer_space_depth(InferCtx *c) {
  const Type *x = shaped(c, 0);
  int64_t b = ir_attr_int(c->node, "blocksize", 0);
  if (!x || x->rank != 4 || b <= 0) return out_like(c, 0, ein(c, 0), -1), 0;
  bool s2d = is(c, "SpaceToDepth");
  Dim o[4] = {x->dims[0], dim_unknown(), dim_unknown(), dim_unknown()};
  if (known(&x->dims[1]))
    o[1] = dim_of(s2d ? x->dims[1].value * b * b : x->dims[1].value / (b * b));
  for (int i = 2; i < 4; i++)
    if (known(&x->dims[i])) o[i] = dim_of(s2d ? x->dims[i].value / b : x->dims[i].value * b);
  set_out(c, 0, mk(c, ein(c, 0), 4, o));
  return 0;
}

/* EyeLike: the input's shape; dtype attribute or the input's type. */
int ir_infer_eyelike(InferCtx *c) {
  int64_t dt = ir_attr_int(c->node, "dtype", 0);
  out_like(c, 0, dt && ir_elem_valid((int)dt) ? (ElemType)dt : ein(c, 0), 0);
  return 0;
}

/* NonZero: int64 [rank, ?]. */
int ir_infer_nonzero(InferCtx *c) {
  const Type *x = shaped(c, 0);
  Dim o[2] = {x ? dim_of(x->rank) : dim_unknown(), dim_unknown()};
  set_out(c, 0, mk(c, ELEM_INT64, 2, o));
  return 0;
}

/* GridSample: [N, C, grid spatial...]. */
int ir_infer_grid_sample(InferCtx *c) {
  const Type *x = shaped(c, 0), *g = shaped(c, 1);
  if (!x || !g || g->rank != x->rank || x->rank < 3) return out_like(c, 0, ein(c, 0), -1), 0;
  Dim o[MAXR];
  o[0] = x->dims[0];
  o[1] = x->dims[1];
  for (int i = 2; i < x->rank; i++) o[i] = g->dims[i - 1];
  set_out(c, 0, mk(c, ein(c, 0), x->rank, o));
  return 0;
}

/* NegativeLogLikelihoodLoss / SoftmaxCrossEntropyLoss: the target's shape with reduction
 * "none", else a scalar; SCE's log_prob is like the scores. */
int ir_infer_loss(InferCtx *c) {
  const char *red = ir_attr_string(c->node, "reduction", "mean");
  ElemType e = ein(c, 0);
  if (!strcmp(red, "none"))
    out_like(c, 0, e, 1);
  else
    set_out(c, 0, mk(c, e, 0, NULL));
  out_like(c, 1, e, 0);
  return 0;
}

/* BitCast: same shape when the element sizes agree. */
int ir_infer_bitcast(InferCtx *c) {
  int64_t to = ir_attr_int(c->node, "to", 0);
  ElemType e = ir_elem_valid((int)to) ? (ElemType)to : ELEM_UNDEFINED;
  if (e && ein(c, 0) && ir_elem(e)->bits == ir_elem(ein(c, 0))->bits)
    out_like(c, 0, e, 0);
  else
    set_out(c, 0, mk(c, e, -1, NULL));
  return 0;
}

/* RNN, GRU, LSTM: Y [seq, dirs, batch, hidden], Y_h / Y_c [dirs, batch, hidden]; layout 1
 * puts batch first. */
int ir_infer_rnn(InferCtx *c) {
  const Type *x = shaped(c, 0);
  ElemType e = ein(c, 0);
  int64_t h = ir_attr_int(c->node, "hidden_size", -1), layout = ir_attr_int(c->node, "layout", 0);
  const char *dir = ir_attr_string(c->node, "direction", "forward");
  Dim hd = h > 0 ? dim_of(h) : dim_unknown(), nd = dim_of(!strcmp(dir, "bidirectional") ? 2 : 1);
  Dim seq = dim_unknown(), batch = dim_unknown();
  if (x && x->rank == 3) {
    seq = x->dims[layout ? 1 : 0];
    batch = x->dims[layout ? 0 : 1];
  }
  Dim y[4], yh[3];
  if (layout) {
    y[0] = batch, y[1] = seq, y[2] = nd, y[3] = hd;
    yh[0] = batch, yh[1] = nd, yh[2] = hd;
  } else {
    y[0] = seq, y[1] = nd, y[2] = batch, y[3] = hd;
    yh[0] = nd, yh[1] = batch, yh[2] = hd;
  }
  set_out(c, 0, mk(c, e, 4, y));
  set_out(c, 1, mk(c, e, 3, yh));
  set_out(c, 2, mk(c, e, 3, yh));
  return 0;
}

/* The union of two tensor types: what holds for a value that is either (element type when
 * both agree, rank when both agree, each dim when both agree). NULL if unknown or not
 * tensors. */
static Type *join(InferCtx *c, const Type *a, const Type *b) {
  if (!a || !b || a->kind != TYPE_TENSOR || b->kind != TYPE_TENSOR || !a->elem ||
      a->elem != b->elem)
    return NULL;
  if (a->rank != b->rank || a->rank < 0 || a->rank > MAXR) return mk(c, a->elem, -1, NULL);
  Dim o[MAXR];
  for (int k = 0; k < a->rank; k++) {
    const Dim *x = &a->dims[k], *y = &b->dims[k];
    bool same = known(x) ? known(y) && x->value == y->value
                         : x->param && y->param && !strcmp(x->param, y->param);
    o[k] = same ? *x : dim_unknown();
  }
  return mk(c, a->elem, a->rank, o);
}

/* If: each output is what both branches declare (dims they disagree on unknown). */
int ir_infer_if(InferCtx *c) {
  const Attr *t = ir_node_attr(c->node, "then_branch"), *f = ir_node_attr(c->node, "else_branch");
  if (!t || !f || t->type != ATTR_GRAPH || f->type != ATTR_GRAPH || !t->g || !f->g) return 0;
  for (int i = 0; i < c->node->n_outputs; i++) {
    if (i >= t->g->n_outputs || i >= f->g->n_outputs || !t->g->outputs[i] || !f->g->outputs[i])
      continue;
    Type *u = join(c, t->g->outputs[i]->type, f->g->outputs[i]->type);
    if (u) set_out(c, i, u);
  }
  return 0;
}

static const Graph *body_of(const InferCtx *c) {
  const Attr *b = ir_node_attr(c->node, "body");
  return b && !b->ref_attr_name && b->type == ATTR_GRAPH ? b->g : NULL;
}
static const Type *body_out(const Graph *g, int i) {
  return i >= 0 && i < g->n_outputs && g->outputs[i] ? g->outputs[i]->type : NULL;
}
/* A body's per-iteration tensor type s stacked along `axis` (of rank s->rank + 1) with
 * `len` entries (-1 unknown); `lead` extra leading dims (Scan-8's batch) go first.
 * Symbolic dims of the body are dropped: they belong to the body's scope. */
static Type *stacked(InferCtx *c, const Type *s, int64_t axis, Dim len, const Dim *lead,
                     int nlead) {
  if (!s || s->kind != TYPE_TENSOR || !s->elem) return NULL;
  if (s->rank < 0 || s->rank + 1 + nlead > MAXR) return mk(c, s->elem, -1, NULL);
  int r = s->rank + 1;
  if (!norm_axis(&axis, r)) return NULL;
  Dim o[MAXR];
  for (int i = 0; i < nlead; i++) o[i] = lead[i];
  for (int i = 0, k = 0; i < r; i++) {
    Dim d = i == axis ? len : s->dims[k++];
    o[nlead + i] = d.param ? dim_unknown() : d;
  }
  return mk(c, s->elem, r + nlead, o);
}

/* Loop: loop-carried outputs are either the initial value (no iteration) or the body's
 * output; scan outputs stack the body's per-iteration values, M of them when M is constant
 * and the loop cannot stop early (no cond input, the body passes its cond through). */
int ir_infer_loop(InferCtx *c) {
  const Graph *g = body_of(c);
  int nc = nin(c) - 2;
  if (!g || nc < 0 || g->n_inputs != nc + 2 || g->n_outputs < nc + 1) return 0;
  int ns = g->n_outputs - 1 - nc;
  if (c->node->n_outputs != nc + ns) return 0;
  for (int i = 0; i < nc; i++) {
    Type *u = join(c, body_out(g, 1 + i), tin(c, 2 + i));
    if (u) set_out(c, i, u);
  }
  int64_t m = -1;
  size_t n;
  const Value *bc = g->outputs[0];
  bool passthru = bc && g->inputs[1] &&
                  (bc == g->inputs[1] ||
                   (bc->producer && bc->producer->op && !strcmp(bc->producer->op->family, "Identity") &&
                    bc->producer->n_inputs == 1 && bc->producer->inputs[0] == g->inputs[1]));
  uint64_t cnt;
  bool cond_true = nin(c) < 2 || !c->node->inputs[1];
  if (!cond_true && c->in_data && c->in_data[1] && c->in_data[1]->has_data &&
      c->in_data[1]->elem == ELEM_BOOL && ir_tensor_numel(c->in_data[1], &cnt) && cnt == 1)
    cond_true = ((const uint8_t *)c->in_data[1]->data)[0] != 0;
  if (!c->node->inputs[0] || !cond_true || !passthru || !const_ints(c, 0, &m, 1, &n) || n != 1)
    m = -1;
  if (m == 0) return 0; /* nothing to stack: leave the declared types */
  for (int k = 0; k < ns; k++) {
    Type *t = stacked(c, body_out(g, 1 + nc + k), 0, m > 0 ? dim_of(m) : dim_unknown(), NULL, 0);
    if (t) set_out(c, nc + k, t);
  }
  return 0;
}

/* Scan (9+): states as Loop's; scan outputs stack along scan_output_axes with the scan
 * inputs' sequence length. Scan-8 puts a batch axis first everywhere (inputs are
 * [B, T, ...]) and may start with sequence_lens. */
int ir_infer_scan(InferCtx *c) {
  const Graph *g = body_of(c);
  int64_t m = ir_attr_int(c->node, "num_scan_inputs", -1);
  bool v8 = c->op && c->op->since < 9;
  int first = v8 ? 1 : 0; /* Scan-8's optional sequence_lens */
  int ns = nin(c) - first - (int)m; /* states */
  if (!g || m < 1 || ns < 0 || g->n_inputs != ns + m) return 0;
  int nk = g->n_outputs - ns;
  if (nk < 0 || c->node->n_outputs != ns + nk) return 0;
  int64_t ax[MAXR] = {0}, oax[MAXR] = {0};
  size_t n;
  if (!v8 && attr_ints(c, "scan_input_axes", ax, MAXR, &n) && n != (size_t)m) return 0;
  if (!v8 && attr_ints(c, "scan_output_axes", oax, MAXR, &n) && n != (size_t)nk) return 0;
  Dim T = dim_unknown(), B = dim_unknown();
  for (int j = 0; j < m; j++) {
    const Type *x = shaped(c, first + ns + j);
    if (!x) continue;
    int64_t a = v8 ? 1 : ax[j];
    if (!norm_axis(&a, x->rank)) continue;
    if (known(&x->dims[a])) T = x->dims[a];
    if (v8 && known(&x->dims[0])) B = x->dims[0];
  }
  for (int i = 0; i < ns && v8; i++) {
    const Type *x = shaped(c, first + i);
    if (x && x->rank > 0 && known(&x->dims[0])) B = x->dims[0];
  }
  for (int i = 0; i < ns; i++) {
    const Type *b = body_out(g, i);
    if (v8 && b && b->kind == TYPE_TENSOR && b->rank >= 0 && b->rank < MAXR) {
      /* Scan-8 states: [B] + the body's state */
      Dim o[MAXR];
      o[0] = B;
      for (int k = 0; k < b->rank; k++) o[1 + k] = b->dims[k];
      b = mk(c, b->elem, b->rank + 1, o);
    } else if (v8) {
      b = NULL;
    }
    Type *u = join(c, b, tin(c, first + i));
    if (u) set_out(c, i, u);
  }
  if (known(&T) && T.value == 0) return 0;
  for (int k = 0; k < nk; k++) {
    Type *t = v8 ? stacked(c, body_out(g, ns + k), 0, T, &B, 1)
                 : stacked(c, body_out(g, ns + k), oax[k], T, NULL, 0);
    if (t) set_out(c, ns + k, t);
  }
  return 0;
}

/* Output 0 of type e with input 0's shape where the element type is fixed or an attribute:
 * `same_float` (Scaler, Normalizer: float). */
int ir_infer_same_float(InferCtx *c) {
  out_like(c, 0, ELEM_FLOAT, 0);
  return 0;
}

/* The dtype attribute when valid, else `dflt`. */
static ElemType dtype_attr(const InferCtx *c, const char *name, ElemType dflt) {
  int64_t dt = ir_attr_int(c->node, name, 0);
  return dt && ir_elem_valid((int)dt) ? (ElemType)dt : dflt;
}

/* RandomNormal/RandomUniform (shape attribute), the *Like forms and Bernoulli (input 0's
 * shape); dtype attribute, else float / the input's type. */
int ir_infer_random(InferCtx *c) {
  if (nin(c) == 0) {
    int64_t s[MAXR];
    size_t n;
    ElemType e = dtype_attr(c, "dtype", ELEM_FLOAT);
    if (!attr_ints(c, "shape", s, MAXR, &n)) return set_out(c, 0, mk(c, e, -1, NULL)), 0;
    Dim o[MAXR];
    for (size_t i = 0; i < n; i++) o[i] = s[i] >= 0 ? dim_of(s[i]) : dim_unknown();
    set_out(c, 0, mk(c, e, (int)n, o));
    return 0;
  }
  out_like(c, 0, dtype_attr(c, "dtype", ein(c, 0)), 0);
  return 0;
}

/* Multinomial: [batch, sample_size] of dtype (int32 by default). */
int ir_infer_multinomial(InferCtx *c) {
  const Type *x = shaped(c, 0);
  Dim o[2] = {x && x->rank == 2 ? x->dims[0] : dim_unknown(),
              dim_of(ir_attr_int(c->node, "sample_size", 1))};
  set_out(c, 0, mk(c, dtype_attr(c, "dtype", ELEM_INT32), 2, o));
  return 0;
}

/* HannWindow, HammingWindow, BlackmanWindow: [size] of output_datatype (float). */
int ir_infer_window(InferCtx *c) {
  int64_t s;
  size_t n;
  Dim o = const_ints(c, 0, &s, 1, &n) && n == 1 && s >= 0 ? dim_of(s) : dim_unknown();
  set_out(c, 0, mk(c, dtype_attr(c, "output_datatype", ELEM_FLOAT), 1, &o));
  return 0;
}

/* Unique: Y 1-D (or X's shape with the axis unknown), indices/counts [?], inverse_indices
 * one per element of X (or per entry along the axis). */
int ir_infer_unique(InferCtx *c) {
  const Type *x = shaped(c, 0);
  ElemType e = ein(c, 0);
  Dim u = dim_unknown(), inv = dim_unknown();
  bool has_axis = ir_node_attr(c->node, "axis") != NULL;
  if (!has_axis) {
    set_out(c, 0, mk(c, e, 1, &u));
    uint64_t cnt;
    if (x && ir_type_numel(x, &cnt)) inv = dim_of((int64_t)cnt);
  } else if (x) {
    int64_t ax = ir_attr_int(c->node, "axis", 0);
    if (!norm_axis(&ax, x->rank))
      return fail(c, "axis %s%lld out of range for rank %lld", "", ax, x->rank);
    Dim o[MAXR];
    memcpy(o, x->dims, (size_t)x->rank * sizeof *o);
    o[ax] = dim_unknown();
    inv = x->dims[ax];
    set_out(c, 0, mk(c, e, x->rank, o));
  } else {
    set_out(c, 0, mk(c, e, -1, NULL));
  }
  set_out(c, 1, mk(c, ELEM_INT64, 1, &u));
  set_out(c, 2, mk(c, ELEM_INT64, 1, &inv));
  set_out(c, 3, mk(c, ELEM_INT64, 1, &u));
  return 0;
}

/* NonMaxSuppression: int64 [?, 3]. */
int ir_infer_nms(InferCtx *c) {
  Dim o[2] = {dim_unknown(), dim_of(3)};
  set_out(c, 0, mk(c, ELEM_INT64, 2, o));
  return 0;
}

/* Compress: 1-D [?] without axis, else the input's shape with the axis unknown. */
int ir_infer_compress(InferCtx *c) {
  const Type *x = shaped(c, 0);
  Dim u = dim_unknown();
  if (!ir_node_attr(c->node, "axis")) return set_out(c, 0, mk(c, ein(c, 0), 1, &u)), 0;
  if (!x) return set_out(c, 0, mk(c, ein(c, 0), -1, NULL)), 0;
  int64_t ax = ir_attr_int(c->node, "axis", 0);
  if (!norm_axis(&ax, x->rank))
    return fail(c, "axis %s%lld out of range for rank %lld", "", ax, x->rank);
  Dim o[MAXR];
  memcpy(o, x->dims, (size_t)x->rank * sizeof *o);
  o[ax] = u;
  set_out(c, 0, mk(c, ein(c, 0), x->rank, o));
  return 0;
}

/* GatherND: indices.shape[:-1] + data.shape[batch_dims + k:], k = indices.shape[-1]. */
int ir_infer_gather_nd(InferCtx *c) {
  const Type *x = shaped(c, 0), *ix = shaped(c, 1);
  ElemType e = ein(c, 0);
  int64_t b = ir_attr_int(c->node, "batch_dims", 0);
  if (!x || !ix || ix->rank < 1 || !known(&ix->dims[ix->rank - 1]))
    return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  int64_t k = ix->dims[ix->rank - 1].value;
  if (b < 0 || b + k > x->rank || b >= ix->rank)
    return fail(c, "indices of depth %s%lld do not fit data of rank %lld", "", k, x->rank);
  int r = ix->rank - 1 + x->rank - (int)(b + k);
  if (r > MAXR) return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  Dim o[MAXR];
  int q = 0;
  for (int i = 0; i < ix->rank - 1; i++) o[q++] = ix->dims[i];
  for (int i = (int)(b + k); i < x->rank; i++) o[q++] = x->dims[i];
  set_out(c, 0, mk(c, e, r, o));
  return 0;
}

/* Det: [*, M, M] -> [*]. */
int ir_infer_det(InferCtx *c) {
  const Type *x = shaped(c, 0);
  if (!x || x->rank < 2) return set_out(c, 0, mk(c, ein(c, 0), -1, NULL)), 0;
  set_out(c, 0, mk(c, ein(c, 0), x->rank - 2, x->dims));
  return 0;
}

/* DynamicQuantizeLinear: uint8 y like x, float scale and uint8 zero point scalars. */
int ir_infer_dyn_quantize(InferCtx *c) {
  out_like(c, 0, ELEM_UINT8, 0);
  set_out(c, 1, mk(c, ELEM_FLOAT, 0, NULL));
  set_out(c, 2, mk(c, ELEM_UINT8, 0, NULL));
  return 0;
}

/* MaxRoiPool: [num_rois, C, pooled_h, pooled_w]; RoiAlign: [num_rois, C, output_height,
 * output_width]. */
int ir_infer_roi(InferCtx *c) {
  const Type *x = shaped(c, 0), *r = shaped(c, 1);
  Dim o[4] = {r && r->rank == 2 ? r->dims[0] : dim_unknown(),
              x && x->rank == 4 ? x->dims[1] : dim_unknown(), dim_unknown(), dim_unknown()};
  if (is(c, "MaxRoiPool")) {
    int64_t p[2];
    size_t n;
    if (attr_ints(c, "pooled_shape", p, 2, &n) && n == 2) o[2] = dim_of(p[0]), o[3] = dim_of(p[1]);
  } else {
    o[2] = dim_of(ir_attr_int(c->node, "output_height", 1));
    o[3] = dim_of(ir_attr_int(c->node, "output_width", 1));
  }
  set_out(c, 0, mk(c, ein(c, 0), 4, o));
  return 0;
}

/* Col2Im: [N, C * prod(block), L] -> [N, C, image_shape...]. */
int ir_infer_col2im(InferCtx *c) {
  const Type *x = shaped(c, 0);
  int64_t img[MAXR], blk[MAXR];
  size_t ni, nb;
  ElemType e = ein(c, 0);
  if (!const_ints(c, 1, img, MAXR - 2, &ni) || !const_ints(c, 2, blk, MAXR, &nb) || ni != nb)
    return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  Dim o[MAXR];
  o[0] = x && x->rank == 3 ? x->dims[0] : dim_unknown();
  o[1] = dim_unknown();
  int64_t prod = 1;
  for (size_t i = 0; i < nb; i++) prod = blk[i] > 0 && prod <= INT64_MAX / blk[i] ? prod * blk[i] : -1;
  if (x && x->rank == 3 && known(&x->dims[1]) && prod > 0 && x->dims[1].value % prod == 0)
    o[1] = dim_of(x->dims[1].value / prod);
  for (size_t i = 0; i < ni; i++) o[2 + i] = img[i] >= 0 ? dim_of(img[i]) : dim_unknown();
  set_out(c, 0, mk(c, e, (int)ni + 2, o));
  return 0;
}

/* AffineGrid: theta [N, 2, 3] with size (N, C, H, W) -> [N, H, W, 2]; 3-D -> [N, D, H, W, 3]. */
int ir_infer_affine_grid(InferCtx *c) {
  int64_t s[5];
  size_t n;
  ElemType e = ein(c, 0);
  if (!const_ints(c, 1, s, 5, &n) || (n != 4 && n != 5))
    return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  Dim o[5];
  for (size_t i = 0; i + 2 < n; i++) o[1 + i] = dim_of(s[2 + i]);
  o[0] = dim_of(s[0]);
  o[n - 1] = dim_of((int64_t)n - 2);
  set_out(c, 0, mk(c, e, (int)n, o));
  return 0;
}

/* CenterCropPad: the input's shape with the listed axes (all by default) set to `shape`. */
int ir_infer_center_crop_pad(InferCtx *c) {
  const Type *x = shaped(c, 0);
  int64_t s[MAXR], ax[MAXR];
  size_t ns, na;
  ElemType e = ein(c, 0);
  if (!x || !const_ints(c, 1, s, MAXR, &ns)) return out_like(c, 0, e, -1), 0;
  if (!attr_ints(c, "axes", ax, MAXR, &na)) {
    na = (size_t)x->rank;
    for (size_t i = 0; i < na; i++) ax[i] = (int64_t)i;
  }
  if (na != ns) return fail(c, "%s%lld sizes for %lld axes", "", (long long)ns, (long long)na);
  Dim o[MAXR];
  memcpy(o, x->dims, (size_t)x->rank * sizeof *o);
  for (size_t i = 0; i < na; i++) {
    if (!norm_axis(&ax[i], x->rank))
      return fail(c, "axis %s%lld out of range for rank %lld", "", ax[i], x->rank);
    o[ax[i]] = s[i] >= 0 ? dim_of(s[i]) : dim_unknown();
  }
  set_out(c, 0, mk(c, e, x->rank, o));
  return 0;
}

/* DFT: the input's shape with the last dim 2 (complex) and the transformed axis
 * dft_length long (onesided: n/2 + 1). The axis is an attribute (17) or input 2 (20+,
 * default -2). */
int ir_infer_dft(InferCtx *c) {
  const Type *x = shaped(c, 0);
  ElemType e = ein(c, 0);
  if (!x || x->rank < 2) return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  int64_t ax, len = -1;
  size_t n;
  if (c->op && c->op->since < 20) {
    ax = ir_attr_int(c->node, "axis", 1);
  } else if (nin(c) > 2 && c->node->inputs[2]) {
    if (!const_ints(c, 2, &ax, 1, &n) || n != 1) return out_like(c, 0, e, -1), 0;
  } else {
    ax = -2;
  }
  if (!norm_axis(&ax, x->rank) || ax == x->rank - 1)
    return fail(c, "axis %s%lld out of range for rank %lld", "", ax, x->rank);
  Dim o[MAXR];
  memcpy(o, x->dims, (size_t)x->rank * sizeof *o);
  o[x->rank - 1] = dim_of(2);
  if (nin(c) > 1 && c->node->inputs[1]) {
    if (!const_ints(c, 1, &len, 1, &n) || n != 1) len = -1;
    o[ax] = len >= 0 ? dim_of(len) : dim_unknown();
  }
  bool one = ir_attr_int(c->node, "onesided", 0), inv = ir_attr_int(c->node, "inverse", 0);
  if (one && inv) {
    /* inverse of a one-sided spectrum: a real signal of 2 (n - 1) (or dft_length) */
    o[x->rank - 1] = dim_of(1);
    if (len < 0 && !(nin(c) > 1 && c->node->inputs[1]))
      o[ax] = known(&x->dims[ax]) ? dim_of(2 * (x->dims[ax].value - 1)) : dim_unknown();
  } else if (one) {
    o[ax] = known(&o[ax]) ? dim_of(o[ax].value / 2 + 1) : dim_unknown();
  }
  set_out(c, 0, mk(c, e, x->rank, o));
  return 0;
}

/* STFT: [batch, frames, bins, 2]; frames = (length - frame_length) / frame_step + 1,
 * bins = frame_length (onesided: / 2 + 1); frame_length is input 3 or the window's. */
int ir_infer_stft(InferCtx *c) {
  const Type *x = shaped(c, 0);
  ElemType e = ein(c, 0);
  int64_t step = -1, fl = -1;
  size_t n;
  if (!const_ints(c, 1, &step, 1, &n) || n != 1) step = -1;
  if (nin(c) > 3 && c->node->inputs[3]) {
    if (!const_ints(c, 3, &fl, 1, &n) || n != 1) fl = -1;
  } else if (nin(c) > 2 && c->node->inputs[2]) {
    fl = len1(c, 2);
  }
  Dim o[4] = {x && x->rank == 3 ? x->dims[0] : dim_unknown(), dim_unknown(), dim_unknown(),
              dim_of(2)};
  if (x && x->rank == 3 && known(&x->dims[1]) && step > 0 && fl > 0 && x->dims[1].value >= fl)
    o[1] = dim_of((x->dims[1].value - fl) / step + 1);
  if (fl > 0) o[2] = dim_of(ir_attr_int(c->node, "onesided", 1) ? fl / 2 + 1 : fl);
  set_out(c, 0, mk(c, e, 4, o));
  return 0;
}

/* OptionalHasElement: bool scalar; SequenceLength: int64 scalar. */
int ir_infer_scalar(InferCtx *c) {
  set_out(c, 0, mk(c, is(c, "SequenceLength") ? ELEM_INT64 : ELEM_BOOL, 0, NULL));
  return 0;
}

/* MaxUnpool: a constant output_shape, else [N, C, (in - 1) * stride + kernel - pads]. */
int ir_infer_max_unpool(InferCtx *c) {
  const Type *x = shaped(c, 0);
  ElemType e = ein(c, 0);
  int64_t s[MAXR], k[MAXR], st[MAXR], p[2 * MAXR];
  size_t n, nk, nst, np;
  if (nin(c) > 2 && c->node->inputs[2]) {
    if (!const_ints(c, 2, s, MAXR, &n)) return set_out(c, 0, mk(c, e, x ? x->rank : -1, NULL)), 0;
    Dim o[MAXR];
    for (size_t i = 0; i < n; i++) o[i] = s[i] >= 0 ? dim_of(s[i]) : dim_unknown();
    set_out(c, 0, mk(c, e, (int)n, o));
    return 0;
  }
  if (!x || x->rank < 3 || !attr_ints(c, "kernel_shape", k, MAXR, &nk) || nk != (size_t)x->rank - 2)
    return set_out(c, 0, mk(c, e, x ? x->rank : -1, NULL)), 0;
  if (!attr_ints(c, "strides", st, MAXR, &nst)) {
    nst = nk;
    for (size_t i = 0; i < nk; i++) st[i] = 1;
  }
  if (!attr_ints(c, "pads", p, 2 * MAXR, &np)) {
    np = 2 * nk;
    memset(p, 0, sizeof p);
  }
  if (nst != nk || np != 2 * nk)
    return fail(c, "%s%lld strides or pads for %lld spatial axes", "", (long long)nst, (long long)nk);
  Dim o[MAXR];
  o[0] = x->dims[0];
  o[1] = x->dims[1];
  for (size_t i = 0; i < nk; i++) {
    const Dim *d = &x->dims[2 + i];
    int64_t v = known(d) ? (d->value - 1) * st[i] + k[i] - p[i] - p[nk + i] : -1;
    o[2 + i] = known(d) && v >= 0 ? dim_of(v) : dim_unknown();
  }
  set_out(c, 0, mk(c, e, x->rank, o));
  return 0;
}

/* StringSplit: substrings string [*X, ?], lengths int64 like X. */
int ir_infer_string_split(InferCtx *c) {
  const Type *x = shaped(c, 0);
  if (x && x->rank < MAXR) {
    Dim o[MAXR];
    memcpy(o, x->dims, (size_t)x->rank * sizeof *o);
    o[x->rank] = dim_unknown();
    set_out(c, 0, mk(c, ELEM_STRING, x->rank + 1, o));
  } else {
    set_out(c, 0, mk(c, ELEM_STRING, -1, NULL));
  }
  out_like(c, 1, ELEM_INT64, 0);
  return 0;
}

/* StringNormalizer: [C] or [1, C]; stopwords can shorten (or empty to one string) the last
 * axis. */
int ir_infer_string_normalizer(InferCtx *c) {
  const Type *x = shaped(c, 0);
  if (!x || (x->rank != 1 && x->rank != 2) || !ir_node_attr(c->node, "stopwords"))
    return out_like(c, 0, ELEM_STRING, 0), 0;
  Dim o[2] = {x->dims[0], dim_unknown()};
  if (x->rank == 1) o[0] = dim_unknown();
  set_out(c, 0, mk(c, ELEM_STRING, x->rank, o));
  return 0;
}

/* TfIdfVectorizer: float [max(ngram_indexes) + 1] or [N, max + 1]. */
int ir_infer_tfidf(InferCtx *c) {
  const Type *x = shaped(c, 0);
  size_t n;
  const int64_t *ix = ir_attr_ints(c->node, "ngram_indexes", &n);
  int64_t mx = -1;
  for (size_t i = 0; ix && i < n; i++) mx = ix[i] > mx ? ix[i] : mx;
  Dim w = ix && n ? dim_of(mx + 1) : dim_unknown();
  if (!x || (x->rank != 1 && x->rank != 2)) return set_out(c, 0, mk(c, ELEM_FLOAT, -1, NULL)), 0;
  Dim o[2] = {x->dims[0], w};
  set_out(c, 0, x->rank == 1 ? mk(c, ELEM_FLOAT, 1, &w) : mk(c, ELEM_FLOAT, 2, o));
  return 0;
}

/* ai.onnx.ml LabelEncoder: the input's shape; the type of the values attribute (v1, and
 * CategoryMapper: int64 <-> string). */
int ir_infer_label_encoder(InferCtx *c) {
  ElemType e = ELEM_UNDEFINED;
  const Attr *t = ir_node_attr(c->node, "values_tensor");
  if (c->op && c->op->since < 2)
    e = ein(c, 0) == ELEM_STRING ? ELEM_INT64 : ein(c, 0) == ELEM_INT64 ? ELEM_STRING : ELEM_UNDEFINED;
  else if (t && !t->ref_attr_name && t->type == ATTR_TENSOR && t->t)
    e = t->t->elem;
  else if (ir_node_attr(c->node, "values_strings"))
    e = ELEM_STRING;
  else if (ir_node_attr(c->node, "values_int64s"))
    e = ELEM_INT64;
  else if (ir_node_attr(c->node, "values_floats"))
    e = ELEM_FLOAT;
  if (e) out_like(c, 0, e, 0);
  return 0;
}

/* ai.onnx.ml regressors on X [N, C]: [N, targets]; TreeEnsemble (5) keeps X's type, the
 * older ones are float. */
int ir_infer_regressor(InferCtx *c) {
  const Type *x = shaped(c, 0);
  bool te = is(c, "ml_TreeEnsemble");
  ElemType e = te ? ein(c, 0) : ELEM_FLOAT;
  bool lin = is(c, "ml_LinearRegressor"); /* targets defaults to 1; n_targets has no default */
  int64_t t = ir_attr_int(c->node, lin ? "targets" : "n_targets", lin ? 1 : -1);
  if (!x || x->rank != 2) return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  Dim o[2] = {x->dims[0], t > 0 ? dim_of(t) : dim_unknown()};
  set_out(c, 0, mk(c, e, 2, o));
  return 0;
}

/* ------------------------------------------------------------------ whole model */

/* Append g to a vector of graphs. */
static void collect(Graph *g, Graph ***v, size_t *n, size_t *cap) {
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 16;
    *v = realloc(*v, *cap * sizeof **v);
    if (!*v) abort();
  }
  (*v)[(*n)++] = g;
}

static const char *dim_str(const Dim *d, char *buf, size_t n) {
  if (d->param)
    snprintf(buf, n, "%s", d->param);
  else if (d->value >= 0)
    snprintf(buf, n, "%lld", (long long)d->value);
  else
    snprintf(buf, n, "?");
  return buf;
}

/* Check an inferred type against a declared one; fill the declared type's unknown parts.
 * Returns the type to keep, or NULL after reporting a contradiction. */
static Type *merge(Arena *a, const Node *n, Value *v, Type *decl, const Type *inf, Diag *d) {
  if (!decl) return (Type *)inf;
  if (decl->kind != TYPE_TENSOR || inf->kind != TYPE_TENSOR) return decl;
  char t1[128], t2[128];
  if (decl->elem && inf->elem && decl->elem != inf->elem) goto bad;
  if (decl->rank >= 0 && inf->rank >= 0 && decl->rank != inf->rank) goto bad;
  for (int i = 0; i < decl->rank && inf->rank == decl->rank; i++)
    if (known(&decl->dims[i]) && known(&inf->dims[i]) && decl->dims[i].value != inf->dims[i].value)
      goto bad;
  bool change = (!decl->elem && inf->elem) || (decl->rank < 0 && inf->rank >= 0);
  for (int i = 0; i < decl->rank && inf->rank == decl->rank && !change; i++)
    change = decl->dims[i].value < 0 && !decl->dims[i].param &&
             (known(&inf->dims[i]) || inf->dims[i].param);
  if (!change) return decl;
  Type *t = ir_type_new(a, TYPE_TENSOR);
  *t = *decl;
  if (!t->elem) t->elem = inf->elem;
  if (decl->rank < 0) {
    t->rank = inf->rank;
    t->dims = inf->dims;
    return t;
  }
  t->dims = ir_arena_alloc(a, (size_t)t->rank * sizeof *t->dims);
  for (int i = 0; i < t->rank; i++)
    t->dims[i] = decl->dims[i].value < 0 && !decl->dims[i].param ? inf->dims[i] : decl->dims[i];
  return t;
bad:
  ir_type_to_str(decl, t1, sizeof t1);
  ir_type_to_str(inf, t2, sizeof t2);
  ir_error(d, n->loc, "%s: '%s' is declared %s but the operator produces %s",
           n->op ? n->op->name : n->op_type, v->name, t1, t2);
  (void)dim_str;
  return NULL;
}

/* The constant data of a value as inference sees it: initializers that no input can
 * override, and outputs of Constant (and of Shape with a known input shape). */
static const Tensor *value_data(const Value *v, const Tensor **side, uint32_t nside) {
  if (!v) return NULL;
  if (v->init && v->init->has_data) {
    const Graph *g = v->graph;
    for (int i = 0; g && i < g->n_inputs; i++)
      if (g->inputs[i] == v) return NULL;
    return v->init;
  }
  return v->id < nside ? side[v->id] : NULL;
}

static Type *init_type(Arena *a, const Tensor *t) {
  Type *ty = ir_type_tensor(a, t->elem, t->rank, t->dims);
  return ty;
}

static void record_data(Model *m, const Node *n, const Type *const *in, const Tensor **side,
                        uint32_t nside) {
  Value *o = n->n_outputs > 0 ? n->outputs[0] : NULL;
  if (!o || o->id >= nside || !n->op) return;
  if (!strcmp(n->op->family, "Constant")) {
    const Attr *a = ir_node_attr(n, "value");
    if (a && !a->ref_attr_name && a->type == ATTR_TENSOR && a->t && a->t->has_data)
      side[o->id] = a->t;
    a = ir_node_attr(n, "value_ints");
    if (a && !a->ref_attr_name && a->type == ATTR_INTS) {
      int64_t len = (int64_t)a->n;
      Tensor *t = ir_tensor_new(&m->arena, ELEM_INT64, 1, &len);
      if (ir_tensor_alloc_data(&m->arena, t)) {
        if (a->n) memcpy(t->data, a->ints, a->n * sizeof *a->ints);
        t->has_data = true;
        side[o->id] = t;
      }
    }
    a = ir_node_attr(n, "value_int");
    if (a && !a->ref_attr_name && a->type == ATTR_INT) {
      Tensor *t = ir_tensor_new(&m->arena, ELEM_INT64, 0, NULL);
      if (ir_tensor_alloc_data(&m->arena, t)) {
        *(int64_t *)t->data = a->i;
        t->has_data = true;
        side[o->id] = t;
      }
    }
  } else if (!strcmp(n->op->family, "Shape") && in[0] && in[0]->kind == TYPE_TENSOR &&
             in[0]->rank >= 0) {
    const Type *x = in[0];
    for (int i = 0; i < x->rank; i++)
      if (!known(&x->dims[i])) return;
    int64_t s = ir_attr_int(n, "start", 0), e = ir_attr_int(n, "end", x->rank);
    if (s < 0) s += x->rank;
    if (e < 0) e += x->rank;
    s = s < 0 ? 0 : s > x->rank ? x->rank : s;
    e = e < 0 ? 0 : e > x->rank ? x->rank : e;
    int64_t len = e > s ? e - s : 0;
    Tensor *t = ir_tensor_new(&m->arena, ELEM_INT64, 1, &len);
    if (!ir_tensor_alloc_data(&m->arena, t)) return;
    for (int64_t i = 0; i < len; i++) ((int64_t *)t->data)[i] = x->dims[s + i].value;
    t->has_data = true;
    side[o->id] = t;
  }
}

/* Small integer data computed during inference (ONNX's "data propagation"): shape
 * arithmetic on int64/int32 constants, so Reshape/Expand/Range/... downstream of Shape see
 * constants. Up to PROP_MAX elements. */
#define PROP_MAX 64

static Tensor *int_tensor(Model *m, int rank, const int64_t *dims, const int64_t *v, uint64_t n) {
  Tensor *t = ir_tensor_new(&m->arena, ELEM_INT64, rank, dims);
  if (!ir_tensor_alloc_data(&m->arena, t)) return NULL;
  if (n) memcpy(t->data, v, n * sizeof *v);
  t->has_data = true;
  return t;
}

static bool read_ints(const Tensor *t, int64_t *v, uint64_t *n) {
  if (!t || !t->has_data || (t->elem != ELEM_INT64 && t->elem != ELEM_INT32) || t->rank > 1)
    return false;
  if (!ir_tensor_numel(t, n) || *n > PROP_MAX) return false;
  for (uint64_t k = 0; k < *n; k++)
    v[k] = t->elem == ELEM_INT64 ? ((const int64_t *)t->data)[k] : ((const int32_t *)t->data)[k];
  return true;
}

static const Tensor *propagate(Model *m, const Node *n, const Type *const *in,
                               const Tensor *const *ind) {
  const char *f = n->op->family;
  int64_t a[PROP_MAX], b[PROP_MAX], r[PROP_MAX];
  uint64_t na, nb, nr = 0;
  int64_t len;
  if (!strcmp(f, "Size") && n->n_inputs == 1) {
    uint64_t cnt;
    if (!ir_type_numel(in[0], &cnt)) return NULL;
    a[0] = (int64_t)cnt;
    return int_tensor(m, 0, NULL, a, 1);
  }
  if (n->n_inputs < 1 || !read_ints(ind[0], a, &na)) return NULL;
  if (!strcmp(f, "ConstantOfShape") && ind[0]->rank == 1) {
    const Attr *v = ir_node_attr(n, "value");
    int64_t fill = 0;
    if (v && v->type == ATTR_TENSOR && v->t) {
      if (v->t->elem != ELEM_INT64 || !v->t->has_data) return NULL;
      fill = ((const int64_t *)v->t->data)[0];
    }
    if (na != 1 || a[0] < 0 || a[0] > PROP_MAX) return NULL;
    for (int64_t k = 0; k < a[0]; k++) r[k] = fill;
    len = a[0];
    return int_tensor(m, 1, &len, r, (uint64_t)a[0]);
  }
  if (!strcmp(f, "Identity") || (!strcmp(f, "Cast") && ir_attr_int(n, "to", 0) == ELEM_INT64))
    return int_tensor(m, ind[0]->rank, ind[0]->dims, a, na);
  if (!strcmp(f, "Squeeze") && na == 1) return int_tensor(m, 0, NULL, a, 1);
  if (!strcmp(f, "Unsqueeze") && ind[0]->rank == 0) {
    len = 1;
    return int_tensor(m, 1, &len, a, 1);
  }
  if (!strcmp(f, "Reshape") && na == 1) {
    /* scalar <-> [1] */
    const Value *o = n->outputs[0];
    if (o && o->type && o->type->rank == 0) return int_tensor(m, 0, NULL, a, 1);
    len = 1;
    return int_tensor(m, 1, &len, a, 1);
  }
  if (!strcmp(f, "Concat")) {
    for (int i = 0; i < n->n_inputs; i++) {
      if (!read_ints(ind[i], b, &nb) || nr + nb > PROP_MAX || ind[i]->rank != 1) return NULL;
      memcpy(r + nr, b, nb * sizeof *b);
      nr += nb;
    }
    len = (int64_t)nr;
    return int_tensor(m, 1, &len, r, nr);
  }
  if (!strcmp(f, "Gather") && n->n_inputs > 1 && ir_attr_int(n, "axis", 0) == 0 &&
      ind[0]->rank == 1 && ind[1] && ind[1]->rank <= 1 && read_ints(ind[1], b, &nb)) {
    for (uint64_t k = 0; k < nb; k++) {
      int64_t i = b[k] < 0 ? b[k] + (int64_t)na : b[k];
      if (i < 0 || i >= (int64_t)na) return NULL;
      r[k] = a[i];
    }
    len = (int64_t)nb;
    return int_tensor(m, ind[1]->rank, ind[1]->rank ? &len : NULL, r, nb);
  }
  if (!strcmp(f, "Slice") && n->op->since >= 10 && n->n_inputs >= 3 && ind[0]->rank == 1) {
    int64_t s, e, st = 1;
    uint64_t q;
    if (!read_ints(ind[1], &s, &q) || q != 1 || !read_ints(ind[2], &e, &q) || q != 1) return NULL;
    if (n->n_inputs > 4 && n->inputs[4] && (!read_ints(ind[4], &st, &q) || q != 1)) return NULL;
    if (n->n_inputs > 3 && n->inputs[3]) {
      int64_t ax;
      if (!read_ints(ind[3], &ax, &q) || q != 1 || (ax != 0 && ax != -1)) return NULL;
    }
    if (st == 0) return NULL;
    int64_t d = (int64_t)na;
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (st > 0) {
      s = s < 0 ? 0 : s > d ? d : s;
      e = e < 0 ? 0 : e > d ? d : e;
      for (int64_t i = s; i < e; i += st) r[nr++] = a[i];
    } else {
      s = s < 0 ? -1 : s > d - 1 ? d - 1 : s;
      e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
      for (int64_t i = s; i > e; i += st) r[nr++] = a[i];
    }
    len = (int64_t)nr;
    return int_tensor(m, 1, &len, r, nr);
  }
  static const char *const arith[] = {"Add", "Sub", "Mul", "Div", "Max", "Min", NULL};
  int op = 0;
  while (arith[op] && strcmp(f, arith[op])) op++;
  if (arith[op] && n->n_inputs == 2 && read_ints(ind[1], b, &nb) &&
      (na == nb || na == 1 || nb == 1)) {
    nr = na > nb ? na : nb;
    for (uint64_t k = 0; k < nr; k++) {
      int64_t x = a[na == 1 ? 0 : k], y = b[nb == 1 ? 0 : k];
      switch (op) {
      case 0:
        r[k] = (int64_t)((uint64_t)x + (uint64_t)y);
        break;
      case 1:
        r[k] = (int64_t)((uint64_t)x - (uint64_t)y);
        break;
      case 2:
        r[k] = (int64_t)((uint64_t)x * (uint64_t)y);
        break;
      case 3:
        if (y == 0 || (x == INT64_MIN && y == -1)) return NULL;
        r[k] = x / y;
        break;
      case 4:
        r[k] = x > y ? x : y;
        break;
      default:
        r[k] = x < y ? x : y;
        break;
      }
    }
    const Tensor *shape_of = na >= nb ? ind[0] : ind[1];
    if (ind[0]->elem != ind[1]->elem) return NULL;
    Tensor *t = int_tensor(m, shape_of->rank, shape_of->dims, r, nr);
    if (t && ind[0]->elem == ELEM_INT32) { /* keep the type: rewrite as int32 */
      Tensor *u = ir_tensor_new(&m->arena, ELEM_INT32, t->rank, t->dims);
      if (!ir_tensor_alloc_data(&m->arena, u)) return NULL;
      for (uint64_t k = 0; k < nr; k++) ((int32_t *)u->data)[k] = (int32_t)r[k];
      u->has_data = true;
      return u;
    }
    return t;
  }
  return NULL;
}

/* Before a Loop's or Scan's body is inferred: give its untyped formal inputs what the node
 * says of them. Loop: the iteration number (int64 scalar), cond (bool scalar), and the
 * element type of each loop-carried value (its shape may change between iterations). Scan:
 * the states' element types and each scan input's slice (its shape without the scan axis;
 * Scan-8 drops the batch axis too). */
static void seed_body(Model *m, const Node *n) {
  if (!n->op || (strcmp(n->op->family, "Loop") && strcmp(n->op->family, "Scan"))) return;
  const Attr *b = ir_node_attr(n, "body");
  if (!b || b->ref_attr_name || b->type != ATTR_GRAPH || !b->g) return;
  Graph *g = b->g;
  bool loop = !strcmp(n->op->family, "Loop"), v8 = !loop && n->op->since < 9;
  int first = loop ? 0 : v8 ? 1 : 0, ns = 0;
  int64_t nscan = loop ? 0 : ir_attr_int(n, "num_scan_inputs", -1);
  size_t nax = 0;
  const int64_t *axes = loop || v8 ? NULL : ir_attr_ints(n, "scan_input_axes", &nax);
  if (loop) {
    if (g->n_inputs != n->n_inputs) return;
  } else {
    ns = n->n_inputs - first - (int)nscan;
    if (nscan < 1 || ns < 0 || g->n_inputs != ns + nscan || (axes && nax != (size_t)nscan)) return;
  }
  for (int i = 0; i < g->n_inputs; i++) {
    Value *v = g->inputs[i];
    if (!v || v->type) continue;
    if (loop && i < 2) {
      v->type = ir_type_tensor(&m->arena, i == 0 ? ELEM_INT64 : ELEM_BOOL, 0, NULL);
      continue;
    }
    const Value *src = n->inputs[loop ? i : first + i];
    const Type *t = src ? src->type : NULL;
    if (!t && src && src->init) t = init_type(&m->arena, src->init);
    if (!t || t->kind != TYPE_TENSOR || !t->elem) continue;
    bool scan_in = !loop && i >= ns;
    if (!scan_in || t->rank < 0) {
      v->type = ir_type_tensor(&m->arena, t->elem, -1, NULL);
      continue;
    }
    /* a scan input's slice: drop the scan axis (Scan-8: batch and sequence axes) */
    int64_t ax = v8 ? 1 : axes ? axes[i - ns] : 0;
    if (ax < -t->rank || ax >= t->rank || (v8 && t->rank < 2)) continue;
    if (ax < 0) ax += t->rank;
    Type *s = ir_type_tensor(&m->arena, t->elem, t->rank - (v8 ? 2 : 1), NULL);
    for (int k = 0, q = 0; k < t->rank; k++)
      if (k != ax && !(v8 && k == 0)) s->dims[q++] = t->dims[k];
    v->type = s;
  }
}

typedef struct SavedType {
  Value *v;
  Type *t;
} SavedType;
typedef IR_VEC(SavedType) SavedTypes;

static void save_value(SavedTypes *s, Value *v) {
  if (v) ir_vec_push(*s, ((SavedType){v, v->type}));
}

/* Scratch arrays for one node's inputs and outputs, grown as needed. */
typedef struct Bufs {
  const Type **in;
  const Tensor **ind;
  Type **out;
  int incap, outcap;
} Bufs;

/* t with its rank-4 shape moved between NCHW and NHWC (ir_node_nhwc), else t. */
static Type *nhwc_type(Arena *a, const Type *t, bool to_nhwc) {
  if (!t || t->kind != TYPE_TENSOR || t->rank != 4 || !t->dims) return (Type *)t;
  Type *r = ir_type_tensor(a, t->elem, 4, NULL);
  static const int to[4] = {0, 2, 3, 1}, from[4] = {0, 3, 1, 2};
  for (int i = 0; i < 4; i++) r->dims[i] = t->dims[to_nhwc ? to[i] : from[i]];
  return r;
}

/* Run n's rule, merge what it infers into n's outputs, record constant data. */
static void infer_node(Model *m, Node *n, Diag *d, const Tensor **side, uint32_t nside, Bufs *b) {
  if (n->n_inputs > b->incap) {
    b->incap = n->n_inputs * 2;
    b->in = realloc(b->in, (size_t)b->incap * sizeof *b->in);
    b->ind = realloc(b->ind, (size_t)b->incap * sizeof *b->ind);
    if (!b->in || !b->ind) abort();
  }
  if (n->n_outputs > b->outcap) {
    b->outcap = n->n_outputs * 2;
    b->out = realloc(b->out, (size_t)b->outcap * sizeof *b->out);
    if (!b->out) abort();
  }
  for (int j = 0; j < n->n_inputs; j++) {
    Value *v = n->inputs[j];
    b->in[j] = v ? v->type : NULL;
    if (v && !v->type && v->init) b->in[j] = v->type = init_type(&m->arena, v->init);
    b->ind[j] = value_data(v, side, nside);
  }
  for (int j = 0; j < n->n_outputs; j++) b->out[j] = NULL;
  bool nhwc = ir_node_nhwc(n); /* the rule sees ONNX's NCHW images */
  for (int j = 0; nhwc && j < n->n_inputs; j++)
    if (ir_nhwc_input(n, j)) b->in[j] = nhwc_type(&m->arena, b->in[j], false);
  InferCtx c = {n, n->op, b->in, b->ind, b->out, &m->arena, d, 0};
  if (n->op->infer(&c) != 0) return;
  if (nhwc && n->n_outputs > 0) b->out[0] = nhwc_type(&m->arena, b->out[0], true);
  for (int j = 0; j < n->n_outputs; j++) {
    Value *v = n->outputs[j];
    if (!v || !b->out[j]) continue;
    /* an inferred type without element type or shape says nothing */
    if (!b->out[j]->elem && (b->out[j]->rank < 0 || !v->type)) continue;
    Type *t = merge(&m->arena, n, v, v->type, b->out[j], d);
    if (t) v->type = t;
  }
  record_data(m, n, b->in, side, nside);
  Value *o0 = n->n_outputs > 0 ? n->outputs[0] : NULL;
  if (o0 && o0->id < nside && !side[o0->id]) side[o0->id] = propagate(m, n, b->in, b->ind);
}

/* A call of a model-local function: infer its body with the formal inputs typed as the
 * call's actual inputs, give the call's outputs what the body's outputs get, then put
 * every type of the body back (the function stays generic). Bodies with attribute
 * references, subgraphs or rule-less operators are left alone; nested calls stay unknown.
 * Contradictions inside the body are not reported (the call's outputs then stay as
 * declared). */
static void infer_call(Model *m, Node *n, Diag *d, const Tensor **side, uint32_t nside, Bufs *b) {
  Function *f = ir_model_find_function(m, n->domain, n->op_type, n->overload);
  Graph *g = f ? f->body : NULL;
  if (!g || n->n_inputs > g->n_inputs || n->n_outputs > g->n_outputs) return;
  for (size_t i = 0; i < g->nodes.n; i++) {
    const Node *q = g->nodes.v[i];
    if (!q || !q->op || !q->op->infer) return;
    for (int k = 0; k < q->n_attrs; k++)
      if (q->attrs[k].ref_attr_name || q->attrs[k].type == ATTR_GRAPH ||
          q->attrs[k].type == ATTR_GRAPHS)
        return;
  }
  SavedTypes saved = {0};
  for (int i = 0; i < g->n_inputs; i++) save_value(&saved, g->inputs[i]);
  for (size_t i = 0; i < g->nodes.n; i++)
    for (int k = 0; k < g->nodes.v[i]->n_outputs; k++) save_value(&saved, g->nodes.v[i]->outputs[k]);
  for (int i = 0; i < g->n_inputs; i++) {
    Value *v = g->inputs[i], *a = i < n->n_inputs ? n->inputs[i] : NULL;
    if (!v || v->type || !a) continue;
    if (!a->type && a->init) a->type = init_type(&m->arena, a->init);
    v->type = a->type;
    if (v->id < nside) side[v->id] = value_data(a, side, nside);
  }
  Diag mute = *d;
  mute.errors = 0;
  mute.max_errors = -1; /* counts, never prints */
  for (size_t i = 0; i < g->nodes.n; i++) infer_node(m, g->nodes.v[i], &mute, side, nside, b);
  for (int j = 0; j < n->n_outputs && !mute.errors; j++) {
    Value *v = n->outputs[j], *fo = g->outputs[j];
    const Type *t = fo ? fo->type : NULL;
    if (!v || !t || t->kind != TYPE_TENSOR || (!t->elem && t->rank < 0)) continue;
    Type *u = merge(&m->arena, n, v, v->type, t, d);
    if (u) v->type = u;
  }
  /* restore in reverse (a value listed twice gets its first type back); forget the body's
   * constant data, which belonged to this call */
  for (size_t i = saved.n; i-- > 0;) {
    Value *v = saved.v[i].v;
    v->type = saved.v[i].t;
    if (v->id < nside) side[v->id] = NULL;
  }
  ir_vec_free(saved);
}

/* A graph being walked: the next node, and whether that node's subgraphs are done. */
typedef struct Frame {
  Graph *g;
  size_t i;
  bool subs_done;
} Frame;

static void push_frame(Model *m, Frame **st, size_t *n, size_t *cap, Graph *g) {
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 16;
    *st = realloc(*st, *cap * sizeof **st);
    if (!*st) abort();
  }
  (*st)[(*n)++] = (Frame){g, 0, false};
  for (size_t i = 0; i < g->initializers.n; i++) {
    Value *v = g->initializers.v[i];
    if (v && !v->type && v->init) v->type = init_type(&m->arena, v->init);
  }
}

int ir_infer_model(Model *m, Diag *d) {
  ir_bind_ops(m);
  int errors = d->errors;
  uint32_t nside = m->next_value_id;
  const Tensor **side = calloc(nside ? nside : 1, sizeof *side);
  if (!side) abort();
  /* depth first with an explicit stack: a node's subgraphs are inferred before the node
   * (If takes its branches' output types), and nothing recurses on the C stack */
  Frame *st = NULL;
  size_t nst = 0, cap = 0;
  if (m->graph) push_frame(m, &st, &nst, &cap, m->graph);
  Bufs b = {0};
  Graph **subs = NULL;
  size_t nsubs = 0, subcap = 0;
  while (nst > 0) {
    Frame *f = &st[nst - 1];
    if (f->i >= f->g->nodes.n) {
      nst--;
      continue;
    }
    Node *n = f->g->nodes.v[f->i];
    if (!n) {
      f->i++;
      continue;
    }
    if (!f->subs_done) {
      f->subs_done = true;
      nsubs = 0;
      for (int j = 0; j < n->n_attrs; j++) {
        const Attr *a = &n->attrs[j];
        if (a->ref_attr_name) continue;
        if (a->type == ATTR_GRAPH && a->g) collect(a->g, &subs, &nsubs, &subcap);
        if (a->type == ATTR_GRAPHS)
          for (size_t q = 0; q < a->n; q++)
            if (a->graphs[q]) collect(a->graphs[q], &subs, &nsubs, &subcap);
      }
      if (nsubs) seed_body(m, n);
      for (size_t q = nsubs; q-- > 0;) push_frame(m, &st, &nst, &cap, subs[q]);
      continue;
    }
    f->i++;
    f->subs_done = false;
    if (!n->op) {
      infer_call(m, n, d, side, nside, &b);
      continue;
    }
    if (!n->op->infer) continue;
    infer_node(m, n, d, side, nside, &b);
  }
  free(b.in);
  free(b.ind);
  free(b.out);
  free(subs);
  free(st);
  free(side);
  return d->errors > errors ? -1 : 0;
}

/* ------------------------------------------------------------------ checking only */

int ir_infer_check(Model *m, Diag *d) {
  SavedTypes saved = {0};
  for (size_t gi = 0; gi < m->all_graphs.n; gi++) {
    Graph *g = m->all_graphs.v[gi];
    for (int i = 0; i < g->n_inputs; i++) save_value(&saved, g->inputs[i]);
    for (int i = 0; i < g->n_outputs; i++) save_value(&saved, g->outputs[i]);
    for (size_t i = 0; i < g->initializers.n; i++) save_value(&saved, g->initializers.v[i]);
    for (size_t i = 0; i < g->value_infos.n; i++) save_value(&saved, g->value_infos.v[i]);
    for (size_t i = 0; i < g->nodes.n; i++)
      for (int k = 0; k < g->nodes.v[i]->n_outputs; k++) save_value(&saved, g->nodes.v[i]->outputs[k]);
  }
  int rc = ir_infer_model(m, d);
  /* restore in reverse: a value listed twice gets its first (original) type back */
  for (size_t i = saved.n; i-- > 0;) saved.v[i].v->type = saved.v[i].t;
  ir_vec_free(saved);
  return rc;
}

/* ------------------------------------------------------------------ effc.qc (quantum) */
/* Qubits are opaque(effc.qc, qubit); angles are float scalars (rank 0 or [1]). These rules
 * check the kinds of the inputs and give every qubit output the qubit type. */

static int qc_fail(InferCtx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int qc_fail(InferCtx *c, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ir_error(c->d, c->node->loc, "%s: %s", opname(c), msg);
  return -1;
}

static Type *qc_qubit_type(InferCtx *c) {
  Type *t = ir_type_new(c->a, TYPE_OPAQUE);
  t->opaque_domain = "effc.qc";
  t->opaque_name = "qubit";
  return t;
}

static bool qc_is_qubit(const Type *t) {
  return t && t->kind == TYPE_OPAQUE && t->opaque_domain && !strcmp(t->opaque_domain, "effc.qc") &&
         t->opaque_name && !strcmp(t->opaque_name, "qubit");
}

/* Inputs [first, last) must be qubits where their type is known. */
static int qc_check_qubits(InferCtx *c, int first, int last) {
  for (int i = first; i < last && i < nin(c); i++)
    if (c->in[i] && !qc_is_qubit(c->in[i]))
      return qc_fail(c, "input %d must be a qubit (opaque(effc.qc, qubit))", i);
  return 0;
}

/* Input i, when known, must be a float scalar (an angle) or, for templates, a float tensor. */
static int qc_check_angle(InferCtx *c, int i, bool scalar) {
  const Type *t = i < nin(c) ? c->in[i] : NULL;
  if (!t) return 0;
  if (t->kind != TYPE_TENSOR || (t->elem && !ir_elem(t->elem)->is_float) ||
      (scalar && t->rank > 1) || (scalar && t->rank == 1 && known(&t->dims[0]) && t->dims[0].value != 1))
    return qc_fail(c, "input %d must be a float %s", i, scalar ? "scalar (an angle)" : "tensor");
  return 0;
}

int ir_infer_qc_alloc(InferCtx *c) {
  for (int i = 0; i < c->node->n_outputs; i++) set_out(c, i, qc_qubit_type(c));
  return 0;
}

/* Gates: the first n_outputs inputs are qubits, the rest angles. */
int ir_infer_qc_gate(InferCtx *c) {
  int nq = c->node->n_outputs;
  if (nin(c) < nq) return qc_fail(c, "%d qubit inputs for %d qubit outputs", nin(c), nq);
  if (qc_check_qubits(c, 0, nq) < 0) return -1;
  for (int i = nq; i < nin(c); i++)
    if (qc_check_angle(c, i, true) < 0) return -1;
  for (int i = 0; i < nq; i++) set_out(c, i, qc_qubit_type(c));
  return 0;
}

/* Measure: (qubit) -> (qubit, float scalar: the probability of reading 1). */
int ir_infer_qc_measure(InferCtx *c) {
  if (qc_check_qubits(c, 0, 1) < 0) return -1;
  set_out(c, 0, qc_qubit_type(c));
  set_out(c, 1, mk(c, ELEM_FLOAT, 0, NULL));
  return 0;
}

/* Expval: one Pauli string per term, one letter (I, X, Y, Z) per qubit input. */
int ir_infer_qc_expval(InferCtx *c) {
  if (qc_check_qubits(c, 0, nin(c)) < 0) return -1;
  const Attr *p = ir_node_attr(c->node, "paulis");
  if (p && p->type == ATTR_STRINGS) {
    size_t nc = 0;
    ir_attr_floats(c->node, "coeffs", &nc);
    if (nc && nc != p->n) return qc_fail(c, "%zu coefficients for %zu Pauli strings", nc, p->n);
    for (size_t k = 0; k < p->n; k++) {
      if ((int)p->strings[k].len != nin(c))
        return qc_fail(c, "Pauli string %zu has %zu letters, not one per qubit input (%d)", k,
                       p->strings[k].len, nin(c));
      for (size_t j = 0; j < p->strings[k].len; j++)
        if (!strchr("IXYZ", p->strings[k].s[j]) || !p->strings[k].s[j])
          return qc_fail(c, "Pauli string %zu: letters must be I, X, Y or Z", k);
    }
  }
  set_out(c, 0, mk(c, ELEM_FLOAT, 0, NULL));
  return 0;
}

/* Probs: the 2^k basis-state probabilities of its k qubits (input 0 is bit 0). */
int ir_infer_qc_probs(InferCtx *c) {
  if (qc_check_qubits(c, 0, nin(c)) < 0) return -1;
  if (nin(c) > 26) return qc_fail(c, "%d qubits: at most 26", nin(c));
  Dim d = dim_of((int64_t)1 << nin(c));
  set_out(c, 0, mk(c, ELEM_FLOAT, 1, &d));
  return 0;
}

/* Templates: qubits..., then one float tensor of parameters; qubits out in the same order. */
int ir_infer_qc_template(InferCtx *c) {
  int nq = nin(c) - 1;
  if (c->node->n_outputs != nq)
    return qc_fail(c, "%d qubit outputs for %d qubit inputs", c->node->n_outputs, nq);
  if (qc_check_qubits(c, 0, nq) < 0 || qc_check_angle(c, nq, false) < 0) return -1;
  for (int i = 0; i < nq; i++) set_out(c, i, qc_qubit_type(c));
  return 0;
}

/* ------------------------------------------------------------------ com.microsoft quantized */

/* QLinearAdd, QLinearMul: A (input 0) and B (input 3) broadcast; A's type. */
int ir_infer_qlinear_binary(InferCtx *c) {
  const Type *a = shaped(c, 0), *b = shaped(c, 3);
  if (!a || !b) return set_out(c, 0, mk(c, ein(c, 0), -1, NULL)), 0;
  int r = a->rank > b->rank ? a->rank : b->rank;
  Dim o[MAXR];
  for (int k = 0; k < r; k++) {
    int ka = k - (r - a->rank), kb = k - (r - b->rank);
    Dim x = ka >= 0 ? a->dims[ka] : dim_of(1), y = kb >= 0 ? b->dims[kb] : dim_of(1);
    if (!bcast_dim(x, y, &o[k]))
      return fail(c, "input shapes do not broadcast (%s%lld vs %lld)", "", (long long)x.value,
                  (long long)y.value);
  }
  set_out(c, 0, mk(c, ein(c, 0), r, o));
  return 0;
}

/* QLinearGlobalAveragePool: [N, C, 1...] (channels_last: [N, 1..., C]). */
int ir_infer_qlinear_gap(InferCtx *c) {
  const Type *x = shaped(c, 0);
  if (!x || x->rank < 3) return out_like(c, 0, ein(c, 0), -1), 0;
  bool last = ir_attr_int(c->node, "channels_last", 0) != 0;
  Dim o[MAXR];
  for (int i = 0; i < x->rank; i++)
    o[i] = i == 0 || i == (last ? x->rank - 1 : 1) ? x->dims[i] : dim_of(1);
  set_out(c, 0, mk(c, ein(c, 0), x->rank, o));
  return 0;
}

/* QLinearConcat: Y_scale, Y_zero_point, then (X, X_scale, X_zero_point) triples. */
int ir_infer_qlinear_concat(InferCtx *c) {
  if ((nin(c) - 2) % 3) return fail(c, "%s%lld inputs: expected 2 + 3 per tensor", "", nin(c), 0);
  const Type *f = NULL;
  for (int i = 2; i < nin(c) && !f; i += 3) f = shaped(c, i);
  ElemType e = ein(c, 1) ? ein(c, 1) : ein(c, 2);
  if (!f) return set_out(c, 0, mk(c, e, -1, NULL)), 0;
  int r = f->rank;
  int64_t ax = ir_attr_int(c->node, "axis", 0);
  if (!norm_axis(&ax, r)) return fail(c, "axis %s%lld out of range for rank %lld", "", ax, r);
  Dim o[MAXR];
  memcpy(o, f->dims, (size_t)r * sizeof *o);
  int64_t sum = 0;
  bool sum_ok = true;
  for (int i = 2; i < nin(c); i += 3) {
    const Type *t = shaped(c, i);
    if (!t || t->rank != r || !known(&t->dims[ax])) {
      if (t && t->rank != r) return fail(c, "inputs have ranks %s%lld and %lld", "", r, t->rank);
      sum_ok = false;
      continue;
    }
    sum += t->dims[ax].value;
  }
  o[ax] = sum_ok ? dim_of(sum) : dim_unknown();
  set_out(c, 0, mk(c, e, r, o));
  return 0;
}

/* QGemm: A (0) [M, K] or [K, M], B (3) [K, N] or [N, K]; y_zero_point's type, float32
 * without y_scale. */
int ir_infer_qgemm(InferCtx *c) {
  const Type *a = shaped(c, 0), *b = shaped(c, 3);
  bool ta = ir_attr_int(c->node, "transA", 0), tb = ir_attr_int(c->node, "transB", 0);
  Dim o[2] = {dim_unknown(), dim_unknown()}, k1 = dim_unknown(), k2 = dim_unknown();
  if (a && a->rank == 2) o[0] = a->dims[ta ? 1 : 0], k1 = a->dims[ta ? 0 : 1];
  if (b && b->rank == 2) o[1] = b->dims[tb ? 0 : 1], k2 = b->dims[tb ? 1 : 0];
  if (known(&k1) && known(&k2) && k1.value != k2.value)
    return fail(c, "inner dimensions differ (%s%lld vs %lld)", "", k1.value, k2.value);
  bool quant = nin(c) > 7 && c->node->inputs[7];
  ElemType e = !quant ? ELEM_FLOAT : nin(c) > 8 && ein(c, 8) ? ein(c, 8) : ein(c, 0);
  set_out(c, 0, mk(c, e, 2, o));
  Dim k = known(&k1) ? k1 : k2;
  if (known(&o[0]) && known(&o[1]) && known(&k))
    c->macs = (uint64_t)o[0].value * (uint64_t)o[1].value * (uint64_t)k.value;
  return 0;
}
