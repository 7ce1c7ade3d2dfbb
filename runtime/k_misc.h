/* k_misc.h - small helpers shared by the k_misc*.c kernel files (strings, ai.onnx.ml,
 * random, training, optional/sequence, image decoding). Private to those files: every
 * function here is static inline. */
#ifndef EFFC_K_MISC_H
#define EFFC_K_MISC_H

#include "runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Bits per element of packed storage (0 for string). */
static inline int km_bits(ElemType t) { return ir_elem(t)->bits; }

/* Copy element si of src into element di of dst (same element type, any type). */
static inline void km_copy_elem(RtValue *dst, uint64_t di, const RtValue *src, uint64_t si) {
  if (src->elem == ELEM_STRING) {
    const IrStr *s = (const IrStr *)src->data + si;
    rt_str_set(dst, di, s->s, s->len);
    return;
  }
  int bits = km_bits(src->elem);
  if (bits >= 8) {
    size_t b = (size_t)bits / 8;
    memcpy((char *)dst->data + di * b, (const char *)src->data + si * b, b);
    return;
  }
  /* sub-byte: elements packed low bits first */
  unsigned per = 8u / (unsigned)bits, mask = (1u << bits) - 1;
  const uint8_t *sp = src->data;
  uint8_t *dp = dst->data;
  unsigned v = (sp[si / per] >> ((si % per) * (unsigned)bits)) & mask;
  unsigned sh = (unsigned)((di % per) * (unsigned)bits);
  dp[di / per] = (uint8_t)((dp[di / per] & ~(mask << sh)) | (v << sh));
}

/* A tensor attribute as a (borrowed-data) runtime value; NULL when absent. */
static inline RtValue *km_attr_tensor(RtCtx *c, const char *name) {
  const Attr *a = rt_attr(c, name);
  if (!a || a->type != ATTR_TENSOR || !a->t) return NULL;
  return rt_tensor_wrap(a->t);
}

/* A 1-D tensor made from a list attribute (floats, ints or strings); NULL when absent. */
static inline RtValue *km_attr_list(RtCtx *c, const char *name) {
  const Attr *a = rt_attr(c, name);
  if (!a) return NULL;
  int64_t n = (int64_t)a->n;
  RtValue *v;
  switch (a->type) {
  case ATTR_FLOATS:
    v = rt_tensor_new(ELEM_FLOAT, 1, &n);
    if (n) memcpy(v->data, a->floats, (size_t)n * sizeof(float));
    return v;
  case ATTR_INTS:
    v = rt_tensor_new(ELEM_INT64, 1, &n);
    if (n) memcpy(v->data, a->ints, (size_t)n * sizeof(int64_t));
    return v;
  case ATTR_STRINGS:
    v = rt_tensor_new(ELEM_STRING, 1, &n);
    for (int64_t i = 0; i < n; i++) rt_str_set(v, (uint64_t)i, a->strings[i].s, a->strings[i].len);
    return v;
  default: return NULL;
  }
}

static inline bool km_str_eq(const IrStr *a, const IrStr *b) {
  return a->len == b->len && (a->len == 0 || memcmp(a->s, b->s, a->len) == 0);
}

/* A hash index over the elements of a key tensor, for lookups of elements of tensors of
 * type `qelem`: strings by bytes, integers exactly when both sides are integers, else as
 * doubles (NaN equals NaN, -0 equals 0). Lookup gives the first matching key's position. */
typedef struct KmIndex {
  const RtValue *keys;
  int mode;        /* 0 string, 1 int64, 2 double */
  uint64_t mask;
  int64_t *slot;   /* key position + 1, 0 = empty */
} KmIndex;

static inline int km_index_mode(ElemType k, ElemType q) {
  if (k == ELEM_STRING || q == ELEM_STRING) return 0;
  if (!ir_elem(k)->is_float && !ir_elem(q)->is_float) return 1;
  return 2;
}

static inline uint64_t km_mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ull;
  return h ^ (h >> 33);
}

static inline uint64_t km_hash(int mode, const RtValue *v, uint64_t i) {
  if (mode == 0) {
    const IrStr *s = (const IrStr *)v->data + i;
    uint64_t h = 1469598103934665603ull;
    for (size_t k = 0; k < s->len; k++) h = (h ^ (unsigned char)s->s[k]) * 1099511628211ull;
    return km_mix(h);
  }
  if (mode == 1) return km_mix((uint64_t)rt_get_i64(v, i));
  double d = rt_get_f64(v, i);
  if (d == 0) d = 0; /* -0 */
  uint64_t b;
  if (isnan(d)) b = 0x7FF8000000000000ull;
  else memcpy(&b, &d, sizeof b);
  return km_mix(b);
}

static inline bool km_equal(int mode, const RtValue *a, uint64_t i, const RtValue *b, uint64_t k) {
  if (mode == 0) {
    if (a->elem != ELEM_STRING || b->elem != ELEM_STRING) return false;
    return km_str_eq((const IrStr *)a->data + i, (const IrStr *)b->data + k);
  }
  if (mode == 1) return rt_get_i64(a, i) == rt_get_i64(b, k);
  double x = rt_get_f64(a, i), y = rt_get_f64(b, k);
  return x == y || (isnan(x) && isnan(y));
}

static inline void km_index_init(KmIndex *ix, const RtValue *keys, ElemType qelem) {
  ix->keys = keys;
  ix->mode = km_index_mode(keys->elem, qelem);
  uint64_t cap = 16;
  while (cap < keys->numel * 2) cap <<= 1;
  ix->mask = cap - 1;
  ix->slot = calloc(cap, sizeof *ix->slot);
  if (!ix->slot) abort();
  for (uint64_t k = 0; k < keys->numel; k++) {
    if (ix->mode == 0 && keys->elem != ELEM_STRING) break;
    uint64_t h = km_hash(ix->mode, keys, k) & ix->mask;
    for (;; h = (h + 1) & ix->mask) {
      int64_t s = ix->slot[h];
      if (!s) {
        ix->slot[h] = (int64_t)k + 1;
        break;
      }
      if (km_equal(ix->mode, keys, (uint64_t)s - 1, keys, k)) break; /* keep the first */
    }
  }
}

static inline int64_t km_index_find(const KmIndex *ix, const RtValue *x, uint64_t i) {
  if (ix->mode == 0 && (x->elem != ELEM_STRING || ix->keys->elem != ELEM_STRING)) return -1;
  for (uint64_t h = km_hash(ix->mode, x, i) & ix->mask;; h = (h + 1) & ix->mask) {
    int64_t s = ix->slot[h];
    if (!s) return -1;
    if (km_equal(ix->mode, x, i, ix->keys, (uint64_t)s - 1)) return s - 1;
  }
}

static inline void km_index_free(KmIndex *ix) { free(ix->slot); }

#endif
