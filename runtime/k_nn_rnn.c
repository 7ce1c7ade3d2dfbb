/* k_nn_rnn.c - recurrent layers: RNN, GRU (linear_before_reset) and LSTM (peepholes,
 * input_forget), with directions, both layouts, sequence_lens, initial states, clip and
 * configurable activations. One shared driver steps a per-cell function; math in double. */
#include "k_nn_util.h"

#include <strings.h>

/* ------------------------------------------------------------------ activations */

typedef struct RnnAct {
  int kind;
  double a, b;
} RnnAct;

enum { ACT_RELU, ACT_TANH, ACT_SIGMOID, ACT_AFFINE, ACT_LEAKY, ACT_THRESH, ACT_STANH, ACT_HSIG,
       ACT_ELU, ACT_SOFTSIGN, ACT_SOFTPLUS };

static const struct {
  const char *name;
  int kind, nparams;
  double a, b;
} act_table[] = {
    {"Relu", ACT_RELU, 0, 0, 0},          {"Tanh", ACT_TANH, 0, 0, 0},
    {"Sigmoid", ACT_SIGMOID, 0, 0, 0},    {"Affine", ACT_AFFINE, 2, 1.0, 0.0},
    {"LeakyRelu", ACT_LEAKY, 1, 0.01, 0}, {"ThresholdedRelu", ACT_THRESH, 1, 1.0, 0},
    {"ScaledTanh", ACT_STANH, 2, 1.0, 1.0}, {"HardSigmoid", ACT_HSIG, 2, 0.2, 0.5},
    {"Elu", ACT_ELU, 1, 1.0, 0},          {"Softsign", ACT_SOFTSIGN, 0, 0, 0},
    {"Softplus", ACT_SOFTPLUS, 0, 0, 0},
};

static double act_apply(const RnnAct *f, double x) {
  switch (f->kind) {
  case ACT_RELU: return x > 0 ? x : 0;
  case ACT_TANH: return tanh(x);
  case ACT_SIGMOID: return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
  case ACT_AFFINE: return f->a * x + f->b;
  case ACT_LEAKY: return x >= 0 ? x : f->a * x;
  case ACT_THRESH: return x > f->a ? x : 0;
  case ACT_STANH: return f->a * tanh(f->b * x);
  case ACT_HSIG: {
    double v = f->a * x + f->b;
    return v < 0 ? 0 : v > 1 ? 1 : v;
  }
  case ACT_ELU: return x >= 0 ? x : f->a * (exp(x) - 1);
  case ACT_SOFTSIGN: return x / (1 + fabs(x));
  default: return log1p(exp(-fabs(x))) + (x > 0 ? x : 0); /* softplus */
  }
}

/* The node's activations: nper per direction, defaults when absent. */
static bool rnn_acts(RtCtx *c, int ndir, int nper, const char *const *dflt, RnnAct *out) {
  size_t n = 0, na = 0, nb = 0;
  const Attr *at = rt_attr(c, "activations");
  if (at && at->type == ATTR_STRINGS) n = at->n;
  const float *al = rt_attr_floats(c, "activation_alpha", &na);
  const float *be = rt_attr_floats(c, "activation_beta", &nb);
  if (n && n != (size_t)(nper * ndir) && n != (size_t)nper) {
    rt_error(c, "expected %d activations, got %zu", nper * ndir, n);
    return false;
  }
  size_t ia = 0, ib = 0;
  for (int i = 0; i < nper * ndir; i++) {
    char name[64];
    if (n) {
      const IrStr *s = &at->strings[(size_t)i % n];
      size_t l = s->len < sizeof name - 1 ? s->len : sizeof name - 1;
      memcpy(name, s->s, l);
      name[l] = 0;
    } else {
      snprintf(name, sizeof name, "%s", dflt[i % nper]);
    }
    size_t k = 0, nt = sizeof act_table / sizeof act_table[0];
    while (k < nt && strcasecmp(act_table[k].name, name)) k++;
    if (k == nt) {
      rt_error(c, "unknown activation '%s'", name);
      return false;
    }
    out[i].kind = act_table[k].kind;
    out[i].a = act_table[k].a, out[i].b = act_table[k].b;
    if (act_table[k].nparams >= 1 && al && ia < na) out[i].a = al[ia++];
    if (act_table[k].nparams >= 2 && be && ib < nb) out[i].b = be[ib++];
  }
  return true;
}

/* ------------------------------------------------------------------ driver */

typedef enum { CELL_RNN, CELL_GRU, CELL_LSTM } CellKind;

typedef struct RnnStep {
  CellKind kind;
  int64_t H, I;
  const RnnAct *f; /* this direction's activations */
  double clip;     /* <= 0: none */
  bool lbr, input_forget;
  const double *W, *R, *Wb, *Rb, *P; /* this direction's weights */
} RnnStep;

static double clipv(const RnnStep *s, double v) {
  if (s->clip > 0) v = v < -s->clip ? -s->clip : v > s->clip ? s->clip : v;
  return v;
}

/* One time step of one batch row: h (and c) updated in place. gx, gh: scratch of G*H. */
static void rnn_cell(const RnnStep *s, const double *x, double *h, double *cst, double *gx,
                     double *gh, double *hn) {
  int64_t H = s->H, I = s->I, G = s->kind == CELL_RNN ? 1 : s->kind == CELL_GRU ? 3 : 4;
  for (int64_t r = 0; r < G * H; r++) {
    double a = s->Wb ? s->Wb[r] : 0.0, b = s->Rb ? s->Rb[r] : 0.0;
    const double *w = s->W + r * I, *rr = s->R + r * H;
    for (int64_t k = 0; k < I; k++) a += w[k] * x[k];
    for (int64_t k = 0; k < H; k++) b += rr[k] * h[k];
    gx[r] = a, gh[r] = b;
  }
  if (s->kind == CELL_RNN) {
    for (int64_t j = 0; j < H; j++) hn[j] = act_apply(&s->f[0], clipv(s, gx[j] + gh[j]));
  } else if (s->kind == CELL_GRU) {
    for (int64_t j = 0; j < H; j++) {
      double z = act_apply(&s->f[0], clipv(s, gx[j] + gh[j]));
      double r = act_apply(&s->f[0], clipv(s, gx[H + j] + gh[H + j]));
      double hh;
      if (s->lbr) {
        hh = gx[2 * H + j] + r * gh[2 * H + j];
      } else { /* (r * h) R_h + Rb_h: recompute with the reset state */
        double b = s->Rb ? s->Rb[2 * H + j] : 0.0;
        const double *rr = s->R + (2 * H + j) * H;
        for (int64_t k = 0; k < H; k++) b += rr[k] * (r * h[k]);
        hh = gx[2 * H + j] + b;
      }
      hh = act_apply(&s->f[1], clipv(s, hh));
      hn[j] = (1 - z) * hh + z * h[j];
    }
  } else {
    for (int64_t j = 0; j < H; j++) {
      double pi = s->P ? s->P[j] : 0, po = s->P ? s->P[H + j] : 0, pf = s->P ? s->P[2 * H + j] : 0;
      double i = act_apply(&s->f[0], clipv(s, gx[j] + gh[j] + pi * cst[j]));
      double f = s->input_forget ? 1 - i
                                 : act_apply(&s->f[0], clipv(s, gx[2 * H + j] + gh[2 * H + j] + pf * cst[j]));
      double g = act_apply(&s->f[1], clipv(s, gx[3 * H + j] + gh[3 * H + j]));
      double cn = f * cst[j] + i * g;
      double o = act_apply(&s->f[0], clipv(s, gx[H + j] + gh[H + j] + po * cn));
      cst[j] = cn;
      hn[j] = o * act_apply(&s->f[2], cn);
    }
  }
  memcpy(h, hn, (size_t)H * sizeof *h);
}

static const char *const dflt_rnn[] = {"Tanh"};
static const char *const dflt_gru[] = {"Sigmoid", "Tanh"};
static const char *const dflt_lstm[] = {"Sigmoid", "Tanh", "Tanh"};

static int rnn_kernel(RtCtx *c, CellKind kind) {
  int G = kind == CELL_RNN ? 1 : kind == CELL_GRU ? 3 : 4, nper = kind == CELL_RNN ? 1 : kind == CELL_GRU ? 2 : 3;
  if (!nn_real_in(c, 0, 3) || !nn_real_in(c, 1, 3) || !nn_real_in(c, 2, 3)) return -1;
  const RtValue *X = c->in[0], *W = c->in[1], *R = c->in[2];
  const RtValue *B = c->n_in > 3 ? c->in[3] : NULL, *SL = c->n_in > 4 ? c->in[4] : NULL;
  const RtValue *H0 = c->n_in > 5 ? c->in[5] : NULL;
  const RtValue *C0 = kind == CELL_LSTM && c->n_in > 6 ? c->in[6] : NULL;
  const RtValue *P = kind == CELL_LSTM && c->n_in > 7 ? c->in[7] : NULL;
  const char *dir = rt_attr_str(c, "direction", "forward");
  int ndir = !strcmp(dir, "bidirectional") ? 2 : 1;
  bool rev = !strcmp(dir, "reverse");
  if (ndir == 1 && !rev && strcmp(dir, "forward") && strcmp(dir, "foward"))
    return rt_error(c, "unknown direction '%s'", dir);
  bool layout = rt_attr_int(c, "layout", 0) != 0;
  if (X->rank != 3 || W->rank != 3 || R->rank != 3) return rt_error(c, "X, W and R must be 3-D");
  int64_t T = layout ? X->dims[1] : X->dims[0], Bn = layout ? X->dims[0] : X->dims[1], I = X->dims[2];
  int64_t H = rt_attr_int(c, "hidden_size", R->dims[2]);
  if (W->dims[0] != ndir || W->dims[1] != G * H || W->dims[2] != I || R->dims[0] != ndir ||
      R->dims[1] != G * H || R->dims[2] != H)
    return rt_error(c, "W or R does not match %d direction(s), hidden size %lld, input %lld", ndir,
                    (long long)H, (long long)I);
  if (B && (!nn_real_in(c, 3, 2) || B->numel != (uint64_t)(ndir * 2 * G * H)))
    return rt_error(c, "B must be [%d, %lld]", ndir, (long long)(2 * G * H));
  if (H0 && (!nn_real_in(c, 5, 3) || H0->numel != (uint64_t)(ndir * Bn * H)))
    return rt_error(c, "initial_h has the wrong shape");
  if (C0 && (!nn_real_in(c, 6, 3) || C0->numel != (uint64_t)(ndir * Bn * H)))
    return rt_error(c, "initial_c has the wrong shape");
  if (P && (!nn_real_in(c, 7, 2) || P->numel != (uint64_t)(ndir * 3 * H)))
    return rt_error(c, "P must be [%d, %lld]", ndir, (long long)(3 * H));
  if (SL && (SL->kind != TYPE_TENSOR || (SL->elem != ELEM_INT32 && SL->elem != ELEM_INT64) ||
             SL->numel != (uint64_t)Bn))
    return rt_error(c, "sequence_lens must hold one integer per batch row");
  RnnAct acts[6];
  if (!rnn_acts(c, ndir, nper, kind == CELL_RNN ? dflt_rnn : kind == CELL_GRU ? dflt_gru : dflt_lstm, acts))
    return -1;
  const Attr *ca = rt_attr(c, "clip");
  double clip = ca && ca->type == ATTR_FLOAT ? ca->f : 0.0;

  /* outputs */
  int64_t ydims[4], hdims[3];
  if (layout) ydims[0] = Bn, ydims[1] = T, ydims[2] = ndir, ydims[3] = H, hdims[0] = Bn, hdims[1] = ndir;
  else ydims[0] = T, ydims[1] = ndir, ydims[2] = Bn, ydims[3] = H, hdims[0] = ndir, hdims[1] = Bn;
  hdims[2] = H;
  RtValue *Y = NULL, *Yh = NULL, *Yc = NULL;
  if (c->n_out > 0 && c->node->outputs[0] && !(Y = rt_out(c, 0, X->elem, 4, ydims))) return -1;
  if (c->n_out > 1 && c->node->outputs[1] && !(Yh = rt_out(c, 1, X->elem, 3, hdims))) return -1;
  if (kind == CELL_LSTM && c->n_out > 2 && c->node->outputs[2] && !(Yc = rt_out(c, 2, X->elem, 3, hdims)))
    return -1;

  double *x = nn_get_f64(X), *w = nn_get_f64(W), *r = nn_get_f64(R);
  double *b = B ? nn_get_f64(B) : NULL, *p = P ? nn_get_f64(P) : NULL;
  double *h0 = H0 ? nn_get_f64(H0) : NULL, *c0 = C0 ? nn_get_f64(C0) : NULL;
  double *y = nn_zalloc((uint64_t)(T * ndir * Bn * H), sizeof *y);
  double *yh = nn_zalloc((uint64_t)(ndir * Bn * H), sizeof *yh), *yc = nn_zalloc((uint64_t)(ndir * Bn * H), sizeof *yc);
  double *h = nn_alloc((uint64_t)H, sizeof *h), *cs = nn_alloc((uint64_t)H, sizeof *cs);
  double *gx = nn_alloc((uint64_t)(G * H), sizeof *gx), *gh = nn_alloc((uint64_t)(G * H), sizeof *gh);
  double *hn = nn_alloc((uint64_t)H, sizeof *hn);
  for (int d = 0; d < ndir; d++) {
    RnnStep s = {kind, H, I, acts + d * nper, clip, rt_attr_int(c, "linear_before_reset", 0) != 0,
                 rt_attr_int(c, "input_forget", 0) != 0, w + d * G * H * I, r + d * G * H * H,
                 b ? b + d * 2 * G * H : NULL, b ? b + d * 2 * G * H + G * H : NULL,
                 p ? p + d * 3 * H : NULL};
    bool backward = rev || d == 1;
    for (int64_t bi = 0; bi < Bn; bi++) {
      int64_t len = SL ? rt_get_i64(SL, (uint64_t)bi) : T;
      if (len < 0) len = 0;
      if (len > T) len = T;
      /* state index: [d, b] in layout 0, [b, d] in layout 1 */
      int64_t so = (layout ? bi * ndir + d : d * Bn + bi) * H;
      for (int64_t j = 0; j < H; j++) h[j] = h0 ? h0[so + j] : 0.0, cs[j] = c0 ? c0[so + j] : 0.0;
      for (int64_t k = 0; k < len; k++) {
        int64_t t = backward ? len - 1 - k : k;
        const double *xt = x + (layout ? bi * T + t : t * Bn + bi) * I;
        rnn_cell(&s, xt, h, cs, gx, gh, hn);
        double *yt = y + (layout ? ((bi * T + t) * ndir + d) : ((t * ndir + d) * Bn + bi)) * H;
        memcpy(yt, h, (size_t)H * sizeof *h);
      }
      memcpy(yh + so, h, (size_t)H * sizeof *h);
      memcpy(yc + so, cs, (size_t)H * sizeof *cs);
    }
  }
  if (Y) nn_put_f64(Y, y);
  if (Yh) nn_put_f64(Yh, yh);
  if (Yc) nn_put_f64(Yc, yc);
  free(x), free(w), free(r), free(b), free(p), free(h0), free(c0), free(y), free(yh), free(yc);
  free(h), free(cs), free(gx), free(gh), free(hn);
  return 0;
}

int rt_k_RNN(RtCtx *c) { return rnn_kernel(c, CELL_RNN); }
int rt_k_GRU(RtCtx *c) { return rnn_kernel(c, CELL_GRU); }
int rt_k_LSTM(RtCtx *c) { return rnn_kernel(c, CELL_LSTM); }
