/* k_misc_seq.c - random generators (RandomUniform/Normal[Like], Bernoulli, Multinomial),
 * the ai.onnx.preview.training optimizers (Momentum, Adagrad, Adam), and the optional and
 * sequence operators. */
#include "k_misc.h"

/* ------------------------------------------------------------------ random */

/* splitmix64 stream: seeded from the `seed` attribute when present (reproducible), else
 * from the interpreter's generator. */
typedef struct Rng {
  uint64_t s;
} Rng;

static uint64_t rng_next(Rng *r) {
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double rng_uniform(Rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; } /* [0,1) */

static double rng_normal(Rng *r) {
  double u1 = rng_uniform(r), u2 = rng_uniform(r);
  return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

static Rng rng_init(RtCtx *c) {
  Rng r;
  const Attr *a = rt_attr(c, "seed");
  if (a && a->type == ATTR_FLOAT) {
    double d = a->f;
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    r.s = bits ^ 0x5DEECE66Dull;
  } else {
    r.s = rt_random_u64(c);
  }
  return r;
}

static bool float_dtype(RtCtx *c, int64_t dt) {
  if (dt != ELEM_FLOAT && dt != ELEM_DOUBLE && dt != ELEM_FLOAT16 && dt != ELEM_BFLOAT16) {
    rt_error(c, "dtype %lld is not a floating-point type", (long long)dt);
    return false;
  }
  return true;
}

/* The four Random* kernels: normal or uniform, shape from the attribute or the input. */
static int random_fill(RtCtx *c, bool normal, bool like) {
  int64_t dt;
  int rank;
  int64_t dims[RT_MAX_RANK];
  if (like) {
    RtValue *x = rt_in_tensor(c, 0);
    if (!x) return -1;
    dt = rt_attr(c, "dtype") ? rt_attr_int(c, "dtype", ELEM_FLOAT) : x->elem;
    rank = x->rank;
    for (int i = 0; i < rank; i++) dims[i] = x->dims[i];
  } else {
    dt = rt_attr_int(c, "dtype", ELEM_FLOAT);
    size_t n = 0;
    const int64_t *s = rt_attr_ints(c, "shape", &n);
    if (!s || n > RT_MAX_RANK) return rt_error(c, "attribute 'shape' is required (rank <= %d)", RT_MAX_RANK);
    rank = (int)n;
    for (int i = 0; i < rank; i++) dims[i] = s[i];
  }
  if (!float_dtype(c, dt)) return -1;
  double a = rt_attr_float(c, normal ? "mean" : "low", 0.0f);
  double b = rt_attr_float(c, normal ? "scale" : "high", 1.0f);
  RtValue *y = rt_out(c, 0, (ElemType)dt, rank, dims);
  if (!y) return -1;
  Rng r = rng_init(c);
  for (uint64_t i = 0; i < y->numel; i++)
    rt_set_f64(y, i, normal ? a + b * rng_normal(&r) : a + (b - a) * rng_uniform(&r));
  return 0;
}

int rt_k_RandomUniform(RtCtx *c) { return random_fill(c, false, false); }
int rt_k_RandomUniformLike(RtCtx *c) { return random_fill(c, false, true); }
int rt_k_RandomNormal(RtCtx *c) { return random_fill(c, true, false); }
int rt_k_RandomNormalLike(RtCtx *c) { return random_fill(c, true, true); }

int rt_k_Bernoulli(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  if (!ir_elem(x->elem)->is_float) return rt_error(c, "input must be floating-point");
  int64_t dt = rt_attr(c, "dtype") ? rt_attr_int(c, "dtype", x->elem) : x->elem;
  if (!ir_elem_valid((int)dt) || dt == ELEM_STRING) return rt_error(c, "bad dtype %lld", (long long)dt);
  RtValue *y = rt_out(c, 0, (ElemType)dt, x->rank, x->dims);
  if (!y) return -1;
  Rng r = rng_init(c);
  for (uint64_t i = 0; i < x->numel; i++) rt_set_f64(y, i, rng_uniform(&r) < rt_get_f64(x, i) ? 1 : 0);
  return 0;
}

int rt_k_Multinomial(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  if (!ir_elem(x->elem)->is_float || x->rank != 2) return rt_error(c, "input must be a 2-D float tensor");
  int64_t dt = rt_attr_int(c, "dtype", ELEM_INT32), ss = rt_attr_int(c, "sample_size", 1);
  if (dt != ELEM_INT32 && dt != ELEM_INT64) return rt_error(c, "dtype must be int32 or int64");
  if (ss < 0) return rt_error(c, "negative sample_size");
  int64_t n = x->dims[0], k = x->dims[1], dims[2] = {n, ss};
  RtValue *y = rt_out(c, 0, (ElemType)dt, 2, dims);
  if (!y) return -1;
  Rng r = rng_init(c);
  double *cum = malloc(sizeof(double) * (size_t)(k ? k : 1));
  for (int64_t b = 0; b < n; b++) {
    double mx = -INFINITY, s = 0;
    for (int64_t j = 0; j < k; j++) {
      double v = rt_get_f64(x, (uint64_t)(b * k + j));
      mx = v > mx ? v : mx;
    }
    for (int64_t j = 0; j < k; j++) {
      s += exp(rt_get_f64(x, (uint64_t)(b * k + j)) - mx);
      cum[j] = s;
    }
    for (int64_t t = 0; t < ss; t++) {
      double u = rng_uniform(&r) * s;
      int64_t j = 0;
      while (j < k - 1 && !(u < cum[j])) j++;
      rt_set_i64(y, (uint64_t)(b * ss + t), j);
    }
  }
  free(cum);
  return 0;
}

/* ------------------------------------------------------------------ training */

/* R (scalar float) and T (scalar int64), then `groups` lists of n tensors each. */
static int train_args(RtCtx *c, int groups, double *r, int64_t *t) {
  if (c->n_in < 2 + groups || (c->n_in - 2) % groups)
    return rt_error(c, "expected R, T and %d equally long groups of tensors", groups);
  RtValue *rv = rt_in_tensor(c, 0), *tv = rt_in_tensor(c, 1);
  if (!rv || !tv) return -1;
  if (rv->numel != 1 || tv->numel != 1 || rv->elem == ELEM_STRING || tv->elem == ELEM_STRING)
    return rt_error(c, "R and T must be scalars");
  *r = rt_get_f64(rv, 0);
  *t = rt_get_i64(tv, 0);
  int n = (c->n_in - 2) / groups;
  for (int i = 0; i < n; i++) {
    RtValue *x = rt_in_tensor(c, 2 + i);
    if (!x) return -1;
    if (!ir_elem(x->elem)->is_float) return rt_error(c, "input %d must be floating-point", 2 + i);
    for (int g = 1; g < groups; g++) {
      RtValue *o = rt_in_tensor(c, 2 + g * n + i);
      if (!o) return -1;
      if (o->elem != x->elem || !rt_same_shape(o, x))
        return rt_error(c, "input %d must match input %d in type and shape", 2 + g * n + i, 2 + i);
    }
  }
  return n;
}

int rt_k_tr_Momentum(RtCtx *c) {
  double r;
  int64_t t;
  int n = train_args(c, 3, &r, &t);
  if (n < 0) return -1;
  double alpha = rt_attr_float(c, "alpha", 0), beta = rt_attr_float(c, "beta", 0);
  double norm = rt_attr_float(c, "norm_coefficient", 0);
  const char *mode = rt_attr_str(c, "mode", "standard");
  bool nesterov = !strcmp(mode, "nesterov");
  if (!nesterov && strcmp(mode, "standard")) return rt_error(c, "unknown mode '%s'", mode);
  double bt = t > 0 ? beta : 1.0;
  for (int i = 0; i < n; i++) {
    RtValue *x = c->in[2 + i], *g = c->in[2 + n + i], *v = c->in[2 + 2 * n + i];
    RtValue *xo = rt_out(c, i, x->elem, x->rank, x->dims), *vo = rt_out(c, n + i, x->elem, x->rank, x->dims);
    if (!xo || !vo) return -1;
    for (uint64_t k = 0; k < x->numel; k++) {
      double xv = rt_get_f64(x, k), gr = norm * xv + rt_get_f64(g, k);
      double vn = alpha * rt_get_f64(v, k) + bt * gr;
      rt_set_f64(vo, k, vn);
      rt_set_f64(xo, k, nesterov ? xv - r * (gr + alpha * vn) : xv - r * vn);
    }
  }
  return 0;
}

int rt_k_tr_Adagrad(RtCtx *c) {
  double r;
  int64_t t;
  int n = train_args(c, 3, &r, &t);
  if (n < 0) return -1;
  double decay = rt_attr_float(c, "decay_factor", 0), eps = rt_attr_float(c, "epsilon", 1e-6f);
  double norm = rt_attr_float(c, "norm_coefficient", 0);
  double ra = r / (1.0 + (double)t * decay);
  for (int i = 0; i < n; i++) {
    RtValue *x = c->in[2 + i], *g = c->in[2 + n + i], *h = c->in[2 + 2 * n + i];
    RtValue *xo = rt_out(c, i, x->elem, x->rank, x->dims), *ho = rt_out(c, n + i, x->elem, x->rank, x->dims);
    if (!xo || !ho) return -1;
    for (uint64_t k = 0; k < x->numel; k++) {
      double xv = rt_get_f64(x, k), gr = norm * xv + rt_get_f64(g, k);
      double hn = rt_get_f64(h, k) + gr * gr;
      rt_set_f64(ho, k, hn);
      rt_set_f64(xo, k, xv - ra * gr / (sqrt(hn) + eps));
    }
  }
  return 0;
}

int rt_k_tr_Adam(RtCtx *c) {
  double r;
  int64_t t;
  int n = train_args(c, 4, &r, &t);
  if (n < 0) return -1;
  double alpha = rt_attr_float(c, "alpha", 0.9f), beta = rt_attr_float(c, "beta", 0.999f);
  double eps = rt_attr_float(c, "epsilon", 1e-6f), norm = rt_attr_float(c, "norm_coefficient", 0);
  double post = rt_attr_float(c, "norm_coefficient_post", 0);
  double ra = t > 0 ? r * sqrt(1.0 - pow(beta, (double)t)) / (1.0 - pow(alpha, (double)t)) : r;
  for (int i = 0; i < n; i++) {
    RtValue *x = c->in[2 + i], *g = c->in[2 + n + i], *v = c->in[2 + 2 * n + i], *h = c->in[2 + 3 * n + i];
    RtValue *xo = rt_out(c, i, x->elem, x->rank, x->dims);
    RtValue *vo = rt_out(c, n + i, x->elem, x->rank, x->dims);
    RtValue *ho = rt_out(c, 2 * n + i, x->elem, x->rank, x->dims);
    if (!xo || !vo || !ho) return -1;
    for (uint64_t k = 0; k < x->numel; k++) {
      double xv = rt_get_f64(x, k), gr = norm * xv + rt_get_f64(g, k);
      double vn = alpha * rt_get_f64(v, k) + (1 - alpha) * gr;
      double hn = beta * rt_get_f64(h, k) + (1 - beta) * gr * gr;
      rt_set_f64(vo, k, vn);
      rt_set_f64(ho, k, hn);
      rt_set_f64(xo, k, (1 - post) * (xv - ra * vn / (sqrt(hn) + eps)));
    }
  }
  return 0;
}

/* ------------------------------------------------------------------ optional */

int rt_k_Optional(RtCtx *c) {
  RtValue *x = c->n_in > 0 ? c->in[0] : NULL;
  RtValue *o = rt_optional_new(rt_ref(x));
  if (!x) {
    const Attr *a = rt_attr(c, "type");
    if (a && a->type == ATTR_TYPE_PROTO && a->tp) {
      const Type *tp = a->tp;
      o->elem = tp->kind == TYPE_TENSOR ? tp->elem : tp->inner ? tp->inner->elem : ELEM_UNDEFINED;
    }
  }
  rt_set_out(c, 0, o);
  return 0;
}

int rt_k_OptionalHasElement(RtCtx *c) {
  RtValue *x = c->n_in > 0 ? c->in[0] : NULL;
  RtValue *y = rt_out(c, 0, ELEM_BOOL, 0, NULL);
  if (!y) return -1;
  ((uint8_t *)y->data)[0] = x && (x->kind != TYPE_OPTIONAL || (x->n_items > 0 && x->items[0]));
  return 0;
}

int rt_k_OptionalGetElement(RtCtx *c) {
  RtValue *x = c->n_in > 0 ? c->in[0] : NULL;
  if (!x) return rt_error(c, "input is missing");
  if (x->kind == TYPE_OPTIONAL) {
    if (x->n_items < 1 || !x->items[0]) return rt_error(c, "the optional input is empty");
    rt_set_out(c, 0, rt_ref(x->items[0]));
  } else {
    rt_set_out(c, 0, rt_ref(x));
  }
  return 0;
}

/* ------------------------------------------------------------------ sequences */

static RtValue *seq_in(RtCtx *c, int i) {
  RtValue *v = i < c->n_in ? c->in[i] : NULL;
  if (!v || v->kind != TYPE_SEQUENCE) {
    rt_error(c, "input %d must be a sequence", i);
    return NULL;
  }
  return v;
}

/* A position input (scalar int32/int64), normalized against n (n itself allowed when
 * `end_ok`); false after reporting. */
static bool seq_pos(RtCtx *c, int i, int n, bool end_ok, int64_t dflt, int64_t *out) {
  RtValue *p = i < c->n_in ? c->in[i] : NULL;
  int64_t v = dflt;
  if (p) {
    if (p->kind != TYPE_TENSOR || (p->elem != ELEM_INT32 && p->elem != ELEM_INT64) || p->numel != 1) {
      rt_error(c, "position must be an int32 or int64 scalar");
      return false;
    }
    v = rt_get_i64(p, 0);
  }
  if (v < 0) v += n;
  if (v < 0 || v > n || (v == n && !end_ok)) {
    rt_error(c, "position %lld is out of range for a sequence of %d", (long long)v, n);
    return false;
  }
  *out = v;
  return true;
}

static RtValue *seq_like(const RtValue *s, int n) {
  RtValue *o = rt_seq_new(n);
  o->elem = s->elem;
  o->type = s->type;
  return o;
}

int rt_k_SequenceConstruct(RtCtx *c) {
  RtValue *o = rt_seq_new(c->n_in);
  for (int i = 0; i < c->n_in; i++) {
    RtValue *x = rt_in_tensor(c, i);
    if (!x || (i && x->elem != c->in[0]->elem)) {
      rt_unref(o);
      return x ? rt_error(c, "all inputs must have the same element type") : -1;
    }
    o->items[i] = rt_ref(x);
  }
  if (c->n_in) o->elem = c->in[0]->elem;
  rt_set_out(c, 0, o);
  return 0;
}

int rt_k_SequenceEmpty(RtCtx *c) {
  int64_t dt = rt_attr_int(c, "dtype", ELEM_FLOAT);
  if (!ir_elem_valid((int)dt)) return rt_error(c, "bad dtype %lld", (long long)dt);
  RtValue *o = rt_seq_new(0);
  o->elem = (ElemType)dt;
  rt_set_out(c, 0, o);
  return 0;
}

int rt_k_SequenceLength(RtCtx *c) {
  RtValue *s = seq_in(c, 0);
  if (!s) return -1;
  RtValue *y = rt_out(c, 0, ELEM_INT64, 0, NULL);
  if (!y) return -1;
  ((int64_t *)y->data)[0] = s->n_items;
  return 0;
}

int rt_k_SequenceAt(RtCtx *c) {
  RtValue *s = seq_in(c, 0);
  int64_t p;
  if (!s) return -1;
  if (c->n_in < 2 || !c->in[1]) return rt_error(c, "position is required");
  if (!seq_pos(c, 1, s->n_items, false, 0, &p)) return -1;
  rt_set_out(c, 0, rt_ref(s->items[p]));
  return 0;
}

int rt_k_SequenceInsert(RtCtx *c) {
  RtValue *s = seq_in(c, 0), *x = rt_in_tensor(c, 1);
  int64_t p;
  if (!s || !x || !seq_pos(c, 2, s->n_items, true, s->n_items, &p)) return -1;
  if (s->n_items && s->elem != ELEM_UNDEFINED && x->elem != s->elem)
    return rt_error(c, "tensor type differs from the sequence's");
  RtValue *o = seq_like(s, s->n_items + 1);
  for (int i = 0, j = 0; i <= s->n_items; i++) o->items[i] = i == p ? rt_ref(x) : rt_ref(s->items[j++]);
  o->elem = x->elem;
  rt_set_out(c, 0, o);
  return 0;
}

int rt_k_SequenceErase(RtCtx *c) {
  RtValue *s = seq_in(c, 0);
  int64_t p;
  if (!s || !seq_pos(c, 1, s->n_items, false, -1, &p)) return -1;
  RtValue *o = seq_like(s, s->n_items - 1);
  for (int i = 0, j = 0; i < s->n_items; i++)
    if (i != p) o->items[j++] = rt_ref(s->items[i]);
  rt_set_out(c, 0, o);
  return 0;
}

/* Copy the slab [start, start+len) along `axis` of x into a new tensor of rank `rank`
 * (dims given). */
static RtValue *slab(const RtValue *x, int axis, int64_t start, int64_t len, int rank, const int64_t *dims) {
  RtValue *y = rt_tensor_new(x->elem, rank, dims);
  if (!y) return NULL;
  int64_t outer = 1, inner = 1, ad = x->dims[axis];
  for (int i = 0; i < axis; i++) outer *= x->dims[i];
  for (int i = axis + 1; i < x->rank; i++) inner *= x->dims[i];
  uint64_t o = 0;
  for (int64_t a = 0; a < outer; a++)
    for (int64_t k = 0; k < len; k++)
      for (int64_t j = 0; j < inner; j++)
        km_copy_elem(y, o++, x, (uint64_t)((a * ad + start + k) * inner + j));
  return y;
}

int rt_k_SplitToSequence(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  int axis;
  if (x->rank < 1) return rt_error(c, "input must have rank >= 1");
  if (!rt_axis(c, rt_attr_int(c, "axis", 0), x->rank, &axis)) return -1;
  int64_t ad = x->dims[axis];
  RtValue *sp = c->n_in > 1 ? c->in[1] : NULL;
  bool keep = rt_attr_int(c, "keepdims", 1) != 0;
  int64_t *sizes = NULL, n = 0;
  if (sp) {
    if (sp->kind != TYPE_TENSOR || (sp->elem != ELEM_INT32 && sp->elem != ELEM_INT64) || sp->rank > 1)
      return rt_error(c, "split must be an int32/int64 scalar or 1-D tensor");
    keep = true;
    if (sp->rank == 0) {
      int64_t s = rt_get_i64(sp, 0);
      if (s <= 0) return rt_error(c, "split must be positive");
      n = ad ? (ad + s - 1) / s : 0;
      sizes = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
      for (int64_t i = 0; i < n; i++) sizes[i] = i == n - 1 ? ad - s * (n - 1) : s;
    } else {
      n = (int64_t)sp->numel;
      sizes = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
      int64_t sum = 0;
      for (int64_t i = 0; i < n; i++) {
        sizes[i] = rt_get_i64(sp, (uint64_t)i);
        if (sizes[i] < 0) {
          free(sizes);
          return rt_error(c, "negative split size");
        }
        sum += sizes[i];
      }
      if (sum != ad) {
        free(sizes);
        return rt_error(c, "split sizes sum to %lld, not %lld", (long long)sum, (long long)ad);
      }
    }
  } else {
    n = ad;
    sizes = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) sizes[i] = 1;
  }
  if (n > 1 << 30) {
    free(sizes);
    return rt_error(c, "too many pieces");
  }
  RtValue *o = rt_seq_new((int)n);
  o->elem = x->elem;
  int64_t start = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t dims[RT_MAX_RANK];
    int r = 0;
    for (int d = 0; d < x->rank; d++) {
      if (d == axis && !keep) continue;
      dims[r++] = d == axis ? sizes[i] : x->dims[d];
    }
    o->items[i] = slab(x, axis, start, sizes[i], r, dims);
    start += sizes[i];
  }
  free(sizes);
  rt_set_out(c, 0, o);
  return 0;
}

int rt_k_ConcatFromSequence(RtCtx *c) {
  RtValue *s = seq_in(c, 0);
  if (!s) return -1;
  if (s->n_items < 1) return rt_error(c, "the sequence is empty");
  bool stack = rt_attr_int(c, "new_axis", 0) != 0;
  const RtValue *f = s->items[0];
  for (int i = 0; i < s->n_items; i++)
    if (!s->items[i] || s->items[i]->kind != TYPE_TENSOR || s->items[i]->elem != f->elem ||
        s->items[i]->rank != f->rank)
      return rt_error(c, "sequence items must be tensors of one type and rank");
  int orank = f->rank + (stack ? 1 : 0);
  if (orank < 1 || orank > RT_MAX_RANK) return rt_error(c, "bad rank");
  int axis;
  if (!rt_axis(c, rt_attr_int(c, "axis", 0), orank, &axis)) return -1;
  int64_t dims[RT_MAX_RANK];
  /* each item viewed as [outer, len_i, inner] around the axis */
  for (int d = 0, k = 0; d < orank; d++) dims[d] = stack && d == axis ? 1 : f->dims[k++];
  int64_t total = 0;
  for (int i = 0; i < s->n_items; i++) {
    const RtValue *x = s->items[i];
    for (int d = 0, k = 0; d < orank; d++) {
      if (stack && d == axis) continue;
      if (d != axis && x->dims[k] != dims[d]) return rt_error(c, "item %d has a different shape", i);
      k++;
    }
    total += stack ? 1 : x->dims[axis];
  }
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; d++) outer *= dims[d];
  for (int d = axis + 1; d < orank; d++) inner *= dims[d];
  dims[axis] = total;
  RtValue *y = rt_out(c, 0, f->elem, orank, dims);
  if (!y) return -1;
  int64_t off = 0;
  for (int i = 0; i < s->n_items; i++) {
    const RtValue *x = s->items[i];
    int64_t len = stack ? 1 : x->dims[axis];
    for (int64_t a = 0; a < outer; a++)
      for (int64_t k = 0; k < len * inner; k++)
        km_copy_elem(y, (uint64_t)((a * total + off) * inner + k), x, (uint64_t)(a * len * inner + k));
    off += len;
  }
  return 0;
}

/* SequenceMap: run `body` once per element of the first input; additional inputs that are
 * sequences contribute their i-th element, tensors are passed whole. Each body output
 * collects into one output sequence. */
int rt_k_SequenceMap(RtCtx *c) {
  RtValue *s = seq_in(c, 0);
  if (!s) return -1;
  const Attr *a = rt_attr(c, "body");
  if (!a || a->type != ATTR_GRAPH || !a->g) return rt_error(c, "attribute 'body' is required");
  const Graph *g = a->g;
  if (g->n_inputs != c->n_in) return rt_error(c, "body takes %d inputs, the node has %d", g->n_inputs, c->n_in);
  if (g->n_outputs != c->n_out) return rt_error(c, "body has %d outputs, the node %d", g->n_outputs, c->n_out);
  int n = s->n_items;
  for (int j = 1; j < c->n_in; j++) {
    RtValue *x = c->in[j];
    if (!x) return rt_error(c, "input %d is missing", j);
    if (x->kind == TYPE_SEQUENCE && x->n_items != n)
      return rt_error(c, "input %d has %d items, the first input %d", j, x->n_items, n);
  }
  RtValue **outs = calloc((size_t)c->n_out, sizeof *outs);
  RtValue **ins = calloc((size_t)c->n_in, sizeof *ins);
  RtValue **res = calloc((size_t)c->n_out, sizeof *res);
  int rc = 0;
  for (int k = 0; k < c->n_out; k++) {
    res[k] = rt_seq_new(n);
    const Type *t = g->outputs[k] ? g->outputs[k]->type : NULL;
    if (t && t->kind == TYPE_TENSOR) res[k]->elem = t->elem;
  }
  for (int i = 0; i < n && !rc; i++) {
    ins[0] = s->items[i];
    for (int j = 1; j < c->n_in; j++) ins[j] = c->in[j]->kind == TYPE_SEQUENCE ? c->in[j]->items[i] : c->in[j];
    rc = rt_run_subgraph(c, g, ins, c->n_in, outs);
    for (int k = 0; k < c->n_out && !rc; k++) {
      res[k]->items[i] = outs[k];
      outs[k] = NULL;
      if (res[k]->items[i]) res[k]->elem = res[k]->items[i]->elem;
    }
  }
  for (int k = 0; k < c->n_out; k++) {
    if (rc) rt_unref(res[k]);
    else rt_set_out(c, k, res[k]);
  }
  free(outs);
  free(ins);
  free(res);
  return rc;
}
