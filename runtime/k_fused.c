/* k_fused.c - com.microsoft FusedConv and FusedGemm (as ONNX Runtime defines them): a Conv
 * or Gemm followed by an activation named in the `activation` attribute. float32 runs through
 * the shared kernels (kern/conv.c, kern/gemm.c) with the activation in their epilogue; other
 * types accumulate in double, round to the output type once, then apply the activation. */
#include "k_nn_util.h"

#include <math.h>
#include <string.h>

typedef enum {
  ACT_NONE,
  ACT_RELU,
  ACT_LEAKY,
  ACT_SIGMOID,
  ACT_TANH,
  ACT_CLIP,
  ACT_HARDSIGMOID
} ActKind;

typedef struct Act {
  ActKind kind;
  double a, b;
} Act;

static int get_act(RtCtx *c, bool gemm, Act *act) {
  const char *s = ir_attr_string(c->node, "activation", "");
  size_t n = 0;
  const float *p = gemm ? NULL : ir_attr_floats(c->node, "activation_params", &n);
  double p0 = n > 0 ? p[0] : NAN, p1 = n > 1 ? p[1] : NAN;
  if (gemm) {
    p0 = ir_attr_float(c->node, "activation_alpha", NAN);
    p1 = ir_attr_float(c->node, "activation_beta", NAN);
    if (!strcmp(s, "LeakyRelu") && isnan(p0)) p0 = ir_attr_float(c->node, "leaky_relu_alpha", NAN);
  }
  memset(act, 0, sizeof *act);
  if (!*s)
    act->kind = ACT_NONE;
  else if (!strcmp(s, "Relu"))
    act->kind = ACT_RELU;
  else if (!strcmp(s, "Sigmoid"))
    act->kind = ACT_SIGMOID;
  else if (!strcmp(s, "Tanh"))
    act->kind = ACT_TANH;
  else if (!strcmp(s, "LeakyRelu")) {
    act->kind = ACT_LEAKY;
    act->a = isnan(p0) ? 0.01 : p0;
  } else if (!strcmp(s, "HardSigmoid")) {
    act->kind = ACT_HARDSIGMOID;
    act->a = isnan(p0) ? 0.2 : p0;
    act->b = isnan(p1) ? 0.5 : p1;
  } else if (!strcmp(s, "Clip") && !gemm) {
    if (n != 2) return rt_error(c, "activation Clip needs activation_params [min, max]");
    act->kind = ACT_CLIP;
    act->a = p0;
    act->b = p1;
  } else
    return rt_error(c, "unsupported activation '%s'", s);
  return 0;
}

/* The activation of a value already rounded to the output type (as the unfused graph sees
 * it); float types compute in float where the unfused operators would. */
static double apply(const Act *a, double x, bool f32) {
  switch (a->kind) {
  case ACT_NONE:
    return x;
  case ACT_RELU:
    return x < 0 ? 0 : x;
  case ACT_LEAKY:
    return x < 0 ? (f32 ? (double)((float)a->a * (float)x) : a->a * x) : x;
  case ACT_SIGMOID:
    return f32 ? (double)(1.0f / (1.0f + expf(-(float)x))) : 1.0 / (1.0 + exp(-x));
  case ACT_TANH:
    return f32 ? (double)tanhf((float)x) : tanh(x);
  case ACT_CLIP:
    return x < a->a ? a->a : x > a->b ? a->b : x;
  case ACT_HARDSIGMOID: {
    double y = f32 ? (double)((float)a->a * (float)x + (float)a->b) : a->a * x + a->b;
    return y < 0 ? 0 : y > 1 ? 1 : y;
  }
  }
  return x;
}

static bool float_type(const RtValue *v) {
  return v && v->kind == TYPE_TENSOR &&
         (v->elem == ELEM_FLOAT || v->elem == ELEM_DOUBLE || v->elem == ELEM_FLOAT16 ||
          v->elem == ELEM_BFLOAT16);
}

/* The shared kernels' epilogue for an activation (no bias, no residual). */
static EffcEpilogue kern_epilogue(const Act *act) {
  static const EffcAct kinds[] = {[ACT_NONE] = EFFC_ACT_NONE,       [ACT_RELU] = EFFC_ACT_RELU,
                                  [ACT_LEAKY] = EFFC_ACT_LEAKY_RELU, [ACT_SIGMOID] = EFFC_ACT_SIGMOID,
                                  [ACT_TANH] = EFFC_ACT_TANH,       [ACT_CLIP] = EFFC_ACT_CLIP,
                                  [ACT_HARDSIGMOID] = EFFC_ACT_HARD_SIGMOID};
  EffcEpilogue e = {kinds[act->kind], (float)act->a, (float)act->b, NULL, NULL, 0};
  return e;
}

/* float32 1-D and 2-D convolutions by the shared kernel (kern/conv.c), the activation and Z
 * fused into its epilogue; false when not covered. */
static bool fused_conv_fast(const RtValue *x, const RtValue *w, const RtValue *b,
                            const RtValue *z, RtValue *y, const Act *act, int64_t group, int sp,
                            const int64_t *k, const int64_t *s, const int64_t *d,
                            const int64_t *p, const int64_t *o) {
  if (x->elem != ELEM_FLOAT || (b && b->elem != ELEM_FLOAT) || (z && z->elem != ELEM_FLOAT) ||
      sp > 2 || y->numel == 0)
    return false;
  NnGeo g = {.S = sp};
  for (int i = 0; i < sp; i++) {
    g.in[i] = x->dims[2 + i], g.out[i] = o[i], g.k[i] = k[i];
    g.st[i] = s[i], g.dil[i] = d[i], g.pb[i] = p[i], g.pe[i] = p[i + sp];
  }
  nn_geo_prods(&g);
  EffcEpilogue e = kern_epilogue(act);
  e.bias = b ? b->data : NULL;
  e.residual = z ? z->data : NULL;
  return nn_conv_fast(&g, x->dims[0], x->dims[1], w->dims[0], group, false, x->data, w->data,
                      y->data, &e);
}

int rt_k_ms_FusedConv(RtCtx *c) {
  RtValue *x = c->in[0], *w = c->in[1], *b = c->n_in > 2 ? c->in[2] : NULL,
          *z = c->n_in > 3 ? c->in[3] : NULL;
  Act act;
  if (get_act(c, false, &act)) return -1;
  if (!float_type(x) || !float_type(w) || x->elem != w->elem)
    return rt_error(c, "X and W must be float tensors of one type");
  int r = x->rank, sp = r - 2;
  if (sp < 1 || w->rank != r) return rt_error(c, "X and W must have the same rank, at least 3");
  int64_t group = ir_attr_int(c->node, "group", 1);
  int64_t N = x->dims[0], C = x->dims[1], M = w->dims[0], CG = w->dims[1];
  if (group <= 0 || C != CG * group || M % group)
    return rt_error(c, "channels do not match group %lld", (long long)group);
  int64_t k[RT_MAX_RANK], s[RT_MAX_RANK], d[RT_MAX_RANK], p[2 * RT_MAX_RANK], o[RT_MAX_RANK];
  size_t n;
  const int64_t *v = ir_attr_ints(c->node, "kernel_shape", &n);
  for (int i = 0; i < sp; i++) k[i] = v && (int)n == sp ? v[i] : w->dims[2 + i];
  v = ir_attr_ints(c->node, "strides", &n);
  for (int i = 0; i < sp; i++) s[i] = v && (int)n == sp ? v[i] : 1;
  v = ir_attr_ints(c->node, "dilations", &n);
  for (int i = 0; i < sp; i++) d[i] = v && (int)n == sp ? v[i] : 1;
  v = ir_attr_ints(c->node, "pads", &n);
  for (int i = 0; i < 2 * sp; i++) p[i] = v && (int)n == 2 * sp ? v[i] : 0;
  const char *ap = ir_attr_string(c->node, "auto_pad", "NOTSET");
  for (int i = 0; i < sp; i++) {
    if (s[i] <= 0 || d[i] <= 0 || k[i] != w->dims[2 + i])
      return rt_error(c, "bad kernel, stride or dilation");
    int64_t in = x->dims[2 + i], ek = (k[i] - 1) * d[i] + 1;
    if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
      o[i] = (in + s[i] - 1) / s[i];
      int64_t tot = (o[i] - 1) * s[i] + ek - in;
      if (tot < 0) tot = 0;
      p[i] = !strcmp(ap, "SAME_UPPER") ? tot / 2 : tot - tot / 2;
      p[i + sp] = tot - p[i];
    } else {
      if (!strcmp(ap, "VALID")) p[i] = p[i + sp] = 0;
      int64_t span = in + p[i] + p[i + sp] - ek;
      o[i] = span < 0 ? 0 : span / s[i] + 1;
    }
  }
  int64_t od[RT_MAX_RANK];
  od[0] = N;
  od[1] = M;
  for (int i = 0; i < sp; i++) od[2 + i] = o[i];
  if (b && (b->rank != 1 || b->dims[0] != M)) return rt_error(c, "B must have shape [M]");
  RtValue *y = rt_out(c, 0, x->elem, r, od);
  if (!y) return -1;
  if (z && (z->kind != TYPE_TENSOR || z->numel != y->numel))
    return rt_error(c, "Z must have Y's shape");
  if (fused_conv_fast(x, w, b, z, y, &act, group, sp, k, s, d, p, o)) return 0;
  int64_t xs[RT_MAX_RANK], ws[RT_MAX_RANK];
  rt_strides(r, x->dims, xs);
  rt_strides(r, w->dims, ws);
  uint64_t osp = 1, ksp = 1;
  for (int i = 0; i < sp; i++) {
    osp *= (uint64_t)o[i];
    ksp *= (uint64_t)k[i];
  }
  bool f32 = x->elem == ELEM_FLOAT;
  int64_t mg = M / group;
  for (int64_t nn = 0; nn < N; nn++)
    for (int64_t m = 0; m < M; m++) {
      int64_t g = m / mg;
      for (uint64_t oi = 0; oi < osp; oi++) {
        int64_t opos[RT_MAX_RANK];
        uint64_t t = oi;
        for (int i = sp - 1; i >= 0; i--) {
          opos[i] = (int64_t)(t % (uint64_t)o[i]);
          t /= (uint64_t)o[i];
        }
        double acc = b ? rt_get_f64(b, (uint64_t)m) : 0;
        for (int64_t ci = 0; ci < CG; ci++) {
          int64_t ch = g * CG + ci;
          for (uint64_t ki = 0; ki < ksp; ki++) {
            uint64_t q = ki;
            int64_t xoff = nn * xs[0] + ch * xs[1], woff = m * ws[0] + ci * ws[1];
            bool in = true;
            for (int i = sp - 1; i >= 0; i--) {
              int64_t kk = (int64_t)(q % (uint64_t)k[i]);
              q /= (uint64_t)k[i];
              int64_t pos = opos[i] * s[i] - p[i] + kk * d[i];
              if (pos < 0 || pos >= x->dims[2 + i]) {
                in = false;
                break;
              }
              xoff += pos * xs[2 + i];
              woff += kk * ws[2 + i];
            }
            if (in) acc += rt_get_f64(x, (uint64_t)xoff) * rt_get_f64(w, (uint64_t)woff);
          }
        }
        uint64_t yi = ((uint64_t)nn * (uint64_t)M + (uint64_t)m) * osp + oi;
        double val = rt_round_to(y->elem, acc);
        if (z) val = rt_round_to(y->elem, val + rt_get_f64(z, yi));
        rt_set_f64(y, yi, apply(&act, val, f32));
      }
    }
  return 0;
}

int rt_k_ms_FusedGemm(RtCtx *c) {
  RtValue *a = c->in[0], *b = c->in[1], *cc = c->n_in > 2 ? c->in[2] : NULL;
  Act act;
  if (get_act(c, true, &act)) return -1;
  if (!float_type(a) || !float_type(b) || a->rank != 2 || b->rank != 2 || a->elem != b->elem)
    return rt_error(c, "A and B must be 2-D float tensors of one type");
  bool ta = ir_attr_int(c->node, "transA", 0), tb = ir_attr_int(c->node, "transB", 0);
  double alpha = ir_attr_float(c->node, "alpha", 1), beta = ir_attr_float(c->node, "beta", 1);
  int64_t M = a->dims[ta ? 1 : 0], K = a->dims[ta ? 0 : 1], N = b->dims[tb ? 0 : 1];
  if (b->dims[tb ? 1 : 0] != K) return rt_error(c, "inner dimensions differ");
  int64_t cm = 1, cn = 1;
  if (cc) {
    if (cc->kind != TYPE_TENSOR || cc->rank > 2)
      return rt_error(c, "C must be a tensor of rank <= 2");
    if (cc->rank >= 1) cn = cc->dims[cc->rank - 1];
    if (cc->rank == 2) cm = cc->dims[0];
    if ((cm != 1 && cm != M) || (cn != 1 && cn != N))
      return rt_error(c, "C does not broadcast to [M, N]");
  }
  int64_t od[2] = {M, N};
  RtValue *y = rt_out(c, 0, a->elem, 2, od);
  if (!y) return -1;
  if (a->elem == ELEM_FLOAT && (!cc || cc->elem == ELEM_FLOAT)) { /* the shared kernel */
    EffcEpilogue e = kern_epilogue(&act);
    nn_gemm_f32(M, N, K, (float)alpha, a->data, ta, b->data, tb, (float)beta,
                cc ? cc->data : NULL, cm, cn, y->data, &e);
    return 0;
  }
  bool f32 = a->elem == ELEM_FLOAT;
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double acc = 0;
      for (int64_t q = 0; q < K; q++) {
        uint64_t ai = (uint64_t)(ta ? q * M + i : i * K + q),
                 bi = (uint64_t)(tb ? j * K + q : q * N + j);
        acc += rt_get_f64(a, ai) * rt_get_f64(b, bi);
      }
      double val = alpha * acc;
      if (cc) val += beta * rt_get_f64(cc, (uint64_t)((cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)));
      val = rt_round_to(y->elem, val);
      rt_set_f64(y, (uint64_t)(i * N + j), apply(&act, val, f32));
    }
  return 0;
}
