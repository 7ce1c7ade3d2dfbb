/* value.c - runtime values (tensors, sequences, optionals): allocation, reference counts,
 * element access through the element traits, conversion to and from IR data. */
#include "runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t rt_tensor_limit = SIZE_MAX;

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) {
    fputs("effc: out of memory\n", stderr);
    abort();
  }
  return p;
}

static RtValue *value_new(TypeKind kind) {
  RtValue *v = xcalloc(1, sizeof *v);
  v->refs = 1;
  v->kind = kind;
  v->rank = -1;
  return v;
}

RtValue *rt_tensor_new(ElemType elem, int rank, const int64_t *dims) {
  if (rank < 0 || rank > RT_MAX_RANK) return NULL;
  uint64_t numel = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 0) return NULL;
    if (dims[i] && numel > UINT64_MAX / (uint64_t)dims[i]) return NULL;
    numel *= (uint64_t)dims[i];
  }
  size_t nbytes;
  if (!ir_elem_nbytes(elem, numel, &nbytes) || nbytes > rt_tensor_limit) return NULL;
  void *data = calloc(nbytes ? nbytes : 1, 1);
  if (!data) return NULL; /* a size the machine cannot hold: the caller reports it */
  RtValue *v = value_new(TYPE_TENSOR);
  v->elem = elem;
  v->rank = rank;
  for (int i = 0; i < rank; i++) v->dims[i] = dims[i];
  v->numel = numel;
  v->nbytes = nbytes;
  v->data = data;
  return v;
}

RtValue *rt_scalar_new(ElemType elem) { return rt_tensor_new(elem, 0, NULL); }

RtValue *rt_tensor_wrap(const Tensor *t) {
  if (t->rank > RT_MAX_RANK) return NULL;
  RtValue *v = value_new(TYPE_TENSOR);
  v->elem = t->elem;
  v->rank = t->rank;
  for (int i = 0; i < t->rank; i++) v->dims[i] = t->dims[i];
  uint64_t n = 1;
  if (!ir_tensor_numel(t, &n)) n = 0;
  v->numel = n;
  v->data = t->data;
  v->nbytes = t->nbytes;
  v->borrowed = true;
  return v;
}

RtValue *rt_tensor_copy(const RtValue *src) {
  if (src->kind != TYPE_TENSOR) {
    RtValue *v = value_new(src->kind);
    v->elem = src->elem;
    v->type = src->type;
    v->n_items = src->n_items;
    v->items = xcalloc((size_t)src->n_items, sizeof *v->items);
    for (int i = 0; i < src->n_items; i++) v->items[i] = rt_ref(src->items[i]);
    return v;
  }
  RtValue *v = rt_tensor_new(src->elem, src->rank, src->dims);
  if (!v) return NULL;
  if (src->elem == ELEM_STRING) {
    const IrStr *s = src->data;
    for (uint64_t i = 0; i < src->numel; i++) rt_str_set(v, i, s[i].s, s[i].len);
  } else if (src->nbytes) {
    memcpy(v->data, src->data, src->nbytes);
  }
  return v;
}

RtValue *rt_seq_new(int n_items) {
  RtValue *v = value_new(TYPE_SEQUENCE);
  v->n_items = n_items;
  v->items = xcalloc((size_t)n_items, sizeof *v->items);
  return v;
}

RtValue *rt_optional_new(RtValue *item) {
  RtValue *v = value_new(TYPE_OPTIONAL);
  v->n_items = item != NULL;
  v->items = xcalloc(1, sizeof *v->items);
  v->items[0] = item;
  if (item) v->elem = item->elem;
  return v;
}

RtValue *rt_ref(RtValue *v) {
  if (v) v->refs++;
  return v;
}

void rt_unref(RtValue *v) {
  if (!v || --v->refs > 0) return;
  for (int i = 0; i < v->n_items; i++) rt_unref(v->items[i]);
  free(v->items);
  if (!v->borrowed) {
    if (v->kind == TYPE_TENSOR && v->elem == ELEM_STRING && v->data) {
      IrStr *s = v->data;
      for (uint64_t i = 0; i < v->numel; i++) free((void *)s[i].s);
    }
    free(v->data);
  }
  free(v);
}

void rt_str_set(RtValue *v, uint64_t i, const char *s, size_t len) {
  IrStr *p = (IrStr *)v->data + i;
  char *b = xcalloc(len + 1, 1);
  if (len) memcpy(b, s, len);
  free((void *)p->s);
  p->s = b;
  p->len = len;
}

/* ------------------------------------------------------------------ element access */

double rt_get_f64(const RtValue *v, uint64_t i) {
  switch (v->elem) {
  case ELEM_FLOAT: return ((const float *)v->data)[i];
  case ELEM_DOUBLE: return ((const double *)v->data)[i];
  case ELEM_INT64: return (double)((const int64_t *)v->data)[i];
  case ELEM_INT32: return ((const int32_t *)v->data)[i];
  case ELEM_BOOL: return ((const uint8_t *)v->data)[i] != 0;
  default: return ir_elem(v->elem)->to_f64(v->data, (size_t)i);
  }
}

void rt_set_f64(RtValue *v, uint64_t i, double x) {
  switch (v->elem) {
  case ELEM_FLOAT: ((float *)v->data)[i] = (float)x; return;
  case ELEM_DOUBLE: ((double *)v->data)[i] = x; return;
  case ELEM_BOOL: ((uint8_t *)v->data)[i] = x != 0; return;
  default:
    if (!ir_elem(v->elem)->is_float) {
      /* integers: truncate toward zero like a C cast, wrapping out-of-range values */
      if (isnan(x)) x = 0;
      if (x >= 9223372036854775808.0 || x < -9223372036854775808.0) {
        if (v->elem == ELEM_UINT64 && x >= 0 && x < 18446744073709551616.0) {
          ((uint64_t *)v->data)[i] = (uint64_t)x;
          return;
        }
        x = fmod(trunc(x), 18446744073709551616.0);
        if (x < 0) x += 18446744073709551616.0;
        rt_set_i64(v, i, (int64_t)(uint64_t)x);
        return;
      }
      rt_set_i64(v, i, (int64_t)x);
      return;
    }
    ir_elem(v->elem)->from_f64(v->data, (size_t)i, x);
  }
}

int64_t rt_get_i64(const RtValue *v, uint64_t i) {
  const void *d = v->data;
  switch (v->elem) {
  case ELEM_INT64: return ((const int64_t *)d)[i];
  case ELEM_UINT64: return (int64_t)((const uint64_t *)d)[i];
  case ELEM_INT32: return ((const int32_t *)d)[i];
  case ELEM_UINT32: return ((const uint32_t *)d)[i];
  case ELEM_INT16: return ((const int16_t *)d)[i];
  case ELEM_UINT16: return ((const uint16_t *)d)[i];
  case ELEM_INT8: return ((const int8_t *)d)[i];
  case ELEM_UINT8: return ((const uint8_t *)d)[i];
  case ELEM_BOOL: return ((const uint8_t *)d)[i] != 0;
  default: {
    double x = ir_elem(v->elem)->to_f64(d, (size_t)i);
    if (isnan(x)) return 0;
    if (x >= 9223372036854775807.0) return INT64_MAX;
    if (x <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)x;
  }
  }
}

uint64_t rt_get_u64(const RtValue *v, uint64_t i) {
  if (v->elem == ELEM_UINT64) return ((const uint64_t *)v->data)[i];
  return (uint64_t)rt_get_i64(v, i);
}

void rt_set_i64(RtValue *v, uint64_t i, int64_t x) {
  void *d = v->data;
  switch (v->elem) {
  case ELEM_INT64: ((int64_t *)d)[i] = x; return;
  case ELEM_UINT64: ((uint64_t *)d)[i] = (uint64_t)x; return;
  case ELEM_INT32: ((int32_t *)d)[i] = (int32_t)(uint32_t)(uint64_t)x; return;
  case ELEM_UINT32: ((uint32_t *)d)[i] = (uint32_t)(uint64_t)x; return;
  case ELEM_INT16: ((int16_t *)d)[i] = (int16_t)(uint16_t)(uint64_t)x; return;
  case ELEM_UINT16: ((uint16_t *)d)[i] = (uint16_t)(uint64_t)x; return;
  case ELEM_INT8: ((int8_t *)d)[i] = (int8_t)(uint8_t)(uint64_t)x; return;
  case ELEM_UINT8: ((uint8_t *)d)[i] = (uint8_t)(uint64_t)x; return;
  case ELEM_BOOL: ((uint8_t *)d)[i] = x != 0; return;
  case ELEM_INT4: case ELEM_UINT4: case ELEM_INT2: case ELEM_UINT2: {
    /* sub-byte integers wrap to their width */
    int bits = ir_elem(v->elem)->bits;
    int64_t mask = (1 << bits) - 1, w = x & mask;
    if (ir_elem(v->elem)->is_signed && w >= (1 << (bits - 1))) w -= 1 << bits;
    ir_elem(v->elem)->from_f64(d, (size_t)i, (double)w);
    return;
  }
  default: ir_elem(v->elem)->from_f64(d, (size_t)i, (double)x); return;
  }
}

/* ------------------------------------------------------------------ IR conversion */

RtValue *rt_from_datum(const Datum *d) {
  if (!d) return NULL;
  switch (d->kind) {
  case TYPE_TENSOR: {
    RtValue *w = rt_tensor_wrap(d->tensor);
    if (!w) return NULL;
    RtValue *v = rt_tensor_copy(w);
    rt_unref(w);
    return v;
  }
  case TYPE_SEQUENCE: {
    RtValue *v = rt_seq_new(d->n_items);
    v->elem = d->elem_hint;
    for (int i = 0; i < d->n_items; i++) v->items[i] = rt_from_datum(d->items[i]);
    return v;
  }
  case TYPE_OPTIONAL: {
    RtValue *v = rt_optional_new(d->n_items ? rt_from_datum(d->items[0]) : NULL);
    if (!d->n_items) v->elem = d->elem_hint;
    return v;
  }
  case TYPE_MAP: {
    RtValue *v = value_new(TYPE_MAP);
    v->n_items = 2;
    v->items = xcalloc(2, sizeof *v->items);
    Datum keys = {.kind = TYPE_TENSOR, .tensor = d->tensor};
    v->items[0] = rt_from_datum(&keys);
    v->items[1] = d->n_items ? rt_from_datum(d->items[0]) : NULL;
    return v;
  }
  default: return NULL;
  }
}

Tensor *rt_to_tensor(Arena *a, const RtValue *v, const char *name) {
  if (v->kind != TYPE_TENSOR) return NULL;
  Tensor *t = ir_tensor_new(a, v->elem, v->rank, v->dims);
  t->name = name ? ir_arena_strdup(a, name) : NULL;
  t->has_data = true;
  if (v->elem == ELEM_STRING) {
    IrStr *s = ir_arena_alloc(a, (v->numel ? v->numel : 1) * sizeof *s);
    const IrStr *src = v->data;
    for (uint64_t i = 0; i < v->numel; i++) s[i] = ir_str(a, src[i].s ? src[i].s : "", src[i].len);
    t->data = s;
    t->nbytes = v->numel * sizeof *s;
  } else {
    t->data = ir_arena_dup(a, v->data ? v->data : "", v->nbytes ? v->nbytes : 1);
    t->nbytes = v->nbytes;
  }
  return t;
}

bool rt_same_shape(const RtValue *a, const RtValue *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}

const char *rt_shape_str(const RtValue *v, char *buf, size_t len) {
  if (v->kind != TYPE_TENSOR) {
    snprintf(buf, len, "%s", v->kind == TYPE_SEQUENCE ? "sequence" : v->kind == TYPE_OPTIONAL ? "optional" : "map");
    return buf;
  }
  size_t o = (size_t)snprintf(buf, len, "%s[", ir_elem(v->elem)->name);
  for (int i = 0; i < v->rank && o < len; i++)
    o += (size_t)snprintf(buf + o, len - o, "%s%lld", i ? "," : "", (long long)v->dims[i]);
  if (o < len) snprintf(buf + o, len - o, "]");
  return buf;
}

/* ------------------------------------------------------------------ shapes */

void rt_strides(int rank, const int64_t *dims, int64_t *strides) {
  int64_t s = 1;
  for (int i = rank - 1; i >= 0; i--) {
    strides[i] = s;
    s *= dims[i] ? dims[i] : 1;
  }
}

bool rt_bcast_init(RtCtx *c, RtBcast *b, int n, RtValue *const *ins) {
  memset(b, 0, sizeof *b);
  b->n = n;
  int rank = 0;
  for (int k = 0; k < n; k++) rank = ins[k]->rank > rank ? ins[k]->rank : rank;
  b->rank = rank;
  for (int d = 0; d < rank; d++) {
    int64_t dim = 1;
    for (int k = 0; k < n; k++) {
      int off = d - (rank - ins[k]->rank);
      if (off < 0) continue;
      int64_t x = ins[k]->dims[off];
      if (x == dim || x == 1) continue;
      if (dim != 1) {
        char s1[128], s2[128];
        return rt_error(c, "shapes %s and %s do not broadcast", rt_shape_str(ins[0], s1, sizeof s1),
                        rt_shape_str(ins[k], s2, sizeof s2)) == 0;
      }
      dim = x;
    }
    b->dims[d] = dim;
  }
  b->numel = 1;
  for (int d = 0; d < rank; d++) b->numel *= (uint64_t)b->dims[d];
  for (int k = 0; k < n; k++) {
    int64_t st[RT_MAX_RANK];
    rt_strides(ins[k]->rank, ins[k]->dims, st);
    for (int d = 0; d < rank; d++) {
      int off = d - (rank - ins[k]->rank);
      b->strides[k][d] = off < 0 || ins[k]->dims[off] == 1 ? 0 : st[off];
    }
  }
  return true;
}

void rt_bcast_next(RtBcast *b) {
  for (int d = b->rank - 1; d >= 0; d--) {
    for (int k = 0; k < b->n; k++) b->off[k] += (uint64_t)b->strides[k][d];
    if (++b->idx[d] < b->dims[d]) return;
    for (int k = 0; k < b->n; k++) b->off[k] -= (uint64_t)(b->strides[k][d] * b->dims[d]);
    b->idx[d] = 0;
  }
}
