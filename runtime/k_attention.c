/* k_attention.c - attention kernels: Attention (opset 23-25), ai.onnx.preview FlexAttention.
 * They follow ONNX's function bodies step by step, rounding to the element type after each
 * step the body rounds, so float16/bfloat16 match the reference computation. */
#include "runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ shared helpers */

static bool is_fp(const RtValue *v) {
  return v && v->kind == TYPE_TENSOR &&
         (v->elem == ELEM_FLOAT || v->elem == ELEM_FLOAT16 || v->elem == ELEM_BFLOAT16 ||
          v->elem == ELEM_DOUBLE);
}

static double *dalloc(uint64_t n) {
  double *p = calloc(n ? n : 1, sizeof *p);
  if (!p) abort();
  return p;
}

static RtValue *in_at(RtCtx *c, int i) {
  return i < c->n_in ? c->in[i] : NULL;
}
static bool want_out(RtCtx *c, int i) {
  return i < c->n_out && i < c->node->n_outputs && c->node->outputs[i];
}

/* ------------------------------------------------------------------ Attention */

typedef struct {
  const RtValue *m; /* the mask, NULL when absent */
  int rank;
  int64_t dims[4]; /* right-aligned into [B, H, S, N], 1 where absent */
  int64_t str[4];  /* element strides, 0 on broadcast axes */
  int64_t last;    /* the mask's own last dimension (keys past it are masked) */
} Mask;

typedef struct {
  int64_t B, Hq, Hkv, S, L, P, N, D, Dv;
  bool rank3, causal;
  int64_t left, right; /* window sizes, -1 = none */
  const RtValue *nonpad;
  Mask mask;
} AttnShape;

static bool mask_init(RtCtx *c, Mask *mk, const RtValue *m, const AttnShape *a) {
  memset(mk, 0, sizeof *mk);
  if (!m) return true;
  if (m->kind != TYPE_TENSOR || m->rank < 1 || m->rank > 4)
    return rt_error(c, "attn_mask must be a tensor of rank 1 to 4"), false;
  if (m->elem != ELEM_BOOL && !is_fp(m))
    return rt_error(c, "attn_mask must be bool or floating point"), false;
  mk->m = m;
  mk->rank = m->rank;
  const int64_t want[4] = {a->B, a->Hq, a->S, a->N};
  int64_t s = 1;
  for (int k = 3; k >= 0; k--) {
    int mi = k - (4 - m->rank);
    int64_t d = mi >= 0 ? m->dims[mi] : 1;
    mk->dims[k] = d;
    if (k == 3) {
      if (d > a->N) return rt_error(c, "attn_mask has more keys than the sequence"), false;
      mk->last = d;
      mk->str[k] = 1;
    } else {
      if (d != 1 && d != want[k]) return rt_error(c, "attn_mask does not broadcast"), false;
      mk->str[k] = d == 1 ? 0 : s;
    }
    s *= d;
  }
  return true;
}

/* The additive bias of score (b, h, i, j), in the mask's precision. */
static double attn_bias(const AttnShape *a, int64_t b, int64_t h, int64_t i, int64_t j) {
  double v = 0;
  const Mask *mk = &a->mask;
  if (mk->m) {
    if (j >= mk->last) {
      v = -INFINITY;
    } else {
      uint64_t off = (uint64_t)(b * mk->str[0] + h * mk->str[1] + i * mk->str[2] + j);
      if (mk->m->elem == ELEM_BOOL)
        v = rt_get_i64(mk->m, off) ? 0.0 : -INFINITY;
      else
        v = rt_get_f64(mk->m, off);
    }
  }
  int64_t off = a->P;
  if (!a->P && a->nonpad) off = rt_get_i64(a->nonpad, (uint64_t)b) - a->S;
  if (a->causal && j > i + off) v += -INFINITY;
  if (a->left >= 0 && (i + off) - j > a->left) v += -INFINITY;
  if (a->right >= 0 && j - (i + off) > a->right) v += -INFINITY;
  if (a->nonpad && j >= rt_get_i64(a->nonpad, (uint64_t)b)) v += -INFINITY;
  if (mk->m && mk->m->elem != ELEM_BOOL) v = rt_round_to(mk->m->elem, v);
  return v;
}

/* Linear index of element (b, h, s, d) of a Q/K/V input: 4-D [B,H,S,D] or 3-D [B,S,H*D]. */
static uint64_t qkv_index(bool rank3, int64_t H, int64_t S, int64_t D, int64_t b, int64_t h,
                          int64_t s, int64_t d) {
  if (rank3) return (uint64_t)(((b * S + s) * H + h) * D + d);
  return (uint64_t)(((b * H + h) * S + s) * D + d);
}

static bool attn_shapes(RtCtx *c, AttnShape *a) {
  const RtValue *Q = c->in[0], *K = c->in[1], *V = c->in[2];
  if (!is_fp(Q) || !is_fp(K) || !is_fp(V))
    return rt_error(c, "Q, K and V must be floating-point tensors"), false;
  if (Q->rank != K->rank || Q->rank != V->rank || (Q->rank != 3 && Q->rank != 4))
    return rt_error(c, "Q, K and V must all be 3-D or all 4-D"), false;
  a->rank3 = Q->rank == 3;
  a->B = Q->dims[0];
  if (K->dims[0] != a->B || V->dims[0] != a->B) return rt_error(c, "batch sizes differ"), false;
  if (a->rank3) {
    if (!rt_attr(c, "q_num_heads") || !rt_attr(c, "kv_num_heads"))
      return rt_error(c, "3-D inputs need q_num_heads and kv_num_heads"), false;
    a->Hq = rt_attr_int(c, "q_num_heads", 0);
    a->Hkv = rt_attr_int(c, "kv_num_heads", 0);
    if (a->Hq <= 0 || a->Hkv <= 0 || Q->dims[2] % a->Hq || K->dims[2] % a->Hkv ||
        V->dims[2] % a->Hkv)
      return rt_error(c, "hidden sizes are not multiples of the head counts"), false;
    a->S = Q->dims[1];
    a->L = K->dims[1];
    a->D = Q->dims[2] / a->Hq;
    a->Dv = V->dims[2] / a->Hkv;
    if (K->dims[2] / a->Hkv != a->D) return rt_error(c, "Q and K head sizes differ"), false;
    if (V->dims[1] != a->L) return rt_error(c, "K and V sequence lengths differ"), false;
  } else {
    a->Hq = Q->dims[1];
    a->Hkv = K->dims[1];
    a->S = Q->dims[2];
    a->L = K->dims[2];
    a->D = Q->dims[3];
    a->Dv = V->dims[3];
    if (K->dims[3] != a->D) return rt_error(c, "Q and K head sizes differ"), false;
    if (V->dims[1] != a->Hkv || V->dims[2] != a->L)
      return rt_error(c, "K and V shapes disagree"), false;
  }
  if (a->Hkv <= 0 || a->Hq % a->Hkv)
    return rt_error(c, "q_num_heads must be a multiple of kv_num_heads"), false;
  const RtValue *pk = in_at(c, 4), *pv = in_at(c, 5);
  if ((pk == NULL) != (pv == NULL))
    return rt_error(c, "past_key and past_value go together"), false;
  a->P = 0;
  if (pk) {
    if (!is_fp(pk) || !is_fp(pv) || pk->rank != 4 || pv->rank != 4 || pk->dims[0] != a->B ||
        pk->dims[1] != a->Hkv || pk->dims[3] != a->D || pv->dims[0] != a->B ||
        pv->dims[1] != a->Hkv || pv->dims[2] != pk->dims[2] || pv->dims[3] != a->Dv)
      return rt_error(c, "past_key/past_value must be [batch, kv_heads, past, head_size]"), false;
    a->P = pk->dims[2];
  }
  a->N = a->P + a->L;
  a->nonpad = in_at(c, 6);
  if (a->nonpad) {
    const RtValue *np = a->nonpad;
    if (np->kind != TYPE_TENSOR || (np->elem != ELEM_INT64 && np->elem != ELEM_INT32) ||
        np->numel != (uint64_t)a->B)
      return rt_error(c, "nonpad_kv_seqlen must be an integer tensor of batch size"), false;
  }
  a->causal = rt_attr_int(c, "is_causal", 0) != 0;
  a->left = c->op->since >= 25 ? rt_attr_int(c, "left_window_size", -1) : -1;
  a->right = c->op->since >= 25 ? rt_attr_int(c, "right_window_size", -1) : -1;
  return mask_init(c, &a->mask, in_at(c, 3), a);
}

/* Concatenate past and new keys (or values) into present [B, Hkv, N, d], as doubles
 * multiplied by sf and rounded to t (sf = 1: exact copy); also write the present output. */
static double *attn_present(RtCtx *c, const AttnShape *a, const RtValue *past, const RtValue *cur,
                            int64_t d, double sf, ElemType t, int out) {
  double *p = dalloc((uint64_t)(a->B * a->Hkv * a->N * d));
  RtValue *o = NULL;
  if (want_out(c, out)) {
    int64_t dims[4] = {a->B, a->Hkv, a->N, d};
    o = rt_out(c, out, cur->elem, 4, dims);
    if (!o) {
      free(p);
      return NULL;
    }
  }
  for (int64_t b = 0; b < a->B; b++)
    for (int64_t h = 0; h < a->Hkv; h++)
      for (int64_t n = 0; n < a->N; n++)
        for (int64_t k = 0; k < d; k++) {
          double x;
          if (n < a->P)
            x = rt_get_f64(past, (uint64_t)(((b * a->Hkv + h) * a->P + n) * d + k));
          else
            x = rt_get_f64(cur, qkv_index(a->rank3, a->Hkv, a->L, d, b, h, n - a->P, k));
          uint64_t idx = (uint64_t)(((b * a->Hkv + h) * a->N + n) * d + k);
          if (o) rt_set_f64(o, idx, x);
          p[idx] = sf == 1.0 ? x : rt_round_to(t, x * sf);
        }
  return p;
}

static ElemType attn_softmax_type(RtCtx *c, ElemType t) {
  if (!rt_attr(c, "softmax_precision")) return t;
  int64_t p = rt_attr_int(c, "softmax_precision", 0);
  if (p == ELEM_FLOAT || p == ELEM_FLOAT16 || p == ELEM_BFLOAT16 || p == ELEM_DOUBLE)
    return (ElemType)p;
  return t;
}

int rt_k_Attention(RtCtx *c) {
  if (c->n_in < 3 || !c->in[0] || !c->in[1] || !c->in[2])
    return rt_error(c, "Q, K and V are required");
  AttnShape a;
  if (!attn_shapes(c, &a)) return -1;
  const RtValue *Q = c->in[0];
  ElemType T = Q->elem, SP = attn_softmax_type(c, T);
  float scale = rt_attr(c, "scale") ? rt_attr_float(c, "scale", 1.0f) : 1.0f / sqrtf((float)a.D);
  double sf = rt_round_to(T, (double)sqrtf(scale));
  float cap = rt_attr_float(c, "softcap", 0.0f);
  double capT = rt_round_to(T, cap);
  int64_t mode = rt_attr_int(c, "qk_matmul_output_mode", 0);
  if (mode < 0 || mode > 3) return rt_error(c, "qk_matmul_output_mode must be 0 to 3");

  double *ks = attn_present(c, &a, in_at(c, 4), c->in[1], a.D, sf, T, 1);
  if (!ks) return -1;
  double *vs = attn_present(c, &a, in_at(c, 5), c->in[2], a.Dv, 1.0, T, 2);
  if (!vs) {
    free(ks);
    return -1;
  }
  int64_t ydims[4] = {a.B, a.Hq, a.S, a.Dv};
  if (a.rank3) {
    ydims[1] = a.S;
    ydims[2] = a.Hq * a.Dv;
  }
  RtValue *Y = rt_out(c, 0, T, a.rank3 ? 3 : 4, ydims);
  RtValue *QK = NULL;
  if (Y && want_out(c, 3)) {
    int64_t qd[4] = {a.B, a.Hq, a.S, a.N};
    QK = rt_out(c, 3, T, 4, qd);
    if (!QK) Y = NULL;
  }
  if (!Y) {
    free(ks);
    free(vs);
    return -1;
  }
  int64_t N = a.N, G = a.Hq / a.Hkv;
  double *q = dalloc((uint64_t)a.D), *raw = dalloc((uint64_t)N), *capd = dalloc((uint64_t)N),
         *wb = dalloc((uint64_t)N), *pr = dalloc((uint64_t)N);
  for (int64_t b = 0; b < a.B; b++)
    for (int64_t h = 0; h < a.Hq; h++) {
      int64_t hk = h / G;
      for (int64_t i = 0; i < a.S; i++) {
        for (int64_t d = 0; d < a.D; d++)
          q[d] = rt_round_to(T, rt_get_f64(Q, qkv_index(a.rank3, a.Hq, a.S, a.D, b, h, i, d)) * sf);
        bool all_masked = true;
        for (int64_t j = 0; j < N; j++) {
          const double *k = ks + ((b * a.Hkv + hk) * N + j) * a.D;
          double s = 0;
          for (int64_t d = 0; d < a.D; d++) s += q[d] * k[d];
          raw[j] = rt_round_to(T, s);
          capd[j] = raw[j];
          if (cap > 0) capd[j] = rt_round_to(T, rt_round_to(T, tanh(rt_round_to(T, raw[j] / capT))) * capT);
          double bias = rt_round_to(T, attn_bias(&a, b, h, i, j));
          if (!(bias == -INFINITY)) all_masked = false;
          wb[j] = rt_round_to(T, capd[j] + bias);
        }
        double mx = -INFINITY;
        for (int64_t j = 0; j < N; j++) {
          pr[j] = rt_round_to(SP, wb[j]);
          if (isnan(pr[j]))
            mx = NAN;
          else if (pr[j] > mx)
            mx = pr[j];
        }
        double sum = 0;
        for (int64_t j = 0; j < N; j++) {
          pr[j] = rt_round_to(SP, exp(rt_round_to(SP, pr[j] - mx)));
          /* numpy sums float16 in float; ml_dtypes' bfloat16 adds round at every step */
          sum = SP == ELEM_BFLOAT16 ? rt_round_to(SP, sum + pr[j]) : sum + pr[j];
        }
        sum = rt_round_to(SP, sum);
        for (int64_t j = 0; j < N; j++) pr[j] = all_masked ? 0.0 : rt_round_to(T, rt_round_to(SP, pr[j] / sum));
        if (QK) {
          const double *src = mode == 0 ? raw : mode == 1 ? capd : mode == 2 ? wb : pr;
          for (int64_t j = 0; j < N; j++)
            rt_set_f64(QK, (uint64_t)(((b * a.Hq + h) * a.S + i) * N + j), src[j]);
        }
        for (int64_t d = 0; d < a.Dv; d++) {
          double s = 0;
          for (int64_t j = 0; j < N; j++) s += pr[j] * vs[((b * a.Hkv + hk) * N + j) * a.Dv + d];
          rt_set_f64(Y, qkv_index(a.rank3, a.Hq, a.S, a.Dv, b, h, i, d), s);
        }
      }
    }
  free(q);
  free(raw);
  free(capd);
  free(wb);
  free(pr);
  free(ks);
  free(vs);
  return 0;
}

/* ------------------------------------------------------------------ FlexAttention */

/* Run a one-input score/prob modifier graph on x (taking the reference); returns the
 * graph's output (a tensor of x's shape) or NULL after reporting. */
static RtValue *flex_mod(RtCtx *c, const char *name, RtValue *x) {
  const Attr *at = rt_attr(c, name);
  if (!at) return x;
  if (at->type != ATTR_GRAPH || !at->g) {
    rt_unref(x);
    rt_error(c, "%s must be a graph", name);
    return NULL;
  }
  RtValue *out[1] = {NULL};
  RtValue *ins[1] = {x};
  uint64_t numel = x->numel;
  int rc = rt_run_subgraph(c, at->g, ins, 1, out);
  rt_unref(x);
  if (rc) return NULL;
  if (!out[0] || out[0]->kind != TYPE_TENSOR || out[0]->numel != numel || !is_fp(out[0])) {
    rt_unref(out[0]);
    rt_error(c, "%s must return a floating-point tensor of the scores' shape", name);
    return NULL;
  }
  return out[0];
}

int rt_k_pv_FlexAttention(RtCtx *c) {
  const RtValue *Q = in_at(c, 0), *K = in_at(c, 1), *V = in_at(c, 2);
  if (!is_fp(Q) || !is_fp(K) || !is_fp(V) || Q->rank != 4 || K->rank != 4 || V->rank != 4)
    return rt_error(c, "Q, K and V must be 4-D floating-point tensors");
  int64_t B = Q->dims[0], Hq = Q->dims[1], L = Q->dims[2], E = Q->dims[3];
  int64_t Hkv = K->dims[1], S = K->dims[2], Ev = V->dims[3];
  if (K->dims[0] != B || V->dims[0] != B || K->dims[3] != E || V->dims[1] != Hkv || V->dims[2] != S)
    return rt_error(c, "Q, K and V shapes disagree");
  if (Hkv <= 0 || Hq % Hkv) return rt_error(c, "query heads must be a multiple of kv heads");
  ElemType T = Q->elem, P = T == ELEM_DOUBLE ? ELEM_DOUBLE : ELEM_FLOAT;
  float scale = rt_attr(c, "scale") ? rt_attr_float(c, "scale", 1.0f) : 1.0f / sqrtf((float)E);
  double sf = rt_round_to(T, (double)sqrtf(scale));
  int64_t G = Hq / Hkv;
  int64_t sd[4] = {B, Hq, L, S};
  RtValue *sc = rt_tensor_new(P, 4, sd);
  if (!sc) return rt_error(c, "scores too large");
  double *q = dalloc((uint64_t)E), *k = dalloc((uint64_t)(S * E));
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < Hq; h++) {
      for (int64_t j = 0; j < S; j++)
        for (int64_t e = 0; e < E; e++)
          k[j * E + e] =
              rt_round_to(T, rt_get_f64(K, (uint64_t)(((b * Hkv + h / G) * S + j) * E + e)) * sf);
      for (int64_t i = 0; i < L; i++) {
        for (int64_t e = 0; e < E; e++)
          q[e] = rt_round_to(T, rt_get_f64(Q, (uint64_t)(((b * Hq + h) * L + i) * E + e)) * sf);
        for (int64_t j = 0; j < S; j++) {
          double s = 0;
          for (int64_t e = 0; e < E; e++) s += q[e] * k[j * E + e];
          rt_set_f64(sc, (uint64_t)(((b * Hq + h) * L + i) * S + j), rt_round_to(T, s));
        }
      }
    }
  free(q);
  free(k);
  sc = flex_mod(c, "score_mod", sc);
  if (!sc) return -1;
  RtValue *pr = rt_tensor_new(P, 4, sd);
  double *row = dalloc((uint64_t)S);
  for (int64_t r = 0; r < B * Hq * L; r++) {
    double mx = -INFINITY, sum = 0;
    for (int64_t j = 0; j < S; j++) {
      row[j] = rt_get_f64(sc, (uint64_t)(r * S + j));
      if (row[j] > mx) mx = row[j];
    }
    for (int64_t j = 0; j < S; j++) sum += row[j] = exp(row[j] - mx);
    for (int64_t j = 0; j < S; j++) rt_set_f64(pr, (uint64_t)(r * S + j), row[j] / sum);
  }
  free(row);
  rt_unref(sc);
  pr = flex_mod(c, "prob_mod", pr);
  if (!pr) return -1;
  int64_t yd[4] = {B, Hq, L, Ev};
  RtValue *Y = rt_out(c, 0, T, 4, yd);
  if (!Y) {
    rt_unref(pr);
    return -1;
  }
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < Hq; h++)
      for (int64_t i = 0; i < L; i++)
        for (int64_t e = 0; e < Ev; e++) {
          double s = 0;
          for (int64_t j = 0; j < S; j++)
            s += rt_get_f64(pr, (uint64_t)(((b * Hq + h) * L + i) * S + j)) *
                 rt_get_f64(V, (uint64_t)(((b * Hkv + h / G) * S + j) * Ev + e));
          rt_set_f64(Y, (uint64_t)(((b * Hq + h) * L + i) * Ev + e), rt_round_to(P, s));
        }
  rt_unref(pr);
  return 0;
}

/* ------------------------------------------------------------------ RotaryEmbedding */

int rt_k_RotaryEmbedding(RtCtx *c) {
  const RtValue *X = in_at(c, 0), *cs = in_at(c, 1), *sn = in_at(c, 2), *pos = in_at(c, 3);
  if (!is_fp(X) || !is_fp(cs) || !is_fp(sn))
    return rt_error(c, "input, cos_cache and sin_cache must be floating point");
  if (X->rank != 3 && X->rank != 4) return rt_error(c, "input must be 3-D or 4-D");
  ElemType T = X->elem;
  int64_t B = X->dims[0], H, S, D;
  bool r3 = X->rank == 3;
  if (r3) {
    H = rt_attr_int(c, "num_heads", 0);
    S = X->dims[1];
    if (H <= 0 || X->dims[2] % H)
      return rt_error(c, "3-D input needs num_heads dividing its width");
    D = X->dims[2] / H;
  } else {
    H = X->dims[1];
    S = X->dims[2];
    D = X->dims[3];
  }
  int64_t rd = rt_attr_int(c, "rotary_embedding_dim", 0);
  if (rd == 0) rd = D;
  if (rd < 0 || rd > D || rd % 2)
    return rt_error(c, "rotary_embedding_dim must be even and <= head size");
  int64_t half = rd / 2;
  bool inter = rt_attr_int(c, "interleaved", 0) != 0;
  int64_t maxpos = 0;
  if (pos) {
    if (pos->kind != TYPE_TENSOR || (pos->elem != ELEM_INT64 && pos->elem != ELEM_INT32) ||
        pos->rank != 2 || pos->dims[0] != B || pos->dims[1] != S)
      return rt_error(c, "position_ids must be an integer [batch, sequence] tensor");
    if (cs->rank != 2 || sn->rank != 2 || cs->dims[1] < half || !rt_same_shape(cs, sn))
      return rt_error(c, "with position_ids the caches must be [max_position, rotary_dim/2]");
    maxpos = cs->dims[0];
  } else if (cs->rank != 3 || !rt_same_shape(cs, sn) || cs->dims[0] != B || cs->dims[1] != S ||
             cs->dims[2] < half) {
    return rt_error(c, "without position_ids the caches must be [batch, sequence, rotary_dim/2]");
  }
  int64_t cw = cs->dims[cs->rank - 1];
  RtValue *Y = rt_out(c, 0, T, X->rank, X->dims);
  if (!Y) return -1;
  for (int64_t b = 0; b < B; b++)
    for (int64_t s = 0; s < S; s++) {
      int64_t row = b * S + s;
      if (pos) {
        row = rt_get_i64(pos, (uint64_t)(b * S + s));
        if (row < 0 || row >= maxpos)
          return rt_error(c, "position id %lld out of range", (long long)row);
      }
      for (int64_t h = 0; h < H; h++) {
        uint64_t base = qkv_index(r3, H, S, D, b, h, s, 0);
        for (int64_t d = rd; d < D; d++)
          rt_set_f64(Y, base + (uint64_t)d, rt_get_f64(X, base + (uint64_t)d));
        for (int64_t k = 0; k < half; k++) {
          double co = rt_get_f64(cs, (uint64_t)(row * cw + k)),
                 si = rt_get_f64(sn, (uint64_t)(row * cw + k));
          uint64_t i1 = base + (uint64_t)(inter ? 2 * k : k),
                   i2 = base + (uint64_t)(inter ? 2 * k + 1 : k + half);
          double x1 = rt_get_f64(X, i1), x2 = rt_get_f64(X, i2);
          rt_set_f64(Y, i1, rt_round_to(T, rt_round_to(T, co * x1) - rt_round_to(T, si * x2)));
          rt_set_f64(Y, i2, rt_round_to(T, rt_round_to(T, si * x1) + rt_round_to(T, co * x2)));
        }
      }
    }
  return 0;
}

/* ------------------------------------------------------------------ LinearAttention */

/* The recurrent state is float32, as the function body computes it. */
int rt_k_LinearAttention(RtCtx *c) {
  const RtValue *Q = in_at(c, 0), *K = in_at(c, 1), *V = in_at(c, 2), *past = in_at(c, 3),
                *dec = in_at(c, 4), *beta = in_at(c, 5);
  if (!is_fp(Q) || !is_fp(K) || !is_fp(V))
    return rt_error(c, "query, key and value must be floating point");
  if (Q->rank != 3 || K->rank != 3 || V->rank != 3)
    return rt_error(c, "query, key and value must be 3-D [batch, sequence, hidden]");
  int64_t Hq = rt_attr_int(c, "q_num_heads", 0), Hkv = rt_attr_int(c, "kv_num_heads", 0);
  int64_t B = Q->dims[0], S = Q->dims[1];
  if (Hq <= 0 || Hkv <= 0 || Hq % Hkv || Q->dims[2] % Hq || V->dims[2] % Hkv)
    return rt_error(c, "q_num_heads/kv_num_heads do not fit the inputs");
  int64_t Dk = Q->dims[2] / Hq, Dv = V->dims[2] / Hkv, G = Hq / Hkv;
  if (K->dims[0] != B || K->dims[1] != S || K->dims[2] != Hkv * Dk || V->dims[0] != B ||
      V->dims[1] != S)
    return rt_error(c, "key/value shapes do not match query");
  const char *rule = rt_attr_str(c, "update_rule", "gated_delta");
  bool gated = !strcmp(rule, "gated") || !strcmp(rule, "gated_delta");
  bool delta = !strcmp(rule, "delta") || !strcmp(rule, "gated_delta");
  if (!gated && !delta && strcmp(rule, "linear"))
    return rt_error(c, "unknown update_rule '%s'", rule);
  if (gated && !dec) return rt_error(c, "update_rule '%s' needs decay", rule);
  if (delta && !beta) return rt_error(c, "update_rule '%s' needs beta", rule);
  int64_t dw = 0, bw = 0;
  if (gated) {
    if (!is_fp(dec) || dec->rank != 3 || dec->dims[0] != B || dec->dims[1] != S ||
        (dec->dims[2] != Hkv * Dk && dec->dims[2] != Hkv))
      return rt_error(c, "decay must be [batch, sequence, kv_heads*head_size or kv_heads]");
    dw = dec->dims[2] / Hkv;
  }
  if (delta) {
    if (!is_fp(beta) || beta->rank != 3 || beta->dims[0] != B || beta->dims[1] != S ||
        (beta->dims[2] != Hkv && beta->dims[2] != 1))
      return rt_error(c, "beta must be [batch, sequence, kv_heads or 1]");
    bw = beta->dims[2];
  }
  uint64_t ns = (uint64_t)(B * Hkv * Dk * Dv);
  if (past && (!is_fp(past) || past->rank != 4 || past->numel != ns || past->dims[0] != B ||
               past->dims[1] != Hkv || past->dims[2] != Dk || past->dims[3] != Dv))
    return rt_error(c, "past_state must be [batch, kv_heads, head_size, v_head_size]");
  double scale =
      rt_attr(c, "scale") ? rt_attr_float(c, "scale", 1.0f) : (double)(1.0f / sqrtf((float)Dk));
  int64_t od[3] = {B, S, Hq * Dv}, sd[4] = {B, Hkv, Dk, Dv};
  RtValue *O = rt_out(c, 0, Q->elem, 3, od);
  if (!O) return -1;
  double *st = dalloc(ns), *kv = dalloc((uint64_t)Dk), *dl = dalloc((uint64_t)Dv);
  for (uint64_t i = 0; past && i < ns; i++) st[i] = rt_round_to(ELEM_FLOAT, rt_get_f64(past, i));
  for (int64_t t = 0; t < S; t++)
    for (int64_t b = 0; b < B; b++)
      for (int64_t hk = 0; hk < Hkv; hk++) {
        double *s = st + (b * Hkv + hk) * Dk * Dv;
        uint64_t bt = (uint64_t)(b * S + t);
        for (int64_t k = 0; k < Dk; k++)
          kv[k] = rt_get_f64(K, bt * (uint64_t)(Hkv * Dk) + (uint64_t)(hk * Dk + k));
        if (gated)
          for (int64_t k = 0; k < Dk; k++) {
            double g =
                rt_round_to(ELEM_FLOAT, exp(rt_get_f64(dec, bt * (uint64_t)(Hkv * dw) +
                                                        (uint64_t)(hk * dw + (dw == 1 ? 0 : k)))));
            for (int64_t v = 0; v < Dv; v++) s[k * Dv + v] = rt_round_to(ELEM_FLOAT, s[k * Dv + v] * g);
          }
        for (int64_t v = 0; v < Dv; v++) {
          double x = rt_get_f64(V, bt * (uint64_t)(Hkv * Dv) + (uint64_t)(hk * Dv + v));
          if (delta) {
            double r = 0, be = rt_get_f64(beta, bt * (uint64_t)bw + (uint64_t)(bw == 1 ? 0 : hk));
            for (int64_t k = 0; k < Dk; k++) r += s[k * Dv + v] * kv[k];
            x = rt_round_to(ELEM_FLOAT, be * rt_round_to(ELEM_FLOAT, x - rt_round_to(ELEM_FLOAT, r)));
          }
          dl[v] = x;
        }
        for (int64_t k = 0; k < Dk; k++)
          for (int64_t v = 0; v < Dv; v++)
            s[k * Dv + v] = rt_round_to(ELEM_FLOAT, s[k * Dv + v] + rt_round_to(ELEM_FLOAT, kv[k] * dl[v]));
        for (int64_t g = 0; g < G; g++) {
          int64_t h = hk * G + g;
          for (int64_t v = 0; v < Dv; v++) {
            double r = 0;
            for (int64_t k = 0; k < Dk; k++)
              r += rt_get_f64(Q, bt * (uint64_t)(Hq * Dk) + (uint64_t)(h * Dk + k)) * s[k * Dv + v];
            rt_set_f64(O, bt * (uint64_t)(Hq * Dv) + (uint64_t)(h * Dv + v),
                       rt_round_to(ELEM_FLOAT, scale * rt_round_to(ELEM_FLOAT, r)));
          }
        }
      }
  if (want_out(c, 1)) {
    RtValue *P = rt_out(c, 1, Q->elem, 4, sd);
    if (!P) {
      free(st);
      free(kv);
      free(dl);
      return -1;
    }
    for (uint64_t i = 0; i < ns; i++) rt_set_f64(P, i, st[i]);
  }
  free(st);
  free(kv);
  free(dl);
  return 0;
}

/* ------------------------------------------------------------------ CausalConvWithState */

int rt_k_CausalConvWithState(RtCtx *c) {
  const RtValue *X = in_at(c, 0), *W = in_at(c, 1), *bias = in_at(c, 2), *past = in_at(c, 3);
  if (!is_fp(X) || !is_fp(W) || X->rank != 3 || W->rank != 3)
    return rt_error(c, "input must be [batch, channels, length] and weight [channels, 1, kernel]");
  int64_t B = X->dims[0], C = X->dims[1], L = X->dims[2], Kz = W->dims[2];
  if (W->dims[0] != C || W->dims[1] != 1 || Kz < 1)
    return rt_error(c, "weight must be [channels, 1, kernel]");
  if (bias && (!is_fp(bias) || bias->numel != (uint64_t)C))
    return rt_error(c, "bias must be [channels]");
  if (past && (!is_fp(past) || past->rank != 3 || past->dims[0] != B || past->dims[1] != C ||
               past->dims[2] != Kz - 1))
    return rt_error(c, "past_state must be [batch, channels, kernel-1]");
  const char *act = rt_attr_str(c, "activation", "none");
  bool silu = !strcmp(act, "silu") || !strcmp(act, "swish");
  if (!silu && strcmp(act, "none")) return rt_error(c, "unknown activation '%s'", act);
  ElemType T = X->elem;
  int64_t sd[3] = {B, C, Kz - 1};
  RtValue *O = rt_out(c, 0, T, 3, X->dims);
  RtValue *P = O && want_out(c, 1) ? rt_out(c, 1, T, 3, sd) : NULL;
  if (!O || (want_out(c, 1) && !P)) return -1;
  int64_t PL = Kz - 1 + L;
  double *pad = dalloc((uint64_t)PL);
  for (int64_t b = 0; b < B; b++)
    for (int64_t ch = 0; ch < C; ch++) {
      for (int64_t t = 0; t < PL; t++)
        pad[t] = t < Kz - 1
                     ? (past ? rt_get_f64(past, (uint64_t)((b * C + ch) * (Kz - 1) + t)) : 0.0)
                     : rt_get_f64(X, (uint64_t)((b * C + ch) * L + t - (Kz - 1)));
      for (int64_t t = 0; t < L; t++) {
        double s = bias ? rt_get_f64(bias, (uint64_t)ch) : 0.0;
        for (int64_t k = 0; k < Kz; k++) s += rt_get_f64(W, (uint64_t)(ch * Kz + k)) * pad[t + k];
        s = rt_round_to(T, s);
        if (silu) s = rt_round_to(ELEM_FLOAT, s * rt_round_to(ELEM_FLOAT, 1.0 / (1.0 + exp(-s))));
        rt_set_f64(O, (uint64_t)((b * C + ch) * L + t), s);
      }
      for (int64_t t = 0; P && t < Kz - 1; t++)
        rt_set_f64(P, (uint64_t)((b * C + ch) * (Kz - 1) + t), pad[L + t]);
    }
  free(pad);
  return 0;
}
