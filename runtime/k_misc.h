/* k_misc.h - small helpers shared by the k_misc*.c kernel files (strings, ai.onnx.ml,
 * random, training, optional/sequence, image decoding). Private to those files: every
 * function here is static inline. */
#ifndef EFFC_K_MISC_H
#define EFFC_K_MISC_H

#include "runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Input i as a tensor (required): NULL after reporting when missing or not a tensor. */
static inline RtValue *km_tensor(RtCtx *c, int i) {
  RtValue *v = i < c->n_in ? c->in[i] : NULL;
  if (!v) {
    rt_error(c, "input %d is missing", i);
    return NULL;
  }
  if (v->kind != TYPE_TENSOR) {
    rt_error(c, "input %d must be a tensor", i);
    return NULL;
  }
  return v;
}

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

#endif
