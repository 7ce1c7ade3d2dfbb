/* k_shape.c - shape and data-movement kernels: Constant, Identity, Dropout, Shape, Size,
 * Reshape, Flatten, Squeeze, Unsqueeze, Concat, Split, Transpose, Expand, Tile, Slice, Pad,
 * CenterCropPad, DepthToSpace, SpaceToDepth, ConstantOfShape, Range, EyeLike, Trilu. */
#include "k_shape.h"
#include "kern.h"

#include <math.h>

/* ------------------------------------------------------------------ Constant */

/* An owned copy of an IR tensor; NULL after reporting. */
static RtValue *from_tensor(RtCtx *c, const Tensor *t) {
  RtValue *w = rt_tensor_wrap(t);
  if (!w) {
    rt_error(c, "tensor of rank %d is above %d", t->rank, RT_MAX_RANK);
    return NULL;
  }
  size_t need = 0;
  if (!ir_elem_nbytes(t->elem, w->numel, &need) || (w->numel && (!t->data || t->nbytes < need))) {
    rt_unref(w);
    rt_error(c, "tensor '%s' has no data or too little", t->name ? t->name : "");
    return NULL;
  }
  RtValue *v = rt_tensor_copy(w);
  rt_unref(w);
  if (!v) rt_error(c, "cannot copy tensor '%s'", t->name ? t->name : "");
  return v;
}

static RtValue *densify(RtCtx *c, const SparseTensor *sp) {
  if (!sp->values || !sp->indices) {
    rt_error(c, "sparse tensor without values or indices");
    return NULL;
  }
  RtValue *vals = from_tensor(c, sp->values);
  if (!vals) return NULL;
  RtValue *idx = from_tensor(c, sp->indices);
  RtValue *out = idx ? rt_out(c, 0, vals->elem, sp->rank, sp->dims) : NULL;
  int rc = -1;
  if (!out) goto done;
  int64_t st[RT_MAX_RANK];
  rt_strides(out->rank, out->dims, st);
  uint64_t nnz = vals->numel;
  bool linear = idx->rank == 1;
  if (ir_elem(idx->elem)->is_float || idx->elem == ELEM_STRING ||
      (linear ? idx->numel != nnz : idx->rank != 2 || idx->dims[0] != (int64_t)nnz || idx->dims[1] != out->rank)) {
    rt_error(c, "sparse tensor indices do not match its values");
    goto done;
  }
  for (uint64_t k = 0; k < nnz; k++) {
    int64_t lin = 0;
    if (linear) {
      lin = rt_get_i64(idx, k);
    } else {
      for (int d = 0; d < out->rank; d++) {
        int64_t x = rt_get_i64(idx, k * (uint64_t)out->rank + (uint64_t)d);
        if (x < 0 || x >= out->dims[d]) lin = -1, d = out->rank;
        else lin += x * st[d];
      }
    }
    if (lin < 0 || (uint64_t)lin >= out->numel) {
      rt_error(c, "sparse tensor index out of range");
      goto done;
    }
    ks_copy1(out, (uint64_t)lin, vals, k);
  }
  rc = 0;
done:
  rt_unref(vals);
  rt_unref(idx);
  return rc ? NULL : out;
}

int rt_k_Constant(RtCtx *c) {
  const Attr *a;
  if ((a = rt_attr(c, "value")) && a->type == ATTR_TENSOR) {
    RtValue *v = from_tensor(c, a->t);
    if (!v) return -1;
    rt_set_out(c, 0, v);
    return 0;
  }
  if ((a = rt_attr(c, "sparse_value")) && a->type == ATTR_SPARSE_TENSOR)
    return densify(c, a->sparse) ? 0 : -1;
  if ((a = rt_attr(c, "value_float")) && a->type == ATTR_FLOAT) {
    RtValue *v = rt_out(c, 0, ELEM_FLOAT, 0, NULL);
    if (!v) return -1;
    ((float *)v->data)[0] = a->f;
    return 0;
  }
  if ((a = rt_attr(c, "value_int")) && a->type == ATTR_INT) {
    RtValue *v = rt_out(c, 0, ELEM_INT64, 0, NULL);
    if (!v) return -1;
    ((int64_t *)v->data)[0] = a->i;
    return 0;
  }
  if ((a = rt_attr(c, "value_string")) && a->type == ATTR_STRING) {
    RtValue *v = rt_out(c, 0, ELEM_STRING, 0, NULL);
    if (!v) return -1;
    rt_str_set(v, 0, a->s.s ? a->s.s : "", a->s.len);
    return 0;
  }
  int64_t n;
  if ((a = rt_attr(c, "value_floats")) && a->type == ATTR_FLOATS) {
    n = (int64_t)a->n;
    RtValue *v = rt_out(c, 0, ELEM_FLOAT, 1, &n);
    if (!v) return -1;
    if (n) memcpy(v->data, a->floats, a->n * sizeof(float));
    return 0;
  }
  if ((a = rt_attr(c, "value_ints")) && a->type == ATTR_INTS) {
    n = (int64_t)a->n;
    RtValue *v = rt_out(c, 0, ELEM_INT64, 1, &n);
    if (!v) return -1;
    if (n) memcpy(v->data, a->ints, a->n * sizeof(int64_t));
    return 0;
  }
  if ((a = rt_attr(c, "value_strings")) && a->type == ATTR_STRINGS) {
    n = (int64_t)a->n;
    RtValue *v = rt_out(c, 0, ELEM_STRING, 1, &n);
    if (!v) return -1;
    for (size_t i = 0; i < a->n; i++) rt_str_set(v, i, a->strings[i].s ? a->strings[i].s : "", a->strings[i].len);
    return 0;
  }
  return rt_error(c, "no value attribute");
}

/* ------------------------------------------------------------------ Identity, Dropout */

int rt_k_Identity(RtCtx *c) {
  RtValue *x = ks_in(c, 0);
  if (!x) return rt_error(c, "input 0 is missing");
  rt_set_out(c, 0, rt_ref(x));
  return 0;
}

/* numpy's legacy RandomState (MT19937 seeded with init_genrand), for Dropout's mask. */
typedef struct Mt {
  uint32_t s[624];
  int i;
} Mt;

static void mt_seed(Mt *m, uint32_t seed) {
  m->s[0] = seed;
  for (uint32_t i = 1; i < 624; i++) m->s[i] = 1812433253u * (m->s[i - 1] ^ (m->s[i - 1] >> 30)) + i;
  m->i = 624;
}

static uint32_t mt_next(Mt *m) {
  if (m->i >= 624) {
    for (int k = 0; k < 624; k++) {
      uint32_t y = (m->s[k] & 0x80000000u) | (m->s[(k + 1) % 624] & 0x7fffffffu);
      m->s[k] = m->s[(k + 397) % 624] ^ (y >> 1) ^ (y & 1 ? 0x9908b0dfu : 0);
    }
    m->i = 0;
  }
  uint32_t y = m->s[m->i++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  return y ^ (y >> 18);
}

static double mt_double(Mt *m) { /* random_sample: 53 random bits in [0, 1) */
  uint32_t a = mt_next(m) >> 5, b = mt_next(m) >> 6;
  return (a * 67108864.0 + b) / 9007199254740992.0;
}

int rt_k_Dropout(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  double ratio = rt_attr_float(c, "ratio", 0.5f);
  bool train = false;
  if (c->op->since >= 12) {
    RtValue *r = ks_in(c, 1), *t = ks_in(c, 2);
    ratio = 0.5;
    if (r && r->kind == TYPE_TENSOR && r->numel) ratio = rt_get_f64(r, 0);
    if (t && t->kind == TYPE_TENSOR && t->numel) train = rt_get_f64(t, 0) != 0;
  }
  bool want_mask = c->n_out > 1 && c->node->outputs[1];
  ElemType mask_elem = c->op->since >= 10 ? ELEM_BOOL : x->elem;
  if (!train || ratio == 0) {
    rt_set_out(c, 0, rt_ref(x));
    if (want_mask) {
      RtValue *m = rt_out(c, 1, mask_elem, x->rank, x->dims);
      if (!m) return -1;
      for (uint64_t i = 0; i < m->numel; i++) rt_set_f64(m, i, 1);
    }
    return 0;
  }
  if (!(ratio >= 0 && ratio <= 1)) return rt_error(c, "ratio %g is not in [0, 1]", ratio);
  if (!ir_elem(x->elem)->is_float) return rt_error(c, "training mode needs a floating-point input");
  const Attr *sa = rt_attr(c, "seed");
  Mt mt;
  mt_seed(&mt, sa && sa->type == ATTR_INT ? (uint32_t)sa->i : (uint32_t)rt_random_u64(c));
  RtValue *y = rt_out(c, 0, x->elem, x->rank, x->dims);
  RtValue *m = want_mask ? rt_out(c, 1, mask_elem, x->rank, x->dims) : NULL;
  if (!y || (want_mask && !m)) return -1;
  float scale = ratio < 1 ? (float)(1.0f / (1.0f - (float)ratio)) : 0.0f;
  for (uint64_t i = 0; i < x->numel; i++) {
    bool keep = mt_double(&mt) >= ratio;
    if (keep) rt_set_f64(y, i, x->elem == ELEM_FLOAT ? (double)(((const float *)x->data)[i] * scale)
                                                     : rt_get_f64(x, i) * scale);
    if (m) rt_set_f64(m, i, keep);
  }
  return 0;
}

/* ------------------------------------------------------------------ Shape, Size */

int rt_k_Shape(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  int64_t r = x->rank, start = 0, end = r;
  if (c->op->since >= 15) {
    start = rt_attr_int(c, "start", 0);
    end = rt_attr_int(c, "end", r);
  }
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = start < 0 ? 0 : start > r ? r : start;
  end = end < 0 ? 0 : end > r ? r : end;
  int64_t n = end > start ? end - start : 0;
  RtValue *o = rt_out(c, 0, ELEM_INT64, 1, &n);
  if (!o) return -1;
  for (int64_t i = 0; i < n; i++) ((int64_t *)o->data)[i] = x->dims[start + i];
  return 0;
}

int rt_k_Size(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  RtValue *o = rt_out(c, 0, ELEM_INT64, 0, NULL);
  if (!o) return -1;
  ((int64_t *)o->data)[0] = (int64_t)x->numel;
  return 0;
}

/* ------------------------------------------------------------------ Reshape and friends */

int rt_k_Reshape(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  int64_t shape[RT_MAX_RANK];
  size_t n = 0;
  if (c->op->since < 5) {
    const int64_t *s = rt_attr_ints(c, "shape", &n);
    if (!s) return rt_error(c, "no shape attribute");
    if (n > RT_MAX_RANK) return rt_error(c, "shape has %zu entries, more than %d", n, RT_MAX_RANK);
    memcpy(shape, s, n * sizeof *s);
  } else {
    if (!rt_in_tensor(c, 1) || !rt_in_ints(c, 1, shape, RT_MAX_RANK, &n)) return -1;
  }
  bool allowzero = c->op->since >= 14 && rt_attr_int(c, "allowzero", 0);
  int neg = -1;
  uint64_t known = 1;
  for (size_t i = 0; i < n; i++) {
    if (shape[i] == 0 && !allowzero) {
      if ((int)i >= x->rank) return rt_error(c, "shape entry %zu is 0 but the input has rank %d", i, x->rank);
      shape[i] = x->dims[i];
    }
    if (shape[i] == -1) {
      if (neg >= 0) return rt_error(c, "more than one -1 in the shape");
      neg = (int)i;
      continue;
    }
    if (shape[i] < 0) return rt_error(c, "negative shape entry %lld", (long long)shape[i]);
    known *= (uint64_t)shape[i];
  }
  if (neg >= 0) {
    if (known == 0 || x->numel % known) return rt_error(c, "cannot infer the -1 dimension");
    shape[neg] = (int64_t)(x->numel / known);
    known *= (uint64_t)shape[neg];
  }
  if (known != x->numel) {
    char b[160];
    return rt_error(c, "cannot reshape %s to %zu dims with %llu elements", rt_shape_str(x, b, sizeof b), n,
                    (unsigned long long)known);
  }
  RtValue *o = ks_reshaped(c, x, (int)n, shape);
  if (!o) return -1;
  rt_set_out(c, 0, o);
  return 0;
}

int rt_k_Flatten(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  int64_t axis = rt_attr_int(c, "axis", 1);
  if (axis < 0) axis += x->rank;
  if (axis < 0 || axis > x->rank) return rt_error(c, "axis out of range for rank %d", x->rank);
  int64_t d[2] = {1, 1};
  for (int i = 0; i < x->rank; i++) d[i >= axis] *= x->dims[i];
  RtValue *o = ks_reshaped(c, x, 2, d);
  if (!o) return -1;
  rt_set_out(c, 0, o);
  return 0;
}

/* The axes of Squeeze/Unsqueeze: the attribute before opset 13, input 1 after. */
static bool get_axes(RtCtx *c, int64_t *axes, size_t *n, bool *given) {
  *n = 0;
  *given = false;
  if (c->op->since < 13) {
    const int64_t *a = rt_attr_ints(c, "axes", n);
    if (!a) return true;
    if (*n > RT_MAX_RANK) return rt_error(c, "too many axes") == 0;
    memcpy(axes, a, *n * sizeof *a);
    *given = true;
    return true;
  }
  if (!ks_in(c, 1)) return true;
  *given = true;
  return rt_in_ints(c, 1, axes, RT_MAX_RANK, n);
}

int rt_k_Squeeze(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  int64_t axes[RT_MAX_RANK];
  size_t n;
  bool given;
  if (!get_axes(c, axes, &n, &given)) return -1;
  bool drop[RT_MAX_RANK] = {0};
  if (!given) {
    for (int i = 0; i < x->rank; i++) drop[i] = x->dims[i] == 1;
  } else {
    for (size_t k = 0; k < n; k++) {
      int a;
      if (!rt_axis(c, axes[k], x->rank, &a)) return -1;
      if (x->dims[a] != 1) return rt_error(c, "cannot squeeze axis %d of size %lld", a, (long long)x->dims[a]);
      drop[a] = true;
    }
  }
  int64_t d[RT_MAX_RANK];
  int r = 0;
  for (int i = 0; i < x->rank; i++)
    if (!drop[i]) d[r++] = x->dims[i];
  RtValue *o = ks_reshaped(c, x, r, d);
  if (!o) return -1;
  rt_set_out(c, 0, o);
  return 0;
}

int rt_k_Unsqueeze(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  int64_t axes[RT_MAX_RANK];
  size_t n;
  bool given;
  if (!get_axes(c, axes, &n, &given)) return -1;
  if (!given) return rt_error(c, "no axes");
  int r = x->rank + (int)n;
  if (r > RT_MAX_RANK) return rt_error(c, "rank %d is above %d", r, RT_MAX_RANK);
  bool ins[RT_MAX_RANK] = {0};
  for (size_t k = 0; k < n; k++) {
    int a;
    if (!rt_axis(c, axes[k], r, &a)) return -1;
    if (ins[a]) return rt_error(c, "axis %d repeated", a);
    ins[a] = true;
  }
  int64_t d[RT_MAX_RANK];
  for (int i = 0, j = 0; i < r; i++) d[i] = ins[i] ? 1 : x->dims[j++];
  RtValue *o = ks_reshaped(c, x, r, d);
  if (!o) return -1;
  rt_set_out(c, 0, o);
  return 0;
}

/* ------------------------------------------------------------------ Concat, Split */

int rt_k_Concat(RtCtx *c) {
  if (c->n_in < 1) return rt_error(c, "no inputs");
  RtValue *x0 = rt_in_tensor(c, 0);
  if (!x0) return -1;
  int ax;
  if (!rt_axis(c, rt_attr_int(c, "axis", c->op->since < 4 ? 1 : 0), x0->rank, &ax)) return -1;
  int64_t d[RT_MAX_RANK];
  memcpy(d, x0->dims, sizeof d);
  d[ax] = 0;
  for (int k = 0; k < c->n_in; k++) {
    RtValue *x = rt_in_tensor(c, k);
    if (!x) return -1;
    if (x->elem != x0->elem || x->rank != x0->rank) return rt_error(c, "input %d differs in type or rank", k);
    for (int i = 0; i < x->rank; i++)
      if (i != ax && x->dims[i] != x0->dims[i]) return rt_error(c, "input %d differs in dimension %d", k, i);
    d[ax] += x->dims[ax];
  }
  RtValue *o = rt_out(c, 0, x0->elem, x0->rank, d);
  if (!o) return -1;
  uint64_t outer = 1, inner = 1, pos = 0;
  for (int i = 0; i < ax; i++) outer *= (uint64_t)d[i];
  for (int i = ax + 1; i < x0->rank; i++) inner *= (uint64_t)d[i];
  for (uint64_t q = 0; q < outer; q++)
    for (int k = 0; k < c->n_in; k++) {
      uint64_t blk = (uint64_t)c->in[k]->dims[ax] * inner;
      ks_copyn(o, pos, c->in[k], q * blk, blk);
      pos += blk;
    }
  return 0;
}

int rt_k_Split(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  int ax;
  if (!rt_axis(c, rt_attr_int(c, "axis", 0), x->rank, &ax)) return -1;
  int nout = c->n_out;
  int64_t dim = x->dims[ax];
  int64_t *sizes = calloc((size_t)nout + 1, sizeof *sizes);
  if (!sizes) return rt_error(c, "out of memory");
  int rc = -1;
  const int64_t *sa = NULL;
  size_t ns = 0;
  RtValue *sv = c->op->since >= 13 || c->op->since == 1 ? ks_in(c, 1) : NULL;
  if (sv && sv->kind == TYPE_TENSOR && sv->numel) {
    if (sv->elem != ELEM_INT64 && sv->elem != ELEM_INT32) {
      rt_error(c, "split must be int64");
      goto done;
    }
    ns = (size_t)sv->numel;
    if (ns != (size_t)nout) {
      rt_error(c, "split has %zu entries for %d outputs", ns, nout);
      goto done;
    }
    for (size_t i = 0; i < ns; i++) sizes[i] = rt_get_i64(sv, i);
  } else if (c->op->since < 13 && (sa = rt_attr_ints(c, "split", &ns)) != NULL && ns) {
    if (ns != (size_t)nout) {
      rt_error(c, "split has %zu entries for %d outputs", ns, nout);
      goto done;
    }
    memcpy(sizes, sa, ns * sizeof *sa);
  } else {
    int64_t parts = nout;
    if (c->op->since >= 18 && rt_attr(c, "num_outputs")) {
      parts = rt_attr_int(c, "num_outputs", nout);
      if (parts != nout) {
        rt_error(c, "num_outputs is %lld but the node has %d outputs", (long long)parts, nout);
        goto done;
      }
    }
    if (parts <= 0) {
      rt_error(c, "no outputs");
      goto done;
    }
    int64_t chunk = (dim + parts - 1) / parts, left = dim;
    for (int i = 0; i < nout; i++) {
      sizes[i] = chunk < left ? chunk : left;
      left -= sizes[i];
    }
  }
  int64_t sum = 0;
  for (int i = 0; i < nout; i++) {
    if (sizes[i] < 0) {
      rt_error(c, "negative split size");
      goto done;
    }
    sum += sizes[i];
  }
  if (sum != dim) {
    rt_error(c, "split sizes add to %lld, not %lld", (long long)sum, (long long)dim);
    goto done;
  }
  uint64_t outer = 1, inner = 1;
  for (int i = 0; i < ax; i++) outer *= (uint64_t)x->dims[i];
  for (int i = ax + 1; i < x->rank; i++) inner *= (uint64_t)x->dims[i];
  int64_t off = 0;
  for (int k = 0; k < nout; k++) {
    int64_t d[RT_MAX_RANK];
    memcpy(d, x->dims, sizeof d);
    d[ax] = sizes[k];
    RtValue *o = rt_out(c, k, x->elem, x->rank, d);
    if (!o) goto done;
    uint64_t blk = (uint64_t)sizes[k] * inner;
    for (uint64_t q = 0; q < outer; q++) ks_copyn(o, q * blk, x, (q * (uint64_t)dim + (uint64_t)off) * inner, blk);
    off += sizes[k];
  }
  rc = 0;
done:
  free(sizes);
  return rc;
}

/* ------------------------------------------------------------------ Transpose, Expand, Tile */

int rt_k_Transpose(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  int perm[RT_MAX_RANK];
  size_t n;
  const int64_t *p = rt_attr_ints(c, "perm", &n);
  if (p) {
    if ((int)n != x->rank) return rt_error(c, "perm has %zu entries for rank %d", n, x->rank);
    bool seen[RT_MAX_RANK] = {0};
    for (size_t i = 0; i < n; i++) {
      int a;
      if (!rt_axis(c, p[i], x->rank, &a)) return -1;
      if (seen[a]) return rt_error(c, "perm is not a permutation");
      seen[a] = true;
      perm[i] = a;
    }
  } else {
    for (int i = 0; i < x->rank; i++) perm[i] = x->rank - 1 - i;
  }
  int64_t d[RT_MAX_RANK];
  for (int i = 0; i < x->rank; i++) d[i] = x->dims[perm[i]];
  RtValue *o = rt_out(c, 0, x->elem, x->rank, d);
  if (!o) return -1;
  ks_transpose(o, x, x->rank, x->dims, perm);
  return 0;
}

int rt_k_Expand(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x || !rt_in_tensor(c, 1)) return -1;
  int64_t shape[RT_MAX_RANK];
  size_t n;
  if (!rt_in_ints(c, 1, shape, RT_MAX_RANK, &n)) return -1;
  int r = x->rank > (int)n ? x->rank : (int)n;
  int64_t d[RT_MAX_RANK], st[RT_MAX_RANK], xs[RT_MAX_RANK];
  rt_strides(x->rank, x->dims, xs);
  for (int i = 0; i < r; i++) {
    int xi = i - (r - x->rank), si = i - (r - (int)n);
    int64_t a = xi >= 0 ? x->dims[xi] : 1, b = si >= 0 ? shape[si] : 1;
    if (b < 0) return rt_error(c, "negative dimension in shape");
    if (a == b || b == 1) d[i] = a;
    else if (a == 1) d[i] = b;
    else return rt_error(c, "cannot expand dimension %lld to %lld", (long long)a, (long long)b);
    st[i] = xi >= 0 && a != 1 ? xs[xi] : 0;
  }
  RtValue *o = rt_out(c, 0, x->elem, r, d);
  if (!o) return -1;
  KsTab t;
  ks_tab_init(&t, r, d);
  for (int i = 0; i < r; i++)
    for (int64_t j = 0; j < d[i]; j++) t.row[i][j] = j * st[i];
  ks_remap(o, r, d, x, t.row, NULL);
  ks_tab_free(&t);
  return 0;
}

int rt_k_Tile(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x || !rt_in_tensor(c, 1)) return -1;
  int64_t rep[RT_MAX_RANK];
  size_t n;
  if (c->op->since < 6) {
    RtValue *tv = c->in[1], *av = rt_in_tensor(c, 2);
    if (!av || !tv->numel || !av->numel) return rt_error(c, "tiles and axis must be scalars");
    int a;
    if (!rt_axis(c, rt_get_i64(av, 0), x->rank, &a)) return -1;
    for (int i = 0; i < x->rank; i++) rep[i] = 1;
    rep[a] = rt_get_i64(tv, 0);
    n = (size_t)x->rank;
  } else if (!rt_in_ints(c, 1, rep, RT_MAX_RANK, &n)) {
    return -1;
  }
  if ((int)n != x->rank) return rt_error(c, "repeats has %zu entries for rank %d", n, x->rank);
  int64_t d[RT_MAX_RANK], st[RT_MAX_RANK];
  rt_strides(x->rank, x->dims, st);
  for (int i = 0; i < x->rank; i++) {
    if (rep[i] < 0) return rt_error(c, "negative repeat");
    if (x->dims[i] && rep[i] > INT64_MAX / x->dims[i]) return rt_error(c, "output too large");
    d[i] = x->dims[i] * rep[i];
  }
  RtValue *o = rt_out(c, 0, x->elem, x->rank, d);
  if (!o) return -1;
  KsTab t;
  ks_tab_init(&t, x->rank, d);
  for (int i = 0; i < x->rank; i++)
    for (int64_t j = 0; j < d[i]; j++) t.row[i][j] = (j % x->dims[i]) * st[i];
  ks_remap(o, x->rank, d, x, t.row, NULL);
  ks_tab_free(&t);
  return 0;
}

/* ------------------------------------------------------------------ Slice */

/* Read a list of ints: attribute (before opset 10) or input. */
static bool ints_arg(RtCtx *c, bool from_attr, const char *name, int in, int64_t *out, size_t *n, bool *given) {
  *n = 0;
  *given = false;
  if (from_attr) {
    const int64_t *a = rt_attr_ints(c, name, n);
    if (!a) return true;
    if (*n > RT_MAX_RANK) return rt_error(c, "%s has too many entries", name) == 0;
    memcpy(out, a, *n * sizeof *a);
    *given = true;
    return true;
  }
  if (!ks_in(c, in)) return true;
  *given = true;
  return rt_in_ints(c, in, out, RT_MAX_RANK, n);
}

int rt_k_Slice(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  bool attr = c->op->since < 10, g1, g2, g3, g4;
  int64_t starts[RT_MAX_RANK], ends[RT_MAX_RANK], axes[RT_MAX_RANK], steps[RT_MAX_RANK];
  size_t ns, ne, na, nst;
  if (!ints_arg(c, attr, "starts", 1, starts, &ns, &g1) || !ints_arg(c, attr, "ends", 2, ends, &ne, &g2) ||
      !ints_arg(c, attr, "axes", 3, axes, &na, &g3))
    return -1;
  nst = 0;
  g4 = false;
  if (!attr && !ints_arg(c, false, "steps", 4, steps, &nst, &g4)) return -1;
  if (!g1 || !g2) return rt_error(c, "starts and ends are required");
  if (ns != ne || (g3 && na != ns) || (g4 && nst != ns)) return rt_error(c, "starts, ends, axes and steps differ in length");
  int64_t d[RT_MAX_RANK], first[RT_MAX_RANK], step[RT_MAX_RANK], xs[RT_MAX_RANK];
  bool done[RT_MAX_RANK] = {0};
  rt_strides(x->rank, x->dims, xs);
  for (int i = 0; i < x->rank; i++) d[i] = x->dims[i], first[i] = 0, step[i] = 1;
  for (size_t k = 0; k < ns; k++) {
    int a;
    if (!rt_axis(c, g3 ? axes[k] : (int64_t)k, x->rank, &a)) return -1;
    if (done[a]) return rt_error(c, "axis %d repeated", a);
    done[a] = true;
    int64_t s, p = g4 ? steps[k] : 1;
    if (p == 0) return rt_error(c, "step 0");
    d[a] = effc_slice_range(x->dims[a], starts[k], ends[k], p, &s);
    first[a] = s;
    step[a] = p;
  }
  RtValue *o = rt_out(c, 0, x->elem, x->rank, d);
  if (!o) return -1;
  KsTab t;
  ks_tab_init(&t, x->rank, d);
  for (int i = 0; i < x->rank; i++)
    for (int64_t j = 0; j < d[i]; j++) t.row[i][j] = (first[i] + j * step[i]) * xs[i];
  ks_remap(o, x->rank, d, x, t.row, NULL);
  ks_tab_free(&t);
  return 0;
}

/* ------------------------------------------------------------------ Pad, CenterCropPad */

enum { PAD_CONSTANT = EFFC_PAD_CONSTANT, PAD_REFLECT = EFFC_PAD_REFLECT, PAD_EDGE = EFFC_PAD_EDGE,
       PAD_WRAP = EFFC_PAD_WRAP };

int rt_k_Pad(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  const char *ms = rt_attr_str(c, "mode", "constant");
  int mode = !strcmp(ms, "constant") ? PAD_CONSTANT
             : !strcmp(ms, "reflect") ? PAD_REFLECT
             : !strcmp(ms, "edge")    ? PAD_EDGE
             : !strcmp(ms, "wrap")    ? PAD_WRAP
                                      : -1;
  if (mode < 0) return rt_error(c, "unknown mode '%s'", ms);
  int r = x->rank;
  int64_t pads[2 * RT_MAX_RANK], axes[RT_MAX_RANK];
  size_t np = 0, na = (size_t)r;
  if (c->op->since < 11) {
    const int64_t *p = rt_attr_ints(c, c->op->since < 2 ? "paddings" : "pads", &np);
    if (!p) return rt_error(c, "no pads");
    if (np > 2 * RT_MAX_RANK) return rt_error(c, "too many pads");
    memcpy(pads, p, np * sizeof *p);
  } else {
    if (!rt_in_tensor(c, 1) || !rt_in_ints(c, 1, pads, 2 * RT_MAX_RANK, &np)) return -1;
  }
  if (c->op->since >= 18 && ks_in(c, 3)) {
    if (!rt_in_ints(c, 3, axes, RT_MAX_RANK, &na)) return -1;
  } else {
    for (int i = 0; i < r; i++) axes[i] = i;
  }
  if (np != 2 * na) return rt_error(c, "%zu pads for %zu axes", np, na);
  int64_t pb[RT_MAX_RANK] = {0}, pe[RT_MAX_RANK] = {0};
  for (size_t k = 0; k < na; k++) {
    int a;
    if (!rt_axis(c, axes[k], r, &a)) return -1;
    pb[a] = pads[k];
    pe[a] = pads[k + na];
  }
  /* the fill value */
  RtValue *fill = NULL;
  if (c->op->since < 11) {
    fill = rt_scalar_new(x->elem);
    if (x->elem != ELEM_STRING) rt_set_f64(fill, 0, rt_attr_float(c, "value", 0));
  } else {
    RtValue *cv = ks_in(c, 2);
    if (cv && cv->kind == TYPE_TENSOR && cv->numel) {
      if (cv->elem != x->elem) return rt_error(c, "constant_value type differs from the data's");
      fill = rt_ref(cv);
    }
  }
  int64_t d[RT_MAX_RANK], xs[RT_MAX_RANK], lo[RT_MAX_RANK], m[RT_MAX_RANK];
  rt_strides(r, x->dims, xs);
  int rc = -1;
  for (int i = 0; i < r; i++) {
    int64_t n = x->dims[i];
    d[i] = n + pb[i] + pe[i];
    lo[i] = pb[i] < 0 ? -pb[i] : 0;
    m[i] = n - lo[i] - (pe[i] < 0 ? -pe[i] : 0);
    if (d[i] < 0 || m[i] < 0) {
      rt_error(c, "pads crop more than dimension %d holds", i);
      goto done;
    }
    if (mode != PAD_CONSTANT && m[i] == 0 && d[i] > 0) {
      rt_error(c, "cannot %s-pad an empty dimension", ms);
      goto done;
    }
  }
  RtValue *o = rt_out(c, 0, x->elem, r, d);
  if (!o) goto done;
  KsTab t;
  ks_tab_init(&t, r, d);
  for (int i = 0; i < r; i++) {
    int64_t b = pb[i] > 0 ? pb[i] : 0, mm = m[i];
    for (int64_t j = 0; j < d[i]; j++) {
      int64_t s = effc_pad_src(j - b, mm, mode);
      t.row[i][j] = s < 0 ? KS_FILL : (lo[i] + s) * xs[i];
    }
  }
  ks_remap(o, r, d, x, t.row, fill);
  ks_tab_free(&t);
  rc = 0;
done:
  rt_unref(fill);
  return rc;
}

int rt_k_CenterCropPad(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x || !rt_in_tensor(c, 1)) return -1;
  int r = x->rank;
  int64_t shape[RT_MAX_RANK], axes[RT_MAX_RANK];
  size_t ns, na;
  if (!rt_in_ints(c, 1, shape, RT_MAX_RANK, &ns)) return -1;
  const int64_t *aa = rt_attr_ints(c, "axes", &na);
  if (aa) {
    if (na > RT_MAX_RANK) return rt_error(c, "too many axes");
    memcpy(axes, aa, na * sizeof *aa);
  } else {
    na = (size_t)r;
    for (int i = 0; i < r; i++) axes[i] = i;
  }
  if (ns != na) return rt_error(c, "shape has %zu entries for %zu axes", ns, na);
  int64_t d[RT_MAX_RANK], off[RT_MAX_RANK] = {0}, xs[RT_MAX_RANK];
  memcpy(d, x->dims, sizeof d);
  rt_strides(r, x->dims, xs);
  for (size_t k = 0; k < na; k++) {
    int a;
    if (!rt_axis(c, axes[k], r, &a)) return -1;
    if (shape[k] < 0) return rt_error(c, "negative target size");
    d[a] = shape[k];
    /* off: input index = output index + off (crop: off > 0; pad: off < 0) */
    off[a] = x->dims[a] >= shape[k] ? (x->dims[a] - shape[k]) / 2 : -((shape[k] - x->dims[a]) / 2);
  }
  RtValue *o = rt_out(c, 0, x->elem, r, d);
  if (!o) return -1;
  KsTab t;
  ks_tab_init(&t, r, d);
  for (int i = 0; i < r; i++)
    for (int64_t j = 0; j < d[i]; j++) {
      int64_t s = j + off[i];
      t.row[i][j] = s < 0 || s >= x->dims[i] ? KS_FILL : s * xs[i];
    }
  ks_remap(o, r, d, x, t.row, NULL);
  ks_tab_free(&t);
  return 0;
}

/* ------------------------------------------------------------------ DepthToSpace, SpaceToDepth */

static int block_mode(RtCtx *c, bool *crd) {
  const char *m = rt_attr_str(c, "mode", "DCR");
  if (!strcmp(m, "DCR")) *crd = false;
  else if (!strcmp(m, "CRD")) *crd = true;
  else return rt_error(c, "unknown mode '%s'", m);
  return 0;
}

int rt_k_DepthToSpace(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  if (x->rank != 4) return rt_error(c, "input must be 4-D");
  int64_t b = rt_attr_int(c, "blocksize", 0);
  bool crd = false;
  if (c->op->since >= 11 && block_mode(c, &crd)) return -1;
  int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
  if (b <= 0 || C % (b * b)) return rt_error(c, "blocksize %lld does not divide the channels", (long long)b);
  int64_t Cb = C / (b * b);
  int64_t v_dcr[6] = {N, b, b, Cb, H, W}, v_crd[6] = {N, Cb, b, b, H, W};
  static const int p_dcr[6] = {0, 3, 4, 1, 5, 2}, p_crd[6] = {0, 1, 4, 2, 5, 3};
  int64_t od[4] = {N, Cb, H * b, W * b};
  RtValue *o = rt_out(c, 0, x->elem, 4, od);
  if (!o) return -1;
  ks_transpose(o, x, 6, crd ? v_crd : v_dcr, crd ? p_crd : p_dcr);
  return 0;
}

int rt_k_SpaceToDepth(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  if (x->rank != 4) return rt_error(c, "input must be 4-D");
  int64_t b = rt_attr_int(c, "blocksize", 0);
  bool crd = false;
  if (c->op->since >= 28 && block_mode(c, &crd)) return -1;
  int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
  if (b <= 0 || H % b || W % b) return rt_error(c, "blocksize %lld does not divide the spatial dims", (long long)b);
  int64_t v[6] = {N, C, H / b, b, W / b, b};
  static const int p_dcr[6] = {0, 3, 5, 1, 2, 4}, p_crd[6] = {0, 1, 3, 5, 2, 4};
  int64_t od[4] = {N, C * b * b, H / b, W / b};
  RtValue *o = rt_out(c, 0, x->elem, 4, od);
  if (!o) return -1;
  ks_transpose(o, x, 6, v, crd ? p_crd : p_dcr);
  return 0;
}

/* ------------------------------------------------------------------ generators */

int rt_k_ConstantOfShape(RtCtx *c) {
  if (!rt_in_tensor(c, 0)) return -1;
  int64_t shape[RT_MAX_RANK];
  size_t n;
  if (!rt_in_ints(c, 0, shape, RT_MAX_RANK, &n)) return -1;
  const Attr *a = rt_attr(c, "value");
  RtValue *val = NULL;
  if (a && a->type == ATTR_TENSOR) {
    if (!(val = from_tensor(c, a->t))) return -1;
    if (val->numel != 1) {
      rt_unref(val);
      return rt_error(c, "value must hold one element");
    }
  }
  RtValue *o = rt_out(c, 0, val ? val->elem : ELEM_FLOAT, (int)n, shape);
  if (o && val)
    for (uint64_t i = 0; i < o->numel; i++) ks_copy1(o, i, val, 0);
  rt_unref(val);
  return o ? 0 : -1;
}

int rt_k_Range(RtCtx *c) {
  RtValue *s = rt_in_tensor(c, 0), *l = rt_in_tensor(c, 1), *dl = rt_in_tensor(c, 2);
  if (!s || !l || !dl) return -1;
  if (s->elem != l->elem || s->elem != dl->elem || s->elem == ELEM_STRING) return rt_error(c, "inputs must share a numeric type");
  if (s->numel != 1 || l->numel != 1 || dl->numel != 1) return rt_error(c, "inputs must be scalars");
  int64_t n;
  if (ir_elem(s->elem)->is_float) {
    double a = rt_get_f64(s, 0), b = rt_get_f64(l, 0), d = rt_get_f64(dl, 0);
    if (d == 0 || !isfinite(a) || !isfinite(b) || !isfinite(d)) return rt_error(c, "delta is 0 or an input is not finite");
    double cnt = ceil((b - a) / d);
    if (cnt > 1e12) return rt_error(c, "too many elements");
    n = cnt > 0 ? (int64_t)cnt : 0;
    RtValue *o = rt_out(c, 0, s->elem, 1, &n);
    if (!o) return -1;
    for (int64_t i = 0; i < n; i++) rt_set_f64(o, (uint64_t)i, a + (double)i * d);
    return 0;
  }
  int64_t a = rt_get_i64(s, 0), b = rt_get_i64(l, 0), d = rt_get_i64(dl, 0);
  if (d == 0) return rt_error(c, "delta is 0");
  if (d > 0) n = b > a ? (int64_t)(((uint64_t)b - (uint64_t)a - 1) / (uint64_t)d + 1) : 0;
  else n = a > b ? (int64_t)(((uint64_t)a - (uint64_t)b - 1) / (uint64_t)(-(uint64_t)d) + 1) : 0;
  RtValue *o = rt_out(c, 0, s->elem, 1, &n);
  if (!o) return -1;
  for (int64_t i = 0; i < n; i++) rt_set_i64(o, (uint64_t)i, (int64_t)((uint64_t)a + (uint64_t)i * (uint64_t)d));
  return 0;
}

int rt_k_EyeLike(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  if (x->rank != 2) return rt_error(c, "input must be 2-D");
  ElemType e = x->elem;
  const Attr *a = rt_attr(c, "dtype");
  if (a && a->type == ATTR_INT) {
    if (!ir_elem_valid((int)a->i)) return rt_error(c, "bad dtype %lld", (long long)a->i);
    e = (ElemType)a->i;
  }
  if (e == ELEM_STRING) return rt_error(c, "string output is not supported");
  int64_t k = rt_attr_int(c, "k", 0);
  RtValue *o = rt_out(c, 0, e, 2, x->dims);
  if (!o) return -1;
  int64_t R = x->dims[0], C = x->dims[1];
  for (int64_t i = 0; i < R; i++) {
    if (k > C || k < -R) break;
    int64_t j = i + k;
    if (j >= 0 && j < C) rt_set_f64(o, (uint64_t)(i * C + j), 1);
  }
  return 0;
}

int rt_k_Trilu(RtCtx *c) {
  RtValue *x = rt_in_tensor(c, 0);
  if (!x) return -1;
  if (x->rank < 2) return rt_error(c, "input must have rank 2 or more");
  int64_t k = 0;
  RtValue *kv = ks_in(c, 1);
  if (kv && kv->kind == TYPE_TENSOR && kv->numel) k = rt_get_i64(kv, 0);
  bool upper = rt_attr_int(c, "upper", 1) != 0;
  RtValue *o = rt_out(c, 0, x->elem, x->rank, x->dims);
  if (!o) return -1;
  int64_t R = x->dims[x->rank - 2], C = x->dims[x->rank - 1];
  uint64_t mats = R != 0 && C != 0 ? x->numel / (uint64_t)(R * C) : 0;
  for (uint64_t m = 0; m < mats; m++)
    for (int64_t i = 0; i < R; i++)
      for (int64_t j = 0; j < C; j++) {
        bool keep = upper ? j - i >= k : j - i <= k;
        uint64_t at = m * (uint64_t)(R * C) + (uint64_t)(i * C + j);
        if (keep) ks_copy1(o, at, x, at);
      }
  return 0;
}
