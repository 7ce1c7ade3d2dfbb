/* k_shape.h - helpers shared by the shape and indexing kernels (k_shape.c, k_shape_index.c):
 * element copies by raw bytes or packed bits (strings copied), the separable remapping copy
 * that Transpose, Slice, Pad, Tile and Expand reduce to, and a stable merge sort. */
#ifndef EFFC_K_SHAPE_H
#define EFFC_K_SHAPE_H

#include "runtime.h"

#include <stdlib.h>
#include <string.h>

/* Input i, NULL when missing. */
static inline RtValue *ks_in(RtCtx *c, int i) { return i < c->n_in ? c->in[i] : NULL; }

/* Bits per element: 0 for strings. */
static inline int ks_bits(ElemType e) { return e == ELEM_STRING ? 0 : ir_elem(e)->bits; }

static inline unsigned ks_raw_get(const void *p, int bits, uint64_t i) {
  uint64_t bit = i * (uint64_t)bits;
  return (((const uint8_t *)p)[bit >> 3] >> (bit & 7)) & ((1u << bits) - 1);
}

static inline void ks_raw_set(void *p, int bits, uint64_t i, unsigned x) {
  uint64_t bit = i * (uint64_t)bits;
  uint8_t *b = (uint8_t *)p + (bit >> 3);
  unsigned m = ((1u << bits) - 1) << (bit & 7);
  *b = (uint8_t)((*b & ~m) | ((x << (bit & 7)) & m));
}

/* d[di] = s[si]; both tensors of the same element type. */
static inline void ks_copy1(RtValue *d, uint64_t di, const RtValue *s, uint64_t si) {
  int bits = ks_bits(d->elem);
  switch (bits) {
  case 0: {
    const IrStr *x = (const IrStr *)s->data + si;
    rt_str_set(d, di, x->s ? x->s : "", x->len);
    return;
  }
  case 8: ((uint8_t *)d->data)[di] = ((const uint8_t *)s->data)[si]; return;
  case 16: ((uint16_t *)d->data)[di] = ((const uint16_t *)s->data)[si]; return;
  case 32: ((uint32_t *)d->data)[di] = ((const uint32_t *)s->data)[si]; return;
  case 64: ((uint64_t *)d->data)[di] = ((const uint64_t *)s->data)[si]; return;
  default:
    if (bits < 8) ks_raw_set(d->data, bits, di, ks_raw_get(s->data, bits, si));
    else memcpy((char *)d->data + di * (uint64_t)(bits / 8), (const char *)s->data + si * (uint64_t)(bits / 8),
                (size_t)bits / 8);
  }
}

/* n consecutive elements d[di..] = s[si..]. */
static inline void ks_copyn(RtValue *d, uint64_t di, const RtValue *s, uint64_t si, uint64_t n) {
  if (!n) return;
  int bits = ks_bits(d->elem);
  if (bits >= 8) {
    size_t es = (size_t)bits / 8;
    memmove((char *)d->data + di * es, (const char *)s->data + si * es, (size_t)n * es);
    return;
  }
  for (uint64_t k = 0; k < n; k++) ks_copy1(d, di + k, s, si + k);
}

/* A tensor of v's data with another shape (same element count): an owned copy. */
static inline RtValue *ks_reshaped(RtCtx *c, const RtValue *v, int rank, const int64_t *dims) {
  if (rank > RT_MAX_RANK) {
    rt_error(c, "rank %d is above %d", rank, RT_MAX_RANK);
    return NULL;
  }
  RtValue *o = rt_tensor_copy(v);
  if (!o) {
    rt_error(c, "cannot copy the input");
    return NULL;
  }
  o->rank = rank;
  for (int i = 0; i < rank; i++) o->dims[i] = dims[i];
  return o;
}

#define KS_FILL INT64_MIN /* a remap table entry: this output position takes the fill value */
#define KS_MAX_VIEW 32    /* ranks of the internal views (DepthToSpace's 6, Tile's 2r) */

/* The separable remapping copy: out (numel = prod dims) gets, at multi-index (i0..ir-1),
 * src element sum_d tab[d][i_d], or the fill value (element 0 of `fill`, or zero when fill
 * is NULL) if any tab[d][i_d] is KS_FILL. out is freshly allocated (zeroed). */
static inline void ks_remap(RtValue *out, int rank, const int64_t *dims, const RtValue *src,
                            int64_t *const *tab, const RtValue *fill) {
  for (int d = 0; d < rank; d++)
    if (dims[d] == 0) return;
  if (rank == 0) {
    ks_copy1(out, 0, src, 0);
    return;
  }
  int64_t idx[KS_MAX_VIEW] = {0};
  int last = rank - 1;
  int64_t n = dims[last];
  const int64_t *lt = tab[last];
  uint64_t o = 0;
  int bits = ks_bits(out->elem);
  for (;;) {
    int64_t base = 0;
    bool filled = false;
    for (int d = 0; d < last; d++) {
      int64_t t = tab[d][idx[d]];
      if (t == KS_FILL) filled = true;
      else base += t;
    }
    if (filled) {
      if (fill)
        for (int64_t j = 0; j < n; j++) ks_copy1(out, o + (uint64_t)j, fill, 0);
    } else if (bits == 32) {
      uint32_t *dp = (uint32_t *)out->data + o;
      const uint32_t *sp = (const uint32_t *)src->data + base;
      const uint32_t fv = fill ? *(const uint32_t *)fill->data : 0;
      for (int64_t j = 0; j < n; j++) dp[j] = lt[j] == KS_FILL ? fv : sp[lt[j]];
    } else {
      for (int64_t j = 0; j < n; j++) {
        if (lt[j] != KS_FILL) ks_copy1(out, o + (uint64_t)j, src, (uint64_t)(base + lt[j]));
        else if (fill) ks_copy1(out, o + (uint64_t)j, fill, 0);
      }
    }
    o += (uint64_t)n;
    int d = last - 1;
    while (d >= 0 && ++idx[d] == dims[d]) idx[d--] = 0;
    if (d < 0) return;
  }
}

/* Tables for ks_remap: one malloc'd block with rank rows of dims[d] entries. */
typedef struct KsTab {
  int64_t *row[KS_MAX_VIEW];
  int64_t *mem;
} KsTab;

static inline void ks_tab_init(KsTab *t, int rank, const int64_t *dims) {
  uint64_t total = 0;
  for (int d = 0; d < rank; d++) total += (uint64_t)dims[d];
  t->mem = malloc((size_t)(total ? total : 1) * sizeof *t->mem);
  if (!t->mem) abort();
  uint64_t at = 0;
  for (int d = 0; d < rank; d++) {
    t->row[d] = t->mem + at;
    at += (uint64_t)dims[d];
  }
}

static inline void ks_tab_free(KsTab *t) { free(t->mem); }

/* out = src (dims sdims, rank r) transposed by perm: out dims are sdims[perm[d]]. */
static inline void ks_transpose(RtValue *out, const RtValue *src, int r, const int64_t *sdims, const int *perm) {
  int64_t st[KS_MAX_VIEW], odims[KS_MAX_VIEW];
  int64_t s = 1;
  for (int d = r - 1; d >= 0; d--) {
    st[d] = s;
    s *= sdims[d] ? sdims[d] : 1;
  }
  for (int d = 0; d < r; d++) odims[d] = sdims[perm[d]];
  KsTab t;
  ks_tab_init(&t, r, odims);
  for (int d = 0; d < r; d++)
    for (int64_t i = 0; i < odims[d]; i++) t.row[d][i] = i * st[perm[d]];
  ks_remap(out, r, odims, src, t.row, NULL);
  ks_tab_free(&t);
}

/* Stable merge sort of idx[0..n) by cmp(ctx, a, b) (< 0: a first). */
typedef int (*KsCmp)(const void *ctx, int64_t a, int64_t b);

static inline void ks_sort(int64_t *idx, int64_t n, KsCmp cmp, const void *ctx) {
  if (n < 2) return;
  int64_t *tmp = malloc((size_t)n * sizeof *tmp);
  if (!tmp) abort();
  for (int64_t w = 1; w < n; w *= 2) {
    for (int64_t lo = 0; lo < n; lo += 2 * w) {
      int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
      int64_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) tmp[k++] = cmp(ctx, idx[j], idx[i]) < 0 ? idx[j++] : idx[i++];
      while (i < mid) tmp[k++] = idx[i++];
      while (j < hi) tmp[k++] = idx[j++];
    }
    memcpy(idx, tmp, (size_t)n * sizeof *idx);
  }
  free(tmp);
}

/* Three-way comparison of a[i] and b[j] (same element type) by value: strings by bytes,
 * integers exactly, floats with NaN after everything (and equal to NaN). */
static inline int ks_cmp_elem(const RtValue *a, uint64_t i, const RtValue *b, uint64_t j) {
  ElemType e = a->elem;
  if (e == ELEM_STRING) {
    const IrStr *x = (const IrStr *)a->data + i, *y = (const IrStr *)b->data + j;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = n ? memcmp(x->s, y->s, n) : 0;
    if (r) return r < 0 ? -1 : 1;
    return x->len < y->len ? -1 : x->len > y->len;
  }
  if (e == ELEM_UINT64) {
    uint64_t x = rt_get_u64(a, i), y = rt_get_u64(b, j);
    return x < y ? -1 : x > y;
  }
  if (!ir_elem(e)->is_float) {
    int64_t x = rt_get_i64(a, i), y = rt_get_i64(b, j);
    return x < y ? -1 : x > y;
  }
  double x = rt_get_f64(a, i), y = rt_get_f64(b, j);
  bool nx = x != x, ny = y != y;
  if (nx || ny) return nx - ny;
  return x < y ? -1 : x > y;
}

#endif
